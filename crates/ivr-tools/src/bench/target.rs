//! The servers under load: the service (a running one, or one the bench starts
//! as a child process or in process through [`Service`]), the ceiling, the OZmap
//! sandbox they reserve in, and the seeding of a large store.

use super::args::{BenchArgs, ServerKind};
use super::ceiling;
use super::stats::{ProcSample, proc_sample};
use crate::caller::{CallError, Caller, CallerOptions, Scripted};
use anyhow::Context;
use futures_util::future::BoxFuture;
use ivr_core::flow::Call;
use ivr_core::tutorial;
use ozmap_sandbox::{self as sandbox, Network, NetworkSplitter, SandboxServer, TUTORIAL_BOX_ID};
use secrecy::SecretString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Token of the sandbox the bench runs.
pub(super) const SANDBOX_TOKEN: &str = "bench-sandbox-token";
/// Longest the bench waits for a started service to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the bench needs of the service beyond its webhooks: to run it inside
/// the bench's own process (`--server in-process`) and to fill its store before
/// the start (`--seed-calls`). The `ozmap-ivr` binary gives its own; this crate
/// knows nothing else of the service.
pub trait Service: Send + Sync {
    /// Starts the service on the current runtime with these `ozmap-ivr serve`
    /// flags, checking signatures with `auth_token` when one is given.
    fn start(
        &self,
        flags: Vec<String>,
        auth_token: Option<SecretString>,
    ) -> BoxFuture<'_, anyhow::Result<InProcess>>;

    /// Stores `calls` (CallSid, state, last answer) in the store at
    /// `database_url`, skipping CallSids it holds; answers how many were added.
    fn store_calls<'a>(
        &'a self,
        database_url: &'a str,
        calls: SeedCalls<'a>,
    ) -> BoxFuture<'a, anyhow::Result<u64>>;
}

/// Calls to store before the start, made as they are stored.
pub type SeedCalls<'a> = Box<dyn Iterator<Item = (String, Call, String)> + Send + 'a>;

/// A service running inside this process.
pub struct InProcess {
    pub handle: actix_web::dev::ServerHandle,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// How a server under load runs, and so how it is measured and stopped.
enum Running {
    External,
    Child {
        child: Box<tokio::process::Child>,
        pid: u32,
        log: PathBuf,
    },
    InProcess {
        handle: actix_web::dev::ServerHandle,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    },
}

/// A server under load.
pub(super) struct Target {
    pub(super) base: String,
    pub(super) voice: String,
    running: Running,
}

impl Target {
    /// A service the bench did not start, at these URLs.
    pub(super) fn external(base: String, voice: String) -> Self {
        Self {
            base,
            voice,
            running: Running::External,
        }
    }

    /// The pid of the server when the bench runs it as a child process.
    pub(super) fn child_pid(&self) -> Option<u32> {
        match &self.running {
            Running::Child { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// Whether the server runs inside the bench process (its CPU and memory are
    /// the bench's).
    pub(super) fn in_process(&self) -> bool {
        matches!(self.running, Running::InProcess { .. })
    }

    /// The server's memory and CPU now (`None`: not known).
    pub(super) fn sample(&self) -> Option<ProcSample> {
        match &self.running {
            Running::External => None,
            Running::Child { pid, .. } => proc_sample(Some(*pid)),
            Running::InProcess { .. } => proc_sample(None),
        }
    }

    fn has_exited(&mut self) -> bool {
        match &mut self.running {
            Running::Child { child, .. } => !matches!(child.try_wait(), Ok(None)),
            _ => false,
        }
    }

    fn log_tail(&self) -> String {
        match &self.running {
            Running::Child { log, .. } => {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            }
            _ => String::new(),
        }
    }

    pub(super) async fn stop(self) {
        match self.running {
            Running::External => {}
            Running::Child { mut child, pid, .. } => {
                // SIGTERM by pid (a graceful stop), then SIGKILL if it lingers.
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
                if tokio::time::timeout(Duration::from_secs(15), child.wait())
                    .await
                    .is_err()
                {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                }
            }
            Running::InProcess { handle, task } => {
                handle.stop(true).await;
                let _ = task.await;
            }
        }
    }
}

/// A loopback port free now (the child binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `serve` flags for a service on `port` with this store and OZmap.
fn serve_flags(port: u16, database_url: &str, ozmap_url: &str) -> Vec<String> {
    vec![
        format!("--bind=127.0.0.1:{port}"),
        format!("--public-url=http://127.0.0.1:{port}"),
        format!("--database-url={database_url}"),
        format!("--ozmap-url={ozmap_url}"),
        "--geocoder=gazetteer".to_string(),
        // The load comes from one address and one caller number: the limits that
        // guard against floods would measure themselves, not the service.
        "--rate-calls-per-minute=0".to_string(),
        "--rate-requests-per-second=0".to_string(),
        // Signed when the bench has a token; otherwise the sandbox run is unsigned.
        "--allow-unsigned".to_string(),
    ]
}

/// The sandbox network of a bench run: the bundled one, with `extra` more 1x128
/// drop splitters (connected to a PON) in the tutorial box.
fn bench_network(extra: u64) -> Network {
    let mut n = Network::builtin();
    for i in 0..extra {
        n.splitters.push(NetworkSplitter {
            id: format!("bec4{i:020x}"),
            name: format!("SPL-BENCH-{i:03}"),
            parent: TUTORIAL_BOX_ID.to_string(),
            is_drop: true,
            pon: true,
            ports: 128,
            used: Vec::new(),
            blocked: Vec::new(),
        });
    }
    n
}

pub(super) async fn start_sandbox(concurrency: u64) -> anyhow::Result<SandboxServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let extra = concurrency.div_ceil(128) + 1;
    sandbox::start(bench_network(extra), SANDBOX_TOKEN, listener)
        .await
        .context("cannot start the OZmap sandbox")
}

/// Waits until `POST /voice` is answered; the time since `t0`.
pub(super) async fn wait_first_answer(
    caller: &Caller,
    target: &mut Target,
    t0: Instant,
) -> anyhow::Result<Duration> {
    let greet = caller.with_options(CallerOptions {
        url: target.voice.clone(),
        max_requests: 1,
        think: Duration::ZERO,
        ..caller.options().clone()
    })?;
    loop {
        let outcome = greet.run(&mut Scripted::default(), &mut |_| {}).await;
        if matches!(outcome, Err(CallError::TooManyRequests { .. })) {
            return Ok(t0.elapsed());
        }
        if target.has_exited() {
            anyhow::bail!(
                "the service exited before answering; its log ends with:\n{}",
                target.log_tail()
            );
        }
        if t0.elapsed() > START_TIMEOUT {
            anyhow::bail!(
                "the service did not answer within {START_TIMEOUT:?} (last: {outcome:?}); log:\n{}",
                target.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub(super) async fn start_service(
    service: &dyn Service,
    args: &BenchArgs,
    caller: &Caller,
    database_url: &str,
    ozmap_url: &str,
    dir: &Path,
) -> anyhow::Result<(Target, Duration)> {
    let port = free_port()?;
    let flags = serve_flags(port, database_url, ozmap_url);
    let base = format!("http://127.0.0.1:{port}");
    let voice = format!("{base}/voice");
    let t0 = Instant::now();
    let running = match args.server {
        ServerKind::Child => {
            let exe = match &args.server_exe {
                Some(p) => p.clone(),
                None => std::env::current_exe().context("cannot find this binary")?,
            };
            let log = dir.join("service.log");
            let out = std::fs::File::create(&log)?;
            let mut cmd = tokio::process::Command::new(&exe);
            cmd.arg("serve")
                .args(&flags)
                .env("OZMAP_TOKEN", SANDBOX_TOKEN)
                .env_remove("IVR_PUBLIC_URL")
                .stdin(std::process::Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .kill_on_drop(true);
            match args.auth_token.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => cmd.env("TWILIO_AUTH_TOKEN", t),
                None => cmd.env_remove("TWILIO_AUTH_TOKEN"),
            };
            let child = cmd
                .spawn()
                .with_context(|| format!("cannot start {} serve", exe.display()))?;
            let pid = child.id().context("the service exited at once")?;
            Running::Child {
                child: Box::new(child),
                pid,
                log,
            }
        }
        ServerKind::InProcess => {
            let mut flags = flags;
            flags.push(format!("--ozmap-token={SANDBOX_TOKEN}"));
            let token = args
                .auth_token
                .clone()
                .filter(|t| !t.is_empty())
                .map(SecretString::from);
            let InProcess { handle, task } = service.start(flags, token).await?;
            Running::InProcess { handle, task }
        }
    };
    let mut target = Target {
        base,
        voice,
        running,
    };
    let startup = wait_first_answer(caller, &mut target, t0).await;
    match startup {
        Ok(d) => Ok((target, d)),
        Err(e) => {
            target.stop().await;
            Err(e)
        }
    }
}

pub(super) async fn start_ceiling(args: &BenchArgs, dir: &Path) -> anyhow::Result<Target> {
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let running = match (args.server, &args.url) {
        (ServerKind::Child, _) => {
            let exe = match &args.server_exe {
                Some(p) => p.clone(),
                None => std::env::current_exe().context("cannot find this binary")?,
            };
            let log = dir.join("ceiling.log");
            let out = std::fs::File::create(&log)?;
            let child = tokio::process::Command::new(&exe)
                .args(["bench", "--serve-ceiling", &format!("127.0.0.1:{port}")])
                .stdin(std::process::Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start {} bench --serve-ceiling", exe.display()))?;
            let pid = child.id().context("the ceiling exited at once")?;
            Running::Child {
                child: Box::new(child),
                pid,
                log,
            }
        }
        (ServerKind::InProcess, _) => {
            let server = ceiling::start(TcpListener::bind(("127.0.0.1", port))?)?;
            let handle = server.handle();
            let task = tokio::spawn(async move { Ok(server.await?) });
            Running::InProcess { handle, task }
        }
    };
    Ok(Target {
        voice: format!("{base}/voice"),
        base,
        running,
    })
}
/// A finished tutorial call, as stored, for seeding a large store.
fn seeded_call(i: u64) -> Call {
    use ivr_core::domain::{AddressQuery, Cep, ClientCode};
    let mut call = Call::new(Some(tutorial::PHONE.into()));
    call.step = ivr_core::flow::Step::Finished;
    call.data.code = ClientCode::parse(&format!("9|{i}"));
    call.data.name = Some(tutorial::CLIENT_NAME.into());
    call.data.cep = Cep::parse(tutorial::CEP);
    call.data.query = Some(AddressQuery::Spoken {
        text: "rua delminda silveira 900 agronômica florianópolis".into(),
    });
    call.data.place = Some(tutorial::place());
    call
}

/// Stores `n` finished calls (CallSids `SEED…`) in the store at `database_url`.
pub(super) async fn seed(service: &dyn Service, database_url: &str, n: u64) -> anyhow::Result<u64> {
    let reply = ceiling::greeting_body("http://127.0.0.1:8080")?;
    let calls = (0..n).map(move |k| (format!("SEED{k:030}"), seeded_call(k), reply.clone()));
    service.store_calls(database_url, Box::new(calls)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_network_has_room_at_the_tutorial_address() {
        let n = bench_network(2);
        n.validate().unwrap();
        assert_eq!(n.splitters.len(), Network::builtin().splitters.len() + 2);
        let p = n
            .plan_reservation(tutorial::LAT, tutorial::LNG, 200.0, false)
            .unwrap();
        assert_eq!(p.box_name, "CTO-AGR-01");
    }
}
