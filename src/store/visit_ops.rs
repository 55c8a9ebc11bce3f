//! An operator's change to a visit (moved, cancelled) and the message that
//! tells the client, written in one transaction: a crash keeps both or
//! neither, and the message is written exactly once per change.
//!
//! The message goes where the reservation was made: an SMS (the `messages`
//! outbox, to the request's mobile number) for a call, a WhatsApp reply (the
//! `whatsapp_outbox`) for a chat. The SMS outbox is unique per
//! `(reservation_id, kind)`: each change has its own kind,
//! `visit_moved:<ms>:<slot>` or `visit_cancelled:<ms>:<slot>` (the visit's
//! `updated_at` after the change and its period), so two moves are two
//! messages, even within one millisecond, and a change retried is still one.

use super::visits::{Moved, Visit, VisitStatus, end_on, move_on};
use super::{RESERVATION_COLUMNS, Reservation, Store, StoreError};
use ivr_core::agenda::Slot;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

/// A message telling the client of a change.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// An SMS to `phone` (already checked to be a mobile number).
    Sms { phone: String, body: String },
    /// A WhatsApp reply to `wa_id`: the Graph API request body.
    Chat { wa_id: String, payload: String },
}

/// Never prints the number or the text.
impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Sms { .. } => write!(f, "Notice(sms)"),
            Notice::Chat { .. } => write!(f, "Notice(whatsapp)"),
        }
    }
}

/// What changes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum VisitChange {
    /// To another period (its place taken against `capacity`, see
    /// [`Store::move_visit`]).
    Move {
        to: Slot,
        capacity: Option<u32>,
    },
    Cancel,
}

impl VisitChange {
    fn kind(&self) -> &'static str {
        match self {
            VisitChange::Move { .. } => "visit_moved",
            VisitChange::Cancel => "visit_cancelled",
        }
    }
}

/// The words of the message, from the changed visit and its ledger row (the
/// protocol, the number, where it was made); `None`: nobody to tell.
pub(crate) type Tell = Box<dyn FnOnce(&Visit, &Reservation) -> Option<Notice> + Send>;

/// What came of a change.
#[derive(Clone, Debug)]
pub(crate) enum VisitChanged {
    /// Changed; `told`: a message was written with it.
    Done { visit: Visit, told: bool },
    /// The new period has no room: nothing changed.
    Full,
    /// No booked visit with that protocol.
    NotFound,
    /// Moved to the period it was in: nothing changed, nobody told.
    Unchanged(Visit),
}

async fn reservation_on(c: &mut AnyConnection, id: i64) -> Result<Option<Reservation>, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(Store::reservation_from).transpose()
}

/// Writes `notice` for ledger row `reservation_id` (kind `kind`) on `c`.
async fn write_notice(
    c: &mut AnyConnection,
    reservation_id: i64,
    kind: String,
    notice: Notice,
    now: i64,
) -> Result<(), StoreError> {
    match notice {
        Notice::Sms { phone, body } => {
            sqlx::query(
                "INSERT INTO messages (reservation_id, kind, phone, body, status, attempts, \
                 next_attempt_at, claimed_until, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5, $5) \
                 ON CONFLICT (reservation_id, kind) DO NOTHING",
            )
            .bind(reservation_id)
            .bind(kind)
            .bind(phone)
            .bind(body)
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
        Notice::Chat { wa_id, payload } => {
            sqlx::query(
                "INSERT INTO whatsapp_outbox (wa_id, payload, status, attempts, \
                 next_attempt_at, claimed_until, created_at, updated_at) \
                 VALUES ($1, $2, 'pending', 0, $3, 0, $3, $3)",
            )
            .bind(wa_id)
            .bind(payload)
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Moves or cancels the booked visit of `protocol` and writes the message
    /// `tell` makes for it, in one transaction (see the module docs).
    pub(crate) async fn change_visit(
        &self,
        protocol: &str,
        change: VisitChange,
        now: i64,
        tell: Tell,
    ) -> Result<VisitChanged, StoreError> {
        let protocol = protocol.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let before = super::visits::by_protocol(&mut tx, &protocol).await?;
                let changed = match change {
                    VisitChange::Move { to, capacity } => {
                        match move_on(&mut tx, &protocol, to, capacity, now).await? {
                            Moved::To(v) if before.as_ref().is_some_and(|b| b.slot == v.slot) => {
                                tx.rollback().await?;
                                return Ok(VisitChanged::Unchanged(v));
                            }
                            Moved::To(v) => Some(v),
                            Moved::Full => {
                                tx.rollback().await?;
                                return Ok(VisitChanged::Full);
                            }
                            Moved::NotFound => None,
                        }
                    }
                    VisitChange::Cancel => {
                        end_on(&mut tx, &protocol, VisitStatus::Cancelled, now).await?
                    }
                };
                let Some(visit) = changed else {
                    tx.rollback().await?;
                    return Ok(VisitChanged::NotFound);
                };
                let mut told = false;
                if let Some(id) = visit.reservation_id
                    && let Some(r) = reservation_on(&mut tx, id).await?
                    && let Some(notice) = tell(&visit, &r)
                {
                    let kind = format!("{}:{}:{}", change.kind(), visit.updated_at, visit.slot);
                    write_notice(&mut tx, id, kind, notice, now).await?;
                    told = true;
                }
                tx.commit().await?;
                Ok(VisitChanged::Done { visit, told })
            })
        }))
        .await
    }
}

impl Store {
    /// Finished ledger rows that reserved a port (or found one reserved) and
    /// have no visit booked or done: the team must call them. Newest first,
    /// erased rows left out.
    pub(crate) async fn reserved_without_visit(
        &self,
        limit: i64,
    ) -> Result<Vec<Reservation>, StoreError> {
        let columns = RESERVATION_COLUMNS
            .split(", ")
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {columns} FROM reservations r WHERE r.status = 'done' \
             AND r.erased_at IS NULL AND r.released_at IS NULL AND r.installed_at IS NULL \
             AND r.outcome NOT LIKE '%\"not_viable\"%' AND NOT EXISTS (SELECT 1 FROM visits v \
             WHERE (v.reservation_id = r.id OR v.protocol = r.protocol) \
             AND v.status IN ('booked', 'done')) ORDER BY r.id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let all = rows
            .iter()
            .map(Store::reservation_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(all
            .into_iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    Some(
                        ivr_core::domain::ReservationOutcome::Reserved(_)
                            | ivr_core::domain::ReservationOutcome::Existing(_)
                    )
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all_dbs, request};
    use super::*;
    use crate::store::{Booking, NewVisit};
    use ivr_core::flow::Call;

    fn visit(protocol: &str, reservation_id: i64, at: &str, capacity: u32) -> NewVisit {
        NewVisit {
            message: None,
            protocol: protocol.into(),
            reservation_id: Some(reservation_id),
            client_code: "42".into(),
            slot: Slot::parse(at).unwrap(),
            capacity,
            to_erp: false,
        }
    }

    /// Says where the visit went, to the request's number or its chat.
    fn tell() -> Tell {
        Box::new(|v: &Visit, r: &Reservation| {
            Some(
                match r.call_sid.strip_prefix(super::super::CHAT_KEY_PREFIX) {
                    Some(wa_id) => Notice::Chat {
                        wa_id: wa_id.into(),
                        payload: format!("{{\"to\":\"{wa_id}\",\"at\":\"{}\"}}", v.slot),
                    },
                    None => Notice::Sms {
                        phone: r.request.phone.clone()?,
                        body: format!("{} {}", v.protocol, v.slot),
                    },
                },
            )
        })
    }

    /// A ledger row made by call (or chat) `sid`.
    async fn ledger_row(s: &Store, sid: &str, code: &str) -> i64 {
        let call = Call::new(None);
        s.create_call(sid, &call, "x", 1).await.unwrap();
        s.advance_call(sid, 1, &call, "y", Some(&request(code)), 2)
            .await
            .unwrap();
        let code = ivr_core::domain::ClientCode::parse(code).unwrap();
        s.reservation_by_code(&code).await.unwrap().unwrap().id
    }

    fn moved(to: &str) -> VisitChange {
        VisitChange::Move {
            to: Slot::parse(to).unwrap(),
            capacity: None,
        }
    }

    #[tokio::test]
    async fn each_change_writes_its_own_message_with_it_and_a_refused_one_writes_none() {
        for db in all_dbs().await {
            let s = &db.store;
            let by_call = ledger_row(s, "CA1", "42").await;
            let by_chat = ledger_row(s, "wa:5548999991111", "43").await;
            let (a, b, c) = (
                "2027-03-10/morning",
                "2027-03-10/afternoon",
                "2027-03-11/morning",
            );
            let booked = |x: Booking| matches!(x, Booking::Booked(_));
            assert!(booked(
                s.book_visit(visit("P1", by_call, a, 2), 3).await.unwrap()
            ));
            assert!(booked(
                s.book_visit(visit("P2", by_chat, b, 1), 3).await.unwrap()
            ));

            // Two moves, two messages (the second one's kind its own).
            let r = s.change_visit("P1", moved(c), 10, tell()).await.unwrap();
            assert!(matches!(r, VisitChanged::Done { told: true, .. }), "{r:?}");
            // In the same millisecond too.
            let r = s.change_visit("P1", moved(a), 10, tell()).await.unwrap();
            assert!(matches!(r, VisitChanged::Done { told: true, .. }), "{r:?}");
            let r = s.change_visit("P1", moved(a), 12, tell()).await.unwrap();
            assert!(matches!(r, VisitChanged::Unchanged(_)), "{r:?}");
            // P2 holds b's one place: refused, nothing written.
            let r = s.change_visit("P1", moved(b), 13, tell()).await.unwrap();
            assert!(matches!(r, VisitChanged::Full), "{r:?}");
            let r = s.change_visit("P9", moved(b), 13, tell()).await.unwrap();
            assert!(matches!(r, VisitChanged::NotFound), "{r:?}");
            let mut sms = s.list_messages(None, 10).await.unwrap();
            sms.reverse();
            let kinds: Vec<&str> = sms.iter().map(|m| m.kind.as_str()).collect();
            let want = [format!("visit_moved:10:{c}"), format!("visit_moved:10:{a}")];
            assert_eq!(kinds, want, "{:?}", s.backend());
            assert_eq!(sms[0].body, format!("P1 {c}"));
            assert_eq!(sms[1].body, format!("P1 {a}"));
            assert_eq!(sms[0].reservation_id, by_call);

            // A chat's client is told in the chat; a cancelled visit's place
            // goes back, and it is not cancelled twice.
            let r = s
                .change_visit("P2", VisitChange::Cancel, 20, tell())
                .await
                .unwrap();
            assert!(matches!(r, VisitChanged::Done { told: true, .. }), "{r:?}");
            let replies = s.list_chat_replies(None, 10).await.unwrap();
            assert_eq!(replies.len(), 1);
            assert_eq!(replies[0].wa_id, "5548999991111");
            assert!(replies[0].payload.contains(b), "{}", replies[0].payload);
            let r = s
                .change_visit("P2", VisitChange::Cancel, 21, tell())
                .await
                .unwrap();
            assert!(matches!(r, VisitChanged::NotFound), "{r:?}");
            let day = Slot::parse(b).unwrap().day;
            assert_eq!(s.period_use(day, day).await.unwrap()[1].booked, 0);
            assert_eq!(s.list_messages(None, 10).await.unwrap().len(), 2);

            // Nobody to tell: changed all the same, nothing written.
            let quiet: Tell = Box::new(|_: &Visit, _: &Reservation| None);
            let r = s
                .change_visit("P1", VisitChange::Cancel, 30, quiet)
                .await
                .unwrap();
            assert!(matches!(r, VisitChanged::Done { told: false, .. }), "{r:?}");
            assert_eq!(s.list_messages(None, 10).await.unwrap().len(), 2);

            // Both cancelled: both requests wait for a call.
            let waiting = s.reserved_without_visit(10).await.unwrap();
            assert_eq!(waiting.len(), 0, "their ledger rows are pending, not done");
        }
    }
}
