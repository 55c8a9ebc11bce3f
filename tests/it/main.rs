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
//! - [`console_sessions`]: a console session belongs to the token that opened it;
//! - [`security`]: signatures and limits over real HTTP;
//! - [`location_link`]: the link where a caller marks the house: made, opened,
//!   used once, expired, limited, sent by SMS, kept out of the log;
//! - [`limits`]: guessing the operators' token is slow, every route has the per-address limit;
//! - [`signatures`]: where the platforms' signing differs (Telnyx retries and replays, basic auth);
//! - [`floods`]: bodies trickled a byte a second cut off, forged floods a few log lines;
//! - [`hostile`]: broken and hostile input through the real request path;
//! - [`crash`]: the binary killed and restarted between chosen webhooks;
//! - [`instances`]: two instances on one PostgreSQL behind a balancer;
//! - [`late_commit`]: a slow OZmap that commits a property after the timeout,
//!   or twice: one property per request;
//! - [`life`]: the reservation's life: released after its days (killed between
//!   the DELETE and the record too), implanted when installed;
//! - [`cli`]: the binary as a newcomer uses it;
//! - [`check`]: `ozmap-ivr check` against the sandbox and fakes;
//! - [`sms`]: the outcome in writing, against a fake messaging API;
//! - [`directory`]: the client directory (the ISP's ERP), against fakes;
//! - [`house_numbers`]: addresses as a real recogniser hears them: numbers not
//!   heard or split asked, read-backs in full words, several streets;
//! - [`whatsapp`]: the WhatsApp channel, against a fake Graph API;
//! - [`whatsapp_inbox`]: a WhatsApp message kept before its `200` (killed after
//!   it, a store that cannot keep it);
//! - [`engine`]: the session engine's suite, run through the voice and the chat
//!   adapters on one service, in every order;
//! - [`whatsapp_outbox`]: its replies as operators see and retry them;
//! - [`jambonz`]: calls on jambonz (JSON verbs, signatures), each answer validated by jambonz's own validator;
//! - [`greeting`]: the greeting that writes nothing (protocol in its URLs);
//! - [`outcome`]: the reservation's outcome in the confirmation's answer, or the hold;
//! - [`outside_text`]: text from outside bounded and clean, from the chat to OZmap and the console;
//! - [`stall`]: a stalled database holds the caller briefly, loses nothing;
//! - [`visits_erp`], [`visits_erp_life`]: the ERP agendas (`SCHEDULE=http|ixc`)
//!   end to end against loopback fakes of the ERP ([`erp_fakes`]): offered,
//!   booked once (the ERP down, refusing, the service killed), raced across
//!   instances, reported done;
//! - [`bench`]: the load generator in process;
//! - [`package`]: the Debian package's environment file (README's table) and unit.

/// The `ozmap-ivr` binary Cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ozmap-ivr");

mod addresses;
mod admin;
mod bench;
mod calls;
mod check;
mod cli;
mod console;
mod console_sessions;
mod console_walks;
mod crash;
mod directory;
mod engine;
mod erp_fakes;
mod fake_twilio;
mod floods;
mod greeting;
mod hostile;
mod house_numbers;
mod instances;
mod jambonz;
mod late_commit;
mod life;
mod limits;
mod location_call;
mod location_link;
mod outcome;
mod outside_text;
mod package;
mod privacy;
mod rights;
mod security;
mod signatures;
mod sms;
mod stall;
mod visit_seed;
mod visits;
mod visits_admin;
mod visits_erp;
mod visits_erp_life;
mod webhooks;
mod whatsapp;
mod whatsapp_inbox;
mod whatsapp_outbox;
