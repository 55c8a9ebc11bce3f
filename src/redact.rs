//! Redaction helpers for log lines (LGPD): personal data never reaches a log in
//! clear, yet lines about one call can still be told apart and correlated.
//!
//! - [`phone`] keeps only the last two digits, enough to tell two callers apart.
//! - Other personal data (a name, an address, a client code, speech) is not logged
//!   at all; the `CallSid` (not personal data) is, after the web layer has checked
//!   its characters, so a forged value cannot inject log lines.
//! - [`install_panic_hook`] replaces the default hook, which prints the panic
//!   message (it may hold a value from a call) to stderr, by one error log line
//!   that names the place only.

/// Shown for an empty value.
pub(crate) const NONE: &str = "(none)";

/// `"***…34"`: only the last two digits, and only when the value has at least four
/// digits; `"***"` otherwise; `"(none)"` when blank.
pub(crate) fn phone(p: &str) -> String {
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

    }
}
