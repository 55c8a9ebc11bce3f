//! Start-up: builds every adapter from the [`Config`], binds the listener (port 0
//! allowed, the real port read back), starts the worker and serves. The same
//! [`Application`] runs in the binary and in the black-box tests.

use crate::config::{Config, GeocoderKind};
use crate::geocode::Locator;
use crate::http::security::SecurityCounters;
use crate::ratelimit::RateLimits;
use crate::reserve::ReserveSettings;
use crate::store::Store;
use crate::worker::Worker;
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use futures_util::future::{BoxFuture, Shared};
use ivr_core::flow::FlowConfig;
use ivr_core::prompts::Prompts;
use ivr_core::render::RenderCtx;
use ozmap_client::OzmapClient;
use ozmap_sandbox::{Network, SandboxServer};
use secrecy::SecretString;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The token the built-in sandbox expects.
pub const SANDBOX_TOKEN: &str = "sandbox-token";

/// Shared by every handler.
pub struct AppState {
    pub cfg: Config,
    pub flow: FlowConfig,
    pub prompts: Prompts,
    pub store: Store,
    pub locator: Locator,
    pub wake_worker: Arc<Notify>,
    pub geo_inflight: Mutex<HashMap<String, Shared<BoxFuture<'static, ivr_core::flow::GeoResult>>>>,
    /// [`Config::platform_base_url`]: action URLs and signed URLs start with it.
    /// Holds the basic-auth password when there is one: never log it.
    pub platform_base_url: String,
    /// Per caller number and per source address.
    pub limits: Arc<RateLimits>,
    /// Refused webhooks, by kind.
    pub security: SecurityCounters,
    /// Answered webhooks, by route, with their latency.
    pub webhooks: crate::http::metrics::WebhookCounters,
    /// The greeting of a new call, rendered once (it depends on the
    /// configuration only).
    pub greeting: std::sync::OnceLock<String>,
}

impl AppState {
    pub fn render_ctx(&self) -> RenderCtx<'_> {
        RenderCtx {
            prompts: &self.prompts,
            public_url: &self.platform_base_url,
            voice: &self.cfg.voice,
            language: &self.cfg.language,
            agent_number: self.cfg.agent_number.as_deref(),
        }
    }
}

/// A running service.
pub struct Application {
    pub addr: SocketAddr,
    pub public_url: String,
    server: actix_web::dev::Server,
    handle: ServerHandle,
    shutdown: Arc<watch::Sender<bool>>,
    worker: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
    /// The built-in OZmap sandbox, when no OZmap is configured.
    pub sandbox: Option<Arc<SandboxServer>>,
    pub state: web::Data<AppState>,
}

impl Application {
    /// Builds everything and binds; `run` serves.
    pub async fn build(mut cfg: Config) -> anyhow::Result<Self> {
        let prompts = crate::config::prompts::load(&cfg.language, cfg.prompts_dir.as_deref())?;
        let store = Store::connect(&cfg.database_url)
            .await
            .map_err(|e| anyhow::anyhow!("IVR_DATABASE_URL: cannot open the store: {e}"))?;
        let listener = TcpListener::bind(cfg.bind)
            .map_err(|e| anyhow::anyhow!("IVR_BIND {}: {e}", cfg.bind))?;
        let addr = listener.local_addr()?;
        if cfg.public_url == format!("http://{}", cfg.bind) {
            cfg.public_url = format!("http://{addr}");
        }

        let (sandbox, ozmap_url, ozmap_token) = match (&cfg.ozmap_url, &cfg.ozmap_token) {
            (Some(url), Some(token)) => (None, url.clone(), token.clone()),
            _ => {
                let network = match &cfg.sandbox_network {
                    Some(path) => Network::from_file(path)?,
                    None => Network::builtin(),
                };
                let l = TcpListener::bind("127.0.0.1:0")?;
                let sb = ozmap_sandbox::start(network, SANDBOX_TOKEN, l).await?;
                tracing::warn!(
                    url = %sb.base_url(),
                    "OZmap: built-in sandbox (simulated network); set OZMAP_URL and OZMAP_TOKEN for a real one"
                );
                let url = url::Url::parse(&sb.base_url())?;
                (
                    Some(Arc::new(sb)),
                    url,
                    SecretString::from(SANDBOX_TOKEN.to_string()),
                )
            }
        };
        if cfg.geocoder == GeocoderKind::Gazetteer && cfg.gazetteer_file.is_none() {
            tracing::warn!(
                "geocoder: the bundled gazetteer (a demonstration neighbourhood of Florianópolis)"
            );
        }
        let locator = Locator::from_config(&cfg)?;
        let ozmap = OzmapClient::new(
            ozmap_url,
            ozmap_token,
            Duration::from_millis(cfg.ozmap_timeout_ms),
        )?;
        let reserve = ReserveSettings {
            radius_m: cfg.ozmap_radius_m,
            force: cfg.ozmap_force,
            strategy: cfg.ozmap_feasibility,
            ..ReserveSettings::default()
        };
        let flow = FlowConfig {
            max_attempts: cfg.max_attempts,
            agent_available: cfg.agent_number.is_some(),
            geocode_hold_ms: cfg.geocode_hold_ms,
            reserve_hold_ms: cfg.reserve_hold_ms,
            poll_pause_s: cfg.poll_pause_s,
        };
        let wake = Arc::new(Notify::new());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shutdown = Arc::new(shutdown);
        let worker = Worker {
            store: store.clone(),
            ozmap,
            reserve,
            settings: cfg.worker.clone(),
            wake: wake.clone(),
        };
        let worker = tokio::spawn(worker.run(shutdown_rx.clone()));
        let limits = Arc::new(RateLimits::new(
            cfg.rate_calls_per_minute,
            cfg.rate_requests_per_second,
        ));
        let housekeeping = tokio::spawn(crate::housekeeping::run(
            store.clone(),
            limits.clone(),
            cfg.retention_days,
            shutdown_rx,
        ));
        warn_about_signatures(&cfg);
        let public_url = cfg.public_url.clone();
        let platform_base_url = cfg.platform_base_url();
        let state = web::Data::new(AppState {
            cfg,
            flow,
            prompts,
            store,
            locator,
            wake_worker: wake,
            geo_inflight: Mutex::new(HashMap::new()),
            platform_base_url,
            limits,
            security: SecurityCounters::default(),
            webhooks: Default::default(),
            greeting: std::sync::OnceLock::new(),
        });
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(crate::http::security_headers())
                .configure(crate::http::routes::configure)
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(10)
        .run();
        let handle = server.handle();
        tracing::info!(%addr, public_url = %public_url, "ozmap-ivr listening; point the phone number's voice URL at {public_url}/voice");
        Ok(Self {
            addr,
            public_url,
            server,
            handle,
            shutdown,
            worker,
            housekeeping,
            sandbox,
            state,
        })
    }

    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// What stops the service on SIGTERM: the worker and the server together.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            server: self.handle.clone(),
            worker: self.shutdown.clone(),
        }
    }

    /// Serves until stopped (SIGINT/SIGTERM in the binary, `stop` in tests), then
    /// lets answers in flight finish and the worker finish its row.
    pub async fn run(self) -> anyhow::Result<()> {
        let Self {
            server,
            shutdown,
            worker,
            housekeeping,
            sandbox,
            ..
        } = self;
        let result = server.await;
        let _ = shutdown.send(true);
        let _ = worker.await;
        let _ = housekeeping.await;
        if let Some(sb) = sandbox.and_then(|sb| Arc::try_unwrap(sb).ok()) {
            sb.stop().await;
        }
        Ok(result?)
    }
}

/// Stops a running [`Application`]: the worker is told at once (it finishes the
/// row in hand within its grace, or releases it), while the server stops taking
/// connections and finishes the answers in flight.
#[derive(Clone)]
pub struct Stopper {
    server: ServerHandle,
    worker: Arc<watch::Sender<bool>>,
}

impl Stopper {
    pub async fn stop(&self, graceful: bool) {
        let _ = self.worker.send(true);
        self.server.stop(graceful).await;
    }
}

/// Says at start how webhooks are checked (the configuration already refused the
/// unsafe combinations).
fn warn_about_signatures(cfg: &Config) {
    if cfg.signatures_enforced() {
        if cfg.allow_unsigned {
            tracing::warn!(
                "--allow-unsigned has no effect: a signing secret is configured and every webhook is checked"
            );
        } else {
            tracing::info!("webhooks: platform signatures are checked");
        }
    } else if cfg.allow_unsigned {
        tracing::warn!(
            "webhooks: NO signature check (--allow-unsigned) with a real OZmap; anyone who finds the URL can place calls"
        );
    } else {
        tracing::warn!(
            "webhooks: no signing secret configured; unsigned requests are accepted (sandbox mode)"
        );
    }
    if cfg.webhook_auth.is_some() {
        tracing::info!("webhooks: HTTP basic auth required (credentials in IVR_PUBLIC_URL)");
    }
}
