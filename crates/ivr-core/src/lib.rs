//! The call as data and rules: what a caller's answers mean, where the call
//! stands, what is said next, and the TwiML that says it.
//!
//! This crate is deterministic. It performs no I/O, reads no clock (the current
//! time is an argument of [`flow::advance`]) and has no networking or async
//! runtime among its dependencies, all the way down
//! (`cargo tree -p ivr-core -e normal` lists none of tokio, actix, hyper, mio,
//! sqlx or reqwest), so every transition, every sentence and every document is
//! a plain function of its inputs, unit- and property-tested. The service
//! (`ozmap-ivr`) is the adapter around it, the way `quinn` wraps `quinn-proto`:
//! it turns webhooks into [`flow::Event`]s, stores the [`flow::Call`], carries out
//! the [`flow::Effect`]s and writes the [`render`]ed reply back.
//!
//! - [`domain`]: validated values (client code, CEP, house number, place,
//!   reservation), and names as read aloud (abbreviations spelled out).
//! - [`speech`]: caller keys and pt-BR (or en-US) speech into those values.
//! - [`flow`]: the call as a state machine, `(call, event, now) → transition`.
//! - [`hours`]: the agents' weekly hours, Brazil's national holidays, the hours
//!   as said to a caller.
//! - [`prompts`]: the spoken texts, by key, from `prompts/*.toml`.
//! - [`twiml`]: the typed TwiML model and its quick-xml writer.
//! - [`render`]: a flow reply as a TwiML document, with the speech recogniser's
//!   settings ([`render::Recogniser`]: model, `enhanced`, timeouts, hints).
//! - [`chat`]: a flow reply as chat messages (text, yes/no reply buttons), for
//!   the WhatsApp channel.
//! - [`voice`]: the default voice of a language, whether a voice speaks it, the
//!   `<Say>` limit of a voice.
//! - [`webhook`]: the webhook paths, the bounded form, the `CallSid` rule.
//! - [`text`]: text from outside (speech, chat, a shared location, the
//!   directory's and the geocoders' answers) bounded and clean, one function for all.
//! - [`tutorial`]: the example every document and test speaks of.

pub mod agenda;
pub mod chat;
pub mod domain;
pub mod flow;
pub mod hours;
pub mod jambonz;
pub mod prompts;
mod recogniser;
pub mod render;
pub mod speech;
pub mod text;
pub mod tutorial;
pub mod twiml;
pub mod voice;
pub mod webhook;
