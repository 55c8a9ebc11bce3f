//! The real `ozmap-ivr` binary as a child process, for tests that kill it.
//!
//! Each [`Service`] runs `ozmap-ivr serve` on a fixed loopback port (kept across
//! restarts, so the action URLs a caller holds stay valid), against a store given
//! by URL ([`crate::TestDb`]) and the OZmap sandbox running in the test process.
//! Its log goes to a file, read back by the tests.

use super::driver::PLATFORM_TOKEN;
use ozmap_sandbox::SandboxServer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The bearer token the services under test accept on `/admin/reservations`.
pub const ADMIN_TOKEN: &str = "admin-test-token-0123456789";

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `ozmap-ivr serve` as a child process.
pub struct Service {
    exe: PathBuf,
    child: Option<Child>,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub log: PathBuf,
    env: Vec<(String, String)>,
    /// Times started, and times killed with SIGKILL.
    pub starts: usize,
    pub kills: usize,
    http: reqwest::Client,
}

impl Service {
    /// Starts `exe` (the `ozmap-ivr` binary, `env!("CARGO_BIN_EXE_ozmap-ivr")` in
    /// its integration tests) as the service on a new port and waits until it
    /// answers. `env` comes on top of the test defaults (and may replace them).
    pub async fn start(
        exe: impl AsRef<Path>,
        db_url: &str,
        ozmap_url: &str,
        env: &[(&str, &str)],
    ) -> Service {
        let port = free_port();
        let mut vars: Vec<(String, String)> = [
            ("IVR_BIND", format!("127.0.0.1:{port}")),
            ("IVR_DATABASE_URL", db_url.to_string()),
            ("OZMAP_URL", ozmap_url.to_string()),
            ("OZMAP_TOKEN", super::TOKEN.to_string()),
            ("GEOCODER", "gazetteer".into()),
            // Far above a loopback sandbox's answer, and a commit wait just
            // past it: a POST whose answer never came (a kill, a hang) is sent
            // again after 5 s, not after the minute a real tenant is given.
            ("OZMAP_TIMEOUT_MS", "4000".into()),
            ("OZMAP_COMMIT_WAIT_MS", "5000".into()),
            ("IVR_POLL_PAUSE_S", "1".into()),
            ("IVR_WORKER_LEASE_MS", "3000".into()),
            ("IVR_RETRY_BASE_MS", "300".into()),
            ("IVR_SHUTDOWN_GRACE_MS", "1000".into()),
            ("IVR_ADMIN_TOKEN", ADMIN_TOKEN.into()),
            ("TWILIO_AUTH_TOKEN", PLATFORM_TOKEN.into()),
            // Every test call comes from the same number: no per-caller limit here.
            ("IVR_RATE_CALLS_PER_MINUTE", "0".into()),
            // No visit offered unless a test asks for an agenda.
            ("SCHEDULE", "none".into()),
            (
                "RUST_LOG",
                "info,sqlx=warn,actix_server=warn,actix_web=warn".into(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in env {
            vars.retain(|(name, _)| name != k);
            vars.push((k.to_string(), v.to_string()));
        }
        let log = std::env::temp_dir().join(format!(
            "ozmap-ivr-proc-{port}-{:08x}.log",
            rand::random::<u32>()
        ));
        let mut s = Service {
            exe: exe.as_ref().to_path_buf(),
            child: None,
            port,
            base: format!("http://127.0.0.1:{port}"),
            log,
            env: vars,
            starts: 0,
            kills: 0,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        };
        s.spawn().await;
        s
    }

    async fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut cmd = Command::new(&self.exe);
        cmd.arg("serve")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        self.child = Some(cmd.spawn().expect("start ozmap-ivr serve"));
        self.starts += 1;
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "ozmap-ivr serve exited at start ({status}); its log:\n{}",
                    self.log_text()
                );
            }
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ozmap-ivr serve did not answer /healthz; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9`, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // std's kill is SIGKILL on unix
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            self.kills += 1;
        }
    }

    /// Sends SIGTERM (a graceful stop); see [`Service::wait_exit`].
    pub fn terminate(&mut self) {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: sending a signal to our own child process by its pid.
        let r = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(r, 0, "SIGTERM could not be sent");
    }

    /// Waits for the process to end by itself; `None` if it did not within `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts it again on the same port and store.
    pub async fn restart(&mut self) {
        self.spawn().await;
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it holds `needle`, or as it stands after `within`: the
    /// service's log lines reach the file a moment after what they tell of
    /// (a row written, an answer sent).
    pub async fn log_when(&self, needle: &str, within: std::time::Duration) -> String {
        let until = std::time::Instant::now() + within;
        loop {
            let log = self.log_text();
            if log.contains(needle) || std::time::Instant::now() >= until {
                return log;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn count_in_log(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }

    /// The metrics text, through `GET /metrics`.
    pub async fn metrics(&self) -> String {
        let r = self
            .http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("metrics endpoint answers");
        assert_eq!(r.status(), 200);
        r.text().await.expect("metrics text")
    }

    /// The ledger, through `GET /admin/reservations`.
    pub async fn ledger(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/admin/reservations?limit=1000", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin endpoint answers");
        assert_eq!(r.status(), 200);
        r.json::<Vec<Value>>().await.expect("a JSON array")
    }

    /// Waits until every row of the ledger is `done` and there are `n` of them.
    pub async fn wait_ledger_done(&self, n: usize, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let rows = self.ledger().await;
            if rows.len() == n && rows.iter().all(|r| r["status"] == "done") {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "the ledger did not finish: {rows:#?}\nlog:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        } else {
            eprintln!("service log kept at {}", self.log.display());
        }
    }
}

/// What OZmap holds for a client code (the sandbox's own look-up).
pub async fn properties_of(sandbox: &SandboxServer, code: &str) -> Vec<Value> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
        .get(format!(
            "{}/api/v2/properties/client/{code}",
            sandbox.base_url()
        ))
        .header("Authorization", super::TOKEN)
        .send()
        .await
        .expect("sandbox answers")
        .json::<Vec<Value>>()
        .await
        .expect("a JSON array")
}

/// The outcome of a run, as the closing note reports it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub calls: usize,
    pub kills: usize,
    pub reservations: usize,
    pub posts: usize,
    pub duplicates: usize,
    pub lost: usize,
}

impl Tally {
    pub fn print(&self, name: &str) {
        eprintln!(
            "FIGURES {name}: calls={} killed={} reservations={} posts={} duplicates={} lost={}",
            self.calls, self.kills, self.reservations, self.posts, self.duplicates, self.lost
        );
    }
}

/// Every confirmed code has exactly one property in OZmap, and exactly one done
/// ledger row pointing at it; nothing else was created. `ledger` is the admin
/// view of the rows. Returns the counts (duplicates and lost included, for the
/// figures); the caller asserts on them.
pub async fn tally(sandbox: &SandboxServer, ledger: &[Value], codes: &[String]) -> Tally {
    let mut t = Tally {
        posts: sandbox.property_posts(),
        ..Tally::default()
    };
    for code in codes {
        let rows: Vec<&Value> = ledger
            .iter()
            .filter(|r| r["client_code"] == *code)
            .collect();
        let props = properties_of(sandbox, code).await;
        t.duplicates += props.len().saturating_sub(1) + rows.len().saturating_sub(1);
        let done = rows.iter().find(|r| {
            r["status"] == "done"
                && matches!(r["outcome"].as_str(), Some("reserved" | "existing"))
                && props.iter().any(|p| p["id"] == r["property_id"])
        });
        if done.is_some() {
            t.reservations += 1;
        } else {
            t.lost += 1;
        }
    }
    // properties beyond one per code
    t.duplicates += sandbox.properties().len().saturating_sub(codes.len());
    // a second POST for a code that already holds a property is refused (409) and
    // makes the reservation fall through to a lead: any lead is a duplicate try
    t.duplicates += sandbox.prospects().len();
    t
}
