//! Fault injection: make the sandbox slow, failing or unwelcoming on purpose, so
//! rehearsals and tests can see how the service behaves when OZmap misbehaves.
//!
//! Two ways in, checked on every request:
//! - [`FaultControl`], shared at run time (tests flip it between requests);
//! - the request header `X-Sandbox-Fault` (`slow=<ms>`, `status=<code>`,
//!   `unauthorized`, comma-separated), for a single request.
//!
//! A [`PostFault`] applies only to `POST /properties`, the one non-idempotent call,
//! so the reconciliation path (the property exists but the answer was lost) can be
//! exercised, and so can a slow tenant that commits a property seconds after its
//! POST, shows nothing until then, and may commit it twice.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Name of the per-request fault header.
pub(crate) const FAULT_HEADER: &str = "x-sandbox-fault";

/// Longest delay the header may ask for, in milliseconds.
const MAX_HEADER_DELAY_MS: u64 = 60_000;

/// A fault for `POST /properties` only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostFault {
    /// Answer this status before anything is created.
    Status(u16),
    /// Create the property (port taken), then answer 500: the caller must look
    /// the client code up before trying again.
    FailAfterCommit,
    /// Never answer, create nothing (the caller's timeout fires).
    Hang,
    /// Create the property, then never answer.
    HangAfterCommit,
    /// A slow tenant: the property is committed `after_ms` after the POST came
    /// (look-ups show nothing until then), and only then answered (the client
    /// has given up by then when `after_ms` is past its timeout). A late commit
    /// is not checked against the client codes committed meanwhile: that is how
    /// one request ends up with two properties.
    CommitLate { after_ms: u64 },
    /// As [`PostFault::CommitLate`], and the same property is committed a
    /// second time (another id, another port) `again_ms` after the POST.
    CommitTwice { after_ms: u64, again_ms: u64 },
}

#[derive(Debug, Default)]
struct FaultInner {
    delay_ms: AtomicU64,
    /// 0: none.
    fail_status: AtomicU32,
    refuse_token: AtomicBool,
    /// `DELETE /properties/{id}` deletes, then never answers.
    delete_hang: AtomicBool,
    /// The fault, and whether it is spent after one use.
    post: Mutex<Option<(PostFault, bool)>>,
}

/// Faults shared between the server and whoever drives it; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct FaultControl {
    inner: Arc<FaultInner>,
}

impl FaultControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Delay added before every answer.
    pub fn set_delay_ms(&self, ms: u64) {
        self.inner.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn delay_ms(&self) -> u64 {
        self.inner.delay_ms.load(Ordering::SeqCst)
    }

    /// Every request answers this status (with a JSON `message`) until cleared.
    pub fn set_fail_status(&self, status: Option<u16>) {
        self.inner
            .fail_status
            .store(status.map(u32::from).unwrap_or(0), Ordering::SeqCst);
    }

    pub fn fail_status(&self) -> Option<u16> {
        match self.inner.fail_status.load(Ordering::SeqCst) {
            0 => None,
            s => u16::try_from(s).ok(),
        }
    }

    /// Every request answers 401, whatever its token (a revoked API key).
    pub fn set_refuse_token(&self, refuse: bool) {
        self.inner.refuse_token.store(refuse, Ordering::SeqCst);
    }

    pub fn refuse_token(&self) -> bool {
        self.inner.refuse_token.load(Ordering::SeqCst)
    }

    /// Every `DELETE /properties/{id}` deletes the property (its port freed),
    /// then never answers: a client killed while waiting never records it.
    pub fn set_delete_hang_after_commit(&self, on: bool) {
        self.inner.delete_hang.store(on, Ordering::SeqCst);
    }

    pub fn delete_hangs_after_commit(&self) -> bool {
        self.inner.delete_hang.load(Ordering::SeqCst)
    }

    /// A fault for every `POST /properties` until cleared.
    pub fn set_post_fault(&self, fault: PostFault) {
        *self.post_slot() = Some((fault, false));
    }

    /// A fault for the next `POST /properties` only.
    pub fn set_post_fault_once(&self, fault: PostFault) {
        *self.post_slot() = Some((fault, true));
    }

    pub fn clear_post_fault(&self) {
        *self.post_slot() = None;
    }

    /// Back to a well-behaved server.
    pub fn reset(&self) {
        self.set_delay_ms(0);
        self.set_fail_status(None);
        self.set_refuse_token(false);
        self.set_delete_hang_after_commit(false);
        self.clear_post_fault();
    }

    /// The fault for this POST, spending a one-shot fault.
    pub(crate) fn take_post_fault(&self) -> Option<PostFault> {
        let mut slot = self.post_slot();
        match *slot {
            Some((fault, true)) => {
                *slot = None;
                Some(fault)
            }
            Some((fault, false)) => Some(fault),
            None => None,
        }
    }

    fn post_slot(&self) -> std::sync::MutexGuard<'_, Option<(PostFault, bool)>> {
        self.inner
            .post
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What one request's `X-Sandbox-Fault` header asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderFault {
    pub slow_ms: u64,
    pub status: Option<u16>,
    pub unauthorized: bool,
}

/// Parses `slow=<ms>`, `status=<code>`, `unauthorized`, separated by commas or
/// semicolons. The error names what was not understood.
pub(crate) fn parse_fault_header(raw: &str) -> Result<HeaderFault, String> {
    let mut fault = HeaderFault::default();
    for item in raw
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (item.to_ascii_lowercase(), None),
        };
        match (key.as_str(), value) {
            ("slow", Some(v)) => {
                let ms: u64 = v
                    .parse()
                    .map_err(|_| format!("slow={v}: expected milliseconds"))?;
                if ms > MAX_HEADER_DELAY_MS {
                    return Err(format!("slow={v}: at most {MAX_HEADER_DELAY_MS} ms"));
                }
                fault.slow_ms = ms;
            }
            ("status", Some(v)) => {
                let code: u16 = v
                    .parse()
                    .ok()
                    .filter(|c| (200..=599).contains(c))
                    .ok_or_else(|| format!("status={v}: expected an HTTP status 200-599"))?;
                fault.status = Some(code);
            }
            ("unauthorized", None) => fault.unauthorized = true,
            _ => {
                return Err(format!(
                    "{item:?} is not understood (use slow=<ms>, status=<code>, unauthorized)"
                ));
            }
        }
    }
    Ok(fault)
}
