//! What a platform sends: the webhook paths, the bounded form, the `CallSid`.
//!
//! Pure parsing, so the service, the ceiling of the load figures and the fuzz
//! property all read a webhook body the same way.

/// The webhook paths, relative to the public URL. [`crate::render`] builds the
/// action URLs from them; the service routes them.
pub mod paths {
    pub const START: &str = "/voice";
    pub const ANSWER: &str = "/voice/answer";
    pub const SILENCE: &str = "/voice/silence";
    pub const POLL: &str = "/voice/poll";
    pub const DIAL: &str = "/voice/dial";
    pub const STATUS: &str = "/voice/status";
    /// Where a caller held while the database was slow comes back for the answer.
    pub const RESUME: &str = "/voice/resume";
}

/// The protective headers on every answer (the service's and the ceiling's).
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// The `Content-Type` of every TwiML answer.
pub const TWIML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Whether a request's `Content-Type` is the form platforms post
/// (`application/x-www-form-urlencoded`, any parameters, any case).
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    })
}

/// Largest request body taken (platform forms are a few hundred bytes).
pub const MAX_BODY: usize = 16 * 1024;
/// Most form parameters taken.
pub const MAX_PARAMS: usize = 64;
/// Longest value kept from one parameter (speech is cut further by the flow).
pub const MAX_VALUE: usize = 2048;

/// The form a platform posts, bounded.
#[derive(Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Parses and bounds a body: [`Form::parse_pairs`] then [`Form::bounded`].
    pub fn parse(body: &[u8]) -> Option<Self> {
        Self::parse_pairs(body).map(Self::bounded)
    }

    /// Every pair exactly as sent (the signature covers these), or `None` when the
    /// body is not a form or holds more than [`MAX_PARAMS`] pairs.
    pub fn parse_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        (pairs.len() <= MAX_PARAMS).then_some(pairs)
    }

    /// The pairs with every value cut to [`MAX_VALUE`] bytes (on a character boundary).
    pub fn bounded(pairs: Vec<(String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let v = if v.len() > MAX_VALUE {
                        let mut end = MAX_VALUE;
                        while !v.is_char_boundary(end) {
                            end -= 1;
                        }
                        v[..end].to_string()
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A CallSid as Twilio (`CA` + 32 hex) or Telnyx (`v2:…`) sends it.
pub fn valid_call_sid(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_known_by_its_content_type() {
        assert!(is_form(Some("application/x-www-form-urlencoded")));
        assert!(is_form(Some(
            "Application/X-WWW-Form-Urlencoded; charset=utf-8"
        )));
        assert!(!is_form(Some("application/json")));
        assert!(!is_form(Some("multipart/form-data")));
        assert!(!is_form(None));
    }

    #[test]
    fn form_keeps_the_signed_pairs_whole_and_bounds_the_handler_copy() {
        let long = "é".repeat(MAX_VALUE);
        let body =
            serde_urlencoded::to_string([("SpeechResult", long.as_str()), ("A", "b")]).unwrap();
        let pairs = Form::parse_pairs(body.as_bytes()).unwrap();
        assert_eq!(pairs[0].1, long, "the signature covers the value as sent");
        let form = Form::bounded(pairs);
        let cut = form.get("SpeechResult").unwrap();
        assert!(cut.len() <= MAX_VALUE && cut.len() > MAX_VALUE - 4);
        assert!(long.starts_with(cut));
        assert_eq!(form.get("A"), Some("b"));
        let many: String = (0..=MAX_PARAMS).map(|i| format!("k{i}=v&")).collect();
        assert!(Form::parse_pairs(many.as_bytes()).is_none());
    }
}
