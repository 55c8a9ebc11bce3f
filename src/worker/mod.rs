//! The reservation worker: the only code that changes anything in OZmap.
//!
//! The ledger's rows are leased jobs ([`crate::outbox`], the claim loop the
//! worker shares with the senders). It claims due rows of the ledger (see
//! [`crate::store`]), runs the reservation procedure ([`crate::reserve`]) under
//! a deadline shorter than the claim's lease, and records the outcome. A transient failure puts the row back with
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

use crate::outbox::{self, Ended, Failure, Jobs, Settle};
use crate::reserve::{ReserveError, ReserveSettings, reserve};
use crate::sms::Outbox;
use crate::store::{Claim, Store, StoreError, now_ms};
use ivr_core::domain::ReservationOutcome;
use ozmap_client::OzmapClient;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

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
    #[cfg(test)]
    pub(crate) fn attempt_deadline(&self) -> Duration {
        outbox::Settings::from(self).attempt_deadline()
    }
}

/// The claim loop's share of the worker's settings.
impl From<&WorkerSettings> for outbox::Settings {
    fn from(w: &WorkerSettings) -> Self {
        outbox::Settings {
            lease_ms: w.lease_ms,
            max_attempts: w.max_attempts,
            backoff_base_ms: w.backoff_base_ms,
            backoff_max_ms: w.backoff_max_ms,
            idle_poll_ms: w.idle_poll_ms,
            shutdown_grace_ms: w.shutdown_grace_ms,
        }
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
#[cfg(test)]
pub(crate) fn backoff_ms(s: &WorkerSettings, attempts: i64) -> i64 {
    outbox::Settings::from(s).backoff_ms(attempts)
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

impl From<Ended> for AttemptEnd {
    fn from(e: Ended) -> Self {
        match e {
            Ended::Done | Ended::Refused => AttemptEnd::Answered,
            Ended::Failed => AttemptEnd::Failed,
            Ended::Released => AttemptEnd::Released,
        }
    }
}

impl Worker {
    /// Runs until `shutdown` turns true. A row in hand is finished if it can be
    /// within the shutdown grace, otherwise released for another worker.
    pub(crate) async fn run(self, shutdown: watch::Receiver<bool>) {
        tracing::info!("reservation worker started");
        let s = &self.settings;
        let breaker = Breaker::new(
            s.breaker_failures,
            Duration::from_millis(s.breaker_cooldown_ms),
        );
        let (settings, wake) = (outbox::Settings::from(s), self.wake.clone());
        let jobs = Reservations {
            worker: self,
            breaker,
        };
        outbox::run(jobs, settings, wake, shutdown).await;
        tracing::info!("reservation worker stopped");
    }

    /// One attempt at one row, run to its end.
    #[cfg(test)]
    pub(crate) async fn process(self, claim: Claim) -> AttemptEnd {
        let settings = outbox::Settings::from(&self.settings);
        let breaker = Breaker::new(0, Duration::ZERO);
        let jobs = Reservations {
            worker: self,
            breaker,
        };
        outbox::process(&jobs, &settings, &claim).await.into()
    }
}

/// The ledger's rows as leased jobs: the worker, and the breaker that keeps it
/// from claiming while OZmap is down.
struct Reservations {
    worker: Worker,
    breaker: Breaker,
}

impl Jobs for Reservations {
    type Job = Claim;
    type Done = ReservationOutcome;
    type Error = StoreError;

    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<Claim>, StoreError> {
        self.worker.store.claim_due(now, lease_ms).await
    }

    fn attempts(claim: &Claim) -> i64 {
        claim.reservation.attempts
    }

    /// A span carrying the row's id and attempt, so every line about it (the
    /// procedure's too) says which row it is.
    fn span(&self, claim: &Claim) -> tracing::Span {
        tracing::info_span!(
            "reservation",
            id = claim.reservation.id,
            attempt = claim.reservation.attempts + 1
        )
    }

    /// The reservation procedure (the loop puts it under the attempt deadline).
    async fn attempt(&self, claim: &Claim) -> Result<ReservationOutcome, Failure> {
        let w = &self.worker;
        match reserve(&w.ozmap, &w.reserve, &claim.reservation.request).await {
            Ok(outcome) => {
                tracing::info!(outcome = outcome_name(&outcome), "reservation finished");
                Ok(outcome)
            }
            Err(ReserveError::Permanent(msg)) => Err(Failure::Refused(msg)),
            Err(ReserveError::Transient(msg)) => Err(Failure::Retry(msg)),
        }
    }

    /// Writes the result to the ledger, fenced by the claim; a final outcome
    /// with the SMS that tells the caller, in one transaction.
    async fn settle(
        &self,
        claim: &Claim,
        how: Settle<ReservationOutcome>,
    ) -> Result<bool, StoreError> {
        let w = &self.worker;
        let request = &claim.reservation.request;
        // A chat gets its outcome in the chat (the WhatsApp pusher), not by SMS.
        let outbox = w
            .outbox
            .as_ref()
            .filter(|_| !claim.reservation.made_in_chat());
        let message = match &how {
            Settle::Done(outcome) => outbox.and_then(|o| o.outcome(request, outcome)),
            Settle::DeadLetter { .. } => outbox.and_then(|o| o.failure(request)),
            Settle::RetryLater { .. } | Settle::Released { .. } => None,
        };
        let queued = message.as_ref().map(|m| m.kind);
        let now = now_ms();
        match &how {
            Settle::Done(_) => w.health.succeeded(now),
            Settle::RetryLater { error, .. } | Settle::DeadLetter { error } => {
                w.health.failed(error, now)
            }
            Settle::Released { .. } => {}
        }
        let recorded = w.store.settle_reservation(claim, how, message, now).await;
        if let (Ok(true), Some(outbox), Some(kind)) = (&recorded, outbox, queued) {
            tracing::info!(kind, "SMS with the outcome queued");
            outbox.wake();
        }
        recorded
    }

    /// An open breaker claims nothing until its cool-down is over.
    fn ready(&mut self) -> Result<(), Duration> {
        let was_open = matches!(self.breaker.state(), BreakerState::Open { .. });
        self.breaker.allow(Instant::now())?;
        if was_open {
            tracing::info!("OZmap circuit breaker half-open: one trial attempt");
            self.worker.health.breaker(self.breaker.state());
        }
        Ok(())
    }

    fn ended(&mut self, end: Ended, took: Duration) {
        let h = &self.worker.health;
        match AttemptEnd::from(end) {
            AttemptEnd::Answered => {
                h.attempt(took);
                if self.breaker.state() != BreakerState::Closed {
                    tracing::info!("OZmap circuit breaker closed");
                }
                self.breaker.on_success();
            }
            AttemptEnd::Failed => {
                h.attempt(took);
                if self.breaker.on_failure(Instant::now()) {
                    tracing::warn!(
                        cooldown_ms = self.worker.settings.breaker_cooldown_ms,
                        "OZmap circuit breaker open: no reservation is tried during the cool-down"
                    );
                }
            }
            AttemptEnd::Released => {}
        }
        h.breaker(self.breaker.state());
    }

    /// Released rows wait a first backoff: the dropped `POST` may still be
    /// landing in OZmap (the next attempt adopts it).
    fn release_after_backoff(&self) -> bool {
        true
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
