//! The gate in front of the call flow: who may post a webhook, and how often.
//!
//! Every check here runs before the store is read, so a refused request leaves no
//! trace in call state and never reaches OZmap. In order:
//! 1. requests per source address (`IVR_RATE_REQUESTS_PER_SECOND`), before the body
//!    is even read: a flood costs a map lookup, not an HMAC;
//! 2. HTTP basic auth, when `IVR_PUBLIC_URL` carries `user:password@` (401);
//! 3. the body: a form (415), at most 16 KiB (413), in full within
//!    `IVR_BODY_TIMEOUT_MS` (408, see `guard`), well formed (400);
//! 4. the platform signature over the URL rebuilt from `IVR_PUBLIC_URL` (never from
//!    `Host` or `X-Forwarded-*`, which the sender chooses), the raw body and the
//!    parsed form ([`webhook_signature::verify`]; 403); a Telnyx signature (which
//!    does not cover the URL) is recorded with the URL it came to, in the store
//!    shared by every instance: the platform's retry at that URL passes (and gets
//!    the stored answer of the step), the same signature at another URL is
//!    refused like a bad signature (403);
//! 5. a `CallSid` as a platform sends it (400).
//!
//! New calls per caller number are limited later, in the handler, because only
//! the store knows whether a `CallSid` is new; a refused caller hears a short
//! sentence and the call ends, nobody else waits.
//!
//! Every refusal is a [`Refusal`]: one place decides its status, body, log line
//! (the reason, never a parameter, a signature or a key) and counter.

use super::AppState;
use super::Refusal;
use crate::config::WebhookAuth;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ivr_core::webhook::{Form, MAX_BODY, is_form, valid_call_sid};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use webhook_signature::{Platform, SigError, SignedRequest};

/// Refusals since start, by kind (read by metrics and tests).
#[derive(Debug, Default)]
pub struct SecurityCounters {
    /// Webhooks refused with 403: missing, malformed, forged, expired or replayed
    /// signature.
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

/// A webhook that passed the gate.
pub(super) struct Admitted {
    pub(super) call_sid: String,
    /// The `seq` of the action URL, when it carries one.
    pub(super) seq: Option<i64>,
    /// The protocol number the greeting's URLs carry (signed with the URL).
    pub(super) protocol: Option<String>,
    /// The parameters, each value bounded.
    pub(super) form: Form,
    /// Holds in a row so far, on `/voice/resume` (see `stall`).
    pub(super) holds: Option<u32>,
    /// The dialect of the route the request came to.
    pub(super) dialect: ivr_core::render::Dialect,
}

/// Runs every check, in order; the first that fails refuses the request.
pub(super) async fn admit(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Admitted, Refusal> {
    if let Some(peer) = req.peer_addr()
        && !state.limits.allow_request(peer.ip())
    {
        return Err(Refusal::TooManyRequests);
    }
    if let Some(auth) = &state.cfg.http.webhook_auth
        && !basic_auth_matches(auth, req)
    {
        return Err(Refusal::BadCredentials);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE);
    if !is_form(content_type.and_then(|v| v.to_str().ok())) {
        return Err(Refusal::NotAForm);
    }
    let body = read_body(req, payload).await.map_err(Refusal::Body)?;
    let pairs = Form::parse_pairs(&body).ok_or(Refusal::MalformedForm)?;
    let admission = check_signature(state, req, &body, &pairs).map_err(Refusal::BadSignature)?;
    if admission == Admission::Signed(Platform::Telnyx) {
        accept_at_one_url(state, req).await?;
    }
    let form = Form::bounded(pairs);
    let call_sid = form
        .get("CallSid")
        .filter(|s| valid_call_sid(s))
        .map(str::to_string)
        .ok_or(Refusal::BadCallSid)?;
    let query = web::Query::<SeqQuery>::from_query(req.query_string()).ok();
    let (seq, protocol, holds) = match query {
        Some(q) => {
            let q = q.into_inner();
            (
                q.seq,
                q.protocol.filter(|p| super::greeting::valid_protocol(p)),
                q.n,
            )
        }
        None => (None, None, None),
    };
    Ok(Admitted {
        call_sid,
        seq,
        protocol,
        form,
        holds,
        dialect: ivr_core::render::Dialect::Twiml,
    })
}

#[derive(serde::Deserialize)]
pub(super) struct SeqQuery {
    pub(super) seq: Option<i64>,
    pub(super) protocol: Option<String>,
    pub(super) n: Option<u32>,
    /// jambonz's hook name (`jambonz`).
    pub(super) hook: Option<String>,
}

/// The body, at most [`MAX_BODY`] bytes: `413` past it (a declared length is
/// refused before anything is read), `408` past the body's deadline (see
/// `guard`), `400` when the stream breaks.
pub(super) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, StatusCode> {
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
        Ok(Err(e)) if super::guard::is_deadline(&e) => Err(StatusCode::REQUEST_TIMEOUT),
        Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
        Err(_) => Err(StatusCode::PAYLOAD_TOO_LARGE),
    }
}

/// Records a Telnyx request's signature with the URL it came to, refusing one
/// already recorded at another URL: Telnyx signs `timestamp|body` and not the
/// URL, so a captured body could otherwise be posted again, within the
/// timestamp window, to another step (`?seq=`). The same request at the same
/// URL is the platform retrying after a lost answer: it passes, and the step
/// answers it as any repeated step (the stored answer, nothing done twice).
async fn accept_at_one_url(state: &AppState, req: &HttpRequest) -> Result<(), Refusal> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let key = webhook_signature::telnyx_replay_key(&headers)
        .ok_or(Refusal::BadSignature(SigError::Missing))?;
    accept_once_at_url(state, req, &key, webhook_signature::TELNYX_REPLAY_TTL_MS).await
}

/// Records the signature `key` with the URL it came to, for `ttl_ms`; refuses
/// one already recorded at another URL (a platform that does not sign the
/// URL: Telnyx, jambonz).
pub(super) async fn accept_once_at_url(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    ttl_ms: i64,
) -> Result<(), Refusal> {
    // A digest: the URL's query is not kept in the store.
    let url: String = Sha256::digest(signed_url(state, req).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let now = crate::store::now_ms();
    match state
        .store()
        .remember_signature(key, &url, now, ttl_ms)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refusal::Replayed),
        Err(e) => Err(Refusal::ReplayCheckFailed(e.to_string())),
    }
}

/// The URL the platform requested, rebuilt from the configured public URL
/// (never from `Host` or `X-Forwarded-*`): what signatures cover.
fn signed_url(state: &AppState, req: &HttpRequest) -> String {
    format!(
        "{}{}",
        state.platform_base_url,
        req.uri().path_and_query().map_or("", |p| p.as_str())
    )
}

/// Whether the request carries `Authorization: Basic` with exactly these
/// credentials, compared with the one constant-time compare (neither the content
/// nor the length of the password leaks through timing).
pub(crate) fn basic_auth_matches(auth: &WebhookAuth, req: &HttpRequest) -> bool {
    let Some(given) = req
        .headers()
        .get(header::AUTHORIZATION)
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
    webhook_signature::secret_eq(&expected, &decoded)
}

/// What the signature check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Signed by this platform.
    Signed(Platform),
    /// No signing key is configured (the sandbox, or `--allow-unsigned`).
    Unchecked,
}

/// Checks the platform's signature on a webhook. `form` must be the complete
/// parse of `body` (before any value is cut), since that is what was signed.
pub(crate) fn check_signature(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    form: &[(String, String)],
) -> Result<Admission, SigError> {
    let signing = &state.cfg.signing;
    if !signing.enforced() {
        if signing.allow_unsigned {
            tracing::warn!(
                path = req.path(),
                "webhook accepted WITHOUT a signature check (--allow-unsigned)"
            );
        }
        return Ok(Admission::Unchecked);
    }
    let url = signed_url(state, req);
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
    webhook_signature::verify(&signing.keys, &request).map(Admission::Signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn auth() -> WebhookAuth {
        let cfg =
            crate::config::parse_for_tests(&["--public-url=https://ivr:s3nh%40@ivr.example.com"])
                .expect("valid");
        let a = cfg.http.webhook_auth.expect("credentials parsed");
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
}
