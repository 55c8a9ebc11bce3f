//! The WhatsApp inbox: every message of a signed notification, kept before the
//! notification is answered `200`, and taken in later by the processor
//! (`whatsapp::inbox`).
//!
//! - Kept once: the message id is unique, so a notification Meta delivers again
//!   is kept again as nothing ([`Store::keep_chat_messages`]). All messages of
//!   one notification are kept in one transaction.
//! - Taken in once: the row is marked `done` (and its content cleared) by
//!   [`Store::write_chat`], in the transaction that moves the conversation and
//!   records the message id in `whatsapp_inbound`; that id's primary key is the
//!   fence, so two processors that both take the same message in move the
//!   conversation once (the second write is a `Duplicate`).
//! - In order per client: a row is due only when no older row of the same
//!   `wa_id` is still `pending` (waiting, claimed, or waiting to be tried again).
//! - Claimed with a lease (a token, as the outboxes are), extended while the
//!   message is being taken in, so that two processors seldom do the same
//!   work; the lease is for economy, not for correctness.
//! - The content is personal data: cleared when the row is `done` or `dead`;
//!   the rest of the row (ids, times) is purged with the calls' retention.

use super::{Backend, Settle, Store, StoreError};
use sqlx::{AssertSqlSafe, Connection, Row};

/// One message to keep.
#[derive(Clone, Debug)]
pub(crate) struct KeptMessage {
    pub message_id: String,
    pub wa_id: String,
    /// The message as parsed (JSON), to be taken in later.
    pub content: String,
}

/// A claimed inbox row.
#[derive(Clone, Debug)]
pub(crate) struct InboxClaim {
    pub id: i64,
    pub message_id: String,
    pub wa_id: String,
    /// `None` only if the row was cleared under the claim (never when pending).
    pub content: Option<String>,
    pub attempts: i64,
    pub token: String,
}

const DUE: &str = "i.status = 'pending' AND i.next_attempt_at <= $3 AND i.claimed_until <= $3 \
     AND NOT EXISTS (SELECT 1 FROM whatsapp_inbox e WHERE e.wa_id = i.wa_id AND e.id < i.id \
     AND e.status = 'pending')";

impl Store {
    /// Keeps the messages of one notification, in one transaction; the number
    /// that were new (a message id already kept changes nothing).
    pub(crate) async fn keep_chat_messages(
        &self,
        messages: Vec<KeptMessage>,
        now: i64,
    ) -> Result<u64, StoreError> {
        if messages.is_empty() {
            return Ok(0);
        }
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let mut new = 0;
                for m in messages {
                    let r = sqlx::query(
                        "INSERT INTO whatsapp_inbox (message_id, wa_id, content, status, attempts, \
                         next_attempt_at, claimed_until, created_at, updated_at) \
                         VALUES ($1, $2, $3, 'pending', 0, $4, 0, $4, $4) \
                         ON CONFLICT (message_id) DO NOTHING",
                    )
                    .bind(m.message_id)
                    .bind(m.wa_id)
                    .bind(m.content)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    new += r.rows_affected();
                }
                tx.commit().await?;
                Ok(new)
            })
        }))
        .await
    }

    /// Claims the oldest due message for `lease_ms` (see the module docs).
    pub(crate) async fn claim_chat_message(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<InboxClaim>, StoreError> {
        let claimed = self
            .claim_row(now, lease_ms, |lock| {
                format!(
                    "UPDATE whatsapp_inbox SET claimed_until = $1, claim_token = $2, updated_at = $3 \
                     WHERE id = (SELECT i.id FROM whatsapp_inbox i WHERE {DUE} \
                     ORDER BY i.id LIMIT 1{lock}) AND status = 'pending' AND claimed_until <= $3 \
                     RETURNING id, message_id, wa_id, content, attempts"
                )
            })
            .await?;
        claimed
            .map(|(r, token)| {
                Ok(InboxClaim {
                    id: r.try_get("id")?,
                    message_id: r.try_get("message_id")?,
                    wa_id: r.try_get("wa_id")?,
                    content: r.try_get("content")?,
                    attempts: r.try_get("attempts")?,
                    token,
                })
            })
            .transpose()
    }

    /// Settles a claimed message: the one place the inbox's [`Settle`] becomes
    /// SQL. Done: processed (its content cleared; the conversation's move
    /// already marked it, in its own transaction); retried later or released,
    /// due again `at` (a release does not count an attempt); a dead letter:
    /// given up, its content cleared. All but done are fenced by the claim's
    /// token; `false` when it was lost.
    pub(crate) async fn settle_chat_message(
        &self,
        claim: &InboxClaim,
        how: Settle<()>,
        now: i64,
    ) -> Result<bool, StoreError> {
        match how {
            Settle::Done(()) => self.finish_chat_message(claim, now).await,
            Settle::RetryLater { at, .. } => {
                self.retry_chat_message(claim, at, false, true, now).await
            }
            Settle::DeadLetter { .. } => self.retry_chat_message(claim, now, true, true, now).await,
            Settle::Released { at, .. } => {
                self.retry_chat_message(claim, at, false, false, now).await
            }
        }
    }

    /// The message was taken in (or found taken in already, or given up after
    /// the conversation kept moving under it): `done`, its content cleared.
    /// Whoever holds the claim now, that is true; `false` when the row was
    /// `done` already (the usual case: [`Store::write_chat`] marked it).
    async fn finish_chat_message(&self, claim: &InboxClaim, now: i64) -> Result<bool, StoreError> {
        let id = claim.id;
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE whatsapp_inbox SET status = 'done', content = NULL, claimed_until = 0, \
                     claim_token = NULL, updated_at = $1 WHERE id = $2 AND status = 'pending'",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Extends a claim's lease to `until` while the message is being taken in;
    /// `false` when the claim was lost (the lease ran out and another took it).
    pub(crate) async fn extend_chat_claim(
        &self,
        claim: &InboxClaim,
        until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, token) = (claim.id, claim.token.clone());
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE whatsapp_inbox SET claimed_until = $1, updated_at = $2 \
                     WHERE id = $3 AND claim_token = $4 AND status = 'pending'",
                )
                .bind(until)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Taking the message in failed: tried again at `next_at`, or, `dead`, given
    /// up (content cleared). `false` when the claim was lost.
    async fn retry_chat_message(
        &self,
        claim: &InboxClaim,
        next_at: i64,
        dead: bool,
        counted: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, token) = (claim.id, claim.token.clone());
        let (status, clear) = if dead {
            ("dead", ", content = NULL")
        } else {
            ("pending", "")
        };
        let attempts = if counted { "attempts + 1" } else { "attempts" };
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE whatsapp_inbox SET status = $1, attempts = {attempts}, \
                     next_attempt_at = $2, claimed_until = 0, claim_token = NULL, \
                     updated_at = $3{clear} \
                     WHERE id = $4 AND claim_token = $5 AND status = 'pending'"
                )))
                .bind(status)
                .bind(next_at)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// At start-up on SQLite (one process per file): the claims of the process
    /// that ran before are released, so a message it held when it died is taken
    /// in at once rather than when its lease ends. On PostgreSQL another
    /// instance may hold them: they run out instead. The number released.
    pub(crate) async fn release_chat_claims(&self, now: i64) -> Result<u64, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE whatsapp_inbox SET claimed_until = 0, claim_token = NULL, \
                     updated_at = $1 WHERE status = 'pending' AND claimed_until > 0",
                )
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(r.rows_affected())
            })
        }))
        .await
    }

    /// The inbox by status, for operators and tests: `(status, count, with
    /// content)`; a row that is not `pending` never holds content.
    pub async fn chat_inbox_counts(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n, COUNT(content) AS c FROM whatsapp_inbox \
             GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?, r.try_get("c")?)))
            .collect()
    }
}

#[cfg(test)]
#[path = "inbox_tests.rs"]
mod tests;
