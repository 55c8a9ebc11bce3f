//! What every handler of the web side shares: the session engine, the
//! configuration, the prompts, the limits and the counters. Built at start-up
//! (`Application::build`); its only methods are here.

use super::{Greetings, SecurityCounters, WebhookCounters};
use crate::config::Config;
use crate::engine::{Engine, Policy, Wait};
use crate::ratelimit::RateLimits;
use crate::store::Store;
use crate::worker::OzmapHealth;
use ivr_core::prompts::Prompts;
use ivr_core::render::{Recogniser, RenderCtx};
use std::sync::Arc;
use std::time::Duration;

/// Shared by every handler.
pub struct AppState {
    pub cfg: Config,
    /// The session engine every channel's step goes through.
    pub(crate) engine: Arc<Engine>,
    pub(crate) prompts: Prompts,
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
    /// The links by SMS where a caller marks the house.
    pub(crate) location: Arc<crate::location::Links>,
}

impl AppState {
    /// Whether this instance greeted `call_sid` and has not stored it yet: the
    /// greeting writes nothing (see `http::greeting`).
    pub fn greeted_unstored(&self, call_sid: &str) -> bool {
        self.greetings.holds(call_sid)
    }

    /// The store (the engine's), for the web side's views and the greeting.
    pub(crate) fn store(&self) -> &Store {
        &self.engine.store
    }

    /// A call's rules for the engine: each effect waited on within the step
    /// budget (`allow` is told it), then the caller holds.
    pub(crate) fn voice_policy<'a>(
        &'a self,
        allow: &'a (dyn Fn(Duration) + Send + Sync),
    ) -> Policy<'a> {
        Policy {
            flow: &self.cfg.call.flow,
            wait: Wait::Within {
                budget: self.cfg.call.step_budget,
                allow,
            },
        }
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
