//! The link where a caller marks the house (`crate::location`), on the web:
//!
//! - `GET /l/{token}`: the page (pt-BR, en-US with the prompts' language),
//!   one button **Estou aqui**; an unknown, expired or used token gets one
//!   and the same `404` page, whatever it was.
//! - `POST /l/{token}`: `{"lat","lng","accuracy"}` from the page's script
//!   (at most [`MAX_BODY`] bytes), answered in JSON with the sentence the page
//!   shows; limited per link and per source address (`429`).
//! - `GET /l/static/page.css`, `/l/static/page.js`: the page's own files
//!   (its Content-Security-Policy allows nothing else).
//! - `POST /admin/location-links`: a link made by an operator (behind
//!   `IVR_ADMIN_TOKEN`), sent by SMS when a number is given.
//!
//! Every answer is `Cache-Control: no-store`, `Referrer-Policy: no-referrer`,
//! `X-Robots-Tag: noindex`. No token, position, address or number is logged:
//! one line per post, with its outcome only.

mod page;

use super::AppState;
use super::extract::{Operator, json_error};
use crate::location::{Fix, LinkError, OfferError, token_hash};
use crate::store::now_ms;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use page::Words;
use serde::Deserialize;
use serde_json::json;

pub(crate) use crate::location::PATH;
pub(crate) const STATIC_STYLE: &str = page::STYLE_PATH;
pub(crate) const STATIC_SCRIPT: &str = page::SCRIPT_PATH;
/// `POST` here makes a link (operators).
pub(crate) const ADMIN_LINKS: &str = "/admin/location-links";

/// The largest position body read.
pub(crate) const MAX_BODY: usize = 1024;

fn words(state: &AppState) -> &'static Words {
    page::words(state.prompts.language())
}

/// The headers every answer of a link has.
fn private(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("X-Robots-Tag", "noindex, nofollow"))
}

fn html(status: StatusCode, body: maud::Markup) -> HttpResponse {
    private(&mut HttpResponse::build(status))
        .insert_header((header::CONTENT_SECURITY_POLICY, page::CSP))
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

fn answer(status: StatusCode, kind: &str, message: &str) -> HttpResponse {
    private(&mut HttpResponse::build(status)).json(json!({ "status": kind, "message": message }))
}

/// `GET /l/{token}`.
pub(crate) async fn show(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let w = words(&state);
    match state.location.live(&path, now_ms()).await {
        Ok(Some(_)) => html(StatusCode::OK, page::live(w)),
        Ok(None) => html(StatusCode::NOT_FOUND, page::gone(w)),
        Err(e) => {
            tracing::error!(error = %e, "location link: store unavailable");
            private(&mut HttpResponse::ServiceUnavailable())
                .content_type("text/plain; charset=utf-8")
                .body(format!("{}\n", w.busy))
        }
    }
}

/// A position as the page posts it; nothing else is accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Posted {
    lat: f64,
    lng: f64,
    accuracy: f64,
}

/// The body, at most [`MAX_BODY`] bytes; `Err` with the refusal.
async fn read(req: &HttpRequest, payload: web::Payload, w: &Words) -> Result<Fix, HttpResponse> {
    let json_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    let bad = || answer(StatusCode::BAD_REQUEST, "not_a_position", w.not_a_position);
    if !json_type {
        return Err(bad());
    }
    let body = match payload.to_bytes_limited(MAX_BODY).await {
        Ok(Ok(body)) => body,
        Ok(Err(e)) if super::guard::is_deadline(&e) => {
            return Err(answer(StatusCode::REQUEST_TIMEOUT, "timeout", w.failed));
        }
        Ok(Err(_)) => return Err(bad()),
        Err(_) => {
            return Err(answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "not_a_position",
                w.not_a_position,
            ));
        }
    };
    let posted: Posted = serde_json::from_slice(&body).map_err(|_| bad())?;
    let fix = Fix {
        lat: posted.lat,
        lng: posted.lng,
        accuracy_m: posted.accuracy,
    };
    if fix.is_position() {
        Ok(fix)
    } else {
        Err(bad())
    }
}

/// `POST /l/{token}`.
pub(crate) async fn post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let w = words(&state);
    let token = path.into_inner();
    let ip = req.peer_addr().map(|a| a.ip());
    if !state.limits.positions.allow(&token_hash(&token), ip) {
        state
            .limits
            .refusals
            .refused(ip, "location", "too many positions (429)");
        let mut res = answer(StatusCode::TOO_MANY_REQUESTS, "too_many", w.too_many);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        return res;
    }
    let fix = match read(&req, payload, w).await {
        Ok(fix) => fix,
        Err(res) => {
            tracing::info!(
                outcome = "not_a_position",
                "location link: position refused"
            );
            return res;
        }
    };
    let taken = state
        .location
        .take_position(&state.engine.locator, &token, fix, now_ms())
        .await;
    let (outcome, res) = match taken {
        Ok(t) => {
            let address = t.position.place.as_ref().map(|p| p.postal());
            let res = private(&mut HttpResponse::Ok()).json(json!({
                "status": "done",
                "message": w.done,
                "address": address,
            }));
            ("taken", res)
        }
        Err(LinkError::Gone) => ("gone", answer(StatusCode::NOT_FOUND, "gone", w.gone)),
        Err(LinkError::NotAPosition) => (
            "not_a_position",
            answer(StatusCode::BAD_REQUEST, "not_a_position", w.not_a_position),
        ),
        Err(LinkError::Inaccurate { accuracy_m, .. }) => {
            let m = format!("{}", accuracy_m.round().max(1.0));
            let msg = w.inaccurate.replace("{m}", &m);
            (
                "inaccurate",
                answer(StatusCode::UNPROCESSABLE_ENTITY, "inaccurate", &msg),
            )
        }
        Err(LinkError::Outside) => (
            "outside",
            answer(StatusCode::UNPROCESSABLE_ENTITY, "outside", w.outside),
        ),
        Err(LinkError::Store(e)) => {
            tracing::error!(error = %e, "location link: store unavailable");
            (
                "unavailable",
                answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", w.busy),
            )
        }
    };
    tracing::info!(outcome, "location link: position");
    res
}

/// `GET /l/static/page.css` and `page.js`.
pub(crate) async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", page::STYLE)
}

pub(crate) async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", page::SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .content_type(content_type)
        .body(body)
}

/// `GET /admin/location-links/{session_key}`: the position a link of that
/// session brought (`null` when none yet), with the nearest address.
pub(crate) async fn admin_position(
    _: Operator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    match state.location.position_for(&path).await {
        Ok(p) => private(&mut HttpResponse::Ok()).json(json!({
            "position": p.map(|p| json!({
                "lat": p.lat,
                "lng": p.lng,
                "accuracy_m": p.accuracy_m,
                "address": p.place.as_ref().map(|pl| pl.postal()),
                "at": p.at,
            })),
        })),
        Err(e) => {
            tracing::error!(error = %e, "location link: store unavailable");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store cannot be read now",
            )
        }
    }
}

/// What an operator posts to make a link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLinkBody {
    /// The session the position belongs to (a `CallSid`, a chat's `wa:…`).
    session_key: String,
    /// A mobile number to send the link to; absent: only made.
    #[serde(default)]
    phone: Option<String>,
}

/// Longest session key taken.
const MAX_SESSION_KEY: usize = 128;

/// `POST /admin/location-links` `{"session_key", "phone"?}`: a link for a
/// session, sent by SMS to `phone` when given; answers `201` with its `url`
/// and `expires_at`, and whether the SMS went.
pub(crate) async fn admin_create(
    _: Operator,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(b) = serde_json::from_slice::<NewLinkBody>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"session_key\": \"…\", \"phone\": \"+55…\" (optional)}",
        );
    };
    let key = b.session_key.trim();
    if key.is_empty() || key.len() > MAX_SESSION_KEY || !key.bytes().all(|c| c.is_ascii_graphic()) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "session_key must be 1 to 128 printable ASCII characters",
        );
    }
    let now = now_ms();
    let made = match b.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(phone) => state
            .location
            .offer(key, phone, now)
            .await
            .map(|l| (l, true)),
        None => state
            .location
            .create_link(key, now)
            .await
            .map(|l| (l, false)),
    };
    match made {
        Ok((link, sent)) => private(&mut HttpResponse::Created()).json(json!({
            "url": link.url,
            "expires_at": link.expires_at,
            "sms_sent": sent,
        })),
        Err(OfferError::NotMobile) => json_error(
            StatusCode::BAD_REQUEST,
            "phone is not a mobile number in E.164 (+55 DDD 9XXXX-XXXX)",
        ),
        Err(OfferError::NoProvider) => json_error(
            StatusCode::CONFLICT,
            "SMS are off (SMS_PROVIDER): make the link without a phone and pass it on",
        ),
        Err(OfferError::Sms(e)) => json_error(StatusCode::BAD_GATEWAY, &e.to_string()),
        Err(e @ (OfferError::Store(_) | OfferError::Random(_))) => {
            tracing::error!(error = %e, "location link: not made");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the link cannot be made now",
            )
        }
    }
}
