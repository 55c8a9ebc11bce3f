//! ozmap-ivr: the service around [`ivr_core`], a phone front door that reserves an
//! OZmap port for a new fibre client. The `ozmap-ivr` binary is a thin shell over
//! this library, the sandbox ([`ozmap_sandbox`]) and the tools ([`ivr_tools`]).
//!
//! The modules are private; what the binary and the tests use is re-exported
//! here. A tour, from the outside in:
//! - `config`: the one place configuration is read, one group per concern, each
//!   building its own client ([`ServeArgs`] → [`Config`]).
//! - `app`: start-up ([`Application`]).
//! - `http`: the webhooks, the gate in front of them, the operators' JSON,
//!   metrics and console in the browser ([`configure`] lists every route), and
//!   what handlers share ([`AppState`]).
//! - `store`: call state, geocoding cache and the reservation ledger (SQLite or
//!   PostgreSQL) ([`Store`]).
//! - `geocode`: addresses and CEPs into coordinates (Nominatim, Google, gazetteer).
//! - `directory`: the ISP's system (its ERP) asked about each client code: the
//!   JSON contract and IXC Soft, and the look-ups in memory.
//! - `reserve`: the port-reservation procedure over [`ozmap_client`].
//! - `outbox`: leased jobs: the one claim loop (wake-up, idle poll, lease
//!   fenced by a token, backoff with jitter, dead letters, shutdown grace then
//!   release) and the one settle vocabulary (`Settle`) that the worker and both
//!   senders share; it knows no table.
//! - `worker`: carries ledger rows out against OZmap, exactly once, as leased
//!   jobs (its circuit breaker says when not to claim), and keeps OZmap's health
//!   (breaker, latency, last error) for the console and metrics.
//! - `sms`: the outcome in writing: the message written with each outcome, the
//!   sender and its providers, and the operators' view of both outboxes by
//!   channel (`ozmap-ivr messages`, `GET /admin/messages`).
//! - `whatsapp`: the same flow on WhatsApp (Cloud API): its routes, the inbox
//!   (messages kept before the `200`) and its processor, the conversations,
//!   the Graph API client and the outbox sender (leased jobs).
//! - `admin`: the operators' command, `ozmap-ivr reservations`.
//! - `housekeeping`: expiry of call state (retention) and of rate-limit keys.
//! - `ratelimit`, `redact`: rate limits and log redaction.
//! - `logbuf`: the log writer ([`LogBuffer`]): a webhook copies its line into
//!   memory, a thread of its own writes the lines to stderr in batches.
//! - `in_process`: the service as the load generator drives it in process. It
//!   lives here, not in `ivr-tools`, because the tools must not depend on the
//!   service: they define the port ([`ivr_tools::bench::Service`]), the service
//!   adapts to it with its public API only.
//!
//! Dependencies between the modules point one way (check with a grep of
//! `crate::`): `app` → `http`, `worker`, `housekeeping`, `config`, `whatsapp`;
//! `http` → `admin` (the row view), `sms` (the message view, both channels),
//! `worker` (OZmap's health), `directory`, `config`, `geocode`, `store`,
//! `ratelimit`, `redact`; `config` → `directory`, `geocode`, `reserve`, `sms`,
//! `store`, `worker` (the settings it builds); `worker` → `outbox`, `reserve`,
//! `sms`, `store`; `sms` → `outbox`, `config` (the store's flags), `redact`,
//! `store`; `whatsapp` → `outbox`, `sms` (the senders' settings and errors),
//! `config`, `redact`, `store` (and `http`, below); `store` → `outbox` (the
//! `Settle` it maps to SQL); `directory`, `geocode`, `reserve`, `outbox` →
//! none. One cycle is known and left: `whatsapp` uses `http`'s `AppState` and
//! geocoding, and `http` mounts `whatsapp`'s routes; moving the
//! state that both share out of `http` would end it.

mod admin;
mod app;
mod config;
mod directory;
mod engine;
mod geocode;
mod housekeeping;
mod http;
mod in_process;
mod logbuf;
mod outbox;
mod ratelimit;
mod redact;
mod reserve;
mod sms;
mod store;
mod whatsapp;
mod worker;

pub use admin::{MessagesArgs, messages};
pub use admin::{ReservationsArgs, run as reservations};
pub use app::{Application, Stopper, configure};
pub use config::{Config, ConfigError, ServeArgs};
pub use geocode::AddressBook;
pub use http::{AppState, Hook, SecurityCounters, WebhookCounters, security_headers};
pub use in_process::InProcessService;
pub use logbuf::{Flusher as LogFlusher, LogBuffer};
pub use redact::install_panic_hook;
pub use store::{ChatReply, LedgerStatus, Message, MessageStatus, Reservation, Store, StoreError};
pub use whatsapp::{ChatArgs, chat, sign as whatsapp_signature};
