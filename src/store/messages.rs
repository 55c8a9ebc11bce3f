//! The SMS outbox: one row per outcome of a ledger row (`UNIQUE (reservation_id,
//! kind)`), written by [`insert_message`] inside the transaction that records the
//! outcome (see `settle_reservation`), so a crash can never keep the
//! outcome without its message. The SMS sender claims due rows the way the worker
//! claims ledger rows: a lease and a token, SQLite's claiming `UPDATE` running
//! alone, PostgreSQL skipping rows another transaction has locked.
//!
//! A row goes `pending` → `sending` (claimed) → `sent`, back to `pending` with a
//! backoff, or `dead` (the provider refused it; an operator looks). A `sending`
//! row whose lease ran out (its sender crashed) is claimed again.

use super::Settle;
use super::{Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    /// Waiting for the sender (new, or to be retried at `next_attempt_at`).
    Pending,
    /// Claimed by a sender, which is talking to the provider.
    Sending,
    /// The provider accepted it (`provider_id` is its id).
    Sent,
    /// Given up; an operator must look (`last_error` says why).
    Dead,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Dead => "dead",
        }
    }

    pub const ALL: [MessageStatus; 4] = [
        MessageStatus::Pending,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Dead,
    ];

    pub(super) fn parse(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown message status {s:?}")))
    }
}

/// A message to write with an outcome: its kind (one per outcome), the number
/// (already checked to be a mobile) and the text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NewMessage {
    pub kind: &'static str,
    pub phone: String,
    pub body: String,
    /// Held this long after it is written before it is due (the outcome of a
    /// reservation waiting for the caller's choice of a visit,
    /// `SCHEDULE_SMS_HOLD_S`); 0: due at once.
    pub hold_ms: i64,
}

impl std::fmt::Debug for NewMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewMessage({})", self.kind)
    }
}

/// One row of the outbox.
#[derive(Clone)]
pub struct Message {
    pub id: i64,
    pub reservation_id: i64,
    /// The ledger row's protocol number (in lists and look-ups; not on a claim).
    pub protocol: Option<String>,
    pub kind: String,
    pub phone: String,
    pub body: String,
    pub status: MessageStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Message({}, {}, {:?})", self.id, self.kind, self.status)
    }
}

/// A claimed message: only the holder of `token` may record how sending went.
#[derive(Clone, Debug)]
pub(crate) struct MessageClaim {
    pub message: Message,
    pub token: String,
}

const MESSAGE_COLUMNS: &str = "id, reservation_id, kind, phone, body, status, attempts, \
     next_attempt_at, last_error, provider_id, created_at, updated_at";

/// The columns with the ledger row's protocol, for `FROM messages m LEFT JOIN
/// reservations r ON r.id = m.reservation_id`.
const JOINED_COLUMNS: &str = "m.id, m.reservation_id, m.kind, m.phone, m.body, m.status, \
     m.attempts, m.next_attempt_at, m.last_error, m.provider_id, m.created_at, m.updated_at, \
     r.protocol";

/// Due: pending and its time has come, or claimed by a sender whose lease ran out.
const DUE: &str = "((status = 'pending' AND next_attempt_at <= $3) \
     OR (status = 'sending' AND claimed_until <= $3))";

/// Writes `msg` for ledger row `reservation_id` on `c` (inside the caller's
/// transaction). One row per outcome: when the row exists with the same number
/// and text, nothing changes; when a new request on the same ledger row (a new
/// call, so a new protocol, or another number) comes to the same outcome, the row
/// is sent again with the new text.
pub(super) async fn insert_message(
    c: &mut AnyConnection,
    reservation_id: i64,
    msg: &NewMessage,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (reservation_id, kind, phone, body, status, attempts, \
         next_attempt_at, claimed_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $6, 0, $5, $5) \
         ON CONFLICT (reservation_id, kind) DO UPDATE SET phone = excluded.phone, \
         body = excluded.body, status = 'pending', attempts = 0, \
         next_attempt_at = excluded.next_attempt_at, claimed_until = 0, claim_token = NULL, \
         last_error = NULL, provider_id = NULL, updated_at = excluded.updated_at \
         WHERE messages.body <> excluded.body OR messages.phone <> excluded.phone",
    )
    .bind(reservation_id)
    .bind(msg.kind)
    .bind(msg.phone.clone())
    .bind(msg.body.clone())
    .bind(now)
    .bind(now.saturating_add(msg.hold_ms.max(0)))
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store {
    fn message_from(r: &AnyRow) -> Result<Message, StoreError> {
        let status: String = r.try_get("status")?;
        Ok(Message {
            id: r.try_get("id")?,
            reservation_id: r.try_get("reservation_id")?,
            // Only the joined queries select it.
            protocol: r.try_get("protocol").ok().flatten(),
            kind: r.try_get("kind")?,
            phone: r.try_get("phone")?,
            body: r.try_get("body")?,
            status: MessageStatus::parse(&status)?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            provider_id: r.try_get("provider_id")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }

    /// One message with its protocol.
    pub async fn message(&self, id: i64) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOINED_COLUMNS} FROM messages m \
             LEFT JOIN reservations r ON r.id = m.reservation_id WHERE m.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::message_from).transpose()
    }

    /// The newest messages, optionally of one status, with their protocol.
    pub async fn list_messages(
        &self,
        status: Option<MessageStatus>,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let from = "FROM messages m LEFT JOIN reservations r ON r.id = m.reservation_id";
        let rows =
            match status {
                Some(s) => sqlx::query(AssertSqlSafe(format!(
                    "SELECT {JOINED_COLUMNS} {from} WHERE m.status = $1 ORDER BY m.id DESC LIMIT $2"
                )))
                .bind(s.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
                None => {
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT {JOINED_COLUMNS} {from} ORDER BY m.id DESC LIMIT $1"
                    )))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
        rows.iter().map(Self::message_from).collect()
    }

    /// Claims the oldest due message for `lease_ms` (see [`Store::claim_due`]).
    pub(crate) async fn claim_message(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<MessageClaim>, StoreError> {
        let claimed = self
            .claim_row(now, lease_ms, |lock| {
                format!(
                    "UPDATE messages SET status = 'sending', claimed_until = $1, claim_token = $2, \
                     updated_at = $3 WHERE id = (SELECT id FROM messages WHERE {DUE} \
                     ORDER BY next_attempt_at, id LIMIT 1{lock}) AND {DUE} \
                     RETURNING {MESSAGE_COLUMNS}"
                )
            })
            .await?;
        claimed
            .map(|(row, token)| {
                Self::message_from(&row).map(|message| MessageClaim { message, token })
            })
            .transpose()
    }

    /// Settles a claimed message, fenced by its claim (the one place the SMS
    /// outbox's [`Settle`] becomes SQL): sent (with the provider's id for it),
    /// back to `pending` for a retry (counted) or a release (not counted), or
    /// dead. `false` when the claim was lost: nothing changes.
    pub(crate) async fn settle_message(
        &self,
        claim: &MessageClaim,
        how: Settle<Option<String>>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.settle_outbox_row("messages", claim.message.id, &claim.token, how, now)
            .await
    }

    /// The one UPDATE that settles a claimed row of an outbox table
    /// (`messages` or `whatsapp_outbox`: the same columns), fenced by its
    /// claim's token.
    pub(super) async fn settle_outbox_row(
        &self,
        table: &'static str,
        id: i64,
        token: &str,
        how: Settle<Option<String>>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let token = token.to_string();
        let (status, provider_id, error, at, counted) = settle_columns(how, now);
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE {table} SET status = $1, provider_id = COALESCE($2, provider_id), \
                     last_error = $3, next_attempt_at = $4, attempts = attempts + {counted}, \
                     claimed_until = 0, claim_token = NULL, updated_at = $5 \
                     WHERE id = $6 AND claim_token = $7 AND status = 'sending'"
                )))
                .bind(status)
                .bind(provider_id)
                .bind(error)
                .bind(at)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// An operator sends a dead message back to the sender.
    pub async fn requeue_message(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE messages SET status = 'pending', next_attempt_at = $1, claimed_until = 0, \
                     claim_token = NULL, updated_at = $1 WHERE id = $2 AND status = 'dead'",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// How many messages are in each status, for metrics (every status listed).
    pub async fn message_counts(&self) -> Result<Vec<(MessageStatus, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(MessageStatus, i64)> =
            MessageStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for r in &rows {
            let status = MessageStatus::parse(&r.try_get::<String, _>("status")?)?;
            let n: i64 = r.try_get("n")?;
            if let Some(c) = counts.iter_mut().find(|(s, _)| *s == status) {
                c.1 = n;
            }
        }
        Ok(counts)
    }

    /// Deletes sent messages not touched since `before` (they hold the caller's
    /// number); dead ones stay for an operator.
    pub async fn purge_sent_messages(&self, before: i64) -> Result<u64, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let r =
                    sqlx::query("DELETE FROM messages WHERE status = 'sent' AND updated_at < $1")
                        .bind(before)
                        .execute(&mut *c)
                        .await?;
                Ok(r.rows_affected())
            })
        }))
        .await
    }
}

/// The columns an outbox row (SMS or WhatsApp) gets for a [`Settle`]: its
/// status, the provider's id, the last error, when it is due again (for a sent
/// or dead row: when it was settled) and whether the attempt counts (`1`/`0`).
fn settle_columns(
    how: Settle<Option<String>>,
    now: i64,
) -> (&'static str, Option<String>, Option<String>, i64, u8) {
    match how {
        Settle::Done(id) => ("sent", id, None, now, 1),
        Settle::RetryLater { at, error } => ("pending", None, Some(error), at, 1),
        Settle::DeadLetter { error } => ("dead", None, Some(error), now, 1),
        Settle::Released { at, note } => ("pending", None, Some(note), at, 0),
    }
}
