//! The webhook side: actix handlers that turn a platform request into a flow
//! event, store the call's new state, start the background work and answer TwiML.
//!
//! Rules every handler keeps:
//! - the answer is `200 text/xml` with a spoken sentence, whatever went wrong
//!   inside (a store error, a panic); only a refusal by the gate ([`security`]:
//!   429 too many requests from one address, 401 basic auth, 403 signature), a
//!   wrong method (405), a wrong content type (415), a body over 16 KiB (413) or a
//!   request that is not a call (400) get another status, still with a
//!   well-formed TwiML body;
//! - a refused request never touches call state or OZmap: every check runs before
//!   the store is read;
//! - no webhook waits on an outside service longer than the step budget: the
//!   geocoder is given `IVR_STEP_BUDGET_MS`, then goes on in the background behind
//!   a hold message; OZmap is only ever called by the worker;
//! - a repeated request (same call, same `seq`) gets the same answer and does not
//!   move the call twice: the last answer is stored with the state and replayed.

pub mod metrics;
pub mod routes;
pub mod security;

use crate::app::AppState;
use crate::store::{GeoCached, LedgerStatus, StoredCall, now_ms};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::FutureExt;
use ivr_core::domain::{AddressQuery, ReservationOutcome};
use ivr_core::flow::{self, Call, Effect, Event, GeoResult, Progress, ReservationProgress, Step};
use ivr_core::webhook::{Form, MAX_BODY, valid_call_sid};
use security::SecurityCounters;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

/// Which webhook was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Start,
    Answer,
    Silence,
    Poll,
    Dial,
    Status,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Start => "start",
            Hook::Answer => "answer",
            Hook::Silence => "silence",
            Hook::Poll => "poll",
            Hook::Dial => "dial",
            Hook::Status => "status",
        }
    }
}

fn xml(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}

/// Entry point of every webhook. A panic anywhere inside becomes the spoken
/// apology ([`apologise_on_panic`]).
pub async fn webhook(
    hook: Hook,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let state = state.into_inner();
    let apology_state = state.clone();
    apologise_on_panic(
        hook,
        move || apology_state.render_ctx().apology("error.apology"),
        webhook_inner(hook, req, payload, state),
    )
    .await
}

/// Runs a webhook's work; a panic inside it becomes `200` with `apology()` (a
/// spoken sentence and goodbye in valid TwiML) and an error log line with the
/// route only (a panic message may hold caller data, so it is not logged here).
pub async fn apologise_on_panic<F>(
    hook: Hook,
    apology: impl FnOnce() -> String,
    work: F,
) -> HttpResponse
where
    F: Future<Output = HttpResponse>,
{
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(res) => res,
        Err(_) => {
            tracing::error!(
                route = hook.name(),
                "webhook panicked; apologised to the caller"
            );
            xml(StatusCode::OK, apology())
        }
    }
}

async fn webhook_inner(
    hook: Hook,
    req: HttpRequest,
    payload: web::Payload,
    state: Arc<AppState>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let render = state.render_ctx();
    // 1. Requests per source address, before anything costs work.
    if let Some(peer) = req.peer_addr()
        && !state.limits.allow_request(peer.ip())
    {
        SecurityCounters::bump(&state.security.limited_requests);
        tracing::warn!(
            route = hook.name(),
            "refused: too many requests from one source address"
        );
        let mut res = xml(StatusCode::TOO_MANY_REQUESTS, render.apology("error.busy"));
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    }
    // 2. Basic auth, when the public URL carries credentials.
    if let Some(auth) = &state.cfg.webhook_auth
        && !security::basic_auth_matches(auth, &req)
    {
        SecurityCounters::bump(&state.security.bad_credentials);
        tracing::warn!(route = hook.name(), "refused: basic auth missing or wrong");
        let mut res = xml(
            StatusCode::UNAUTHORIZED,
            ivr_core::twiml::Response::new().render(),
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ozmap-ivr\", charset=\"UTF-8\""),
        );
        return res;
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        tracing::warn!(route = hook.name(), "refused: content type is not a form");
        return xml(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            render.apology("error.apology"),
        );
    }
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(status) => {
            tracing::warn!(
                route = hook.name(),
                status = status.as_u16(),
                "refused: body too large or unreadable"
            );
            return xml(status, render.apology("error.apology"));
        }
    };
    let Some(pairs) = Form::parse_pairs(&body) else {
        tracing::warn!(
            route = hook.name(),
            bytes = body.len(),
            "refused: malformed form"
        );
        return xml(StatusCode::BAD_REQUEST, render.apology("error.apology"));
    };
    // 3. The signature, over the form exactly as sent.
    if let Err(reason) = state.check_signature(&req, &body, &pairs) {
        SecurityCounters::bump(&state.security.bad_signatures);
        tracing::warn!(
            route = hook.name(),
            reason = %reason,
            "refused: signature check failed"
        );
        return xml(
            StatusCode::FORBIDDEN,
            ivr_core::twiml::Response::new().render(),
        );
    }
    let form = Form::bounded(pairs);
    let Some(call_sid) = form
        .get("CallSid")
        .filter(|s| valid_call_sid(s))
        .map(str::to_string)
    else {
        tracing::warn!(route = hook.name(), "refused: missing or malformed CallSid");
        return xml(StatusCode::BAD_REQUEST, render.apology("error.apology"));
    };
    let seq = web::Query::<SeqQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.seq);
    let answer = match handle(&state, hook, &call_sid, seq, &form).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(route = hook.name(), call_sid = %call_sid, error = %e, "webhook failed; apologised to the caller");
            state.webhooks.apologised();
            render.apology("error.apology")
        }
    };
    state.webhooks.answered(hook, started.elapsed());
    tracing::info!(
        route = hook.name(),
        call_sid = %call_sid,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "answered"
    );
    xml(StatusCode::OK, answer)
}

/// The body, at most [`MAX_BODY`] bytes: `413` past it (a declared length is
/// refused before anything is read), `400` when the stream breaks.
async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, StatusCode> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    match payload.to_bytes_limited(MAX_BODY).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
        Err(_) => Err(StatusCode::PAYLOAD_TOO_LARGE),
    }
}

#[derive(serde::Deserialize)]
struct SeqQuery {
    seq: Option<i64>,
}

/// The body of the answer for one webhook.
async fn handle(
    state: &Arc<AppState>,
    hook: Hook,
    call_sid: &str,
    seq: Option<i64>,
    form: &Form,
) -> anyhow::Result<String> {
    let now = now_ms();
    let render = state.render_ctx();
    if hook == Hook::Status {
        // Only the statuses TwiML defines are logged as given.
        let status = match form.get("CallStatus") {
            Some(
                s @ ("queued" | "ringing" | "in-progress" | "completed" | "busy" | "failed"
                | "no-answer" | "canceled"),
            ) => s,
            Some(_) => "other",
            None => "?",
        };
        tracing::info!(call_sid, status, "call status");
        return Ok(ivr_core::twiml::Response::new().render());
    }
    let Some(stored) = state.store.load_call(call_sid).await? else {
        // A new call, or a step of a call this service does not know (its state
        // expired or another deployment started it): greet and start over.
        if hook != Hook::Start {
            tracing::info!(call_sid, route = hook.name(), "unknown call: starting over");
        }
        // A new call state: the caller's number must still have new calls left.
        let from = form.get("From").unwrap_or("");
        if !state.limits.allow_new_call(from) {
            SecurityCounters::bump(&state.security.limited_calls);
            tracing::warn!(
                call_sid,
                route = hook.name(),
                caller = %crate::redact::phone(from),
                "refused: too many new calls from this number"
            );
            return Ok(render.apology("error.busy"));
        }
        let call = Call::new(Some(from.to_string()).filter(|f| !f.is_empty()));
        let t = flow::advance(&state.flow, &call, Event::Start, now as u64);
        // The greeting of a new call depends on the configuration only.
        let body = state
            .greeting
            .get_or_init(|| render.render(&t.reply, 1))
            .clone();
        if state
            .store
            .create_call(call_sid, &t.call, &body, now)
            .await?
        {
            return Ok(body);
        }
        // Created meanwhile by a repeated request: answer what it answered.
        return Ok(state
            .store
            .load_call(call_sid)
            .await?
            .and_then(|s| s.last_reply)
            .unwrap_or(body));
    };
    if hook == Hook::Start {
        // The platform repeated the first request, or the caller was sent to the
        // start again: say the current question again, without moving.
        return Ok(replay_or_resume(state, &stored, now));
    }
    match seq {
        Some(s) if s == stored.seq => {}
        Some(s) if s == stored.seq - 1 && stored.last_reply.is_some() => {
            tracing::info!(
                call_sid,
                route = hook.name(),
                "repeated request: same answer again"
            );
            return Ok(stored.last_reply.clone().unwrap_or_default());
        }
        _ => {
            tracing::info!(
                call_sid,
                route = hook.name(),
                "stale step URL: asking the current question again"
            );
            return Ok(replay_or_resume(state, &stored, now));
        }
    }
    let event = match hook {
        Hook::Answer => Event::Answer {
            digits: form.get("Digits").map(str::to_string),
            speech: form.get("SpeechResult").map(str::to_string),
        },
        Hook::Silence => Event::Silence,
        Hook::Poll => Event::Poll(progress(state, call_sid, &stored.call, now).await?),
        Hook::Dial => Event::DialEnded {
            answered: matches!(form.get("DialCallStatus"), Some("completed" | "answered")),
        },
        // Start and Status have returned above.
        Hook::Start | Hook::Status => Event::Silence,
    };
    let mut t = flow::advance(&state.flow, &stored.call, event, now as u64);
    if let Some(Effect::Geocode(query)) = t.effect.clone() {
        // Give the geocoder the step budget; past it the caller hears the hold
        // message and the lookup goes on in the background.
        let task = state.clone().geocode_in_background(query);
        if let Ok(Ok(result)) = tokio::time::timeout(state.step_budget(), task).await {
            t = flow::advance(
                &state.flow,
                &t.call,
                Event::Poll(Progress::Geocoded(result)),
                now as u64,
            );
        }
    }
    tracing::info!(
        call_sid,
        route = hook.name(),
        from = step_name(&stored.call.step),
        to = step_name(&t.call.step),
        attempts = t.call.attempts,
        "step"
    );
    if t.call == stored.call {
        // Nothing moved (a hold poll): no write, same seq.
        return Ok(render.render(&t.reply, stored.seq));
    }
    let body = render.render(&t.reply, stored.seq + 1);
    let reserve = match &t.effect {
        Some(Effect::Reserve(r)) => Some(r),
        _ => None,
    };
    if state
        .store
        .advance_call(call_sid, stored.seq, &t.call, &body, reserve, now)
        .await?
    {
        if reserve.is_some() {
            tracing::info!(call_sid, "reservation written to the ledger");
            state.wake_worker.notify_one();
        }
        Ok(body)
    } else {
        // Another copy of this request moved the call first: answer what it did.
        let again = state.store.load_call(call_sid).await?;
        Ok(again.and_then(|s| s.last_reply).unwrap_or(body))
    }
}

fn replay_or_resume(state: &AppState, stored: &StoredCall, now: i64) -> String {
    let t = flow::advance(&state.flow, &stored.call, Event::Start, now as u64);
    state.render_ctx().render(&t.reply, stored.seq)
}

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::AskCode => "ask_code",
        Step::ConfirmCode => "confirm_code",
        Step::AskName => "ask_name",
        Step::AskAddress => "ask_address",
        Step::AskNumber => "ask_number",
        Step::Geocoding { .. } => "geocoding",
        Step::ConfirmAddress => "confirm_address",
        Step::Reserving { .. } => "reserving",
        Step::OfferAgent => "offer_agent",
        Step::Transferred => "transferred",
        Step::Finished => "finished",
    }
}

/// What the background work has for a call that is on hold.
async fn progress(
    state: &Arc<AppState>,
    call_sid: &str,
    call: &Call,
    now: i64,
) -> anyhow::Result<Progress> {
    match call.step {
        Step::Geocoding { .. } => {
            let Some(query) = call.data.query.clone() else {
                return Ok(Progress::Pending);
            };
            match state.store.geocode_get(&geocode_key(&query), now).await? {
                Some(cached) => Ok(Progress::Geocoded(cached.into())),
                None => {
                    // Not in the cache: make sure a lookup is running here (the one
                    // started may have been on another instance, or before a restart).
                    drop(state.clone().geocode_in_background(query));
                    Ok(Progress::Pending)
                }
            }
        }
        Step::Reserving { .. } => {
            let Some(code) = &call.data.code else {
                return Ok(Progress::Pending);
            };
            let Some(row) = state.store.reservation_by_code(code).await? else {
                return Ok(Progress::Reservation(ReservationProgress::Waiting {
                    failing: false,
                }));
            };
            Ok(Progress::Reservation(match (row.status, row.outcome) {
                (LedgerStatus::Done, Some(outcome)) => {
                    // A reservation made for an earlier call is read back as existing.
                    ReservationProgress::Done(match outcome {
                        ReservationOutcome::Reserved(p) if row.call_sid != call_sid => {
                            ReservationOutcome::Existing(p)
                        }
                        other => other,
                    })
                }
                (LedgerStatus::Dead | LedgerStatus::Cancelled, _) => ReservationProgress::Dead,
                _ => ReservationProgress::Waiting {
                    failing: row.attempts > 0,
                },
            }))
        }
        _ => Ok(Progress::Pending),
    }
}

impl From<GeoCached> for GeoResult {
    fn from(c: GeoCached) -> Self {
        match c {
            GeoCached::Found { place } => GeoResult::Found(place),
            GeoCached::NotFound => GeoResult::NotFound,
            GeoCached::Failed => GeoResult::Failed,
        }
    }
}

/// The cache key of a query: a hash, so the key itself holds no address.
pub fn geocode_key(q: &AddressQuery) -> String {
    let text = serde_json::to_string(q).unwrap_or_default();
    let digest = Sha256::digest(text.to_lowercase().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl AppState {
    fn step_budget(&self) -> Duration {
        Duration::from_millis(self.cfg.step_budget_ms)
    }

    /// Looks `query` up (once per instance at a time), caches the answer, and
    /// returns it. The lookup goes on when the returned handle is dropped.
    fn geocode_in_background(
        self: Arc<Self>,
        query: AddressQuery,
    ) -> tokio::task::JoinHandle<GeoResult> {
        let key = geocode_key(&query);
        let mut inflight = self.geo_inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(shared) = inflight.get(&key) {
            let shared = shared.clone();
            return tokio::spawn(shared);
        }
        let state = self.clone();
        let k = key.clone();
        let fut = async move {
            let now = now_ms();
            let result = match state.store.geocode_get(&k, now).await {
                Ok(Some(hit)) => hit,
                _ => {
                    let hold = Duration::from_millis(state.cfg.geocode_hold_ms);
                    let looked = tokio::time::timeout(hold, state.locator.locate(&query)).await;
                    let cached = match looked {
                        Ok(Ok(Some(place))) => GeoCached::Found { place },
                        Ok(Ok(None)) => GeoCached::NotFound,
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "geocoder failed");
                            GeoCached::Failed
                        }
                        Err(_) => {
                            tracing::warn!(
                                ms = hold.as_millis() as u64,
                                "geocoder too slow; gave up"
                            );
                            GeoCached::Failed
                        }
                    };
                    if let Err(e) = state.store.geocode_put(&k, &cached, now_ms()).await {
                        tracing::error!(error = %e, "could not cache a geocoding result");
                    }
                    cached
                }
            };
            state
                .geo_inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&k);
            GeoResult::from(result)
        }
        .boxed()
        .shared();
        inflight.insert(key, fut.clone());
        drop(inflight);
        tokio::spawn(fut)
    }
}

/// The usual protective headers on every answer.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    ivr_core::webhook::SECURITY_HEADERS
        .into_iter()
        .fold(actix_web::middleware::DefaultHeaders::new(), |h, kv| {
            h.add(kv)
        })
}

/// `405` with a TwiML body, for any method but POST on a webhook.
pub async fn method_not_allowed(state: web::Data<AppState>) -> HttpResponse {
    let mut res = xml(
        StatusCode::METHOD_NOT_ALLOWED,
        state.render_ctx().apology("error.apology"),
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    res
}

/// `GET /healthz`: the store answers.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unavailable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("store unavailable\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use ivr_core::prompts::Prompts;
    use std::sync::Mutex;

    /// Log lines written while the guard lives on this thread.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn apology() -> String {
        let prompts = Prompts::shipped("pt-BR").unwrap();
        ivr_core::render::RenderCtx {
            prompts: &prompts,
            public_url: "https://ivr.example.com",
            voice: "Polly.Camila",
            language: "pt-BR",
            agent_number: None,
        }
        .apology("error.apology")
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_spoken_apology_and_one_error_line() {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let secret_in_panic = "+5548991234567";
        let res = apologise_on_panic(Hook::Answer, apology, async {
            if !secret_in_panic.is_empty() {
                panic!("handler bug while holding {secret_in_panic}");
            }
            HttpResponse::Ok().finish()
        })
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/xml; charset=utf-8"
        );
        let body = res.into_body().try_into_bytes().unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        let doc = roxmltree::Document::parse(body).unwrap();
        let verbs: Vec<&str> = doc
            .root_element()
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(verbs, ["Say", "Hangup"]);
        assert!(body.contains("Desculpe"), "{body}");
        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logs.lines().count(), 1, "{logs}");
        assert!(
            logs.contains("ERROR") && logs.contains("webhook panicked"),
            "{logs}"
        );
        assert!(
            logs.contains("route=\"answer\"") || logs.contains("route=answer"),
            "{logs}"
        );
        assert!(!logs.contains(secret_in_panic), "{logs}");
    }

    #[tokio::test]
    async fn without_a_panic_the_answer_passes_through() {
        let res = apologise_on_panic(Hook::Start, apology, async {
            HttpResponse::Forbidden().finish()
        })
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
}
