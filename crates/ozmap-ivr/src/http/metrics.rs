//! `GET /metrics`: Prometheus text for operators, behind the admin token (the
//! service faces the internet, so it is not open): webhooks answered by route,
//! their latency, apologies (a store or internal error turned into a spoken
//! sorry), refused requests by reason, the reservation ledger's backlog, and
//! the SMS outbox by status.
//! Hand-written counters: a few atomics need no metrics framework.

use super::AppState;
use super::Hook;
use super::extract::Operator;
use crate::store::{LedgerStatus, now_ms};
use actix_web::{HttpResponse, web};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

const HOOKS: [Hook; 6] = [
    Hook::Start,
    Hook::Answer,
    Hook::Silence,
    Hook::Poll,
    Hook::Dial,
    Hook::Status,
];
/// Upper bounds of the buckets of address attempts per call.
const ATTEMPT_BUCKETS: [u32; 4] = [1, 2, 3, 4];

/// Upper bounds of the latency buckets, in milliseconds.
const BUCKETS_MS: [f64; 9] = [1.0, 2.5, 5.0, 10.0, 25.0, 100.0, 500.0, 1000.0, 2000.0];

#[derive(Debug, Default)]
pub struct WebhookCounters {
    answered: [AtomicU64; 6],
    apologies: AtomicU64,
    buckets: [AtomicU64; 9],
    count: AtomicU64,
    sum_us: AtomicU64,
    /// Address attempts per call, by outcome (confirmed, given up): buckets,
    /// then sum and count.
    address: [AddressAttempts; 2],
}

#[derive(Debug, Default)]
struct AddressAttempts {
    buckets: [AtomicU64; 4],
    sum: AtomicU64,
    count: AtomicU64,
}

fn index(hook: Hook) -> usize {
    HOOKS.iter().position(|h| *h == hook).unwrap_or(0)
}

impl WebhookCounters {
    pub fn answered(&self, hook: Hook, elapsed: std::time::Duration) {
        self.answered[index(hook)].fetch_add(1, Ordering::Relaxed);
        let ms = elapsed.as_secs_f64() * 1000.0;
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            if ms <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// A call's address was settled (`confirmed`) or the call ended without
    /// one, after `attempts` lookups.
    pub fn address_settled(&self, attempts: u32, confirmed: bool) {
        let h = &self.address[usize::from(!confirmed)];
        for (i, bound) in ATTEMPT_BUCKETS.iter().enumerate() {
            if attempts <= *bound {
                h.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        h.sum.fetch_add(u64::from(attempts), Ordering::Relaxed);
        h.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn apologised(&self) {
        self.apologies.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP ozmap_ivr_webhooks_total Webhooks answered with TwiML, by route."
        );
        let _ = writeln!(out, "# TYPE ozmap_ivr_webhooks_total counter");
        for hook in HOOKS {
            let n = self.answered[index(hook)].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "ozmap_ivr_webhooks_total{{route=\"{}\"}} {n}",
                hook.name()
            );
        }
        let _ = writeln!(
            out,
            "# HELP ozmap_ivr_apologies_total Webhooks that failed inside and were answered with a spoken apology."
        );
        let _ = writeln!(out, "# TYPE ozmap_ivr_apologies_total counter");
        let _ = writeln!(
            out,
            "ozmap_ivr_apologies_total {}",
            self.apologies.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP ozmap_ivr_webhook_seconds Time to answer a webhook."
        );
        let _ = writeln!(out, "# TYPE ozmap_ivr_webhook_seconds histogram");
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            let n = self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "ozmap_ivr_webhook_seconds_bucket{{le=\"{}\"}} {n}",
                bound / 1000.0
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "ozmap_ivr_webhook_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "ozmap_ivr_webhook_seconds_sum {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "ozmap_ivr_webhook_seconds_count {count}");
        let name = "ozmap_ivr_address_attempts_per_call";
        let _ = writeln!(
            out,
            "# HELP {name} Address lookups a call took, by outcome: confirmed, or the call ended without an address."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (outcome, h) in ["confirmed", "gave_up"].iter().zip(&self.address) {
            for (bound, b) in ATTEMPT_BUCKETS.iter().zip(&h.buckets) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{outcome=\"{outcome}\",le=\"{bound}\"}} {}",
                    b.load(Ordering::Relaxed)
                );
            }
            let n = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{outcome=\"{outcome}\",le=\"+Inf\"}} {n}"
            );
            let _ = writeln!(
                out,
                "{name}_sum{{outcome=\"{outcome}\"}} {}",
                h.sum.load(Ordering::Relaxed)
            );
            let _ = writeln!(out, "{name}_count{{outcome=\"{outcome}\"}} {n}");
        }
    }
}

pub(crate) async fn metrics(_: Operator, state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::with_capacity(2048);
    state.webhooks.render(&mut out);
    let s = &state.security;
    let _ = writeln!(
        out,
        "# HELP ozmap_ivr_refused_total Webhooks refused, by reason."
    );
    let _ = writeln!(out, "# TYPE ozmap_ivr_refused_total counter");
    for (reason, counter) in [
        ("signature", &s.bad_signatures),
        ("credentials", &s.bad_credentials),
        ("address_rate", &s.limited_requests),
        ("caller_rate", &s.limited_calls),
    ] {
        let _ = writeln!(
            out,
            "ozmap_ivr_refused_total{{reason=\"{reason}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
    if state.cfg.directory.enabled() {
        let _ = writeln!(
            out,
            "# HELP ozmap_ivr_directory_lookups_total Client directory look-ups, by outcome."
        );
        let _ = writeln!(out, "# TYPE ozmap_ivr_directory_lookups_total counter");
        for (outcome, n) in state.directory.counts() {
            let _ = writeln!(
                out,
                "ozmap_ivr_directory_lookups_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP ozmap_ivr_directory_cache_hits_total Look-ups answered from the known clients kept in memory."
        );
        let _ = writeln!(out, "# TYPE ozmap_ivr_directory_cache_hits_total counter");
        let _ = writeln!(
            out,
            "ozmap_ivr_directory_cache_hits_total {}",
            state.directory.cache_hits.load(Ordering::Relaxed)
        );
    }
    match state.store.ledger_backlog(now_ms()).await {
        Ok((pending, oldest_ms)) => {
            let _ = writeln!(
                out,
                "# HELP ozmap_ivr_ledger_pending Reservations waiting for the worker."
            );
            let _ = writeln!(out, "# TYPE ozmap_ivr_ledger_pending gauge");
            let _ = writeln!(out, "ozmap_ivr_ledger_pending {pending}");
            let _ = writeln!(
                out,
                "# HELP ozmap_ivr_ledger_oldest_pending_seconds Age of the oldest waiting reservation."
            );
            let _ = writeln!(out, "# TYPE ozmap_ivr_ledger_oldest_pending_seconds gauge");
            let _ = writeln!(
                out,
                "ozmap_ivr_ledger_oldest_pending_seconds {}",
                oldest_ms as f64 / 1000.0
            );
        }
        Err(e) => tracing::error!(error = %e, "metrics: ledger backlog unavailable"),
    }
    match state
        .store
        .list_reservations(Some(LedgerStatus::Dead), 1000)
        .await
    {
        Ok(dead) => {
            let _ = writeln!(
                out,
                "# HELP ozmap_ivr_ledger_dead Dead letters waiting for an operator (up to 1000)."
            );
            let _ = writeln!(out, "# TYPE ozmap_ivr_ledger_dead gauge");
            let _ = writeln!(out, "ozmap_ivr_ledger_dead {}", dead.len());
        }
        Err(e) => tracing::error!(error = %e, "metrics: dead letters unavailable"),
    }
    match state.store.message_counts().await {
        Ok(counts) => {
            let _ = writeln!(
                out,
                "# HELP ozmap_ivr_messages SMS with the outcome, by status (pending, sending, sent, dead)."
            );
            let _ = writeln!(out, "# TYPE ozmap_ivr_messages gauge");
            for (status, n) in counts {
                let _ = writeln!(
                    out,
                    "ozmap_ivr_messages{{status=\"{}\"}} {n}",
                    status.as_str()
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "metrics: SMS outbox unavailable"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
