//! `ozmap-ivr check`: the configuration `serve` reads, and each service it
//! names asked once, changing nothing; one line per service with what to fix.
//!
//! Each probe has its own timeout (`--timeout-ms`) and a failure never stops
//! the next one. What is read-only:
//! - the database: opened read-only (a SQLite file is never created: a
//!   missing file passes, `serve` creates it; no migration is run, the
//!   pending ones are counted);
//! - OZmap: `GET /boxes` near a point (an authenticated read: a 401/403 is a
//!   wrong `OZMAP_TOKEN`), and `GET /ftth-viability/radius` in that mode;
//! - the geocoder and the CEP service: a known address (`--address`-free: the
//!   first row of `GAZETTEER_FILE`, else of the bundled gazetteer);
//! - the client directory: `--client CODE`, else a code no client has;
//! - the agenda (`SCHEDULE=http|ixc`): the ERP's free periods near the point
//!   over the window a caller is offered (a `GET /slots`, an IXC listing);
//! - SMS and WhatsApp: the account (Twilio, SignalWire), the balance (Telnyx),
//!   the business number (Graph API): reads, nothing is sent;
//! - signing secrets and `IVR_PUBLIC_URL`: the configuration alone.
//!
//! Secrets are never printed: lines name variables, statuses and hosts.
//! With no `OZMAP_URL` the built-in sandbox is started, as `serve` does, and
//! checked like a real OZmap.

mod probes;
mod schedule;

use crate::config::{Config, ServeArgs};
use clap::Args;
use serde::Serialize;
use std::time::Duration;

/// `ozmap-ivr check`: what `serve` reads, and what to ask.
#[derive(Clone, Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub serve: Box<ServeArgs>,
    /// Where to ask OZmap for boxes, `LAT,LNG`; default: the gazetteer's first address.
    #[arg(
        long,
        value_name = "LAT,LNG",
        allow_hyphen_values = true,
        help_heading = "Check"
    )]
    pub near: Option<String>,
    /// A client code the directory knows; default: a code no client has (the
    /// directory must answer "unknown").
    #[arg(long, value_name = "CODE", help_heading = "Check")]
    pub client: Option<String>,
    /// One JSON object instead of lines (for scripts).
    #[arg(long, help_heading = "Check")]
    pub json: bool,
    /// Longest each check may take, in milliseconds.
    #[arg(long, default_value_t = 10_000, help_heading = "Check")]
    pub timeout_ms: u64,
}

/// How one check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    Fail,
    /// Not configured, or no read-only call to make.
    Skip,
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Line {
    pub name: &'static str,
    pub status: Status,
    /// What was seen, and on a failure what to fix. Never a secret.
    pub detail: String,
}

impl Line {
    pub(crate) fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail)
    }
    pub(crate) fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail)
    }
    pub(crate) fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, detail)
    }
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Line {
            name,
            status,
            detail: detail.into(),
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    checks: &'a [Line],
}

/// Runs every check: the report (lines or JSON) and whether all passed.
pub async fn check(args: CheckArgs) -> anyhow::Result<(String, bool)> {
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let lines = match args.serve.clone().validate() {
        Err(e) => vec![Line::fail("configuration", e.to_string())],
        Ok(cfg) => {
            let mut lines = vec![Line::ok("configuration", "read and valid")];
            lines.extend(run(cfg, &args, timeout).await?);
            lines
        }
    };
    let ok = lines.iter().all(|l| l.status != Status::Fail);
    let out = match args.json {
        true => serde_json::to_string_pretty(&Report { ok, checks: &lines })? + "\n",
        false => {
            let mut out = String::new();
            for l in &lines {
                let tag = match l.status {
                    Status::Ok => "ok  ",
                    Status::Fail => "FAIL",
                    Status::Skip => "skip",
                };
                out.push_str(&format!("{tag} {:<13} {}\n", l.name, l.detail));
            }
            out.push_str(match ok {
                true => "all checks passed\n",
                false => "some checks failed: fix the lines marked FAIL\n",
            });
            out
        }
    };
    Ok((out, ok))
}

async fn run(mut cfg: Config, args: &CheckArgs, timeout: Duration) -> anyhow::Result<Vec<Line>> {
    let sandbox = match cfg.wants_sandbox() {
        true => Some(start_sandbox(&mut cfg).await?),
        false => None,
    };
    let near = args.near.as_deref();
    let client = args.client.as_deref();
    let mut lines = Vec::new();
    lines.push(timed("database", timeout, probes::database(&cfg)).await);
    lines.push(
        timed(
            "ozmap",
            timeout,
            probes::ozmap(&cfg, near, sandbox.is_some()),
        )
        .await,
    );
    let (geocoder, cep) = probes::geocoding(&cfg, timeout).await;
    lines.push(geocoder);
    lines.push(cep);
    lines.push(timed("directory", timeout, probes::directory(&cfg, client)).await);
    lines.push(timed("schedule", timeout, schedule::schedule(&cfg, near)).await);
    lines.push(timed("sms", timeout, probes::sms(&cfg)).await);
    lines.push(timed("whatsapp", timeout, probes::whatsapp(&cfg)).await);
    lines.push(probes::signing(&cfg, sandbox.is_some()));
    lines.push(probes::public_url(&cfg, sandbox.is_some()));
    if let Some(s) = sandbox {
        s.stop().await;
    }
    Ok(lines)
}

/// A probe within `timeout`: past it, a failure that says so.
pub(crate) async fn timed(
    name: &'static str,
    timeout: Duration,
    probe: impl Future<Output = Line>,
) -> Line {
    match tokio::time::timeout(timeout, probe).await {
        Ok(line) => line,
        Err(_) => Line::fail(
            name,
            format!("no answer within {} ms (--timeout-ms)", timeout.as_millis()),
        ),
    }
}

/// No OZmap configured: the built-in sandbox, as `serve` starts it.
async fn start_sandbox(cfg: &mut Config) -> anyhow::Result<ozmap_sandbox::SandboxServer> {
    let network = match cfg.sandbox_network() {
        Some(path) => ozmap_sandbox::Network::from_file(path)?,
        None => ozmap_sandbox::Network::builtin(),
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let sandbox = ozmap_sandbox::start(network, ozmap_sandbox::DEFAULT_TOKEN, listener).await?;
    cfg.use_sandbox(
        url::Url::parse(&sandbox.base_url())?,
        secrecy::SecretString::from(ozmap_sandbox::DEFAULT_TOKEN),
    );
    Ok(sandbox)
}
