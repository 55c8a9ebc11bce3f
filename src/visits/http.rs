//! The schedule contract (`SCHEDULE=http`, `docs/schedule.md`): a small JSON
//! API an ISP puts in front of any ERP, with `Authorization: Bearer {token}`
//! when a token is set.
//!
//! - `GET {url}/slots?lat&lng&box&from&to` → `{"slots":[{"day":"2026-12-10",
//!   "period":"morning","capacity":4,"free":2}]}`: the periods with room.
//! - `PUT {url}/visits/{protocol}` with the visit → `{"reference":"…"}`: a
//!   booking idempotent by the protocol (the same PUT again answers the same
//!   reference; a PUT with another day or period moves the visit). `409`: the
//!   period is full in the ERP.
//! - `DELETE {url}/visits/{protocol}`: cancels it (`404`: nothing to cancel).
//! - `GET {url}/visits/{protocol}` → `{"status":"open"|"done"|"cancelled"}`:
//!   how the ERP says the technician installed the client.
//!
//! Read tolerantly: counts may come as strings, periods as `manha`/`tarde`/
//! `M`/`T`; a slot that cannot be read is skipped, an answer that cannot be
//! read is a refusal. Answers are bounded in size and texts cleaned.

use super::erp::{MAX_REF_CHARS, client, count, read, read_unless, text};
use super::{AgendaError, ErpVisit, FreeSlot, SlotQuery, VisitBooking};
use ivr_core::agenda::{Day, Period, Slot};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// Longest answer read: a fortnight of periods is a few kilobytes.
const MAX_BODY: usize = 256 * 1024;
/// Most slots taken from one answer.
const MAX_SLOTS: usize = 1000;

#[derive(Clone, Debug)]
pub(crate) struct HttpAgenda {
    client: reqwest::Client,
    base: Url,
    token: Option<SecretString>,
}

impl HttpAgenda {
    pub(crate) fn new(
        url: Url,
        token: Option<SecretString>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        if url.cannot_be_a_base() {
            anyhow::bail!("the schedule URL cannot hold a path");
        }
        Ok(Self {
            client: client(timeout)?,
            base: url,
            token,
        })
    }

    /// `{base}/{segments…}`, each segment percent-encoded.
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let req = req.header(reqwest::header::ACCEPT, "application/json");
        match &self.token {
            Some(t) => req.bearer_auth(t.expose_secret()),
            None => req,
        }
    }

    pub(crate) async fn free_slots(&self, q: &SlotQuery) -> Result<Vec<FreeSlot>, AgendaError> {
        let mut url = self.url(&["slots"]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("lat", &format!("{:.6}", q.lat))
                .append_pair("lng", &format!("{:.6}", q.lng));
            if let Some(b) = &q.box_id {
                pairs.append_pair("box", b);
            }
            pairs
                .append_pair("from", &q.from.to_string())
                .append_pair("to", &q.to.to_string());
        }
        let sent = self.auth(self.client.get(url)).send().await;
        let (_, body) = read(sent, "free periods", MAX_BODY).await?;
        parse_slots(&body, q.from, q.to)
    }

    pub(crate) async fn book(&self, v: &VisitBooking) -> Result<String, AgendaError> {
        let url = self.url(&["visits", &v.protocol]);
        let sent = self
            .auth(self.client.put(url))
            .json(&booking_body(v))
            .send()
            .await;
        match read_unless(sent, "booking", MAX_BODY, &[409]).await? {
            (409, _) => Err(AgendaError::Refused(
                "booking: the period is full in the ERP (HTTP 409)".into(),
            )),
            (_, body) => parse_reference(&body),
        }
    }

    pub(crate) async fn cancel(&self, protocol: &str) -> Result<(), AgendaError> {
        let url = self.url(&["visits", protocol]);
        let sent = self.auth(self.client.delete(url)).send().await;
        // A 404: nothing to cancel, cancelled already.
        read_unless(sent, "cancel", MAX_BODY, &[404])
            .await
            .map(|_| ())
    }

    pub(crate) async fn status(&self, protocol: &str) -> Result<ErpVisit, AgendaError> {
        let url = self.url(&["visits", protocol]);
        let sent = self.auth(self.client.get(url)).send().await;
        let (_, body) = read(sent, "visit status", MAX_BODY).await?;
        parse_status(&body)
    }
}

/// What a booking sends (`docs/schedule.md`).
pub(super) fn booking_body(v: &VisitBooking) -> Value {
    json!({
        "protocol": v.protocol,
        "client_code": v.client_code,
        "client_name": v.client_name,
        "phone": v.phone,
        "address": v.address,
        "lat": v.lat,
        "lng": v.lng,
        "box": v.box_name,
        "port": v.port,
        "day": v.slot.day.to_string(),
        "period": v.slot.period.as_str(),
        "reference": v.erp_ref,
    })
}

/// A slots answer into the periods with room between `from` and `to`, in
/// order, each once.
pub(super) fn parse_slots(body: &[u8], from: Day, to: Day) -> Result<Vec<FreeSlot>, AgendaError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| AgendaError::Refused("free periods: the answer is not JSON".into()))?;
    let Some(items) = v.get("slots").and_then(Value::as_array) else {
        return Err(AgendaError::Refused(
            "free periods: the answer has no \"slots\" list".into(),
        ));
    };
    let mut out: Vec<FreeSlot> = Vec::new();
    for item in items.iter().take(MAX_SLOTS) {
        let Some(free) = slot_of(item).filter(|f| (from..=to).contains(&f.slot.day)) else {
            continue;
        };
        if free.free > 0 && !out.iter().any(|o| o.slot == free.slot) {
            out.push(free);
        }
    }
    out.sort_by_key(|f| f.slot);
    Ok(out)
}

/// One slot of an answer; `None` when it cannot be read.
fn slot_of(item: &Value) -> Option<FreeSlot> {
    let day = Day::parse(&text(item.get("day"), 10)?)?;
    let period = Period::parse(&text(item.get("period"), 16)?)?;
    // More free than the capacity cannot be: the smaller is believed.
    let given = count(item.get("free"))?;
    let capacity = count(item.get("capacity")).unwrap_or(given);
    let free = given.min(capacity);
    Some(FreeSlot {
        slot: Slot { day, period },
        capacity,
        free,
    })
}

/// A booking's answer: its reference.
pub(super) fn parse_reference(body: &[u8]) -> Result<String, AgendaError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| AgendaError::Refused("booking: the answer is not JSON".into()))?;
    text(v.get("reference"), MAX_REF_CHARS)
        .ok_or_else(|| AgendaError::Refused("booking: the answer has no reference".into()))
}

/// A status answer.
pub(super) fn parse_status(body: &[u8]) -> Result<ErpVisit, AgendaError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| AgendaError::Refused("visit status: the answer is not JSON".into()))?;
    let status = text(v.get("status"), 32).map(|s| s.to_lowercase());
    match status.as_deref() {
        Some("open" | "booked" | "scheduled") => Ok(ErpVisit::Open),
        Some("done" | "completed" | "finished") => Ok(ErpVisit::Done),
        Some("cancelled" | "canceled") => Ok(ErpVisit::Cancelled),
        _ => Err(AgendaError::Refused(
            "visit status: not open, done or cancelled".into(),
        )),
    }
}
