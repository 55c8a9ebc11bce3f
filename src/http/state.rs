//! What every handler shares: the configuration, the store, the geocoder, the
//! prompts, the limits and the counters. Built at start-up (`Application::build`);
//! its only methods are here.

use super::{Greetings, SecurityCounters, WebhookCounters};
use crate::config::Config;
use crate::geocode::Locator;
use crate::ratelimit::RateLimits;
use crate::store::Store;
use crate::worker::OzmapHealth;
use futures_util::future::{BoxFuture, Shared};
use ivr_core::flow::GeoResult;
use ivr_core::prompts::Prompts;
use ivr_core::render::{Recogniser, RenderCtx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// A geocoder lookup in flight, shared by every request that waits on it.
pub(crate) type GeoLookup = Shared<BoxFuture<'static, GeoResult>>;

/// Shared by every handler.
pub struct AppState {
    pub cfg: Config,
    pub(crate) prompts: Prompts,
    pub(crate) store: Store,
    pub(crate) locator: Locator,
    pub(crate) wake_worker: Arc<Notify>,
    /// Lookups running on this instance, by cache key.
    pub(crate) geo_inflight: Mutex<HashMap<String, GeoLookup>>,
    /// The public URL as the platform calls it: action URLs and signed
    /// URLs start with it. Holds the basic-auth password when there is one: never
    /// log it.
    pub platform_base_url: String,
    /// Per caller number and per source address.
    pub(crate) limits: Arc<RateLimits>,
    /// Refused webhooks, by kind.
    pub security: SecurityCounters,
    /// Answered webhooks, by route, with their latency.
    pub webhooks: WebhookCounters,
    /// Greeted calls not stored yet, and the protocol block in hand.
    pub(crate) greetings: Greetings,
    /// Webhooks' works that outlived their webhook (a slow database).
    pub(crate) stalls: super::Stalls,
    /// OZmap as this instance's worker sees it.
    pub(crate) ozmap: Arc<OzmapHealth>,
    /// Model, `enhanced`, timeouts and the address hints (the ISP's streets),
    /// built once at start.
    pub(crate) recogniser: Recogniser,
    /// The client directory's look-ups and the known clients kept in memory.
    pub(crate) directory: Arc<crate::directory::Lookups>,
    /// The WhatsApp channel; `None` when it is off.
    pub(crate) whatsapp: Option<Arc<crate::whatsapp::Channel>>,
}

impl AppState {
    /// Whether this instance greeted `call_sid` and has not stored it yet: the
    /// greeting writes nothing (see `http::greeting`).
    pub fn greeted_unstored(&self, call_sid: &str) -> bool {
        self.greetings.holds(call_sid)
    }

    pub fn render_ctx(&self) -> RenderCtx<'_> {
        RenderCtx {
            prompts: &self.prompts,
            public_url: &self.platform_base_url,
            voice: &self.cfg.call.voice,
            language: &self.cfg.call.language,
            agent_number: self.cfg.call.agent_number.as_deref(),
            recogniser: &self.recogniser,
            platform: self.cfg.call.platform,
        }
    }
}
