//! The visits' ERP outbox (`SCHEDULE=http` or `ixc`): a visit's row carries
//! its booking to the ERP (`erp_*` columns, see [`super::visits`]), claimed
//! the way the other outboxes are: a lease fenced by a token, SQLite's
//! claiming `UPDATE` running alone, PostgreSQL skipping rows another
//! transaction has locked.
//!
//! Due, when no lease holds the row:
//! - `erp_status = 'pending'` and `next_attempt_at` has come: a booking (or a
//!   move) to send, or a cancellation of a visit whose booking reached the ERP;
//! - a visit cancelled by an operator whose booking had reached the ERP
//!   (`erp_status = 'done'`, `status = 'cancelled'`, an `erp_ref`): the ERP
//!   is told to cancel it.
//!
//! Settled by [`Store::settle_visit_job`], the one place the outbox's
//! [`Settle`] becomes SQL: `done` (a booked visit the ERP has, its reference
//! in `erp_ref`), `cancelled` (the ERP cancelled it too), back to `pending`
//! (a retry, counted, or a release, not), or `dead` for an operator
//! (`last_error` says why). A visit an operator moved or cancelled while its
//! job ran (its status, day, period or `updated_at` changed since the claim)
//! is not settled as the job found it: it is due again at once, with the
//! reference the ERP gave kept, so the change reaches the ERP too.

use super::visits::{VISIT_COLUMNS, VisitStatus, visit_from};
use super::{Settle, Store, StoreError, Visit};
use ivr_core::agenda::{Day, Slot};
use sqlx::AssertSqlSafe;
use sqlx::Row;
use std::collections::HashMap;

/// A claimed visit: only the holder of `token` may record how its job went.
#[derive(Clone, Debug)]
pub(crate) struct VisitJob {
    /// The visit as it was when claimed.
    pub visit: Visit,
    pub token: String,
}

impl VisitJob {
    /// What the job must do in the ERP.
    pub(crate) fn action(&self) -> ErpAction {
        match self.visit.status {
            VisitStatus::Booked => ErpAction::Book,
            VisitStatus::Cancelled if self.visit.erp_ref.is_some() => ErpAction::Cancel,
            // Cancelled before the ERP had it, or done: nothing to send.
            VisitStatus::Cancelled | VisitStatus::Done => ErpAction::Nothing,
        }
    }
}

/// What a claimed visit's job does in the ERP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErpAction {
    /// Book it (or move it: the ERP has this protocol already).
    Book,
    /// Cancel the booking the ERP has.
    Cancel,
    /// Nothing: the row is settled as it stands.
    Nothing,
}

/// Due and not held (`$3`: now).
const DUE: &str = "(claimed_until <= $3 AND ((erp_status = 'pending' AND next_attempt_at <= $3) \
     OR (erp_status = 'done' AND status = 'cancelled' AND erp_ref IS NOT NULL)))";

/// The visit is as the claim found it.
const UNCHANGED: &str = "(status = $9 AND day = $10 AND period = $11 AND updated_at = $12)";

impl Store {
    /// Per period from `from` to `to`, the booked visits whose booking has
    /// not reached the ERP yet.
    pub(crate) async fn erp_pending_by_period(
        &self,
        from: Day,
        to: Day,
    ) -> Result<HashMap<Slot, u32>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, period, COUNT(*) AS n FROM visits WHERE status = 'booked' \
             AND erp_status = 'pending' AND day >= $1 AND day <= $2 GROUP BY day, period",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let day: String = r.try_get("day")?;
            let period: String = r.try_get("period")?;
            let n: i64 = r.try_get("n")?;
            if let Some(slot) = Slot::parse(&format!("{day}/{period}")) {
                out.insert(slot, u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        Ok(out)
    }

    /// Records the capacity a booking in `slot` is held to (an ERP's period,
    /// as offered), keeping its booked count.
    pub(crate) async fn record_period_capacity(
        &self,
        slot: &Slot,
        capacity: u32,
    ) -> Result<(), StoreError> {
        let (day, period) = (slot.day.to_string(), slot.period.as_str());
        self.write(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO visit_periods (day, period, booked, capacity) VALUES ($1, $2, 0, $3) \
                     ON CONFLICT (day, period) DO UPDATE SET capacity = excluded.capacity",
                )
                .bind(day)
                .bind(period)
                .bind(i64::from(capacity))
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        }))
        .await
    }

    /// The capacity recorded for `slot`'s period, if any.
    pub(crate) async fn period_capacity(&self, slot: &Slot) -> Result<Option<u32>, StoreError> {
        let row = sqlx::query("SELECT capacity FROM visit_periods WHERE day = $1 AND period = $2")
            .bind(slot.day.to_string())
            .bind(slot.period.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(u32::try_from(r.try_get::<i64, _>("capacity")?).unwrap_or(0)),
            None => None,
        })
    }
}

impl Store {
    /// Claims the oldest due visit for `lease_ms` (see the module docs).
    pub(crate) async fn claim_visit_job(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<VisitJob>, StoreError> {
        let claimed = self
            .claim_row(now, lease_ms, |lock| {
                format!(
                    "UPDATE visits SET claimed_until = $1, claim_token = $2 \
                     WHERE id = (SELECT id FROM visits WHERE {DUE} \
                     ORDER BY next_attempt_at, id LIMIT 1{lock}) AND {DUE} \
                     RETURNING {VISIT_COLUMNS}"
                )
            })
            .await?;
        claimed
            .map(|(row, token)| visit_from(&row).map(|visit| VisitJob { visit, token }))
            .transpose()
    }

    /// Settles a claimed visit, fenced by its claim (the one place the ERP
    /// outbox's [`Settle`] becomes SQL; see the module docs). `Done` carries
    /// the ERP's reference when the job got one. `false` when the claim was
    /// lost: nothing changes.
    pub(crate) async fn settle_visit_job(
        &self,
        job: &VisitJob,
        how: Settle<Option<String>>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let v = &job.visit;
        let finished = match v.status {
            VisitStatus::Cancelled => "cancelled",
            VisitStatus::Booked | VisitStatus::Done => "done",
        };
        let (status, erp_ref, error, at, counted): (_, _, _, _, i64) = match how {
            Settle::Done(r) => (finished, r, None, now, 1),
            Settle::RetryLater { at, error } => ("pending", None, Some(error), at, 1),
            Settle::DeadLetter { error } => ("dead", None, Some(error), now, 1),
            Settle::Released { at, note } => ("pending", None, Some(note), at, 0),
        };
        let sql = format!(
            "UPDATE visits SET \
             erp_status = CASE WHEN {UNCHANGED} THEN $1 ELSE 'pending' END, \
             erp_ref = COALESCE($2, erp_ref), \
             last_error = CASE WHEN {UNCHANGED} THEN $3 ELSE NULL END, \
             next_attempt_at = CASE WHEN {UNCHANGED} THEN $4 ELSE $5 END, \
             erp_attempts = erp_attempts + $6, claimed_until = 0, claim_token = NULL \
             WHERE id = $7 AND claim_token = $8"
        );
        let (id, token) = (v.id, job.token.clone());
        let (day, period, state, seen) = (
            v.slot.day.to_string(),
            v.slot.period.as_str(),
            v.status.as_str(),
            v.updated_at,
        );
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(status)
                    .bind(erp_ref)
                    .bind(error)
                    .bind(at)
                    .bind(now)
                    .bind(counted)
                    .bind(id)
                    .bind(token)
                    .bind(state)
                    .bind(day)
                    .bind(period)
                    .bind(seen)
                    .execute(&mut *c)
                    .await
            })
        }))
        .await
    }

    /// Booked visits the ERP has, whose day has come (`today` or before):
    /// the ones to ask the ERP about (done? cancelled?), oldest first.
    pub(crate) async fn visits_to_poll(
        &self,
        today: Day,
        limit: i64,
    ) -> Result<Vec<Visit>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {VISIT_COLUMNS} FROM visits WHERE status = 'booked' AND erp_status = 'done' \
             AND erp_ref IS NOT NULL AND day <= $1 ORDER BY day, id LIMIT $2"
        )))
        .bind(today.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(visit_from).collect()
    }

    /// An operator sends a visit whose booking is a dead letter back to the
    /// ERP outbox. `false` when the visit's booking is not dead.
    pub(crate) async fn requeue_visit_job(
        &self,
        protocol: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let protocol = protocol.to_string();
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE visits SET erp_status = 'pending', erp_attempts = 0, \
                     next_attempt_at = $1, claimed_until = 0, claim_token = NULL \
                     WHERE protocol = $2 AND erp_status = 'dead'",
                )
                .bind(now)
                .bind(protocol)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }
}
