//! An ERP's agenda (`SCHEDULE=http` or `ixc`): where free periods come from
//! when the ISP's own system keeps the technicians' agenda, and where a
//! booking goes.
//!
//! [`ErpAgenda`] is the one type the rest of the service sees; each variant
//! speaks one dialect (`http.rs`: our JSON contract, `docs/schedule.md`;
//! `ixc.rs`: IXC Soft's service orders). Every answer is one of a value, an
//! [`AgendaError::Unavailable`] (worth retrying: a timeout, a lost connection,
//! a 408, 429 or 5xx) or an [`AgendaError::Refused`] (another 4xx, or an
//! answer that cannot be read: an operator must look). Nothing here logs a
//! name, a number, an address or a body.

use super::http::HttpAgenda;
use super::ixc::IxcAgenda;
use super::{AgendaError, ErpVisit, FreeSlot, SlotQuery, VisitBooking};
use std::time::Duration;

/// A configured ERP agenda.
#[derive(Clone, Debug)]
pub(crate) enum ErpAgenda {
    Http(HttpAgenda),
    Ixc(IxcAgenda),
}

impl ErpAgenda {
    /// The periods with room between `q.from` and `q.to`, in order.
    pub(crate) async fn free_slots(&self, q: &SlotQuery) -> Result<Vec<FreeSlot>, AgendaError> {
        match self {
            ErpAgenda::Http(a) => a.free_slots(q).await,
            ErpAgenda::Ixc(a) => a.free_slots(q).await,
        }
    }

    /// Books the visit (or moves it, when the ERP already has this
    /// protocol): idempotent by the protocol. The ERP's reference for it.
    pub(crate) async fn book(&self, v: &VisitBooking) -> Result<String, AgendaError> {
        match self {
            ErpAgenda::Http(a) => a.book(v).await,
            ErpAgenda::Ixc(a) => a.book(v).await,
        }
    }

    /// Cancels the visit in the ERP; a visit the ERP no longer has is
    /// cancelled already.
    pub(crate) async fn cancel(&self, v: &VisitBooking) -> Result<(), AgendaError> {
        match self {
            ErpAgenda::Http(a) => a.cancel(&v.protocol).await,
            ErpAgenda::Ixc(a) => a.cancel(&v.protocol, v.erp_ref.as_deref()).await,
        }
    }

    /// Where the visit stands in the ERP (how the ERP reports it done).
    pub(crate) async fn status(
        &self,
        protocol: &str,
        erp_ref: &str,
    ) -> Result<ErpVisit, AgendaError> {
        match self {
            ErpAgenda::Http(a) => a.status(protocol).await,
            ErpAgenda::Ixc(a) => a.status(protocol, erp_ref).await,
        }
    }

    /// `http` or `ixc`, for logs and metrics.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ErpAgenda::Http(_) => "http",
            ErpAgenda::Ixc(_) => "ixc",
        }
    }
}

/// The HTTP client every ERP agenda uses: a short connect timeout, the whole
/// request under `timeout`.
pub(super) fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("ozmap-ivr/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .timeout(timeout)
        .build()?)
}

/// What a status says: `Ok` for a 2xx; 408, 429 and 5xx are worth retrying;
/// every other status is a refusal.
pub(super) fn judge(status: u16, what: &str) -> Result<(), AgendaError> {
    match status {
        200..=299 => Ok(()),
        408 | 429 | 500..=599 => Err(AgendaError::Unavailable(format!(
            "{what}: the ERP answered HTTP {status}"
        ))),
        _ => Err(AgendaError::Refused(format!(
            "{what}: the ERP answered HTTP {status}"
        ))),
    }
}

/// A request that got no answer: worth retrying (never holds the URL's query,
/// which may carry coordinates).
pub(super) fn unsent(e: &reqwest::Error, what: &str) -> AgendaError {
    let why = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "the ERP could not be reached"
    } else {
        "the connection failed"
    };
    AgendaError::Unavailable(format!("{what}: {why}"))
}

/// A response's status judged and its body read, at most `max` bytes.
pub(super) async fn read(
    sent: Result<reqwest::Response, reqwest::Error>,
    what: &str,
    max: usize,
) -> Result<(u16, Vec<u8>), AgendaError> {
    read_unless(sent, what, max, &[]).await
}

/// Like [`read`], a status in `kept` answered as it is (with its body) for
/// the caller to judge: a 404 to a cancel, a 409 to a booking.
pub(super) async fn read_unless(
    sent: Result<reqwest::Response, reqwest::Error>,
    what: &str,
    max: usize,
    kept: &[u16],
) -> Result<(u16, Vec<u8>), AgendaError> {
    let mut res = sent.map_err(|e| unsent(&e, what))?;
    let status = res.status().as_u16();
    if !kept.contains(&status) {
        judge(status, what)?;
    }
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(AgendaError::Refused(format!(
            "{what}: the answer is too large"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| unsent(&e, what))? {
        if body.len() + chunk.len() > max {
            return Err(AgendaError::Refused(format!(
                "{what}: the answer is too large"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A text an ERP sends as a string or a number, bounded and clean; blank is none.
pub(super) fn text(v: Option<&serde_json::Value>, max: usize) -> Option<String> {
    let s = match v? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    ivr_core::text::clean_non_empty(&s, max)
}

/// A count an ERP sends as a number or a string; negatives and garbage are none.
pub(super) fn count(v: Option<&serde_json::Value>) -> Option<u32> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Longest ERP reference kept (a work order's id or number).
pub(super) const MAX_REF_CHARS: usize = 64;
