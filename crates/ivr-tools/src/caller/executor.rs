//! The executor loop: a [`Caller`] places a call, runs each document's verbs in
//! order, asks the [`Answerer`] at every `<Gather>` and follows the call to its
//! end. The requests themselves are in `http.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use super::answer::gather_result;
use super::document::{self, GatherStep, Method, Step};
use super::http::{check_answer, param};
use super::{Answerer, CallEnd, CallError, CallEvent, CallReport, CallerOptions, Platform};

/// Places calls. Cheap to clone: clones share one HTTP client (connection pool).
#[derive(Clone, Debug)]
pub struct Caller {
    inner: Arc<Inner>,
}

/// What the clones of a [`Caller`] share.
#[derive(Debug)]
pub(super) struct Inner {
    pub(super) client: reqwest::Client,
    pub(super) opts: CallerOptions,
    start: Url,
    status_callback: Option<Url>,
    pub(super) account_sid: String,
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
            last_signed: 0,
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

/// One call in progress.
pub(super) struct Call<'a> {
    pub(super) inner: &'a Inner,
    pub(super) call_sid: String,
    events: Vec<CallEvent>,
    /// HTTP requests made so far.
    pub(super) requests: usize,
    /// The last `Jambonz-Signature` timestamp (jambonz).
    pub(super) last_signed: u64,
    on_event: &'a mut (dyn FnMut(&CallEvent) + Send),
    pub(super) started: Instant,
}

impl Call<'_> {
    /// Reports `e` as it happens and keeps it for the report.
    pub(super) fn emit(&mut self, e: CallEvent) {
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
            let jambonz = matches!(self.inner.opts.platform, Platform::Jambonz { .. });
            let body = check_answer(&url, status_code, &content_type, body, jambonz)?;
            let steps = if jambonz {
                super::jambonz::parse(&body, &url)?
            } else {
                document::parse(&body, &url)?
            };
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
}

enum Flow {
    Continue(Next),
    End(CallEnd),
}
