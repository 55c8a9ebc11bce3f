//! `ozmap-ivr bench`: a load generator for capacity planning.
//!
//! It walks many simulated calls at once through the whole flow, with the same
//! TwiML executor as `ozmap-ivr call` ([`crate::caller`]) playing the platform:
//! every call has a fresh CallSid and its own client code (so reservations never
//! collide), requests are signed when `TWILIO_AUTH_TOKEN` is set, and every
//! request's latency is kept, grouped by route. The report gives completed calls
//! per second, webhooks per second, latency percentiles per route (p50, p90, p99,
//! max), errors by kind, and — when the bench started the service itself — the
//! service's start-up time, CPU time per webhook and memory (`/proc/<pid>/status`).
//!
//! What it measures against:
//! - a running service (`ozmap-ivr bench http://host:port/voice`);
//! - or, by default, one it starts itself: `ozmap-ivr serve` as a child process
//!   (so its memory and CPU are its own), on a fresh SQLite file (or
//!   `IVR_DATABASE_URL`), with the bundled gazetteer and an OZmap sandbox run
//!   inside the bench process. `--server in-process` runs the service inside the
//!   bench instead (quick, used by the tests; its memory then includes the
//!   generator).
//!
//! Honest whole calls: each call ends with a real reservation in the sandbox. The
//! bundled network has six free ports at the tutorial address, so the bench's
//! sandbox adds drop splitters to the tutorial box (enough for every call in
//! flight), and once a call has ended the bench, playing an operator, looks its
//! client code up in OZmap and deletes the property, freeing the port. A call
//! counts as completed only when it hung up after the last scripted answer and its
//! reservation was found in OZmap. Against a running service, `--sandbox-url`
//! does the same freeing; without it reservations pile up in that OZmap.
//!
//! Pauses: `<Pause>` sleeps `length × --pause-scale` seconds. The default is 0, so
//! a caller on hold polls again as soon as the answer arrives: the poll loop spins.
//! That is a stress on purpose, and the report treats each poll as the webhook it
//! is (its own route, counted in webhooks/s, `polls per call` shown). Use
//! `--pause-scale 1` for real-time callers.
//!
//! The ceiling ([`ceiling`]) is measured in the same run, with the same generator
//! and settings (in greeting and step modes always, else with `--ceiling`), and the
//! service's figures are given as ratios of it.

pub mod ceiling;
pub mod stats;

use crate::caller::{Answer, CallEnd, CallError, CallEvent, Caller, CallerOptions, Scripted};
use anyhow::Context;
use clap::{Parser, ValueEnum};
use futures_util::future::BoxFuture;
use ivr_core::flow::Call;
use ivr_core::tutorial;
use ivr_core::webhook::paths;
use ozmap_sandbox::{self as sandbox, Network, NetworkSplitter, SandboxServer, TUTORIAL_BOX_ID};
use secrecy::SecretString;
use serde::Serialize;
use stats::{LatencyStats, ProcSample, Samples, parse_duration, proc_sample};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Token of the sandbox the bench runs.
const SANDBOX_TOKEN: &str = "bench-sandbox-token";
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
        calls: Vec<(String, Call, String)>,
    ) -> BoxFuture<'a, anyhow::Result<u64>>;
}

/// A service running inside this process.
pub struct InProcess {
    pub handle: actix_web::dev::ServerHandle,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// What each simulated call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The tutorial call from greeting to reserved port, then hang up.
    Whole,
    /// Only `POST /voice` with a fresh CallSid: the greeting (creates a call).
    Greeting,
    /// Only the first answer (the client code) to a call greeted beforehand: a
    /// step that reads and writes durable call state.
    Step,
}

/// Where the bench runs the service it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    /// `ozmap-ivr serve` as a child process: its own memory and CPU figures.
    Child,
    /// Inside the bench process (memory figures include the generator).
    InProcess,
}

/// How the scripted caller gives the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressInput {
    /// Spoken: "Rua Delminda Silveira, novecentos, Agronômica, Florianópolis".
    Speech,
    /// CEP 88025500 then the number 900 on the keypad.
    Cep,
}

/// Load-test the service with many simulated calls at once.
#[derive(Clone, clap::Args)]
pub struct BenchArgs {
    /// A running service's voice URL (`http://host:port/voice`) or base URL.
    /// Unset: the bench starts the service itself on the sandbox.
    pub url: Option<String>,
    /// What each simulated call does.
    #[arg(long, value_enum, default_value_t = Mode::Whole)]
    pub mode: Mode,
    /// Calls to measure (greeting and step modes: requests).
    #[arg(long, default_value_t = 1000)]
    pub calls: u64,
    /// Calls in progress at once.
    #[arg(long, default_value_t = 50)]
    pub concurrency: u64,
    /// Stop starting calls after this long (`30s`, `2m`); with --calls, whichever
    /// comes first.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Calls of the same kind run for this long before measuring (not counted).
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// `<Pause>` sleeps length × this (0: no sleep; a caller on hold polls again at once).
    #[arg(long, default_value_t = 0.0)]
    pub pause_scale: f64,
    /// Each caller waits this long before answering a question (hearing the
    /// prompt, answering): `0s` keeps every call busy (a saturation test); a
    /// think time turns `--concurrency` into calls in progress at a steady pace.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub think: Duration,
    /// Also measure the ceiling in whole mode (always done in greeting and step modes).
    #[arg(long)]
    pub ceiling: bool,
    /// Do not measure the ceiling.
    #[arg(long, conflicts_with = "ceiling")]
    pub no_ceiling: bool,
    /// How the bench runs the service it starts.
    #[arg(long, value_enum, default_value_t = ServerKind::Child)]
    pub server: ServerKind,
    /// The store of the service the bench starts. Default: a fresh SQLite file.
    #[arg(long, env = "IVR_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Before starting the service, store this many finished calls (a large store).
    #[arg(long, default_value_t = 0)]
    pub seed_calls: u64,
    /// After the run, walk this many calls to the address question and keep them
    /// there, measure the service's memory, then finish them.
    #[arg(long, default_value_t = 0)]
    pub hold: u64,
    /// How the scripted caller gives the address.
    #[arg(long, value_enum, default_value_t = AddressInput::Speech)]
    pub address: AddressInput,
    /// The OZmap sandbox of a running service (`http://host:port`): the bench frees
    /// each reserved port after its call.
    #[arg(long)]
    pub sandbox_url: Option<String>,
    /// The token of `--sandbox-url`.
    #[arg(long, default_value = sandbox::DEFAULT_TOKEN, hide_default_value = true)]
    pub sandbox_token: String,
    /// Signs every request with `X-Twilio-Signature` (and the service the bench
    /// starts checks it). Secret.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Per-request timeout (the platform allows 15 s).
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub timeout: Duration,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The `ozmap-ivr` binary to run as the child service. Default: this one.
    #[arg(long, hide = true)]
    pub server_exe: Option<PathBuf>,
    /// Serve only the ceiling on this address (what the bench runs as a child).
    #[arg(long, hide = true)]
    pub serve_ceiling: Option<String>,
}

impl std::fmt::Debug for BenchArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchArgs")
            .field("url", &self.url)
            .field("mode", &self.mode)
            .field("calls", &self.calls)
            .field("concurrency", &self.concurrency)
            .field("duration", &self.duration)
            .field("warmup", &self.warmup)
            .field("pause_scale", &self.pause_scale)
            .field("server", &self.server)
            .field("database_url", &self.database_url.as_ref().map(|_| "[set]"))
            .field("seed_calls", &self.seed_calls)
            .field("hold", &self.hold)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

/// For tests and for building [`BenchArgs`] from a list of flags.
#[derive(Parser)]
#[command(name = "bench")]
pub struct BenchCli {
    #[command(flatten)]
    pub args: BenchArgs,
}

impl BenchArgs {
    /// Parses flags as `ozmap-ivr bench` would (the first item is the program name).
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        BenchCli::try_parse_from(args).map(|c| c.args)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.calls == 0 {
            anyhow::bail!("--calls must be at least 1");
        }
        if self.concurrency == 0 || self.concurrency > 100_000 {
            anyhow::bail!("--concurrency must be between 1 and 100000");
        }
        if !self.pause_scale.is_finite() || self.pause_scale < 0.0 {
            anyhow::bail!("--pause-scale must be 0 or more");
        }
        if self.timeout.is_zero() {
            anyhow::bail!("--timeout must be more than 0");
        }
        if self.url.is_some() && self.seed_calls > 0 {
            anyhow::bail!(
                "--seed-calls needs the bench to start the service (no URL): seed a running service's store yourself"
            );
        }
        Ok(())
    }

    fn measure_ceiling(&self) -> bool {
        !self.no_ceiling && (self.ceiling || self.mode != Mode::Whole)
    }
}

/// `(base URL, voice URL)` from a voice URL or a base URL.
pub fn service_urls(url: &str) -> anyhow::Result<(String, String)> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| anyhow::anyhow!("URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        anyhow::bail!("URL {url:?}: must be http or https");
    }
    if parsed.query().is_some() {
        anyhow::bail!("URL {url:?}: give the voice URL without a query");
    }
    let s = parsed.as_str().trim_end_matches('/');
    Ok(match s.strip_suffix("/voice") {
        Some(base) => (base.to_string(), s.to_string()),
        None => (s.to_string(), format!("{s}/voice")),
    })
}

// ---------------------------------------------------------------------------
// The report

/// One measured phase against one server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadResult {
    pub elapsed_s: f64,
    /// Calls (greeting and step modes: requests) started.
    pub started: u64,
    /// Calls that went as scripted (whole mode: ended with a reservation in OZmap).
    pub completed: u64,
    pub calls_per_s: f64,
    /// Every request, status callbacks and polls included.
    pub webhooks: u64,
    pub webhooks_per_s: f64,
    /// `POST /voice/poll` per completed call (whole mode).
    pub polls_per_call: f64,
    /// Whole mode: reservations found in OZmap and freed after the call.
    pub reserved: u64,
    pub routes: Vec<LatencyStats>,
    pub all: Option<LatencyStats>,
    pub errors: BTreeMap<String, u64>,
    /// CPU time of the server process over the phase (`None`: not known).
    pub server_cpu_s: Option<f64>,
    pub server_cpu_us_per_webhook: Option<f64>,
    /// CPU time of the bench process over the phase, in cores (1.0 = one core busy).
    pub generator_cores: Option<f64>,
}

/// Memory of the service with calls held in progress.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HoldResult {
    pub calls: u64,
    /// Calls that reached the address question and were left there.
    pub held: u64,
    pub rss_before_kib: u64,
    pub rss_held_kib: u64,
    /// (RSS held − RSS before) / calls held; can be 0 when the allocator reuses memory.
    pub bytes_per_call: f64,
    pub finished: u64,
    pub errors: BTreeMap<String, u64>,
    pub finish: Option<LoadResult>,
}

/// Everything one `ozmap-ivr bench` run found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchReport {
    pub mode: Option<Mode>,
    pub concurrency: u64,
    pub pause_scale: f64,
    /// Think time before each answer, in ms.
    pub think_ms: f64,
    pub signed: bool,
    pub target: String,
    pub store: String,
    /// Spawn (or build) to the first answered `POST /voice`, in ms.
    pub startup_ms: Option<f64>,
    pub seeded_calls: u64,
    pub service: LoadResult,
    pub ceiling: Option<LoadResult>,
    /// Service webhooks/s ÷ ceiling requests/s.
    pub ratio_to_ceiling: Option<f64>,
    /// Service CPU per webhook ÷ ceiling CPU per request.
    pub cpu_ratio_to_ceiling: Option<f64>,
    /// The service's memory, when the bench started it.
    pub rss_idle_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    /// The memory figures are of the bench process (service in process).
    pub memory_includes_generator: bool,
    pub hold: Option<HoldResult>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl BenchReport {
    /// The report for a person.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let mode = self.mode.map_or("?", |m| match m {
            Mode::Whole => "whole calls",
            Mode::Greeting => "greeting only (POST /voice, fresh CallSid)",
            Mode::Step => "one answer step (read + durable write)",
        });
        let _ = writeln!(
            o,
            "ozmap-ivr bench: {mode}; concurrency {}; think {} ms; pause scale {}{}; {}",
            self.concurrency,
            self.think_ms,
            self.pause_scale,
            if self.pause_scale == 0.0 {
                " (no pauses: callers on hold poll again at once)"
            } else {
                ""
            },
            if self.signed { "signed" } else { "unsigned" }
        );
        let _ = writeln!(o, "service: {}", self.target);
        let _ = writeln!(o, "store:   {}", self.store);
        if self.seeded_calls > 0 {
            let _ = writeln!(
                o,
                "seeded:  {} stored calls before the start",
                self.seeded_calls
            );
        }
        if let Some(ms) = self.startup_ms {
            let _ = writeln!(o, "start-up to the first answered request: {ms:.1} ms");
        }
        let _ = writeln!(o);
        write_load(&mut o, "service", &self.service);
        if let Some(c) = &self.ceiling {
            write_load(
                &mut o,
                "ceiling (bare actix-web handler, same generator)",
                c,
            );
        }
        if let Some(r) = self.ratio_to_ceiling {
            let _ = write!(
                o,
                "ratio to the ceiling: {:.1}% of its requests/s",
                r * 100.0
            );
            if let Some(c) = self.cpu_ratio_to_ceiling {
                let _ = write!(o, "; server CPU per request {c:.1}× the ceiling's");
            }
            let _ = writeln!(o);
        }
        if self.ceiling.is_some() && self.ratio_to_ceiling.is_none() && self.think_ms > 0.0 {
            let _ = writeln!(
                o,
                "ratio to the ceiling: none (with a think time the service is not saturated)"
            );
        }
        if let (Some(idle), Some(after), Some(peak)) =
            (self.rss_idle_kib, self.rss_after_kib, self.rss_peak_kib)
        {
            let _ = writeln!(
                o,
                "service memory{}: RSS idle {:.1} MiB, after the run {:.1} MiB, peak (VmHWM) {:.1} MiB",
                if self.memory_includes_generator {
                    " (in process: includes the generator and the sandbox)"
                } else {
                    ""
                },
                mib(idle),
                mib(after),
                mib(peak)
            );
        }
        if let Some(h) = &self.hold {
            let _ = writeln!(
                o,
                "held {} of {} calls at the address question: RSS {:.1} MiB (before {:.1} MiB; {:.0} bytes per call in progress); finished afterwards: {}",
                h.held,
                h.calls,
                mib(h.rss_held_kib),
                mib(h.rss_before_kib),
                h.bytes_per_call,
                h.finished
            );
            if !h.errors.is_empty() {
                let _ = writeln!(o, "  hold errors: {}", errors_line(&h.errors));
            }
        }
        o
    }
}

fn errors_line(e: &BTreeMap<String, u64>) -> String {
    if e.is_empty() {
        return "none".into();
    }
    e.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_load(o: &mut String, title: &str, r: &LoadResult) {
    let _ = writeln!(
        o,
        "{title}: {} of {} completed in {:.2} s: {:.1} calls/s, {} webhooks, {:.1} webhooks/s",
        r.completed, r.started, r.elapsed_s, r.calls_per_s, r.webhooks, r.webhooks_per_s
    );
    if r.polls_per_call > 0.0 {
        let _ = writeln!(
            o,
            "  polls per call {:.1}; reservations made and freed {}",
            r.polls_per_call, r.reserved
        );
    }
    if let Some(cpu) = r.server_cpu_us_per_webhook {
        let _ = write!(o, "  server CPU {cpu:.0} µs per request");
        if let Some(g) = r.generator_cores {
            let _ = write!(o, "; bench process {g:.2} cores busy");
        }
        let _ = writeln!(o);
    } else if let Some(g) = r.generator_cores {
        let _ = writeln!(o, "  bench process {g:.2} cores busy");
    }
    let _ = writeln!(
        o,
        "  {:<16} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "route", "count", "mean", "p50", "p90", "p99", "max ms"
    );
    for s in r.routes.iter().chain(r.all.iter()) {
        let _ = writeln!(
            o,
            "  {:<16} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            s.route, s.count, s.mean_ms, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
        );
    }
    let _ = writeln!(o, "  errors: {}", errors_line(&r.errors));
    let _ = writeln!(o);
}

// ---------------------------------------------------------------------------
// The servers

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
struct Target {
    base: String,
    voice: String,
    running: Running,
}

impl Target {
    fn sample(&self) -> Option<ProcSample> {
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

    async fn stop(self) {
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
pub fn bench_network(extra: u64) -> Network {
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

async fn start_sandbox(concurrency: u64) -> anyhow::Result<SandboxServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let extra = concurrency.div_ceil(128) + 1;
    sandbox::start(bench_network(extra), SANDBOX_TOKEN, listener)
        .await
        .context("cannot start the OZmap sandbox")
}

/// Waits until `POST /voice` is answered; the time since `t0`.
async fn wait_first_answer(
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

async fn start_service(
    service: &dyn Service,
    args: &BenchArgs,
    caller: &Caller,
    database_url: &str,
    ozmap_url: &str,
    dir: &std::path::Path,
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

async fn start_ceiling(args: &BenchArgs, dir: &std::path::Path) -> anyhow::Result<Target> {
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

// ---------------------------------------------------------------------------
// The generator

/// What one unit of load is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    Greeting,
    Whole,
    /// Greets call `i` (its CallSid known), not measured: before [`Work::Step`].
    Prime,
    Step,
    /// Walks call `i` to the address question and leaves it there.
    HoldStart,
    /// Takes call `i` up again at the address question and finishes it.
    HoldFinish,
}

/// Frees reservations in an OZmap sandbox after each call.
struct Freer {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Freer {
    /// Deletes the properties of `code` (`123|45`); how many there were.
    async fn free(&self, code: &str) -> Result<u64, String> {
        let url = format!(
            "{}/api/v2/properties/client/{}",
            self.base,
            code.replace('|', "%7C")
        );
        let found: Vec<serde_json::Value> = self
            .http
            .get(&url)
            .header("Authorization", &self.token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("OZmap lookup failed: {}", e.without_url()))?
            .json()
            .await
            .map_err(|e| format!("OZmap lookup unreadable: {}", e.without_url()))?;
        let mut n = 0;
        for p in &found {
            let Some(id) = p.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            self.http
                .delete(format!("{}/api/v2/properties/{id}", self.base))
                .header("Authorization", &self.token)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| format!("OZmap delete failed: {}", e.without_url()))?;
            n += 1;
        }
        Ok(n)
    }
}

struct Ctx {
    caller: Caller,
    base: String,
    run_id: u32,
    address: AddressInput,
    freer: Option<Freer>,
    /// Each phase takes its own range of call indices (CallSids and client codes).
    next_range: AtomicU64,
}

impl Ctx {
    fn range(&self) -> u64 {
        self.next_range.fetch_add(1 << 32, Ordering::Relaxed)
    }

    fn call_sid(&self, i: u64) -> String {
        format!("CA{:08x}{i:024x}", self.run_id)
    }

    /// Keys for the client code of call `i` (`*` separates the groups).
    fn code_keys(&self, i: u64) -> String {
        format!("{}*{i}", self.run_id)
    }

    fn opts(&self, i: u64) -> CallerOptions {
        CallerOptions {
            call_sid: Some(self.call_sid(i)),
            ..self.caller.options().clone()
        }
    }

    fn address_answers(&self) -> Vec<Answer> {
        match self.address {
            AddressInput::Speech => vec![Answer::Speech(tutorial::SPOKEN_ADDRESS.into())],
            AddressInput::Cep => vec![
                Answer::Keys(tutorial::CEP.into()),
                Answer::Keys(tutorial::HOUSE_NUMBER.into()),
            ],
        }
    }

    fn first_answers(&self, i: u64) -> Vec<Answer> {
        vec![
            Answer::Keys(self.code_keys(i)),
            Answer::Keys("1".into()),
            Answer::Speech("Gabriel Marioto".into()),
        ]
    }
}

/// What one generator task gathered.
#[derive(Default)]
struct Acc {
    samples: Samples,
    started: u64,
    completed: u64,
    reserved: u64,
    errors: BTreeMap<String, u64>,
}

impl Acc {
    fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    fn merge(&mut self, o: Acc) {
        self.samples.merge(o.samples);
        self.started += o.started;
        self.completed += o.completed;
        self.reserved += o.reserved;
        for (k, n) in o.errors {
            *self.errors.entry(k).or_default() += n;
        }
    }
}

fn error_kind(e: &CallError) -> String {
    match e {
        CallError::InvalidUrl { .. } => "invalid URL".into(),
        CallError::Client(_) => "HTTP client".into(),
        CallError::Transport { .. } => "transport (connection)".into(),
        CallError::Timeout { .. } => "timeout".into(),
        CallError::HttpStatus { status, .. } => format!("HTTP {status}"),
        CallError::WrongContentType { .. } => "wrong content type".into(),
        CallError::TooLarge { .. } => "answer too large".into(),
        CallError::MalformedXml { .. } => "malformed XML".into(),
        CallError::NotTwiml { .. } => "not TwiML".into(),
        CallError::UnsupportedVerb { verb, .. } => format!("unsupported <{verb}>"),
        CallError::UnknownVerb { verb, .. } => format!("unknown <{verb}>"),
        CallError::InvalidVerb { verb, .. } => format!("invalid <{verb}>"),
        CallError::TooManyRequests { .. } => "too many requests (a loop?)".into(),
        CallError::Inconsistent { .. } => "different answers to a repeated request".into(),
    }
}

/// One unit of load: call `i`.
async fn unit(ctx: &Ctx, work: Work, i: u64, acc: &mut Acc) {
    acc.started += 1;
    let samples = &mut acc.samples;
    let mut record = |e: &CallEvent| {
        if let CallEvent::Request { url, latency, .. } = e {
            samples.record(url, *latency);
        }
    };
    // Runs `caller` with `script`; `Ok(true)` when it ended as expected.
    let outcome: Result<(), String> = match work {
        Work::Greeting | Work::Prime => {
            let caller = if work == Work::Prime {
                ctx.caller.with_options(CallerOptions {
                    max_requests: 1,
                    ..ctx.opts(i)
                })
            } else {
                ctx.caller.with_options(CallerOptions {
                    max_requests: 1,
                    ..ctx.caller.options().clone()
                })
            };
            match caller {
                Err(e) => Err(error_kind(&e)),
                // One request answered with a Gather: the limit stops the call there.
                Ok(c) => match c.run(&mut Scripted::default(), &mut record).await {
                    Err(CallError::TooManyRequests { limit: 1 }) => Ok(()),
                    Err(e) => Err(error_kind(&e)),
                    Ok(r) => Err(format!("greeting ended the call ({:?})", r.end)),
                },
            }
        }
        Work::Step => {
            let caller = ctx.caller.with_options(CallerOptions {
                url: format!("{}/voice/answer?seq=1", ctx.base),
                max_requests: 1,
                extra_params: vec![
                    ("Digits".into(), ctx.code_keys(i)),
                    ("FinishedOnKey".into(), "#".into()),
                ],
                ..ctx.opts(i)
            });
            match caller {
                Err(e) => Err(error_kind(&e)),
                Ok(c) => match c.run(&mut Scripted::default(), &mut record).await {
                    Err(CallError::TooManyRequests { limit: 1 }) => Ok(()),
                    Err(e) => Err(error_kind(&e)),
                    Ok(r) => Err(format!("the answer ended the call ({:?})", r.end)),
                },
            }
        }
        Work::HoldStart => {
            let caller = ctx.caller.with_options(CallerOptions {
                max_requests: 4,
                status_callback: None,
                ..ctx.opts(i)
            });
            let mut script = Scripted::new(ctx.first_answers(i));
            match caller {
                Err(e) => Err(error_kind(&e)),
                Ok(c) => match c.run(&mut script, &mut record).await {
                    Err(CallError::TooManyRequests { limit: 4 }) if script.remaining() == 0 => {
                        Ok(())
                    }
                    Err(e) => Err(error_kind(&e)),
                    Ok(r) => Err(format!("ended before the address ({:?})", r.end)),
                },
            }
        }
        Work::Whole | Work::HoldFinish => {
            let mut answers = if work == Work::Whole {
                ctx.first_answers(i)
            } else {
                Vec::new()
            };
            answers.extend(ctx.address_answers());
            answers.push(Answer::Keys("1".into()));
            let mut script = Scripted::new(answers);
            // HoldFinish: `POST /voice` again for a call in progress, and the
            // service asks the current question (the address) again.
            let result = match ctx.caller.with_options(ctx.opts(i)) {
                Err(e) => Err(error_kind(&e)),
                Ok(c) => match c.run(&mut script, &mut record).await {
                    Ok(r) if r.end == CallEnd::Hangup && script.remaining() == 0 => Ok(()),
                    Ok(r) => Err(format!(
                        "call ended early ({:?}, {} answers unused)",
                        r.end,
                        script.remaining()
                    )),
                    Err(e) => Err(error_kind(&e)),
                },
            };
            match (&result, &ctx.freer) {
                (Ok(()), Some(f)) => match f.free(&ctx.code_keys(i).replace('*', "|")).await {
                    Ok(0) => Err("no reservation in OZmap after the call".to_string()),
                    Ok(n) => {
                        acc.reserved += n;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                _ => result,
            }
        }
    };
    match outcome {
        Ok(()) => acc.completed += 1,
        Err(kind) => acc.error(kind),
    }
}

/// Which calls a phase runs: indices from `start`, at most `count`, no new one
/// after `deadline`.
struct Source {
    next: AtomicU64,
    end: u64,
    deadline: Option<Instant>,
}

impl Source {
    fn new(start: u64, count: u64, within: Option<Duration>) -> Self {
        Self {
            next: AtomicU64::new(start),
            end: start.saturating_add(count),
            deadline: within.map(|d| Instant::now() + d),
        }
    }

    fn take(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.end).then_some(i)
    }
}

/// Runs `work` with `concurrency` calls at once until `source` runs dry.
async fn drive(
    ctx: &Arc<Ctx>,
    work: Work,
    source: Source,
    concurrency: u64,
    server: &Target,
) -> LoadResult {
    let source = Arc::new(source);
    let server_before = server.sample();
    let me_before = proc_sample(None);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    let think = ctx.caller.options().think;
    for _ in 0..concurrency {
        let ctx = ctx.clone();
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            let mut acc = Acc::default();
            if !think.is_zero() {
                // Callers arrive spread over one think time, not all at once.
                tokio::time::sleep(think.mul_f64(rand::random_range(0.0..1.0))).await;
            }
            while let Some(i) = source.take() {
                unit(&ctx, work, i, &mut acc).await;
            }
            acc
        }));
    }
    let mut acc = Acc::default();
    for t in tasks {
        match t.await {
            Ok(a) => acc.merge(a),
            Err(_) => acc.error("generator task panicked"),
        }
    }
    let elapsed = t0.elapsed().as_secs_f64().max(1e-9);
    let server_cpu = match (server_before, server.sample()) {
        (Some(a), Some(b)) => Some(b.cpu_s - a.cpu_s),
        _ => None,
    };
    let generator_cores = match (me_before, proc_sample(None)) {
        (Some(a), Some(b)) => Some((b.cpu_s - a.cpu_s) / elapsed),
        _ => None,
    };
    let webhooks = acc.samples.count();
    let polls = acc.samples.count_of(paths::POLL);
    let (routes, all) = acc.samples.summary();
    LoadResult {
        elapsed_s: elapsed,
        started: acc.started,
        completed: acc.completed,
        calls_per_s: acc.completed as f64 / elapsed,
        webhooks,
        webhooks_per_s: webhooks as f64 / elapsed,
        polls_per_call: if matches!(work, Work::Whole | Work::HoldFinish) && acc.completed > 0 {
            polls as f64 / acc.completed as f64
        } else {
            0.0
        },
        reserved: acc.reserved,
        routes,
        all,
        errors: acc.errors,
        // In process, the bench's own CPU is the server's too: not separable.
        server_cpu_s: server_cpu.filter(|_| !matches!(server.running, Running::InProcess { .. })),
        server_cpu_us_per_webhook: server_cpu
            .filter(|_| !matches!(server.running, Running::InProcess { .. }))
            .filter(|_| webhooks > 0)
            .map(|c| c * 1e6 / webhooks as f64),
        generator_cores,
    }
}

/// Warm-up (not kept), then the measured phase.
async fn measure(
    ctx: &Arc<Ctx>,
    work: Work,
    args: &BenchArgs,
    server: &Target,
    count: u64,
    within: Option<Duration>,
) -> LoadResult {
    if !args.warmup.is_zero() {
        let warm = if work == Work::Step {
            Work::Greeting
        } else {
            work
        };
        drive(
            ctx,
            warm,
            Source::new(ctx.range(), u64::MAX / 2, Some(args.warmup)),
            args.concurrency,
            server,
        )
        .await;
    }
    drive(
        ctx,
        work,
        Source::new(ctx.range(), count, within),
        args.concurrency,
        server,
    )
    .await
}

fn temp_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-bench-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
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

/// Stores `n` finished calls (CallSids `SEED…`) in the store at `database_url`,
/// 1000 at a time.
async fn seed(service: &dyn Service, database_url: &str, n: u64) -> anyhow::Result<u64> {
    let reply = ceiling::greeting_body("http://127.0.0.1:8080")?;
    let mut added = 0;
    let mut i = 0;
    while i < n {
        let chunk: Vec<_> = (i..n.min(i + 1000))
            .map(|k| (format!("SEED{k:030}"), seeded_call(k), reply.clone()))
            .collect();
        i += chunk.len() as u64;
        added += service.store_calls(database_url, chunk).await?;
    }
    Ok(added)
}

/// Runs the whole benchmark and returns its report (printed by [`run_cli`]).
pub async fn run(args: BenchArgs, service: &dyn Service) -> anyhow::Result<BenchReport> {
    args.check()?;
    let token = args
        .auth_token
        .clone()
        .filter(|t| !t.is_empty())
        .map(SecretString::from);
    let mut report = BenchReport {
        mode: Some(args.mode),
        concurrency: args.concurrency,
        pause_scale: args.pause_scale,
        think_ms: args.think.as_secs_f64() * 1000.0,
        signed: token.is_some(),
        ..BenchReport::default()
    };
    let dir = temp_dir()?;
    let result = run_in(service, &args, token, &dir, &mut report).await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|()| report)
}

async fn run_in(
    service: &dyn Service,
    args: &BenchArgs,
    token: Option<SecretString>,
    dir: &std::path::Path,
    report: &mut BenchReport,
) -> anyhow::Result<()> {
    let base_opts = CallerOptions {
        url: "http://127.0.0.1:9/voice".into(),
        auth_token: token,
        pause_scale: args.pause_scale,
        think: args.think,
        // Without pauses a caller on hold polls as fast as it is answered, until
        // the service's own hold limit ends the wait: no loop guard would fit.
        max_requests: if args.pause_scale == 0.0 {
            1_000_000
        } else {
            500
        },
        request_timeout: args.timeout,
        ..CallerOptions::default()
    };
    let probe = Caller::new(base_opts.clone())?;
    let mut sandbox = None;
    let mut freer = None;
    let target = match &args.url {
        Some(url) => {
            let (base, voice) = service_urls(url)?;
            report.target = format!("running service at {voice}");
            report.store = "the running service's own".into();
            if let Some(sb) = &args.sandbox_url {
                freer = Some((
                    sb.trim_end_matches('/').to_string(),
                    args.sandbox_token.clone(),
                ));
            }
            Target {
                base,
                voice,
                running: Running::External,
            }
        }
        None => {
            let sb = start_sandbox(args.concurrency).await?;
            let database_url = match &args.database_url {
                Some(u) => u.clone(),
                None => format!("sqlite://{}", dir.join("bench.db").display()),
            };
            report.store = match &args.database_url {
                None => "SQLite, fresh file (WAL, synchronous=FULL)".into(),
                Some(u) if u.starts_with("sqlite:") => {
                    "SQLite (IVR_DATABASE_URL; WAL, synchronous=FULL)".into()
                }
                Some(_) => "PostgreSQL (IVR_DATABASE_URL)".into(),
            };
            if args.seed_calls > 0 {
                report.seeded_calls = seed(service, &database_url, args.seed_calls).await?;
            }
            freer = Some((sb.base_url(), SANDBOX_TOKEN.to_string()));
            let ozmap_url = sb.base_url();
            sandbox = Some(sb);
            let (target, startup) =
                start_service(service, args, &probe, &database_url, &ozmap_url, dir).await?;
            report.startup_ms = Some(startup.as_secs_f64() * 1000.0);
            report.target = match &target.running {
                Running::Child { pid, .. } => format!(
                    "`ozmap-ivr serve` as a child process (pid {pid}) at {}, OZmap sandbox and gazetteer",
                    target.voice
                ),
                _ => format!(
                    "in the bench process at {}, OZmap sandbox and gazetteer",
                    target.voice
                ),
            };
            report.memory_includes_generator = matches!(target.running, Running::InProcess { .. });
            target
        }
    };
    let outcome = load_all(args, base_opts, freer, &target, dir, report).await;
    target.stop().await;
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    outcome
}

async fn load_all(
    args: &BenchArgs,
    base_opts: CallerOptions,
    freer: Option<(String, String)>,
    target: &Target,
    dir: &std::path::Path,
    report: &mut BenchReport,
) -> anyhow::Result<()> {
    let status_callback =
        (args.mode == Mode::Whole).then(|| format!("{}{}", target.base, paths::STATUS));
    let caller = Caller::new(CallerOptions {
        url: target.voice.clone(),
        status_callback,
        ..base_opts.clone()
    })?;
    let freer = match freer {
        Some((base, token)) => Some(Freer {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            base,
            token,
        }),
        None => None,
    };
    let ctx = Arc::new(Ctx {
        caller,
        base: target.base.clone(),
        run_id: rand::random_range(10_000..100_000),
        address: args.address,
        freer,
        next_range: AtomicU64::new(1 << 32),
    });
    let idle = target.sample();
    report.rss_idle_kib = idle.map(|s| s.rss_kib);

    let work = match args.mode {
        Mode::Whole => Work::Whole,
        Mode::Greeting => Work::Greeting,
        Mode::Step => Work::Step,
    };
    report.service = if work == Work::Step {
        // Greet every call first (not measured), then measure the first answer.
        if !args.warmup.is_zero() {
            drive(
                &ctx,
                Work::Greeting,
                Source::new(ctx.range(), u64::MAX / 2, Some(args.warmup)),
                args.concurrency,
                target,
            )
            .await;
        }
        let start = ctx.range();
        let primed = drive(
            &ctx,
            Work::Prime,
            Source::new(start, args.calls, None),
            args.concurrency,
            target,
        )
        .await;
        if !primed.errors.is_empty() {
            anyhow::bail!(
                "could not greet the calls for the step: {}",
                errors_line(&primed.errors)
            );
        }
        drive(
            &ctx,
            Work::Step,
            Source::new(start, args.calls, args.duration),
            args.concurrency,
            target,
        )
        .await
    } else {
        measure(&ctx, work, args, target, args.calls, args.duration).await
    };
    report.rss_after_kib = target.sample().map(|s| s.rss_kib);

    if args.measure_ceiling() {
        let ceiling = start_ceiling(args, dir).await?;
        let cctx = Arc::new(Ctx {
            // The most the stack can do: no think time.
            caller: Caller::new(CallerOptions {
                url: ceiling.voice.clone(),
                think: Duration::ZERO,
                ..base_opts.clone()
            })?,
            base: ceiling.base.clone(),
            run_id: ctx.run_id,
            address: args.address,
            freer: None,
            next_range: AtomicU64::new(1 << 32),
        });
        let mut probe_target = ceiling;
        let waited = wait_first_answer(&cctx.caller, &mut probe_target, Instant::now()).await;
        let ceiling = probe_target;
        if let Err(e) = waited {
            ceiling.stop().await;
            return Err(e.context("the ceiling did not start"));
        }
        // As long as the service's measured phase took, at the same concurrency.
        let within = Duration::from_secs_f64(report.service.elapsed_s.max(1.0));
        let c = measure(
            &cctx,
            Work::Greeting,
            args,
            &ceiling,
            u64::MAX / 2,
            Some(within),
        )
        .await;
        ceiling.stop().await;
        // With a think time the service is not saturated: its rate is the load
        // offered, not what it can do, and no ratio is meaningful.
        if c.webhooks_per_s > 0.0 && args.think.is_zero() {
            report.ratio_to_ceiling = Some(report.service.webhooks_per_s / c.webhooks_per_s);
        }
        if let (Some(s), Some(c)) = (
            report.service.server_cpu_us_per_webhook,
            c.server_cpu_us_per_webhook,
        ) && c > 0.0
        {
            report.cpu_ratio_to_ceiling = Some(s / c);
        }
        report.ceiling = Some(c);
    }

    if args.hold > 0 {
        let start = ctx.range();
        let before = target.sample();
        let held = drive(
            &ctx,
            Work::HoldStart,
            Source::new(start, args.hold, None),
            args.concurrency,
            target,
        )
        .await;
        let with = target.sample();
        let finish = drive(
            &ctx,
            Work::HoldFinish,
            Source::new(start, args.hold, None),
            args.concurrency,
            target,
        )
        .await;
        let (b, w) = (
            before.map_or(0, |s| s.rss_kib),
            with.map_or(0, |s| s.rss_kib),
        );
        report.hold = Some(HoldResult {
            calls: args.hold,
            held: held.completed,
            rss_before_kib: b,
            rss_held_kib: w,
            bytes_per_call: if held.completed > 0 {
                (w.saturating_sub(b) * 1024) as f64 / held.completed as f64
            } else {
                0.0
            },
            finished: finish.completed,
            errors: held.errors.clone(),
            finish: Some(finish),
        });
    }
    let last = target.sample();
    report.rss_peak_kib = last.map(|s| s.hwm_kib);
    if report.rss_after_kib.is_none() {
        report.rss_after_kib = last.map(|s| s.rss_kib);
    }
    Ok(())
}

/// `ozmap-ivr bench`: runs, prints the report, writes the JSON when asked.
pub async fn run_cli(args: BenchArgs, service: &dyn Service) -> anyhow::Result<()> {
    if let Some(bind) = &args.serve_ceiling {
        return ceiling::serve(bind).await;
    }
    let json = args.json.clone();
    let report = run(args, service).await?;
    print!("{}", report.text());
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<BenchArgs, clap::Error> {
        let mut v = vec!["bench"];
        v.extend_from_slice(flags);
        BenchArgs::parse_from(v)
    }

    #[test]
    fn defaults() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.url, None);
        assert_eq!(a.mode, Mode::Whole);
        assert_eq!(
            (a.calls, a.concurrency, a.hold, a.seed_calls),
            (1000, 50, 0, 0)
        );
        assert_eq!(a.duration, None);
        assert_eq!(a.warmup, Duration::from_secs(2));
        assert_eq!(a.pause_scale, 0.0);
        assert_eq!(a.server, ServerKind::Child);
        assert_eq!(a.address, AddressInput::Speech);
        assert!(
            !a.measure_ceiling(),
            "whole mode: the ceiling only on request"
        );
        assert!(a.check().is_ok());
    }

    #[test]
    fn flags() {
        let a = parse(&[
            "http://127.0.0.1:8080/voice",
            "--mode=greeting",
            "--calls=20",
            "--concurrency",
            "200",
            "--duration=30s",
            "--warmup=500ms",
            "--pause-scale=0.5",
            "--think=20ms",
            "--server=in-process",
            "--address=cep",
            "--hold=10000",
        ])
        .unwrap();
        assert_eq!(a.url.as_deref(), Some("http://127.0.0.1:8080/voice"));
        assert_eq!(a.mode, Mode::Greeting);
        assert_eq!((a.calls, a.concurrency, a.hold), (20, 200, 10_000));
        assert_eq!(a.duration, Some(Duration::from_secs(30)));
        assert_eq!(a.warmup, Duration::from_millis(500));
        assert_eq!(a.pause_scale, 0.5);
        assert_eq!(a.think, Duration::from_millis(20));
        assert_eq!(a.server, ServerKind::InProcess);
        assert_eq!(a.address, AddressInput::Cep);
        assert!(a.measure_ceiling(), "greeting mode measures the ceiling");
        assert!(
            !parse(&["--mode=step", "--no-ceiling"])
                .unwrap()
                .measure_ceiling()
        );
        assert!(parse(&["--ceiling"]).unwrap().measure_ceiling());
    }

    #[test]
    fn bad_flags_are_refused_with_a_reason() {
        assert!(parse(&["--mode=everything"]).is_err());
        assert!(parse(&["--duration=soon"]).is_err());
        assert!(parse(&["--calls=-1"]).is_err());
        assert!(parse(&["--ceiling", "--no-ceiling"]).is_err());
        for (flags, says) in [
            (&["--concurrency=0"][..], "--concurrency"),
            (&["--calls=0"][..], "--calls"),
            (&["--pause-scale=-1"][..], "--pause-scale"),
            (&["--timeout=0s"][..], "--timeout"),
            (&["http://h/voice", "--seed-calls=5"][..], "--seed-calls"),
        ] {
            let e = parse(flags).unwrap().check().unwrap_err();
            assert!(e.to_string().contains(says), "{flags:?}: {e}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let a = parse(&["--auth-token=s3cr3t", "--database-url=postgres://u:pw@h/db"]).unwrap();
        let d = format!("{a:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("pw@"), "{d}");
    }

    #[test]
    fn voice_and_base_urls() {
        let v = |u: &str| service_urls(u).unwrap();
        let both = (
            "http://127.0.0.1:8080".to_string(),
            "http://127.0.0.1:8080/voice".to_string(),
        );
        assert_eq!(v("http://127.0.0.1:8080/voice"), both);
        assert_eq!(v("http://127.0.0.1:8080/voice/"), both);
        assert_eq!(v("http://127.0.0.1:8080"), both);
        assert_eq!(v("http://127.0.0.1:8080/"), both);
        assert_eq!(
            v("https://ivr.example.com/ivr"),
            (
                "https://ivr.example.com/ivr".to_string(),
                "https://ivr.example.com/ivr/voice".to_string()
            )
        );
        assert!(service_urls("ftp://h/voice").is_err());
        assert!(service_urls("not a url").is_err());
        assert!(service_urls("http://h/voice?x=1").is_err());
    }

    #[test]
    fn call_identities_are_distinct_and_valid() {
        let ctx = Ctx {
            caller: Caller::new(CallerOptions::default()).unwrap(),
            base: String::new(),
            run_id: 54_321,
            address: AddressInput::Speech,
            freer: None,
            next_range: AtomicU64::new(1 << 32),
        };
        let (a, b) = (ctx.range(), ctx.range());
        assert_ne!(a, b);
        let sid = ctx.call_sid(a + 7);
        assert_eq!(sid.len(), 34);
        assert!(ivr_core::webhook::valid_call_sid(&sid));
        assert_ne!(ctx.call_sid(a), ctx.call_sid(b));
        let code = ivr_core::domain::ClientCode::from_keypad(&ctx.code_keys(b + 123_456))
            .expect("a valid client code");
        assert_eq!(code.as_str(), format!("54321|{}", b + 123_456));
    }

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
