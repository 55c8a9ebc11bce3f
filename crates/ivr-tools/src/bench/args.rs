//! The flags of `ozmap-ivr bench`: what they are, how they parse, and the checks
//! made on them before a run.

use super::stats::parse_duration;
use clap::{Parser, ValueEnum};
use ozmap_sandbox as sandbox;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Generator threads, each with its own runtime and HTTP client, sharing
    /// the calls (0: one per CPU). With the executor (whole calls,
    /// `--full-client`) one thread saturates near 20,000 requests/s, below what
    /// the ceiling answers.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Greeting and step requests through the TwiML executor (reqwest, every
    /// answer parsed), as whole calls go, instead of the lean client (one
    /// keep-alive connection per caller, prebuilt requests, answers checked by
    /// their status, type and first bytes).
    #[arg(long)]
    pub full_client: bool,
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
            .field("threads", &self.threads)
            .field("full_client", &self.full_client)
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

/// The parser behind [`BenchArgs::parse_from`].
#[derive(Parser)]
#[command(name = "bench")]
struct BenchCli {
    #[command(flatten)]
    args: BenchArgs,
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

    /// Refuses flags that parse but cannot run, with the flag in the reason.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        if self.calls == 0 {
            anyhow::bail!("--calls must be at least 1");
        }
        if self.concurrency == 0 || self.concurrency > 100_000 {
            anyhow::bail!("--concurrency must be between 1 and 100000");
        }
        if self.threads > 256 {
            anyhow::bail!("--threads must be at most 256");
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

    /// How many generator threads: `--threads`, or one per CPU.
    pub(super) fn generator_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// Whether this run measures the ceiling too.
    pub(super) fn measure_ceiling(&self) -> bool {
        !self.no_ceiling && (self.ceiling || self.mode != Mode::Whole)
    }
}

/// `(base URL, voice URL)` from a voice URL or a base URL.
pub(super) fn service_urls(url: &str) -> anyhow::Result<(String, String)> {
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
}
