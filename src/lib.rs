//! ozmap-ivr: a phone front door that reserves an OZmap port for a new fibre client.
//!
//! A tour of the modules, from the pure core outwards:
//! - [`domain`]: validated values (client code, CEP, place, reservation).
//! - [`speech`]: caller keys and pt-BR speech into those values.
//! - [`flow`]: the call as a state machine; no I/O.
//! - [`twiml`]: the typed TwiML model and its quick-xml writer.
//! - [`prompts`]: the spoken texts, by key, from `prompts/*.toml`.
//! - [`sandbox`]: a built-in fake OZmap (API v2 subset) for running without an account.

pub mod config;
pub mod domain;
pub mod flow;
pub mod prompts;
pub mod sandbox;
pub mod signature;
pub mod speech;
pub mod twiml;
