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
//! One implementation serves three users, which is why input and output are
//! pluggable: the terminal caller (`ozmap-ivr call`, a person answers through
//! [`Terminal`]), scripted rehearsals and black-box tests ([`Scripted`] answers), and
//! a load generator (a [`Caller`] is cheap to clone and reuses one HTTP client).
//! Everything that happens is an [`CallEvent`], delivered as it happens and kept in
//! the [`CallReport`], with every request's latency.
//!
//! What a caller types or says, and what the service reads back, is personal data:
//! the `Debug` output of these types shows only lengths, never the text.

mod cli;
mod document;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use cli::{CallArgs, Terminal, run_cli};
use document::{GatherStep, Method, Step};

/// The confidence reported with every speech result.
pub const SPEECH_CONFIDENCE: &str = "0.92";
/// The largest TwiML answer read (a guard, not a platform rule).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// What the caller does when a `<Gather>` listens.
#[derive(Clone, PartialEq, Eq)]
pub enum Answer {
    /// Keys pressed, e.g. `"123#"`.
    Keys(String),
    /// Words spoken (the platform's transcription).
    Speech(String),
    /// Nothing: the Gather times out.
    Silence,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Keys(k) => write!(f, "Keys({:?})", Redacted(k)),
            Answer::Speech(s) => write!(f, "Speech({:?})", Redacted(s)),
            Answer::Silence => f.write_str("Silence"),
        }
    }
}

/// Reads one scripted answer: `keys:123#` → keys, `say:Gabriel` → speech,
/// `silence` or nothing → silence. Without a prefix, a text made only of `0-9*#`
/// is keys and anything else is speech. An empty keys or speech text is silence.
pub fn parse_answer(s: &str) -> Answer {
    let s = s.trim();
    let prefixed = |p: &str| {
        s.get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .map(|_| s[p.len()..].trim())
    };
    if let Some(keys) = prefixed("keys:") {
        let keys: String = keys.chars().filter(|c| !c.is_whitespace()).collect();
        return if keys.is_empty() {
            Answer::Silence
        } else {
            Answer::Keys(keys)
        };
    }
    if let Some(words) = prefixed("say:").or_else(|| prefixed("speech:")) {
        return if words.is_empty() {
            Answer::Silence
        } else {
            Answer::Speech(words.to_string())
        };
    }
    if s.is_empty() || s.eq_ignore_ascii_case("silence") {
        Answer::Silence
    } else if s.chars().all(is_dtmf) {
        Answer::Keys(s.to_string())
    } else {
        Answer::Speech(s.to_string())
    }
}

fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// What a `<Gather>` accepts and says, as shown to whoever answers.
#[derive(Clone, PartialEq, Eq)]
pub struct GatherPrompt {
    /// `dtmf`, `speech` or `dtmf speech`.
    pub input: String,
    pub num_digits: Option<u32>,
    /// `""`: no finishing key.
    pub finish_on_key: String,
    /// Seconds; `None`: the platform default (5 s).
    pub timeout: Option<u32>,
    pub hints: Option<String>,
    /// The text of the nested `<Say>`s.
    pub prompt_text: String,
    /// The resolved `action` URL.
    pub action: String,
}

impl GatherPrompt {
    pub fn accepts_keys(&self) -> bool {
        self.input.split_whitespace().any(|w| w == "dtmf")
    }

    pub fn accepts_speech(&self) -> bool {
        self.input.split_whitespace().any(|w| w == "speech")
    }
}

impl fmt::Debug for GatherPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherPrompt")
            .field("input", &self.input)
            .field("num_digits", &self.num_digits)
            .field("finish_on_key", &self.finish_on_key)
            .field("timeout", &self.timeout)
            .field("hints", &self.hints.as_deref().map(Redacted))
            .field("prompt_text", &Redacted(&self.prompt_text))
            .field("action", &self.action)
            .finish()
    }
}

/// Whoever answers the Gathers: a person, a script, a load generator.
///
/// `Send` so that a call can run inside a spawned task.
pub trait Answerer: Send {
    fn answer(&mut self, g: &GatherPrompt) -> Answer;
}

/// Answers from a list, in order; silence once the list is used up.
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    answers: VecDeque<Answer>,
}

impl Scripted {
    pub fn new(answers: Vec<Answer>) -> Self {
        Self {
            answers: answers.into(),
        }
    }

    /// Answers not used yet.
    pub fn remaining(&self) -> usize {
        self.answers.len()
    }
}

impl Answerer for Scripted {
    fn answer(&mut self, _g: &GatherPrompt) -> Answer {
        self.answers.pop_front().unwrap_or(Answer::Silence)
    }
}

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

/// How to place calls.
#[derive(Clone)]
pub struct CallerOptions {
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
    /// More requests than this in one call is a loop: [`CallError::TooManyRequests`].
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
    /// fail with [`CallError::Inconsistent`] unless both answers are the same.
    pub repeat_requests: bool,
}

impl Default for CallerOptions {
    fn default() -> Self {
        Self {
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

/// Why a call could not be run to its end. Each says which URL or verb failed;
/// none carries what the caller said or typed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} did not answer within {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("{url} answered HTTP {status}")]
    HttpStatus { url: String, status: u16 },
    #[error("{url} answered Content-Type {content_type:?}, not text/xml or application/xml")]
    WrongContentType { url: String, content_type: String },
    #[error("{url} answered a document over {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url} answered malformed XML: {reason}")]
    MalformedXml { url: String, reason: String },
    #[error("{url} answered <{root}>, not a TwiML <Response>")]
    NotTwiml { url: String, root: String },
    #[error("{url}: <{verb}> is TwiML but this executor does not run it")]
    UnsupportedVerb { url: String, verb: String },
    #[error("{url}: <{verb}> is not a TwiML verb")]
    UnknownVerb { url: String, verb: String },
    #[error("{url}: invalid <{verb}>: {reason}")]
    InvalidVerb {
        url: String,
        verb: String,
        reason: String,
    },
    #[error("more than {limit} requests in one call (a redirect loop?)")]
    TooManyRequests { limit: usize },
    #[error(
        "{url} answered a repeated request differently (a platform retry would move the call twice)"
    )]
    Inconsistent { url: String },
}

/// Places calls. Cheap to clone: clones share one HTTP client (connection pool).
#[derive(Clone, Debug)]
pub struct Caller {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    opts: CallerOptions,
    start: Url,
    status_callback: Option<Url>,
    account_sid: String,
}

impl Caller {
    pub fn new(opts: CallerOptions) -> Result<Caller, CallError> {
        let client = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout.min(Duration::from_secs(10)))
            // The platform signs and fetches exactly the URL it was given.
            .redirect(reqwest::redirect::Policy::none())
            // Shorter than the usual server keep-alive (actix-web: 5 s), so a
            // pooled connection is not reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(4))
            .user_agent(concat!("ozmap-ivr-caller/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CallError::Client(e.to_string()))?;
        Self::with_client(opts, client)
    }

    /// A caller with other options (another CallSid, start URL or request limit)
    /// that shares this one's HTTP client and connection pool: what a load
    /// generator needs per call. The request timeout stays this caller's.
    pub fn with_options(&self, opts: CallerOptions) -> Result<Caller, CallError> {
        Self::with_client(opts, self.inner.client.clone())
    }

    fn with_client(opts: CallerOptions, client: reqwest::Client) -> Result<Caller, CallError> {
        let start = document::resolve(
            &Url::parse(&opts.url).map_err(|e| CallError::InvalidUrl {
                url: opts.url.clone(),
                reason: e.to_string(),
            })?,
            "",
        )?;
        let status_callback = opts
            .status_callback
            .as_deref()
            .map(|cb| document::resolve(&start, cb))
            .transpose()?;
        Ok(Caller {
            inner: Arc::new(Inner {
                client,
                opts,
                start,
                status_callback,
                account_sid: random_sid("AC"),
            }),
        })
    }

    pub fn options(&self) -> &CallerOptions {
        &self.inner.opts
    }

    /// Places one call: runs it to its end, then sends the status callback if one
    /// is set. `on_event` sees every event as it happens.
    pub async fn run(
        &self,
        answers: &mut dyn Answerer,
        on_event: &mut (dyn FnMut(&CallEvent) + Send),
    ) -> Result<CallReport, CallError> {
        let mut call = Call {
            inner: &self.inner,
            call_sid: self
                .inner
                .opts
                .call_sid
                .clone()
                .unwrap_or_else(|| random_sid("CA")),
            events: Vec::new(),
            requests: 0,
            on_event,
            started: Instant::now(),
        };
        let end = call.execute(answers).await?;
        if let Some(cb) = &self.inner.status_callback {
            call.status_callback(cb).await?;
        }
        Ok(CallReport {
            call_sid: call.call_sid,
            events: call.events,
            end,
            requests: call.requests,
        })
    }
}

/// `prefix` + 32 lowercase hex digits, like the platform's SIDs.
fn random_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

/// Where to go next: method, URL and the parameters added to the base ones.
type Next = (Method, Url, Vec<(String, String)>);

struct Call<'a> {
    inner: &'a Inner,
    call_sid: String,
    events: Vec<CallEvent>,
    requests: usize,
    on_event: &'a mut (dyn FnMut(&CallEvent) + Send),
    started: Instant,
}

impl Call<'_> {
    fn emit(&mut self, e: CallEvent) {
        (self.on_event)(&e);
        self.events.push(e);
    }

    async fn execute(&mut self, answers: &mut dyn Answerer) -> Result<CallEnd, CallError> {
        let mut next: Next = (Method::Post, self.inner.start.clone(), Vec::new());
        loop {
            let (method, url, extra) = next;
            let status = if self.requests == 0 {
                "ringing"
            } else {
                "in-progress"
            };
            if self.requests >= self.inner.opts.max_requests {
                return Err(CallError::TooManyRequests {
                    limit: self.inner.opts.max_requests,
                });
            }
            let (status_code, content_type, body) =
                self.request(method, &url, status, extra).await?;
            let body = check_answer(&url, status_code, &content_type, body)?;
            let steps = document::parse(&body, &url)?;
            match self.run_steps(steps, answers).await? {
                Flow::Continue(n) => next = n,
                Flow::End(end) => return Ok(end),
            }
        }
    }

    async fn run_steps(
        &mut self,
        steps: Vec<Step>,
        answers: &mut dyn Answerer,
    ) -> Result<Flow, CallError> {
        for step in steps {
            match step {
                Step::Say(text) => self.emit(CallEvent::Say(text)),
                Step::Pause(secs) => self.pause(secs).await,
                Step::Play(what) => self.emit(CallEvent::Play(what)),
                Step::Gather(g) => {
                    if let Some(next) = self.gather(g, answers).await {
                        return Ok(Flow::Continue(next));
                    }
                }
                Step::Redirect { url, method } => {
                    self.emit(CallEvent::Redirect(url.to_string()));
                    return Ok(Flow::Continue((method, url, Vec::new())));
                }
                Step::Hangup => {
                    self.emit(CallEvent::Hangup);
                    return Ok(Flow::End(CallEnd::Hangup));
                }
                Step::Reject => {
                    self.emit(CallEvent::Reject);
                    return Ok(Flow::End(CallEnd::Reject));
                }
                Step::Dial { number, action } => {
                    self.emit(CallEvent::Dial(number.clone()));
                    return Ok(match action {
                        Some((url, method)) if self.inner.opts.follow_dial_action => {
                            Flow::Continue((
                                method,
                                url,
                                vec![param("DialCallStatus", "completed")],
                            ))
                        }
                        _ => Flow::End(CallEnd::Dial(number)),
                    });
                }
            }
        }
        self.emit(CallEvent::DocumentEnd);
        Ok(Flow::End(CallEnd::DocumentEnd))
    }

    /// Runs a Gather; `Some` is where its result is posted, `None` falls through.
    async fn gather(&mut self, g: GatherStep, answers: &mut dyn Answerer) -> Option<Next> {
        for nested in g.nested {
            match nested {
                Step::Play(what) => self.emit(CallEvent::Play(what)),
                Step::Pause(secs) => self.pause(secs).await,
                _ => {}
            }
        }
        self.emit(CallEvent::Gather(g.prompt.clone()));
        if !self.inner.opts.think.is_zero() {
            let think = self.inner.opts.think.mul_f64(rand::random_range(0.5..1.5));
            tokio::time::sleep(think).await;
        }
        let answer = answers.answer(&g.prompt);
        self.emit(CallEvent::Answered(answer.clone()));
        match gather_result(&g.prompt, &answer) {
            Some(params) => Some((g.method, g.action, params)),
            None if g.action_on_empty_result => {
                let empty = if g.prompt.accepts_keys() {
                    vec![param("Digits", "")]
                } else {
                    Vec::new()
                };
                Some((g.method, g.action, empty))
            }
            None => None,
        }
    }

    async fn pause(&mut self, secs: u32) {
        self.emit(CallEvent::Pause(secs));
        let scale = self.inner.opts.pause_scale;
        if scale > 0.0
            && let Ok(d) = Duration::try_from_secs_f64(f64::from(secs) * scale)
        {
            tokio::time::sleep(d).await;
        }
    }

    /// The parameters on every request of this call.
    fn base_params(&self, call_status: &str) -> Vec<(String, String)> {
        let o = &self.inner.opts;
        let mut params = vec![
            param("CallSid", &self.call_sid),
            param("AccountSid", &self.inner.account_sid),
            param("From", &o.from),
            param("To", &o.to),
            param("Caller", &o.from),
            param("Called", &o.to),
            param("CallStatus", call_status),
            param("Direction", "inbound"),
            param("ApiVersion", "2010-04-01"),
        ];
        params.retain(|(k, _)| !o.extra_params.iter().any(|(ek, _)| ek == k));
        params.extend(o.extra_params.iter().cloned());
        params
    }

    /// Sends one request (signed when a token is set) and reads the answer.
    /// Returns the status, the Content-Type and the body.
    async fn request(
        &mut self,
        method: Method,
        url: &Url,
        call_status: &str,
        extra: Vec<(String, String)>,
    ) -> Result<(u16, String, Vec<u8>), CallError> {
        self.requests += 1;
        let mut params = self.base_params(call_status);
        params.extend(extra);
        let client = &self.inner.client;
        let (request_url, form) = match method {
            Method::Get => {
                let mut u = url.clone();
                u.query_pairs_mut().extend_pairs(&params);
                (u, Vec::new())
            }
            Method::Post => (url.clone(), params),
        };
        let mut rb = match method {
            Method::Get => client.get(request_url.clone()),
            Method::Post => client.post(request_url.clone()).form(&form),
        };
        if let Some(token) = &self.inner.opts.auth_token {
            let signature = webhook_signature::twilio_signature(
                token.expose_secret(),
                request_url.as_str(),
                &form,
            );
            rb = rb.header("X-Twilio-Signature", signature);
        }
        let repeat = if self.inner.opts.repeat_requests {
            rb.try_clone()
        } else {
            None
        };
        let started = Instant::now();
        let outcome = async {
            let resp = rb.send().await?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            Ok::<_, reqwest::Error>((status, content_type, resp))
        }
        .await;
        let (status, content_type, mut resp) = outcome.map_err(|e| self.transport(url, e))?;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(url, e))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(CallError::TooLarge {
                    url: url.to_string(),
                    limit: MAX_DOCUMENT_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let latency = started.elapsed();
        if let Some(again) = repeat {
            let resp = again.send().await.map_err(|e| self.transport(url, e))?;
            let status_again = resp.status().as_u16();
            let body_again = resp.bytes().await.map_err(|e| self.transport(url, e))?;
            if status_again != status || body_again.as_ref() != body.as_slice() {
                return Err(CallError::Inconsistent {
                    url: url.to_string(),
                });
            }
        }
        tracing::debug!(
            method = method.as_str(),
            path = url.path(),
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "twiml request"
        );
        self.emit(CallEvent::Request {
            method: method.as_str().to_string(),
            url: url.to_string(),
            status,
            latency,
        });
        Ok((status, content_type, body))
    }

    fn transport(&self, url: &Url, e: reqwest::Error) -> CallError {
        if e.is_timeout() {
            CallError::Timeout {
                url: url.to_string(),
                after: self.inner.opts.request_timeout,
            }
        } else {
            // Without the URL: for GET it carries the call parameters.
            CallError::Transport {
                url: url.to_string(),
                source: e.without_url(),
            }
        }
    }

    /// POSTs `CallStatus=completed` and the duration; any 2xx is fine, the body
    /// is ignored (as the platform does).
    async fn status_callback(&mut self, cb: &Url) -> Result<(), CallError> {
        let extra = vec![
            param(
                "CallDuration",
                &self.started.elapsed().as_secs().to_string(),
            ),
            param("CallbackSource", "call-progress-events"),
            param("SequenceNumber", "0"),
        ];
        let (status, _, _) = self.request(Method::Post, cb, "completed", extra).await?;
        if !(200..300).contains(&status) {
            return Err(CallError::HttpStatus {
                url: cb.to_string(),
                status,
            });
        }
        self.emit(CallEvent::StatusCallback);
        Ok(())
    }
}

enum Flow {
    Continue(Next),
    End(CallEnd),
}

fn param(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// The platform's checks on a webhook answer: 200, an XML type, UTF-8.
fn check_answer(
    url: &Url,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
) -> Result<String, CallError> {
    if status != 200 {
        return Err(CallError::HttpStatus {
            url: url.to_string(),
            status,
        });
    }
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "text/xml" && mime != "application/xml" {
        return Err(CallError::WrongContentType {
            url: url.to_string(),
            content_type: content_type.to_string(),
        });
    }
    String::from_utf8(body).map_err(|e| CallError::MalformedXml {
        url: url.to_string(),
        reason: format!("not UTF-8: {e}"),
    })
}

/// What a Gather posts for this answer, the way the platform collects it;
/// `None` when there is no usable input (the Gather falls through).
///
/// Keys stop at the finishing key (sent as `FinishedOnKey`, which is empty
/// otherwise) or once `numDigits` keys are in. Keys on a speech-only Gather and
/// speech on a keys-only one are not heard.
fn gather_result(g: &GatherPrompt, answer: &Answer) -> Option<Vec<(String, String)>> {
    match answer {
        Answer::Keys(keys) if g.accepts_keys() => {
            let finish = g.finish_on_key.chars().next();
            let limit = g.num_digits.filter(|&n| n > 0).map(|n| n as usize);
            let mut digits = String::new();
            let mut finished = String::new();
            for c in keys.chars().filter(|&c| is_dtmf(c)) {
                if Some(c) == finish {
                    finished.push(c);
                    break;
                }
                digits.push(c);
                if limit.is_some_and(|n| digits.len() >= n) {
                    break;
                }
            }
            (!digits.is_empty())
                .then(|| vec![param("Digits", &digits), param("FinishedOnKey", &finished)])
        }
        Answer::Speech(words) if g.accepts_speech() && !words.trim().is_empty() => Some(vec![
            param("SpeechResult", words.trim()),
            param("Confidence", SPEECH_CONFIDENCE),
        ]),
        _ => None,
    }
}

/// Shows a text's length, never the text.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}
