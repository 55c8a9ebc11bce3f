//! What happened during a call: its [`CallEvent`]s, how it ended ([`CallEnd`])
//! and the [`CallReport`] that keeps them.

use std::fmt;
use std::time::Duration;

use url::Url;

use super::answer::Answer;
use super::{GatherPrompt, Redacted};

/// Something that happened during a call, in order.
#[derive(Clone, PartialEq)]
pub enum CallEvent {
    /// One HTTP request and its answer's status. `url` is the document URL (for
    /// GET, without the call parameters added to its query).
    Request {
        method: String,
        url: String,
        status: u16,
        latency: Duration,
    },
    Say(String),
    Gather(GatherPrompt),
    Answered(Answer),
    /// Seconds, as written in the document (before scaling).
    Pause(u32),
    /// The resolved URL.
    Redirect(String),
    Play(String),
    Dial(String),
    Hangup,
    Reject,
    DocumentEnd,
    StatusCallback,
}

impl fmt::Debug for CallEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallEvent::Request {
                method,
                url,
                status,
                latency,
            } => write!(f, "Request({method} {url} {status} {latency:?})"),
            CallEvent::Say(s) => write!(f, "Say({:?})", Redacted(s)),
            CallEvent::Gather(g) => write!(f, "Gather({g:?})"),
            CallEvent::Answered(a) => write!(f, "Answered({a:?})"),
            CallEvent::Pause(s) => write!(f, "Pause({s})"),
            CallEvent::Redirect(u) => write!(f, "Redirect({u})"),
            CallEvent::Play(u) => write!(f, "Play({u})"),
            CallEvent::Dial(n) => write!(f, "Dial({n})"),
            CallEvent::Hangup => f.write_str("Hangup"),
            CallEvent::Reject => f.write_str("Reject"),
            CallEvent::DocumentEnd => f.write_str("DocumentEnd"),
            CallEvent::StatusCallback => f.write_str("StatusCallback"),
        }
    }
}

/// How a call ended normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEnd {
    Hangup,
    /// Transferred to this number.
    Dial(String),
    Reject,
    /// The document ended without `<Hangup/>` (the platform hangs up).
    DocumentEnd,
}

/// Everything about one finished call.
#[derive(Clone, Debug)]
pub struct CallReport {
    pub call_sid: String,
    pub events: Vec<CallEvent>,
    pub end: CallEnd,
    /// HTTP requests made, the status callback included.
    pub requests: usize,
}

impl CallReport {
    /// Everything spoken, in order: each `<Say>` and each Gather's prompt.
    pub fn said(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                CallEvent::Say(s) => Some(s.clone()),
                CallEvent::Gather(g) if !g.prompt_text.is_empty() => Some(g.prompt_text.clone()),
                _ => None,
            })
            .collect()
    }

    /// Each request's URL path and latency, in order.
    pub fn latencies(&self) -> Vec<(String, Duration)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                CallEvent::Request { url, latency, .. } => Some((url_path(url), *latency)),
                _ => None,
            })
            .collect()
    }
}

fn url_path(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_string(), |u| u.path().to_string())
}
