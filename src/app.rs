//! Start-up: builds every adapter from the [`Config`] (each part of it builds its
//! own client), binds the listener (port 0 allowed, the real port read back),
//! starts the worker and the SMS sender, and serves. The same [`Application`] runs in the binary and
//! in the black-box tests. It needs an OZmap: with none configured, the binary
//! starts the built-in sandbox first and points the configuration at it.

use crate::config::Config;
use crate::engine::Engine;
use crate::http::AppState;
use crate::http::{SecurityCounters, WebhookCounters};
use crate::ratelimit::RateLimits;
use crate::sms::{Outbox, Sender, SenderSettings};
use crate::worker::{Worker, WorkerSettings};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use ivr_core::render::{MAX_HINTS, split_hints};
use secrecy::ExposeSecret;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// A running service.
pub struct Application {
    pub addr: SocketAddr,
    pub public_url: String,
    server: actix_web::dev::Server,
    handle: ServerHandle,
    shutdown: Arc<watch::Sender<bool>>,
    worker: tokio::task::JoinHandle<()>,
    /// The SMS sender; `None` when SMS are off.
    sms: Option<tokio::task::JoinHandle<()>>,
    /// The WhatsApp sender and outcome pusher; empty when the channel is off.
    chat: Vec<tokio::task::JoinHandle<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
    /// The visits' ERP outbox and poll (`SCHEDULE=http` or `ixc`), and the
    /// sweep of the positions of calls that hung up.
    erp: Vec<tokio::task::JoinHandle<()>>,
    pub state: web::Data<AppState>,
}

/// Every route of the service: the web side's and the chat channel's. The
/// app data they need is [`Application::state`] (and the WhatsApp channel,
/// registered by [`Application::build`] when it is on).
pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::http::routes::configure(cfg);
    crate::whatsapp::configure(cfg);
}

impl Application {
    /// Builds everything and binds; `run` serves.
    pub async fn build(mut cfg: Config) -> anyhow::Result<Self> {
        let prompts = cfg.call.prompts()?;
        let store = cfg
            .database
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("IVR_DATABASE_URL: cannot open the store: {e}"))?;
        if let Some(token) = &cfg.admin_token {
            let ended = crate::http::end_other_tokens_sessions(&store, token.expose_secret())
                .await
                .map_err(|e| {
                    anyhow::anyhow!("IVR_DATABASE_URL: cannot read the console's sessions: {e}")
                })?;
            if ended > 0 {
                tracing::info!(
                    sessions = ended,
                    "console: sessions opened with another IVR_ADMIN_TOKEN ended"
                );
            }
        }
        let listener = TcpListener::bind(cfg.http.bind)
            .map_err(|e| anyhow::anyhow!("IVR_BIND {}: {e}", cfg.http.bind))?;
        let addr = listener.local_addr()?;
        if cfg.http.public_url_is_default() {
            cfg.http.public_url = format!("http://{addr}");
        }
        if cfg.geocoder.uses_bundled_gazetteer() {
            tracing::warn!(
                "geocoder: the bundled gazetteer (a demonstration neighbourhood of Florianópolis)"
            );
        }
        let locator = cfg.geocoder.locator()?;
        tracing::info!(area = %locator.area(), "geocoder: service area");
        let schedule = &cfg.call.schedule;
        match (&cfg.call.agent_number, schedule.hours()) {
            (None, _) => tracing::warn!(
                "agents: no IVR_AGENT_NUMBER; callers cannot reach a person (the SAC decree expects one)"
            ),
            (Some(_), Some(h)) => {
                tracing::info!(hours = %h, timezone = schedule.tz_name(), "agents: business hours")
            }
            (Some(_), None) => tracing::info!("agents: a person answers at any time"),
        }
        let recogniser = cfg
            .call
            .recogniser(&prompts, &locator.street_hints(MAX_HINTS));
        tracing::info!(
            speech_model = recogniser.model.as_deref().unwrap_or("none"),
            enhanced = recogniser.enhanced_for(&cfg.call.language),
            address_speech_timeout_s = recogniser.address_timeout_s,
            address_hints = recogniser
                .address_hints
                .as_deref()
                .map_or(0, |h| split_hints(h).count()),
            "speech recogniser"
        );
        let directory = Arc::new(crate::directory::Lookups::new(cfg.directory.directory()?));
        announce_directory(&cfg);
        let agenda = crate::visits::Agenda::build(&cfg.visits.source)?;
        let ozmap = cfg.ozmap.client()?;
        let wake = Arc::new(Notify::new());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shutdown = Arc::new(shutdown);
        let sms_wake = Arc::new(Notify::new());
        let sender = cfg.sms.provider()?.map(|provider| Sender {
            store: store.clone(),
            provider,
            settings: sender_settings(&cfg.worker),
            wake: sms_wake.clone(),
        });
        announce_sms(&cfg);
        let ozmap_health = Arc::new(crate::worker::OzmapHealth::default());
        let worker = Worker {
            health: ozmap_health.clone(),
            store: store.clone(),
            ozmap,
            reserve: cfg.reserve.clone(),
            settings: cfg.worker.clone(),
            wake: wake.clone(),
            outbox: sender.as_ref().map(|_| {
                Outbox::new(prompts.clone(), sms_wake)
                    .with_visit_hold(cfg.visits.offered().then_some(cfg.visits.sms_hold))
            }),
            chat: Some(crate::worker::ChatNotice {
                prompts: prompts.clone(),
                payload: crate::whatsapp::chat_payload,
            }),
        };
        let visit_texts = (sender.is_some() && cfg.visits.offered())
            .then(|| crate::visits::VisitTexts::new(Arc::new(prompts.clone())));
        let worker = tokio::spawn(worker.run(shutdown_rx.clone()));
        let sms = sender.map(|s| tokio::spawn(s.run(shutdown_rx.clone())));
        let limits = Arc::new(RateLimits::new(
            cfg.http.rate_calls_per_minute,
            cfg.http.rate_requests_per_second,
        ));
        let chat_shutdown = shutdown_rx.clone();
        let sweep_shutdown = shutdown_rx.clone();
        let wake_erp = Arc::new(tokio::sync::Notify::new());
        let erp = match agenda.erp() {
            Some(erp) => {
                tracing::info!(erp = erp.kind(), "visits are booked in the ERP's agenda");
                let schedule = cfg.call.schedule.clone();
                let today = move |now: i64| {
                    ivr_core::agenda::Day::of(&schedule.local(u64::try_from(now).unwrap_or(0)))
                };
                vec![
                    tokio::spawn(crate::visits::erp_job::run_erp_jobs(
                        store.clone(),
                        (**erp).clone(),
                        sender_settings(&cfg.worker),
                        wake_erp.clone(),
                        shutdown_rx.clone(),
                    )),
                    tokio::spawn(crate::visits::erp_job::run_erp_poll(
                        store.clone(),
                        erp.clone(),
                        today,
                        shutdown_rx.clone(),
                    )),
                ]
            }
            None => Vec::new(),
        };
        let housekeeping = tokio::spawn(crate::housekeeping::run(
            store.clone(),
            limits.clone(),
            cfg.call.retention_days,
            shutdown_rx,
        ));
        // The location links send their SMS at once, on a provider of their own.
        let location = Arc::new(crate::location::Links::new(
            store.clone(),
            cfg.location.clone(),
            &cfg.http.public_url,
            cfg.sms.provider()?,
            prompts.clone(),
        ));
        let engine = Arc::new(
            Engine::new(
                store.clone(),
                locator,
                directory,
                cfg.call.schedule.clone(),
                cfg.call.geocode_hold(),
                wake,
                crate::visits::Visits {
                    agenda,
                    texts: visit_texts,
                    wake_erp,
                },
            )
            .with_location(location.clone()),
        );
        let whatsapp = cfg
            .whatsapp
            .clone()
            .map(|s| {
                crate::whatsapp::Channel::new(
                    engine.clone(),
                    prompts.clone(),
                    s,
                    &cfg.call.flow,
                    limits.clone(),
                )
                .map(Arc::new)
            })
            .transpose()?;
        let chat_settings = sender_settings(&cfg.worker);
        warn_about_signatures(&cfg);
        let public_url = cfg.http.public_url.clone();
        let platform_base_url = cfg.http.platform_base_url();
        let state = web::Data::new(AppState {
            cfg,
            engine,
            prompts,
            platform_base_url,
            limits,
            security: SecurityCounters::default(),
            webhooks: WebhookCounters::default(),
            greetings: Default::default(),
            stalls: Default::default(),
            ozmap: ozmap_health,
            recogniser,
            location,
        });
        // A position whose call hung up first still gets the reservation.
        crate::http::location_call::watch_positions(&state);
        let mut erp = erp;
        erp.push(tokio::spawn(crate::http::location_call::run_sweep(
            state.clone(),
            sweep_shutdown,
        )));
        let chat = match &whatsapp {
            Some(ch) => {
                tracing::info!("WhatsApp: on; point the app's webhook at {public_url}/whatsapp");
                crate::whatsapp::spawn(
                    ch.clone(),
                    state.store().clone(),
                    chat_settings,
                    chat_shutdown,
                )
            }
            None => Vec::new(),
        };
        let data = state.clone();
        let chat_data = whatsapp.map(web::Data::from);
        let server = HttpServer::new(move || {
            let app = App::new().app_data(data.clone());
            let app = match &chat_data {
                Some(ch) => app.app_data(ch.clone()),
                None => app,
            };
            app.wrap(actix_web::middleware::from_fn(crate::http::guard))
                .wrap(crate::http::security_headers())
                .configure(configure)
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
            sms,
            chat,
            housekeeping,
            erp,
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
            sms,
            chat,
            housekeeping,
            erp,
            ..
        } = self;
        let result = server.await;
        let _ = shutdown.send(true);
        let _ = worker.await;
        if let Some(sms) = sms {
            let _ = sms.await;
        }
        for task in chat {
            let _ = task.await;
        }
        let _ = housekeeping.await;
        for task in erp {
            let _ = task.await;
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

/// The SMS sender keeps the worker's lease, retries and grace.
fn sender_settings(w: &WorkerSettings) -> SenderSettings {
    SenderSettings {
        lease_ms: w.lease_ms,
        max_attempts: w.max_attempts,
        backoff_base_ms: w.backoff_base_ms,
        backoff_max_ms: w.backoff_max_ms,
        idle_poll_ms: w.idle_poll_ms,
        shutdown_grace_ms: w.shutdown_grace_ms,
    }
}

/// Says at start who sends the SMS with the outcome, and warns when nobody does.
fn announce_sms(cfg: &Config) {
    match cfg.sms.provider.name() {
        "none" => tracing::warn!(
            "SMS: off (SMS_PROVIDER unset or none); callers get no SMS with their protocol and \
             outcome (Anatel, Res. 765/2023 art. 9, expects the protocol sent electronically)"
        ),
        "log" => {
            tracing::info!("SMS: written to the log, number masked (set SMS_PROVIDER to send them)")
        }
        name => tracing::info!(provider = name, "SMS: the outcome is sent to the caller"),
    }
}

/// Says at start how webhooks are checked (the configuration already refused the
/// unsafe combinations).
fn warn_about_signatures(cfg: &Config) {
    if cfg.signing.enforced() {
        if cfg.signing.allow_unsigned {
            tracing::warn!(
                "--allow-unsigned has no effect: a signing secret is configured and every webhook is checked"
            );
        } else {
            tracing::info!("webhooks: platform signatures are checked");
        }
    } else if cfg.signing.allow_unsigned {
        tracing::warn!(
            "webhooks: NO signature check (--allow-unsigned) with a real OZmap; anyone who finds the URL can place calls"
        );
    } else {
        tracing::warn!(
            "webhooks: no signing secret configured; unsigned requests are accepted (sandbox mode)"
        );
    }
    if cfg.http.webhook_auth.is_some() {
        tracing::info!("webhooks: HTTP basic auth required (credentials in IVR_PUBLIC_URL)");
    }
}

/// One line at start: which directory is asked about the client codes.
fn announce_directory(cfg: &Config) {
    use crate::directory::DirectorySettings as D;
    match &cfg.directory {
        D::Off => {
            tracing::info!("client directory: none (every code accepted; name and address asked)")
        }
        D::Sandbox { .. } => tracing::info!("client directory: the built-in sandbox's"),
        D::Http { timeout, cache, .. } => tracing::info!(
            timeout_ms = timeout.as_millis() as u64,
            cache_s = cache.as_secs(),
            "client directory: http"
        ),
        D::Ixc { timeout, cache, .. } => tracing::info!(
            timeout_ms = timeout.as_millis() as u64,
            cache_s = cache.as_secs(),
            "client directory: ixc"
        ),
    }
}
