//! The gate in front of the call flow: who may post a webhook, and how often.
//!
//! Every check here runs before the store is read, so a refused request leaves no
//! trace in call state and never reaches OZmap. In order:
//! 1. requests per source address (`IVR_RATE_REQUESTS_PER_SECOND`), before the body
//!    is even read: a flood costs a map lookup, not an HMAC;
//! 2. HTTP basic auth, when `IVR_PUBLIC_URL` carries `user:password@` (401);
//! 3. the platform signature over the URL rebuilt from `IVR_PUBLIC_URL` (never from
//!    `Host` or `X-Forwarded-*`, which the sender chooses), the raw body and the
//!    parsed form ([`webhook_signature::verify`]; 403).
//!
//! New calls per caller number are limited later, in the handler, because only
//! the store knows whether a `CallSid` is new; a refused caller hears a short
//! sentence and the call ends, nobody else waits.
//!
//! Refusals are logged with the reason and the route only (never a parameter,
//! a signature or a key) and counted in [`SecurityCounters`].

use crate::app::AppState;
use crate::config::WebhookAuth;
use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use webhook_signature::{Platform, SigError, SignedRequest};

/// Refusals since start, by kind (read by metrics and tests).
#[derive(Debug, Default)]
pub struct SecurityCounters {
    /// Webhooks refused with 403: missing, malformed, forged or expired signature.
    pub bad_signatures: AtomicU64,
    /// Webhooks refused with 401: basic auth missing or wrong.
    pub bad_credentials: AtomicU64,
    /// Webhooks refused because their source address sent too many.
    pub limited_requests: AtomicU64,
    /// New calls refused because their caller number placed too many.
    pub limited_calls: AtomicU64,
}

impl SecurityCounters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Whether the request carries `Authorization: Basic` with exactly these
/// credentials. Compared as SHA-256 digests with a constant-time fold, so
/// neither the content nor the length of the password leaks through timing.
pub fn basic_auth_matches(auth: &WebhookAuth, req: &HttpRequest) -> bool {
    let Some(given) = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, b64)) = given.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(b64.trim()) else {
        return false;
    };
    let mut expected = Vec::with_capacity(auth.user.len() + 1 + 32);
    expected.extend_from_slice(auth.user.as_bytes());
    expected.push(b':');
    expected.extend_from_slice(auth.password.expose_secret().as_bytes());
    constant_time_eq(&Sha256::digest(&decoded), &Sha256::digest(&expected))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the signature check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Signed by this platform.
    Signed(Platform),
    /// No signing key is configured (the sandbox, or `--allow-unsigned`).
    Unchecked,
}

impl AppState {
    /// Checks the platform's signature on a webhook. `form` must be the complete
    /// parse of `body` (before any value is cut), since that is what was signed.
    pub fn check_signature(
        &self,
        req: &HttpRequest,
        body: &[u8],
        form: &[(String, String)],
    ) -> Result<Admission, SigError> {
        if !self.cfg.signatures_enforced() {
            if self.cfg.allow_unsigned {
                tracing::warn!(
                    path = req.path(),
                    "webhook accepted WITHOUT a signature check (--allow-unsigned)"
                );
            }
            return Ok(Admission::Unchecked);
        }
        let url = format!(
            "{}{}",
            self.platform_base_url,
            req.uri().path_and_query().map_or("", |p| p.as_str())
        );
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let request = SignedRequest {
            url: &url,
            headers: &headers,
            body,
            form: Some(form),
            now_unix,
        };
        webhook_signature::verify(&self.cfg.signatures, &request).map(Admission::Signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn auth() -> WebhookAuth {
        let cfg =
            crate::config::parse_for_tests(&["--public-url=https://ivr:s3nh%40@ivr.example.com"])
                .expect("valid");
        let a = cfg.webhook_auth.expect("credentials parsed");
        assert_eq!(a.user, "ivr");
        assert_eq!(a.password.expose_secret(), "s3nh@");
        a
    }

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_pass))
    }

    #[test]
    fn basic_auth_takes_only_the_exact_credentials() {
        let a = auth();
        let ok = TestRequest::post()
            .insert_header(("Authorization", basic("ivr:s3nh@")))
            .to_http_request();
        assert!(basic_auth_matches(&a, &ok));
        let lower = TestRequest::post()
            .insert_header((
                "Authorization",
                format!("basic {}", STANDARD.encode("ivr:s3nh@")),
            ))
            .to_http_request();
        assert!(basic_auth_matches(&a, &lower));
        for bad in [
            basic("ivr:s3nh"),
            basic("ivr:s3nh@x"),
            basic("IVR:s3nh@"),
            basic("ivr"),
            "Bearer abc".to_string(),
            "Basic !!!".to_string(),
            "Basic".to_string(),
        ] {
            let req = TestRequest::post()
                .insert_header(("Authorization", bad.clone()))
                .to_http_request();
            assert!(!basic_auth_matches(&a, &req), "{bad}");
        }
        assert!(!basic_auth_matches(
            &a,
            &TestRequest::post().to_http_request()
        ));
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
