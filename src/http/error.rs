//! Every way a webhook is refused, and the one place that decides its status,
//! its body, its log line and its counter.
//!
//! A refusal carries no parameter, signature or key: its log line names the
//! reason (and the route and CallSid, from the request's span) only. Refusals
//! that could come from a real caller's platform (a flood limit, a broken body)
//! get a spoken sentence in well-formed TwiML; those that say "you are not the
//! platform" (credentials, signature) get an empty `<Response/>`.

use super::AppState;
use super::SecurityCounters;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
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
    MalformedForm { bytes: usize },
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
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Refusal::BadCredentials => StatusCode::UNAUTHORIZED,
            Refusal::NotAForm => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::Body(status) => *status,
            Refusal::MalformedForm { .. } | Refusal::BadCallSid => StatusCode::BAD_REQUEST,
            Refusal::BadSignature(_) | Refusal::Replayed => StatusCode::FORBIDDEN,
            Refusal::ReplayCheckFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn log(&self) {
        match self {
            Refusal::TooManyRequests => {
                tracing::warn!("refused: too many requests from one source address")
            }
            Refusal::BadCredentials => tracing::warn!("refused: basic auth missing or wrong"),
            Refusal::NotAForm => tracing::warn!("refused: content type is not a form"),
            Refusal::Body(status) => tracing::warn!(
                status = status.as_u16(),
                "refused: body too large or unreadable"
            ),
            Refusal::MalformedForm { bytes } => tracing::warn!(bytes, "refused: malformed form"),
            Refusal::BadSignature(reason) => {
                tracing::warn!(reason = %reason, "refused: signature check failed")
            }
            Refusal::Replayed => {
                tracing::warn!("refused: signature already used at another URL (replayed request)")
            }
            Refusal::ReplayCheckFailed(error) => {
                tracing::error!(error = %error, "refused: the store cannot check for a replay")
            }
            Refusal::BadCallSid => tracing::warn!("refused: missing or malformed CallSid"),
            Refusal::MethodNotAllowed => tracing::warn!("refused: method not allowed"),
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

    /// Counts, logs and answers the refusal.
    pub(crate) fn respond(self, state: &AppState) -> HttpResponse {
        self.count(&state.security);
        self.log();
        let render = state.render_ctx();
        let body = match self {
            // The per-source-address limit: about the service, not a number.
            Refusal::TooManyRequests => render.apology("error.busy_address"),
            Refusal::BadCredentials | Refusal::BadSignature(_) | Refusal::Replayed => {
                ivr_core::twiml::Response::new().render()
            }
            _ => render.apology("error.apology"),
        };
        let mut res = super::xml(self.status(), body);
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
