//! ozmap-ivr: the service around [`ivr_core`], a phone front door that reserves an
//! OZmap port for a new fibre client.
//!
//! A tour of the modules:
//! - [`config`]: the one place configuration is read.
//! - [`http`], [`app`]: the webhooks (and the gate in front of them), and start-up.
//! - [`store`]: call state, geocoding cache and the reservation ledger (SQLite or
//!   PostgreSQL).
//! - [`geocode`]: addresses and CEPs into coordinates (Nominatim, Google, gazetteer).
//! - [`reserve`]: the port-reservation procedure over [`ozmap_client`].
//! - [`worker`]: carries ledger rows out against OZmap, exactly once.
//! - [`admin`]: the operators' view of the ledger.
//! - [`housekeeping`]: expiry of call state (retention) and of rate-limit keys.
//! - [`ratelimit`], [`redact`]: rate limits and log redaction.
//! - [`InProcessService`]: the service as the load generator drives it in process.

pub mod admin;
pub mod app;
pub mod config;
pub mod geocode;
pub mod housekeeping;
pub mod http;
mod in_process;
pub mod ratelimit;
pub mod redact;
pub mod reserve;
pub mod store;
pub mod worker;

pub use in_process::InProcessService;
