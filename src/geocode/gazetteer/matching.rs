//! How well a street name fits a spoken text, where in the text it was said,
//! and the house number and complement said with it.
//!
//! A street name is compared as one string: its significant words (no type
//! word, no "da"/"de"), phonetic keys concatenated. So "Del Minda" and
//! "Delminda" compare equal, a missing or added particle changes nothing, and
//! the similarity of the two strings (normalised Levenshtein, from `strsim`)
//! forgives a letter or two. A title ("Professor", "Frei") may be left out: the
//! name is compared with and without its titles, and the better counts. The
//! text is tried in every window of consecutive words; the best window is the
//! street's place in the text.

use super::decide::MIN_SIMILARITY;
use super::words::{
    CONNECTIVES, LEAD_IN, TITLES, house_number_token, is_digits, is_no_number, is_street_type,
    phonetic, tokens,
};

/// The similarity given to a part of a name said alone: above the least a
/// name must score, below a sure match.
const PART_OF_NAME: f32 = 0.8;
/// Words in the longest window tried (a street name plus a title or two).
const MAX_WINDOW_WORDS: usize = 7;
/// Significant words of a text looked at.
const MAX_TEXT_WORDS: usize = 64;

/// A street name as the matcher sees it.
#[derive(Clone, Debug)]
pub(super) struct StreetName {
    /// The type word ("rua"), when the name starts with one.
    pub(super) kind: Option<String>,
    /// Phonetic keys of the significant words, titles included, concatenated.
    pub(super) plain: String,
    /// The same without the titles ("Professor X Y" → "xy").
    core: String,
    /// The phonetic key of each significant word, titles included.
    word_keys: Vec<String>,
    /// A name made only of digits ("Rua 1") or equal to a city or neighbourhood
    /// name ("Rua Florianópolis"): it needs its type word said right before it.
    pub(super) needs_type: bool,
}

/// Where and how well a street name was found in a text.
#[derive(Clone, Copy, Debug)]
pub(super) struct StreetMatch {
    /// Similarity of the name and the text's window, 0 to 1.
    pub(super) similarity: f32,
    /// The window, as token indexes (inclusive).
    pub(super) start: usize,
    pub(super) end: usize,
    /// A type word was said right before the name, and whether it is the name's.
    pub(super) type_said: Option<bool>,
}

/// A spoken text, ready to be compared with many street names.
pub(super) struct Query {
    pub(super) toks: Vec<String>,
    /// Every window of significant words: phonetic keys concatenated, the
    /// token span it covers, and its words (as a range of `keys`).
    windows: Vec<(String, usize, usize, (usize, usize))>,
    /// The phonetic key of each significant word.
    keys: Vec<String>,
    /// The phonetic key of every token.
    phon: Vec<String>,
    /// All the significant words' keys, concatenated (for the trigram index).
    pub(super) joined: String,
}

fn significant(t: &str) -> bool {
    !CONNECTIVES.contains(&t) && !is_street_type(t) && !is_no_number(t)
}

impl Query {
    pub(super) fn new(text: &str) -> Self {
        Self::from_tokens(tokens(text))
    }

    pub(super) fn from_tokens(toks: Vec<String>) -> Self {
        // Significant words, each with its token index. Words a caller says
        // before the address ("é na", "moro na", "hum") are skipped while no
        // street word has been seen.
        let mut sig: Vec<(usize, String)> = Vec::new();
        let mut leading = true;
        for (i, t) in toks.iter().enumerate() {
            if leading && (LEAD_IN.contains(&t.as_str()) || CONNECTIVES.contains(&t.as_str())) {
                continue;
            }
            leading = false;
            if significant(t) && sig.len() < MAX_TEXT_WORDS {
                sig.push((i, phonetic(t)));
            }
        }
        let mut windows = Vec::new();
        for a in 0..sig.len() {
            let mut key = String::new();
            for b in a..sig.len().min(a + MAX_WINDOW_WORDS) {
                // A window does not run across a house number into other words.
                if b > a && is_digits(&toks[sig[b].0]) && !is_digits(&toks[sig[a].0]) {
                    break;
                }
                key.push_str(&sig[b].1);
                windows.push((key.clone(), sig[a].0, sig[b].0, (a, b)));
            }
        }
        let joined = sig
            .iter()
            .filter(|(i, _)| !is_digits(&toks[*i]))
            .map(|(_, k)| k.as_str())
            .collect();
        Query {
            phon: toks.iter().map(|t| phonetic(t)).collect(),
            toks,
            windows,
            keys: sig.into_iter().map(|(_, k)| k).collect(),
            joined,
        }
    }
}

/// A place name's key words as one phonetic key, comparable with a street
/// name's `plain` key.
pub(super) fn place_name_key(words: &[String]) -> String {
    words.iter().map(|w| phonetic(w)).collect()
}

/// Normalised Levenshtein similarity of two keys.
fn similarity(a: &str, b: &str) -> f32 {
    strsim::normalized_levenshtein(a, b) as f32
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
        let mut words: Vec<String> = rest
            .iter()
            .filter(|t| !CONNECTIVES.contains(&t.as_str()))
            .cloned()
            .collect();
        if words.is_empty() {
            // "Rua A": the connective is the name.
            words = rest;
        }
        let plain: String = words.iter().map(|w| phonetic(w)).collect();
        let core: String = words
            .iter()
            .filter(|w| !TITLES.contains(&w.as_str()))
            .map(|w| phonetic(w))
            .collect();
        let needs_type = words.iter().all(|w| is_digits(w));
        StreetName {
            word_keys: words.iter().map(|w| phonetic(w)).collect(),
            kind,
            core: if core.is_empty() { plain.clone() } else { core },
            plain,
            needs_type,
        }
    }

    /// The same name, as far as the matcher can tell.
    pub(super) fn same_as(&self, other: &StreetName) -> bool {
        !self.plain.is_empty() && (self.plain == other.plain || self.core == other.core)
    }

    /// Whether `words` are two or more consecutive words of the name, not all
    /// of them ("Beira Mar" of "Beira-Mar Norte"): a part of the name, which
    /// is never more than a guess.
    fn has_part(&self, words: &[String]) -> bool {
        words.len() >= 2
            && words.len() < self.word_keys.len()
            && self.word_keys.windows(words.len()).any(|w| w == words)
    }

    /// How many significant words the name has, titles included.
    pub(super) fn words(&self) -> usize {
        self.word_keys.len()
    }

    /// A name made only of digits ("Rua 1").
    pub(super) fn is_numbered(&self) -> bool {
        !self.plain.is_empty() && self.plain.bytes().all(|b| b.is_ascii_digit())
    }

    /// The best window of `q` for this name, when one is similar at all.
    pub(super) fn find_in(&self, q: &Query) -> Option<StreetMatch> {
        let want = self.plain.chars().count().max(1);
        let short = self.core.chars().count().max(1);
        let mut best: Option<(f32, usize, usize)> = None;
        for (key, start, end, (a, b)) in &q.windows {
            let len = key.chars().count();
            // Windows far longer or shorter than the name cannot be similar.
            if len * 2 < short || len > want * 2 + 4 {
                continue;
            }
            // Levenshtein is at least the length difference: skip what cannot
            // reach the least similarity a name needs.
            let reachable = |target: usize| {
                let longest = len.max(target) as f32;
                (len.abs_diff(target) as f32) <= (1.0 - MIN_SIMILARITY) * longest
            };
            let mut s = 0.0f32;
            if reachable(want) {
                s = similarity(key, &self.plain);
            }
            if self.core != self.plain && reachable(short) {
                s = s.max(similarity(key, &self.core));
            }
            if s < PART_OF_NAME && self.has_part(q.keys.get(*a..=*b).unwrap_or(&[])) {
                s = PART_OF_NAME;
            }
            // Very short names ("Rua A", "Rua 1") must match exactly.
            if want <= 3 && key != &self.plain {
                continue;
            }
            // Prefer, among equal windows, the tighter and the earlier one.
            let better = best.is_none_or(|(b, bs, be)| {
                s > b + 1e-6 || ((s - b).abs() <= 1e-6 && end - start < be - bs)
            });
            if better {
                best = Some((s, *start, *end));
            }
        }
        let (similarity, start, end) = best?;
        let type_said = type_before(&q.toks, start).map(|t| self.kind.as_deref() == Some(t));
        if self.needs_type && type_said.is_none() {
            return None;
        }
        Some(StreetMatch {
            similarity,
            start,
            end,
            type_said,
        })
    }
}

/// The street type word said right before `start` (a title or connective may
/// sit between: "rua *doutor* X", "avenida *das* Flores").
fn type_before(toks: &[String], start: usize) -> Option<&str> {
    let word = |i: usize| toks.get(i).map(String::as_str).unwrap_or("");
    let prev = start.checked_sub(1).map(word)?;
    if is_street_type(prev) {
        return Some(prev);
    }
    let before = start.checked_sub(2).map(word)?;
    ((CONNECTIVES.contains(&prev) || TITLES.contains(&prev)) && is_street_type(before))
        .then_some(before)
}

/// Words after which a number is not the house number.
const NOT_HOUSE_NUMBER_AFTER: &[&str] = &[
    "cep",
    "apartamento",
    "bloco",
    "sala",
    "andar",
    "lote",
    "quadra",
    "telefone",
    "casa",
    "loja",
    "torre",
    "km",
];

/// Words that begin a complement, and whether a value follows them.
const COMPLEMENT_WORDS: &[(&str, &str, bool)] = &[
    ("apartamento", "apartamento", true),
    ("bloco", "bloco", true),
    ("casa", "casa", true),
    ("sala", "sala", true),
    ("loja", "loja", true),
    ("lote", "lote", true),
    ("quadra", "quadra", true),
    ("torre", "torre", true),
    ("andar", "andar", false),
    ("fundos", "fundos", false),
    ("frente", "frente", false),
    ("terreo", "térreo", false),
    ("sobrado", "sobrado", false),
];

/// The house number at `i`, unless the digits there belong to a CEP ("cep …",
/// or 5 digits then 3: "88025-500") or to an apartment, block or the like.
fn house_number_at(text: &[String], i: usize) -> Option<String> {
    let t = text.get(i)?;
    let n = house_number_token(t)?;
    let digits = |j: usize, len: usize| text.get(j).is_some_and(|w| w.len() == len && is_digits(w));
    let prev = i
        .checked_sub(1)
        .and_then(|j| text.get(j))
        .map(String::as_str);
    let cep_half =
        (t.len() == 5 && digits(i + 1, 3)) || (t.len() == 3 && i > 0 && digits(i - 1, 5));
    let labelled = prev.is_some_and(|p| NOT_HOUSE_NUMBER_AFTER.contains(&p));
    (!cep_half && !labelled).then_some(n)
}

/// The house number said with a street found at `start..=end`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Said {
    pub(crate) number: Option<String>,
    /// "sem número" or "s/n" was said.
    pub(crate) no_number: bool,
    /// What followed the number: "apartamento 12", "bloco B".
    pub(crate) complement: Option<String>,
}

/// The house number for the street found at `start..=end`: the first number
/// after the name, else the nearest before it ("o 900 da Delminda Silveira");
/// then the complement that follows it.
pub(super) fn said_with(text: &[String], start: usize, end: usize) -> Said {
    said_within(text, start, end, (0, text.len()))
}

/// [`said_with`], looking only at the tokens in `lo..hi`: where another
/// street named in the same text begins (after) or ends (before), its number
/// is its own.
pub(super) fn said_within(
    text: &[String],
    start: usize,
    end: usize,
    (lo, hi): (usize, usize),
) -> Said {
    let hi = hi.min(text.len());
    let after = (end + 1..hi).find_map(|i| {
        if is_no_number(&text[i]) {
            return Some((i, None));
        }
        house_number_at(text, i).map(|n| (i, Some(n)))
    });
    let found = after.or_else(|| {
        (lo..start)
            .rev()
            .find_map(|i| house_number_at(text, i).map(|n| (i, Some(n))))
    });
    let Some((at, number)) = found else {
        return Said::default();
    };
    Said {
        no_number: number.is_none(),
        number,
        complement: complement_after(text, at + 1),
    }
}

/// "apartamento 12 bloco b" → "apartamento 12, bloco B".
fn complement_after(text: &[String], from: usize) -> Option<String> {
    let mut parts = Vec::new();
    let mut i = from;
    while let Some((_, shown, valued)) = text
        .get(i)
        .and_then(|w| COMPLEMENT_WORDS.iter().find(|(k, _, _)| k == w))
    {
        let value = text
            .get(i + 1)
            .filter(|v| *valued && (is_digits(v) || v.chars().count() <= 2));
        match value {
            Some(v) => {
                parts.push(format!("{shown} {}", v.to_uppercase()));
                i += 2;
            }
            None => {
                parts.push((*shown).to_string());
                i += 1;
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// How well a spoken `text` names `street` (as a remote geocoder wrote it), and
/// the number and complement said with it. `None` when nothing in the text
/// resembles the street.
pub(crate) fn judge(text: &str, street: &str) -> Option<(f32, Said)> {
    let q = Query::new(text);
    let m = StreetName::new(street)
        .find_in(&q)
        .filter(|m| m.similarity >= super::decide::MIN_SIMILARITY)?;
    Some((m.similarity, said_with(&q.toks, m.start, m.end)))
}

/// True when every word of `key` (a neighbourhood or city) is said in `text`
/// outside the street's span, each word forgiven a letter when long enough.
pub(super) fn mentions(q: &Query, key: &[String], skip: (usize, usize)) -> bool {
    !key.is_empty()
        && key.iter().all(|k| {
            let kp = phonetic(k);
            q.toks.iter().zip(&q.phon).enumerate().any(|(i, (t, tp))| {
                (i < skip.0 || i > skip.1)
                    && (t == k
                        || *tp == kp
                        || (kp.len() >= 6
                            && tp.len().abs_diff(kp.len()) <= 2
                            && similarity(tp, &kp) >= 0.8))
            })
        })
}
