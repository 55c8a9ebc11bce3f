//! What is kept when: a message is written to the inbox (`whatsapp_inbox`)
//! before its notification is answered `200` ([`keep`]), and taken in later by
//! the processor ([`spawn`]), which calls `conversation::take_in` for it.
//!
//! The processor is [`WORKERS`] tasks that each claim the oldest due message
//! (see `store::inbox`: a client's messages one at a time, in the order they
//! arrived), take it in, and mark it processed. They look for work:
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
//! with a growing pause, and after [`MAX_ATTEMPTS`] given up (`dead`, logged),
//! so one message cannot hold its client's later ones back for ever.

use super::Channel;
use super::conversation::take_in;
use super::notification::{Content, Inbound};
use crate::store::{InboxClaim, KeptMessage, Store, StoreError, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// Processing tasks per instance (different clients at the same time).
const WORKERS: usize = 4;
/// How long a claim keeps other processors off a message: extended every
/// [`RENEW`] while the message is being taken in, so it runs out soon after
/// its processor dies (then another instance, or the same one restarted,
/// takes the message over).
const LEASE_MS: i64 = 6_000;
const RENEW: Duration = Duration::from_secs(2);
/// How often the inbox is looked at without a wake.
const POLL: Duration = Duration::from_secs(2);
/// Failed attempts at one message before it is given up.
const MAX_ATTEMPTS: i64 = 10;
/// Longest pause between two attempts at one message.
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

/// Starts the processing tasks; they end at shutdown.
pub(crate) fn spawn(
    ch: Arc<Channel>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let released = Arc::new(tokio::sync::OnceCell::new());
    (0..WORKERS)
        .map(|_| {
            let (ch, stop, released) = (ch.clone(), shutdown.clone(), released.clone());
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
                work(ch, stop).await
            })
        })
        .collect()
}

async fn work(ch: Arc<Channel>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        // Listening before looking: a wake while this looks is not missed.
        let woken = ch.wake_inbox.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match process_one(&ch).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "WhatsApp: cannot read the inbox"),
        }
        tokio::select! {
            _ = &mut woken => {}
            _ = tokio::time::sleep(POLL) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    // Nobody can ask for a shutdown any more.
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Claims and takes in one message; `false` when none was due.
async fn process_one(ch: &Channel) -> Result<bool, StoreError> {
    let Some(claim) = ch
        .engine
        .store
        .claim_chat_message(now_ms(), LEASE_MS)
        .await?
    else {
        return Ok(false);
    };
    let span = tracing::info_span!(
        "chat",
        client = %crate::redact::phone(&format!("+{}", claim.wa_id)),
        kind = tracing::field::Empty
    );
    process(ch, claim).instrument(span).await?;
    Ok(true)
}

async fn process(ch: &Channel, claim: InboxClaim) -> Result<(), StoreError> {
    let content = claim
        .content
        .as_deref()
        .map(serde_json::from_str::<Content>);
    let Some(Ok(content)) = content else {
        // Not readable: nothing to take in (kept by a version that wrote
        // something else); given up rather than blocking the client's next.
        tracing::error!("WhatsApp: a kept message cannot be read; given up");
        ch.engine
            .store
            .retry_chat_message(&claim, now_ms(), true, now_ms())
            .await?;
        return Ok(());
    };
    let msg = Inbound {
        id: claim.message_id.clone(),
        wa_id: claim.wa_id.clone(),
        content,
    };
    tracing::Span::current().record("kind", tracing::field::debug(&msg));
    let taken = tokio::select! {
        taken = take_in(ch, msg) => taken,
        never = keep_claimed(ch, &claim) => match never {},
    };
    match taken {
        Ok(()) => {
            ch.engine
                .store
                .finish_chat_message(&claim, now_ms())
                .await?;
        }
        Err(e) => {
            let attempts = claim.attempts + 1;
            let dead = attempts >= MAX_ATTEMPTS;
            let pause = (1000_i64 << attempts.min(16)).min(MAX_PAUSE_MS);
            if dead {
                tracing::error!(error = %e, attempts, "WhatsApp: the message could not be taken in; given up");
            } else {
                tracing::warn!(error = %e, attempts, "WhatsApp: taking the message in failed; trying again");
            }
            let now = now_ms();
            ch.engine
                .store
                .retry_chat_message(&claim, now + pause, dead, now)
                .await?;
        }
    }
    Ok(())
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
