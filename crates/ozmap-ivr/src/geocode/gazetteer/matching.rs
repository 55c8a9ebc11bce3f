//! Matching spoken or written text against street names: folding, tokens,
//! street names found in a text, and the house number near them.

use ivr_core::speech::with_numbers;

/// Longest text looked at; speech can be far longer on a noisy line.
const MAX_TEXT_CHARS: usize = 500;
/// Words allowed between two words of a street name ("Delminda *da* Silveira").
const MAX_GAP: usize = 3;
/// A longer run of digits is a CEP or a phone number, not a house number.
const MAX_HOUSE_DIGITS: usize = 6;
/// Words looked at before a street name for its type word and titles.
const LOOK_BEHIND: usize = 3;

const STREET_TYPES: &[&str] = &[
    "rua", "avenida", "travessa", "servidao", "rodovia", "alameda", "praca", "estrada", "largo",
    "beco", "ladeira", "viela", "caminho", "passagem", "via",
];

const ABBREVIATIONS: &[(&str, &str)] = &[
    ("r", "rua"),
    ("av", "avenida"),
    ("trav", "travessa"),
    ("tv", "travessa"),
    ("serv", "servidao"),
    ("svd", "servidao"),
    ("rod", "rodovia"),
    ("al", "alameda"),
    ("pca", "praca"),
    ("estr", "estrada"),
    ("dr", "doutor"),
    ("dra", "doutora"),
    ("prof", "professor"),
    ("profa", "professora"),
    ("sen", "senador"),
    ("des", "desembargador"),
    ("dep", "deputado"),
    ("eng", "engenheiro"),
    ("cel", "coronel"),
    ("gov", "governador"),
    ("pres", "presidente"),
    ("cap", "capitao"),
    ("ten", "tenente"),
    ("mal", "marechal"),
    ("gal", "general"),
    ("sto", "santo"),
    ("sta", "santa"),
];

/// Words that only announce the house number.
const FILLERS: &[&str] = &["numero", "num", "nro", "n"];

/// Words that never identify a street on their own.
const CONNECTIVES: &[&str] = &[
    "de", "da", "do", "das", "dos", "e", "d", "a", "o", "na", "no", "em",
];

/// Titles a caller often leaves out ("Rua Professor X" said as "Rua X").
const TITLES: &[&str] = &[
    "doutor",
    "doutora",
    "professor",
    "professora",
    "senador",
    "desembargador",
    "deputado",
    "engenheiro",
    "coronel",
    "governador",
    "presidente",
    "capitao",
    "tenente",
    "marechal",
    "general",
    "padre",
    "frei",
    "dom",
    "dona",
    "prefeito",
    "vereador",
    "comendador",
    "monsenhor",
];

fn bounded(s: &str) -> &str {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Lower-case letter without its accent (Portuguese letters and a few more).
fn fold_char(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

/// Lower case, accents stripped: "Agronômica" → "agronomica".
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(fold_char)
        .collect()
}

/// The words of an address as the matcher sees them: number words as digits,
/// folded, abbreviations expanded, fillers dropped. `º` and `ª` split words
/// ("nº900" → "900").
pub(crate) fn tokens(s: &str) -> Vec<String> {
    let numbered = with_numbers(bounded(s));
    fold(&numbered)
        .split(|c: char| !c.is_alphanumeric() || c == 'º' || c == 'ª')
        .filter(|w| !w.is_empty())
        .map(|w| {
            ABBREVIATIONS
                .iter()
                .find(|(short, _)| *short == w)
                .map_or_else(|| w.to_string(), |(_, long)| (*long).to_string())
        })
        .filter(|w| !FILLERS.contains(&w.as_str()))
        .collect()
}

/// Tokens without connectives: the words that identify a place name.
pub(super) fn key_tokens(s: &str) -> Vec<String> {
    tokens(s)
        .into_iter()
        .filter(|t| !CONNECTIVES.contains(&t.as_str()))
        .collect()
}

fn is_street_type(t: &str) -> bool {
    STREET_TYPES.contains(&t)
}

/// A house number token: 1 to 6 digits. Leading zeros are dropped.
fn house_number_token(t: &str) -> Option<String> {
    if t.is_empty() || t.len() > MAX_HOUSE_DIGITS || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = t.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
}

/// A house number as compared: lower case, no spaces or dashes, no leading zeros.
pub(super) fn number_key(n: &str) -> String {
    let compact: String = n
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let trimmed = compact.trim_start_matches('0');
    if trimmed.is_empty() && !compact.is_empty() {
        "0".into()
    } else {
        trimmed.to_string()
    }
}

/// The leading digits of a house number, for "the nearest number on the street".
pub(super) fn number_value(n: &str) -> Option<u64> {
    let digits: String = n
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .take(12)
        .collect();
    digits.parse().ok()
}

/// A street name as the matcher sees it.
#[derive(Clone)]
pub(super) struct StreetName {
    /// The type word ("rua"), when the name starts with one.
    pub(super) kind: Option<String>,
    /// Significant words, in order, that a text must contain.
    pub(super) required: Vec<String>,
    /// Titles that may be left out.
    optional: Vec<String>,
}

/// How well a row fits a spoken text, compared in this order: words of the
/// street name found, city (2) and neighbourhood (1) named, the street's own type
/// word said, titles said, tightness of the match.
pub(super) type Rank = (usize, u8, bool, usize, usize);

/// Where a street name was found in a text.
#[derive(Clone, Copy)]
pub(super) struct StreetMatch {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) required: usize,
    pub(super) optional: usize,
    /// A street type word right before the name (a title or connective may sit
    /// between: "rua *doutor* X", "avenida *das* Flores").
    pub(super) type_right_before: bool,
    pub(super) same_type_before: bool,
}

impl StreetName {
    pub(super) fn new(street: &str) -> Self {
        let toks = tokens(street);
        let (kind, rest) = match toks.split_first() {
            Some((first, rest)) if is_street_type(first) && !rest.is_empty() => {
                (Some(first.clone()), rest.to_vec())
            }
            _ => (None, toks.clone()),
        };
        let mut significant: Vec<String> = rest
            .iter()
            .filter(|t| !CONNECTIVES.contains(&t.as_str()))
            .cloned()
            .collect();
        if significant.is_empty() {
            // "Rua A": the connective is the name.
            significant = rest;
        }
        let (mut required, mut optional): (Vec<String>, Vec<String>) = significant
            .into_iter()
            .partition(|t| !TITLES.contains(&t.as_str()));
        if required.is_empty() {
            required = std::mem::take(&mut optional);
        }
        StreetName {
            kind,
            required,
            optional,
        }
    }

    /// Finds the street name in `text`: every required word in order, at most
    /// [`MAX_GAP`] words apart. The tightest occurrence wins.
    pub(super) fn find_in(&self, text: &[String]) -> Option<StreetMatch> {
        let (first, rest) = self.required.split_first()?;
        let mut best: Option<(usize, usize)> = None;
        for (p, _) in text.iter().enumerate().filter(|(_, t)| *t == first) {
            let mut last = p;
            let mut complete = true;
            for word in rest {
                let upto = (last + 1 + MAX_GAP).min(text.len().saturating_sub(1));
                match (last + 1..=upto).find(|&q| text.get(q) == Some(word)) {
                    Some(q) => last = q,
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            if complete && best.is_none_or(|(s, e)| last - p < e - s) {
                best = Some((p, last));
            }
        }
        let (start, end) = best?;
        let window = &text[start.saturating_sub(LOOK_BEHIND)..=end];
        let before = &text[start.saturating_sub(LOOK_BEHIND)..start];
        Some(StreetMatch {
            start,
            end,
            required: self.required.len(),
            optional: self.optional.iter().filter(|o| window.contains(o)).count(),
            type_right_before: type_right_before(text, start),
            same_type_before: self.kind.as_ref().is_some_and(|k| before.contains(k)),
        })
    }
}

fn type_right_before(text: &[String], start: usize) -> bool {
    let word = |i: usize| text.get(i).map(String::as_str).unwrap_or("");
    match start {
        0 => false,
        1 => is_street_type(word(0)),
        _ => {
            let prev = word(start - 1);
            is_street_type(prev)
                || ((CONNECTIVES.contains(&prev) || TITLES.contains(&prev))
                    && is_street_type(word(start - 2)))
        }
    }
}

/// Words after which a number is not the house number.
const NOT_HOUSE_NUMBER_AFTER: &[&str] = &[
    "cep",
    "apto",
    "apartamento",
    "ap",
    "bloco",
    "bl",
    "sala",
    "andar",
    "lote",
    "quadra",
    "telefone",
];

/// The house number at `i`, unless the digits there belong to a CEP ("cep …",
/// or 5 digits then 3: "88025-500") or to an apartment, block or the like.
fn house_number_at(text: &[String], i: usize) -> Option<String> {
    let t = text.get(i)?;
    let n = house_number_token(t)?;
    let digits = |j: usize, len: usize| {
        text.get(j)
            .is_some_and(|w| w.len() == len && w.bytes().all(|b| b.is_ascii_digit()))
    };
    let prev = i
        .checked_sub(1)
        .and_then(|j| text.get(j))
        .map(String::as_str);
    let cep_half =
        (t.len() == 5 && digits(i + 1, 3)) || (t.len() == 3 && i > 0 && digits(i - 1, 5));
    let labelled = prev.is_some_and(|p| NOT_HOUSE_NUMBER_AFTER.contains(&p));
    (!cep_half && !labelled).then_some(n)
}

/// The house number a text gives for the street found at `m`: the first number
/// after the street name, else the nearest one before it ("o 900 da Delminda
/// Silveira").
pub(super) fn house_number_near(text: &[String], m: &StreetMatch) -> Option<String> {
    (m.end + 1..text.len())
        .find_map(|i| house_number_at(text, i))
        .or_else(|| (0..m.start).rev().find_map(|i| house_number_at(text, i)))
}

/// The house number in a spoken `text` for a street named `street` (as a remote
/// geocoder wrote it). `None` when the street name is not in the text.
pub(crate) fn house_number_in(text: &str, street: &str) -> Option<String> {
    let toks = tokens(text);
    let m = StreetName::new(street).find_in(&toks)?;
    house_number_near(&toks, &m)
}

/// True when every word of `key` is in `text` outside `skip` (the street's span).
pub(super) fn mentions(text: &[String], key: &[String], skip: Option<(usize, usize)>) -> bool {
    !key.is_empty()
        && key.iter().all(|k| {
            text.iter()
                .enumerate()
                .any(|(i, t)| t == k && skip.is_none_or(|(s, e)| i < s || i > e))
        })
}
