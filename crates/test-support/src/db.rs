//! One test database for every suite: a temporary SQLite file, or a new
//! database on the PostgreSQL server named by `IVR_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; skipped, with a line on stderr
//! saying so, when none answers). Removed on drop.

use sqlx::any::AnyPoolOptions;
use sqlx::{AssertSqlSafe, Executor};
use std::path::PathBuf;
use std::time::Duration;

/// A fresh store, removed on drop.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin: String, name: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let path =
            std::env::temp_dir().join(format!("ozmap-ivr-test-{:016x}.db", rand::random::<u64>()));
        TestDb {
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::File(path),
        }
    }

    /// A new database on the test PostgreSQL server; `None` (and a message on
    /// stderr naming `test`) when no server answers.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let admin = std::env::var("IVR_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        sqlx::any::install_default_drivers();
        let pool = match AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(3))
            .connect(&admin)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!(
                    "SKIPPED {test} on PostgreSQL: no server at IVR_TEST_POSTGRES_URL ({e}); \
                     `.ci/run` starts one"
                );
                return None;
            }
        };
        let name = format!("ivr_test_{:016x}", rand::random::<u64>());
        pool.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create a test database");
        pool.close().await;
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        Some(TestDb {
            url: format!("{base}/{name}"),
            cleanup: Cleanup::Database { admin, name },
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Database { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin, name } => {
                let (admin, name) = (admin.clone(), name.clone());
                // Drop cannot await: a runtime of its own, on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(pool) = AnyPoolOptions::new()
                            .max_connections(1)
                            .connect(&admin)
                            .await
                        {
                            let _ = pool
                                .execute(AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                )))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

impl TestDb {
    /// A SQLite store, and a PostgreSQL one when a server answers: the same
    /// test runs on both.
    pub async fn all(test: &str) -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite()];
        v.extend(TestDb::postgres(test).await);
        v
    }
}
