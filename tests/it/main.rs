//! The service's integration tests, in one binary (one link, one process; the
//! modules run in parallel as usual). The log-capture test is its own binary,
//! `tests/logs.rs`, because it installs a global tracing subscriber.
//!
//! Each module is a suite:
//! - [`calls`]: whole calls, as a platform walks them;
//! - [`webhooks`]: the answers' TwiML, by structure;
//! - [`admin`]: the ledger as JSON for operators;
//! - [`console`]: the operators' console and the funnel JSON (the same console in
//!   headless Chromium is its own binary, `tests/browser.rs`);
//! - [`security`]: signatures and limits over real HTTP;
//! - [`signatures`]: where the platforms' signing differs (Telnyx retries and replays, basic auth);
//! - [`hostile`]: broken and hostile input through the real request path;
//! - [`crash`]: the binary killed and restarted between chosen webhooks;
//! - [`instances`]: two instances on one PostgreSQL behind a balancer;
//! - [`late_commit`]: a slow OZmap that commits a property after the timeout,
//!   or twice: one property per request;
//! - [`cli`]: the binary as a newcomer uses it;
//! - [`sms`]: the outcome in writing, against a fake messaging API;
//! - [`directory`]: the client directory (the ISP's ERP), against fakes;
//! - [`whatsapp`]: the WhatsApp channel, against a fake Graph API;
//! - [`whatsapp_inbox`]: a WhatsApp message kept before its `200` (killed after
//!   it, a store that cannot keep it);
//! - [`engine`]: the session engine's suite, run through the voice and the chat
//!   adapters on one service, in every order;
//! - [`whatsapp_outbox`]: its replies as operators see and retry them;
//! - [`greeting`]: the greeting that writes nothing (protocol in its URLs);
//! - [`outcome`]: the reservation's outcome in the confirmation's answer, or the hold;
//! - [`stall`]: a stalled database holds the caller briefly, loses nothing;
//! - [`bench`]: the load generator in process.

/// The `ozmap-ivr` binary Cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ozmap-ivr");

mod addresses;
mod admin;
mod bench;
mod calls;
mod cli;
mod console;
mod console_walks;
mod crash;
mod directory;
mod engine;
mod greeting;
mod hostile;
mod instances;
mod late_commit;
mod outcome;
mod rights;
mod security;
mod signatures;
mod sms;
mod stall;
mod webhooks;
mod whatsapp;
mod whatsapp_inbox;
mod whatsapp_outbox;
