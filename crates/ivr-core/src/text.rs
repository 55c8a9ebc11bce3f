//! Text from outside, bounded and clean: the one function every outside text
//! goes through before it is stored, shown or sent ([`clean`]).
//!
//! What a caller said, what a chat client typed or shared (a location's name
//! and address), what the ISP's directory and the geocoders answered: any of
//! them may be long (a 240,000-character "address"), or hold control
//! characters (ESC, NUL, a newline that forges a log line or breaks a CSV),
//! or bidirectional overrides (U+202E turns `gpj.exe` into `exe.jpg` on a
//! screen). [`clean`] keeps the words and drops the rest. HTML is kept as
//! written: it is escaped where it is shown.

/// An address, a street, a name from outside: longest kept.
pub const MAX_FIELD_CHARS: usize = 200;
/// A chat message typed by a client: longest kept.
pub const MAX_CHAT_CHARS: usize = 1000;

/// The text with its control characters (C0, DEL, C1) and bidirectional
/// controls (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069) removed,
/// each run of whitespace (newlines and tabs included) made one space, trimmed,
/// and cut to at most `max_chars` characters (on a character boundary, never
/// ending in a space).
///
/// Pure, total and idempotent: `clean(clean(s, n), n) == clean(s, n)`. It
/// stops reading once `max_chars` characters are kept, so a huge input costs
/// no more than a short one.
pub fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(2)));
    let mut kept = 0usize;
    let mut space = false;
    for c in s.chars() {
        if kept >= max_chars {
            break;
        }
        if c.is_whitespace() {
            // A space is written only before the next kept character.
            space = kept > 0;
            continue;
        }
        if dropped(c) {
            continue;
        }
        if space {
            if kept + 1 >= max_chars {
                break;
            }
            out.push(' ');
            kept += 1;
            space = false;
        }
        out.push(c);
        kept += 1;
    }
    out
}

/// Like [`clean`], `None` when nothing is left.
pub fn clean_non_empty(s: &str, max_chars: usize) -> Option<String> {
    Some(clean(s, max_chars)).filter(|t| !t.is_empty())
}

/// A control character (C0, DEL, C1) or a bidirectional control, not
/// whitespace (whitespace is checked first).
fn dropped(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The marks, embeddings, overrides and isolates that change the order
/// in which text is displayed.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn forbidden(c: char) -> bool {
        c.is_control() || is_bidi_control(c) || (c.is_whitespace() && c != ' ')
    }

    #[test]
    fn controls_and_overrides_go_whitespace_becomes_one_space() {
        assert_eq!(
            clean("  Rua\tDelminda\r\n\r\nSilveira,  900 ", 200),
            "Rua Delminda Silveira, 900"
        );
        assert_eq!(clean("a\u{1b}[31mb\u{0}c\u{7f}d\u{9b}e", 200), "a[31mbcde");
        assert_eq!(clean("casa\u{202E}gpj.exe", 200), "casagpj.exe");
        assert_eq!(
            clean("\u{2066}x\u{2069}\u{200E}y\u{200F}\u{061C}z\u{202A}", 200),
            "xyz"
        );
        // NEL, line and paragraph separators, no-break spaces: whitespace.
        assert_eq!(clean("a\u{85}b\u{2028}c\u{2029}d\u{a0}e", 200), "a b c d e");
        assert_eq!(
            clean("<b>Casa</b> & \"quintal\"", 200),
            "<b>Casa</b> & \"quintal\""
        );
        assert_eq!(
            clean("Agronômica, Florianópolis", 200),
            "Agronômica, Florianópolis"
        );
        assert_eq!(clean(" \n\t\u{0}\u{202E} ", 200), "");
        assert_eq!(clean_non_empty(" \u{1b} ", 200), None);
        assert_eq!(clean_non_empty(" x ", 200).as_deref(), Some("x"));
    }

    #[test]
    fn the_cap_is_in_characters_and_never_leaves_a_space_at_the_end() {
        assert_eq!(clean("ããããã", 3), "ããã");
        assert_eq!(clean("ab cd", 3), "ab");
        assert_eq!(clean("ab cd", 4), "ab c");
        assert_eq!(clean("ab     cd", 2), "ab");
        assert_eq!(clean("abc", 0), "");
        let huge = format!("{}{}", "Rua \u{1b}\u{0}\n".repeat(60_000), "fim");
        assert!(huge.chars().count() > 240_000);
        let out = clean(&huge, MAX_FIELD_CHARS);
        assert_eq!(out.chars().count(), MAX_FIELD_CHARS - 1, "{out}");
        assert!(out.starts_with("Rua Rua Rua"));
    }

    proptest! {
        #[test]
        fn output_is_clean_bounded_and_stable(s in any::<String>(), n in 0usize..300) {
            let out = clean(&s, n);
            prop_assert!(out.chars().count() <= n);
            prop_assert!(!out.chars().any(forbidden), "{:?}", out);
            prop_assert!(!out.starts_with(' ') && !out.ends_with(' '));
            prop_assert!(!out.contains("  "));
            prop_assert_eq!(clean(&out, n), out.clone());
        }

        #[test]
        fn hostile_text_is_cleaned_too(
            s in "[a-zA-Z \\t\\n\\r\u{0}\u{1b}\u{7f}\u{85}\u{9b}\u{202a}-\u{202e}\u{2066}-\u{2069}\u{200e}\u{200f}\u{61c}ãé<>&]{0,400}",
            n in 1usize..250,
        ) {
            let out = clean(&s, n);
            prop_assert!(out.chars().count() <= n);
            prop_assert!(!out.chars().any(forbidden), "{:?}", out);
            prop_assert_eq!(clean(&out, n), out.clone());
            // Nothing but what was removed or folded: the words stay in order.
            let words = |t: &str| -> String {
                t.chars().filter(|c| !forbidden(*c) && *c != ' ').collect()
            };
            prop_assert!(words(&s).starts_with(&words(&out)));
        }
    }
}
