//! The `ozmap-ivr` binary: a thin shell over the library, the sandbox and the tools.

use clap::{Parser, Subcommand};
use ozmap_ivr::app::Application;
use ozmap_ivr::config::ServeArgs;
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
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the platform's voice URL is <IVR_PUBLIC_URL>/voice).
    Serve(Box<ServeArgs>),
    /// Run the OZmap sandbox on its own port.
    Sandbox(ozmap_sandbox::SandboxArgs),
    /// Be the caller: execute the service's TwiML in this terminal.
    Call(ivr_tools::caller::CallArgs),
    /// The reservation ledger: list, show, retry a dead letter, cancel.
    Reservations(ozmap_ivr::admin::ReservationsArgs),
    /// Load-test the service with many simulated calls (see BENCHMARKS.md).
    Bench(Box<ivr_tools::bench::BenchArgs>),
}

fn init_logs(default_filter: &str) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("IVR_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The bench prints a report; a service it runs in process would log every webhook.
    init_logs(match cli.command {
        Command::Bench(_) => "warn",
        _ => "info,sqlx=warn,actix_server=warn,actix_web=warn",
    });
    ozmap_ivr::redact::install_panic_hook();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Reservations(args) => ozmap_ivr::admin::run(args).await.map(|out| print!("{out}")),
        Command::Sandbox(args) => ozmap_sandbox::run(args).await,
        Command::Bench(args) => {
            ivr_tools::bench::run_cli(*args, &ozmap_ivr::InProcessService).await
        }
        Command::Call(args) => match ivr_tools::caller::run_cli(args).await {
            Ok(code) => return std::process::ExitCode::from(code.clamp(0, 255) as u8),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ozmap-ivr: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = args.validate()?;
    let app = Application::build(cfg).await?;
    let stopper = app.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing answers in flight and the worker's row");
        stopper.stop(true).await;
    });
    app.run().await
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
