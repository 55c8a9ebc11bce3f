//! Why an OZmap call failed, and the helpers that build error messages free of
//! the client's personal data.

use serde_json::Value;

/// Longest server message kept in [`OzmapError::Rejected`].
pub(crate) const MAX_MESSAGE_CHARS: usize = 200;

/// Why an OZmap call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OzmapError {
    /// 401/403: the API key is wrong or lacks the API module. A configuration
    /// fault: report it, do not retry in a loop.
    #[error("OZmap refused the API key (HTTP {0}): check OZMAP_TOKEN")]
    Unauthorized(u16),
    /// 404.
    #[error("OZmap has no such resource (HTTP 404)")]
    NotFound,
    /// Any other 4xx. `message` is the body's `message` (else `error`), with what
    /// we sent redacted, truncated. `field`: the request field a validation error
    /// body names (see [`OzmapError::refused_field`]), never a value.
    #[error("OZmap rejected the request (HTTP {status}): {message}")]
    Rejected {
        status: u16,
        message: String,
        field: Option<String>,
    },
    /// 429.
    #[error("OZmap rate limit reached (HTTP 429)")]
    RateLimited,
    /// 5xx.
    #[error("OZmap server error (HTTP {0})")]
    Server(u16),
    /// No answer within the timeout (or HTTP 408).
    #[error("OZmap did not answer in time")]
    Timeout,
    /// Connection failure (DNS, TCP, TLS, reset).
    #[error("could not reach OZmap: {0}")]
    Transport(String),
    /// A success answer that could not be read.
    #[error("OZmap answer not understood: {0}")]
    Decode(String),
    /// The client cannot be built from this configuration (bad base URL or key).
    #[error("OZmap client configuration: {0}")]
    InvalidConfig(String),
}

impl OzmapError {
    /// The field of the request that OZmap refused: a 400 or 422 whose body is a
    /// validation error naming a field. Such a refusal is about the request, not
    /// about the box it was sent to.
    pub fn refused_field(&self) -> Option<&str> {
        match self {
            OzmapError::Rejected {
                status: 400 | 422,
                field: Some(f),
                ..
            } => Some(f),
            _ => None,
        }
    }

    /// Worth trying again later: 5xx, timeouts, connection failures and 429.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OzmapError::Server(_)
                | OzmapError::Timeout
                | OzmapError::Transport(_)
                | OzmapError::RateLimited
        )
    }
}

/// Replaces every occurrence of the given values (what we sent) by `[redacted]`,
/// drops control characters and truncates.
fn scrub(text: &str, redact: &[&str]) -> String {
    // Bound the work; only the first MAX_MESSAGE_CHARS are kept anyway.
    let mut s: String = text
        .chars()
        .take(MAX_MESSAGE_CHARS * 10)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for r in redact {
        let r = r.trim();
        if !r.is_empty() {
            s = s.replace(r, "[redacted]");
        }
    }
    let s = mask_numbers(&s.split_whitespace().collect::<Vec<_>>().join(" "));
    if s.chars().count() > MAX_MESSAGE_CHARS {
        let mut t: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// Masks number runs that look like personal data (phones, CEPs, CPFs): a run
/// of digits and `+ ( ) - . /` or spaces that holds at least 8 digits and does
/// not touch a letter (so hex ids such as `5da62201493d9c00066655b8` survive).
fn mask_numbers(s: &str) -> String {
    const MIN_DIGITS: usize = 8;
    let chars: Vec<char> = s.chars().collect();
    let is_part = |c: char| c.is_ascii_digit() || "+()-./ ".contains(c);
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_run = chars[i].is_ascii_digit() || (chars[i] == '+' || chars[i] == '(');
        let after_letter = i > 0 && chars[i - 1].is_alphanumeric();
        if !starts_run || after_letter {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_part(chars[j]) {
            j += 1;
        }
        // Give back trailing separators; the run ends on its last digit.
        let mut end = j;
        while end > i && !chars[end - 1].is_ascii_digit() && chars[end - 1] != ')' {
            end -= 1;
        }
        let touches_letter = end < chars.len() && chars[end].is_alphanumeric();
        let digits = chars[i..end].iter().filter(|c| c.is_ascii_digit()).count();
        if digits >= MIN_DIGITS && !touches_letter {
            out.push_str("[number]");
            i = end;
        } else {
            // Not personal: copy the run's first character and go on.
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The message of an error body: `message`, then `error` (a string, or an object
/// with a `message`), then a short plain-text body.
fn error_message(body: &[u8], redact: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let found = match serde_json::from_str::<Value>(&text) {
        Ok(v) => {
            let pick = |k: &str| match v.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(Value::Object(o)) => {
                    o.get("message").and_then(Value::as_str).map(str::to_string)
                }
                _ => None,
            };
            pick("message").or_else(|| pick("error"))
        }
        Err(_) if !text.trim_start().starts_with('<') => Some(text.to_string()),
        Err(_) => None,
    };
    match found.map(|m| scrub(&m, redact)).filter(|m| !m.is_empty()) {
        Some(m) => m,
        None => "(no message)".to_string(),
    }
}

/// A field name as validators write it: `project`, `client.code`, `coords[0]`.
/// Anything else (or a word of what we sent) is not taken as a field.
fn as_field(s: &str, redact: &[&str]) -> Option<String> {
    let s = s.trim().trim_matches(|c| "`'\"".contains(c));
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c));
    let sent = redact.iter().any(|r| {
        r.split(|c: char| !c.is_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case(s))
    });
    (ok && !sent).then(|| s.to_string())
}

/// A path as a string (`"client.code"`) or an array (`["client", "code"]`).
fn path_field(v: &Value, redact: &[&str]) -> Option<String> {
    match v {
        Value::String(s) => as_field(s, redact),
        Value::Array(parts) if !parts.is_empty() => {
            let joined: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            as_field(&joined.join("."), redact)
        }
        _ => None,
    }
}

const FIELD_KEYS: &[&str] = &["field", "path", "property", "param", "key"];

/// The field a validation error body names, in the shapes validators use:
/// `{field|path|property|param}` at the top; a list under `errors`, `issues`
/// (zod), `details` (joi) or `validation` whose first item names one; an object
/// keyed by field (mongoose's `errors: {project: {...}}`); or a message of the form
/// `` `project` is required `` / `project is required`.
fn validation_field(body: &[u8], redact: &[&str]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let in_item = |item: &Value| {
        FIELD_KEYS
            .iter()
            .find_map(|k| item.get(*k).and_then(|p| path_field(p, redact)))
    };
    if let Some(f) = in_item(&v) {
        return Some(f);
    }
    for list in ["errors", "issues", "details", "validation", "error"] {
        match obj.get(list) {
            Some(Value::Array(items)) => {
                if let Some(f) = items.iter().find_map(in_item) {
                    return Some(f);
                }
            }
            Some(item @ Value::Object(m)) => {
                if let Some(f) = in_item(item) {
                    return Some(f);
                }
                // Keyed by field, each value an error object.
                if list == "errors"
                    && let Some(f) = m
                        .iter()
                        .find(|(_, e)| e.is_object())
                        .and_then(|(k, _)| as_field(k, redact))
                {
                    return Some(f);
                }
            }
            _ => {}
        }
    }
    let message = obj.get("message").and_then(Value::as_str)?;
    message_field(message, redact)
}

/// `` `project` is required ``, `"project" is required`, `Path `project` is
/// required.`, `project is required`, `project must be …`.
fn message_field(message: &str, redact: &[&str]) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let pos = [" is required", " is invalid", " must be", " is not allowed"]
        .iter()
        .filter_map(|k| lower.find(k))
        .min()?;
    let before = message[..pos].trim_end();
    let word = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or(before)
        .trim_end_matches(':');
    as_field(word, redact)
}

/// The error for a non-2xx answer. `redact`: what we sent, kept out of the message.
pub(crate) fn status_error(status: u16, body: &[u8], redact: &[&str]) -> OzmapError {
    match status {
        401 | 403 => OzmapError::Unauthorized(status),
        404 => OzmapError::NotFound,
        408 => OzmapError::Timeout,
        429 => OzmapError::RateLimited,
        500..=599 => OzmapError::Server(status),
        _ => OzmapError::Rejected {
            status,
            message: error_message(body, redact),
            field: validation_field(body, redact),
        },
    }
}

/// The error for a request that got no answer.
pub(crate) fn transport_error(e: reqwest::Error) -> OzmapError {
    if e.is_timeout() {
        return OzmapError::Timeout;
    }
    // The URL can hold the client code: drop it, keep the causes.
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    OzmapError::Transport(scrub(&msg, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_masked_but_ids_survive() {
        assert_eq!(
            mask_numbers("tel +55 (48) 99999-0000, CEP 88025-500."),
            "tel [number], CEP [number]."
        );
        assert_eq!(
            mask_numbers("box 5da62201493d9c00066655b8 port 12 of 16"),
            "box 5da62201493d9c00066655b8 port 12 of 16"
        );
        assert_eq!(mask_numbers("id 12345678abc"), "id 12345678abc");
        assert_eq!(mask_numbers("123.456.789-09"), "[number]");
        assert_eq!(mask_numbers(""), "");
    }

    #[test]
    fn a_validation_body_names_the_refused_field() {
        let redact = ["123|123", "Gabriel Marioto", "R. Delminda Silveira, 900"];
        let field =
            |body: serde_json::Value| validation_field(body.to_string().as_bytes(), &redact);
        // zod (the SDK's schemas), joi, mongoose, flat shapes, messages.
        assert_eq!(
            field(
                serde_json::json!({"issues": [{"code": "invalid_type", "path": ["project"], "message": "Required"}]})
            ),
            Some("project".into())
        );
        assert_eq!(
            field(serde_json::json!({"message": "bad", "details": [{"path": ["client", "code"]}]})),
            Some("client.code".into())
        );
        assert_eq!(
            field(serde_json::json!({"errors": {"project": {"kind": "required"}}})),
            Some("project".into())
        );
        assert_eq!(
            field(serde_json::json!({"errors": [{"field": "coords", "message": "x"}]})),
            Some("coords".into())
        );
        assert_eq!(
            field(serde_json::json!({"field": "project"})),
            Some("project".into())
        );
        assert_eq!(
            field(serde_json::json!({"message": "Path `project` is required."})),
            Some("project".into())
        );
        assert_eq!(
            field(serde_json::json!({"message": "\"project\" is required"})),
            Some("project".into())
        );
        assert_eq!(
            field(serde_json::json!({"message": "coords must be [lng, lat]"})),
            Some("coords".into())
        );
        // Not a field: a full box, a value we sent, no body, not JSON.
        assert_eq!(
            field(serde_json::json!({"message": "Caixa sem portas livres"})),
            None
        );
        assert_eq!(
            field(serde_json::json!({"message": "Marioto is invalid"})),
            None
        );
        assert_eq!(field(serde_json::json!({"field": "a b c"})), None);
        assert_eq!(validation_field(b"", &redact), None);
        assert_eq!(validation_field(b"<html>", &redact), None);

        let e = status_error(422, br#"{"issues":[{"path":["project"]}]}"#, &redact);
        assert_eq!(e.refused_field(), Some("project"));
        // The same body with a status that is not a validation status.
        let e = status_error(409, br#"{"issues":[{"path":["project"]}]}"#, &redact);
        assert_eq!(e.refused_field(), None);
    }
}
