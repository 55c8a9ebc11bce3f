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

#[cfg(test)]
mod tests {
    use super::super::tests::{all_dbs, request};
    use super::super::{MessageStatus, NewMessage, NewVisit, Settle};
    use super::*;
    use ivr_core::agenda::Slot;
    use ivr_core::domain::ReservationOutcome;
    use ivr_core::flow::Call;

    /// A reservation `code` settled at 1 300 with its outcome message held
    /// for a minute; its ledger id.
    async fn held(s: &Store, sid: &str, code: &str) -> i64 {
        let call = Call::new(None);
        s.create_call(sid, &call, "x", 1).await.unwrap();
        s.advance_call(sid, 1, &call, "y", Some(&request(code)), 100)
            .await
            .unwrap();
        let c = s.claim_due(100, 1_000).await.unwrap().unwrap();
        let m = NewMessage {
            kind: "reserved",
            phone: "+5548999990000".into(),
            body: "P: porta 3. HOW".into(),
            hold_ms: 60_000,
        };
        let done = Settle::Done(ReservationOutcome::NotViable);
        assert!(
            s.settle_reservation(&c, done, Some(m), 1_300)
                .await
                .unwrap()
        );
        c.reservation.id
    }

    fn texts() -> VisitMessage {
        VisitMessage {
            how: "HOW".into(),
            visit: "VISIT".into(),
            separate: "SEPARATE".into(),
        }
    }

    #[tokio::test]
    async fn the_booking_rewrites_the_held_message_or_sends_one_more_once() {
        for db in all_dbs().await {
            let s = &db.store;
            let id = held(s, "CA1", "42").await;
            assert!(
                s.claim_message(2_000, 1_000).await.unwrap().is_none(),
                "held"
            );
            let visit = NewVisit {
                protocol: "P1".into(),
                reservation_id: Some(id),
                client_code: "42".into(),
                slot: Slot::parse("2026-12-10/morning").unwrap(),
                capacity: 2,
                to_erp: false,
                message: Some(texts()),
            };
            s.book_visit(visit, 3_000).await.unwrap();
            let claim = s
                .claim_message(3_000, 1_000)
                .await
                .unwrap()
                .expect("due now");
            assert_eq!(claim.message.body, "P: porta 3. VISIT");
            assert!(
                s.settle_message(&claim, Settle::Done(Some("SM1".into())), 3_100)
                    .await
                    .unwrap()
            );
            // Already sent: one more message, once.
            for _ in 0..2 {
                let mut c = s.pool.acquire().await.unwrap();
                write_visit_message(&mut c, id, &texts(), 4_000)
                    .await
                    .unwrap();
            }
            let all = s.list_messages(None, 10).await.unwrap();
            let kinds: Vec<_> = all.iter().map(|m| (m.kind.as_str(), m.status)).collect();
            assert_eq!(all.len(), 2, "{kinds:?} {:?}", s.backend());
            let extra = all.iter().find(|m| m.kind == "visit_booked").unwrap();
            assert_eq!(
                (extra.body.as_str(), extra.phone.as_str(), extra.status),
                ("SEPARATE", "+5548999990000", MessageStatus::Pending)
            );
        }
    }

    #[tokio::test]
    async fn the_end_of_the_visit_step_releases_the_held_message() {
        for db in all_dbs().await {
            let s = &db.store;
            let id = held(s, "CA1", "42").await;
            s.release_visit_message(id, None, 2_000).await.unwrap();
            let claim = s
                .claim_message(2_000, 1_000)
                .await
                .unwrap()
                .expect("due now");
            assert_eq!(claim.message.body, "P: porta 3. HOW");
            let other = held(s, "CA2", "43").await;
            s.release_visit_message(other, Some(("HOW".into(), "VISIT".into())), 2_500)
                .await
                .unwrap();
            let claim = s
                .claim_message(2_500, 1_000)
                .await
                .unwrap()
                .expect("due now");
            assert_eq!(claim.message.body, "P: porta 3. VISIT");
        }
    }
}
