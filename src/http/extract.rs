//! The operators' bearer token as an extractor: a handler that takes an
//! [`Operator`] cannot run without a valid `Authorization: Bearer
//! <IVR_ADMIN_TOKEN>`, so no admin route can forget the check.
//!
//! With no `IVR_ADMIN_TOKEN` set the admin routes answer 404, as if they did not
//! exist; with one, a missing or wrong token gets 401. The token is compared with
//! the workspace's one constant-time compare ([`webhook_signature::secret_eq`]).
//!
//! Guessing is slow: a wrong token counts against its source address's limit
//! of wrong tries, shared with the console's login form (ten a minute, see
//! `ratelimit`); past it every request from that address that carries a token
//! gets 429 with `Retry-After`, before its token is compared ([`try_token`],
//! the console's checks too). Refusals are logged once per source and
//! interval, with a count.

use super::AppState;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use std::future::{Ready, ready};
use std::time::Duration;

/// Proof that the request carries the operators' token.
#[derive(Debug)]
pub(crate) struct Operator;

/// Why an admin request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminRefusal {
    /// No admin token configured: the routes are off.
    #[error("not found")]
    Off,
    #[error("a valid bearer token is required")]
    BadToken,
    /// Too many wrong tokens from this address: try again after the wait.
    #[error("too many wrong tokens from this address; try again later")]
    TooManyTries(Duration),
}

/// A JSON error body, never cached.
pub(crate) fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": message }))
}

impl ResponseError for AdminRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminRefusal::Off => StatusCode::NOT_FOUND,
            AdminRefusal::BadToken => StatusCode::UNAUTHORIZED,
            AdminRefusal::TooManyTries(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = json_error(self.status_code(), &self.to_string());
        match self {
            AdminRefusal::BadToken => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ozmap-ivr admin\""),
                );
            }
            AdminRefusal::TooManyTries(wait) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after(*wait));
            }
            AdminRefusal::Off => {}
        }
        res
    }
}

/// The token after `Bearer ` (scheme case-insensitive), trimmed.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `Retry-After` in whole seconds, at least 1.
pub(crate) fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

/// What a token a request carries (`Authorization: Bearer`, or the console's
/// login form) says about the operators' token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Bearer {
    /// No token: no try.
    Absent,
    Right,
    /// A wrong token, counted against the address's tries.
    Wrong,
    /// The address has tried too many wrong tokens: not compared.
    TooMany(Duration),
}

/// Checks the request's bearer token against `expected` ([`try_token`]).
pub(crate) fn bearer_token(
    req: &HttpRequest,
    state: &AppState,
    expected: &str,
    route: &'static str,
) -> Bearer {
    try_token(req, state, bearer(req), expected, route)
}

/// Checks a token `given` (a bearer token, or the console's login form)
/// against `expected`, within the source address's limit of wrong tries: an
/// address over it is not compared. A wrong or refused try is logged once per
/// source and interval, as refused on `route`.
pub(crate) fn try_token(
    req: &HttpRequest,
    state: &AppState,
    given: Option<&str>,
    expected: &str,
    route: &'static str,
) -> Bearer {
    let Some(given) = given else {
        return Bearer::Absent;
    };
    let ip = req.peer_addr().map(|a| a.ip());
    let limits = &state.limits;
    if let Some(wait) = ip.and_then(|ip| limits.token_blocked(ip)) {
        limits
            .refusals
            .refused(ip, route, "too many wrong tokens (429)");
        return Bearer::TooMany(wait);
    }
    if webhook_signature::secret_eq(expected.as_bytes(), given.as_bytes()) {
        return Bearer::Right;
    }
    match ip.map(|ip| limits.token_failed(ip)) {
        Some(Err(wait)) => {
            limits
                .refusals
                .refused(ip, route, "too many wrong tokens (429)");
            Bearer::TooMany(wait)
        }
        _ => {
            limits.refusals.refused(ip, route, "wrong token (401)");
            Bearer::Wrong
        }
    }
}

fn check(req: &HttpRequest) -> Result<Operator, AdminRefusal> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AdminRefusal::Off)?;
    let expected = state.cfg.admin_token.as_ref().ok_or(AdminRefusal::Off)?;
    let route = if req.path().starts_with("/metrics") {
        "metrics"
    } else {
        "admin"
    };
    match bearer_token(req, state, expected.expose_secret(), route) {
        Bearer::Right => Ok(Operator),
        Bearer::TooMany(wait) => Err(AdminRefusal::TooManyTries(wait)),
        Bearer::Wrong => Err(AdminRefusal::BadToken),
        Bearer::Absent => {
            let ip = req.peer_addr().map(|a| a.ip());
            state
                .limits
                .refusals
                .refused(ip, route, "missing bearer token (401)");
            Err(AdminRefusal::BadToken)
        }
    }
}

impl FromRequest for Operator {
    type Error = AdminRefusal;
    type Future = Ready<Result<Operator, AdminRefusal>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(check(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_token_is_read_after_bearer_only() {
        let with = |v: &str| {
            TestRequest::get()
                .insert_header((header::AUTHORIZATION, v))
                .to_http_request()
        };
        assert_eq!(bearer(&with("Bearer s3cret")), Some("s3cret"));
        assert_eq!(bearer(&with("bearer  s3cret ")), Some("s3cret"));
        assert_eq!(bearer(&with("Basic s3cret")), None);
        assert_eq!(bearer(&with("s3cret")), None);
        assert_eq!(bearer(&TestRequest::get().to_http_request()), None);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after(Duration::from_millis(5_200)), "6");
        assert_eq!(retry_after(Duration::from_secs(6)), "6");
        assert_eq!(retry_after(Duration::ZERO), "1");
    }
}
