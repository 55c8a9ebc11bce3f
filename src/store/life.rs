//! The reservation's life after the port was reserved (migration 14).
//!
//! A ledger row done with a port has two possible ends in OZmap, each a job
//! of the worker, claimed with the ledger's own lease and fencing token (so
//! it never runs beside the ledger's second look at the same row):
//!
//! - **implanted**: [`Store::mark_installed`] (an operator, or the ERP saying
//!   the visit was done) records `installed_at` and makes the job due; the
//!   worker PATCHes the client `implanted: true` and records `implanted_at`.
//!   An installed row is never released.
//! - **released**: a row whose outcome is `Reserved` (made by this service),
//!   not installed, is released `IVR_RESERVATION_DAYS` after `reserved_at`
//!   (never before the end of the day of a visit still booked for it: the
//!   worker holds it with `life_due_at`), or at once when an operator asks
//!   ([`Store::release_for_good`], e.g. its visit cancelled for good). The
//!   worker deletes the property, then records `released_at` and writes the
//!   client's message in ONE transaction ([`Store::settle_life`]): a crash in
//!   between re-runs the DELETE, which then finds nothing, and records it.
//!
//! A released row is taken up again by a new request of the same client code
//! (see `calls::upsert_reservation`): the ledger's UNIQUE client code holds
//! one row per code, and that row starts over.
//!
//! A failed job is due again at `life_due_at` (`life_attempts` counted); a
//! refused one is a dead letter (`life_dead_at`, `life_error`) for an
//! operator, who may ask again (which clears it).

use super::messages::{NewMessage, insert_message};
use super::{Claim, RESERVATION_COLUMNS, Settle, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Connection, Row};

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// A `Reserved` outcome as stored (JSON, its tag first).
const RESERVED_LIKE: &str = "{\"kind\":\"reserved\"%";
/// A "no coverage" outcome as stored.
const NOT_VIABLE: &str = "{\"kind\":\"not_viable\"}";

/// Where a ledger row stands after its reservation (all times Unix ms).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Life {
    /// When the port was reserved (the row got its outcome).
    pub reserved_at: Option<i64>,
    /// When the client was said installed (an operator, or the ERP).
    pub installed_at: Option<i64>,
    /// When OZmap's client was set `implanted: true`.
    pub implanted_at: Option<i64>,
    /// When the property was deleted in OZmap (the port freed).
    pub released_at: Option<i64>,
    /// When an operator asked the release (a visit cancelled for good).
    pub release_asked_at: Option<i64>,
    /// When the worker's job on the row is due again (`None`: as soon as it
    /// is due at all).
    pub due_at: Option<i64>,
    pub attempts: i64,
    pub error: Option<String>,
    /// Given up: an operator must look (`error` says why).
    pub dead_at: Option<i64>,
}

impl Life {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            reserved_at: r.try_get("reserved_at")?,
            installed_at: r.try_get("installed_at")?,
            implanted_at: r.try_get("implanted_at")?,
            released_at: r.try_get("released_at")?,
            release_asked_at: r.try_get("release_asked_at")?,
            due_at: r.try_get("life_due_at")?,
            attempts: r.try_get("life_attempts")?,
            error: r.try_get("life_error")?,
            dead_at: r.try_get("life_dead_at")?,
        })
    }

    /// The job a claimed row is due for.
    pub(crate) fn job(&self) -> LifeJob {
        if self.installed_at.is_some() {
            LifeJob::Implant
        } else {
            LifeJob::Release {
                for_good: self.release_asked_at.is_some(),
            }
        }
    }

    /// A word for operators: `installed`, `implanted`, `released`, or none.
    pub fn state(&self) -> Option<&'static str> {
        if self.released_at.is_some() {
            Some("released")
        } else if self.implanted_at.is_some() {
            Some("implanted")
        } else if self.installed_at.is_some() {
            Some("installed")
        } else if self.release_asked_at.is_some() {
            Some("releasing")
        } else {
            None
        }
    }
}

/// What the worker does with a claimed row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LifeJob {
    /// PATCH the client `implanted: true`.
    Implant,
    /// Delete the property; `for_good`: an operator asked (no visit holds it).
    Release { for_good: bool },
}

/// What a job came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LifeDone {
    /// The client is implanted in OZmap.
    Implanted,
    /// The property is gone from OZmap (deleted now, or already); `message`:
    /// the client's SMS, `chat`: a WhatsApp reply (`wa_id`, Graph payload).
    Released {
        message: Option<NewMessage>,
        chat: Option<(String, String)>,
    },
    /// Not yet: a visit still booked holds the row until `until`.
    Held { until: i64, note: String },
}

/// What an operator's word on a row came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LifeMark {
    /// Recorded; the worker does the rest.
    Marked,
    /// It was recorded before (nothing changed).
    Already,
    /// The port was already released: nothing to do.
    Released,
    /// The client is installed: a release is refused.
    Installed,
    /// The worker holds the row this moment: try again shortly.
    Busy,
    /// No reserved port on this row (pending, dead, no coverage, or none).
    NoReservation,
}

impl LifeMark {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LifeMark::Marked => "marked",
            LifeMark::Already => "already",
            LifeMark::Released => "released",
            LifeMark::Installed => "installed",
            LifeMark::Busy => "busy",
            LifeMark::NoReservation => "no_reservation",
        }
    }
}

impl Store {
    /// Claims the oldest row due for a life job for `lease_ms`, with the
    /// ledger's lease and token. `days`: `IVR_RESERVATION_DAYS` (0: no row is
    /// released for its age, only at an operator's word).
    pub(crate) async fn claim_life(
        &self,
        now: i64,
        lease_ms: i64,
        days: u32,
    ) -> Result<Option<Claim>, StoreError> {
        let age = if days == 0 {
            "FALSE".to_string()
        } else {
            // A plain number: no user input reaches the SQL.
            format!("reserved_at <= $3 - {}", i64::from(days) * DAY_MS)
        };
        let claim = self.claim_reservation(now, lease_ms, |lock| {
            format!(
                "UPDATE reservations SET claimed_until = $1, claim_token = $2, updated_at = $3 \
                 WHERE id = (SELECT id FROM reservations WHERE status = 'done' AND released_at IS NULL \
                 AND life_dead_at IS NULL AND claimed_until <= $3 \
                 AND (life_due_at IS NULL OR life_due_at <= $3) \
                 AND ((installed_at IS NOT NULL AND implanted_at IS NULL) \
                 OR (installed_at IS NULL AND outcome LIKE '{RESERVED_LIKE}' \
                 AND (release_asked_at IS NOT NULL OR ({age})))) \
                 ORDER BY COALESCE(life_due_at, 0), id LIMIT 1{lock}) \
                 AND claimed_until <= $3 \
                 RETURNING {RESERVATION_COLUMNS}"
            )
        })
        .await?;
        Ok(claim.map(|mut c| {
            c.life = Some(c.reservation.life.job());
            c
        }))
    }

    /// Settles a life job, fenced by its claim. A release is recorded with
    /// the client's message in one transaction; an implant with its time; a
    /// hold, a retry or a release (shutdown) makes the job due again later; a
    /// dead letter stops it. `false` when the claim was lost.
    pub(crate) async fn settle_life(
        &self,
        claim: &Claim,
        how: Settle<LifeDone>,
        now: i64,
    ) -> Result<bool, StoreError> {
        // Every statement names $1 to $5 (both drivers want each bound one).
        let (set, due, error, message, chat) = match how {
            Settle::Done(LifeDone::Implanted) => (
                "implanted_at = $1, life_attempts = life_attempts + 1",
                None,
                None,
                None,
                None,
            ),
            Settle::Done(LifeDone::Released { message, chat }) => (
                "released_at = $1, recheck_at = NULL, life_attempts = life_attempts + 1",
                None,
                None,
                message,
                chat,
            ),
            Settle::Done(LifeDone::Held { until, note }) => (
                "life_attempts = life_attempts",
                Some(until),
                Some(note),
                None,
                None,
            ),
            Settle::RetryLater { at, error } => (
                "life_attempts = life_attempts + 1",
                Some(at),
                Some(error),
                None,
                None,
            ),
            Settle::DeadLetter { error } => (
                "life_dead_at = $1, life_attempts = life_attempts + 1",
                None,
                Some(error),
                None,
                None,
            ),
            Settle::Released { at, note } => (
                "life_attempts = life_attempts",
                Some(at),
                Some(note),
                None,
                None,
            ),
        };
        let (id, token) = (claim.reservation.id, claim.token.clone());
        // An implant may land on an installed row only; a release never on one.
        let guard = if claim.reservation.life.installed_at.is_some() {
            "installed_at IS NOT NULL"
        } else {
            "installed_at IS NULL"
        };
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let n = sqlx::query(AssertSqlSafe(format!(
                    "UPDATE reservations SET {set}, life_due_at = $2, life_error = $3, \
                     claimed_until = 0, claim_token = NULL, updated_at = $1 WHERE id = $4 AND claim_token = $5 AND released_at IS NULL \
                     AND {guard}"
                )))
                .bind(now)
                .bind(due)
                .bind(error)
                .bind(id)
                .bind(token)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                if let Some(m) = &message {
                    insert_message(&mut tx, id, m, now).await?;
                }
                if let Some((wa_id, payload)) = chat {
                    sqlx::query(
                        "INSERT INTO whatsapp_outbox (wa_id, payload, status, attempts, \
                         next_attempt_at, claimed_until, created_at, updated_at) \
                         VALUES ($1, $2, 'pending', 0, $3, 0, $3, $3)",
                    )
                    .bind(wa_id)
                    .bind(payload)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            })
        }))
        .await
    }

    /// Records that the client of ledger row `id` is installed (its visit
    /// done: an operator, or the ERP): the worker then sets the client
    /// `implanted: true` in OZmap, once; the row is never released after.
    /// Refused on a released row, a row without a port, or one the worker
    /// holds this moment ([`LifeMark::Busy`]: try again).
    pub(crate) async fn mark_installed(&self, id: i64, now: i64) -> Result<LifeMark, StoreError> {
        let marked = self
            .update_one(Box::new(move |c| {
                Box::pin(async move {
                    sqlx::query(AssertSqlSafe(format!(
                        "UPDATE reservations SET installed_at = $1, release_asked_at = NULL, \
                         life_due_at = NULL, life_dead_at = NULL, life_attempts = 0, life_error = NULL, \
                         updated_at = $1 WHERE id = $2 AND status = 'done' AND outcome IS NOT NULL \
                         AND outcome <> '{NOT_VIABLE}' AND installed_at IS NULL AND released_at IS NULL \
                         AND claimed_until <= $1"
                    )))
                    .bind(now)
                    .bind(id)
                    .execute(&mut *c)
                    .await
                })
            }))
            .await?;
        if marked {
            return Ok(LifeMark::Marked);
        }
        self.why_not(id, now, true).await
    }

    /// Asks the worker to release ledger row `id` now, whatever its age and
    /// its visit (e.g. an operator cancelled the visit for good): the
    /// property is deleted in OZmap and the client told, once. Only a row
    /// this service reserved (`Reserved`), not installed, not released.
    pub(crate) async fn release_for_good(&self, id: i64, now: i64) -> Result<LifeMark, StoreError> {
        let marked = self
            .update_one(Box::new(move |c| {
                Box::pin(async move {
                    sqlx::query(AssertSqlSafe(format!(
                        "UPDATE reservations SET release_asked_at = $1, life_due_at = NULL, \
                         life_dead_at = NULL, life_attempts = 0, life_error = NULL, updated_at = $1 \
                         WHERE id = $2 AND status = 'done' AND outcome LIKE '{RESERVED_LIKE}' \
                         AND installed_at IS NULL AND released_at IS NULL \
                         AND (release_asked_at IS NULL OR life_dead_at IS NOT NULL) \
                         AND claimed_until <= $1"
                    )))
                    .bind(now)
                    .bind(id)
                    .execute(&mut *c)
                    .await
                })
            }))
            .await?;
        if marked {
            return Ok(LifeMark::Marked);
        }
        self.why_not(id, now, false).await
    }

    /// [`Store::mark_installed`] by the request's protocol number.
    pub(crate) async fn mark_installed_by_protocol(
        &self,
        protocol: &str,
        now: i64,
    ) -> Result<LifeMark, StoreError> {
        match self.reservation_by_protocol(protocol).await? {
            Some(r) => self.mark_installed(r.id, now).await,
            None => Ok(LifeMark::NoReservation),
        }
    }

    /// [`Store::release_for_good`] by the request's protocol number.
    pub(crate) async fn release_for_good_by_protocol(
        &self,
        protocol: &str,
        now: i64,
    ) -> Result<LifeMark, StoreError> {
        match self.reservation_by_protocol(protocol).await? {
            Some(r) => self.release_for_good(r.id, now).await,
            None => Ok(LifeMark::NoReservation),
        }
    }

    /// Why an operator's word changed nothing on row `id`.
    async fn why_not(&self, id: i64, now: i64, install: bool) -> Result<LifeMark, StoreError> {
        use ivr_core::domain::ReservationOutcome as O;
        let Some(r) = self.reservation(id).await? else {
            return Ok(LifeMark::NoReservation);
        };
        let life = &r.life;
        Ok(if life.released_at.is_some() {
            LifeMark::Released
        } else if install && life.installed_at.is_some() {
            LifeMark::Already
        } else if !install && life.installed_at.is_some() {
            LifeMark::Installed
        } else if !install && life.release_asked_at.is_some() && life.dead_at.is_none() {
            LifeMark::Already
        } else if r.status != super::LedgerStatus::Done
            || match &r.outcome {
                Some(O::Reserved(_)) => false,
                Some(O::Existing(_)) => !install,
                _ => true,
            }
        {
            LifeMark::NoReservation
        } else if self.claimed_now(id, now).await? {
            LifeMark::Busy
        } else {
            LifeMark::NoReservation
        })
    }

    async fn claimed_now(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("SELECT claimed_until FROM reservations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match r {
            Some(r) => r.try_get::<i64, _>("claimed_until")? > now,
            None => false,
        })
    }
}

#[cfg(test)]
#[path = "life_tests.rs"]
mod tests;
