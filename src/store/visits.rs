//! The technicians' agenda: one visit per request (its protocol), booked in a
//! period ([`Slot`]) whose capacity holds under concurrent callers and across
//! instances on one PostgreSQL.
//!
//! How the capacity holds: `visit_periods` keeps, per day and period, how many
//! visits are booked and the capacity the booking was made against. A booking
//! is one conditional upsert (`… DO UPDATE SET booked = booked + 1 WHERE booked
//! < capacity RETURNING booked`) in the transaction that inserts the visit: the
//! row lock (PostgreSQL) or the single writer (SQLite) makes the check and the
//! increment one step, so two callers racing for the last visit get one "yes"
//! and one "full". Moving a visit takes a place in the new period the same way
//! and gives the old one back; cancelling gives it back.
//!
//! A visit is idempotent by its protocol (`UNIQUE`): the same choice sent
//! twice (a platform's retry, a crash before the call's state was written)
//! finds the visit already booked and books nothing more.
//!
//! The visit's row is also the outbox of its booking in the ERP (`erp_*`
//! columns): `none` when the agenda is the service's own, `pending` until the
//! ERP has it, then `done` (its reference in `erp_ref`) or `dead` for an
//! operator.

use super::{Store, StoreError};
use ivr_core::agenda::{Day, Slot};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Connection, Row};

/// Where a visit stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VisitStatus {
    Booked,
    /// Cancelled by an operator.
    Cancelled,
    /// The technician installed the client.
    Done,
}

impl VisitStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Booked => "booked",
            VisitStatus::Cancelled => "cancelled",
            VisitStatus::Done => "done",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "booked" => VisitStatus::Booked,
            "cancelled" => VisitStatus::Cancelled,
            "done" => VisitStatus::Done,
            other => return Err(StoreError::Corrupt(format!("visit status {other:?}"))),
        })
    }
}

/// One visit of the agenda.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Visit {
    pub(crate) id: i64,
    /// The request's protocol: one visit per request.
    pub(crate) protocol: String,
    /// The reservation's ledger row, when there is one.
    pub(crate) reservation_id: Option<i64>,
    pub(crate) client_code: String,
    pub(crate) slot: Slot,
    pub(crate) status: VisitStatus,
    /// Where the booking stands in the ERP: `none` (the service's own
    /// agenda), `pending`, `done`, `dead`.
    pub(crate) erp_status: String,
    /// The ERP's reference for the booking (its work order), once it has one.
    pub(crate) erp_ref: Option<String>,
    pub(crate) erp_attempts: i64,
    pub(crate) last_error: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A visit to book.
#[derive(Clone, Debug)]
pub(crate) struct NewVisit {
    pub(crate) protocol: String,
    pub(crate) reservation_id: Option<i64>,
    pub(crate) client_code: String,
    pub(crate) slot: Slot,
    /// The period's capacity, as the agenda sees it now.
    pub(crate) capacity: u32,
    /// Whether the booking must also reach an ERP (`erp_status = pending`).
    pub(crate) to_erp: bool,
    /// The reservation's outcome SMS rewritten with the visit, in the
    /// booking's transaction (`store::visit_messages`); `None`: SMS are off.
    pub(crate) message: Option<super::visit_messages::VisitMessage>,
}

/// What came of a booking.
#[derive(Clone, Debug)]
pub(crate) enum Booking {
    /// Booked now.
    Booked(Visit),
    /// This protocol already had a visit (booked, or done): nothing changed.
    Already(Visit),
    /// The period has no room left.
    Full,
}

/// What came of moving a visit.
#[derive(Clone, Debug)]
pub(crate) enum Moved {
    To(Visit),
    /// The new period has no room: the visit stays where it was.
    Full,
    /// No booked visit with that protocol.
    NotFound,
}

/// A period's use: visits booked against its capacity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PeriodUse {
    pub(crate) slot: Slot,
    pub(crate) booked: u32,
    pub(crate) capacity: u32,
}

pub(super) const VISIT_COLUMNS: &str = "id, protocol, reservation_id, client_code, day, period, status, \
     erp_status, erp_ref, erp_attempts, last_error, created_at, updated_at";

/// Takes a place in `slot`'s period (`false`: full). One statement: the check
/// and the increment cannot be split by another writer.
async fn take_place(
    c: &mut sqlx::AnyConnection,
    slot: &Slot,
    capacity: u32,
) -> Result<bool, StoreError> {
    if capacity == 0 {
        return Ok(false);
    }
    let row = sqlx::query(
        "INSERT INTO visit_periods (day, period, booked, capacity) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (day, period) DO UPDATE SET booked = visit_periods.booked + 1, \
         capacity = excluded.capacity \
         WHERE visit_periods.booked < excluded.capacity RETURNING booked",
    )
    .bind(slot.day.to_string())
    .bind(slot.period.as_str())
    .bind(i64::from(capacity))
    .fetch_optional(&mut *c)
    .await?;
    Ok(row.is_some())
}

/// Gives a place in `slot`'s period back.
pub(super) async fn give_place(c: &mut sqlx::AnyConnection, slot: &Slot) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE visit_periods SET booked = booked - 1 \
         WHERE day = $1 AND period = $2 AND booked > 0",
    )
    .bind(slot.day.to_string())
    .bind(slot.period.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The capacity `slot`'s period was last booked against.
async fn recorded_capacity(
    c: &mut sqlx::AnyConnection,
    slot: &Slot,
) -> Result<Option<u32>, StoreError> {
    let row = sqlx::query("SELECT capacity FROM visit_periods WHERE day = $1 AND period = $2")
        .bind(slot.day.to_string())
        .bind(slot.period.as_str())
        .fetch_optional(&mut *c)
        .await?;
    Ok(match row {
        Some(r) => Some(u32::try_from(r.try_get::<i64, _>("capacity")?).unwrap_or(0)),
        None => None,
    })
}

pub(super) fn visit_from(r: &AnyRow) -> Result<Visit, StoreError> {
    let day: String = r.try_get("day")?;
    let period: String = r.try_get("period")?;
    let slot = Slot::parse(&format!("{day}/{period}"))
        .ok_or_else(|| StoreError::Corrupt(format!("visit slot {day}/{period}")))?;
    let status: String = r.try_get("status")?;
    Ok(Visit {
        id: r.try_get("id")?,
        protocol: r.try_get("protocol")?,
        reservation_id: r.try_get("reservation_id")?,
        client_code: r.try_get("client_code")?,
        slot,
        status: VisitStatus::parse(&status)?,
        erp_status: r.try_get("erp_status")?,
        erp_ref: r.try_get("erp_ref")?,
        erp_attempts: r.try_get("erp_attempts")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(super) async fn by_protocol(
    c: &mut sqlx::AnyConnection,
    protocol: &str,
) -> Result<Option<Visit>, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {VISIT_COLUMNS} FROM visits WHERE protocol = $1"
    )))
    .bind(protocol.to_string())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(visit_from).transpose()
}

impl Store {
    /// Books `v` (see the module docs): exactly once per protocol, never past
    /// the period's capacity. A cancelled visit of the same protocol is booked
    /// again in the new period.
    pub(crate) async fn book_visit(&self, v: NewVisit, now: i64) -> Result<Booking, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let existing = by_protocol(&mut tx, &v.protocol).await?;
                if let Some(visit) = existing.as_ref()
                    && visit.status != VisitStatus::Cancelled
                {
                    tx.rollback().await?;
                    return Ok(Booking::Already(visit.clone()));
                }
                if !take_place(&mut tx, &v.slot, v.capacity).await? {
                    tx.rollback().await?;
                    return Ok(Booking::Full);
                }
                let erp = if v.to_erp { "pending" } else { "none" };
                let q = match existing {
                    Some(_) => sqlx::query(
                        "UPDATE visits SET reservation_id = $2, client_code = $3, day = $4, \
                         period = $5, status = 'booked', erp_status = $6, erp_ref = NULL, \
                         erp_attempts = 0, next_attempt_at = $7, last_error = NULL, \
                         updated_at = $7 WHERE protocol = $1",
                    ),
                    None => sqlx::query(
                        "INSERT INTO visits (protocol, reservation_id, client_code, day, period, \
                         status, erp_status, next_attempt_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, 'booked', $6, $7, $7, $7)",
                    ),
                };
                q.bind(v.protocol.clone())
                    .bind(v.reservation_id)
                    .bind(v.client_code)
                    .bind(v.slot.day.to_string())
                    .bind(v.slot.period.as_str())
                    .bind(erp)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let visit = by_protocol(&mut tx, &v.protocol)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("a booked visit is not found".into()))?;
                if let (Some(message), Some(reservation_id)) = (&v.message, v.reservation_id) {
                    super::visit_messages::write_visit_message(
                        &mut tx,
                        reservation_id,
                        message,
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(Booking::Booked(visit))
            })
        }))
        .await
    }

    /// The visit of a request, by its protocol.
    pub(crate) async fn visit_by_protocol(
        &self,
        protocol: &str,
    ) -> Result<Option<Visit>, StoreError> {
        let mut c = self.pool.acquire().await?;
        by_protocol(&mut c, protocol).await
    }

    /// The visits from `from` to `to` (both included), by day and period.
    pub(crate) async fn visits_between(
        &self,
        from: Day,
        to: Day,
    ) -> Result<Vec<Visit>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {VISIT_COLUMNS} FROM visits WHERE day >= $1 AND day <= $2 \
             ORDER BY day, period DESC, id"
        )))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(visit_from).collect()
    }

    /// The booked places of the periods from `from` to `to` that have any.
    pub(crate) async fn period_use(
        &self,
        from: Day,
        to: Day,
    ) -> Result<Vec<PeriodUse>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, period, booked, capacity FROM visit_periods \
             WHERE day >= $1 AND day <= $2 ORDER BY day, period DESC",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let day: String = r.try_get("day")?;
                let period: String = r.try_get("period")?;
                let booked: i64 = r.try_get("booked")?;
                let capacity: i64 = r.try_get("capacity")?;
                Ok(PeriodUse {
                    slot: Slot::parse(&format!("{day}/{period}"))
                        .ok_or_else(|| StoreError::Corrupt(format!("period {day}/{period}")))?,
                    booked: u32::try_from(booked).unwrap_or(0),
                    capacity: u32::try_from(capacity).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Moves the booked visit of `protocol` to `to` (its place there taken
    /// against `capacity`, the old one given back), in one transaction. A
    /// visit whose booking reached the ERP is due there again. Without a
    /// `capacity`, the new period keeps the one it was booked against, or
    /// takes the visit's current period's.
    // The operators' moves go through `change_visit` (with the client's
    // message); this one is the store tests'.
    #[cfg(test)]
    pub(crate) async fn move_visit(
        &self,
        protocol: &str,
        to: Slot,
        capacity: Option<u32>,
        now: i64,
    ) -> Result<Moved, StoreError> {
        let protocol = protocol.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let moved = move_on(&mut tx, &protocol, to, capacity, now).await?;
                match moved {
                    Moved::To(_) => tx.commit().await?,
                    _ => tx.rollback().await?,
                }
                Ok(moved)
            })
        }))
        .await
    }

    /// Ends the booked visit of `protocol` as `status` (cancelled: its place
    /// is given back; done). `None` when there is no booked visit.
    pub(crate) async fn end_visit(
        &self,
        protocol: &str,
        status: VisitStatus,
        now: i64,
    ) -> Result<Option<Visit>, StoreError> {
        let protocol = protocol.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let ended = end_on(&mut tx, &protocol, status, now).await?;
                match ended {
                    Some(_) => tx.commit().await?,
                    None => tx.rollback().await?,
                }
                Ok(ended)
            })
        }))
        .await
    }
}

/// [`Store::move_visit`] on `c`, inside the caller's transaction (which it
/// neither commits nor rolls back): on [`Moved::Full`] or
/// [`Moved::NotFound`] it has changed nothing.
pub(super) async fn move_on(
    c: &mut sqlx::AnyConnection,
    protocol: &str,
    to: Slot,
    capacity: Option<u32>,
    now: i64,
) -> Result<Moved, StoreError> {
    let Some(visit) = by_protocol(c, protocol)
        .await?
        .filter(|v| v.status == VisitStatus::Booked)
    else {
        return Ok(Moved::NotFound);
    };
    if visit.slot == to {
        return Ok(Moved::To(visit));
    }
    let capacity = match capacity {
        Some(n) => n,
        None => match recorded_capacity(c, &to).await? {
            Some(n) => n,
            None => recorded_capacity(c, &visit.slot).await?.unwrap_or(0),
        },
    };
    if !take_place(c, &to, capacity).await? {
        return Ok(Moved::Full);
    }
    give_place(c, &visit.slot).await?;
    sqlx::query(
        "UPDATE visits SET day = $2, period = $3, updated_at = $4, \
         erp_status = CASE WHEN erp_status = 'none' THEN 'none' ELSE 'pending' END, \
         erp_attempts = 0, next_attempt_at = $4, last_error = NULL \
         WHERE protocol = $1",
    )
    .bind(protocol.to_string())
    .bind(to.day.to_string())
    .bind(to.period.as_str())
    .bind(now)
    .execute(&mut *c)
    .await?;
    let moved = by_protocol(c, protocol)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a moved visit is not found".into()))?;
    Ok(Moved::To(moved))
}

/// [`Store::end_visit`] on `c`, inside the caller's transaction: `None` (and
/// nothing changed) when there is no booked visit.
pub(super) async fn end_on(
    c: &mut sqlx::AnyConnection,
    protocol: &str,
    status: VisitStatus,
    now: i64,
) -> Result<Option<Visit>, StoreError> {
    let Some(visit) = by_protocol(c, protocol)
        .await?
        .filter(|v| v.status == VisitStatus::Booked)
    else {
        return Ok(None);
    };
    if status == VisitStatus::Cancelled {
        give_place(c, &visit.slot).await?;
    }
    sqlx::query("UPDATE visits SET status = $2, updated_at = $3 WHERE protocol = $1")
        .bind(protocol.to_string())
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *c)
        .await?;
    by_protocol(c, protocol).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::all_dbs;
    use ivr_core::agenda::Period;

    fn slot(s: &str) -> Slot {
        Slot::parse(s).unwrap()
    }

    fn visit(protocol: &str, at: &str, capacity: u32) -> NewVisit {
        NewVisit {
            protocol: protocol.into(),
            reservation_id: None,
            client_code: format!("c{protocol}"),
            slot: slot(at),
            capacity,
            to_erp: false,
            message: None,
        }
    }

    #[tokio::test]
    async fn a_period_takes_no_more_than_its_capacity() {
        for db in all_dbs().await {
            let s = &db.store;
            let at = "2026-12-10/morning";
            let booked = |b: &Booking| matches!(b, Booking::Booked(_));
            assert!(booked(&s.book_visit(visit("1", at, 2), 1).await.unwrap()));
            assert!(booked(&s.book_visit(visit("2", at, 2), 2).await.unwrap()));
            let third = s.book_visit(visit("3", at, 2), 3).await.unwrap();
            assert!(matches!(third, Booking::Full), "{:?}", s.backend());
            // The same protocol again books nothing more.
            let again = s.book_visit(visit("1", at, 2), 4).await.unwrap();
            assert!(matches!(again, Booking::Already(_)));
            let day = slot(at).day;
            let used = s.period_use(day, day).await.unwrap();
            let want = PeriodUse {
                slot: slot(at),
                booked: 2,
                capacity: 2,
            };
            assert_eq!(used, vec![want]);
            // A cancellation gives the place back.
            let ended = s.end_visit("2", VisitStatus::Cancelled, 5).await.unwrap();
            assert_eq!(ended.unwrap().status, VisitStatus::Cancelled);
            assert!(booked(&s.book_visit(visit("3", at, 2), 6).await.unwrap()));
            assert_eq!(s.visits_between(day, day).await.unwrap().len(), 3);
        }
    }

    #[tokio::test]
    async fn callers_racing_for_the_last_places_get_no_more_than_the_capacity() {
        for db in all_dbs().await {
            let s = db.store.clone();
            let at = "2026-12-11/afternoon";
            let racers = (0..12).map(|n| {
                let s = s.clone();
                tokio::spawn(async move { s.book_visit(visit(&format!("r{n}"), at, 3), n).await })
            });
            let mut booked = 0;
            for r in futures_util::future::join_all(racers).await {
                if matches!(r.unwrap().unwrap(), Booking::Booked(_)) {
                    booked += 1;
                }
            }
            assert_eq!(booked, 3, "{:?}", s.backend());
            let day = slot(at).day;
            assert_eq!(s.period_use(day, day).await.unwrap()[0].booked, 3);
        }
    }

    #[tokio::test]
    async fn a_move_takes_the_new_place_and_gives_the_old_one_back() {
        for db in all_dbs().await {
            let s = &db.store;
            let (a, b) = ("2026-12-10/morning", "2026-12-10/afternoon");
            s.book_visit(visit("1", a, 1), 1).await.unwrap();
            s.book_visit(visit("2", b, 1), 1).await.unwrap();
            let full = s.move_visit("1", slot(b), None, 2).await.unwrap();
            assert!(matches!(full, Moved::Full));
            s.end_visit("2", VisitStatus::Cancelled, 3).await.unwrap();
            let Moved::To(v) = s.move_visit("1", slot(b), Some(1), 4).await.unwrap() else {
                panic!("not moved");
            };
            assert_eq!(v.slot.period, Period::Afternoon);
            let day = slot(a).day;
            let used = s.period_use(day, day).await.unwrap();
            assert_eq!(
                used.iter().map(|u| u.booked).collect::<Vec<_>>(),
                vec![0, 1]
            );
            let none = s.move_visit("9", slot(a), None, 5).await.unwrap();
            assert!(matches!(none, Moved::NotFound));
        }
    }
}
