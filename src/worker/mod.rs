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
//!
//! Exactly once whatever OZmap's speed: each property POST is written on the
//! row before it is sent (`reserve::PostLog`); while one is uncertain (its
//! answer never came) the row is looked up again and again ([`Failure::Wait`],
//! neither an attempt nor a breaker failure: OZmap answered) and nothing is
//! sent again until `OZMAP_COMMIT_WAIT_MS` has passed with nothing found. The
//! look-ups come closer together at first, then further apart ([`next_look`]),
//! so a property OZmap commits a little after the timeout is adopted while the
//! caller still holds. A row that finished after an uncertain POST, or whose
//! box's name could not be read, is looked at once more later
//! (`reserve::recheck`): a copy OZmap committed late is deleted, the name is
//! read and stored with the outcome.

mod breaker;
mod health;
mod life;

pub(crate) use life::ChatNotice;

pub(crate) use breaker::{Breaker, BreakerState};
pub(crate) use health::{HealthView, OzmapHealth};

use crate::outbox::{self, Ended, Failure, Jobs, Settle};
use crate::reserve::{
    self, Attempt, Finished, PostLog, Rechecked, ReserveError, ReserveSettings, recheck, reserve,
};
use crate::sms::Outbox;
use crate::store::{Claim, LedgerDone, LedgerStatus, LifeDone, Recheck, Store, StoreError, now_ms};
use ivr_core::domain::{ReservationOutcome, ReservedPort};
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
    /// Days after which a reservation with no visit done is released in
    /// OZmap (`IVR_RESERVATION_DAYS`; 0: never for its age).
    pub reservation_days: u32,
    /// The ISP's time zone (`IVR_TIMEZONE`, set by `config`): a visit's day
    /// ends at its midnight; empty or unknown, at Acre's (never early).
    pub timezone: String,
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
            reservation_days: 30,
            timezone: String::new(),
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
    /// How a release is told in a chat (`None`: a chat-made row is released
    /// without a message).
    pub chat: Option<ChatNotice>,
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
            Ended::Done | Ended::Refused | Ended::Waiting => AttemptEnd::Answered,
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

/// What an attempt at a row came to: a request finished, or a second look at
/// a finished one.
#[derive(Debug)]
enum Attempted {
    Finished(LedgerDone),
    Rechecked(Recheck),
    Life(LifeDone),
}

/// The worker's record of each POST, on the claimed row.
struct Posts<'a> {
    store: &'a Store,
    claim: &'a Claim,
}

impl PostLog for Posts<'_> {
    async fn sending(&self, at_ms: i64) -> Result<(), String> {
        match self.store.mark_posting(self.claim, Some(at_ms)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the claim on the row was lost".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn not_landed(&self) -> Result<(), String> {
        match self.store.mark_posting(self.claim, None).await {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// When to look the client code up again while a POST sent at `since` is
/// uncertain: a quarter of the time waited so far (at least the retry base),
/// so the look-ups are close together just after the timeout, when a slow
/// commit is likeliest, and further apart after; never later than `until`.
pub(crate) fn next_look(now: i64, since: i64, until: i64, base_ms: i64) -> i64 {
    let step = ((now - since) / 4).max(base_ms).max(1);
    (now + step).min(until.max(now + 1))
}

/// The port an outcome tells, to fill in.
fn port_mut(o: &mut ReservationOutcome) -> Option<&mut ReservedPort> {
    match o {
        ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p) => Some(p),
        ReservationOutcome::NotViable => None,
    }
}

impl Reservations {
    /// A request run to its end: reserve; a box's name missing is read once
    /// more before the SMS is written; a later look is planned when the request
    /// had an uncertain POST (a copy may still come) or the name is still
    /// missing.
    async fn finish(&self, claim: &Claim) -> Result<Attempted, Failure> {
        let w = &self.worker;
        let row = &claim.reservation;
        let posts = Posts {
            store: &w.store,
            claim,
        };
        let at = Attempt {
            uncertain_since: row.uncertain_since,
            log: &posts,
        };
        let Finished {
            mut outcome,
            removed,
        } = match reserve(&w.ozmap, &w.reserve, &row.request, &at).await {
            Ok(f) => f,
            Err(ReserveError::Permanent(msg)) => return Err(Failure::Refused(msg)),
            Err(ReserveError::Transient(msg)) => return Err(Failure::Retry(msg)),
            Err(e @ ReserveError::Unconfirmed { since, until }) => {
                let at = next_look(now_ms(), since, until, self.worker.settings.backoff_base_ms);
                return Err(Failure::Wait {
                    at,
                    note: e.to_string(),
                });
            }
        };
        let mut nameless = false;
        if let Some(p) = port_mut(&mut outcome)
            && p.box_name.is_none()
        {
            // Read again before the caller is told (a blip a moment ago).
            p.box_name = reserve::box_name(&w.ozmap, &p.box_id).await.unwrap_or(None);
            nameless = p.box_name.is_none() && !p.box_id.is_empty();
        }
        // After an uncertain POST: one commit wait from now, for a copy OZmap
        // may still commit (the name, if missing, is read then too). Else a
        // missing name is read again after a first backoff.
        let now = now_ms();
        let recheck_at = if row.uncertain_since.is_some() {
            Some(now + w.reserve.commit_wait.as_millis() as i64)
        } else {
            nameless.then(|| now + outbox::Settings::from(&w.settings).backoff_ms(0))
        };
        tracing::info!(
            outcome = outcome_name(&outcome),
            duplicates_removed = removed.len(),
            box_name_known = !nameless,
            looks_again_in_ms = recheck_at.map(|t| t - now),
            "reservation finished"
        );
        Ok(Attempted::Finished(LedgerDone {
            outcome,
            duplicates_removed: removed,
            recheck_at,
            uncertain_since: row.uncertain_since,
        }))
    }

    /// A second look at a finished row: copies of its property deleted (when it
    /// had an uncertain POST), its box's name read (when missing). Looked at
    /// again with backoff while something is left to do, up to the attempts.
    async fn second_look(&self, claim: &Claim) -> Result<Attempted, Failure> {
        let w = &self.worker;
        let row = &claim.reservation;
        let Some(mut outcome) = row.outcome.clone() else {
            return Ok(Attempted::Rechecked(Recheck::default()));
        };
        let Some(port) = port_mut(&mut outcome) else {
            return Ok(Attempted::Rechecked(Recheck::default()));
        };
        // Copies are looked for only where a POST went unanswered.
        let duplicates = row.uncertain_since.is_some();
        let Rechecked {
            removed,
            box_name,
            again,
        } = recheck(&w.ozmap, &w.reserve, &row.request, port, duplicates)
            .await
            .map_err(|e| match e {
                ReserveError::Permanent(m) => Failure::Refused(m),
                other => Failure::Retry(other.to_string()),
            })?;
        let named = box_name.is_some();
        if named {
            port.box_name = box_name;
        }
        let settings = outbox::Settings::from(&w.settings);
        let recheck_at = again
            .as_ref()
            .filter(|_| row.attempts + 1 < settings.max_attempts)
            .map(|_| now_ms() + settings.backoff_ms(row.attempts));
        tracing::info!(
            duplicates_removed = removed.len(),
            box_name_read = named,
            looks_again_in_ms = recheck_at.map(|t| t - now_ms()),
            "reservation looked at again"
        );
        Ok(Attempted::Rechecked(Recheck {
            outcome: named.then_some(outcome),
            removed,
            recheck_at,
            note: again,
        }))
    }
}

impl Jobs for Reservations {
    type Job = Claim;
    type Done = Attempted;
    type Error = StoreError;

    /// A due request first; else a finished row due for a second look; else
    /// one due for a life job (implanted, released).
    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<Claim>, StoreError> {
        let store = &self.worker.store;
        if let Some(c) = store.claim_due(now, lease_ms).await? {
            return Ok(Some(c));
        }
        if let Some(c) = store.claim_recheck(now, lease_ms).await? {
            return Ok(Some(c));
        }
        let days = self.worker.settings.reservation_days;
        store.claim_life(now, lease_ms, days).await
    }

    fn attempts(claim: &Claim) -> i64 {
        match claim.life {
            Some(_) => claim.reservation.life.attempts,
            None => claim.reservation.attempts,
        }
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

    /// The reservation procedure, or the second look at a finished row (the
    /// loop puts either under the attempt deadline).
    async fn attempt(&self, claim: &Claim) -> Result<Attempted, Failure> {
        if let Some(job) = claim.life {
            return self.life(claim, job).await;
        }
        if claim.reservation.status == LedgerStatus::Done {
            self.second_look(claim).await
        } else {
            self.finish(claim).await
        }
    }

    /// Writes the result to the ledger, fenced by the claim; a final outcome
    /// with the SMS that tells the caller, in one transaction.
    async fn settle(&self, claim: &Claim, how: Settle<Attempted>) -> Result<bool, StoreError> {
        let w = &self.worker;
        if claim.life.is_some() {
            return self.settle_life(claim, how).await;
        }
        if claim.reservation.status == LedgerStatus::Done {
            let how = match how {
                Settle::Done(Attempted::Rechecked(r)) => Settle::Done(r),
                Settle::Done(Attempted::Finished(_) | Attempted::Life(_)) => {
                    Settle::Done(Recheck::default())
                }
                Settle::RetryLater { at, error } => Settle::RetryLater { at, error },
                Settle::DeadLetter { error } => Settle::DeadLetter { error },
                Settle::Released { at, note } => Settle::Released { at, note },
            };
            return w.store.settle_recheck(claim, how, now_ms()).await;
        }
        let how = match how {
            Settle::Done(Attempted::Finished(d)) => Settle::Done(d),
            Settle::Done(Attempted::Rechecked(_) | Attempted::Life(_)) => Settle::Released {
                at: now_ms(),
                note: "a second look at a row not finished".into(),
            },
            Settle::RetryLater { at, error } => Settle::RetryLater { at, error },
            Settle::DeadLetter { error } => Settle::DeadLetter { error },
            Settle::Released { at, note } => Settle::Released { at, note },
        };
        let request = &claim.reservation.request;
        // A chat gets its outcome in the chat (the WhatsApp pusher), not by SMS.
        let outbox = w
            .outbox
            .as_ref()
            .filter(|_| !claim.reservation.made_in_chat());
        let message = match &how {
            Settle::Done(done) => outbox.and_then(|o| o.outcome(request, &done.outcome)),
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
#[cfg(test)]
mod uncertain_tests;
