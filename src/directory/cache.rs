//! The directory behind the call: one look-up per code and instance at a time,
//! known clients kept in memory for a few minutes, and each call's answer kept
//! until the call's next webhook takes it (a look-up longer than the step budget
//! is answered to the poll that follows the hold).
//!
//! Unknown codes and failures are never kept for another call. The maps hold
//! codes and names in memory only; nothing of them is logged.

use super::{Directory, DirectoryError};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use ivr_core::domain::{ClientCode, KnownClient};
use ivr_core::flow::ClientLookup;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long a call's answer waits for the call's next webhook.
const AWAIT_TTL: Duration = Duration::from_secs(120);

type Pending = Shared<BoxFuture<'static, ClientLookup>>;

/// The outcomes counted on `/metrics`, in this order.
pub(crate) const OUTCOMES: [&str; 7] = [
    "known",
    "unknown",
    "refused",
    "error",
    "timeout",
    "unreachable",
    "malformed",
];

pub(crate) struct Lookups {
    directory: Option<Directory>,
    inner: Mutex<Inner>,
    counts: [AtomicU64; OUTCOMES.len()],
    /// Look-ups answered from the memory of known clients.
    pub(crate) cache_hits: AtomicU64,
}

#[derive(Default)]
struct Inner {
    known: HashMap<ClientCode, (KnownClient, Instant)>,
    inflight: HashMap<ClientCode, Pending>,
    awaiting: HashMap<String, (ClientLookup, Instant)>,
}

impl Lookups {
    pub(crate) fn new(directory: Option<Directory>) -> Self {
        Self {
            directory,
            inner: Mutex::default(),
            counts: Default::default(),
            cache_hits: AtomicU64::new(0),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Look-ups by outcome, for `/metrics`.
    pub(crate) fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        OUTCOMES
            .iter()
            .zip(&self.counts)
            .map(|(o, c)| (*o, c.load(Ordering::Relaxed)))
    }

    fn count(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn cached(&self, code: &ClientCode) -> Option<KnownClient> {
        let mut inner = self.inner();
        match inner.known.get(code) {
            Some((k, until)) if *until > Instant::now() => {
                self.cache_hits.fetch_add(1, Ordering::Relaxed);
                Some(k.clone())
            }
            Some(_) => {
                inner.known.remove(code);
                None
            }
            None => None,
        }
    }

    /// Asks the directory about `code` for `call_sid` (once per code at a time);
    /// the answer is also kept for the call's next webhook ([`Lookups::take`]).
    pub(crate) fn start(
        self: &Arc<Self>,
        call_sid: &str,
        code: ClientCode,
    ) -> JoinHandle<ClientLookup> {
        let pending = self.pending(code);
        let me = Arc::clone(self);
        let sid = call_sid.to_string();
        tokio::spawn(async move {
            let lookup = pending.await;
            let mut inner = me.inner();
            let now = Instant::now();
            inner
                .awaiting
                .retain(|_, (_, at)| now.duration_since(*at) < AWAIT_TTL);
            inner.awaiting.insert(sid, (lookup.clone(), now));
            lookup
        })
    }

    /// The answer kept for `call_sid`, taken.
    pub(crate) fn take(&self, call_sid: &str) -> Option<ClientLookup> {
        self.inner().awaiting.remove(call_sid).map(|(l, _)| l)
    }

    /// For a call on hold: its answer when there is one, else a look-up is
    /// made sure to be running here (the first may have run on another
    /// instance, or before a restart) and `None`.
    pub(crate) fn poll(
        self: &Arc<Self>,
        call_sid: &str,
        code: &ClientCode,
    ) -> Option<ClientLookup> {
        if let Some(l) = self.take(call_sid) {
            return Some(l);
        }
        if self.directory.is_none() {
            return Some(ClientLookup::Failed);
        }
        if let Some(k) = self.cached(code) {
            return Some(ClientLookup::Known(k));
        }
        if !self.inner().inflight.contains_key(code) {
            drop(self.start(call_sid, code.clone()));
        }
        None
    }

    /// The running look-up of `code`, or a new one.
    fn pending(self: &Arc<Self>, code: ClientCode) -> Pending {
        let Some(directory) = self.directory.clone() else {
            return futures_util::future::ready(ClientLookup::Failed)
                .boxed()
                .shared();
        };
        if let Some(k) = self.cached(&code) {
            return futures_util::future::ready(ClientLookup::Known(k))
                .boxed()
                .shared();
        }
        let mut inner = self.inner();
        if let Some(p) = inner.inflight.get(&code) {
            return p.clone();
        }
        let me = Arc::clone(self);
        let key = code.clone();
        let fut = async move {
            let started = Instant::now();
            let answer = directory.look_up(&code).await;
            let ms = started.elapsed().as_millis() as u64;
            let lookup = me.settle(&directory, &code, answer, ms);
            me.inner().inflight.remove(&code);
            lookup
        }
        .boxed()
        .shared();
        inner.inflight.insert(key, fut.clone());
        fut
    }

    /// Logs and counts an answer, keeps a known client, and turns it into what
    /// the flow takes.
    fn settle(
        &self,
        directory: &Directory,
        code: &ClientCode,
        answer: Result<Option<KnownClient>, DirectoryError>,
        ms: u64,
    ) -> ClientLookup {
        let kind = directory.kind();
        match answer {
            Ok(Some(k)) => {
                self.count("known");
                tracing::info!(
                    directory = kind,
                    outcome = "known",
                    located = k.located,
                    ms,
                    "client directory lookup"
                );
                let now = Instant::now();
                let mut inner = self.inner();
                inner.known.retain(|_, (_, until)| *until > now);
                if !directory.cache.is_zero() {
                    inner
                        .known
                        .insert(code.clone(), (k.clone(), now + directory.cache));
                }
                ClientLookup::Known(k)
            }
            Ok(None) => {
                self.count("unknown");
                tracing::info!(
                    directory = kind,
                    outcome = "unknown",
                    ms,
                    "client directory lookup"
                );
                ClientLookup::Unknown
            }
            Err(e) => {
                self.count(e.label());
                tracing::warn!(
                    directory = kind,
                    outcome = e.label(),
                    error = %e,
                    ms,
                    "client directory failed: the call goes on without it"
                );
                ClientLookup::Failed
            }
        }
    }
}
