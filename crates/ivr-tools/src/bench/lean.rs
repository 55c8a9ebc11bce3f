//! The lean request path of the single-request loads (greeting, step and the
//! greetings that prime a step): what wrk does, so that the bench's figures are
//! the server's and not its own.
//!
//! The TwiML executor ([`crate::caller`]) costs about 38 µs of CPU per request
//! (reqwest's pool, a caller built per call, every answer parsed into verbs),
//! several times what the ceiling server spends answering it: on a machine whose
//! cores the generator shares with the server, the ceiling measured that way was
//! the generator's. Here instead each simulated caller owns one keep-alive
//! HTTP/1.1 connection (hyper's low-level client, no pool), every request is
//! built from parts made once per run (the form is formatted with the call's
//! CallSid around a fixed tail, the headers are static), and an answer is checked
//! the way a load generator checks it, not executed: status 200, an XML content
//! type, `<Response` near the start of the body. The signature is still computed
//! per request when a token is set (the form differs per call).
//!
//! Whole calls and held calls need the documents read, and keep the executor.

use super::drive::{Acc, Ctx, Source, Work};
use super::stats::Samples;
use crate::caller::CallerOptions;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};
use url::{Position, Url};

/// The largest answer read (the executor's guard too).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// How far into the body `<Response` must start.
const TWIML_PREFIX: usize = 128;

/// One route's request, but for the call's own parts.
#[derive(Clone, Debug)]
struct Route {
    /// Origin form (`/voice/answer?seq=1`), what goes on the request line.
    target: Uri,
    /// The absolute URL, as the platform signs it.
    signed_url: String,
    /// The route's name in the report (the path).
    route: String,
}

impl Route {
    fn new(url: &Url) -> Option<Self> {
        Some(Self {
            target: url[Position::BeforePath..Position::AfterQuery]
                .parse()
                .ok()?,
            signed_url: url.as_str().to_string(),
            route: url.path().to_string(),
        })
    }
}

/// Requests of the greeting and the step, made once per run.
#[derive(Clone, Debug)]
pub(super) struct Lean {
    /// `host:port` to connect to.
    addr: String,
    /// The static headers: `Host`, `Content-Type`, `User-Agent`.
    host: HeaderValue,
    form: HeaderValue,
    agent: HeaderValue,
    signature: HeaderName,
    greeting: Route,
    step: Route,
    /// The form after the CallSid, URL-encoded (`&AccountSid=…&ApiVersion=…`),
    /// for the greeting and for the step (less its `Digits`).
    greeting_tail: String,
    step_tail: String,
    /// The same parameters, for the signature.
    greeting_params: Vec<(String, String)>,
    step_params: Vec<(String, String)>,
    token: Option<SecretString>,
    timeout: Duration,
}

fn param(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn encoded(params: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.extend_pairs(params);
    s.finish()
}

impl Lean {
    /// The lean requests for calls placed with `opts` at its voice URL, the step
    /// at `base`'s `/voice/answer?seq=1`. `None` when the URLs are not plain
    /// `http` on one host (the executor handles those).
    pub(super) fn new(opts: &CallerOptions, base: &str) -> Option<Self> {
        let voice = Url::parse(&opts.url).ok()?;
        let step = Url::parse(&format!("{base}/voice/answer?seq=1")).ok()?;
        let authority = |u: &Url| u[Position::BeforeHost..Position::AfterPort].to_string();
        if voice.scheme() != "http" || step.scheme() != "http" {
            return None;
        }
        if authority(&voice) != authority(&step) {
            return None;
        }
        let addr = format!("{}:{}", voice.host_str()?, voice.port_or_known_default()?);
        let account_sid = format!("AC{:032x}", rand::random::<u128>());
        // The executor's parameters, in its order, CallSid first.
        let common = |status: &str| {
            vec![
                param("AccountSid", &account_sid),
                param("From", &opts.from),
                param("To", &opts.to),
                param("Caller", &opts.from),
                param("Called", &opts.to),
                param("CallStatus", status),
                param("Direction", "inbound"),
                param("ApiVersion", "2010-04-01"),
            ]
        };
        let greeting_params = common("ringing");
        let mut step_params = common("in-progress");
        step_params.push(param("FinishedOnKey", "#"));
        Some(Self {
            host: HeaderValue::from_str(&authority(&voice)).ok()?,
            form: HeaderValue::from_static("application/x-www-form-urlencoded"),
            agent: HeaderValue::from_static(concat!("ozmap-ivr-bench/", env!("CARGO_PKG_VERSION"))),
            signature: HeaderName::from_static("x-twilio-signature"),
            greeting: Route::new(&voice)?,
            step: Route::new(&step)?,
            greeting_tail: encoded(&greeting_params),
            step_tail: encoded(&step_params),
            greeting_params,
            step_params,
            addr,
            token: opts.auth_token.clone(),
            timeout: opts.request_timeout,
        })
    }

    /// Whether `work` goes this way.
    pub(super) fn serves(work: Work) -> bool {
        matches!(work, Work::Greeting | Work::Prime | Work::Step)
    }

    /// The request for call `i` of `ctx`: route and form, plus its signature
    /// when a token is set.
    fn request(&self, ctx: &Ctx, work: Work, i: u64) -> (&Route, String, Option<String>) {
        let sid = ctx.call_sid(i);
        let (route, body, digits) = if work == Work::Step {
            let keys = ctx.code_keys(i);
            let body = format!(
                "CallSid={sid}&{}&Digits={}",
                self.step_tail,
                url::form_urlencoded::byte_serialize(keys.as_bytes()).collect::<String>()
            );
            (&self.step, body, Some(keys))
        } else {
            (
                &self.greeting,
                format!("CallSid={sid}&{}", self.greeting_tail),
                None,
            )
        };
        let signature = self.token.as_ref().map(|token| {
            let tail = if work == Work::Step {
                &self.step_params
            } else {
                &self.greeting_params
            };
            let mut params = Vec::with_capacity(tail.len() + 2);
            params.push(param("CallSid", &sid));
            params.extend(tail.iter().cloned());
            if let Some(keys) = digits {
                params.push(("Digits".to_string(), keys));
            }
            webhook_signature::twilio_signature(token.expose_secret(), &route.signed_url, &params)
        });
        (route, body, signature)
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(&self.addr))
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|_| "transport (connection)".to_string())?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| "transport (connection)".to_string())?;
        // The connection runs beside its caller, on the same thread's runtime,
        // and ends when the caller drops `sender`.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// One simulated caller: its own connection, calls taken from `source`
    /// until it runs dry.
    pub(super) async fn caller(&self, ctx: &Ctx, work: Work, source: &Source, acc: &mut Acc) {
        let mut conn = None;
        while let Some(i) = source.take() {
            acc.started += 1;
            match self.one(&mut conn, ctx, work, i, &mut acc.samples).await {
                Ok(()) => acc.completed += 1,
                Err(kind) => acc.error(kind),
            }
        }
    }

    /// Call `i`'s one request on `conn` (opened, or opened again, as needed).
    async fn one(
        &self,
        conn: &mut Option<SendRequest<Full<Bytes>>>,
        ctx: &Ctx,
        work: Work,
        i: u64,
        samples: &mut Samples,
    ) -> Result<(), String> {
        let (route, body, signature) = self.request(ctx, work, i);
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = route.target.clone();
        let h = req.headers_mut();
        h.insert(header::HOST, self.host.clone());
        h.insert(header::CONTENT_TYPE, self.form.clone());
        h.insert(header::USER_AGENT, self.agent.clone());
        if let Some(s) = signature {
            h.insert(
                self.signature.clone(),
                HeaderValue::from_str(&s).map_err(|_| "signature not a header".to_string())?,
            );
        }
        // A connection the server closed while idle is opened again, not counted.
        let ready = match conn {
            Some(c) => c.ready().await.is_ok(),
            None => false,
        };
        if !ready {
            *conn = Some(self.connect().await?);
        }
        let Some(sender) = conn.as_mut() else {
            return Err("transport (connection)".into());
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(self.timeout, exchange(sender, req)).await;
        match answer {
            Ok(Ok(answer)) => {
                samples.record(&route.route, started.elapsed());
                // Read to its end: the connection carries the next request,
                // whatever the answer was.
                answer.check()
            }
            failed => {
                // The connection's state is unknown after a failure: a new one.
                *conn = None;
                Err(failed.map_or_else(|_| "timeout".to_string(), |r| r.err().unwrap_or_default()))
            }
        }
    }
}

/// What a load generator keeps of an answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    xml: bool,
    /// The body's first bytes (up to [`TWIML_PREFIX`]).
    head: Vec<u8>,
}

impl Answer {
    /// The platform's checks, as far as bytes go: status 200, an XML content
    /// type, a TwiML `<Response` at the start of the body.
    fn check(&self) -> Result<(), String> {
        if self.status != 200 {
            return Err(format!("HTTP {}", self.status));
        }
        if !self.xml {
            return Err("wrong content type".into());
        }
        if !self.head.windows(9).any(|w| w == b"<Response") {
            return Err("not TwiML".into());
        }
        Ok(())
    }
}

fn is_xml(v: Option<&HeaderValue>) -> bool {
    let Some(v) = v else { return false };
    let mime = v.as_bytes().split(|&b| b == b';').next().unwrap_or(b"");
    let mime = mime.trim_ascii();
    mime.eq_ignore_ascii_case(b"text/xml") || mime.eq_ignore_ascii_case(b"application/xml")
}

/// Sends `req` and reads the whole answer (so that the connection can carry the
/// next), keeping its first bytes.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<Answer, String> {
    let resp = sender
        .send_request(req)
        .await
        .map_err(|_| "transport (connection)".to_string())?;
    let (parts, mut body) = resp.into_parts();
    let mut answer = Answer {
        status: parts.status.as_u16(),
        xml: is_xml(parts.headers.get(header::CONTENT_TYPE)),
        head: Vec::new(),
    };
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| "transport (connection)".to_string())?;
        if let Ok(data) = frame.into_data() {
            read += data.len();
            if read > MAX_ANSWER_BYTES {
                // Not read to its end: the connection cannot be reused.
                return Err("answer too large".into());
            }
            let room = TWIML_PREFIX.saturating_sub(answer.head.len());
            answer.head.extend_from_slice(&data[..room.min(data.len())]);
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    fn lean(token: Option<&str>) -> Lean {
        Lean::new(
            &CallerOptions {
                url: "http://127.0.0.1:9/voice".into(),
                auth_token: token.map(|t| SecretString::from(t.to_string())),
                ..CallerOptions::default()
            },
            "http://127.0.0.1:9",
        )
        .expect("a plain http URL")
    }

    #[test]
    fn only_plain_http_on_one_host_goes_the_lean_way() {
        let opts = |url: &str| CallerOptions {
            url: url.into(),
            ..CallerOptions::default()
        };
        assert!(Lean::new(&opts("https://h/voice"), "https://h").is_none());
        assert!(Lean::new(&opts("http://a:1/voice"), "http://b:1").is_none());
        let l = Lean::new(&opts("http://h/voice"), "http://h").expect("plain http");
        assert_eq!(l.addr, "h:80");
        assert_eq!(l.step.target.to_string(), "/voice/answer?seq=1");
        assert_eq!(l.step.route, "/voice/answer");
    }

    #[test]
    fn the_signature_is_of_the_form_sent() {
        let token = "bench-token";
        let l = lean(Some(token));
        let ctx = Ctx::for_tests("http://127.0.0.1:9");
        for work in [Work::Greeting, Work::Step] {
            let (route, body, signature) = l.request(&ctx, work, 77);
            let sent: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(sent[0], param("CallSid", &ctx.call_sid(77)));
            assert!(ivr_core::webhook::valid_call_sid(&sent[0].1));
            if work == Work::Step {
                assert!(
                    sent.contains(&param("Digits", &ctx.code_keys(77))),
                    "{body}"
                );
                assert!(sent.contains(&param("FinishedOnKey", "#")), "{body}");
            }
            assert!(sent.contains(&param("From", "+5548999990000")), "{body}");
            let signature = signature.expect("signed");
            assert!(webhook_signature::verify_twilio(
                token,
                &route.signed_url,
                &sent,
                &signature
            ));
        }
        assert!(lean(None).request(&ctx, Work::Greeting, 1).2.is_none());
    }

    #[test]
    fn an_answer_is_checked_by_its_bytes() {
        let ok = Answer {
            status: 200,
            xml: true,
            head: b"<?xml version=\"1.0\"?><Response><Gather".to_vec(),
        };
        assert_eq!(ok.check(), Ok(()));
        let status = Answer { status: 503, ..ok };
        assert_eq!(status.check(), Err("HTTP 503".into()));
        let html = Answer {
            status: 200,
            head: b"<html><body>Response</body></html>".to_vec(),
            ..status
        };
        assert_eq!(html.check(), Err("not TwiML".into()));
        let json = Answer { xml: false, ..html };
        assert_eq!(json.check(), Err("wrong content type".into()));
        let header = |s: &'static str| HeaderValue::from_static(s);
        assert!(is_xml(Some(&header("text/xml; charset=utf-8"))));
        assert!(is_xml(Some(&header("Application/XML"))));
        assert!(!is_xml(Some(&header("text/html"))));
        assert!(!is_xml(None));
    }

    /// A server answering call `i` (the CallSid's index) with TwiML, a 500
    /// (`i % 3 == 1`) or an HTML page (`i % 3 == 2`); `403` when a token is set
    /// and the signature is wrong. It keeps the peer of every request.
    async fn server(token: Option<&'static str>) -> (String, Arc<Mutex<HashSet<SocketAddr>>>) {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let peers = Arc::new(Mutex::new(HashSet::new()));
        let (seen, url) = (peers.clone(), base.clone());
        let server = HttpServer::new(move || {
            let (seen, url) = (seen.clone(), url.clone());
            App::new().default_service(web::to(move |req: HttpRequest, form: web::Bytes| {
                let (seen, url) = (seen.clone(), url.clone());
                async move {
                    seen.lock().unwrap().extend(req.peer_addr());
                    let params: Vec<(String, String)> =
                        url::form_urlencoded::parse(&form).into_owned().collect();
                    let signed = req
                        .headers()
                        .get("X-Twilio-Signature")
                        .and_then(|v| v.to_str().ok());
                    if let Some(t) = token {
                        let url = format!("{url}{}", req.uri());
                        if !signed.is_some_and(|s| {
                            webhook_signature::verify_twilio(t, &url, &params, s)
                        }) {
                            return HttpResponse::Forbidden().finish();
                        }
                    }
                    let i = params
                        .iter()
                        .find(|(k, _)| k == "CallSid")
                        .and_then(|(_, sid)| u64::from_str_radix(sid.get(10..)?, 16).ok())
                        .unwrap_or(u64::MAX);
                    match i % 3 {
                        1 => HttpResponse::InternalServerError().finish(),
                        2 => HttpResponse::Ok()
                            .content_type("text/xml")
                            .body("<html><body>Response</body></html>"),
                        _ => HttpResponse::Ok()
                            .content_type("text/xml; charset=utf-8")
                            .body(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#),
                    }
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .disable_signals()
        .run();
        tokio::spawn(server);
        (base, peers)
    }

    #[tokio::test]
    async fn requests_are_counted_and_bad_answers_are_errors() {
        for (token, work) in [(None, Work::Greeting), (Some("t0ken"), Work::Step)] {
            let (base, peers) = server(token).await;
            let ctx = Ctx::for_tests(&base);
            let lean = Lean::new(
                &CallerOptions {
                    url: format!("{base}/voice"),
                    auth_token: token.map(|t| SecretString::from(t.to_string())),
                    request_timeout: Duration::from_secs(10),
                    ..CallerOptions::default()
                },
                &base,
            )
            .unwrap();
            let mut acc = Acc::default();
            // Calls 0..9: 0, 3, 6 answered TwiML, 1, 4, 7 a 500, 2, 5, 8 HTML.
            lean.caller(&ctx, work, &Source::new(0, 9, None), &mut acc)
                .await;
            assert_eq!((acc.started, acc.completed), (9, 3), "{work:?}");
            let errors: Vec<_> = acc.errors.into_iter().collect();
            assert_eq!(
                errors,
                [("HTTP 500".to_string(), 3), ("not TwiML".to_string(), 3)],
                "{work:?}"
            );
            // Every answer was timed, on the route asked, over one connection.
            let route = if work == Work::Step {
                "/voice/answer"
            } else {
                "/voice"
            };
            assert_eq!(acc.samples.count_of(route), 9, "{work:?}");
            assert_eq!(peers.lock().unwrap().len(), 1, "{work:?}");
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connection_error_for_each_request() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let ctx = Ctx::for_tests(&base);
        let lean = ctx.lean.clone().expect("plain http");
        let mut acc = Acc::default();
        lean.caller(&ctx, Work::Greeting, &Source::new(0, 4, None), &mut acc)
            .await;
        assert_eq!((acc.started, acc.completed), (4, 0));
        assert_eq!(acc.errors.get("transport (connection)"), Some(&4));
        assert_eq!(acc.samples.count(), 0);
    }
}
