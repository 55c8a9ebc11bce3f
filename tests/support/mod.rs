//! Black-box test support: the real service on a random loopback port, the OZmap
//! sandbox as its OZmap, the bundled gazetteer as its geocoder, and the same TwiML
//! executor that `ozmap-ivr call` uses as the platform.

#![allow(dead_code)]

pub mod driver;
pub mod proc;

use clap::Parser;
use ozmap_ivr::app::Application;
use ozmap_ivr::caller::{Answer, CallReport, Caller, CallerOptions, Scripted};
use ozmap_ivr::config::{Config, ServeArgs};
use ozmap_ivr::sandbox::{self, Network, SandboxServer};
use std::net::TcpListener;
use std::path::PathBuf;

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
        "--poll-pause-s=1".into(),
    ];
    if !extra
        .iter()
        .any(|e| SIGNING_FLAGS.iter().any(|f| e.starts_with(f)))
    {
        args.push("--allow-unsigned".into());
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
    pub state: actix_web::web::Data<ozmap_ivr::app::AppState>,
    pub sandbox: SandboxServer,
    pub db_path: PathBuf,
    pub db_url: String,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub fn temp_db() -> (PathBuf, String) {
    let path = std::env::temp_dir().join(format!("ozmap-ivr-bb-{:016x}.db", rand::random::<u64>()));
    let url = format!("sqlite://{}", path.display());
    (path, url)
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
        let (db_path, db_url) = temp_db();
        Self::spawn_with(sandbox, db_path, db_url, extra).await
    }

    pub async fn spawn_with(
        sandbox: SandboxServer,
        db_path: PathBuf,
        db_url: String,
        extra: &[&str],
    ) -> TestApp {
        let cfg = config(&db_url, &sandbox.base_url(), extra);
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
            db_path,
            db_url,
            handle,
            task,
        }
    }

    /// Stops the service (the sandbox and the database stay).
    pub async fn stop(self) -> (SandboxServer, PathBuf, String) {
        self.handle.stop(true).await;
        let _ = self.task.await;
        (self.sandbox, self.db_path, self.db_url)
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
