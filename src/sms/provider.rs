//! The messaging APIs, one request per message:
//! - Twilio: `POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json`,
//!   form `To`, `From`, `Body`, HTTP Basic `sid:auth token`; answers `201` with
//!   the message's `sid`;
//! - SignalWire (its LaML API, Twilio's shape): `POST
//!   {SIGNALWIRE_SPACE_URL}/api/laml/2010-04-01/Accounts/{project}/Messages.json`,
//!   HTTP Basic `project:API token`;
//! - Telnyx: `POST {TELNYX_API_URL}/v2/messages`, JSON `{"from","to","text"}`,
//!   `Authorization: Bearer {key}`; answers with `data.id`;
//! - the log: the message is written to the service's log, the number masked.
//!
//! What an answer means for the message: 2xx sent (even when its body cannot be
//! read: the provider has it, and sending again would repeat it); 5xx, 429, 408,
//! a timeout or a connection error are worth another try ([`SendError::Retry`]);
//! any other answer is a refusal ([`SendError::Refused`]: a dead letter). The
//! provider's error text may quote the number, so digits are masked in it
//! before it reaches the store or a log line.

use crate::redact;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Longest connection set-up, whatever the request's timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest error text kept from a provider's answer.
const MAX_ERROR: usize = 300;

/// The provider as configured (`SMS_PROVIDER` and its variables), checked.
#[derive(Clone, Debug)]
pub(crate) enum ProviderSettings {
    /// No SMS at all: none is written, none is sent.
    Off,
    /// To the log, number masked (the default with the built-in sandbox).
    Log,
    Twilio {
        api: Url,
        account_sid: String,
        auth_token: SecretString,
        from: String,
    },
    SignalWire {
        space: Url,
        project_id: String,
        api_token: SecretString,
        from: String,
    },
    Telnyx {
        api: Url,
        api_key: SecretString,
        from: String,
    },
}

impl ProviderSettings {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ProviderSettings::Off => "none",
            ProviderSettings::Log => "log",
            ProviderSettings::Twilio { .. } => "twilio",
            ProviderSettings::SignalWire { .. } => "signalwire",
            ProviderSettings::Telnyx { .. } => "telnyx",
        }
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendError {
    /// Worth another try later (5xx, 429, a timeout, no connection).
    Retry(String),
    /// The provider refused it (4xx): a dead letter.
    Refused(String),
}

/// How requests prove who sends them.
enum Auth {
    Basic(String, SecretString),
    Bearer(SecretString),
}

/// The body's shape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `To`, `From`, `Body` as a form (Twilio, SignalWire).
    Form,
    /// `{"from","to","text"}` (Telnyx).
    Json,
}

struct Api {
    http: reqwest::Client,
    url: String,
    auth: Auth,
    from: String,
    shape: Shape,
}

/// A ready provider.
pub(crate) struct Provider {
    name: &'static str,
    api: Option<Api>,
}

/// `base` + `path`, whatever trailing slash `base` has.
fn endpoint(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

impl Provider {
    /// `None` when SMS are off.
    pub(crate) fn build(s: &ProviderSettings, timeout: Duration) -> anyhow::Result<Option<Self>> {
        let api = |url: String, auth: Auth, from: &String, shape: Shape| -> anyhow::Result<Api> {
            let http = reqwest::Client::builder()
                .user_agent(concat!("ozmap-ivr/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| anyhow::anyhow!("SMS: HTTP client: {}", e.without_url()))?;
            Ok(Api {
                http,
                url,
                auth,
                from: from.clone(),
                shape,
            })
        };
        let api = match s {
            ProviderSettings::Off => return Ok(None),
            ProviderSettings::Log => None,
            ProviderSettings::Twilio {
                api: base,
                account_sid,
                auth_token,
                from,
            } => Some(api(
                endpoint(
                    base,
                    &format!("/2010-04-01/Accounts/{account_sid}/Messages.json"),
                ),
                Auth::Basic(account_sid.clone(), auth_token.clone()),
                from,
                Shape::Form,
            )?),
            ProviderSettings::SignalWire {
                space,
                project_id,
                api_token,
                from,
            } => Some(api(
                endpoint(
                    space,
                    &format!("/api/laml/2010-04-01/Accounts/{project_id}/Messages.json"),
                ),
                Auth::Basic(project_id.clone(), api_token.clone()),
                from,
                Shape::Form,
            )?),
            ProviderSettings::Telnyx {
                api: base,
                api_key,
                from,
            } => Some(api(
                endpoint(base, "/v2/messages"),
                Auth::Bearer(api_key.clone()),
                from,
                Shape::Json,
            )?),
        };
        Ok(Some(Self {
            name: s.name(),
            api,
        }))
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// Sends `body` to `to`; `Ok` with the provider's id for the message.
    pub(crate) async fn send(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let Some(api) = &self.api else {
            tracing::info!(
                to = %redact::phone(to),
                text = %body,
                "SMS (log provider: set SMS_PROVIDER to send it)"
            );
            return Ok(Some("log".to_string()));
        };
        let req = api.http.post(&api.url);
        let req = match &api.auth {
            Auth::Basic(user, pass) => req.basic_auth(user, Some(pass.expose_secret())),
            Auth::Bearer(key) => req.bearer_auth(key.expose_secret()),
        };
        let req = match api.shape {
            Shape::Form => req.form(&[("To", to), ("From", &api.from), ("Body", body)]),
            Shape::Json => {
                req.json(&serde_json::json!({ "from": api.from, "to": to, "text": body }))
            }
        };
        let res = req.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "no connection"
            } else {
                "request failed"
            };
            SendError::Retry(format!("{}: {why}", self.name))
        })?;
        let status = res.status();
        // The body of an accepted message is read for its id only: failing to
        // read it does not make the message unsent.
        let text = res.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(message_id(&text));
        }
        Err(refusal(self.name, status, &text))
    }
}

/// The provider's id for an accepted message: Twilio's `sid`, Telnyx's `data.id`.
fn message_id(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let id = v
        .get("sid")
        .or_else(|| v.get("data").and_then(|d| d.get("id")))?
        .as_str()?;
    Some(clip(id, 64))
}

/// A non-2xx answer as a [`SendError`], with the provider's own error code and
/// text when it gave them (digits masked).
pub(crate) fn refusal(provider: &str, status: StatusCode, body: &str) -> SendError {
    let detail = error_detail(body)
        .map(|d| format!(": {}", scrub(&d)))
        .unwrap_or_default();
    let msg = clip(
        &format!("{provider}: HTTP {}{detail}", status.as_u16()),
        MAX_ERROR,
    );
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        SendError::Retry(msg)
    } else {
        SendError::Refused(msg)
    }
}

/// Twilio / SignalWire `{"code","message"}`, Telnyx `{"errors":[{"code","title","detail"}]}`.
fn error_detail(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(e) = v.get("errors").and_then(|e| e.get(0)) {
        let parts: Vec<String> = ["code", "title", "detail"]
            .iter()
            .filter_map(|k| e.get(*k).and_then(text))
            .collect();
        return (!parts.is_empty()).then(|| parts.join(" "));
    }
    let parts: Vec<String> = ["code", "message"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(text))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Masks every run of six digits or more (a phone number, perhaps) the way log
/// lines show numbers: `***…34`.
pub(crate) fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 6 {
            out.push_str(&redact::phone(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '+' && run.is_empty()) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}
