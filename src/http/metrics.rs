//! `GET /metrics`: OpenMetrics text for operators (Prometheus reads it), behind
//! the admin token (the service faces the internet, so it is not open), written
//! by `prometheus-client`.
//!
//! Kept by the handlers as they answer ([`WebhookCounters`]): webhooks answered
//! by route and their latency, apologies (a store or internal error turned into
//! a spoken sorry), address attempts per call, the funnel (calls that reached
//! each step, how they ended). Read at each scrape: refused requests by reason
//! ([`super::SecurityCounters`]), the reservation ledger's backlog and dead
//! letters, the SMS outbox by status, today's containment (the console's
//! number), and OZmap as the worker sees it (attempt latency, the breaker).

use super::AppState;
use super::Hook;
use super::extract::Operator;
use crate::store::{CallOutcome, LedgerStatus, now_ms};
use actix_web::{HttpResponse, web};
use ivr_core::flow::{Call, Step};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};

/// One label: `route="start"`.
type Label = [(&'static str, &'static str); 1];
type Histograms = Family<Label, Histogram, fn() -> Histogram>;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS_S: [f64; 9] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 2.0];
/// Upper bounds of the buckets of address attempts per call.
const ATTEMPT_BUCKETS: [f64; 4] = [1.0, 2.0, 3.0, 4.0];

fn attempts_histogram() -> Histogram {
    Histogram::new(ATTEMPT_BUCKETS)
}

/// What the handlers count as they answer.
#[derive(Debug)]
pub struct WebhookCounters {
    webhooks: Family<Label, Counter>,
    apologies: Counter,
    store_holds: Counter,
    latency: Histogram,
    address: Histograms,
    steps: Family<Label, Counter>,
    outcomes: Family<Label, Counter>,
}

impl Default for WebhookCounters {
    fn default() -> Self {
        Self {
            webhooks: Family::default(),
            apologies: Counter::default(),
            store_holds: Counter::default(),
            latency: Histogram::new(BUCKETS_S),
            address: Family::new_with_constructor(attempts_histogram),
            steps: Family::default(),
            outcomes: Family::default(),
        }
    }
}

const HOOKS: [Hook; 7] = [
    Hook::Start,
    Hook::Answer,
    Hook::Silence,
    Hook::Poll,
    Hook::Dial,
    Hook::Status,
    Hook::Resume,
];

impl WebhookCounters {
    pub fn answered(&self, hook: Hook, elapsed: std::time::Duration) {
        self.webhooks.get_or_create(&[("route", hook.name())]).inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// A call's address was settled (`confirmed`) or the call ended without
    /// one, after `attempts` lookups.
    pub fn address_settled(&self, attempts: u32, confirmed: bool) {
        let outcome = if confirmed { "confirmed" } else { "gave_up" };
        self.address
            .get_or_create(&[("outcome", outcome)])
            .observe(f64::from(attempts));
    }

    pub fn apologised(&self) {
        self.apologies.inc();
    }

    /// A webhook answered with a hold because the database was slow.
    pub(crate) fn held_for_store(&self) {
        self.store_holds.inc();
    }

    /// A call moved to `call.step`; `before` are the steps it had reached
    /// (`,ask_code,…,`, empty for a new call), `outcome` what it was told.
    pub(crate) fn moved(&self, before: &str, call: &Call, outcome: Option<CallOutcome>) {
        let step = call.step.name();
        if !before.contains(&format!(",{step},")) {
            self.steps.get_or_create(&[("step", step)]).inc();
            if call.step == Step::Transferred {
                self.outcomes
                    .get_or_create(&[("outcome", "transferred")])
                    .inc();
            }
        }
        if let Some(o) = outcome {
            self.outcomes
                .get_or_create(&[("outcome", o.as_str())])
                .inc();
        }
    }

    fn register(&self, r: &mut Registry) {
        for hook in HOOKS {
            // Every route is listed, answered or not.
            let _ = self.webhooks.get_or_create(&[("route", hook.name())]);
        }
        for step in Step::NAMES {
            let _ = self.steps.get_or_create(&[("step", step)]);
        }
        r.register(
            "ozmap_ivr_webhooks",
            "Webhooks answered with TwiML, by route.",
            self.webhooks.clone(),
        );
        r.register(
            "ozmap_ivr_apologies",
            "Webhooks that failed inside and were answered with a spoken apology.",
            self.apologies.clone(),
        );
        r.register(
            "ozmap_ivr_store_holds",
            "Webhooks answered with a short hold because the database took longer than IVR_STORE_BUDGET_MS.",
            self.store_holds.clone(),
        );
        r.register(
            "ozmap_ivr_webhook_seconds",
            "Time to answer a webhook.",
            self.latency.clone(),
        );
        r.register(
            "ozmap_ivr_address_attempts_per_call",
            "Address lookups a call took, by outcome: confirmed, or the call ended without an address.",
            self.address.clone(),
        );
        r.register(
            "ozmap_ivr_funnel_steps",
            "Calls that reached each step of the flow (once per call and step).",
            self.steps.clone(),
        );
        r.register(
            "ozmap_ivr_call_outcomes",
            "Calls by how they ended: reserved, existing, not_viable, failed (told by the ledger), transferred (to a person).",
            self.outcomes.clone(),
        );
    }
}

fn gauge(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

pub(crate) async fn metrics(_: Operator, state: web::Data<AppState>) -> HttpResponse {
    let mut r = Registry::default();
    state.webhooks.register(&mut r);
    let s = &state.security;
    let refused = Family::<Label, Counter>::default();
    for (reason, n) in [
        ("signature", &s.bad_signatures),
        ("credentials", &s.bad_credentials),
        ("address_rate", &s.limited_requests),
        ("caller_rate", &s.limited_calls),
    ] {
        refused
            .get_or_create(&[("reason", reason)])
            .inc_by(n.load(Ordering::Relaxed));
    }
    r.register("ozmap_ivr_refused", "Webhooks refused, by reason.", refused);
    if state.cfg.directory.enabled() {
        let lookups = Family::<Label, Counter>::default();
        for (outcome, n) in state.engine.directory.counts() {
            lookups.get_or_create(&[("outcome", outcome)]).inc_by(n);
        }
        r.register(
            "ozmap_ivr_directory_lookups",
            "Client directory look-ups, by outcome.",
            lookups,
        );
        let hits = Counter::<u64>::default();
        hits.inc_by(state.engine.directory.cache_hits.load(Ordering::Relaxed));
        r.register(
            "ozmap_ivr_directory_cache_hits",
            "Look-ups answered from the known clients kept in memory.",
            hits,
        );
    }
    let now = now_ms();
    match state.store().ledger_backlog(now).await {
        Ok((pending, oldest_ms)) => {
            r.register(
                "ozmap_ivr_ledger_pending",
                "Reservations waiting for the worker.",
                gauge(pending),
            );
            let oldest = Gauge::<f64, AtomicU64>::default();
            oldest.set(oldest_ms as f64 / 1000.0);
            r.register(
                "ozmap_ivr_ledger_oldest_pending_seconds",
                "Age of the oldest waiting reservation.",
                oldest,
            );
        }
        Err(e) => tracing::error!(error = %e, "metrics: ledger backlog unavailable"),
    }
    match state
        .store()
        .list_reservations(Some(LedgerStatus::Dead), 1000)
        .await
    {
        Ok(dead) => r.register(
            "ozmap_ivr_ledger_dead",
            "Dead letters waiting for an operator (up to 1000).",
            gauge(dead.len() as i64),
        ),
        Err(e) => tracing::error!(error = %e, "metrics: dead letters unavailable"),
    }
    let messages = Family::<[(&'static str, String); 2], Gauge>::default();
    match state.store().message_counts().await {
        Ok(counts) => {
            for (status, n) in counts {
                messages
                    .get_or_create(&[
                        ("channel", "sms".into()),
                        ("status", status.as_str().into()),
                    ])
                    .set(n);
            }
        }
        Err(e) => tracing::error!(error = %e, "metrics: SMS outbox unavailable"),
    }
    match state.store().chat_reply_counts().await {
        Ok(counts) => {
            for (status, n) in counts {
                messages
                    .get_or_create(&[("channel", "whatsapp".into()), ("status", status)])
                    .set(n);
            }
        }
        Err(e) => tracing::error!(error = %e, "metrics: WhatsApp outbox unavailable"),
    }
    r.register(
        "ozmap_ivr_messages",
        "Messages to clients by channel (sms, whatsapp) and status (pending, sending, sent, dead).",
        messages,
    );
    let today = state.cfg.call.schedule.start_of_day_ms(now);
    match state.store().call_traces(today).await {
        Ok(traces) => {
            let f = super::console::Funnel::of(&traces, now);
            let ratio = Gauge::<f64, AtomicU64>::default();
            ratio.set(f.containment());
            r.register(
                "ozmap_ivr_containment_ratio",
                "Today's calls that ended with a port and no person, over today's calls (0 with no call).",
                ratio,
            );
        }
        Err(e) => tracing::error!(error = %e, "metrics: calls unavailable"),
    }
    let health = state.ozmap.view();
    r.register(
        "ozmap_ivr_ozmap_attempt_seconds",
        "Time one reservation attempt against OZmap took (this instance's worker).",
        state.ozmap.latency.clone(),
    );
    r.register(
        "ozmap_ivr_ozmap_breaker_open",
        "1 while this instance's OZmap circuit breaker is open or half-open.",
        gauge(i64::from(health.breaker != "closed")),
    );
    let mut out = String::with_capacity(4096);
    if let Err(e) = encode(&mut out, &r) {
        tracing::error!(error = %e, "metrics: cannot write the text");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(out)
}
