//! What the test suites share (a dev-dependency only):
//! - [`TestDb`]: a fresh SQLite or PostgreSQL store, removed on drop;
//! - [`TestApp`]: the real service on a random loopback port, the OZmap sandbox
//!   as its OZmap, the bundled gazetteer as its geocoder, and the same TwiML
//!   executor that `ozmap-ivr call` uses as the platform;
//! - [`driver`]: a step-by-step platform, for tests that stop between webhooks;
//! - [`proc`]: the real binary as a child process, for tests that kill it;
//! - [`fuzz`]: the fuzz target's property, run on stable by the suites;
//! - [`gazetteer`]: a large generated gazetteer and spoken queries, for benchmarks;
//! - [`tutorial`]: the tutorial's client, address and place (from `ivr-core`).

mod db;
pub mod driver;
pub mod fuzz;
pub mod gazetteer;
pub mod proc;

pub use db::TestDb;
pub use ivr_core::tutorial;

use clap::Parser;
use ivr_tools::caller::{Answer, CallReport, Caller, CallerOptions, Scripted};
use ozmap_ivr::Application;
use ozmap_ivr::{Config, ServeArgs};
use ozmap_sandbox::{self as sandbox, Network, SandboxServer};
use std::net::TcpListener;

pub const TOKEN: &str = "test-ozmap-token";

#[derive(Parser)]
#[command(args_override_self = true)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

/// Flags that decide how webhooks are checked. The sandbox given as `OZMAP_URL`
/// counts as a real OZmap, so without one of these the tests pass
/// `--allow-unsigned` (the service refuses to start otherwise).
const SIGNING_FLAGS: [&str; 5] = [
    "--twilio-auth-token",
    "--twilio-webhook-keys",
    "--signalwire-signing-key",
    "--telnyx-public-key",
    "--allow-unsigned",
];

/// The configuration the tests start from; `extra` are flags as on the command line.
pub fn config(db: &str, ozmap_url: &str, extra: &[&str]) -> Config {
    let mut args = vec![
        "test".to_string(),
        "--bind=127.0.0.1:0".into(),
        format!("--database-url={db}"),
        format!("--ozmap-url={ozmap_url}"),
        format!("--ozmap-token={TOKEN}"),
        "--geocoder=gazetteer".into(),
        "--ozmap-timeout-ms=800".into(),
        // A POST that got no answer is sent again after 3 s, not a minute.
        "--ozmap-commit-wait-ms=3000".into(),
        "--poll-pause-s=1".into(),
    ];
    if !extra
        .iter()
        .any(|e| SIGNING_FLAGS.iter().any(|f| e.starts_with(f)))
    {
        args.push("--allow-unsigned".into());
    }
    // The call ends after the outcome, as before visits, unless a test asks
    // for an agenda (`--schedule=builtin`, tests/it/visits.rs).
    if !extra.iter().any(|e| e.starts_with("--schedule=")) {
        args.push("--schedule=none".into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Cli::try_parse_from(args)
        .expect("test flags")
        .serve
        .validate()
        .expect("valid test config")
}

pub struct TestApp {
    pub voice_url: String,
    pub base_url: String,
    /// The running service's state (counters, configuration).
    pub state: actix_web::web::Data<ozmap_ivr::AppState>,
    pub sandbox: SandboxServer,
    pub db: TestDb,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn start_sandbox() -> SandboxServer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    sandbox::start(Network::builtin(), TOKEN, l)
        .await
        .expect("sandbox")
}

impl TestApp {
    pub async fn spawn(extra: &[&str]) -> TestApp {
        let sandbox = start_sandbox().await;
        Self::spawn_with(sandbox, TestDb::sqlite(), extra).await
    }

    pub async fn spawn_with(sandbox: SandboxServer, db: TestDb, extra: &[&str]) -> TestApp {
        let cfg = config(&db.url, &sandbox.base_url(), extra);
        let app = Application::build(cfg).await.expect("application");
        let base_url = app.public_url.clone();
        let state = app.state.clone();
        let handle = app.handle();
        let task = tokio::spawn(app.run());
        TestApp {
            voice_url: format!("{base_url}/voice"),
            base_url,
            state,
            sandbox,
            db,
            handle,
            task,
        }
    }

    /// Stops the service (the sandbox and the database stay).
    pub async fn stop(self) -> (SandboxServer, TestDb) {
        self.handle.stop(true).await;
        let _ = self.task.await;
        (self.sandbox, self.db)
    }

    pub fn caller(&self) -> Caller {
        self.caller_with(|_| {})
    }

    /// A caller with changed options (a signing token, another number, a fixed CallSid).
    pub fn caller_with(&self, change: impl FnOnce(&mut CallerOptions)) -> Caller {
        let mut opts = CallerOptions {
            url: self.voice_url.clone(),
            pause_scale: 0.05,
            max_requests: 150,
            ..CallerOptions::default()
        };
        change(&mut opts);
        Caller::new(opts).expect("caller")
    }

    pub async fn call(&self, answers: Vec<Answer>) -> CallReport {
        self.call_with(|_| {}, answers).await
    }

    pub async fn call_with(
        &self,
        change: impl FnOnce(&mut CallerOptions),
        answers: Vec<Answer>,
    ) -> CallReport {
        let mut script = Scripted::new(answers);
        self.caller_with(change)
            .run(&mut script, &mut |_| {})
            .await
            .expect("the call runs to its end")
    }
}

pub fn keys(k: &str) -> Answer {
    Answer::Keys(k.to_string())
}

pub fn say(s: &str) -> Answer {
    Answer::Speech(s.to_string())
}

pub fn silence() -> Answer {
    Answer::Silence
}

/// Everything the caller heard, as one text.
pub fn heard(r: &CallReport) -> String {
    r.said().join(" | ")
}
