//! Group commit for SQLite: one writer connection, many writes per fsync.
//!
//! With `synchronous=FULL` every SQLite commit waits for the disk to confirm the
//! write-ahead log (an `fsync`, several milliseconds on a virtual disk). SQLite
//! has no group commit of its own, and writers on separate connections take turns
//! through its busy handler, which sleeps (1, 2, 5, 10 … ms) between tries: under
//! load, webhooks queued behind one another for the lock, some for seconds.
//!
//! So every write of the store goes to one task that owns the only writing
//! connection. It takes every write waiting (up to [`MAX_BATCH`]), runs them in
//! one `BEGIN IMMEDIATE` transaction, commits once, and only then tells each
//! writer it succeeded (a write that fails is told at once, and the batch is cut
//! there: see [`commit_batch`]). Durability is unchanged: nobody hears "done"
//! before the `fsync` that holds their write; what changes is that one `fsync`
//! serves every write that arrived while the previous one was on disk.
//!
//! The rule every write keeps: a write of one statement may run it directly; a
//! write of several statements opens its own nested transaction (`begin()` on the
//! connection, a savepoint inside the batch), so that when it fails half-way the
//! batch commits none of it (see `Store::advance_call`, which writes the call state
//! and the ledger row together or not at all).
//!
//! Reads stay on the pool: in WAL mode readers never wait for the writer, and a
//! read that starts after a write was acknowledged sees it.
//!
//! Checkpoints (copying the log into the database file) are mostly taken off
//! the writer's path. SQLite runs one inside the commit that takes the log past
//! 1000 pages, and every write queued behind it waits while megabytes are written
//! and synced (stalls of a quarter of a second were measured on a shared virtual
//! disk at 200 writes/s). A second connection runs a `PASSIVE` checkpoint every
//! [`CHECKPOINT_EVERY`], which blocks neither the writer nor the readers, so when
//! the writer's own checkpoint comes there is little or nothing left to copy; it
//! is kept because only a checkpoint right after a commit lets the next write
//! start the log over (without it the log grows without end under steady load).
//! Durability is not touched: a commit is durable once the log is synced.

use super::StoreError;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, Connection, Executor};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed together.
pub(super) const MAX_BATCH: usize = 512;
/// How often the log is copied into the database file beside the writer.
pub(super) const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Opens a connection to the database (the writer's, or the checkpointer's).
type Connect = std::sync::Arc<
    dyn Fn() -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> + Send + Sync,
>;

/// Tells a write how its batch's commit went.
type Done = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One write: runs on the writer's connection inside the batch's transaction (or
/// is told why it cannot), and returns how to report the commit, or `None` when
/// it failed and has reported that already.
type Job = Box<
    dyn for<'c> FnOnce(Result<&'c mut AnyConnection, String>) -> BoxFuture<'c, Option<Done>> + Send,
>;

/// The handle to the writer task. Dropping every handle ends the task.
#[derive(Debug)]
pub(super) struct Writer {
    tx: mpsc::Sender<Job>,
}

fn not_committed(why: impl Into<String>) -> StoreError {
    StoreError::NotCommitted(why.into())
}

impl Writer {
    /// Starts the writer task and the checkpointer on the current runtime;
    /// `connect` opens (and reopens, after a failure) their connections.
    pub(super) fn spawn<C>(connect: C) -> Writer
    where
        C: Fn() -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> + Send + Sync + 'static,
    {
        let connect: Connect = std::sync::Arc::new(connect);
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let checkpointer = tokio::spawn(checkpoints(connect.clone()));
        tokio::spawn(async move {
            run(connect, rx).await;
            checkpointer.abort();
        });
        Writer { tx }
    }

    /// Runs `op` on the writing connection, in a transaction shared with other
    /// writes, and returns its result once that transaction is durably committed.
    pub(super) async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let conn = match conn {
                    Ok(c) => c,
                    Err(why) => {
                        let _ = reply.send(Err(not_committed(why)));
                        return None;
                    }
                };
                match op(conn).await {
                    Ok(value) => Some(Box::new(move |committed: Result<(), String>| {
                        let _ = reply.send(committed.map(|()| value).map_err(not_committed));
                    }) as Done),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        None
                    }
                }
            })
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| not_committed("the SQLite writer has stopped"))?;
        answer
            .await
            .map_err(|_| not_committed("the write was abandoned (a panic in the store)"))?
    }
}

/// Copies the log into the database file now and then (see the module docs).
async fn checkpoints(connect: Connect) {
    let mut conn: Option<AnyConnection> = None;
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if conn.is_none() {
            match connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "store: cannot open the checkpoint connection");
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut()
            && let Err(e) = c.execute("PRAGMA wal_checkpoint(PASSIVE)").await
        {
            tracing::warn!(error = %e, "store: checkpoint failed; will try again");
            conn = None;
        }
    }
}

async fn run(connect: Connect, mut rx: mpsc::Receiver<Job>) {
    let mut conn: Option<AnyConnection> = None;
    let mut batch: VecDeque<Job> = VecDeque::with_capacity(MAX_BATCH);
    let mut incoming: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        if batch.is_empty() {
            if rx.recv_many(&mut incoming, MAX_BATCH).await == 0 {
                return;
            }
            batch.extend(incoming.drain(..));
        } else {
            // Writes carried over from a batch cut short come first.
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push_back(job),
                    Err(_) => break,
                }
            }
        }
        if conn.is_none() {
            match connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "store: cannot open the SQLite writer connection");
                    fail_all(&mut batch, &format!("cannot open the database: {e}")).await;
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut()
            && !commit_batch(c, &mut batch).await
        {
            // The connection may be broken: open a fresh one for the next batch.
            conn = None;
        }
    }
}

async fn fail_all(batch: &mut VecDeque<Job>, why: &str) {
    for job in batch.drain(..) {
        let _ = job(Err(why.to_string())).await;
    }
}

/// Runs writes from the front of `batch` in one transaction and commits them.
/// A write that fails (or panics) is told so at once and ends the batch there:
/// the writes before it are committed, the ones after it stay in `batch` for the
/// next transaction. No savepoint per write is needed for that: a failed
/// statement undoes itself, a write of several statements runs them in a
/// transaction of its own (a savepoint here), and an error that aborts the whole
/// transaction makes the commit fail, which every write before it is told.
/// `false` when the connection looks unusable.
async fn commit_batch(conn: &mut AnyConnection, batch: &mut VecDeque<Job>) -> bool {
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "store: cannot begin a write transaction");
            fail_all(batch, &format!("cannot begin a transaction: {e}")).await;
            return false;
        }
    };
    let mut done: Vec<Done> = Vec::with_capacity(batch.len());
    while let Some(job) = batch.pop_front() {
        match AssertUnwindSafe(job(Ok(&mut *tx))).catch_unwind().await {
            Ok(Some(d)) => done.push(d),
            Ok(None) => break,
            Err(_) => {
                tracing::error!("store: a write panicked; its batch ends there");
                break;
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for d in done {
                d(Ok(()));
            }
            true
        }
        Err(e) => {
            tracing::error!(error = %e, writes = done.len(), "store: write batch commit failed");
            let why = format!("the commit failed: {e}");
            for d in done {
                d(Err(why.clone()));
            }
            // Make sure nothing is left open on the connection.
            let _ = conn.execute("ROLLBACK").await;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    async fn writer() -> (Writer, String, std::path::PathBuf) {
        sqlx::any::install_default_drivers();
        let path = std::env::temp_dir().join(format!(
            "ozmap-ivr-commit-{:016x}.db",
            rand::random::<u64>()
        ));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut c = AnyConnection::connect(&url).await.unwrap();
        c.execute("PRAGMA journal_mode = WAL").await.unwrap();
        c.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .await
            .unwrap();
        drop(c);
        let u = url.clone();
        let w = Writer::spawn(move || {
            let u = u.clone();
            Box::pin(async move { AnyConnection::connect(&u).await })
        });
        (w, url, path)
    }

    fn insert(
        k: i64,
    ) -> impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<u64, StoreError>>
    + Send
    + 'static {
        move |c| {
            Box::pin(async move {
                Ok(sqlx::query("INSERT INTO t (k, v) VALUES ($1, 'x')")
                    .bind(k)
                    .execute(&mut *c)
                    .await?
                    .rows_affected())
            })
        }
    }

    #[tokio::test]
    async fn concurrent_writes_all_commit_and_a_failing_one_is_rolled_back_alone() {
        let (w, url, path) = writer().await;
        let w = std::sync::Arc::new(w);
        let mut tasks = Vec::new();
        for k in 0..300 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move { w.write(insert(k)).await }));
        }
        // In the same stream of writes: one that inserts, then fails; the writes
        // queued behind it go on in the next transaction.
        let bad = {
            let w = w.clone();
            tokio::spawn(async move {
                w.write(|c: &mut AnyConnection| {
                    Box::pin(async move {
                        // Several statements: a transaction of its own (a savepoint).
                        let mut tx = c.begin().await?;
                        sqlx::query("INSERT INTO t (k, v) VALUES (1000, 'half')")
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("INSERT INTO no_such_table VALUES (1)")
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                })
                .await
            })
        };
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
        assert!(bad.await.unwrap().is_err());
        // A duplicate key is refused, and the writer goes on.
        assert!(w.write(insert(5)).await.is_err());
        assert_eq!(w.write(insert(500)).await.unwrap(), 1);
        let mut c = AnyConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t WHERE k < 1000")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(n, 301);
        let half: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t WHERE k = 1000")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(
            half, 0,
            "the failed write's first statement was rolled back"
        );
        drop(c);
        drop(w);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn a_write_that_panics_fails_alone_and_the_writer_goes_on() {
        let (w, _url, path) = writer().await;
        let panicked = w
            .write(
                |_c: &mut AnyConnection| -> BoxFuture<'_, Result<(), StoreError>> {
                    Box::pin(async move { panic!("a bug in a write") })
                },
            )
            .await;
        assert!(
            matches!(panicked, Err(StoreError::NotCommitted(_))),
            "{panicked:?}"
        );
        assert_eq!(w.write(insert(1)).await.unwrap(), 1);
        drop(w);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
