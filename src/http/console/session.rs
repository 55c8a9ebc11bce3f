//! Who may see the console, and who may press its buttons.
//!
//! - A person logs in with `IVR_ADMIN_TOKEN` in a form; the answer sets a random
//!   session cookie, `HttpOnly` (no script reads it), `SameSite=Strict` (no other
//!   site's page sends it) and `Secure` when `IVR_PUBLIC_URL` is https. The store
//!   keeps the cookie's SHA-256 with the session's CSRF token and expiry, so
//!   sessions hold across instances and a logout ends one everywhere.
//! - A session belongs to the token that opened it: the store keeps, with it,
//!   an HMAC-SHA256 of the session's id keyed with the token ([`token_fp`];
//!   never the token). After `IVR_ADMIN_TOKEN` changes, every session opened
//!   with the old one gets the login form. `ozmap-ivr console logout-all` ends
//!   them all.
//! - A script sends `Authorization: Bearer <IVR_ADMIN_TOKEN>` instead (a browser
//!   never adds that header by itself, so it needs no CSRF token).
//! - Wrong tokens, at the login form or as a bearer, count against the source
//!   address's limit of wrong tries (`ratelimit`), so the token cannot be
//!   guessed at speed.
//! - Every action is a POST carrying the session's CSRF token (compared in
//!   constant time), and a POST whose `Origin` is not the service's own, or whose
//!   `Sec-Fetch-Site` says `cross-site`, is refused before anything else.

use super::ConsoleError;
use crate::http::AppState;
use crate::http::extract::{Bearer, bearer_token, try_token};
use crate::store::now_ms;
use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

pub(crate) const COOKIE: &str = "ozmap_console";
/// How long a session lasts.
pub(crate) const SESSION_MS: i64 = 8 * 60 * 60 * 1000;

/// How the request proved it is an operator.
#[derive(Debug)]
pub(crate) enum Access {
    /// A logged-in person: the session's id (hashed) and its CSRF token.
    Session { id: String, csrf: String },
    /// A script with the bearer token.
    Bearer,
}

impl Access {
    /// The CSRF token to put in the page's forms.
    pub(crate) fn csrf(&self) -> &str {
        match self {
            Access::Session { csrf, .. } => csrf,
            Access::Bearer => "",
        }
    }
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(cookie: &str) -> String {
    hex(&Sha256::digest(cookie.as_bytes()))
}

/// Which token opened the session `id`: HMAC-SHA256 of the id keyed with the
/// token, in hex. Another token gives another value; the value gives no
/// token back, and differs from one session to the next.
pub(crate) fn token_fp(token: &str, id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
        return String::new();
    };
    mac.update(b"ozmap-ivr console session ");
    mac.update(id.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn admin_token(state: &AppState) -> Result<&str, ConsoleError> {
    state
        .cfg
        .admin_token
        .as_ref()
        .map(|t| t.expose_secret())
        .ok_or(ConsoleError::Off)
}

/// The request's cookie value, when it sends one.
fn cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 100)
}

/// The operator behind the request, or why there is none. A wrong bearer
/// token counts as a wrong try (then the cookie is looked at).
pub(crate) async fn access(req: &HttpRequest, state: &AppState) -> Result<Access, ConsoleError> {
    let expected = admin_token(state)?;
    match bearer_token(req, state, expected, "console") {
        Bearer::Right => return Ok(Access::Bearer),
        Bearer::TooMany(wait) => return Err(ConsoleError::TooManyLogins(wait)),
        Bearer::Wrong | Bearer::Absent => {}
    }
    let Some(value) = cookie(req) else {
        return Err(ConsoleError::LoginRequired);
    };
    let id = hash(&value);
    match state
        .store()
        .session(&id, &token_fp(expected, &id), now_ms())
        .await?
    {
        Some(csrf) => Ok(Access::Session { id, csrf }),
        None => Err(ConsoleError::LoginRequired),
    }
}

/// The service's own origin, from `IVR_PUBLIC_URL` (`https://ivr.example.com`).
fn own_origin(state: &AppState) -> Option<String> {
    let url = url::Url::parse(&state.cfg.http.public_url).ok()?;
    Some(url.origin().ascii_serialization())
}

/// Logs a refused action once per source and interval, with a count.
fn refused(req: &HttpRequest, state: &AppState, reason: &str) {
    let source = req.peer_addr().map(|a| a.ip());
    state.limits.refusals.refused(source, "console", reason);
}

/// A POST from another site's page is refused before anything else.
pub(crate) fn same_origin(req: &HttpRequest, state: &AppState) -> Result<(), ConsoleError> {
    let h = req.headers();
    let cross_site = h
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    let same = !cross_site
        && match h.get(header::ORIGIN).map(|v| v.to_str()) {
            None => true,
            Some(Ok(origin)) => Some(origin.to_string()) == own_origin(state),
            Some(Err(_)) => false,
        };
    if same {
        Ok(())
    } else {
        refused(req, state, "a request from another site (403)");
        Err(ConsoleError::CrossSite)
    }
}

/// A POST's right to act: same origin, and the session's CSRF token (a bearer
/// needs none).
pub(crate) fn may_act(
    req: &HttpRequest,
    state: &AppState,
    access: &Access,
    given: Option<&str>,
) -> Result<(), ConsoleError> {
    same_origin(req, state)?;
    match access {
        Access::Bearer => Ok(()),
        Access::Session { csrf, .. } => match given {
            Some(g) if webhook_signature::secret_eq(csrf.as_bytes(), g.as_bytes()) => Ok(()),
            _ => {
                refused(req, state, "a stale or forged form (CSRF token) (403)");
                Err(ConsoleError::BadCsrf)
            }
        },
    }
}

fn cookie_header(state: &AppState, value: &str, max_age_s: i64) -> String {
    let secure = if state.cfg.http.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// Checks the token from the login form; on success a new session and the
/// `Set-Cookie` value that carries it.
pub(crate) async fn login(
    req: &HttpRequest,
    state: &AppState,
    given: &str,
) -> Result<String, ConsoleError> {
    let expected = admin_token(state)?;
    match try_token(req, state, Some(given.trim()), expected, "console") {
        Bearer::Right => {}
        Bearer::TooMany(wait) => return Err(ConsoleError::TooManyLogins(wait)),
        Bearer::Wrong | Bearer::Absent => return Err(ConsoleError::BadLogin),
    }
    let value = random_token();
    let id = hash(&value);
    let now = now_ms();
    state
        .store()
        .create_session(
            &id,
            &random_token(),
            &token_fp(expected, &id),
            now + SESSION_MS,
            now,
        )
        .await?;
    tracing::info!("console: operator logged in");
    Ok(cookie_header(state, &value, SESSION_MS / 1000))
}

/// Ends every session opened with another token than `token` (at start:
/// `IVR_ADMIN_TOKEN` changed); how many. A session from another token opens
/// nothing anyway; deleted, it stays ended if the old token comes back.
pub(crate) async fn end_other_tokens_sessions(
    store: &crate::store::Store,
    token: &str,
) -> Result<usize, crate::store::StoreError> {
    let mut ended = 0;
    for (id, fp) in store.session_tokens().await? {
        if !webhook_signature::secret_eq(fp.as_bytes(), token_fp(token, &id).as_bytes()) {
            store.delete_session(&id).await?;
            ended += 1;
        }
    }
    Ok(ended)
}

/// Ends the session; the `Set-Cookie` value that clears the cookie.
pub(crate) async fn logout(state: &AppState, access: &Access) -> Result<String, ConsoleError> {
    if let Access::Session { id, .. } = access {
        state.store().delete_session(id).await?;
        tracing::info!("console: operator logged out");
    }
    Ok(cookie_header(state, "", 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_cookie_is_found_among_others_and_bounded() {
        let req = TestRequest::get()
            .insert_header((header::COOKIE, "a=1; ozmap_console=abc ; b=2"))
            .to_http_request();
        assert_eq!(cookie(&req).as_deref(), Some("abc"));
        let long = format!("ozmap_console={}", "x".repeat(500));
        let req = TestRequest::get()
            .insert_header((header::COOKIE, long))
            .to_http_request();
        assert_eq!(cookie(&req), None);
        assert_eq!(cookie(&TestRequest::get().to_http_request()), None);
    }

    #[test]
    fn sessions_are_random_and_kept_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }

    #[test]
    fn a_session_s_token_fingerprint_depends_on_the_token_and_the_session() {
        let token = "an-admin-token-of-24-chars";
        let fp = token_fp(token, "id1");
        assert_eq!(fp.len(), 64);
        assert_eq!(fp, token_fp(token, "id1"));
        assert_ne!(fp, token_fp("another-admin-token-24-ch", "id1"));
        assert_ne!(fp, token_fp(token, "id2"));
        assert!(!fp.contains(token));
    }
}
