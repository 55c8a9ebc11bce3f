//! The TwiML executor: a client that plays the telephony platform's part.
//!
//! It starts a call by POSTing the platform's parameters to a voice URL, checks every
//! answer the way Twilio does (HTTP 200, an XML content type, a well-formed
//! `<Response>`), and runs the verbs in order: `<Say>` text is reported, `<Pause>`
//! sleeps (scaled, so tests run at scale 0), `<Gather>` asks an [`Answerer`] and posts
//! `Digits`/`SpeechResult` to its `action`, `<Redirect>` is followed, and `<Hangup>`,
//! `<Dial>`, `<Reject>` or the end of the document end the call. Requests are signed
//! with `X-Twilio-Signature` when an auth token is set, so the service's signature
//! check is exercised too.
//!
//! With [`Platform::Jambonz`] it plays jambonz instead: JSON verbs in, JSON
//! bodies out, signed with `Jambonz-Signature` when a secret is set.
//!
//! One implementation serves three users, which is why input and output are
//! pluggable: the terminal caller (`ozmap-ivr call`, a person answers at the
//! terminal), scripted rehearsals and black-box tests ([`Scripted`] answers), and
//! a load generator (a [`Caller`] is cheap to clone and reuses one HTTP client).
//! Everything that happens is an [`CallEvent`], delivered as it happens and kept in
//! the [`CallReport`], with every request's latency.
//!
//! What a caller types or says, and what the service reads back, is personal data:
//! the `Debug` output of these types shows only lengths, never the text.

mod answer;
mod cli;
mod document;
mod error;
mod executor;
mod http;
mod jambonz;
mod options;
mod report;
mod sms;

#[cfg(test)]
mod tests;

use std::fmt;

pub use answer::{Answer, Answerer, GatherPrompt, Scripted};
pub use cli::{CallArgs, run_cli};
pub use error::CallError;
pub use executor::Caller;
pub use options::{CallerOptions, Platform};
pub use report::{CallEnd, CallEvent, CallReport};

/// Shows a text's length, never the text.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}
