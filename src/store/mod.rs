//! Durable state: calls, the geocoding cache, the reservation ledger, the SMS
//! outbox, the webhook signatures already accepted, and the WhatsApp channel's
//! inbox, conversations and outbox.
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

mod calls;
mod commit;
mod funnel;
mod geocache;
mod inbox;
mod ledger;
mod life;
mod location_links;
mod messages;
mod privacy;
mod schema;
mod signatures;
mod visit_jobs;
mod visit_messages;
mod visit_ops;
mod visits;
mod whatsapp;

pub(crate) use funnel::{CallOutcome, CallTrace};
pub(crate) use inbox::{InboxClaim, KeptMessage};
pub(crate) use ledger::{LedgerDone, Recheck};
pub(crate) use life::Life;
pub(crate) use life::{DAY_MS, LifeDone, LifeJob, LifeMark};
pub(crate) use location_links::{LinkPosition, LiveLink};
pub use messages::{Message, MessageStatus};
pub(crate) use messages::{MessageClaim, NewMessage};
pub(crate) use privacy::{EraseError, Erasure, Subject, normalise_phone};
pub(crate) use schema::schema_versions;
pub(crate) use visit_jobs::{ErpAction, VisitJob};
pub(crate) use visit_messages::VisitMessage;
pub(crate) use visit_ops::{Notice, Tell, VisitChange, VisitChanged};
pub(crate) use visits::{Booking, NewVisit, PeriodUse, Visit, VisitStatus};
pub use whatsapp::ChatReply;
pub(crate) use whatsapp::{ChatClaim, ChatWrite, ChatWritten};

use futures_util::future::BoxFuture;
use ivr_core::domain::{ClientCode, ReservationOutcome, ReservationRequest};
use ivr_core::flow::Call;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
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
    /// The steps the call reached, `,ask_code,…,` (see `funnel`).
    pub steps: String,
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

/// The key a WhatsApp conversation has in the calls table (and its ledger
/// row's `call_sid`): `wa:` and the client's `wa_id`.
pub(crate) const CHAT_KEY_PREFIX: &str = "wa:";

impl Reservation {
    /// Made in a WhatsApp conversation: the outcome goes back in the chat, not
    /// by SMS.
    pub(crate) fn made_in_chat(&self) -> bool {
        self.call_sid.starts_with(CHAT_KEY_PREFIX)
    }
}

/// Where the store is: `sqlite://FILE` or `postgres://...` (read and checked
/// by `config`).
#[derive(Clone, Debug)]
pub(crate) struct DatabaseSettings {
    pub url: String,
}

impl DatabaseSettings {
    /// Opens the store (and migrates it).
    pub(crate) async fn connect(&self) -> Result<Store, StoreError> {
        Store::connect(&self.url).await
    }
}

/// How a claimed row is settled, fenced by its claim's token: the one
/// vocabulary of every outbox (`outbox` runs the jobs and picks the settle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Settle<T> {
    /// The job is done (`T`: what it came to, e.g. the provider's message id).
    Done(T),
    /// Failed in a way worth retrying: due again `at`; the attempt counts.
    RetryLater { at: i64, error: String },
    /// Given up (refused, or out of attempts): an operator must look.
    DeadLetter { error: String },
    /// Let go unfinished (shutdown, or waiting for something outside): due
    /// again `at`; the attempt does not count.
    Released { at: i64, note: String },
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
    /// The time (Unix ms) of a property POST whose answer is not known: OZmap
    /// may still commit it, so nothing is POSTed again before
    /// `OZMAP_COMMIT_WAIT_MS` after it (see `reserve`). On a finished row: it
    /// finished after such a POST (a copy of its property may still come).
    pub uncertain_since: Option<i64>,
    /// A finished row the worker looks at again at this time (a copy of its
    /// property committed late, a box name not read yet).
    pub recheck_at: Option<i64>,
    /// Copies of the row's property that the worker deleted in OZmap.
    pub duplicates_removed: Vec<String>,
    /// The reservation's life after it was made (see [`life`]).
    pub life: Life,
}

/// A claimed ledger row: only the holder of `token` may record its result.
#[derive(Clone, Debug)]
pub struct Claim {
    pub reservation: Reservation,
    pub token: String,
    /// A life job's claim ([`Store::claim_life`]): what the worker does.
    pub(crate) life: Option<LifeJob>,
}

/// What the geocoder answered for a query, cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeoCached {
    Found {
        place: ivr_core::domain::Place,
    },
    /// The best match, not a sure one.
    Guess {
        place: ivr_core::domain::Place,
    },
    /// Two close candidates, the likelier first.
    Choice {
        first: ivr_core::domain::Place,
        second: ivr_core::domain::Place,
    },
    /// The CEP names only a town.
    TownOnly {
        town: ivr_core::domain::Town,
    },
    NotFound,
    Failed,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite on a file: the one writing connection, with group commit.
    writer: Option<Arc<commit::Writer>>,
    /// Told whenever a ledger row gets its final state on this instance, so a
    /// webhook waiting on the reservation wakes at once (see `http::reserving`).
    ledger_settled: Arc<tokio::sync::Notify>,
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
     next_attempt_at, last_error, created_at, updated_at, uncertain_since, recheck_at, \
     duplicates_removed, reserved_at, installed_at, implanted_at, released_at, release_asked_at, \
     life_due_at, life_attempts, life_error, life_dead_at";

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
            ledger_settled: Arc::new(tokio::sync::Notify::new()),
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

    /// Notified (all waiters) after a ledger row of this instance got its final
    /// state. Rows settled by another instance are not told: poll as well.
    pub(crate) fn ledger_settled(&self) -> &tokio::sync::Notify {
        &self.ledger_settled
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
}

/// Wall clock in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod messages_tests;
#[cfg(test)]
mod privacy_tests;
#[cfg(test)]
pub(crate) mod tests;
