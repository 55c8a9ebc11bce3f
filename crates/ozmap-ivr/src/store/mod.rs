//! Durable state: calls, the geocoding cache and the reservation ledger.
//!
//! One implementation over `sqlx::Any` serves both the embedded SQLite default and
//! PostgreSQL for several instances: the SQL is shared (numbered `$n` parameters
//! work in both), and only the schema and the claiming query differ by backend.
//! Values are stored as JSON text and times as Unix milliseconds, so the same Rust
//! types travel through both drivers unchanged.
//!
//! Why the ledger lives here, next to the call state: a confirmed reservation is
//! written in the same transaction as the call's move to "reserving", so a crash
//! can never keep one without the other (the outbox pattern). A uniqueness rule on
//! the client code, not a lock in memory, makes two calls for one client produce one
//! reservation, across processes.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk before the
//! answer goes out, so a confirmed reservation survives a power cut.

mod commit;
mod schema;

use futures_util::future::BoxFuture;
use ivr_core::domain::{ClientCode, ReservationOutcome, ReservationRequest};
use ivr_core::flow::Call;
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection, Executor, Row};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store: stored value cannot be read: {0}")]
    Corrupt(String),
    #[error("store: unsupported database URL (use sqlite:… or postgres://…)")]
    UnsupportedUrl,
    /// The write was not made durable (its batch's transaction failed).
    #[error("store: the write was not committed: {0}")]
    NotCommitted(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A call as stored: its state, how many transitions it has had (`seq`), and the
/// TwiML of the last answer, replayed when the platform repeats a request.
#[derive(Clone, Debug)]
pub struct StoredCall {
    pub call: Call,
    pub seq: i64,
    pub last_reply: Option<String>,
    pub updated_at: i64,
}

/// Where a reservation stands in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// Waiting for the worker (new, or to be retried at `next_attempt_at`).
    Pending,
    /// Done: see the outcome.
    Done,
    /// Given up; an operator must look (`last_error` says why).
    Dead,
    /// Cancelled by an operator.
    Cancelled,
}

impl LedgerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerStatus::Pending => "pending",
            LedgerStatus::Done => "done",
            LedgerStatus::Dead => "dead",
            LedgerStatus::Cancelled => "cancelled",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => LedgerStatus::Pending,
            "done" => LedgerStatus::Done,
            "dead" => LedgerStatus::Dead,
            "cancelled" => LedgerStatus::Cancelled,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown ledger status {other:?}"
                )));
            }
        })
    }
}

/// One row of the reservation ledger (the outbox).
#[derive(Clone, Debug)]
pub struct Reservation {
    pub id: i64,
    pub client_code: ClientCode,
    pub call_sid: String,
    pub request: ReservationRequest,
    pub status: LedgerStatus,
    pub outcome: Option<ReservationOutcome>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A claimed ledger row: only the holder of `token` may record its result.
#[derive(Clone, Debug)]
pub struct Claim {
    pub reservation: Reservation,
    pub token: String,
}

/// What the geocoder answered for a query, cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeoCached {
    Found { place: ivr_core::domain::Place },
    NotFound,
    Failed,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite on a file: the one writing connection, with group commit.
    writer: Option<Arc<commit::Writer>>,
}

/// A write: statements on one connection (a transaction of its own when it
/// calls `begin`; a savepoint inside a shared batch with SQLite).
type WriteOp<T> =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // WAL: readers never wait for the writer. synchronous=FULL: the log is on
    // disk before a commit returns, so a confirmed write survives a power cut.
    conn.execute("PRAGMA busy_timeout = 5000").await?;
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA synchronous = FULL").await?;
    Ok(())
}

/// One statement whose result is the rows it changed.
type UpdateOp = Box<
    dyn for<'c> FnOnce(
            &'c mut AnyConnection,
        ) -> BoxFuture<'c, Result<sqlx::any::AnyQueryResult, sqlx::Error>>
        + Send,
>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend)
    }
}

const RESERVATION_COLUMNS: &str = "id, client_code, call_sid, request, status, outcome, attempts, \
     next_attempt_at, last_error, created_at, updated_at";

impl Store {
    /// Opens (creating a SQLite file if missing) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let memory = rest.contains(":memory:");
            let mut u = format!("sqlite:{rest}");
            if !memory && !rest.contains("mode=") {
                u.push_str(if rest.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            (Backend::Sqlite, u)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let memory = url.contains(":memory:");
        let max = match backend {
            // One writer at a time in SQLite anyway; a few readers help polls.
            Backend::Sqlite if memory => 1,
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            // A ping before every query doubles the round trips to SQLite's
            // connection thread; a broken local connection fails its query anyway.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_pragmas(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        schema::migrate(&pool, backend).await?;
        // SQLite on a file: every write goes through one connection that commits
        // many writes per fsync (see `commit`). In memory there is one connection.
        let writer = (backend == Backend::Sqlite && !memory).then(|| {
            let url = url.clone();
            Arc::new(commit::Writer::spawn(move || {
                let url = url.clone();
                Box::pin(async move {
                    let mut conn = AnyConnection::connect(&url).await?;
                    sqlite_pragmas(&mut conn).await?;
                    Ok(conn)
                })
            }))
        });
        Ok(Self {
            pool,
            backend,
            writer,
        })
    }

    /// One statement through [`Self::write`]: `true` when it changed exactly one row.
    async fn update_one(&self, op: UpdateOp) -> Result<bool, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move { Ok(op(c).await?.rows_affected() == 1) })
        }))
        .await
    }

    /// Runs a write: through the SQLite writer (group commit), or on a pooled
    /// connection (PostgreSQL, SQLite in memory).
    async fn write<T: Send + 'static>(&self, op: WriteOp<T>) -> Result<T, StoreError> {
        match &self.writer {
            Some(w) => w.write(op).await,
            None => {
                let mut conn = self.pool.acquire().await?;
                op(&mut conn).await
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // ---- calls ---------------------------------------------------------------

    pub async fn load_call(&self, call_sid: &str) -> Result<Option<StoredCall>, StoreError> {
        let row =
            sqlx::query("SELECT state, seq, last_reply, updated_at FROM calls WHERE call_sid = $1")
                .bind(call_sid)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            let state: String = r.try_get("state")?;
            let call: Call =
                serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(StoredCall {
                call,
                seq: r.try_get("seq")?,
                last_reply: r.try_get("last_reply")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Stores a new call at `seq` 1. `false` when the call already exists (the
    /// platform sent the first request twice).
    pub async fn create_call(
        &self,
        call_sid: &str,
        call: &Call,
        reply: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let state = serde_json::to_string(call).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (call_sid, reply) = (call_sid.to_string(), reply.to_string());
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "INSERT INTO calls (call_sid, state, seq, last_reply, created_at, updated_at) \
                     VALUES ($1, $2, 1, $3, $4, $4) ON CONFLICT (call_sid) DO NOTHING",
                )
                .bind(call_sid)
                .bind(state)
                .bind(reply)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(r.rows_affected() == 1)
            })
        }))
        .await
    }

    /// Moves a call from `expected_seq` to `expected_seq + 1`, and, in the same
    /// transaction, writes `reserve` to the ledger: once per client code, except
    /// that a dead, cancelled or "no coverage" row is taken up again by the new
    /// request (coverage may have come since).
    /// `false` when another request moved the call first.
    pub async fn advance_call(
        &self,
        call_sid: &str,
        expected_seq: i64,
        call: &Call,
        reply: &str,
        reserve: Option<&ReservationRequest>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let state = serde_json::to_string(call).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let reserve = reserve
            .map(|req| {
                serde_json::to_string(req)
                    .map(|text| (req.client_code.as_str().to_string(), text))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()?;
        let (call_sid, reply) = (call_sid.to_string(), reply.to_string());
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let update = sqlx::query(
                    "UPDATE calls SET state = $1, seq = seq + 1, last_reply = $2, updated_at = $3 \
                     WHERE call_sid = $4 AND seq = $5",
                )
                .bind(state)
                .bind(reply)
                .bind(now)
                .bind(call_sid.clone())
                .bind(expected_seq);
                let Some((code, request)) = reserve else {
                    // One statement is atomic by itself: no transaction of its own needed.
                    return Ok(update.execute(&mut *c).await?.rows_affected() == 1);
                };
                let mut tx = c.begin().await?;
                let r = update.execute(&mut *tx).await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                {
                    sqlx::query(
                        "INSERT INTO reservations (client_code, call_sid, request, status, attempts, \
                         next_attempt_at, claimed_until, created_at, updated_at) \
                         VALUES ($1, $2, $3, 'pending', 0, $4, 0, $4, $4) \
                         ON CONFLICT (client_code) DO UPDATE SET call_sid = excluded.call_sid, \
                         request = excluded.request, status = 'pending', outcome = NULL, attempts = 0, \
                         next_attempt_at = excluded.next_attempt_at, claimed_until = 0, claim_token = NULL, \
                         last_error = NULL, updated_at = excluded.updated_at \
                         WHERE reservations.status IN ('dead', 'cancelled') \
                         OR (reservations.status = 'done' AND reservations.outcome = '{\"kind\":\"not_viable\"}')",
                    )
                    .bind(code)
                    .bind(call_sid)
                    .bind(request)
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

    /// Stores many calls in one transaction, skipping CallSids that exist: how
    /// `ozmap-ivr bench --seed-calls` fills a store quickly. Returns the rows added.
    pub async fn insert_calls(
        &self,
        rows: &[(String, Call, String)],
        now: i64,
    ) -> Result<u64, StoreError> {
        let rows = rows
            .iter()
            .map(|(sid, call, reply)| {
                serde_json::to_string(call)
                    .map(|state| (sid.clone(), state, reply.clone()))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                let mut added = 0;
                for (call_sid, state, reply) in rows {
                    added += sqlx::query(
                "INSERT INTO calls (call_sid, state, seq, last_reply, created_at, updated_at) \
                 VALUES ($1, $2, 1, $3, $4, $4) ON CONFLICT (call_sid) DO NOTHING",
            )
            .bind(call_sid)
            .bind(state)
            .bind(reply)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
                }
                tx.commit().await?;
                Ok(added)
            })
        }))
        .await
    }

    /// Deletes calls not touched since `before` (call state holds personal data).
    pub async fn purge_calls(&self, before: i64) -> Result<u64, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let r = sqlx::query("DELETE FROM calls WHERE updated_at < $1")
                    .bind(before)
                    .execute(&mut *c)
                    .await?;
                let g = sqlx::query("DELETE FROM geocodes WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *c)
                    .await?;
                Ok(r.rows_affected() + g.rows_affected())
            })
        }))
        .await
    }

    pub async fn count_calls(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM calls")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get("n")?)
    }

    // ---- geocoding cache -----------------------------------------------------

    /// The cached answer for `key`, if still fresh at `now`: a place for 30 days,
    /// "not found" for an hour, a failure for a minute (so a recovered geocoder is
    /// asked again soon).
    pub async fn geocode_get(&self, key: &str, now: i64) -> Result<Option<GeoCached>, StoreError> {
        let row = sqlx::query("SELECT result, created_at FROM geocodes WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let created: i64 = r.try_get("created_at")?;
        let text: String = r.try_get("result")?;
        let v: GeoCached =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ttl = match v {
            GeoCached::Found { .. } => 30 * 86_400_000,
            GeoCached::NotFound => 3_600_000,
            GeoCached::Failed => 60_000,
        };
        Ok((now - created < ttl).then_some(v))
    }

    pub async fn geocode_put(
        &self,
        key: &str,
        value: &GeoCached,
        now: i64,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let key = key.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO geocodes (key, result, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET result = excluded.result, created_at = excluded.created_at",
                )
                .bind(key)
                .bind(text)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        }))
        .await
    }

    // ---- reservation ledger --------------------------------------------------

    fn reservation_from(r: &AnyRow) -> Result<Reservation, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let code: String = r.try_get("client_code")?;
        let request: String = r.try_get("request")?;
        let outcome: Option<String> = r.try_get("outcome")?;
        let status: String = r.try_get("status")?;
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
        let token = format!("{:016x}", rand::random::<u64>());
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE reservations SET claimed_until = $1, claim_token = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM reservations WHERE status = 'pending' AND next_attempt_at <= $3 \
             AND claimed_until <= $3 ORDER BY next_attempt_at, id LIMIT 1{lock}) \
             AND status = 'pending' AND claimed_until <= $3 \
             RETURNING {RESERVATION_COLUMNS}"
        );
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
        row.as_ref()
            .map(Self::reservation_from)
            .transpose()
            .map(|r| r.map(|reservation| Claim { reservation, token }))
    }

    /// Records the outcome. `false` when the claim was lost (lease expired and
    /// another worker took the row): the result is then not written twice.
    pub async fn finish_claim(
        &self,
        claim: &Claim,
        outcome: &ReservationOutcome,
        now: i64,
    ) -> Result<bool, StoreError> {
        let text =
            serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (id, token) = (claim.reservation.id, claim.token.clone());
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET status = 'done', outcome = $1, attempts = attempts + 1, \
                     claimed_until = 0, claim_token = NULL, last_error = NULL, updated_at = $2 \
                     WHERE id = $3 AND claim_token = $4",
                )
                .bind(text)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Puts the row back for another attempt at `next_at`.
    pub async fn retry_claim(
        &self,
        claim: &Claim,
        error: &str,
        next_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, token, error) = (claim.reservation.id, claim.token.clone(), error.to_string());
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, \
                     claimed_until = 0, claim_token = NULL, updated_at = $3 WHERE id = $4 AND claim_token = $5",
                )
                .bind(next_at)
                .bind(error)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Gives up on the row (dead letter) with the reason.
    pub async fn bury_claim(
        &self,
        claim: &Claim,
        error: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, token, error) = (claim.reservation.id, claim.token.clone(), error.to_string());
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE reservations SET status = 'dead', attempts = attempts + 1, last_error = $1, \
                     claimed_until = 0, claim_token = NULL, updated_at = $2 WHERE id = $3 AND claim_token = $4",
                )
                .bind(error)
                .bind(now)
                .bind(id)
                .bind(token)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Lets a claimed row go without an outcome (its worker is shutting down): the
    /// row is due again at `next_at` for any worker, and the attempt is not counted.
    /// Safe even if the interrupted attempt's `POST` landed: the next attempt looks
    /// the client code up first. `false` when the claim was already lost.
    pub async fn release_claim(
        &self,
        claim: &Claim,
        note: &str,
        next_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE reservations SET next_attempt_at = $1, last_error = $2, claimed_until = 0, \
             claim_token = NULL, updated_at = $3 WHERE id = $4 AND claim_token = $5 \
             AND status = 'pending'",
        )
        .bind(next_at)
        .bind(note)
        .bind(now)
        .bind(claim.reservation.id)
        .bind(&claim.token)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
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
                     updated_at = $1 WHERE id = $2",
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

/// Wall clock in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
