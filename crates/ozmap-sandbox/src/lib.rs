//! The built-in OZmap sandbox: an in-process actix-web server that speaks the
//! OZmap API v2 subset this service uses (see `shared/reference/ozmap-api.md`), so
//! the product runs without an OZmap account and black-box tests get a realistic,
//! scriptable fake.
//!
//! Why it is built this way:
//! - The network (boxes, splitters, used and blocked ports) is data:
//!   `data/sandbox-network.json` is compiled in and another file can be given by
//!   path ([`Network`]). `data/SANDBOX.md` lists what each address of the bundled
//!   gazetteer gets; a test keeps that table true.
//! - [`start`] takes a bound `TcpListener` (port 0 in tests) and spawns the server
//!   on the caller's runtime (plain tokio or actix), one worker, no signal
//!   handling: the caller owns its lifetime through [`SandboxServer::stop`].
//! - State is one `std::sync::Mutex` around plain data, held for short non-async
//!   sections only; a poisoned lock is recovered, since the data stays consistent
//!   between statements.
//! - Faults ([`FaultControl`], header `X-Sandbox-Fault`) let tests and rehearsals
//!   make OZmap slow, failing, unauthorised, or lose the answer to a POST that did
//!   create the property.
//! - Beside OZmap it plays the ISP's ERP: a client directory ([`Directory`],
//!   `data/sandbox-directory.json`) in the service's JSON contract and in IXC
//!   Soft's shapes, outside OZmap's faults and token scheme.
//! - The token is a [`SecretString`]: no `Debug` or log line prints it.

mod directory;
mod fault;
mod filter;
mod http;
mod network;
mod state;
#[cfg(test)]
mod tests;

pub use directory::{Directory, DirectoryEntry};
pub use fault::{FaultControl, PostFault};
pub use network::{
    Network, NetworkBox, NetworkProject, NetworkSplitter, PlannedPort, SandboxError, is_object_id,
};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use state::World;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The box at the tutorial address in the bundled network (the id OZmap's own
/// port-reservation tutorial uses).
pub const TUTORIAL_BOX_ID: &str = "5da62201493d9c00066655b8";

/// The token the sandbox accepts when none is configured.
pub const DEFAULT_TOKEN: &str = "sandbox-token";

/// Longest [`SandboxServer::stop`] waits for the server task to end.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// State shared by the handlers and the [`SandboxServer`].
pub(crate) struct Shared {
    token: SecretString,
    faults: FaultControl,
    world: Mutex<World>,
    /// The ISP's client directory beside the network (not OZmap's).
    directory: Directory,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn token_matches(&self, given: &str) -> bool {
        webhook_signature::secret_eq(self.token.expose_secret().as_bytes(), given.as_bytes())
    }
}

/// A running sandbox. Dropping it stops the server too (without waiting).
pub struct SandboxServer {
    pub addr: SocketAddr,
    shared: web::Data<Shared>,
    handle: Option<ServerHandle>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for SandboxServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SandboxServer {
    /// `http://127.0.0.1:PORT`, without `/api/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults in force; flip them between requests.
    pub fn faults(&self) -> &FaultControl {
        &self.shared.faults
    }

    /// `POST /properties` requests received (refused, failed and faulted ones too).
    pub fn property_posts(&self) -> usize {
        self.shared.world().property_posts
    }

    /// Every property created, as answered, in order (deleted ones included).
    pub fn properties(&self) -> Vec<Value> {
        self.shared.world().created.clone()
    }

    /// The client (code, name) of every property created, in order.
    pub fn clients(&self) -> Vec<(String, Option<String>)> {
        let w = self.shared.world();
        w.properties
            .iter()
            .map(|p| (p.client.code.clone(), p.client.name.clone()))
            .collect()
    }

    /// The client code and `implanted` flag of every live property, in order
    /// (a reserved client is `false`; activation PATCHes it to `true`).
    pub fn client_implanted(&self) -> Vec<(String, bool)> {
        let w = self.shared.world();
        w.properties
            .iter()
            .map(|p| (p.client.code.clone(), p.client.implanted))
            .collect()
    }

    /// The properties that exist now (created and not deleted), in order.
    pub fn live_properties(&self) -> Vec<Value> {
        let w = self.shared.world();
        w.properties
            .iter()
            .map(|p| w.property_json(p, false))
            .collect()
    }

    /// Prospects recorded, in order.
    pub fn prospects(&self) -> Vec<Value> {
        self.shared.world().prospects.clone()
    }

    /// Stops the server at once (open requests are dropped) and waits for it.
    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(STOP_WAIT, task).await;
        }
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // The stop command is sent when `stop` is called; the future only waits.
            drop(handle.stop(false));
        }
    }
}

/// Starts the sandbox on `listener`, on the caller's runtime.
pub async fn start(
    network: Network,
    token: &str,
    listener: TcpListener,
) -> std::io::Result<SandboxServer> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let shared = web::Data::new(Shared {
        token: SecretString::from(token.to_string()),
        faults: FaultControl::new(),
        world: Mutex::new(World::new(&network)),
        directory: Directory::builtin(),
    });
    let data = shared.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(http::gate))
            .configure(directory::routes)
            .configure(http::routes)
    })
    .listen(listener)?
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(SandboxServer {
        addr,
        shared,
        handle: Some(handle),
        task: Some(task),
    })
}

/// `ozmap-ivr sandbox`: serve the sandbox on its own.
#[derive(Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address and port to listen on.
    #[arg(long, env = "SANDBOX_BIND", default_value = "127.0.0.1:9994")]
    pub bind: SocketAddr,
    /// Network file (JSON). Default: the built-in Agronômica network.
    #[arg(long, env = "SANDBOX_NETWORK")]
    pub network: Option<PathBuf>,
    /// The API key the sandbox accepts in `Authorization` (raw, no Bearer).
    #[arg(
        long,
        env = "SANDBOX_TOKEN",
        default_value = DEFAULT_TOKEN,
        hide_env_values = true
    )]
    pub token: String,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, env = "SANDBOX_DELAY_MS", default_value_t = 0)]
    pub delay_ms: u64,
    /// Answer every request with this HTTP status (a failing OZmap).
    #[arg(long, env = "SANDBOX_FAIL_STATUS")]
    pub fail_status: Option<u16>,
}

impl std::fmt::Debug for SandboxArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxArgs")
            .field("bind", &self.bind)
            .field("network", &self.network)
            .field("token", &"[redacted]")
            .field("delay_ms", &self.delay_ms)
            .field("fail_status", &self.fail_status)
            .finish()
    }
}

/// Serves the sandbox until Ctrl-C.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    if args.token.trim().is_empty() {
        anyhow::bail!("configuration: SANDBOX_TOKEN: must not be empty");
    }
    if let Some(s) = args.fail_status
        && !(200..=599).contains(&s)
    {
        anyhow::bail!("configuration: SANDBOX_FAIL_STATUS: must be an HTTP status 200-599");
    }
    let network = match &args.network {
        Some(path) => Network::from_file(path)?,
        None => Network::builtin(),
    };
    let listener = TcpListener::bind(args.bind)
        .with_context(|| format!("SANDBOX_BIND: cannot listen on {}", args.bind))?;
    let mut server = start(network, &args.token, listener)
        .await
        .context("cannot start the OZmap sandbox")?;
    server.faults().set_delay_ms(args.delay_ms);
    server.faults().set_fail_status(args.fail_status);
    tracing::info!(
        url = %format!("{}/api/v2", server.base_url()),
        network = %args.network.as_ref().map_or("built-in".to_string(), |p| p.display().to_string()),
        "OZmap sandbox listening"
    );
    let Some(mut task) = server.task.take() else {
        anyhow::bail!("the OZmap sandbox did not start");
    };
    let ended = tokio::select! {
        r = tokio::signal::ctrl_c() => {
            r.context("cannot wait for Ctrl-C")?;
            None
        }
        r = &mut task => Some(r),
    };
    match ended {
        None => {
            tracing::info!("OZmap sandbox stopping");
            server.stop().await;
            let _ = tokio::time::timeout(STOP_WAIT, task).await;
            Ok(())
        }
        Some(Ok(Ok(()))) => {
            tracing::info!("OZmap sandbox stopped");
            Ok(())
        }
        Some(Ok(Err(e))) => Err(e).context("the OZmap sandbox failed"),
        Some(Err(e)) => Err(e).context("the OZmap sandbox task failed"),
    }
}
