//! Words of an address as the matcher sees them: folded, numbers as digits,
//! abbreviations spelled out, and a phonetic key that forgives spelling.

use ivr_core::speech::{NO_NUMBER, address_numbers};

/// Longest text looked at; speech can be far longer on a noisy line.
const MAX_TEXT_CHARS: usize = 500;
/// A longer run of digits is a CEP or a phone number, not a house number.
const MAX_HOUSE_DIGITS: usize = 6;

pub(super) const STREET_TYPES: &[&str] = &[
    "rua", "avenida", "travessa", "servidao", "rodovia", "alameda", "praca", "estrada", "largo",
    "beco", "ladeira", "viela", "caminho", "passagem", "via", "vila", "rodoanel", "marginal",
];

const ABBREVIATIONS: &[(&str, &str)] = &[
    ("r", "rua"),
    ("av", "avenida"),
    ("ave", "avenida"),
    ("trav", "travessa"),
    ("tv", "travessa"),
    ("serv", "servidao"),
    ("svd", "servidao"),
    ("rod", "rodovia"),
    ("al", "alameda"),
    ("pca", "praca"),
    ("estr", "estrada"),
    ("est", "estrada"),
    ("lgo", "largo"),
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
    ("pe", "padre"),
    ("sto", "santo"),
    ("sta", "santa"),
    ("apto", "apartamento"),
    ("apt", "apartamento"),
    ("ap", "apartamento"),
    ("bl", "bloco"),
];

/// Words that only announce the house number.
const FILLERS: &[&str] = &["numero", "num", "nro", "n", "no"];

/// Words that never identify a street on their own.
pub(super) const CONNECTIVES: &[&str] = &[
    "de", "da", "do", "das", "dos", "e", "d", "a", "o", "na", "no", "em", "com",
];

/// Titles a caller often leaves out ("Rua Professor X" said as "Rua X").
pub(super) const TITLES: &[&str] = &[
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
    "madre",
    "irma",
    "pastor",
    "major",
    "almirante",
    "brigadeiro",
    "ministro",
    "sargento",
];

/// Words a caller says before the address, or that a recogniser adds.
pub(super) const LEAD_IN: &[&str] = &[
    "e",
    "eh",
    "hum",
    "hmm",
    "uh",
    "ah",
    "an",
    "moro",
    "fica",
    "endereco",
    "meu",
    "minha",
    "eu",
    "casa",
    "sou",
    "seria",
    "assim",
    "olha",
    "entao",
    "bom",
    "tipo",
    "la",
    "aqui",
    "pra",
    "para",
    "instalacao",
    "sim",
    "e",
    "isso",
    "ok",
    "ta",
];

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

/// The words of an address as the matcher sees them: numbers as digits (in
/// every shape [`address_numbers`] knows), folded, abbreviations expanded,
/// fillers dropped, "sem número" as [`NO_NUMBER`]. `º` and `ª` split words.
pub(crate) fn tokens(s: &str) -> Vec<String> {
    let numbered = address_numbers(&ivr_core::text::clean(s, MAX_TEXT_CHARS));
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

pub(super) fn is_street_type(t: &str) -> bool {
    STREET_TYPES.contains(&t)
}

pub(super) fn is_digits(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn is_no_number(t: &str) -> bool {
    t == NO_NUMBER
}

/// A key that sounds the same for spellings a recogniser mixes up: "Ruy" and
/// "Rui", "Souza" and "Sousa", "Luiz" and "Luís", "Bem Venuta" and "Benvenuta",
/// "Phelippe" and "Felipe", double letters. Works on folded words; digits stay.
pub(super) fn phonetic(word: &str) -> String {
    let c: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(c.len());
    let at = |i: usize| c.get(i).copied().unwrap_or(' ');
    let front_vowel = |ch: char| matches!(ch, 'e' | 'i' | 'y');
    let mut i = 0;
    while i < c.len() {
        let (ch, next) = (c[i], at(i + 1));
        let (sound, used): (&str, usize) = match (ch, next) {
            ('p', 'h') => ("f", 2),
            ('t', 'h') => ("t", 2),
            ('c', 'h') | ('s', 'h') => ("x", 2),
            ('l', 'h') => ("li", 2),
            ('n', 'h') => ("ni", 2),
            ('q', 'u') if front_vowel(at(i + 2)) => ("k", 2),
            ('g', 'u') if front_vowel(at(i + 2)) => ("g", 2),
            ('s', 'c') if front_vowel(at(i + 2)) => ("s", 2),
            ('c', n) if front_vowel(n) => ("s", 1),
            ('c', _) | ('q', _) | ('k', _) => ("k", 1),
            ('z', _) | ('s', _) => ("s", 1),
            ('y', _) => ("i", 1),
            ('w', _) => ("v", 1),
            ('h', _) => ("", 1),
            // "m" before a consonant sounds as "n": "Bem Venuta", "Benvenuta"
            ('m', n) if n.is_alphabetic() && !matches!(n, 'a' | 'e' | 'i' | 'o' | 'u') => ("n", 1),
            _ => ("", 0),
        };
        let piece: String = if used == 0 {
            i += 1;
            ch.to_string()
        } else {
            i += used;
            sound.to_string()
        };
        for p in piece.chars() {
            if !out.ends_with(p) || p.is_ascii_digit() {
                out.push(p);
            }
        }
    }
    out
}

/// A house number token: 1 to 6 digits. Leading zeros are dropped.
pub(super) fn house_number_token(t: &str) -> Option<String> {
    if t.len() > MAX_HOUSE_DIGITS || !is_digits(t) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_a_recogniser_mixes_up_sound_the_same() {
        for (a, b) in [
            ("ruy", "rui"),
            ("souza", "sousa"),
            ("luiz", "luis"),
            ("bemvenuta", "benvenuta"),
            ("benvenutta", "benvenuta"),
            ("phelippe", "felipe"),
            ("thereza", "teresa"),
        ] {
            assert_eq!(phonetic(a), phonetic(b), "{a} / {b}");
        }
        assert_ne!(phonetic("caneca"), phonetic("evaristo"));
        assert_eq!(phonetic("1500"), "1500");
    }

    #[test]
    fn tokens_spell_out_and_number() {
        assert_eq!(
            tokens("R. Delminda Silveira, nº nove zero zero, apto 12"),
            ["rua", "delminda", "silveira", "900", "apartamento", "12"]
        );
        assert_eq!(
            tokens("Av. Beira-Mar Norte 2.000"),
            ["avenida", "beira", "mar", "norte", "2000"]
        );
        assert_eq!(
            tokens("Rua Frei Caneca s/n"),
            ["rua", "frei", "caneca", NO_NUMBER]
        );
    }
}
