//! House numbers as callers say them and recognisers write them.
//!
//! A recogniser hands back the same number in many shapes: "900", "novecentos",
//! "nove zero zero" (dictated digit by digit; `text2num` turns that into
//! "9 00"), "2.000" and "1.720" (thousands separators), "mil e quinhentos",
//! "nº 900". [`address_numbers`] rewrites all of them as plain digits, so the
//! matcher downstream sees one form. "sem número" and "s/n" become the marker
//! [`NO_NUMBER`].
//!
//! Recognisers also split a number: they put commas where the caller paused
//! ("mil, quinhentos", "duzentos, e cinquenta"), drop the "s" of "centos"
//! ("quatro cento e quarenta e cinco"), glue the number to the street
//! ("Silveira900"). The pieces are put back together; where two readings
//! remain possible ("mil, quinhentos" is 1500, or 1000 and then something else)
//! the likelier one is written and [`read_address_numbers`] says the number is
//! in doubt, so the caller is asked for it rather than told a wrong one.

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

/// "s/n", "s/nº", "s.n." → the marker; "sem número" (and en-US "no number")
/// → the marker.
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
        } else if bare == "no" && next == "number" {
            // en-US: "no number" ("no número" is Portuguese for "at number")
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

/// "Silveira900" → "Silveira 900", "apto12" → "apto 12": a number glued
/// after a word. A letter after digits stays ("12A" is a house number).
fn split_fused(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if c.is_ascii_digit() && prev.is_some_and(char::is_alphabetic) {
            out.push(' ');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// The hundreds as a recogniser may split them: "quatro cento(s)" →
/// "quatrocentos", "4 centos" → "400"; and "um mil" → "mil" (`text2num` reads
/// "um mil e quinhentos" as "1 1500").
fn hundreds_words(s: &str) -> String {
    const HUNDREDS: [(&str, &str); 11] = [
        ("dois", "duzentos"),
        ("duas", "duzentas"),
        ("três", "trezentos"),
        ("tres", "trezentos"),
        ("quatro", "quatrocentos"),
        ("cinco", "quinhentos"),
        ("seis", "seiscentos"),
        ("meia", "seiscentos"),
        ("sete", "setecentos"),
        ("oito", "oitocentos"),
        ("nove", "novecentos"),
    ];
    let words: Vec<&str> = s.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i].to_lowercase();
        let next = words.get(i + 1).copied().unwrap_or("");
        let next_core = next
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let tail = &next[next.trim_end_matches(|c: char| !c.is_alphanumeric()).len()..];
        if matches!(next_core.as_str(), "cento" | "centos") {
            let digit = (w.len() == 1)
                .then(|| w.parse::<u64>().ok())
                .flatten()
                .filter(|d| (2..=9).contains(d));
            let word = HUNDREDS.iter().find(|(unit, _)| *unit == w);
            if let Some(d) = digit {
                out.push(format!("{}{tail}", d * 100));
                i += 2;
                continue;
            }
            if let Some((_, hundreds)) = word {
                out.push(format!("{hundreds}{tail}"));
                i += 2;
                continue;
            }
        }
        let after_e = i > 0 && words[i - 1].eq_ignore_ascii_case("e");
        if matches!(w.as_str(), "um" | "hum") && next.eq_ignore_ascii_case("mil") && !after_e {
            i += 1;
            continue;
        }
        out.push(words[i].to_string());
        i += 1;
    }
    out.join(" ")
}

/// Marks a pause between two words: a comma, a full stop, an ellipsis…
fn is_pause(c: char) -> bool {
    matches!(c, ',' | ';' | '.' | ':' | '…' | '-' | '–' | '—')
}

/// A number token: its value, whether it is written with a leading zero
/// ("00", dictated), how many digits, and the pause marks after it. An
/// ordinal ("2º") is no number here.
fn number_token(t: &str) -> Option<(u64, bool, usize, &str)> {
    let core = t.trim_end_matches(is_pause);
    if core.is_empty() || core.len() > 6 || !core.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((
        core.parse().ok()?,
        core.starts_with('0'),
        core.len(),
        &t[core.len()..],
    ))
}

/// The largest part that can follow `n` in the same number: 1000 after a
/// round thousand (1000 + 500), 100 after a round hundred, 10 after round tens.
fn room_after(n: u64) -> u64 {
    match n {
        0 => 0,
        n if n % 1000 == 0 => 1000,
        n if n % 100 == 0 => 100,
        n if n % 10 == 0 && n >= 20 => 10,
        _ => 0,
    }
}

/// Numbers a pause split, put back together: "1000, 500" → "1500" (in doubt:
/// it may be 1000 and then 500), "200, e 50" → "250" (the "e" says it is one
/// number), "2, 1000" → "2000" (in doubt), "9, 0, 0" → "900" (in doubt).
/// Two numbers side by side that cannot be one ("7, 9") stay apart, and that
/// is a doubt too: which of them is the house number cannot be told.
fn join_pauses(s: &str) -> (String, bool) {
    let toks: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
    let pause_only = |t: &str| !t.is_empty() && t.chars().all(is_pause);
    let mut out: Vec<String> = Vec::with_capacity(toks.len());
    let mut doubt = false;
    let mut i = 0;
    while i < toks.len() {
        let Some((mut n, mut zero_led, mut len, mut tail)) = number_token(toks[i]) else {
            out.push(toks[i].to_string());
            i += 1;
            continue;
        };
        let mut text = toks[i][..toks[i].len() - tail.len()].to_string();
        let mut j = i + 1;
        loop {
            // What lies between this number and the next: pauses, maybe "e".
            let mut k = j;
            let mut pause = !tail.is_empty();
            let mut and = false;
            while toks.get(k).is_some_and(|t| pause_only(t)) {
                pause = true;
                k += 1;
            }
            if let Some(t) = toks.get(k)
                && t.trim_end_matches(is_pause).eq_ignore_ascii_case("e")
            {
                and = true;
                pause |= t.len() > 1;
                k += 1;
                while toks.get(k).is_some_and(|t| pause_only(t)) {
                    pause = true;
                    k += 1;
                }
            }
            let Some((m, m_zero, m_len, m_tail)) = toks.get(k).and_then(|t| number_token(t)) else {
                break;
            };
            let joined = if zero_led {
                None
            } else if m_zero && !and && pause {
                // "9, 00": zeros are never a number of their own.
                Some((format!("{text}{}", &toks[k][..m_len]), false))
            } else if m == 1000 && (1..1000).contains(&n) && !and {
                Some(((n * 1000).to_string(), false))
            } else if m > 0 && !m_zero && m < room_after(n) {
                Some(((n + m).to_string(), and))
            } else if !and
                && pause
                && len == 1
                && m_len == 1
                && toks
                    .get(k + 1)
                    .and_then(|t| number_token(t))
                    .is_some_and(|(_, _, l, _)| l == 1)
                && !tail.is_empty()
            {
                // Digits dictated with a pause after each: "1, 5, 0, 0".
                Some((format!("{text}{}", &toks[k][..1]), false))
            } else {
                None
            };
            let Some((value, sure)) = joined else {
                // Two numbers that cannot be one: apart, and which one is the
                // house number cannot be told; unless they are the halves of a
                // CEP ("88025 500").
                doubt |= !(len == 5 && m_len == 3);
                break;
            };
            doubt |= !sure;
            text = value;
            n = text.parse().unwrap_or(0);
            len = text.len();
            zero_led = false;
            tail = m_tail;
            j = k + 1;
        }
        out.push(format!("{text}{tail}"));
        i = j;
    }
    (out.join(" "), doubt)
}

/// An address with its numbers as digits ([`address_numbers`]), and whether a
/// number in it is in doubt: put together from pieces a pause split without
/// an "e" ("mil, quinhentos"), or two numbers side by side ("7, 9").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadNumbers {
    pub text: String,
    pub in_doubt: bool,
}

/// [`address_numbers`], with whether a number in the text is in doubt.
pub fn read_address_numbers(text: &str) -> ReadNumbers {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let marked = mark_no_number(&spaced);
    let unglued = split_fused(&marked);
    let prefixed = split_prefixes(&unglued);
    let separated = drop_thousands_separators(&prefixed);
    let six = meia_as_six(&separated);
    let hundreds = hundreds_words(&six);
    // "2 mil" before `text2num`, which would make it "2 1000"
    let thousands = join_mixed(&hundreds);
    let numbered = with_numbers(&thousands);
    let joined = join_dictated_digits(&numbered);
    let mixed = join_mixed(&joined);
    let (paused, in_doubt) = join_pauses(&mixed);
    ReadNumbers {
        text: paused.split_whitespace().collect::<Vec<_>>().join(" "),
        in_doubt,
    }
}

/// An address as spoken with every number as digits: thousands separators
/// dropped, number words turned into digits, dictated digits joined, "nº"
/// prefixes split off, numbers glued to words split off, numbers a pause
/// split put back together ([`read_address_numbers`] says when that is in
/// doubt), "sem número" and "s/n" as [`NO_NUMBER`]. Idempotent.
pub fn address_numbers(text: &str) -> String {
    read_address_numbers(text).text
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
mod tests;
