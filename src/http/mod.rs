//! The webhook side: actix handlers that turn a platform request into a flow
//! event, store the call's new state, start the background work and answer TwiML.
//!
//! Rules every handler keeps:
//! - the answer is `200 text/xml` with a spoken sentence, whatever went wrong
//!   inside (a store error, a panic); only a bad signature (403), a wrong method
//!   (405), a wrong content type (415) or a request that is not a call (400) get
//!   another status, still with a well-formed TwiML body;
//! - no webhook waits on an outside service longer than the step budget: the
//!   geocoder is given `IVR_STEP_BUDGET_MS`, then goes on in the background behind
//!   a hold message; OZmap is only ever called by the worker;
//! - a repeated request (same call, same `seq`) gets the same answer and does not
//!   move the call twice: the last answer is stored with the state and replayed.

pub mod render;
pub mod routes;

use crate::domain::AddressQuery;
use crate::flow::{self, Call, Effect, Event, GeoResult, Progress, ReservationProgress, Step};
use crate::store::{GeoCached, LedgerStatus, StoredCall, now_ms};
use crate::{app::AppState, domain::ReservationOutcome};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::FutureExt;
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body taken (platform forms are a few hundred bytes).
pub const MAX_BODY: usize = 16 * 1024;
/// Most form parameters taken.
pub const MAX_PARAMS: usize = 64;
/// Longest value kept from one parameter (speech is cut further by the flow).
pub const MAX_VALUE: usize = 2048;

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
    fn name(self) -> &'static str {
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

/// The form a platform posts, bounded.
#[derive(Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Option<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        if pairs.len() > MAX_PARAMS {
            return None;
        }
        Some(Self(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let v = if v.len() > MAX_VALUE {
                        let mut end = MAX_VALUE;
                        while !v.is_char_boundary(end) {
                            end -= 1;
                        }
                        v[..end].to_string()
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect(),
        ))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A CallSid as Twilio (`CA` + 32 hex) or Telnyx (`v2:…`) sends it.
pub fn valid_call_sid(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
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

/// Entry point of every webhook.
pub async fn webhook(
    hook: Hook,
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let state = state.into_inner();
    let render = state.render_ctx();
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
    let Some(form) = Form::parse(&body) else {
        tracing::warn!(
            route = hook.name(),
            bytes = body.len(),
            "refused: malformed form"
        );
        return xml(StatusCode::BAD_REQUEST, render.apology("error.apology"));
    };
    if let Err(reason) = state.check_signature(&req, &body, &form) {
        tracing::warn!(
            route = hook.name(),
            reason,
            "refused: signature check failed"
        );
        return xml(
            StatusCode::FORBIDDEN,
            crate::twiml::Response::new().render(),
        );
    }
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
    let outcome = AssertUnwindSafe(handle(&state, hook, &call_sid, seq, &form))
        .catch_unwind()
        .await;
    let answer = match outcome {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => {
            tracing::error!(route = hook.name(), call_sid = %call_sid, error = %e, "webhook failed; apologised to the caller");
            render.apology("error.apology")
        }
        Err(_) => {
            tracing::error!(route = hook.name(), call_sid = %call_sid, "webhook panicked; apologised to the caller");
            render.apology("error.apology")
        }
    };
    tracing::info!(
        route = hook.name(),
        call_sid = %call_sid,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "answered"
    );
    xml(StatusCode::OK, answer)
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
        tracing::info!(
            call_sid,
            status = form.get("CallStatus").unwrap_or("?"),
            "call status"
        );
        return Ok(crate::twiml::Response::new().render());
    }
    if hook == Hook::Start {
        // Nearly every first request is a new call: create it at once and read
        // the store only when the call exists (one round trip instead of two).
        let call = Call::new(form.get("From").map(str::to_string));
        let t = flow::advance(&state.flow, &call, Event::Start, now as u64);
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
        // The platform repeated the first request, or the caller was sent to the
        // start again: say the current question again, without moving.
        return Ok(match state.store.load_call(call_sid).await? {
            Some(stored) => replay_or_resume(state, &stored, now),
            None => body,
        });
    }
    let Some(stored) = state.store.load_call(call_sid).await? else {
        // A step of a call this service does not know (its state expired or
        // another deployment started it): greet and start over.
        tracing::info!(call_sid, route = hook.name(), "unknown call: starting over");
        let call = Call::new(form.get("From").map(str::to_string));
        let t = flow::advance(&state.flow, &call, Event::Start, now as u64);
        let body = render.render(&t.reply, 1);
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
        Hook::Start | Hook::Status => unreachable_event(),
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
            state.wake_worker.notify_waiters();
            state.wake_worker.notify_one();
        }
        Ok(body)
    } else {
        // Another copy of this request moved the call first: answer what it did.
        let again = state.store.load_call(call_sid).await?;
        Ok(again.and_then(|s| s.last_reply).unwrap_or(body))
    }
}

fn unreachable_event() -> Event {
    // Start and Status return before events are built.
    Event::Silence
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
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
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
