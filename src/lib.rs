//! ozmap-ivr: the service around [`ivr_core`], a phone front door that reserves an
//! OZmap port for a new fibre client. The `ozmap-ivr` binary is a thin shell over
//! this library, the sandbox ([`ozmap_sandbox`]) and the tools ([`ivr_tools`]).
//!
//! The modules are private; what the binary and the tests use is re-exported
//! here. A tour, from the outside in:
//! - `app`: the composition: builds every client from the [`Config`], the
//!   session engine, the channels and the background jobs, wires them and
//!   mounts every route ([`configure`]) ([`Application`]).
//! - `config`: the one place configuration is read and validated, one group per
//!   concern ([`ServeArgs`] → [`Config`]); plain data, it builds nothing.
//! - `engine`: the session engine every channel moves a session through: load,
//!   advance the core, run its effects (directory, geocoder) under the
//!   channel's wait policy, write once, hand back the reply; one reader of what
//!   a held session waits for.
//! - `http`: the web side: the voice adapter (TwiML webhooks, and jambonz's
//!   JSON ones on the same steps: the gate, the
//!   platform's retries and holds, rendering), the operators' JSON, metrics and
//!   console, and what its handlers share ([`AppState`]).
//! - `whatsapp`: the chat adapter (Cloud API): its routes, the inbox (messages
//!   kept before the `200`) and its processor, the conversations, the Graph API
//!   client and the outbox sender (both leased jobs).
//! - `store`: sessions, geocoding cache, the reservation ledger and the
//!   outboxes (SQLite or PostgreSQL) ([`Store`]), and the one settle vocabulary
//!   of leased jobs.
//! - `geocode`: addresses and CEPs into coordinates (Nominatim, Google, gazetteer).
//! - `directory`: the ISP's system (its ERP) asked about each client code: the
//!   JSON contract and IXC Soft, and the look-ups in memory.
//! - `reserve`: the port-reservation procedure over [`ozmap_client`].
//! - `outbox`: leased jobs: the one claim loop (wake-up, idle poll, lease
//!   fenced by a token, backoff with jitter, dead letters, shutdown grace then
//!   release) that every leased job runs on: the worker's ledger rows, both
//!   senders' messages and the WhatsApp inbox's kept messages; it knows no
//!   table.
//! - `worker`: carries ledger rows out against OZmap, exactly once, as leased
//!   jobs (its circuit breaker says when not to claim), then the reservation's
//!   life (the client implanted once installed, the port released after
//!   `IVR_RESERVATION_DAYS`; `worker::life`), and keeps OZmap's health
//!   (breaker, latency, last error) for the console and metrics.
//! - `sms`: the outcome in writing: the message written with each outcome, the
//!   sender and its providers.
//! - `location`: the link by SMS where a caller marks the house: tokens
//!   (stored hashed), the SMS sent at once, a position taken once and judged
//!   against the service area, and the seam a held call waits on (its page is
//!   the web side's, `http::location`).
//! - `admin`: the operators' commands and views: `ozmap-ivr reservations`,
//!   `ozmap-ivr messages` (both outboxes by channel) and `ozmap-ivr console
//!   logout-all`.
//! - `check`: `ozmap-ivr check`: the configuration `serve` reads, and each
//!   service it names asked once, read-only, one line each ([`check()`]).
//! - `housekeeping`: expiry of call state (retention) and of rate-limit keys.
//! - `ratelimit`, `redact`: rate limits (requests, new calls, wrong tries of
//!   the operators' token, and the log lines about refused requests: one per
//!   source and interval, with a count) and log redaction.
//! - `logbuf`: the log writer ([`LogBuffer`]): a webhook copies its line into
//!   memory, a thread of its own writes the lines to stderr in batches.
//! - `in_process`: the service as the load generator drives it in process. It
//!   lives here, not in `ivr-tools`, because the tools must not depend on the
//!   service: they define the port ([`ivr_tools::bench::Service`]), the service
//!   adapts to it with its public API only.
//!
//! Dependencies between the modules point one way, and `tests/architecture.rs`
//! keeps them so (no cycle; the engine knows no channel; configuration is read
//! by the composition, never the other way):
//! - `app` → `config`, `directory`, `engine`, `housekeeping`, `http`,
//!   `location`, `ratelimit`, `sms`, `whatsapp`, `worker`; `in_process` → `app`, `config`,
//!   `store`;
//! - the channels: `http` → `admin` (the views), `config`, `engine`,
//!   `location` (the page's links), `ratelimit`, `redact`, `store`, `worker`
//!   (OZmap's health); `whatsapp` →
//!   `config`, `engine`, `outbox`, `ratelimit` (its log of refusals), `redact`,
//!   `sms` (the senders' errors), `store`;
//! - `engine` → `config` (the agents' hours), `directory`, `geocode`, `store`;
//! - `admin` → `config`, `redact`, `store`;
//! - `check` → `config`, `directory`, `geocode`, `reserve`, `sms`, `store`;
//! - `location` → `geocode`, `redact`, `sms`, `store`;
//! - `config` → `directory`, `geocode`, `location`, `reserve`, `sms`, `store`, `worker`
//!   (the settings types those modules define);
//! - `worker` → `outbox`, `reserve`, `sms`, `store`; `sms` → `outbox`,
//!   `redact`, `store`; `outbox` → `store`; `housekeeping` → `location` (how
//!   long a used link is kept), `ratelimit`, `store`;
//! - `directory`, `geocode`, `reserve`, `store`, `ratelimit`, `redact`,
//!   `logbuf` → none.
//!
//! Why the service is the workspace's root package: what an operator builds and
//! runs (`cargo run -- serve`) is the first thing in the repository, with its
//! `src/`, `tests/` and `prompts/`, as ripgrep and cargo lay themselves out;
//! the crates it is made of sit under `crates/`.

mod admin;
mod app;
mod check;
mod config;
mod directory;
mod engine;
mod geocode;
mod housekeeping;
mod http;
mod in_process;
mod location;
mod logbuf;
mod outbox;
mod ratelimit;
mod redact;
mod reserve;
mod sms;
mod store;
mod visits;
mod whatsapp;
mod worker;

pub use admin::{ConsoleArgs, console};
pub use admin::{MessagesArgs, messages};
pub use admin::{PrivacyArgs, privacy};
pub use admin::{ReservationsArgs, run as reservations};
pub use admin::{VisitsArgs, visits};
pub use app::{Application, Stopper, configure};
pub use check::{CheckArgs, check};
pub use config::{Config, ConfigError, ServeArgs};
pub use geocode::AddressBook;
pub use http::{AppState, Hook, SecurityCounters, WebhookCounters, security_headers};
pub use in_process::InProcessService;
pub use logbuf::{Flusher as LogFlusher, LogBuffer};
pub use redact::install_panic_hook;
pub use store::{ChatReply, LedgerStatus, Message, MessageStatus, Reservation, Store, StoreError};
pub use whatsapp::{ChatArgs, chat, sign as whatsapp_signature};
