//! What is kept when: a message is written to the inbox (`whatsapp_inbox`)
//! before its notification is answered `200` ([`keep`]), and taken in later by
//! the processor ([`spawn`]), which calls `conversation::take_in` for it.
//!
//! The processor is [`WORKERS`] runners of the one claim loop of leased jobs
//! (`outbox::run`, as the worker and the senders run theirs) that each claim
//! the oldest due message (see `store::inbox`: a client's messages one at a
//! time, in the order they arrived), take it in, and settle it. They look for
//! work:
//!
//! - when woken, after each notification that kept a message;
//! - at start-up, so a message kept before a crash is taken in after the
//!   restart (on SQLite, the dead process's claims are released first);
//! - every [`POLL`], in case a wake was missed or the message was kept by
//!   another instance.
//!
//! Why a message is processed once, also with two instances on one PostgreSQL:
//! the move of the conversation, the record of the message id in
//! `whatsapp_inbound` (its primary key) and the inbox row's `done` are one
//! transaction (`Store::write_chat`). Whoever commits first moves the
//! conversation and writes the replies; a second processor of the same message
//! (the lease, extended while the first is at work, ran out because its
//! process died or stalled) finds the id taken and writes nothing (`ChatWritten::Duplicate`), or
//! sees the message as taken in before it starts (`chat_message_seen`). The
//! lease only keeps two processors from doing the same look-ups; it is not what
//! makes the effect happen once. Order holds across instances because a
//! client's next message is due only once the one before is no longer pending,
//! and a claimed one is pending until it is done.
//!
//! A message that cannot be taken in (the store fails under it) is tried again
//! with the loop's backoff, and after [`MAX_ATTEMPTS`] given up (`dead`,
//! logged), so one message cannot hold its client's later ones back for ever.
//! At shutdown the message in hand gets the senders' grace, then is released
//! (due again at once; the attempt not counted).
//!
//! The claim is short ([`LEASE_MS`]) and renewed while the message is being
//! taken in, so that a processor that died lets go of it soon; how long one
//! attempt may run is the loop's deadline, from [`ATTEMPT_LEASE_MS`] (a chat
//! waits for the directory and the geocoder, each bounded by its own timeout).

use super::Channel;
use super::conversation::take_in;
use super::notification::{Content, Inbound};
use crate::outbox::{self, Failure, Jobs, Settle};
use crate::store::{InboxClaim, KeptMessage, Store, StoreError, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Processing runners per instance (different clients at the same time).
const WORKERS: usize = 4;
/// How long a claim keeps other processors off a message: extended every
/// [`RENEW`] while the message is being taken in, so it runs out soon after
/// its processor dies (then another instance, or the same one restarted,
/// takes the message over).
const LEASE_MS: i64 = 6_000;
const RENEW: Duration = Duration::from_secs(2);
/// The loop's lease for one attempt: the attempt's deadline is well inside it.
const ATTEMPT_LEASE_MS: i64 = 60_000;
/// How often the inbox is looked at without a wake.
const POLL_MS: u64 = 2_000;
/// Attempts at one message before it is given up.
const MAX_ATTEMPTS: i64 = 10;
/// First and longest pause between two attempts at one message.
const FIRST_PAUSE_MS: i64 = 2_000;
const MAX_PAUSE_MS: i64 = 60_000;

/// Keeps the messages of one notification (one transaction); the number new.
pub(crate) async fn keep(store: &Store, messages: &[Inbound]) -> Result<u64, StoreError> {
    let kept = messages
        .iter()
        .map(|m| {
            Ok(KeptMessage {
                message_id: m.id.clone(),
                wa_id: m.wa_id.clone(),
                content: serde_json::to_string(&m.content)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    store.keep_chat_messages(kept, now_ms()).await
}

/// Starts the processing runners (after releasing, on SQLite, the claims of a
/// process that died); they end at shutdown, each giving the message in hand
/// `shutdown_grace_ms`.
pub(crate) fn spawn(
    ch: Arc<Channel>,
    shutdown_grace_ms: u64,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let settings = outbox::Settings {
        lease_ms: ATTEMPT_LEASE_MS,
        max_attempts: MAX_ATTEMPTS,
        backoff_base_ms: FIRST_PAUSE_MS,
        backoff_max_ms: MAX_PAUSE_MS,
        idle_poll_ms: POLL_MS,
        shutdown_grace_ms,
    };
    let released = Arc::new(tokio::sync::OnceCell::new());
    (0..WORKERS)
        .map(|_| {
            let (ch, stop, released) = (ch.clone(), shutdown.clone(), released.clone());
            let settings = settings.clone();
            tokio::spawn(async move {
                released
                    .get_or_init(|| async {
                        match ch.engine.store.release_chat_claims(now_ms()).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(
                                messages = n,
                                "WhatsApp: messages claimed before the restart released"
                            ),
                            Err(e) => {
                                tracing::warn!(error = %e, "WhatsApp: cannot release old claims")
                            }
                        }
                    })
                    .await;
                let wake = ch.wake_inbox.clone();
                outbox::run(Inbox { ch }, settings, wake, stop).await
            })
        })
        .collect()
}

/// The inbox as leased jobs.
struct Inbox {
    ch: Arc<Channel>,
}

impl Jobs for Inbox {
    type Job = InboxClaim;
    type Done = ();
    type Error = StoreError;

    /// The inbox's own short lease, renewed while at work (see the module docs).
    async fn claim(
        &self,
        now: i64,
        _attempt_lease_ms: i64,
    ) -> Result<Option<InboxClaim>, StoreError> {
        self.ch.engine.store.claim_chat_message(now, LEASE_MS).await
    }

    fn attempts(job: &InboxClaim) -> i64 {
        job.attempts
    }

    fn span(&self, claim: &InboxClaim) -> tracing::Span {
        tracing::info_span!(
            "chat",
            client = %crate::redact::phone(&format!("+{}", claim.wa_id)),
            attempt = claim.attempts + 1,
            kind = tracing::field::Empty
        )
    }

    async fn attempt(&self, claim: &InboxClaim) -> Result<(), Failure> {
        let content = claim
            .content
            .as_deref()
            .map(serde_json::from_str::<Content>);
        let Some(Ok(content)) = content else {
            // Not readable (kept by a version that wrote something else): given
            // up rather than blocking the client's next message.
            return Err(Failure::Refused(
                "a kept message cannot be read".to_string(),
            ));
        };
        let msg = Inbound {
            id: claim.message_id.clone(),
            wa_id: claim.wa_id.clone(),
            content,
        };
        tracing::Span::current().record("kind", tracing::field::debug(&msg));
        let taken = tokio::select! {
            taken = take_in(&self.ch, msg) => taken,
            never = keep_claimed(&self.ch, claim) => match never {},
        };
        taken.map_err(|e| Failure::Retry(format!("{e:#}")))
    }

    async fn settle(&self, claim: &InboxClaim, how: Settle<()>) -> Result<bool, StoreError> {
        self.ch
            .engine
            .store
            .settle_chat_message(claim, how, now_ms())
            .await
    }
}

/// Extends the claim's lease every [`RENEW`]; never ends (dropped when the
/// message is taken in). A lost claim is not an error: the transaction that
/// moves the conversation is the fence.
async fn keep_claimed(ch: &Channel, claim: &InboxClaim) -> std::convert::Infallible {
    loop {
        tokio::time::sleep(RENEW).await;
        let now = now_ms();
        match ch
            .engine
            .store
            .extend_chat_claim(claim, now + LEASE_MS, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::debug!("WhatsApp: the claim is gone (taken in, or taken over)"),
            Err(e) => tracing::warn!(error = %e, "WhatsApp: cannot extend the claim"),
        }
    }
}
