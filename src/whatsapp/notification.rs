//! What Meta posts to `POST /whatsapp`: the signature over the raw body, and
//! the notification's messages as the flow can take them.
//!
//! Only what the channel uses is read; everything else is ignored, so a field
//! Meta adds breaks nothing. Statuses (sent, delivered, read) are counted and
//! dropped.

use hmac::{Hmac, KeyInit, Mac};
use ivr_core::text::{MAX_CHAT_CHARS, MAX_FIELD_CHARS, clean, clean_non_empty};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Why a notification's signature is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// No `X-Hub-Signature-256`, or not `sha256=<hex>`: 401.
    Missing,
    /// A signature that does not match: 403.
    Wrong,
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>`, in
/// constant time (`Mac::verify_slice`).
pub(crate) fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let hex = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .ok_or(SignatureError::Missing)?;
    let given = decode_hex(hex).ok_or(SignatureError::Missing)?;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Err(SignatureError::Wrong);
    };
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| SignatureError::Wrong)
}

/// The signature header's value for `body` (the `chat` client and tests).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// One message a client sent, as the conversation takes it.
#[derive(Clone, PartialEq)]
pub(crate) struct Inbound {
    /// The message id: the key of idempotency.
    pub id: String,
    /// The sender's WhatsApp id.
    pub wa_id: String,
    pub content: Content,
}

/// Never prints what the client wrote.
impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.content {
            Content::Text(_) => "text",
            Content::Button(_) => "button",
            Content::Location { .. } => "location",
            Content::Unsupported => "unsupported",
        };
        write!(f, "Inbound({kind})")
    }
}

/// What a message says, as the flow takes it; kept in the inbox as JSON until
/// the message is processed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub(crate) enum Content {
    Text(String),
    /// A reply button pressed: its id.
    Button(String),
    Location {
        lat: f64,
        lng: f64,
        name: Option<String>,
        address: Option<String>,
    },
    /// Audio, image, sticker, document, video, contacts…: asked for text.
    Unsupported,
}

/// What one notification holds for this service.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed {
    pub messages: Vec<Inbound>,
    pub statuses: usize,
    /// Changes for another phone number id (ignored).
    pub foreign: usize,
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct Value {
    metadata: Option<Metadata>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
    text: Option<Text>,
    interactive: Option<Interactive>,
    button: Option<Button>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Interactive {
    button_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
}

/// A template's quick-reply button.
#[derive(Deserialize)]
struct Button {
    payload: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
}

/// Longest wa_id or message id kept (Meta's are far shorter).
const MAX_ID: usize = 256;

/// The messages for `phone_number_id` in a notification; `Err` when the body
/// is not a notification's JSON. Every text a client sent (a message, a
/// button's id, a shared location's name and address) is bounded and clean
/// ([`clean`]) here, before it is kept, shown or sent anywhere.
pub(crate) fn parse(body: &[u8], phone_number_id: &str) -> Result<Parsed, serde_json::Error> {
    let n: Notification = serde_json::from_slice(body)?;
    let mut out = Parsed::default();
    for value in n.entry.into_iter().flat_map(|e| e.changes).map(|c| c.value) {
        let ours = value
            .metadata
            .as_ref()
            .and_then(|m| m.phone_number_id.as_deref())
            == Some(phone_number_id);
        if !ours {
            out.foreign += value.messages.len() + value.statuses.len();
            continue;
        }
        out.statuses += value.statuses.len();
        for m in value.messages {
            let valid = |s: &str| !s.is_empty() && s.len() <= MAX_ID;
            if !valid(&m.from) || !valid(&m.id) || !m.from.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let content = match m.kind.as_str() {
                "text" => m
                    .text
                    .map(|t| Content::Text(clean(&t.body, MAX_CHAT_CHARS))),
                "interactive" => m
                    .interactive
                    .and_then(|i| i.button_reply)
                    .map(|r| Content::Button(clean(&r.id, MAX_ID))),
                "button" => m
                    .button
                    .and_then(|b| b.payload.or(b.text))
                    .map(|b| Content::Button(clean(&b, MAX_ID))),
                "location" => m.location.and_then(|l| {
                    let ok = l.latitude.is_finite()
                        && l.longitude.is_finite()
                        && l.latitude.abs() <= 90.0
                        && l.longitude.abs() <= 180.0;
                    ok.then_some(Content::Location {
                        lat: l.latitude,
                        lng: l.longitude,
                        name: l.name.and_then(|s| clean_non_empty(&s, MAX_FIELD_CHARS)),
                        address: l.address.and_then(|s| clean_non_empty(&s, MAX_FIELD_CHARS)),
                    })
                }),
                _ => None,
            }
            .unwrap_or(Content::Unsupported);
            out.messages.push(Inbound {
                id: m.id,
                wa_id: m.from,
                content,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_over_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = sign(b"secret", body);
        assert_eq!(verify(b"secret", Some(&header), body), Ok(()));
        assert_eq!(
            verify(b"other", Some(&header), body),
            Err(SignatureError::Wrong)
        );
        assert_eq!(
            verify(b"secret", Some(&header), b"{}"),
            Err(SignatureError::Wrong)
        );
        assert_eq!(verify(b"secret", None, body), Err(SignatureError::Missing));
        assert_eq!(
            verify(b"secret", Some("sha256=zz"), body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(b"secret", Some("md5=00"), body),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn messages_statuses_and_other_numbers() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"changes":[
          {"field":"messages","value":{"metadata":{"phone_number_id":"111"},
            "contacts":[{"wa_id":"5548999990000"}],
            "messages":[
              {"from":"5548999990000","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"oi"}},
              {"from":"5548999990000","id":"wamid.2","type":"location","location":{"latitude":-27.58,"longitude":-48.54,"name":"Casa"}},
              {"from":"5548999990000","id":"wamid.3","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Sim"}}},
              {"from":"5548999990000","id":"wamid.4","type":"audio","audio":{"id":"x"}},
              {"from":"+55 48","id":"wamid.5","type":"text","text":{"body":"x"}}
            ]}},
          {"field":"messages","value":{"metadata":{"phone_number_id":"111"},"statuses":[{"id":"wamid.9","status":"read"}]}},
          {"field":"messages","value":{"metadata":{"phone_number_id":"222"},"messages":[{"from":"1","id":"w","type":"text","text":{"body":"x"}}]}}
        ]}]}"#;
        let p = parse(body, "111").unwrap();
        assert_eq!(p.messages.len(), 4);
        assert_eq!(p.messages[0].content, Content::Text("oi".into()));
        assert!(matches!(
            p.messages[1].content,
            Content::Location {
                name: Some(_),
                address: None,
                ..
            }
        ));
        assert_eq!(p.messages[2].content, Content::Button("yes".into()));
        assert_eq!(p.messages[3].content, Content::Unsupported);
        assert_eq!(p.statuses, 1);
        assert_eq!(p.foreign, 1);
        assert_eq!(format!("{:?}", p.messages[0]), "Inbound(text)");
        assert!(parse(b"not json", "111").is_err());
        assert_eq!(parse(b"{}", "111").unwrap(), Parsed::default());
    }

    #[test]
    fn what_a_client_sent_is_bounded_and_clean_when_parsed() {
        let dirty = format!(
            "<b>Casa</b>\u{1b}[31m\u{0}\nR. \u{202E}Delminda\t{}",
            "x".repeat(240_000)
        );
        let body = serde_json::json!({"entry": [{"changes": [{"value": {
        "metadata": {"phone_number_id": "111"},
        "messages": [
            {"from": "55", "id": "w1", "type": "location", "location": {
                "latitude": -27.58, "longitude": -48.54, "name": dirty, "address": dirty}},
            {"from": "55", "id": "w2", "type": "text", "text": {"body": dirty}},
            {"from": "55", "id": "w3", "type": "location", "location": {
                "latitude": -27.58, "longitude": -48.54, "name": " \u{202E}\n", "address": "\u{0}"}}
        ]}}]}]})
        .to_string();
        let p = parse(body.as_bytes(), "111").unwrap();
        let Content::Location { name, address, .. } = &p.messages[0].content else {
            panic!("a location: {:?}", p.messages[0]);
        };
        for s in [name.as_deref().unwrap(), address.as_deref().unwrap()] {
            assert!(s.starts_with("<b>Casa</b>[31m R. Delminda xxx"), "{s}");
            assert_eq!(s.chars().count(), MAX_FIELD_CHARS);
        }
        let Content::Text(text) = &p.messages[1].content else {
            panic!("a text");
        };
        assert_eq!(text.chars().count(), MAX_CHAT_CHARS);
        assert!(!text.chars().any(char::is_control));
        assert!(matches!(
            p.messages[2].content,
            Content::Location {
                name: None,
                address: None,
                ..
            }
        ));
    }
}
