//! Replies through the Graph API (`POST {url}/{version}/{phone_number_id}/messages`,
//! bearer token), and the sender that empties the outbox.
//!
//! The sender keeps the SMS sender's rules ([`SenderSettings`], the claim
//! loop of [`crate::outbox`]): a claimed
//! reply is sent, and 5xx, 429, 408, timeouts and lost connections are retried
//! with backoff and jitter; any other 4xx is a dead letter for an operator.
//! The Graph API takes no idempotency key, so a reply is sent twice only when
//! the process dies inside the request itself, after Meta accepted it and before
//! `sent` is stored. A client's replies go out in order (see the store).

use crate::config::WhatsAppSettings;
use crate::outbox::{self, Failure, Jobs, Settle};
use crate::sms::{SendError, SenderSettings};
use crate::store::{ChatClaim, Store, StoreError, now_ms};
use ivr_core::chat::ChatMessage;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The Graph API's messages endpoint of the business number.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    client: reqwest::Client,
    url: String,
    token: SecretString,
}

impl Graph {
    pub(crate) fn new(s: &WhatsAppSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(s.timeout)
            .connect_timeout(s.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| anyhow::anyhow!("WhatsApp: cannot build the HTTP client: {e}"))?;
        let url = format!(
            "{}/{}/{}/messages",
            s.api_url.as_str().trim_end_matches('/'),
            s.api_version,
            s.phone_number_id
        );
        Ok(Graph {
            client,
            url,
            token: s.token.clone(),
        })
    }

    /// Sends one request body; the message id Meta gives it.
    pub(crate) async fn send(&self, payload: &str) -> Result<Option<String>, SendError> {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(self.token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|e| {
                SendError::Retry(if e.is_timeout() {
                    "the Graph API timed out".into()
                } else {
                    "the Graph API could not be reached".into()
                })
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() {
            let id = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
                v.pointer("/messages/0/id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            return Ok(id);
        }
        // Meta's error: {"error":{"message","code",...}}; the message names no client data.
        let detail = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.pointer("/error/code").map(Value::to_string))
            .unwrap_or_else(|| "-".into());
        let msg = format!("Graph API HTTP {} (error code {detail})", status.as_u16());
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            Err(SendError::Retry(msg))
        } else {
            Err(SendError::Refused(msg))
        }
    }
}

/// The Graph API body of one chat message to `wa_id`.
pub(crate) fn payload(wa_id: &str, message: &ChatMessage) -> String {
    let v = match message {
        ChatMessage::Text(body) => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_id,
            "type": "text",
            "text": {"preview_url": false, "body": body},
        }),
        ChatMessage::Buttons { body, buttons } => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_id,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": body},
                "action": {"buttons": buttons.iter().take(3).map(|(id, title)| json!({
                    "type": "reply",
                    "reply": {"id": id, "title": title},
                })).collect::<Vec<_>>()},
            },
        }),
    };
    v.to_string()
}

/// Empties the outbox until shutdown: its rows are leased jobs
/// ([`crate::outbox`]).
pub(crate) struct ChatSender {
    pub store: Store,
    pub graph: Graph,
    pub settings: SenderSettings,
    pub wake: Arc<Notify>,
}

impl ChatSender {
    pub(crate) async fn run(self, shutdown: watch::Receiver<bool>) {
        tracing::info!("WhatsApp sender started");
        let (settings, wake) = (self.settings.clone(), self.wake.clone());
        outbox::run(self, settings, wake, shutdown).await;
        tracing::info!("WhatsApp sender stopped");
    }
}

impl Jobs for ChatSender {
    type Job = ChatClaim;
    type Done = Option<String>;
    type Error = StoreError;

    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<ChatClaim>, StoreError> {
        self.store.claim_chat_reply(now, lease_ms).await
    }

    fn attempts(job: &ChatClaim) -> i64 {
        job.attempts
    }

    fn span(&self, claim: &ChatClaim) -> tracing::Span {
        tracing::info_span!(
            "whatsapp_reply",
            id = claim.id,
            attempt = claim.attempts + 1
        )
    }

    async fn attempt(&self, claim: &ChatClaim) -> Result<Option<String>, Failure> {
        Ok(self.graph.send(&claim.payload).await?)
    }

    async fn settle(
        &self,
        claim: &ChatClaim,
        how: Settle<Option<String>>,
    ) -> Result<bool, StoreError> {
        let to = crate::redact::phone(&format!("+{}", claim.wa_id));
        if matches!(how, Settle::Done(_)) {
            tracing::info!(to = %to, "WhatsApp reply sent");
        }
        self.store.settle_chat_reply(claim, how, now_ms()).await
    }

    fn release_note(&self) -> &'static str {
        "interrupted by shutdown (Meta may have it)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yes_no_question_is_an_interactive_message_with_reply_buttons() {
        let m = ChatMessage::Buttons {
            body: "Está correto?".into(),
            buttons: vec![("yes".into(), "Sim".into()), ("no".into(), "Não".into())],
        };
        let v: Value = serde_json::from_str(&payload("5548999990000", &m)).unwrap();
        assert_eq!(v["messaging_product"], "whatsapp");
        assert_eq!(v["to"], "5548999990000");
        assert_eq!(v["type"], "interactive");
        assert_eq!(v["interactive"]["type"], "button");
        assert_eq!(
            v["interactive"]["action"]["buttons"][1]["reply"]["id"],
            "no"
        );
        let t: Value =
            serde_json::from_str(&payload("1", &ChatMessage::Text("oi".into()))).unwrap();
        assert_eq!(t["text"]["body"], "oi");
    }
}
