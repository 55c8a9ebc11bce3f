//! The two routes Meta calls. Every refusal is decided here, before the store
//! is read: an unsigned notification is `401`, a wrong signature `403`, a body
//! that is not a notification `400`; a notification with no messages, or for
//! another number, is `200` and changes nothing. No message content is logged,
//! and a refusal is logged once per source and interval with a count (a flood
//! of forged notifications is a handful of lines). The per-address limit and
//! the body's deadline are the web side's, as on every route.
//!
//! A signed notification's messages are kept in the inbox (one transaction)
//! before the `200`, and the processor is woken to take them in (see
//! `inbox`). A message kept already (Meta delivered the notification again) is
//! `200` and changes nothing. When the store cannot keep them within
//! [`KEEP_BUDGET`] the answer is `503` with a short body, so Meta delivers the
//! notification again; if the write lands after all, the delivery that follows
//! is a repeat, and the message is still taken in once.

use super::Channel;
use super::inbox;
use super::notification::{self, SignatureError};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::time::Duration;

/// The channel's path: the subscription check (GET) and notifications (POST).
pub(crate) const PATH: &str = "/whatsapp";
/// Largest notification read.
const MAX_BODY: usize = 256 * 1024;

/// The channel's routes. The channel itself is the app data
/// `web::Data<Channel>`; without it (the channel off) both answer `404`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::get().to(verify_subscription))
            .route(web::post().to(receive))
            .default_service(web::to(|| async {
                HttpResponse::MethodNotAllowed()
                    .insert_header(("Allow", "GET, POST"))
                    .finish()
            })),
    );
}

/// Longest a notification waits for its messages to be kept before the `503`
/// (well within the time Meta waits for an answer).
const KEEP_BUDGET: Duration = Duration::from_secs(4);

#[derive(Deserialize)]
pub(crate) struct Subscribe {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

fn off() -> HttpResponse {
    HttpResponse::NotFound().body("the WhatsApp channel is off (WHATSAPP_APP_SECRET unset)")
}

/// Logs a refusal (once per source and interval, with a count).
fn refused(ch: &Channel, req: &HttpRequest, reason: &str) {
    let source = req.peer_addr().map(|a| a.ip());
    ch.limits.refusals.refused(source, "whatsapp", reason);
}

/// `GET /whatsapp`: answers the challenge when the token matches.
pub(crate) async fn verify_subscription(
    req: HttpRequest,
    q: web::Query<Subscribe>,
    ch: Option<web::Data<Channel>>,
) -> HttpResponse {
    let Some(ch) = ch else {
        return off();
    };
    let token_ok = q.verify_token.as_deref().is_some_and(|t| {
        webhook_signature::secret_eq(
            ch.settings.verify_token.expose_secret().as_bytes(),
            t.as_bytes(),
        )
    });
    match (&q.mode, &q.challenge) {
        (Some(mode), Some(challenge)) if mode == "subscribe" && token_ok => {
            tracing::info!(route = "whatsapp", "subscription verified");
            HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body(challenge.chars().take(256).collect::<String>())
        }
        _ => {
            refused(&ch, &req, "subscription check with a wrong token (403)");
            HttpResponse::Forbidden().finish()
        }
    }
}

/// `POST /whatsapp`: a notification; its messages are kept before the `200`.
pub(crate) async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    ch: Option<web::Data<Channel>>,
) -> HttpResponse {
    let Some(ch) = ch else {
        return off();
    };
    let header = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match notification::verify(
        ch.settings.app_secret.expose_secret().as_bytes(),
        header,
        &body,
    ) {
        Ok(()) => {}
        Err(SignatureError::Missing) => {
            refused(&ch, &req, "unsigned notification (401)");
            return HttpResponse::Unauthorized().finish();
        }
        Err(SignatureError::Wrong) => {
            refused(&ch, &req, "wrong signature (403)");
            return HttpResponse::Forbidden().finish();
        }
    }
    let parsed = match notification::parse(&body, &ch.settings.phone_number_id) {
        Ok(p) => p,
        Err(_) => {
            refused(&ch, &req, "not a notification's JSON (400)");
            return HttpResponse::BadRequest().finish();
        }
    };
    tracing::info!(
        route = "whatsapp",
        messages = parsed.messages.len(),
        statuses = parsed.statuses,
        other_numbers = parsed.foreign,
        "notification"
    );
    if parsed.messages.is_empty() {
        return HttpResponse::Ok().finish();
    }
    let n = parsed.messages.len();
    let kept = inbox::keep(&ch.engine.store, &parsed.messages);
    match tokio::time::timeout(KEEP_BUDGET, kept).await {
        Ok(Ok(new)) => {
            if new > 0 {
                // Every idle runner, and a permit for one between two looks.
                ch.wake_inbox.notify_waiters();
                ch.wake_inbox.notify_one();
            }
            tracing::debug!(route = "whatsapp", messages = n, new, "messages kept");
            HttpResponse::Ok().finish()
        }
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {} ms", KEEP_BUDGET.as_millis()),
            };
            tracing::error!(
                route = "whatsapp",
                messages = n,
                error = %why,
                "notification not kept: 503, for Meta to deliver it again"
            );
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("the messages could not be kept; deliver the notification again")
        }
    }
}
