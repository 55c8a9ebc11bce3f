//! The WhatsApp channel (WhatsApp Business Cloud API): the same flow, ledger
//! and outcomes as a call, in a chat, where a client can also share the exact
//! location of the house.
//!
//! - `routes`: `GET /whatsapp` (the subscription check) and `POST /whatsapp`
//!   (notifications: the signature checked over the raw body first, then each
//!   message kept in the inbox, and only then the `200`; a store that cannot
//!   keep them is a `503`, and Meta delivers the notification again).
//! - `inbox`: what is kept when, and the processor that takes the kept
//!   messages in, in order per client, exactly once (also after a crash, and
//!   with several instances on one PostgreSQL).
//! - `notification`: the signature and the notification's JSON.
//! - `conversation`: one message through the flow and the store, and the
//!   outcome pushed when the worker settles the ledger row.
//! - `cli`: `ozmap-ivr chat`, the client in a terminal.
//! - `graph`: replies through the Graph API, and the sender that empties the
//!   durable outbox they are written to.
//!
//! Why an inbox rather than taking the message in before answering: taking in
//! may wait on the directory and the geocoder, longer than Meta waits for its
//! `200`; and why not after the `200` in memory: Meta does not deliver a
//! notification again once it had its `200`, so a crash in between lost the
//! message. Kept first, a message survives the crash and is taken in after
//! the restart.
//!
//! Why an outbox rather than a send from the handler: Meta wants its `200`
//! within seconds and re-delivers otherwise, and a reply must survive a Graph
//! API outage or a restart. A reply is written in the same transaction as the
//! conversation state it answers, so neither exists without the other.

mod cli;
mod conversation;
mod graph;
pub(crate) use graph::payload as chat_payload;
mod inbox;
mod notification;
mod routes;

pub use cli::{ChatArgs, run as chat};
pub use notification::sign;
pub(crate) use routes::configure;

use crate::config::WhatsAppSettings;
use crate::engine::Engine;
use crate::ratelimit::RateLimits;
use crate::sms::SenderSettings;
use crate::store::Store;
use ivr_core::flow::FlowConfig;
use ivr_core::prompts::Prompts;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How often the ledger is looked at for conversations waiting on it.
const OUTCOME_POLL: Duration = Duration::from_millis(500);

/// The channel, as the handlers and its background tasks share it.
pub(crate) struct Channel {
    /// The session engine the conversations move through.
    pub engine: Arc<Engine>,
    pub prompts: Prompts,
    pub settings: WhatsAppSettings,
    /// The call flow's settings for a chat: a person is offered when there is
    /// a contact to give, and the client waits for the worker however long it
    /// takes (the outcome is pushed).
    pub flow: FlowConfig,
    graph: graph::Graph,
    pub wake_sender: Arc<Notify>,
    /// Told (every processing task) when a notification kept a new message.
    pub wake_inbox: Arc<Notify>,
    /// The service's limits; their log of refusals says what was refused.
    pub limits: Arc<RateLimits>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WhatsApp({})", self.settings.phone_number_id)
    }
}

impl Channel {
    pub(crate) fn new(
        engine: Arc<Engine>,
        prompts: Prompts,
        settings: WhatsAppSettings,
        call_flow: &FlowConfig,
        limits: Arc<RateLimits>,
    ) -> anyhow::Result<Self> {
        let mut flow = call_flow.clone();
        flow.agent_available = settings.agent_contact.is_some();
        flow.reserve_hold_ms = u64::MAX;
        flow.geocode_hold_ms = u64::MAX;
        // A chat shares its location itself: no link by SMS (a chat session
        // never enters the link's steps).
        flow.location_link = false;
        Ok(Channel {
            engine,
            prompts,
            graph: graph::Graph::new(&settings)?,
            settings,
            flow,
            wake_sender: Arc::new(Notify::new()),
            wake_inbox: Arc::new(Notify::new()),
            limits,
        })
    }
}

/// Starts the inbox's processor, the sender and the outcome pusher; all end at
/// shutdown.
pub(crate) fn spawn(
    ch: Arc<Channel>,
    store: Store,
    settings: SenderSettings,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = inbox::spawn(ch.clone(), settings.shutdown_grace_ms, shutdown.clone());
    let sender = graph::ChatSender {
        store,
        graph: ch.graph.clone(),
        settings,
        wake: ch.wake_sender.clone(),
    };
    let mut stop = shutdown.clone();
    let outcomes = async move {
        while !*stop.borrow() {
            if let Err(e) = conversation::push_outcomes(&ch).await {
                tracing::error!(error = %e, "WhatsApp: cannot push outcomes");
            }
            tokio::select! {
                _ = tokio::time::sleep(OUTCOME_POLL) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        // Nobody can ask for a shutdown any more.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    };
    tasks.push(tokio::spawn(sender.run(shutdown)));
    tasks.push(tokio::spawn(outcomes));
    tasks
}
