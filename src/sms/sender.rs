//! The SMS sender: the outbox's rows as leased jobs ([`crate::outbox`]): each
//! claimed message is sent with the provider and settled, fenced by the
//! claim's token (a sender whose lease ran out cannot overwrite the one that
//! took the message over).
//!
//! It keeps the worker's rhythm ([`SenderSettings`], built from the worker's
//! settings at start): the same lease, backoff with jitter, attempts before a
//! dead letter, idle poll and shutdown grace. On shutdown the request in hand
//! gets the grace (dropping it could leave a message the provider accepted
//! marked unsent, to be sent again); past it, it is dropped and the message
//! released.

use super::{Provider, SendError};
use crate::outbox::{self, Failure, Jobs, Settle};
use crate::redact;
use crate::store::{MessageClaim, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// The senders' rhythm: the one of every leased job.
pub(crate) use crate::outbox::Settings as SenderSettings;

pub(crate) struct Sender {
    pub store: Store,
    pub provider: Provider,
    pub settings: SenderSettings,
    /// Nudged by the worker when it has written a message.
    pub wake: Arc<Notify>,
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Retry(e) => Failure::Retry(e),
            SendError::Refused(e) => Failure::Refused(e),
        }
    }
}

impl Sender {
    /// Runs until `shutdown` turns true.
    pub(crate) async fn run(self, shutdown: watch::Receiver<bool>) {
        tracing::info!(provider = self.provider.name(), "SMS sender started");
        let (settings, wake) = (self.settings.clone(), self.wake.clone());
        outbox::run(self, settings, wake, shutdown).await;
        tracing::info!("SMS sender stopped");
    }

    /// One message, sent and recorded (tests).
    #[cfg(test)]
    pub(crate) async fn deliver(&self, claim: MessageClaim) {
        outbox::process(self, &self.settings, &claim).await;
    }
}

impl Jobs for Sender {
    type Job = MessageClaim;
    type Done = Option<String>;
    type Error = StoreError;

    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<MessageClaim>, StoreError> {
        self.store.claim_message(now, lease_ms).await
    }

    fn attempts(job: &MessageClaim) -> i64 {
        job.message.attempts
    }

    fn span(&self, claim: &MessageClaim) -> tracing::Span {
        tracing::info_span!(
            "sms",
            id = claim.message.id,
            reservation = claim.message.reservation_id,
            kind = %claim.message.kind,
            attempt = claim.message.attempts + 1
        )
    }

    async fn attempt(&self, claim: &MessageClaim) -> Result<Option<String>, Failure> {
        let m = &claim.message;
        Ok(self.provider.send(&m.phone, &m.body).await?)
    }

    async fn settle(
        &self,
        claim: &MessageClaim,
        how: Settle<Option<String>>,
    ) -> Result<bool, StoreError> {
        let to = redact::phone(&claim.message.phone);
        if let Settle::Done(id) = &how {
            let provider_id = id.as_deref().unwrap_or("-");
            tracing::info!(to = %to, provider_id, "SMS sent");
        }
        self.store
            .settle_message(claim, how, crate::store::now_ms())
            .await
    }

    fn release_note(&self) -> &'static str {
        "interrupted by shutdown (the provider may have it)"
    }
}
