//! Redaction helpers for log lines (LGPD): personal data never reaches a log in
//! clear, yet lines about one call can still be told apart and correlated.
//!
//! - [`phone`] keeps only the last two digits, enough to tell two callers apart.
//! - [`tag`] replaces a name, address, client code, CEP or speech text by a short
//!   keyed hash and its length. The key is random per process: a plain hash of a
//!   CEP or a client code could be reversed by hashing every possible value, a
//!   keyed one cannot, and it still stays stable for the life of the process (the
//!   span of a call).
//! - [`call_sid`] keeps the platform's call id (not personal data) but bounds it and
//!   restricts its characters, so a forged value cannot inject log lines.
//! - [`install_panic_hook`] replaces the default hook, which prints the panic
//!   message (it may hold a value from a call) to stderr, by one error log line
//!   that names the place only.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::OnceLock;

/// Shown for an empty value.
pub const NONE: &str = "(none)";

/// Longest call id kept.
pub const CALL_SID_MAX: usize = 40;

/// `"***…34"`: only the last two digits, and only when the value has at least four
/// digits; `"***"` otherwise; `"(none)"` when blank.
pub fn phone(p: &str) -> String {
    if p.trim().is_empty() {
        return NONE.to_string();
    }
    let digits: Vec<char> = p.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return "***".to_string();
    }
    let last: String = digits[digits.len() - 2..].iter().collect();
    format!("***…{last}")
}

/// `"h:1a2b3c4d/17"`: the first 8 hex digits of HMAC-SHA256(process key, value),
/// then the length in characters; `"(none)"` when empty.
pub fn tag(s: &str) -> String {
    tag_with_key(process_key(), s)
}

fn tag_with_key(key: &[u8], s: &str) -> String {
    if s.is_empty() {
        return NONE.to_string();
    }
    // HMAC accepts keys of any length; the `else` cannot happen.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return NONE.to_string();
    };
    mac.update(s.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("h:{hex}/{}", s.chars().count())
}

fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

/// The call id, trimmed, cut to 40 characters, every character outside
/// `[A-Za-z0-9:_-]` replaced by `_`; `"(none)"` when blank.
pub fn call_sid(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return NONE.to_string();
    }
    s.chars()
        .take(CALL_SID_MAX)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Makes a panic one `error` log line with its source location; the message is
/// withheld, since it may hold caller data or a secret (`unwrap` on an error
/// prints the error's `Debug`). Handlers turn the panic into an apology.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown".to_string());
        tracing::error!(%location, "panic (message withheld: it may hold caller data)");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_keeps_last_two_digits() {
        assert_eq!(phone("+5511987654334"), "***…34");
        assert_eq!(phone("(11) 98765-4321"), "***…21");
        assert_eq!(phone(""), "(none)");
        assert_eq!(phone("   "), "(none)");
        assert_eq!(phone("anonymous"), "***");
        assert_eq!(phone("+12"), "***");
        assert_eq!(phone("123"), "***");
    }

    #[test]
    fn tag_is_stable_short_and_keyed() {
        let a = tag("Rua Treze de Maio");
        assert_eq!(a, tag("Rua Treze de Maio"));
        assert_ne!(a, tag("Rua Treze de Maio 2"));
        assert!(a.starts_with("h:"), "{a}");
        assert!(a.ends_with("/17"), "{a}");
        let hex = &a[2..10];
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(tag(""), "(none)");
        // Length in characters, not bytes.
        assert!(tag("João").ends_with("/4"));
        // Keyed: another key gives another tag (the plain hash is not used).
        assert_ne!(
            tag_with_key(b"k1", "01310-100"),
            tag_with_key(b"k2", "01310-100")
        );
        assert_eq!(
            tag_with_key(b"k1", "01310-100"),
            tag_with_key(b"k1", "01310-100")
        );
    }

    #[test]
    fn call_sid_is_bounded_and_sanitised() {
        assert_eq!(
            call_sid("CA1234567890abcdef1234567890abcdef"),
            "CA1234567890abcdef1234567890abcdef"
        );
        assert_eq!(call_sid(" v2:T0J-g_x "), "v2:T0J-g_x");
        assert_eq!(call_sid("CA1\nlevel=error msg=x"), "CA1_level_error_msg_x");
        assert_eq!(call_sid(&"A".repeat(100)).len(), CALL_SID_MAX);
        assert_eq!(call_sid(""), "(none)");
        assert_eq!(call_sid("ação"), "a__o");
    }

    proptest! {
        #[test]
        fn phone_never_contains_the_input(p in "\\PC{3,40}") {
            // The only fixed characters the output adds besides two digits.
            prop_assume!(!p.contains('*') && !p.contains('…'));
            let out = phone(&p);
            prop_assert!(!out.contains(&p), "{} -> {}", p, out);
            prop_assert!(out.chars().filter(char::is_ascii_digit).count() <= 2);
        }

        #[test]
        fn phone_like_inputs_never_leak(p in "\\+?[0-9 ()-]{3,20}") {
            let out = phone(&p);
            prop_assert!(!out.contains(&p), "{} -> {}", p, out);
        }

        #[test]
        fn tag_never_contains_the_input(s in "\\PC{3,80}") {
            let out = tag(&s);
            // The output alphabet is [0-9a-f:h/()none]; an input made only of those
            // characters could collide with the hex by chance, anything else cannot.
            prop_assume!(!s.chars().all(|c| "0123456789abcdefh:/()none".contains(c)));
            prop_assert!(!out.contains(&s), "{} -> {}", s, out);
            prop_assert!(out.starts_with("h:") && out.len() <= 2 + 8 + 1 + 3);
        }

        #[test]
        fn call_sid_output_is_always_safe(s in "\\PC{0,100}") {
            let out = call_sid(&s);
            prop_assert!(out == NONE || (out.chars().count() <= CALL_SID_MAX
                && out.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))));
        }
    }
}
