//! How to place calls: [`CallerOptions`].

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use super::Redacted;

/// Which platform the caller plays.
#[derive(Clone, Default)]
pub enum Platform {
    /// TwiML documents, form posts (Twilio and its kin).
    #[default]
    Twiml,
    /// jambonz's JSON verbs and JSON bodies; `secret`: sign every request
    /// with `Jambonz-Signature`.
    Jambonz { secret: Option<SecretString> },
}

/// How to place calls.
#[derive(Clone)]
pub struct CallerOptions {
    /// The platform played.
    pub platform: Platform,
    /// The voice URL the call starts at.
    pub url: String,
    /// `None`: a random `CA…` per call.
    pub call_sid: Option<String>,
    pub from: String,
    pub to: String,
    /// When set, every request carries `X-Twilio-Signature`.
    pub auth_token: Option<SecretString>,
    /// `<Pause>` sleeps `length × pause_scale` seconds (0: no sleep).
    pub pause_scale: f64,
    /// How long the caller takes, on average, to hear a `<Gather>`'s prompt and
    /// answer it (a load generator's think time; zero: answers at once). Each wait
    /// is drawn between half and one and a half times this, so that many callers
    /// do not answer in lockstep.
    pub think: Duration,
    /// More requests than this in one call is a loop:
    /// [`CallError::TooManyRequests`](super::CallError::TooManyRequests).
    pub max_requests: usize,
    /// Per request, connection included (the platform allows 15 s).
    pub request_timeout: Duration,
    /// POSTed with `CallStatus=completed` once the call ends.
    pub status_callback: Option<String>,
    /// After `<Dial action>`, post `DialCallStatus=completed` to the action and go on
    /// with its document (otherwise the call ends at the Dial).
    pub follow_dial_action: bool,
    /// Added to every request (e.g. `FromCity`); a name already sent is replaced.
    pub extra_params: Vec<(String, String)>,
    /// Send every request a second time, as a platform does when it retries, and
    /// fail with [`CallError::Inconsistent`](super::CallError::Inconsistent) unless
    /// both answers are the same.
    pub repeat_requests: bool,
}

impl Default for CallerOptions {
    fn default() -> Self {
        Self {
            platform: Platform::Twiml,
            url: "http://127.0.0.1:8080/voice".into(),
            call_sid: None,
            from: "+5548999990000".into(),
            to: "+554833334444".into(),
            auth_token: None,
            pause_scale: 1.0,
            think: Duration::ZERO,
            max_requests: 200,
            request_timeout: Duration::from_secs(15),
            status_callback: None,
            follow_dial_action: false,
            extra_params: Vec::new(),
            repeat_requests: false,
        }
    }
}

impl fmt::Debug for CallerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallerOptions")
            .field(
                "platform",
                &match self.platform {
                    Platform::Twiml => "twiml",
                    Platform::Jambonz { .. } => "jambonz",
                },
            )
            .field("url", &self.url)
            .field("call_sid", &self.call_sid)
            .field("from", &Redacted(&self.from))
            .field("to", &Redacted(&self.to))
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("pause_scale", &self.pause_scale)
            .field("think", &self.think)
            .field("max_requests", &self.max_requests)
            .field("request_timeout", &self.request_timeout)
            .field("status_callback", &self.status_callback)
            .field("follow_dial_action", &self.follow_dial_action)
            .field("extra_params", &self.extra_params.len())
            .finish()
    }
}
