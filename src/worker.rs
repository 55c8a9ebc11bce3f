//! The reservation worker: the only code that changes anything in OZmap.
//!
//! It claims due rows of the ledger (see [`crate::store`]), runs the reservation
//! procedure ([`crate::ozmap::reserve`]) under a deadline shorter than the claim's
//! lease, and records the outcome. A transient failure puts the row back with
//! exponential backoff and jitter; a permanent one (OZmap refused the token) or too
//! many attempts make it a dead letter for an operator. Because every attempt
//! starts by looking the client code up in OZmap, a `POST /properties` that landed
//! before a crash or a timeout is adopted, never repeated.
//!
//! Any number of workers, in one process or many, can run against one store: the
//! claim is exclusive and fenced by a token, so a worker whose lease ran out cannot
//! overwrite the result of the one that took the row over.

use crate::ozmap::OzmapClient;
use crate::ozmap::reserve::{ReserveError, ReserveSettings, reserve};
use crate::store::{Claim, Store, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// How long a claim holds a row.
    pub lease_ms: i64,
    /// Attempts before a row becomes a dead letter.
    pub max_attempts: i64,
    /// First retry delay; doubles each attempt.
    pub backoff_base_ms: i64,
    /// Longest retry delay.
    pub backoff_max_ms: i64,
    /// How often the ledger is looked at when nothing wakes the worker.
    pub idle_poll_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            lease_ms: 60_000,
            max_attempts: 12,
            backoff_base_ms: 2_000,
            backoff_max_ms: 300_000,
            idle_poll_ms: 500,
        }
    }
}

pub struct Worker {
    pub store: Store,
    pub ozmap: OzmapClient,
    pub reserve: ReserveSettings,
    pub settings: WorkerSettings,
    pub wake: Arc<Notify>,
}

/// The delay before attempt `attempts + 1`, with ±20 % jitter.
pub fn backoff_ms(s: &WorkerSettings, attempts: i64) -> i64 {
    let exp = s
        .backoff_base_ms
        .saturating_mul(1i64 << attempts.clamp(0, 20));
    let capped = exp.min(s.backoff_max_ms);
    let jitter = (capped / 5).max(1);
    capped - jitter + (rand::random::<u64>() % (2 * jitter as u64 + 1)) as i64
}

impl Worker {
    /// Runs until `shutdown` turns true; a row in hand is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("reservation worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.store.claim_due(now_ms(), self.settings.lease_ms).await {
                Ok(Some(claim)) => self.process(claim).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(self.settings.idle_poll_ms)) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "worker: cannot read the ledger");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tracing::info!("reservation worker stopped");
    }

    /// One attempt at one row.
    pub async fn process(&self, claim: Claim) {
        let id = claim.reservation.id;
        let attempt = claim.reservation.attempts + 1;
        let deadline = Duration::from_millis((self.settings.lease_ms - 5_000).max(1_000) as u64);
        let result = match tokio::time::timeout(
            deadline,
            reserve(&self.ozmap, &self.reserve, &claim.reservation.request),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ReserveError::Transient(
                "the attempt ran past its deadline".into(),
            )),
        };
        let now = now_ms();
        let recorded = match result {
            Ok(outcome) => {
                tracing::info!(
                    reservation = id,
                    attempt,
                    outcome = outcome_name(&outcome),
                    "reservation finished"
                );
                self.store.finish_claim(&claim, &outcome, now).await
            }
            Err(ReserveError::Permanent(msg)) => {
                tracing::error!(reservation = id, attempt, error = %msg, "reservation failed for good (dead letter)");
                self.store.bury_claim(&claim, &msg, now).await
            }
            Err(ReserveError::Transient(msg)) if attempt >= self.settings.max_attempts => {
                tracing::error!(reservation = id, attempt, error = %msg, "reservation out of attempts (dead letter)");
                self.store
                    .bury_claim(&claim, &format!("{msg} (after {attempt} attempts)"), now)
                    .await
            }
            Err(ReserveError::Transient(msg)) => {
                let delay = backoff_ms(&self.settings, attempt - 1);
                tracing::warn!(reservation = id, attempt, retry_in_ms = delay, error = %msg, "reservation will be retried");
                self.store.retry_claim(&claim, &msg, now + delay, now).await
            }
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                reservation = id,
                "claim lost before the result was recorded; the row's new holder decides"
            ),
            Err(e) => {
                tracing::error!(reservation = id, error = %e, "could not record the result; the row will be claimed again after its lease")
            }
        }
    }
}

fn outcome_name(o: &crate::domain::ReservationOutcome) -> &'static str {
    match o {
        crate::domain::ReservationOutcome::Reserved(_) => "reserved",
        crate::domain::ReservationOutcome::Existing(_) => "existing",
        crate::domain::ReservationOutcome::NotViable => "not_viable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let s = WorkerSettings::default();
        for attempts in 0..30 {
            let d = backoff_ms(&s, attempts);
            let nominal = (2_000i64 << attempts.min(20)).min(300_000);
            assert!(
                d >= nominal - nominal / 5 && d <= nominal + nominal / 5,
                "{attempts}: {d}"
            );
        }
        assert!(backoff_ms(&s, 0) <= 2_400);
        assert!(backoff_ms(&s, 29) <= 360_000);
    }
}
