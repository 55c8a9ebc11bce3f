//! Leased jobs: one claim loop for every durable queue the service empties in
//! the background: the reservation ledger (the worker, against OZmap), the SMS
//! outbox and the WhatsApp outbox (the senders), and the WhatsApp inbox (the
//! kept messages the chat takes in).
//!
//! A queue is a table whose due rows are claimed with a lease fenced by a
//! token (see the store): only the holder of the token may settle the row, so
//! a runner whose lease ran out cannot overwrite the one that took the row
//! over. A kind of job says how to claim, run and settle its rows
//! ([`Jobs`]); [`run()`] does the rest, the same way for all three:
//! - it claims when woken (a [`tokio::sync::Notify`]) or every idle poll,
//!   unless the kind says "not now" ([`Jobs::ready`]: the worker's circuit
//!   breaker);
//! - one job at a time, in a span of its own, under a deadline well inside the
//!   lease ([`Settings::attempt_deadline`]);
//! - a result is settled in one vocabulary, [`Settle`]: done, retried later
//!   with exponential backoff and ±20 % jitter, a dead letter when refused or
//!   out of attempts, or released (also when the job waits for something
//!   outside, [`Failure::Wait`]);
//! - on shutdown the job in hand gets a grace; past it, it is dropped and the
//!   row released (due again at once, or after a first backoff when the kind
//!   asks: a dropped OZmap `POST` may still land), the attempt not counted.
//!
//! Each table maps [`Settle`] to SQL in one place (`Store::settle_reservation`,
//! `Store::settle_message`, `Store::settle_chat_reply`,
//! `Store::settle_chat_message`). This module knows no
//! table; its settle vocabulary is the store's (re-exported here).

mod run;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use run::process;
pub(crate) use run::{Ended, run};

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// How a claimed row is settled: the store's vocabulary, each table's SQL
/// in one place there (so the store depends on no job runner).
pub(crate) use crate::store::Settle;

/// Why a job's attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Worth retrying (a timeout, a 5xx, a lost connection).
    Retry(String),
    /// Never worth retrying (refused): a dead letter at once.
    Refused(String),
    /// Not a failure, and not done: the job waits for something outside (OZmap
    /// to confirm a property it was sent) and is due again `at`; the attempt
    /// does not count (the row is settled as [`Settle::Released`]).
    Wait { at: i64, note: String },
}

/// The rhythm of a queue's runner. The senders keep the worker's (see
/// `sender_settings` in the app).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    /// How long a claim holds a row; a crashed runner's row is taken over after it.
    pub lease_ms: i64,
    /// Attempts before a row becomes a dead letter.
    pub max_attempts: i64,
    /// First retry delay; doubles each attempt.
    pub backoff_base_ms: i64,
    /// Longest retry delay.
    pub backoff_max_ms: i64,
    /// How often the queue is looked at when nothing wakes the runner.
    pub idle_poll_ms: u64,
    /// On shutdown, how long the job in hand may go on before it is dropped
    /// and its row released.
    pub shutdown_grace_ms: u64,
}

impl Settings {
    /// How long one attempt may run: well inside the lease, so that a slow
    /// attempt is given up before another runner may take the row over.
    pub(crate) fn attempt_deadline(&self) -> Duration {
        let margin = (self.lease_ms / 4).min(5_000);
        Duration::from_millis((self.lease_ms - margin).max(500) as u64)
    }

    /// The delay before attempt `attempts + 1`, with ±20 % jitter.
    pub(crate) fn backoff_ms(&self, attempts: i64) -> i64 {
        let exp = self
            .backoff_base_ms
            .saturating_mul(1i64 << attempts.clamp(0, 20));
        let capped = exp.min(self.backoff_max_ms).max(0);
        let jitter = (capped / 5).max(1);
        capped - jitter + (rand::random::<u64>() % (2 * jitter as u64 + 1)) as i64
    }
}

/// One kind of leased job: how its rows are claimed, run and settled. The
/// runner ([`run()`]) owns it; `ready` and `ended` may keep state (a breaker).
pub(crate) trait Jobs: Send + 'static {
    /// A claimed row, with its token.
    type Job: Send + Sync;
    /// What a successful attempt came to.
    type Done: Send;
    /// The store's error.
    type Error: Display + Send;

    /// Claims the oldest due row for `lease_ms`, if any.
    fn claim(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Option<Self::Job>, Self::Error>> + Send;

    /// Attempts already made at the row (before this one).
    fn attempts(job: &Self::Job) -> i64;

    /// The span the job's lines are written in (its id and attempt; never
    /// personal data).
    fn span(&self, job: &Self::Job) -> tracing::Span;

    /// One attempt (the runner puts it under the attempt deadline).
    fn attempt(&self, job: &Self::Job) -> impl Future<Output = Result<Self::Done, Failure>> + Send;

    /// Records how the job went, fenced by its claim: `Ok(false)` when the
    /// claim was lost (nothing is written).
    fn settle(
        &self,
        job: &Self::Job,
        how: Settle<Self::Done>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// `Err(wait)`: claim nothing for `wait` (e.g. an open circuit breaker).
    fn ready(&mut self) -> Result<(), Duration> {
        Ok(())
    }

    /// Told how each claimed job ended and how long its attempt took.
    fn ended(&mut self, _end: Ended, _took: Duration) {}

    /// What a released row says (its `last_error`).
    fn release_note(&self) -> &'static str {
        "interrupted by shutdown"
    }

    /// Whether a released row waits a first backoff before it is due again
    /// (the dropped attempt may still have an effect on its way).
    fn release_after_backoff(&self) -> bool {
        false
    }
}
