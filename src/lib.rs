//! ozmap-ivr: a phone front door that reserves an OZmap port for a new fibre client.
//!
//! A tour of the modules, from the pure core outwards:
//! - [`domain`]: validated values (client code, CEP, place, reservation).
//! - [`speech`]: caller keys and pt-BR speech into those values.
//! - [`flow`]: the call as a state machine; no I/O.
//! - [`twiml`]: the typed TwiML model and its quick-xml writer.
//! - [`prompts`]: the spoken texts, by key, from `prompts/*.toml`.

pub mod config;
pub mod domain;
pub mod flow;
pub mod ozmap;
pub mod prompts;
pub mod signature;
pub mod speech;
pub mod twiml;
