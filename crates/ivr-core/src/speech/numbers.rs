//! House numbers as callers say them and recognisers write them.
//!
//! A recogniser hands back the same number in many shapes: "900", "novecentos",
//! "nove zero zero" (dictated digit by digit; `text2num` turns that into
//! "9 00"), "2.000" and "1.720" (thousands separators), "mil e quinhentos",
//! "nº 900". [`address_numbers`] rewrites all of them as plain digits, so the
//! matcher downstream sees one form. "sem número" and "s/n" become the marker
//! [`NO_NUMBER`].

use super::with_numbers;

/// The word that stands for "this address has no number" after
/// [`address_numbers`].
pub const NO_NUMBER: &str = "semnumero";

/// True for what `text2num` writes for digits dictated one by one: a single
/// digit, or zeros with at most one digit after them ("nove zero zero" gives
/// "9 00", "dois oito quatro zero um" gives "2 8 4 01").
fn dictated_digit(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) && (w.len() == 1 || w.starts_with('0'))
}

/// "2.000" → "2000", "1.720" → "1720", "88.025-500" → "88025-500": a dot between
/// a group of 1 to 3 digits and groups of exactly 3 is a thousands separator.
fn drop_thousands_separators(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '.' && i > 0 && chars[i - 1].is_ascii_digit() {
            // digits before the dot (1 to 3, not preceded by another digit group)
            let mut b = i;
            while b > 0 && chars[b - 1].is_ascii_digit() {
                b -= 1;
            }
            let before = i - b;
            let after = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let follows_word = b > 0 && chars[b - 1].is_alphanumeric();
            if (1..=3).contains(&before) && after == 3 && !follows_word {
                i += 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// "s/n", "s/nº", "s.n." → the marker; "sem número" → the marker.
fn mark_no_number(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let original: Vec<&str> = s.split_whitespace().collect();
    let lower_words: Vec<String> = original.iter().map(|w| w.to_lowercase()).collect();
    let words: Vec<&str> = lower_words.iter().map(String::as_str).collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].trim_matches(|c: char| c == ',' || c == ';');
        let bare: String = w.chars().filter(|c| c.is_alphanumeric()).collect();
        let next = words
            .get(i + 1)
            .map(|n| n.trim_matches(|c: char| !c.is_alphanumeric()))
            .unwrap_or("");
        let (marker, used) = if matches!(w, "s/n" | "s/nº" | "s/n°" | "s.n." | "s.n" | "s/no") {
            (true, 1)
        } else if bare == "sem"
            && (next.starts_with("número")
                || next.starts_with("numero")
                || next == "nº"
                || next == "n")
        {
            (true, 2)
        } else {
            (false, 1)
        };
        if !out.is_empty() {
            out.push(' ');
        }
        if marker {
            out.push_str(NO_NUMBER);
            if words[i + used - 1].ends_with(',') {
                out.push(',');
            }
        } else {
            out.push_str(original[i]);
        }
        i += used;
    }
    out
}

/// Joins digits dictated one by one ("9 00" → "900", "1 5 00" → "1500"), only
/// where they are separated by spaces (a comma separates two numbers).
fn join_dictated_digits(s: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut Vec<String>| {
        if !run.is_empty() {
            out.push(run.concat());
            run.clear();
        }
    };
    for w in s.split(' ').filter(|w| !w.is_empty()) {
        if dictated_digit(w) {
            run.push(w);
            continue;
        }
        // a dictated digit with punctuation after it ends the run: "9 0 0,"
        let core = w.trim_end_matches([',', ';', '.']);
        if core.len() < w.len() && dictated_digit(core) {
            run.push(w);
            flush(&mut run, &mut out);
            continue;
        }
        flush(&mut run, &mut out);
        out.push(w.to_string());
    }
    flush(&mut run, &mut out);
    out.join(" ")
}

/// Numbers half in digits, half in words, as recognisers write them: "2 mil"
/// → "2000", "1000 e 500" → "1500", "900 e 40" → "940".
fn join_mixed(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
    let value = |w: &str| -> Option<u64> {
        (w.len() <= 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .then(|| w.parse().ok())
            .flatten()
    };
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let mut n = match value(words[i]) {
            Some(n) => n,
            None => {
                out.push(words[i].to_string());
                i += 1;
                continue;
            }
        };
        let mut j = i + 1;
        if n < 1000 && words.get(j).is_some_and(|w| w.eq_ignore_ascii_case("mil")) {
            n *= 1000;
            j += 1;
        }
        // "… e <smaller>": the smaller part of the same number
        while let (Some(e), Some(next)) = (words.get(j), words.get(j + 1).and_then(|w| value(w))) {
            let magnitude = if n % 1000 == 0 && n >= 1000 {
                1000
            } else if n % 100 == 0 && n >= 100 {
                100
            } else {
                break;
            };
            if !e.eq_ignore_ascii_case("e") || next >= magnitude {
                break;
            }
            n += next;
            j += 2;
        }
        if j == i + 1 {
            out.push(words[i].to_string());
        } else {
            out.push(n.to_string());
        }
        i = j;
    }
    out.join(" ")
}

/// "meia" is six when dictating digits ("meia zero") and nothing else here:
/// turned into "seis" only next to another number word or digit.
fn meia_as_six(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let numeric = |w: &str| {
        let w = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        !w.is_empty() && (w.bytes().all(|b| b.is_ascii_digit()) || with_numbers(&w) != w)
    };
    let mut out = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let is_meia = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .eq_ignore_ascii_case("meia");
        let near_number =
            (i > 0 && numeric(words[i - 1])) || words.get(i + 1).is_some_and(|n| numeric(n));
        if is_meia && near_number {
            out.push(w.to_lowercase().replace("meia", "seis"));
        } else {
            out.push((*w).to_string());
        }
    }
    out.join(" ")
}

/// "nº900", "n°900", "n.900": the prefix apart from the number.
fn split_prefixes(s: &str) -> String {
    let mut out = Vec::new();
    for w in s.split(' ') {
        let lower = w.to_lowercase();
        let rest = ["nº", "n°", "n.", "no.", "nro.", "nro"]
            .iter()
            .find_map(|p| lower.strip_prefix(p));
        match rest {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => {
                out.push("nº".to_string());
                out.push(r.to_string());
            }
            _ => out.push(w.to_string()),
        }
    }
    out.join(" ")
}

/// An address as spoken with every number as digits: thousands separators
/// dropped, number words turned into digits, dictated digits joined, "nº"
/// prefixes split off, "sem número" and "s/n" as [`NO_NUMBER`]. Idempotent.
pub fn address_numbers(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let marked = mark_no_number(&spaced);
    let prefixed = split_prefixes(&marked);
    let separated = drop_thousands_separators(&prefixed);
    let six = meia_as_six(&separated);
    // "2 mil" before `text2num`, which would make it "2 1000"
    let thousands = join_mixed(&six);
    let numbered = with_numbers(&thousands);
    let joined = join_dictated_digits(&numbered);
    let mixed = join_mixed(&joined);
    mixed.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of a number written any of the ways [`address_numbers`] knows,
/// when the text is that number alone ("nove zero zero", "2.000", "nº 900").
pub fn spoken_number(text: &str) -> Option<u64> {
    let n = address_numbers(text);
    let words: Vec<&str> = n
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !matches!(*w, "n" | "nº" | "numero" | "número" | "º"))
        .collect();
    match words.as_slice() {
        [w] if w.len() <= 12 && w.bytes().all(|b| b.is_ascii_digit()) => w.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_shape_of_a_number() {
        for (said, want) in [
            ("900", 900),
            ("novecentos", 900),
            ("nove zero zero", 900),
            ("um cinco zero zero", 1500),
            ("mil e quinhentos", 1500),
            ("novecentos e quarenta", 940),
            ("mil setecentos e vinte", 1720),
            ("2.000", 2000),
            ("1.720", 1720),
            ("dois mil", 2000),
            ("nº 900", 900),
            ("nº900", 900),
            ("n. 900", 900),
            ("número 900", 900),
            ("número novecentos", 900),
            ("meia zero", 60),
            ("mil e 500", 1500),
            ("2 mil e 200", 2200),
            ("2 mil", 2000),
            ("900 e 40", 940),
        ] {
            assert_eq!(spoken_number(said), Some(want), "{said:?}");
        }
    }

    #[test]
    fn numbers_inside_an_address() {
        assert_eq!(
            address_numbers("Rua Delminda Silveira nove zero zero Agronômica"),
            "Rua Delminda Silveira 900 Agronômica"
        );
        assert_eq!(
            address_numbers("Avenida Beira-Mar Norte, 2.000, Agronômica"),
            "Avenida Beira-Mar Norte, 2000, Agronômica"
        );
        assert_eq!(
            address_numbers("Rua Lauro Linhares 1.720 cep 88.036-003"),
            "Rua Lauro Linhares 1720 cep 88036-003"
        );
        assert_eq!(
            address_numbers("rua x nove zero zero, apartamento um dois"),
            "rua x 900, apartamento 12"
        );
        assert_eq!(
            address_numbers("Rua Frei Caneca, sem número, Agronômica"),
            format!("Rua Frei Caneca, {NO_NUMBER}, Agronômica")
        );
        assert_eq!(
            address_numbers("Rua Frei Caneca s/n"),
            format!("Rua Frei Caneca {NO_NUMBER}")
        );
        // a comma keeps two numbers apart
        assert_eq!(address_numbers("Rua 7, 9"), "Rua 7, 9");
        assert_eq!(address_numbers("Rua Meia Lua 10"), "Rua Meia Lua 10");
    }

    #[test]
    fn idempotent_on_examples() {
        for s in [
            "Rua Delminda Silveira nove zero zero",
            "R. Sete de Setembro, 1.200",
            "s/n",
            "nº 12",
        ] {
            let once = address_numbers(s);
            assert_eq!(address_numbers(&once), once, "{s:?}");
        }
    }

    fn digit_word(d: u8) -> &'static str {
        [
            "zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove",
        ][d as usize]
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = address_numbers(&s);
            let _ = spoken_number(&s);
        }

        /// A number written as digits, with a thousands separator, digit by digit
        /// in words, or behind a prefix, parses to the same value.
        #[test]
        fn one_value_whatever_the_shape(n in 1u64..=99_999) {
            let digits = n.to_string();
            prop_assert_eq!(spoken_number(&digits), Some(n));
            let dictated: Vec<&str> = digits.bytes().map(|b| digit_word(b - b'0')).collect();
            prop_assert_eq!(spoken_number(&dictated.join(" ")), Some(n), "{:?}", dictated);
            prop_assert_eq!(spoken_number(&format!("nº {digits}")), Some(n));
            prop_assert_eq!(spoken_number(&format!("número {digits}")), Some(n));
            if n >= 1000 {
                let grouped = format!("{}.{:03}", n / 1000, n % 1000);
                prop_assert_eq!(spoken_number(&grouped), Some(n), "{}", grouped);
            }
        }
    }
}
