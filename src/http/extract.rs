//! The operators' bearer token as an extractor: a handler that takes an
//! [`Operator`] cannot run without a valid `Authorization: Bearer
//! <IVR_ADMIN_TOKEN>`, so no admin route can forget the check.
//!
//! With no `IVR_ADMIN_TOKEN` set the admin routes answer 404, as if they did not
//! exist; with one, a missing or wrong token gets 401. The token is compared with
//! the workspace's one constant-time compare ([`webhook_signature::secret_eq`]).

use super::AppState;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use std::future::{Ready, ready};

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
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = json_error(self.status_code(), &self.to_string());
        if let AdminRefusal::BadToken = self {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ozmap-ivr admin\""),
            );
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

fn check(req: &HttpRequest) -> Result<Operator, AdminRefusal> {
    let expected = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.cfg.admin_token.clone())
        .ok_or(AdminRefusal::Off)?;
    match bearer(req) {
        Some(given)
            if webhook_signature::secret_eq(
                expected.expose_secret().as_bytes(),
                given.as_bytes(),
            ) =>
        {
            Ok(Operator)
        }
        _ => {
            tracing::warn!(
                path = req.path(),
                "admin: refused (bad or missing bearer token)"
            );
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
}
