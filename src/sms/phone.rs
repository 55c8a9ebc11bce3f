//! Which caller numbers can take an SMS: a mobile in E.164.
//!
//! The platform's `From` is whatever the network gave: `anonymous`, a SIP URI,
//! a landline, or one of the placeholders Twilio puts there when the number is
//! withheld. None of those gets a message (and none is an error). The rule:
//! - Brazil (`+55`): a mobile only, `+55`, a two-digit area code (11 to 99, no
//!   zero), `9`, then eight digits. A landline (`+55 XX [2-5] 7 digits`) and
//!   anything else under `+55` get none.
//! - Other countries: E.164 (`+`, a first digit that is not 0, 8 to 15 digits in
//!   all), since their mobile ranges are not known here; except Twilio's
//!   documented placeholders for an unknown, restricted or blocked caller.

/// Numbers Twilio sends in `From` when there is no real one (anonymous,
/// restricted, blocked, unknown).
const PLACEHOLDERS: [&str; 5] = [
    "+266696687",
    "+7378742833",
    "+2562533",
    "+86282452253",
    "+8656696",
];

/// The number to send an SMS to, when `raw` is a mobile in E.164 (see the
/// module's rule); `None` otherwise.
pub(crate) fn mobile_number(raw: &str) -> Option<String> {
    let p = raw.trim();
    let digits = p.strip_prefix('+')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || PLACEHOLDERS.contains(&p) {
        return None;
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    if let Some(national) = digits.strip_prefix("55") {
        return brazilian_mobile(national).then(|| p.to_string());
    }
    Some(p.to_string())
}

/// Area code (two digits, neither 0), then `9` and eight digits.
fn brazilian_mobile(national: &str) -> bool {
    let b = national.as_bytes();
    b.len() == 11 && b[0] != b'0' && b[1] != b'0' && b[2] == b'9'
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn brazilian_mobiles_take_an_sms() {
        for n in ["+5548999990000", "+5511987654321", "+5599912345678"] {
            assert_eq!(mobile_number(n).as_deref(), Some(n), "{n}");
        }
        assert_eq!(
            mobile_number("  +5548999990000 ").as_deref(),
            Some("+5548999990000")
        );
    }

    #[test]
    fn brazilian_landlines_and_malformed_numbers_do_not() {
        for n in [
            "+554833334444",   // Florianópolis landline
            "+551132221111",   // São Paulo landline
            "+555499990000",   // landline-length, starting with 9: not a mobile
            "+5548899990000",  // 11 digits but no 9 after the area code
            "+5508999990000",  // area code with a 0
            "+5540999990000",  // area code ending in 0
            "+55489999900001", // one digit too many
            "+554899999000",   // one too few
            "+55",
        ] {
            assert_eq!(mobile_number(n), None, "{n}");
        }
    }

    #[test]
    fn withheld_and_non_numbers_do_not() {
        for n in [
            "",
            "   ",
            "anonymous",
            "Anonymous",
            "restricted",
            "unknown",
            "sip:alice@example.com",
            "sip:+5548999990000@pbx.example.com",
            "client:agent",
            "5548999990000", // no +
            "+55 48 99999-0000",
            "+266696687",
            "+7378742833",
            "+2562533",
            "+86282452253",
            "+8656696",
        ] {
            assert_eq!(mobile_number(n), None, "{n:?}");
        }
    }

    #[test]
    fn other_countries_in_e164_do() {
        for n in [
            "+14155552671",     // US
            "+447911123456",    // UK mobile
            "+351912345678",    // Portugal
            "+59899123456",     // Uruguay
            "+12345678",        // 8 digits: the shortest accepted
            "+123456789012345", // 15 digits: the longest
        ] {
            assert_eq!(mobile_number(n).as_deref(), Some(n), "{n}");
        }
        for n in ["+1234567", "+1234567890123456", "+0123456789"] {
            assert_eq!(mobile_number(n), None, "{n}");
        }
    }

    proptest! {
        #[test]
        fn an_accepted_number_is_plus_and_8_to_15_digits(raw in "\\PC{0,24}") {
            if let Some(n) = mobile_number(&raw) {
                let digits = n.strip_prefix('+').expect("a +");
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!((8..=15).contains(&digits.len()));
                prop_assert!(!digits.starts_with("55") || digits.len() == 13);
            }
        }
    }
}
