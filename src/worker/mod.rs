//! The reservation worker: the only code that changes anything in OZmap.
//!
//! It claims due rows of the ledger (see [`crate::store`]), runs the reservation
//! procedure ([`crate::reserve`]) under a deadline shorter than the claim's
//! lease, and records the outcome. A transient failure puts the row back with
//! exponential backoff and jitter; a permanent one (OZmap refused the token) or too
//! many attempts make it a dead letter for an operator. Because every attempt
//! starts by looking the client code up in OZmap, a `POST /properties` that landed
//! before a crash or a timeout is adopted, never repeated.
//!
//! OZmap is guarded by a consecutive-failure circuit breaker ([`Breaker`]): after
//! a run of transient failures the worker stops claiming for a cool-down, then
//! lets one trial through. On shutdown the attempt in hand gets a grace period;
//! past it the attempt is dropped and the row released, so a restart (or another
//! instance) picks it up at once instead of waiting for the lease to run out.
//!
//! Any number of workers, in one process or many, can run against one store: the
//! claim is exclusive and fenced by a token, so a worker whose lease ran out cannot
//! overwrite the result of the one that took the row over.
//!
//! The final outcome (done, or a dead letter) is recorded with the SMS that tells
//! the caller, in one transaction ([`Outbox`]; the SMS sender sends it later), so
//! the message is written exactly when the outcome is.

mod breaker;
mod health;

pub(crate) use breaker::{Breaker, BreakerState};
pub(crate) use health::{HealthView, OzmapHealth};

use crate::reserve::{ReserveError, ReserveSettings, reserve};
use crate::sms::Outbox;
use crate::store::{Claim, NewMessage, Store, now_ms};
use ivr_core::domain::ReservationOutcome;
use ozmap_client::OzmapClient;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WorkerSettings {
    /// How long a claim holds a row; a crashed worker's row is taken over after it.
    pub lease_ms: i64,
    /// Attempts before a row becomes a dead letter.
    pub max_attempts: i64,
    /// First retry delay; doubles each attempt.
    pub backoff_base_ms: i64,
    /// Longest retry delay.
    pub backoff_max_ms: i64,
    /// How often the ledger is looked at when nothing wakes the worker.
    pub idle_poll_ms: u64,
    /// Transient failures in a row that open the circuit breaker (0: no breaker).
    pub breaker_failures: u32,
    /// How long an open breaker keeps the worker from claiming before one trial.
    pub breaker_cooldown_ms: u64,
    /// On shutdown, how long the attempt in hand may go on before the worker drops
    /// it and releases the row for another worker (or the next start).
    pub shutdown_grace_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            lease_ms: 60_000,
            max_attempts: 12,
            backoff_base_ms: 2_000,
            backoff_max_ms: 300_000,
            idle_poll_ms: 500,
            breaker_failures: 5,
            breaker_cooldown_ms: 30_000,
            shutdown_grace_ms: 5_000,
        }
    }
}

impl WorkerSettings {
    /// How long one attempt may run: well inside the lease, so that a slow
    /// attempt is given up before another worker may take the row over.
    pub(crate) fn attempt_deadline(&self) -> Duration {
        let margin = (self.lease_ms / 4).min(5_000);
        Duration::from_millis((self.lease_ms - margin).max(500) as u64)
    }
}

pub(crate) struct Worker {
    pub store: Store,
    pub ozmap: OzmapClient,
    pub reserve: ReserveSettings,
    pub settings: WorkerSettings,
    pub wake: Arc<Notify>,
    /// The SMS written with each final outcome; `None`: SMS are off.
    pub outbox: Option<Outbox>,
    /// What the console and the metrics show of OZmap.
    pub health: Arc<OzmapHealth>,
}

/// The delay before attempt `attempts + 1`, with ±20 % jitter.
pub(crate) fn backoff_ms(s: &WorkerSettings, attempts: i64) -> i64 {
    let exp = s
        .backoff_base_ms
        .saturating_mul(1i64 << attempts.clamp(0, 20));
    let capped = exp.min(s.backoff_max_ms);
    let jitter = (capped / 5).max(1);
    capped - jitter + (rand::random::<u64>() % (2 * jitter as u64 + 1)) as i64
}

/// What one attempt came to, for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptEnd {
    /// OZmap answered (a reservation, no coverage, or a refusal).
    Answered,
    /// OZmap failed in a way worth retrying.
    Failed,
    /// The attempt was interrupted by shutdown and the row released.
    Released,
}

/// Resolves once shutdown is asked for (never, if nobody can ask any more).
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Worker {
    /// Runs until `shutdown` turns true. A row in hand is finished if it can be
    /// within the shutdown grace, otherwise released for another worker.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("reservation worker started");
        let s = &self.settings;
        let mut breaker = Breaker::new(
            s.breaker_failures,
            Duration::from_millis(s.breaker_cooldown_ms),
        );
        loop {
            if *shutdown.borrow() {
                break;
            }
            let was_open = matches!(breaker.state(), BreakerState::Open { .. });
            if let Err(wait) = breaker.allow(Instant::now()) {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown_requested(&mut shutdown) => {}
                }
                continue;
            }
            if was_open {
                tracing::info!("OZmap circuit breaker half-open: one trial attempt");
                self.health.breaker(breaker.state());
            }
            match self.store.claim_due(now_ms(), s.lease_ms).await {
                Ok(Some(claim)) => {
                    let started = Instant::now();
                    let end = self.process_in_span(claim, &mut shutdown).await;
                    if end != AttemptEnd::Released {
                        self.health.attempt(started.elapsed());
                    }
                    match end {
                        AttemptEnd::Answered => {
                            if breaker.state() != BreakerState::Closed {
                                tracing::info!("OZmap circuit breaker closed");
                            }
                            breaker.on_success();
                        }
                        AttemptEnd::Failed => {
                            if breaker.on_failure(Instant::now()) {
                                tracing::warn!(
                                    cooldown_ms = s.breaker_cooldown_ms,
                                    "OZmap circuit breaker open: no reservation is tried during the cool-down"
                                );
                            }
                        }
                        AttemptEnd::Released => {}
                    }
                    self.health.breaker(breaker.state());
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(s.idle_poll_ms)) => {}
                        _ = shutdown_requested(&mut shutdown) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "worker: cannot read the ledger");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown_requested(&mut shutdown) => {}
                    }
                }
            }
        }
        tracing::info!("reservation worker stopped");
    }

    /// One attempt at one row, run to its end.
    #[cfg(test)]
    pub(crate) async fn process(&self, claim: Claim) -> AttemptEnd {
        let result = self.attempt(&claim).await;
        self.record(&claim, result).await
    }

    /// One attempt at one row; when shutdown is asked for, the attempt gets the
    /// grace, then is dropped and the row released (due again after a backoff,
    /// since the dropped `POST` may still be landing in OZmap).
    /// [`Worker::process_until`] in a span carrying the row's id and attempt, so
    /// every line about it (the procedure's too) says which row it is.
    async fn process_in_span(
        &self,
        claim: Claim,
        shutdown: &mut watch::Receiver<bool>,
    ) -> AttemptEnd {
        let span = tracing::info_span!(
            "reservation",
            id = claim.reservation.id,
            attempt = claim.reservation.attempts + 1
        );
        self.process_until(claim, shutdown).instrument(span).await
    }

    async fn process_until(
        &self,
        claim: Claim,
        shutdown: &mut watch::Receiver<bool>,
    ) -> AttemptEnd {
        let grace = Duration::from_millis(self.settings.shutdown_grace_ms);
        let result = tokio::select! {
            r = self.attempt(&claim) => Some(r),
            _ = async {
                shutdown_requested(shutdown).await;
                tokio::time::sleep(grace).await;
            } => None,
        };
        match result {
            Some(r) => self.record(&claim, r).await,
            None => {
                let now = now_ms();
                let next = now + backoff_ms(&self.settings, 0);
                match self
                    .store
                    .release_claim(&claim, "interrupted by shutdown", next, now)
                    .await
                {
                    Ok(true) => tracing::warn!(
                        "shutdown: attempt interrupted; the row is released for another worker"
                    ),
                    Ok(false) => {
                        tracing::warn!("shutdown: attempt interrupted; the claim was already lost")
                    }
                    Err(e) => tracing::error!(
                        error = %e,
                        "shutdown: could not release the row; it is taken over after its lease"
                    ),
                }
                AttemptEnd::Released
            }
        }
    }

    /// The reservation procedure under the attempt deadline.
    async fn attempt(&self, claim: &Claim) -> Result<ReservationOutcome, ReserveError> {
        match tokio::time::timeout(
            self.settings.attempt_deadline(),
            reserve(&self.ozmap, &self.reserve, &claim.reservation.request),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ReserveError::Transient(
                "the attempt ran past its deadline".into(),
            )),
        }
    }

    /// Writes the attempt's result to the ledger, fenced by the claim.
    async fn record(
        &self,
        claim: &Claim,
        result: Result<ReservationOutcome, ReserveError>,
    ) -> AttemptEnd {
        let attempt = claim.reservation.attempts + 1;
        let now = now_ms();
        let request = &claim.reservation.request;
        // A chat gets its outcome in the chat (the WhatsApp pusher), not by SMS.
        let outbox = self
            .outbox
            .as_ref()
            .filter(|_| !claim.reservation.made_in_chat());
        let mut message: Option<NewMessage> = None;
        let (end, recorded) = match result {
            Ok(outcome) => {
                tracing::info!(outcome = outcome_name(&outcome), "reservation finished");
                self.health.succeeded(now);
                message = outbox.and_then(|o| o.outcome(request, &outcome));
                (
                    AttemptEnd::Answered,
                    self.store
                        .finish_claim(claim, &outcome, message.clone(), now)
                        .await,
                )
            }
            Err(ReserveError::Permanent(msg)) => {
                tracing::error!(error = %msg, "reservation failed for good (dead letter)");
                self.health.failed(&msg, now);
                message = outbox.and_then(|o| o.failure(request));
                (
                    AttemptEnd::Answered,
                    self.store
                        .bury_claim(claim, &msg, message.clone(), now)
                        .await,
                )
            }
            Err(ReserveError::Transient(msg)) if attempt >= self.settings.max_attempts => {
                tracing::error!(error = %msg, "reservation out of attempts (dead letter)");
                self.health.failed(&msg, now);
                message = outbox.and_then(|o| o.failure(request));
                (
                    AttemptEnd::Failed,
                    self.store
                        .bury_claim(
                            claim,
                            &format!("{msg} (after {attempt} attempts)"),
                            message.clone(),
                            now,
                        )
                        .await,
                )
            }
            Err(ReserveError::Transient(msg)) => {
                let delay = backoff_ms(&self.settings, attempt - 1);
                self.health.failed(&msg, now);
                tracing::warn!(retry_in_ms = delay, error = %msg, "reservation will be retried");
                (
                    AttemptEnd::Failed,
                    self.store.retry_claim(claim, &msg, now + delay, now).await,
                )
            }
        };
        match recorded {
            Ok(true) => {
                if let (Some(outbox), Some(m)) = (&self.outbox, &message) {
                    tracing::info!(kind = m.kind, "SMS with the outcome queued");
                    outbox.wake();
                }
            }
            Ok(false) => tracing::warn!(
                "claim lost before the result was recorded; the row's new holder decides"
            ),
            Err(e) => {
                tracing::error!(error = %e, "could not record the result; the row will be claimed again after its lease")
            }
        }
        end
    }
}

fn outcome_name(o: &ReservationOutcome) -> &'static str {
    match o {
        ReservationOutcome::Reserved(_) => "reserved",
        ReservationOutcome::Existing(_) => "existing",
        ReservationOutcome::NotViable => "not_viable",
    }
}

#[cfg(test)]
mod tests;
