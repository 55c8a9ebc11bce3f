//! The visit in writing: the outcome SMS of a reservation is written held
//! (`NewMessage::hold_ms`, `SCHEDULE_SMS_HOLD_S`) with a sentence saying how
//! to book a visit; the caller's booking rewrites that sentence into the
//! visit's day and period and makes the message due at once, in the
//! transaction that books the visit ([`super::Store::book_visit`]). A message
//! already on its way (sending, sent) gets one more message, `visit_booked`.
//! The end of the visit step without a booking (a skip, no free period)
//! makes the held message due at once, unchanged.

use super::{Store, StoreError};
use sqlx::AnyConnection;

/// The outcome message kinds a visit rewrites.
const OUTCOME_KINDS: &str = "('reserved', 'existing')";

/// What a booked visit does to the reservation's messages.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VisitMessage {
    /// The sentence of the held outcome message that says how to book.
    pub how: String,
    /// What it becomes: the visit's day and period.
    pub visit: String,
    /// The separate message when the outcome's has already gone.
    pub separate: String,
}

impl std::fmt::Debug for VisitMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitMessage")
    }
}

/// Rewrites the held outcome message of `reservation_id` with the visit and
/// makes it due at `now`; when it has already gone, writes `visit_booked`
/// (once per reservation) to the same number.
pub(super) async fn write_visit_message(
    c: &mut AnyConnection,
    reservation_id: i64,
    m: &VisitMessage,
    now: i64,
) -> Result<(), StoreError> {
    let rewritten = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE messages SET body = REPLACE(body, $2, $3), next_attempt_at = $4, \
         updated_at = $4 WHERE reservation_id = $1 AND kind IN {OUTCOME_KINDS} \
         AND status = 'pending'"
    )))
    .bind(reservation_id)
    .bind(m.how.clone())
    .bind(m.visit.clone())
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if rewritten > 0 {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO messages (reservation_id, kind, phone, body, status, attempts, \
         next_attempt_at, claimed_until, created_at, updated_at) \
         SELECT reservation_id, 'visit_booked', phone, $2, 'pending', 0, $3, 0, $3, $3 \
         FROM messages WHERE reservation_id = $1 AND kind IN {OUTCOME_KINDS} \
         AND status IN ('sending', 'sent') ORDER BY id LIMIT 1 \
         ON CONFLICT (reservation_id, kind) DO NOTHING"
    )))
    .bind(reservation_id)
    .bind(m.separate.clone())
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store {
    /// The visit step ended without a booking in it: the held outcome
    /// message of `reservation_id` is due at `now` as written (saying how to
    /// book), or with `visit` in place of `how` (a visit booked earlier).
    pub(crate) async fn release_visit_message(
        &self,
        reservation_id: i64,
        replace: Option<(String, String)>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (how, visit) = match replace {
            Some((how, visit)) => (how, visit),
            // REPLACE of a text by itself: the body unchanged.
            None => (" ".to_string(), " ".to_string()),
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET body = REPLACE(body, $2, $3), next_attempt_at = $4, \
             updated_at = $4 WHERE reservation_id = $1 AND kind IN {OUTCOME_KINDS} \
             AND status = 'pending' AND next_attempt_at > $4"
        )))
        .bind(reservation_id)
        .bind(how)
        .bind(visit)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
