//! The SMS sender: claims due messages of the outbox, sends each with the
//! provider, and records how it went, fenced by the claim's token (a sender whose
//! lease ran out cannot overwrite the one that took the message over).
//!
//! It keeps the worker's rhythm ([`SenderSettings`], built from the worker's
//! settings at start): the same lease, backoff with jitter, attempts before a
//! dead letter, idle poll and shutdown grace. On
//! shutdown the request in hand gets the grace (dropping it could leave a
//! message the provider accepted marked unsent, to be sent again); past it, it
//! is dropped and the message released.

use super::{Provider, SendError};
use crate::redact;
use crate::store::{MessageClaim, Store, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tracing::Instrument;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SenderSettings {
    /// How long a claim holds a message; a crashed sender's is taken over after it.
    pub lease_ms: i64,
    /// Attempts before a message becomes a dead letter.
    pub max_attempts: i64,
    /// First retry delay; doubles each attempt.
    pub backoff_base_ms: i64,
    /// Longest retry delay.
    pub backoff_max_ms: i64,
    /// How often the outbox is looked at when nothing wakes the sender.
    pub idle_poll_ms: u64,
    /// On shutdown, how long the request in hand may go on.
    pub shutdown_grace_ms: u64,
}

impl SenderSettings {
    /// How long one request may run: well inside the lease.
    fn attempt_deadline(&self) -> Duration {
        let margin = (self.lease_ms / 4).min(5_000);
        Duration::from_millis((self.lease_ms - margin).max(500) as u64)
    }

    /// The delay before attempt `attempts + 1`, with ±20 % jitter.
    pub(crate) fn backoff_ms(&self, attempts: i64) -> i64 {
        let exp = self
            .backoff_base_ms
            .saturating_mul(1i64 << attempts.clamp(0, 20));
        let capped = exp.min(self.backoff_max_ms);
        let jitter = (capped / 5).max(1);
        capped - jitter + (rand::random::<u64>() % (2 * jitter as u64 + 1)) as i64
    }
}

pub(crate) struct Sender {
    pub store: Store,
    pub provider: Provider,
    pub settings: SenderSettings,
    /// Nudged by the worker when it has written a message.
    pub wake: Arc<Notify>,
}

/// Resolves once shutdown is asked for (never, if nobody can ask any more).
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Sender {
    /// Runs until `shutdown` turns true.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(provider = self.provider.name(), "SMS sender started");
        let s = &self.settings;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.store.claim_message(now_ms(), s.lease_ms).await {
                Ok(Some(claim)) => {
                    let span = tracing::info_span!(
                        "sms",
                        id = claim.message.id,
                        reservation = claim.message.reservation_id,
                        kind = %claim.message.kind,
                        attempt = claim.message.attempts + 1
                    );
                    self.deliver_until(claim, &mut shutdown)
                        .instrument(span)
                        .await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(s.idle_poll_ms)) => {}
                        _ = shutdown_requested(&mut shutdown) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "SMS sender: cannot read the outbox");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown_requested(&mut shutdown) => {}
                    }
                }
            }
        }
        tracing::info!("SMS sender stopped");
    }

    /// One message, sent and recorded (tests).
    #[cfg(test)]
    pub(crate) async fn deliver(&self, claim: MessageClaim) {
        let result = self.attempt(&claim).await;
        self.record(&claim, result).await;
    }

    async fn deliver_until(&self, claim: MessageClaim, shutdown: &mut watch::Receiver<bool>) {
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
                let note = "interrupted by shutdown (the provider may have it)";
                match self.store.release_message(&claim, note, now, now).await {
                    Ok(_) => tracing::warn!("shutdown: SMS request interrupted; released"),
                    Err(e) => tracing::error!(
                        error = %e,
                        "shutdown: could not release the SMS; it is taken over after its lease"
                    ),
                }
            }
        }
    }

    /// The provider's request, under the attempt deadline (inside the lease).
    async fn attempt(&self, claim: &MessageClaim) -> Result<Option<String>, SendError> {
        let m = &claim.message;
        match tokio::time::timeout(
            self.settings.attempt_deadline(),
            self.provider.send(&m.phone, &m.body),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(SendError::Retry("the request ran past its deadline".into())),
        }
    }

    async fn record(&self, claim: &MessageClaim, result: Result<Option<String>, SendError>) {
        let attempt = claim.message.attempts + 1;
        let to = redact::phone(&claim.message.phone);
        let now = now_ms();
        let recorded = match result {
            Ok(id) => {
                tracing::info!(
                    to = %to,
                    provider_id = id.as_deref().unwrap_or("-"),
                    "SMS sent"
                );
                self.store.message_sent(claim, id.as_deref(), now).await
            }
            Err(SendError::Refused(e)) => {
                tracing::error!(to = %to, error = %e, "SMS refused by the provider (dead letter)");
                self.store.bury_message(claim, &e, now).await
            }
            Err(SendError::Retry(e)) if attempt >= self.settings.max_attempts => {
                tracing::error!(to = %to, error = %e, "SMS out of attempts (dead letter)");
                self.store
                    .bury_message(claim, &format!("{e} (after {attempt} attempts)"), now)
                    .await
            }
            Err(SendError::Retry(e)) => {
                let delay = self.settings.backoff_ms(attempt - 1);
                tracing::warn!(to = %to, retry_in_ms = delay, error = %e, "SMS will be retried");
                self.store.retry_message(claim, &e, now + delay, now).await
            }
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "SMS claim lost before the result was recorded; the message's new holder decides"
            ),
            Err(e) => tracing::error!(
                error = %e,
                "could not record the SMS result; it is claimed again after its lease"
            ),
        }
    }
}
