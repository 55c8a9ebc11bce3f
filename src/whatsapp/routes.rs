//! The two routes Meta calls. Every refusal is decided here, before the store
//! is read: an unsigned notification is `401`, a wrong signature `403`, a body
//! that is not a notification `400`; a notification with no messages, or for
//! another number, is `200` and changes nothing. No message content is logged.

use super::Channel;
use super::conversation::take_in;
use super::notification::{self, SignatureError};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::time::Duration;
use tracing::Instrument;

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

/// Attempts at taking one message in when the store fails.
const TAKE_IN_TRIES: u32 = 4;

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

/// `GET /whatsapp`: answers the challenge when the token matches.
pub(crate) async fn verify_subscription(
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
            tracing::warn!(route = "whatsapp", "subscription check refused");
            HttpResponse::Forbidden().finish()
        }
    }
}

/// `POST /whatsapp`: a notification, answered at once; its messages are taken
/// in by a task of their own, in order.
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
            tracing::warn!(route = "whatsapp", "refused: unsigned notification");
            return HttpResponse::Unauthorized().finish();
        }
        Err(SignatureError::Wrong) => {
            tracing::warn!(route = "whatsapp", "refused: wrong signature");
            return HttpResponse::Forbidden().finish();
        }
    }
    let parsed = match notification::parse(&body, &ch.settings.phone_number_id) {
        Ok(p) => p,
        Err(_) => {
            tracing::warn!(route = "whatsapp", "refused: not a notification's JSON");
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
    if !parsed.messages.is_empty() {
        let ch = ch.into_inner();
        tokio::spawn(
            async move {
                for msg in parsed.messages {
                    let span = tracing::info_span!(
                        "chat",
                        client = %crate::redact::phone(&format!("+{}", msg.wa_id)),
                        kind = ?msg
                    );
                    take_in_retrying(&ch, msg).instrument(span).await;
                }
            }
            .in_current_span(),
        );
    }
    HttpResponse::Ok().finish()
}

/// Takes a message in; taking in is idempotent (the message id), so a store
/// failure is tried again a few times before the message is given up.
async fn take_in_retrying(ch: &Channel, msg: super::notification::Inbound) {
    for attempt in 0..TAKE_IN_TRIES {
        match take_in(ch, msg.clone()).await {
            Ok(()) => return,
            Err(e) if attempt + 1 < TAKE_IN_TRIES => {
                tracing::warn!(error = %e, "WhatsApp: taking the message in failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => tracing::error!(error = %e, "WhatsApp: the message could not be taken in"),
        }
    }
}
