//! The WhatsApp channel's durable state, beside the calls'.
//!
//! A conversation is a row of `calls` keyed `wa:<wa_id>`, so it shares the
//! calls' retention and their `seq` fencing. Each inbound message moves it in
//! one transaction ([`Store::write_chat`]) that also records the message id
//! (`whatsapp_inbound`: a notification delivered twice moves it once), the
//! replies it causes (`whatsapp_outbox`) and, when the client confirmed, the
//! ledger row, so a crash keeps all of them or none.
//!
//! The outbox is claimed like the SMS outbox (a lease fenced by a token), with
//! one rule more: a client's messages go out in order, so a row is due only when
//! no older row of the same client is still waiting.

use super::Settle;
use super::calls::upsert_reservation;
use super::messages::MessageStatus;
use super::{Store, StoreError};
use ivr_core::domain::ReservationRequest;
use ivr_core::flow::Call;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Connection, Row};

/// One move of a conversation, with what it writes.
pub(crate) struct ChatWrite {
    /// The conversation's key in `calls` (`wa:<wa_id>`).
    pub key: String,
    /// The client's WhatsApp id, the replies' recipient.
    pub wa_id: String,
    /// `None`: the conversation is new (or starts over with a new row).
    pub expected_seq: Option<i64>,
    pub call: Call,
    /// The inbound message this move answers; `None` for a pushed outcome.
    pub message_id: Option<String>,
    pub reserve: Option<ReservationRequest>,
    /// Graph API request bodies, in the order they are sent.
    pub replies: Vec<String>,
}

/// What came of a [`ChatWrite`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChatWritten {
    Moved,
    /// Another move came first: load and try again.
    Conflict,
    /// The message was already taken in: nothing changed.
    Duplicate,
}

/// A claimed outbox row.
#[derive(Clone, Debug)]
pub(crate) struct ChatClaim {
    pub id: i64,
    pub wa_id: String,
    pub payload: String,
    pub attempts: i64,
    pub token: String,
}

/// One row of the WhatsApp outbox, for operators.
#[derive(Clone)]
pub struct ChatReply {
    pub id: i64,
    /// The client's WhatsApp id (a phone number: masked wherever it is shown).
    pub wa_id: String,
    /// The Graph API request body (the text may hold an address or a name).
    pub payload: String,
    pub status: MessageStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for ChatReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChatReply({}, {:?})", self.id, self.status)
    }
}

const REPLY_COLUMNS: &str = "id, wa_id, payload, status, attempts, next_attempt_at, last_error, \
     provider_id, created_at, updated_at";

const DUE: &str = "((o.status = 'pending' AND o.next_attempt_at <= $3) \
     OR (o.status = 'sending' AND o.claimed_until <= $3)) \
     AND NOT EXISTS (SELECT 1 FROM whatsapp_outbox e WHERE e.wa_id = o.wa_id AND e.id < o.id \
     AND e.status IN ('pending', 'sending'))";

impl Store {
    /// Whether an inbound message id was already taken in.
    pub(crate) async fn chat_message_seen(&self, message_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM whatsapp_inbound WHERE message_id = $1")
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Moves a conversation and writes what goes with it (see the module docs).
    pub(crate) async fn write_chat(
        &self,
        w: ChatWrite,
        now: i64,
    ) -> Result<ChatWritten, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let state = serde_json::to_string(&w.call).map_err(corrupt)?;
        let reserve = w
            .reserve
            .as_ref()
            .map(|r| {
                serde_json::to_string(r)
                    .map(|text| (r.client_code.as_str().to_string(), text, r.protocol.clone()))
            })
            .transpose()
            .map_err(corrupt)?;
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                if let Some(id) = &w.message_id {
                    let r = sqlx::query(
                        "INSERT INTO whatsapp_inbound (message_id, created_at) VALUES ($1, $2) \
                         ON CONFLICT (message_id) DO NOTHING",
                    )
                    .bind(id.clone())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(ChatWritten::Duplicate);
                    }
                    // Its inbox row is processed with this move, or not at all.
                    sqlx::query(
                        "UPDATE whatsapp_inbox SET status = 'done', content = NULL, \
                         claimed_until = 0, claim_token = NULL, updated_at = $1 \
                         WHERE message_id = $2 AND status = 'pending'",
                    )
                    .bind(now)
                    .bind(id.clone())
                    .execute(&mut *tx)
                    .await?;
                }
                let moved = match w.expected_seq {
                    None => sqlx::query(
                        "INSERT INTO calls (call_sid, state, seq, last_reply, created_at, updated_at) \
                         VALUES ($1, $2, 1, NULL, $3, $3) ON CONFLICT (call_sid) DO NOTHING",
                    )
                    .bind(w.key.clone())
                    .bind(state)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?,
                    Some(seq) => sqlx::query(
                        "UPDATE calls SET state = $1, seq = seq + 1, updated_at = $2 \
                         WHERE call_sid = $3 AND seq = $4",
                    )
                    .bind(state)
                    .bind(now)
                    .bind(w.key.clone())
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?,
                };
                if moved.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(ChatWritten::Conflict);
                }
                if let Some((code, request, protocol)) = reserve {
                    upsert_reservation(&mut tx, code, w.key.clone(), request, protocol, now)
                        .await?;
                }
                for payload in w.replies {
                    sqlx::query(
                        "INSERT INTO whatsapp_outbox (wa_id, payload, status, attempts, \
                         next_attempt_at, claimed_until, created_at, updated_at) \
                         VALUES ($1, $2, 'pending', 0, $3, 0, $3, $3)",
                    )
                    .bind(w.wa_id.clone())
                    .bind(payload)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(ChatWritten::Moved)
            })
        }))
        .await
    }

    /// The conversations waiting on the ledger (their step is `reserving`).
    pub(crate) async fn chats_reserving(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT call_sid FROM calls WHERE call_sid LIKE 'wa:%' \
             AND state LIKE '%\"step\":\"reserving\"%'",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("call_sid")?))
            .collect()
    }

    /// Claims the oldest due reply for `lease_ms`.
    pub(crate) async fn claim_chat_reply(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<ChatClaim>, StoreError> {
        let claimed = self
            .claim_row(now, lease_ms, |lock| {
                format!(
                    "UPDATE whatsapp_outbox SET status = 'sending', claimed_until = $1, \
                     claim_token = $2, updated_at = $3 WHERE id = (SELECT o.id FROM \
                     whatsapp_outbox o WHERE {DUE} ORDER BY o.id LIMIT 1{lock}) \
                     RETURNING id, wa_id, payload, attempts"
                )
            })
            .await?;
        claimed
            .map(|(r, token)| {
                Ok(ChatClaim {
                    id: r.try_get("id")?,
                    wa_id: r.try_get("wa_id")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                    token,
                })
            })
            .transpose()
    }

    /// Settles a claimed reply, fenced by its claim (the one place the
    /// WhatsApp outbox's [`Settle`] becomes SQL; the columns as for an SMS).
    /// `false` when the claim was lost: nothing changes.
    pub(crate) async fn settle_chat_reply(
        &self,
        claim: &ChatClaim,
        how: Settle<Option<String>>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.settle_outbox_row("whatsapp_outbox", claim.id, &claim.token, how, now)
            .await
    }

    fn chat_reply_from(r: &AnyRow) -> Result<ChatReply, StoreError> {
        let status: String = r.try_get("status")?;
        Ok(ChatReply {
            id: r.try_get("id")?,
            wa_id: r.try_get("wa_id")?,
            payload: r.try_get("payload")?,
            status: MessageStatus::parse(&status)?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            provider_id: r.try_get("provider_id")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }

    /// One reply of the outbox.
    pub async fn chat_reply(&self, id: i64) -> Result<Option<ChatReply>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REPLY_COLUMNS} FROM whatsapp_outbox WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::chat_reply_from).transpose()
    }

    /// The newest replies, optionally of one status.
    pub async fn list_chat_replies(
        &self,
        status: Option<MessageStatus>,
        limit: i64,
    ) -> Result<Vec<ChatReply>, StoreError> {
        let rows = match status {
            Some(s) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {REPLY_COLUMNS} FROM whatsapp_outbox WHERE status = $1 \
                     ORDER BY id DESC LIMIT $2"
                )))
                .bind(s.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {REPLY_COLUMNS} FROM whatsapp_outbox ORDER BY id DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(Self::chat_reply_from).collect()
    }

    /// An operator sends a dead reply back to the sender. It goes out in its
    /// place among the client's replies: later ones still waiting wait for it.
    pub async fn requeue_chat_reply(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE whatsapp_outbox SET status = 'pending', next_attempt_at = $1, \
                     claimed_until = 0, claim_token = NULL, updated_at = $1 \
                     WHERE id = $2 AND status = 'dead'",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Replies by status, for operators and tests: `(status, count)`.
    pub async fn chat_reply_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM whatsapp_outbox GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }

    /// Forgets what retention allows: message ids, kept messages and sent
    /// replies older than `before` (a reply holds what the client was told).
    pub async fn purge_chat(&self, before: i64) -> Result<u64, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let a = sqlx::query("DELETE FROM whatsapp_inbound WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *c)
                    .await?;
                let b = sqlx::query(
                    "DELETE FROM whatsapp_outbox WHERE status = 'sent' AND updated_at < $1",
                )
                .bind(before)
                .execute(&mut *c)
                .await?;
                // Kept messages past retention, whatever became of them (the
                // content of a processed one is gone already).
                let i = sqlx::query("DELETE FROM whatsapp_inbox WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *c)
                    .await?;
                Ok(a.rows_affected() + b.rows_affected() + i.rows_affected())
            })
        }))
        .await
    }
}
