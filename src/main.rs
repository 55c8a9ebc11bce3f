//! The `ozmap-ivr` binary: a thin shell over the library, the sandbox and the tools.

use clap::{Parser, Subcommand, ValueEnum};
use ozmap_ivr::Application;
use ozmap_ivr::{Config, ServeArgs};
use ozmap_sandbox::{Network, SandboxServer};
use secrecy::SecretString;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "ozmap-ivr",
    version,
    about = "A phone front door that reserves an OZmap port for a new fibre client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Which log lines are written (tracing's filter syntax, e.g. `info,sqlx=warn`).
    /// Default: info for the service, warn for the bench.
    #[arg(long, env = "RUST_LOG", global = true)]
    log: Option<String>,
    /// Log lines as text or as JSON lines.
    #[arg(
        long,
        env = "IVR_LOG_FORMAT",
        value_enum,
        ignore_case = true,
        default_value_t = LogFormat::Text,
        global = true
    )]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the platform's voice URL is <IVR_PUBLIC_URL>/voice).
    Serve(Box<ServeArgs>),
    /// Ask each configured service once, changing nothing: one line each, with
    /// what to fix (exit status 1 when any fails).
    Check(ozmap_ivr::CheckArgs),
    /// Run the OZmap sandbox on its own port.
    Sandbox(ozmap_sandbox::SandboxArgs),
    /// Be the caller: execute the service's TwiML in this terminal.
    Call(ivr_tools::caller::CallArgs),
    /// Be the WhatsApp client: sign messages to the service's /whatsapp and
    /// receive its replies as a fake Graph API.
    Chat(ozmap_ivr::ChatArgs),
    /// The reservation ledger: list, show, retry a dead letter, cancel.
    Reservations(ozmap_ivr::ReservationsArgs),
    /// The SMS outbox: list, show, retry a dead letter.
    Messages(ozmap_ivr::MessagesArgs),
    /// The technicians' agenda: list, move, cancel, mark done.
    Visits(ozmap_ivr::VisitsArgs),
    /// A data subject's request (LGPD): export or erase what is held about a
    /// phone number or a client code.
    Privacy(ozmap_ivr::PrivacyArgs),
    /// The operators' console: `logout-all` ends every session.
    Console(ozmap_ivr::ConsoleArgs),
    /// Load-test the service with many simulated calls (see BENCHMARKS.md).
    Bench(Box<ivr_tools::bench::BenchArgs>),
}

/// Log lines go to standard error through [`ozmap_ivr::LogBuffer`]: a webhook
/// copies its line into memory and a thread of its own writes the lines in
/// batches (see `logbuf`). The flusher returned writes what is left when dropped.
/// Colours only on a terminal: a log file or a collector gets plain text.
fn init_logs(
    filter: Option<&str>,
    default_filter: &str,
    format: LogFormat,
) -> ozmap_ivr::LogFlusher {
    use std::io::IsTerminal;
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let (writer, flusher) = ozmap_ivr::LogBuffer::new(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    flusher
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The bench prints a report; a service it runs in process would log every webhook.
    let default_filter = match cli.command {
        Command::Bench(_) | Command::Check(_) => "warn",
        _ => "info,sqlx=warn,actix_server=warn,actix_web=warn",
    };
    let logs = init_logs(cli.log.as_deref(), default_filter, cli.log_format);
    ozmap_ivr::install_panic_hook();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Check(args) => match ozmap_ivr::check(args).await {
            Ok((report, ok)) => {
                drop(logs);
                print!("{report}");
                return match ok {
                    true => std::process::ExitCode::SUCCESS,
                    false => std::process::ExitCode::FAILURE,
                };
            }
            Err(e) => Err(e),
        },
        Command::Reservations(args) => ozmap_ivr::reservations(args)
            .await
            .map(|out| print!("{out}")),
        Command::Messages(args) => ozmap_ivr::messages(args).await.map(|out| print!("{out}")),
        Command::Visits(args) => ozmap_ivr::visits(args).await.map(|out| print!("{out}")),
        Command::Console(args) => ozmap_ivr::console(args).await.map(|out| print!("{out}")),
        Command::Privacy(args) => ozmap_ivr::privacy(args).await.map(|out| print!("{out}")),
        Command::Sandbox(args) => ozmap_sandbox::run(args).await,
        Command::Bench(args) => {
            ivr_tools::bench::run_cli(*args, &ozmap_ivr::InProcessService).await
        }
        Command::Chat(args) => match ozmap_ivr::chat(args).await {
            Ok(code) => return std::process::ExitCode::from(code.clamp(0, 255) as u8),
            Err(e) => Err(e),
        },
        Command::Call(args) => match ivr_tools::caller::run_cli(args).await {
            Ok(code) => return std::process::ExitCode::from(code.clamp(0, 255) as u8),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The log lines before it first.
            drop(logs);
            eprintln!("ozmap-ivr: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = args.validate()?;
    let sandbox = match cfg.wants_sandbox() {
        true => Some(start_sandbox(&mut cfg).await?),
        false => None,
    };
    let app = Application::build(cfg).await?;
    let stopper = app.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing answers in flight and the worker's row");
        stopper.stop(true).await;
    });
    let served = app.run().await;
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    served
}

/// No OZmap configured: the built-in sandbox on a loopback port, and the
/// configuration pointed at it.
async fn start_sandbox(cfg: &mut Config) -> anyhow::Result<SandboxServer> {
    let network = match cfg.sandbox_network() {
        Some(path) => Network::from_file(path)?,
        None => Network::builtin(),
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let sandbox = ozmap_sandbox::start(network, ozmap_sandbox::DEFAULT_TOKEN, listener).await?;
    tracing::warn!(
        url = %sandbox.base_url(),
        "OZmap: built-in sandbox (simulated network); set OZMAP_URL and OZMAP_TOKEN for a real one"
    );
    cfg.use_sandbox(
        url::Url::parse(&sandbox.base_url())?,
        SecretString::from(ozmap_sandbox::DEFAULT_TOKEN),
    );
    Ok(sandbox)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
