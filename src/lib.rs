//! ozmap-ivr: a phone front door that reserves an OZmap port for a new fibre client.
//!
//! A tour of the modules, from the pure core outwards:
//! - [`domain`]: validated values (client code, CEP, place, reservation).
//! - [`speech`]: caller keys and pt-BR speech into those values.
//! - [`flow`]: the call as a state machine; no I/O.
//! - [`twiml`]: the typed TwiML model and its quick-xml writer.
//! - [`prompts`]: the spoken texts, by key, from `prompts/*.toml`.
//! - [`signature`], [`ratelimit`], [`redact`]: pure security building blocks of the
//!   webhook layer (request signatures, rate limits, log redaction).
//! - [`store`]: call state, geocoding cache and the reservation ledger (SQLite or
//!   PostgreSQL).
//! - [`geocode`]: addresses and CEPs into coordinates (Nominatim, Google, gazetteer).
//! - [`ozmap`]: the OZmap API client and the reservation procedure.
//! - [`worker`]: carries ledger rows out against OZmap, exactly once.
//! - [`admin`]: the operators' view of the ledger.
//! - [`sandbox`]: a built-in OZmap (API v2 subset) over a simulated network.
//! - [`http`], [`app`]: the webhooks (and the gate in front of them), and start-up.
//! - [`housekeeping`]: expiry of call state (retention) and of rate-limit keys.
//! - [`caller`]: a TwiML executor (the terminal caller, the tests, the load generator).
//! - [`bench`]: the load generator (`ozmap-ivr bench`) and its ceiling.
//! - [`config`]: the one place configuration is read.

pub mod admin;
pub mod app;
pub mod bench;
pub mod caller;
pub mod config;
pub mod domain;
pub mod flow;
pub mod geocode;
pub mod housekeeping;
pub mod http;
pub mod ozmap;
pub mod prompts;
pub mod ratelimit;
pub mod redact;
pub mod sandbox;
pub mod signature;
pub mod speech;
pub mod store;
pub mod twiml;
pub mod worker;
