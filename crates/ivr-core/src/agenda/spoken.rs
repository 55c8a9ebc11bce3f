//! A [`Slot`] as people say it, and the caller's choice among offered slots.
//!
//! Said: pt-BR "quinta-feira, dia 10, de manhã" / "sábado, dia 12, à tarde";
//! en-US "Thursday the 10th, in the morning". The offer spans at most the
//! agenda's horizon (two weeks), so the weekday and the day of the month name
//! a period without its month.
//!
//! Chosen: by key (1 to 3 for the offered periods, [`KEY_MORE`] for later
//! dates, [`KEY_LATER`] to book another time) or by speech: "a primeira",
//! "a segunda", "a terceira", "a última", "quinta de manhã", "sexta à tarde",
//! "dia dez à tarde", "a de quinta", "outras datas", "depois". An answer that
//! names no offered slot, or more than one, is not understood.

use super::{Period, Slot};

/// The key that asks for the next periods after the offered ones.
pub const KEY_MORE: &str = "4";
/// The key that books no visit now.
pub const KEY_LATER: &str = "9";

/// What the caller chose at the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// One of the offered periods.
    Slot(Slot),
    /// Later dates than the offered ones.
    More,
    /// No visit now.
    Later,
}

const PT_WEEKDAYS: [&str; 7] = [
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
];
const EN_WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `slot` as said in `language` (English for `en…`, Brazilian Portuguese
/// otherwise).
pub fn say(slot: &Slot, language: &str) -> String {
    let weekday = usize::from(slot.day.weekday());
    let d = slot.day.day;
    if language.to_ascii_lowercase().starts_with("en") {
        let suffix = match (d % 10, d % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        let period = match slot.period {
            Period::Morning => "in the morning",
            Period::Afternoon => "in the afternoon",
        };
        format!("{} the {d}{suffix}, {period}", EN_WEEKDAYS[weekday])
    } else {
        let period = match slot.period {
            Period::Morning => "de manhã",
            Period::Afternoon => "à tarde",
        };
        format!("{}, dia {d}, {period}", PT_WEEKDAYS[weekday])
    }
}

/// `slot` in writing, with its date, in `language`: "quinta-feira, 10/12, de
/// manhã" (pt-BR) or "Thursday, 12/10, morning" (en-US): for messages and
/// operators' views, where the month helps.
pub fn written(slot: &Slot, language: &str) -> String {
    let w = usize::from(slot.day.weekday());
    let d = slot.day;
    if language.to_ascii_lowercase().starts_with("en") {
        let p = match slot.period {
            Period::Morning => "morning",
            Period::Afternoon => "afternoon",
        };
        format!("{}, {:02}/{:02}, {p}", EN_WEEKDAYS[w], d.month, d.day)
    } else {
        let p = match slot.period {
            Period::Morning => "de manhã",
            Period::Afternoon => "à tarde",
        };
        format!("{}, {:02}/{:02}, {p}", PT_WEEKDAYS[w], d.day, d.month)
    }
}

/// Lower case, without accents, split on anything but letters and digits.
fn tokens(s: &str) -> Vec<String> {
    let folded: String = crate::text::clean(s, crate::speech::MAX_SPEECH_CHARS)
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'ê' | 'è' => 'e',
            'í' | 'î' => 'i',
            'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A weekday word (0 = Monday), without "segunda" (also "second").
fn weekday_word(w: &str) -> Option<u8> {
    Some(match w {
        "terca" | "tuesday" => 1,
        "quarta" | "wednesday" => 2,
        "quinta" | "thursday" => 3,
        "sexta" | "friday" => 4,
        "sabado" | "saturday" => 5,
        "domingo" | "sunday" => 6,
        "monday" => 0,
        _ => return None,
    })
}

/// A number 1 to 31 said or written ("10", "10th", "dez", "vinte e um").
fn day_number(words: &[String]) -> Option<u8> {
    let first = words.first()?;
    let digits: String = first.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        return digits.parse().ok().filter(|n| (1..=31).contains(n));
    }
    // Number words: at most "trinta e um" (three words).
    let mut best = None;
    for n in 1..=words.len().min(3) {
        let text = words[..n].join(" ");
        let numbered = crate::speech::with_numbers(&text);
        let digits: String = numbered.chars().filter(char::is_ascii_digit).collect();
        let only_number = numbered
            .split_whitespace()
            .all(|w| w.chars().all(|c| c.is_ascii_digit()));
        if only_number && let Ok(v) = digits.parse::<u8>() {
            best = Some(v).filter(|v| (1..=31).contains(v));
        }
    }
    best
}

/// A lone option number ("um", "opção dois", "1", "number three").
fn option_number(words: &[String]) -> Option<usize> {
    let content: Vec<&String> = words
        .iter()
        .filter(|w| {
            !matches!(
                w.as_str(),
                "opcao" | "option" | "numero" | "number" | "a" | "o" | "e" | "tecla" | "the"
            )
        })
        .collect();
    let [only] = content.as_slice() else {
        return None;
    };
    Some(match only.as_str() {
        "1" | "um" | "uma" | "one" => 1,
        "2" | "dois" | "duas" | "two" => 2,
        "3" | "tres" | "three" => 3,
        "4" | "quatro" | "four" => 4,
        "9" | "nove" | "nine" => 9,
        _ => return None,
    })
}

/// The caller's choice among `offered` (at most three), or `None` when the
/// answer names none of them, or several.
pub fn choice(offered: &[Slot], digits: Option<&str>, speech: Option<&str>) -> Option<Choice> {
    if let Some(d) = digits.map(str::trim).filter(|d| !d.is_empty()) {
        return by_key(offered, d);
    }
    let words = tokens(speech?);
    if words.is_empty() {
        return None;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    if has("outras")
        || has("outra")
        || has("outros")
        || has("outro")
        || has("other")
        || has("mais") && !pair("mais", "tarde")
        || has("more")
    {
        return Some(Choice::More);
    }
    if has("depois")
        || pair("mais", "tarde")
        || has("later")
        || has("pular")
        || has("skip")
        || pair("agora", "nao")
        || pair("nao", "quero")
    {
        return Some(Choice::Later);
    }
    if let Some(n) = option_number(&words) {
        return by_key(offered, &n.to_string());
    }
    by_words(offered, &words)
}

fn by_key(offered: &[Slot], key: &str) -> Option<Choice> {
    match key {
        KEY_MORE => Some(Choice::More),
        KEY_LATER => Some(Choice::Later),
        _ => {
            let n: usize = key.parse().ok()?;
            let slot = offered.get(n.checked_sub(1)?)?;
            Some(Choice::Slot(*slot))
        }
    }
}

fn by_words(offered: &[Slot], words: &[String]) -> Option<Choice> {
    let mut ordinal: Option<usize> = None;
    let mut last = false;
    let mut weekday: Option<u8> = None;
    let mut day: Option<u8> = None;
    let mut period: Option<Period> = None;
    let period_named = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "manha" | "tarde" | "morning" | "afternoon" | "cedo"
        )
    });
    for (i, w) in words.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| words[j].as_str());
        let after = words.get(i + 1).map(String::as_str);
        match w.as_str() {
            "primeira" | "primeiro" | "first" => ordinal = Some(0),
            "terceira" | "terceiro" | "third" => ordinal = Some(2),
            "second" => ordinal = Some(1),
            "ultima" | "ultimo" | "last" => last = true,
            // "segunda" is Monday with "feira", after "de"/"na", or with a
            // period; else the second option.
            "segunda" | "segundo" => {
                let monday = after == Some("feira")
                    || matches!(before, Some("de" | "na" | "pra" | "para"))
                    || period_named;
                if monday && w == "segunda" {
                    weekday = Some(0);
                } else {
                    ordinal = Some(1);
                }
            }
            "manha" | "morning" | "cedo" => period = Some(Period::Morning),
            "tarde" | "afternoon" => period = Some(Period::Afternoon),
            "dia" | "day" => {
                if let Some(n) = day_number(&words[i + 1..]) {
                    day = Some(n);
                }
            }
            other => {
                if let Some(wd) = weekday_word(other) {
                    weekday = Some(wd);
                } else if day.is_none()
                    && other.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && matches!(before, Some("the" | "o" | "no"))
                {
                    // "the 10th", "no 10".
                    day = day_number(&words[i..]);
                }
            }
        }
    }
    let fits = |s: &Slot| {
        weekday.is_none_or(|w| s.day.weekday() == w)
            && day.is_none_or(|d| s.day.day == d)
            && period.is_none_or(|p| s.period == p)
    };
    let picked = match (ordinal, last) {
        (Some(_), true) => return None,
        (Some(i), false) => Some(*offered.get(i)?),
        (None, true) => Some(*offered.last()?),
        (None, false) => None,
    };
    if let Some(slot) = picked {
        return fits(&slot).then_some(Choice::Slot(slot));
    }
    if weekday.is_none() && day.is_none() && period.is_none() {
        return None;
    }
    let mut matching = offered.iter().filter(|s| fits(s));
    match (matching.next(), matching.next()) {
        (Some(slot), None) => Some(Choice::Slot(*slot)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
