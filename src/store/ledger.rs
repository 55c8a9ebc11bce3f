//! The reservation ledger: one row per client code, claimed by one worker at a
//! time (fenced by a token), retried, buried as a dead letter, or cancelled. A
//! row's final outcome is written with the SMS that tells the caller, in one
//! transaction (the outbox of [`super::messages`]).
//!
//! Exactly once whatever OZmap's speed: before each property POST the worker
//! writes its time on the claimed row (`uncertain_since`, [`Store::mark_posting`]),
//! so a POST whose answer never came is known to every worker, after a crash
//! too. A finished row may be claimed again later ([`Store::claim_recheck`]) to
//! delete a copy of its property that OZmap committed late, or to read its
//! box's name; that look ([`Store::settle_recheck`]) never changes its status.

use super::Settle;
use super::messages::{NewMessage, insert_message};
use super::{Backend, Claim, LedgerStatus, RESERVATION_COLUMNS, Reservation, Store, StoreError};
use ivr_core::domain::{ClientCode, ReservationOutcome};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Connection, Row};

impl Store {
    pub(super) fn reservation_from(r: &AnyRow) -> Result<Reservation, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let code: String = r.try_get("client_code")?;
        let request: String = r.try_get("request")?;
        let outcome: Option<String> = r.try_get("outcome")?;
        let status: String = r.try_get("status")?;
        let removed: Option<String> = r.try_get("duplicates_removed")?;
        Ok(Reservation {
            id: r.try_get("id")?,
            client_code: ClientCode::parse(&code)
                .ok_or_else(|| StoreError::Corrupt("client code".into()))?,
            call_sid: r.try_get("call_sid")?,
            request: serde_json::from_str(&request).map_err(corrupt)?,
            status: LedgerStatus::parse(&status)?,
            outcome: outcome
                .map(|o| serde_json::from_str(&o))
                .transpose()
                .map_err(corrupt)?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            uncertain_since: r.try_get("uncertain_since")?,
            recheck_at: r.try_get("recheck_at")?,
            duplicates_removed: removed
                .map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(corrupt)?
                .unwrap_or_default(),
            life: super::life::Life::from_row(r)?,
        })
    }

    pub async fn reservation_by_code(
        &self,
        code: &ClientCode,
    ) -> Result<Option<Reservation>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE client_code = $1"
        )))
        .bind(code.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::reservation_from).transpose()
    }

    /// The ledger row of a call's protocol number.
    pub async fn reservation_by_protocol(
        &self,
        protocol: &str,
    ) -> Result<Option<Reservation>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE protocol = $1"
        )))
        .bind(protocol)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::reservation_from).transpose()
    }

    /// A new protocol number for a call on `day` (`YYYYMMDD` in the ISP's time
    /// zone): the day, then a counter of eight digits that every instance on
    /// this database shares, so no two calls ever get the same number.
    pub async fn next_protocol(&self, day: &str) -> Result<String, StoreError> {
        let key = day.to_string();
        let n: i64 = self
            .write(Box::new(move |c| {
                Box::pin(async move {
                    let row = sqlx::query(
                        "INSERT INTO protocol_counters (day, last) VALUES ($1, 1) \
                         ON CONFLICT (day) DO UPDATE SET last = protocol_counters.last + 1 \
                         RETURNING last",
                    )
                    .bind(key)
                    .fetch_one(&mut *c)
                    .await?;
                    Ok(row.try_get("last")?)
                })
            }))
            .await?;
        Ok(format!("{day}{n:08}"))
    }

    /// Reserves `size` protocol numbers of `day` at once (a hi/lo block) from
    /// the counter every instance shares; returns the last of them, so the
    /// block is `last - size + 1 ..= last`. Numbers of a block not handed out
    /// before a restart are skipped, never reused.
    pub async fn reserve_protocols(&self, day: &str, size: i64) -> Result<i64, StoreError> {
        let key = day.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let row = sqlx::query(
                    "INSERT INTO protocol_counters (day, last) VALUES ($1, $2) \
                     ON CONFLICT (day) DO UPDATE SET last = protocol_counters.last + $2 \
                     RETURNING last",
                )
                .bind(key)
                .bind(size)
                .fetch_one(&mut *c)
                .await?;
                Ok(row.try_get("last")?)
            })
        }))
        .await
    }

    pub async fn reservation(&self, id: i64) -> Result<Option<Reservation>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::reservation_from).transpose()
    }

    /// The newest ledger rows, optionally of one status.
    pub async fn list_reservations(
        &self,
        status: Option<LedgerStatus>,
        limit: i64,
    ) -> Result<Vec<Reservation>, StoreError> {
        let rows = match status {
            Some(s) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE status = $1 ORDER BY id DESC LIMIT $2"
                )))
                .bind(s.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("SELECT {RESERVATION_COLUMNS} FROM reservations ORDER BY id DESC LIMIT $1")))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(Self::reservation_from).collect()
    }

    /// Claims the oldest due pending row for `lease_ms`. Two workers, in one
    /// process or many, never hold the same row: SQLite runs the claiming UPDATE
    /// alone, PostgreSQL skips rows another transaction has locked.
    pub async fn claim_due(&self, now: i64, lease_ms: i64) -> Result<Option<Claim>, StoreError> {
        self.claim_reservation(now, lease_ms, |lock| {
            format!(
                "UPDATE reservations SET claimed_until = $1, claim_token = $2, updated_at = $3 \
                 WHERE id = (SELECT id FROM reservations WHERE status = 'pending' AND next_attempt_at <= $3 \
                 AND claimed_until <= $3 ORDER BY next_attempt_at, id LIMIT 1{lock}) \
                 AND status = 'pending' AND claimed_until <= $3 \
                 RETURNING {RESERVATION_COLUMNS}"
            )
        })
        .await
    }

    /// Claims the oldest finished row due for a second look (`recheck_at`) for
    /// `lease_ms`: its status stays `done`, and only [`Store::settle_recheck`]
    /// settles it.
    pub async fn claim_recheck(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<Claim>, StoreError> {
        self.claim_reservation(now, lease_ms, |lock| {
            format!(
                "UPDATE reservations SET claimed_until = $1, claim_token = $2, updated_at = $3 \
                 WHERE id = (SELECT id FROM reservations WHERE recheck_at IS NOT NULL AND recheck_at <= $3 \
                 AND status = 'done' AND claimed_until <= $3 ORDER BY recheck_at, id LIMIT 1{lock}) \
                 AND status = 'done' AND claimed_until <= $3 \
                 RETURNING {RESERVATION_COLUMNS}"
            )
        })
        .await
    }

    /// Records, fenced by the claim, that a property POST is about to be sent
    /// at `at` (`Some`), or that OZmap's answer said it did not land (`None`).
    /// `false` when the claim was lost: the POST must not be sent.
    pub(crate) async fn mark_posting(
        &self,
        claim: &Claim,
        at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let (id, token) = (claim.reservation.id, claim.token.clone());
        let now = at.unwrap_or_else(super::now_ms);
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET uncertain_since = $1, updated_at = $2 \
                     WHERE id = $3 AND claim_token = $4 AND status = 'pending'",
                )
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

    /// A claimed ledger row as a [`Claim`]: [`Store::claim_row`] with the
    /// reservation read from what it returns.
    pub(super) async fn claim_reservation(
        &self,
        now: i64,
        lease_ms: i64,
        sql: impl FnOnce(&str) -> String,
    ) -> Result<Option<Claim>, StoreError> {
        let claimed = self.claim_row(now, lease_ms, sql).await?;
        claimed
            .map(|(row, token)| {
                Self::reservation_from(&row).map(|reservation| Claim {
                    reservation,
                    token,
                    life: None,
                })
            })
            .transpose()
    }

    /// Runs one claiming UPDATE … RETURNING (built by `sql` around the row
    /// lock PostgreSQL needs; SQLite's single writer needs none) with `$1` the
    /// lease's end, `$2` a fresh fencing token and `$3` now: the claimed row and
    /// its token, if any row was due. The ledger and the message outbox share it.
    pub(super) async fn claim_row(
        &self,
        now: i64,
        lease_ms: i64,
        sql: impl FnOnce(&str) -> String,
    ) -> Result<Option<(AnyRow, String)>, StoreError> {
        let token = format!("{:016x}", rand::random::<u64>());
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = sql(lock);
        let tok = token.clone();
        let row = self
            .write(Box::new(move |c| {
                Box::pin(async move {
                    Ok(sqlx::query(AssertSqlSafe(sql))
                        .bind(now + lease_ms)
                        .bind(tok)
                        .bind(now)
                        .fetch_optional(&mut *c)
                        .await?)
                })
            }))
            .await?;
        Ok(row.map(|r| (r, token)))
    }

    /// Settles a claimed row, fenced by its claim (the one place the ledger's
    /// [`Settle`] becomes SQL). A final state (done with its outcome, or a dead
    /// letter) is written with `message`, the SMS that tells the caller (see
    /// [`super::messages`]), in one transaction: a crash keeps both or neither.
    /// A retry counts the attempt; a release (shutdown) does not, and is safe
    /// even if the interrupted attempt's `POST` landed: the next attempt looks
    /// the client code up first. `false` when the claim was lost (lease expired
    /// and another worker took the row): nothing is written, nor the message.
    pub(crate) async fn settle_reservation(
        &self,
        claim: &Claim,
        how: Settle<impl Into<LedgerDone>>,
        message: Option<NewMessage>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut done_extra = (None, None, None);
        let (set, text, at, message) = match how {
            Settle::Done(done) => {
                let done: LedgerDone = done.into();
                let mut removed = claim.reservation.duplicates_removed.clone();
                removed.extend(done.duplicates_removed);
                done_extra = (
                    done.recheck_at,
                    (!removed.is_empty()).then(|| json(&removed)).transpose()?,
                    done.uncertain_since,
                );
                (
                    "status = 'done', outcome = $1, last_error = NULL, attempts = attempts + 1, \
                     recheck_at = $6, duplicates_removed = $7, uncertain_since = $8, reserved_at = $2",
                    json(&done.outcome)?,
                    None,
                    message,
                )
            }
            Settle::DeadLetter { error } => (
                "status = 'dead', last_error = $1, attempts = attempts + 1",
                error,
                None,
                message,
            ),
            Settle::RetryLater { at, error } => (
                "last_error = $1, attempts = attempts + 1",
                error,
                Some(at),
                None,
            ),
            Settle::Released { at, note } => ("last_error = $1", note, Some(at), None),
        };
        let last = if at.is_some() {
            " AND status = 'pending'"
        } else {
            ""
        };
        let (id, token) = (claim.reservation.id, claim.token.clone());
        let (recheck_at, removed, uncertain) = done_extra;
        let settled = self
            .write(Box::new(move |c| {
                Box::pin(async move {
                    let update = sqlx::query(AssertSqlSafe(format!(
                        "UPDATE reservations SET {set}, next_attempt_at = COALESCE($5, next_attempt_at), \
                         claimed_until = 0, claim_token = NULL, updated_at = $2 \
                         WHERE id = $3 AND claim_token = $4{last}"
                    )))
                    .bind(text)
                    .bind(now)
                    .bind(id)
                    .bind(token)
                    .bind(at);
                    // $6 to $8 only in the final state's statement.
                    let update = if set.contains("$8") {
                        update.bind(recheck_at).bind(removed).bind(uncertain)
                    } else {
                        update
                    };
                    let Some(message) = message else {
                        // One statement is atomic by itself.
                        return Ok(update.execute(&mut *c).await?.rows_affected() == 1);
                    };
                    let mut tx = c.begin().await?;
                    if update.execute(&mut *tx).await?.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    insert_message(&mut tx, id, &message, now).await?;
                    tx.commit().await?;
                    Ok(true)
                })
            }))
            .await;
        if matches!(settled, Ok(true)) && at.is_none() {
            self.ledger_settled.notify_waiters();
        }
        settled
    }

    /// Settles a second look at a finished row ([`Store::claim_recheck`]),
    /// fenced by its claim. Its status and its SMS stay as they are: a look
    /// that did its work records the copies deleted and the outcome with the
    /// box's name now read, and when it is due again; a failed one is due again
    /// at its backoff, and given up (no more looks, the reason kept in
    /// `last_error`) when out of attempts. Every look counts as an attempt.
    pub(crate) async fn settle_recheck(
        &self,
        claim: &Claim,
        how: Settle<Recheck>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let row = &claim.reservation;
        let (outcome, removed, recheck_at, note, counts) = match how {
            Settle::Done(r) => {
                let mut removed = row.duplicates_removed.clone();
                removed.extend(r.removed);
                let outcome = r.outcome.map(|o| json(&o)).transpose()?;
                (outcome, removed, r.recheck_at, r.note, 1i64)
            }
            Settle::RetryLater { at, error } => (
                None,
                row.duplicates_removed.clone(),
                Some(at),
                Some(error),
                1i64,
            ),
            Settle::DeadLetter { error } => (
                None,
                row.duplicates_removed.clone(),
                None,
                Some(format!(
                    "the second look at the reservation was given up: {error}"
                )),
                1,
            ),
            Settle::Released { at, note } => (
                None,
                row.duplicates_removed.clone(),
                Some(at),
                Some(note),
                0,
            ),
        };
        let removed = (!removed.is_empty()).then(|| json(&removed)).transpose()?;
        let (id, token) = (row.id, claim.token.clone());
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET outcome = COALESCE($1, outcome), duplicates_removed = $2, \
                     recheck_at = $3, last_error = $4, attempts = attempts + $5, claimed_until = 0, \
                     claim_token = NULL, updated_at = $6 \
                     WHERE id = $7 AND claim_token = $8 AND status = 'done'",
                )
                .bind(outcome)
                .bind(removed)
                .bind(recheck_at)
                .bind(note)
                .bind(counts)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// An operator sends a dead letter back to the worker.
    pub async fn requeue(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET status = 'pending', next_attempt_at = $1, claimed_until = 0, \
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

    /// Marks a row cancelled (after the property was deleted in OZmap).
    pub async fn mark_cancelled(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET status = 'cancelled', claimed_until = 0, claim_token = NULL, \
                     recheck_at = NULL, updated_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Rows waiting for the worker, and the age of the oldest (ms), for metrics.
    pub async fn ledger_backlog(&self, now: i64) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MIN(created_at), 0) AS oldest FROM reservations WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = r.try_get("n")?;
        let oldest: i64 = r.try_get("oldest")?;
        Ok((n, if n == 0 { 0 } else { now - oldest }))
    }
}

/// A ledger row's final outcome, as the worker records it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LedgerDone {
    pub outcome: ReservationOutcome,
    /// Copies of the property deleted in OZmap on the way.
    pub duplicates_removed: Vec<String>,
    /// When to look at the row again (`None`: never).
    pub recheck_at: Option<i64>,
    /// The unanswered POST the row had when this run began, if any: kept on
    /// the finished row (a copy of its property may still come), else cleared.
    pub uncertain_since: Option<i64>,
}

impl From<ReservationOutcome> for LedgerDone {
    fn from(outcome: ReservationOutcome) -> Self {
        Self {
            outcome,
            duplicates_removed: Vec::new(),
            recheck_at: None,
            uncertain_since: None,
        }
    }
}

/// What a second look at a finished row came to.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Recheck {
    /// The outcome again, when it changed (the box's name read now).
    pub outcome: Option<ReservationOutcome>,
    /// Copies of the property deleted in OZmap by this look.
    pub removed: Vec<String>,
    /// When to look again (`None`: never).
    pub recheck_at: Option<i64>,
    /// Why it is looked at again, kept in `last_error`.
    pub note: Option<String>,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}
