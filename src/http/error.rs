//! Every way a webhook is refused, and the one place that decides its status,
//! its body, its log line and its counter.
//!
//! A refusal carries no parameter, signature or key: its log line names the
//! reason, the route and the source address (masked) only, once per source
//! and interval with a count (`ratelimit`'s refusals): a flood of forged
//! requests is a handful of lines. Refusals
//! that could come from a real caller's platform (a flood limit, a broken body)
//! get a spoken sentence in well-formed TwiML; those that say "you are not the
//! platform" (credentials, signature) get an empty `<Response/>`.

use super::AppState;
use super::SecurityCounters;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use ivr_core::render::{Dialect, RenderCtx};
use std::net::IpAddr;
use webhook_signature::SigError;

#[derive(Debug)]
pub(crate) enum Refusal {
    /// Too many requests from one source address.
    TooManyRequests,
    /// Basic auth missing or wrong (credentials in `IVR_PUBLIC_URL`).
    BadCredentials,
    /// Not `application/x-www-form-urlencoded`.
    NotAForm,
    /// The body is over the limit (413) or its stream broke (400).
    Body(StatusCode),
    /// Not a form, or more parameters than a platform sends.
    MalformedForm,
    /// No signature a configured key can check, or a wrong one.
    BadSignature(SigError),
    /// A signature already accepted at another URL (Telnyx, which does not sign
    /// the URL).
    Replayed,
    /// The store could not say whether the signature was seen before.
    ReplayCheckFailed(String),
    /// No `CallSid`, or one no platform would send.
    BadCallSid,
    /// A method other than POST.
    MethodNotAllowed,
    /// jambonz: not `application/json`.
    NotJson,
    /// jambonz: a body that is not a JSON object with a `call_sid`.
    MalformedJson,
    /// jambonz: a `hook=` this service never hands out.
    UnknownHook,
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Refusal::BadCredentials => StatusCode::UNAUTHORIZED,
            Refusal::NotAForm | Refusal::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::MalformedJson => StatusCode::BAD_REQUEST,
            Refusal::UnknownHook => StatusCode::NOT_FOUND,
            Refusal::Body(status) => *status,
            Refusal::MalformedForm | Refusal::BadCallSid => StatusCode::BAD_REQUEST,
            Refusal::BadSignature(_) | Refusal::Replayed => StatusCode::FORBIDDEN,
            Refusal::ReplayCheckFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The reason as the log says it; `None` for a refusal that is the
    /// service's own failure (logged on its own, every time).
    fn reason(&self) -> Option<String> {
        Some(match self {
            Refusal::TooManyRequests => "too many requests from one source address (429)".into(),
            Refusal::BadCredentials => "basic auth missing or wrong (401)".into(),
            Refusal::NotAForm => "content type is not a form (415)".into(),
            Refusal::Body(status) => {
                format!(
                    "body too large, unreadable or too slow ({})",
                    status.as_u16()
                )
            }
            Refusal::MalformedForm => "malformed form (400)".into(),
            Refusal::BadSignature(reason) => format!("signature check failed: {reason} (403)"),
            Refusal::Replayed => {
                "signature already used at another URL (replayed request) (403)".into()
            }
            Refusal::ReplayCheckFailed(_) => return None,
            Refusal::BadCallSid => "missing or malformed CallSid (400)".into(),
            Refusal::MethodNotAllowed => "method not allowed (405)".into(),
            Refusal::NotJson => "content type is not JSON (415)".into(),
            Refusal::MalformedJson => "not a jambonz webhook body (400)".into(),
            Refusal::UnknownHook => "unknown jambonz hook (404)".into(),
        })
    }

    fn log(&self, state: &AppState, source: Option<IpAddr>) {
        match (self, self.reason()) {
            (_, Some(reason)) => state.limits.refusals.refused(source, "voice", &reason),
            (Refusal::ReplayCheckFailed(error), None) => {
                tracing::error!(error = %error, "refused: the store cannot check for a replay")
            }
            (_, None) => {}
        }
    }

    fn count(&self, counters: &SecurityCounters) {
        match self {
            Refusal::TooManyRequests => SecurityCounters::bump(&counters.limited_requests),
            Refusal::BadCredentials => SecurityCounters::bump(&counters.bad_credentials),
            Refusal::BadSignature(_) | Refusal::Replayed => {
                SecurityCounters::bump(&counters.bad_signatures)
            }
            _ => {}
        }
    }

    /// Counts, logs and answers the refusal of a request from `source`.
    pub(crate) fn respond(self, state: &AppState, source: Option<IpAddr>) -> HttpResponse {
        self.respond_in(state, source, Dialect::Twiml)
    }

    /// [`Self::respond`], the body in `dialect`.
    pub(crate) fn respond_in(
        self,
        state: &AppState,
        source: Option<IpAddr>,
        dialect: Dialect,
    ) -> HttpResponse {
        self.count(&state.security);
        self.log(state, source);
        let render = state.render_ctx();
        let body = match self {
            // The per-source-address limit: about the service, not a number.
            Refusal::TooManyRequests => render.apology_in(dialect, "error.busy_address"),
            Refusal::BadCredentials | Refusal::BadSignature(_) | Refusal::Replayed => {
                RenderCtx::empty_in(dialect)
            }
            _ => render.apology_in(dialect, "error.apology"),
        };
        let mut res = super::document(dialect, self.status(), body);
        let extra = match self {
            Refusal::TooManyRequests => Some((header::RETRY_AFTER, "1")),
            Refusal::BadCredentials => Some((
                header::WWW_AUTHENTICATE,
                "Basic realm=\"ozmap-ivr\", charset=\"UTF-8\"",
            )),
            Refusal::MethodNotAllowed => Some((header::ALLOW, "POST")),
            _ => None,
        };
        if let Some((name, value)) = extra {
            res.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        res
    }
}
