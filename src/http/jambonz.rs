//! jambonz's adapter: `POST /jambonz` (the application's call webhook and every
//! `actionHook` it is given, `?hook=answer|poll|dial|resume&seq=N`) and
//! `POST /jambonz/status` (the call status hook), on the same steps as TwiML
//! (`stall` → `steps` → the engine), answered in jambonz's JSON verbs.
//!
//! Its gate, in order, before the store is read: the per-address limit; HTTP
//! basic auth when `IVR_PUBLIC_URL` carries credentials (401); a JSON body
//! (415), bounded and read within its deadline (413/408); `Jambonz-Signature`
//! with `JAMBONZ_WEBHOOK_SECRET` (403), each signature accepted at one URL only
//! (jambonz does not sign the URL; its retry at the same URL passes and gets the
//! stored answer); without a jambonz secret, basic auth is the proof, and with
//! neither, only an instance that checks no webhook at all accepts it. Then the
//! body (400: not a JSON object with a `call_sid`) is read into the names the
//! steps read (`CallSid`, `Digits`, `SpeechResult`, ...): a gather's `timeout`
//! (or any reason without a result) is a silence.

use super::error::Refusal;
use super::gate::{self, Admitted, SeqQuery};
use super::webhook::apologise_on_panic;
use super::{AppState, Hook, document, stall};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use ivr_core::jambonz::{BodyError, Gathered, HookBody, HookName};
use ivr_core::render::Dialect;
use ivr_core::webhook::{Form, valid_call_sid};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use webhook_signature::SigError;

/// `POST /jambonz` (`status`: `POST /jambonz/status`).
pub(crate) async fn webhook(
    status: bool,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let state = state.into_inner();
    let query = web::Query::<SeqQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .ok();
    let name = match &query {
        Some(q) => HookName::parse(q.hook.as_deref()),
        None => Ok(HookName::Start),
    };
    let source = req.peer_addr().map(|a| a.ip());
    let Ok(name) = name else {
        return Refusal::UnknownHook.respond_in(&state, source, Dialect::Jambonz);
    };
    let route = if status {
        Hook::Status
    } else {
        match name {
            HookName::Start => Hook::Start,
            HookName::Answer => Hook::Answer,
            HookName::Poll => Hook::Poll,
            HookName::Dial => Hook::Dial,
            HookName::Resume => Hook::Resume,
        }
    };
    let apology_state = state.clone();
    apologise_on_panic(
        route,
        Dialect::Jambonz,
        move || {
            apology_state
                .render_ctx()
                .apology_in(Dialect::Jambonz, "error.apology")
        },
        answer(route, query, req, payload, state),
    )
    .await
}

async fn answer(
    route: Hook,
    query: Option<SeqQuery>,
    req: HttpRequest,
    payload: web::Payload,
    state: Arc<AppState>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let source = req.peer_addr().map(|a| a.ip());
    let (hook, admitted) = match admit(route, query, &req, payload, &state).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.respond_in(&state, source, Dialect::Jambonz),
    };
    tracing::Span::current().record("call_sid", admitted.call_sid.as_str());
    let body = stall::answer(&state, hook, admitted).await;
    state.webhooks.answered(hook, started.elapsed());
    tracing::info!(ms = started.elapsed().as_secs_f64() * 1000.0, "answered");
    document(Dialect::Jambonz, StatusCode::OK, body)
}

/// Every check, in order (see the module's docs); the hook the request is
/// (a gather's answer with nothing heard is a silence) and what passed.
async fn admit(
    route: Hook,
    query: Option<SeqQuery>,
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Hook, Admitted), Refusal> {
    if let Some(peer) = req.peer_addr()
        && !state.limits.allow_request(peer.ip())
    {
        return Err(Refusal::TooManyRequests);
    }
    let basic = state.cfg.http.webhook_auth.as_ref();
    if let Some(auth) = basic
        && !gate::basic_auth_matches(auth, req)
    {
        return Err(Refusal::BadCredentials);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with(ivr_core::jambonz::CONTENT_TYPE)
    {
        return Err(Refusal::NotJson);
    }
    let body = gate::read_body(req, payload).await.map_err(Refusal::Body)?;
    check_signature(state, req, &body).await?;
    let parsed = HookBody::parse(&body).map_err(|e| match e {
        BodyError::NotJson => Refusal::MalformedJson,
        BodyError::NoCallSid => Refusal::BadCallSid,
    })?;
    if !valid_call_sid(&parsed.call_sid) {
        return Err(Refusal::BadCallSid);
    }
    let hook = match (route, &parsed.gathered) {
        (Hook::Answer, Gathered::Nothing) => Hook::Silence,
        (hook, _) => hook,
    };
    let (seq, protocol, holds) = match query {
        Some(q) => (
            q.seq,
            q.protocol.filter(|p| super::greeting::valid_protocol(p)),
            q.n,
        ),
        None => (None, None, None),
    };
    Ok((
        hook,
        Admitted {
            call_sid: parsed.call_sid.clone(),
            seq,
            protocol,
            form: form(hook, parsed),
            holds,
            dialect: Dialect::Jambonz,
        },
    ))
}

/// The signature, or basic auth as the proof (module docs).
async fn check_signature(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<(), Refusal> {
    let signing = &state.cfg.signing;
    let Some(secret) = &signing.jambonz_secret else {
        if state.cfg.http.webhook_auth.is_some() {
            // Checked by the gate already: the documented alternative.
            return Ok(());
        }
        if signing.enforced() {
            // Other platforms' keys only: nothing can prove a jambonz hook.
            return Err(Refusal::BadSignature(SigError::NotConfigured));
        }
        if signing.allow_unsigned {
            tracing::warn!("jambonz webhook accepted WITHOUT a signature check (--allow-unsigned)");
        }
        return Ok(());
    };
    let header = req
        .headers()
        .get(webhook_signature::JAMBONZ_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    webhook_signature::verify_jambonz(secret, header, body, now_unix)
        .map_err(Refusal::BadSignature)?;
    let key = webhook_signature::jambonz_replay_key(header)
        .ok_or(Refusal::BadSignature(SigError::Missing))?;
    gate::accept_once_at_url(state, req, &key, webhook_signature::JAMBONZ_REPLAY_TTL_MS).await
}

/// The body in the names the steps read (TwiML's): the seam between the two
/// dialects' requests.
fn form(hook: Hook, b: HookBody) -> Form {
    let mut pairs = vec![
        ("CallSid".to_string(), b.call_sid),
        ("From".to_string(), b.from),
        ("To".to_string(), b.to),
    ];
    if let Some(status) = b.call_status {
        // The call webhook comes before the call is answered (`trying`,
        // `early-media`): a first request, as TwiML's `ringing`.
        let status = match (hook, status.as_str()) {
            (Hook::Start, "trying" | "ringing" | "early-media") => "ringing".to_string(),
            _ => status,
        };
        pairs.push(("CallStatus".to_string(), status));
    }
    match b.gathered {
        Gathered::Speech {
            transcript,
            confidence,
        } => {
            pairs.push(("SpeechResult".to_string(), transcript));
            if let Some(c) = confidence {
                pairs.push(("Confidence".to_string(), c.to_string()));
            }
        }
        Gathered::Digits(d) => pairs.push(("Digits".to_string(), d)),
        Gathered::Nothing => {}
    }
    if let Some(status) = b.dial_call_status {
        pairs.push(("DialCallStatus".to_string(), status));
    }
    Form::bounded(pairs)
}
