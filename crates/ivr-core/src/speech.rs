//! Turning what a caller typed or said into values the flow can use.
//!
//! Speech recognisers hand back pt-BR text such as "um dois três", "meia" for six,
//! "novecentos" for 900. Number words become digits through `text2num` (which
//! covers Portuguese but not "meia", and spaces digit strings oddly: "dois três
//! quatro" gives "2 3 4"), so fields that want digits keep only the digits.
//! Every function here takes any string and never panics (property-tested).

use crate::domain::{Cep, ClientCode, HouseNumber};

mod numbers;
pub use numbers::{NO_NUMBER, ReadNumbers, address_numbers, read_address_numbers, spoken_number};
use text2num::{Language, replace_numbers_in_text};

/// Longest speech result looked at; recognisers can send far more on a noisy line.
pub const MAX_SPEECH_CHARS: usize = 500;

/// What was said, bounded and clean ([`crate::text::clean`]).
fn bounded(s: &str) -> String {
    crate::text::clean(s, MAX_SPEECH_CHARS)
}

/// Lower case, accents kept, punctuation turned into spaces, "meia" (six, as said
/// when dictating numbers) turned into "seis".
fn words(s: &str) -> Vec<String> {
    bounded(s)
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '|'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w == "meia" {
                "seis".to_string()
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// Number words in Portuguese, then in English (the shipped `en-US` prompts),
/// as digits; neither language's number words mean anything else in the other.
/// The one place `text2num` is called (the gazetteer's matcher uses it too).
pub fn with_numbers(text: &str) -> String {
    let pt = replace_numbers_in_text(text, &Language::portugese(), 0.0);
    replace_numbers_in_text(&pt, &Language::english(), 0.0)
}

/// Digits dictated or typed, with "barra" (or `|`) kept as the `|` separator.
/// `None` when there is no digit at all.
pub fn digits_with_separator(s: &str) -> Option<String> {
    let joined: Vec<String> = words(s)
        .into_iter()
        .map(|w| if w == "barra" { "|".into() } else { w })
        .collect();
    let numbered = with_numbers(&joined.join(" "));
    let out: String = numbered
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '|')
        .collect();
    let out = out.trim_matches('|').to_string();
    if out.chars().any(|c| c.is_ascii_digit()) {
        Some(out)
    } else {
        None
    }
}

/// Only the digits of a dictated or typed number.
pub fn digits(s: &str) -> Option<String> {
    digits_with_separator(s).map(|d| d.chars().filter(|c| c.is_ascii_digit()).collect())
}

/// A client code from the keypad (`*` is the separator) or from speech.
pub fn client_code(digits_in: Option<&str>, speech: Option<&str>) -> Option<ClientCode> {
    if let Some(d) = digits_in.filter(|d| !d.is_empty()) {
        return ClientCode::from_keypad(d);
    }
    let spoken = digits_with_separator(speech?)?;
    ClientCode::parse(&spoken)
}

/// A CEP typed (8 digits) or dictated.
pub fn cep(digits_in: Option<&str>, speech: Option<&str>) -> Option<Cep> {
    if let Some(d) = digits_in.filter(|d| !d.is_empty()) {
        return Cep::parse(d);
    }
    let spoken = speech?;
    // Only when the answer is nothing but a number: an address also holds digits.
    let has_letters_left = words(spoken).iter().any(|w| {
        !w.chars().all(|c| c.is_ascii_digit())
            && !is_number_word(w)
            && !matches!(w.as_str(), "cep" | "é" | "o" | "meu" | "traço" | "hífen")
    });
    if has_letters_left {
        return None;
    }
    Cep::parse(&digits(spoken)?)
}

fn is_number_word(w: &str) -> bool {
    with_numbers(w).chars().all(|c| c.is_ascii_digit()) && !w.is_empty()
        || matches!(w, "e" | "seis")
}

/// A house number: 1 to 6 digits, or [`HouseNumber::Without`] when the
/// caller says there is none ("sem número", "s/n", `*` or 0 on the keypad);
/// `None` when the answer is unusable. Spoken numbers may come in any shape
/// [`address_numbers`] knows ("nove zero zero", "2.000", "nº 900", "mil,
/// quinhentos"); words after the number ("apartamento 12") are not the number.
/// On the keypad (`finishOnKey="#"`, so `#` is never in the digits) `*` alone
/// means no number (typed in a chat too); digits with a `*` among them are
/// unusable.
pub fn house_number(digits_in: Option<&str>, speech: Option<&str>) -> Option<HouseNumber> {
    let raw = match (digits_in.filter(|d| !d.is_empty()), speech) {
        (Some("*"), _) => return Some(HouseNumber::Without),
        (Some(d), _) => d.to_string(),
        // A chat's typed `*` comes as text.
        (None, Some(s)) if s.trim() == "*" => return Some(HouseNumber::Without),
        (None, Some(s)) => {
            let numbered = address_numbers(&bounded(s));
            let mut first = None;
            for w in numbered
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                if w == NO_NUMBER {
                    return Some(HouseNumber::Without);
                }
                if w.bytes().all(|b| b.is_ascii_digit()) {
                    first = Some(w.to_string());
                    break;
                }
            }
            first?
        }
        (None, None) => return None,
    };
    if raw.is_empty() || raw.len() > 6 || !raw.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let trimmed = raw.trim_start_matches('0');
    if trimmed.is_empty() {
        Some(HouseNumber::Without)
    } else {
        Some(HouseNumber::Given(trimmed.to_string()))
    }
}

/// Whether a number in `speech` is in doubt ([`read_address_numbers`]): put
/// together from pieces a pause split ("mil, quinhentos"), or two numbers side
/// by side. Such a house number is asked on the keypad, or read back as a
/// guess, never as a sure one.
pub fn number_in_doubt(speech: Option<&str>) -> bool {
    speech.is_some_and(|s| read_address_numbers(&bounded(s)).in_doubt)
}

/// Yes (1) or no (2), by keypad or by voice.
pub fn yes_no(digits_in: Option<&str>, speech: Option<&str>) -> Option<bool> {
    if let Some(d) = digits_in.filter(|d| !d.is_empty()) {
        return match d {
            "1" => Some(true),
            "2" => Some(false),
            _ => None,
        };
    }
    let w = words(speech?);
    let no = w.iter().any(|w| {
        matches!(
            w.as_str(),
            "não"
                | "nao"
                | "errado"
                | "errada"
                | "incorreto"
                | "corrigir"
                | "mudar"
                | "trocar"
                | "dois"
                | "2"
                | "no"
                | "wrong"
                | "two"
        )
    });
    let yes = w.iter().any(|w| {
        matches!(
            w.as_str(),
            "sim"
                | "isso"
                | "correto"
                | "certo"
                | "confirmo"
                | "confirmar"
                | "confirma"
                | "pode"
                | "exato"
                | "positivo"
                | "um"
                | "1"
                | "ok"
                | "yes"
                | "yeah"
                | "right"
                | "correct"
                | "one"
        )
    });
    match (yes, no) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// The caller asks for a person.
pub fn wants_agent(digits_in: Option<&str>, speech: Option<&str>) -> Option<bool> {
    if asks_for_person(digits_in, speech) {
        return Some(true);
    }
    if let Some(yes) = yes_no(digits_in, speech) {
        return Some(yes);
    }
    let w = words(speech?);
    if w.iter().any(|w| {
        matches!(
            w.as_str(),
            "atendente" | "pessoa" | "humano" | "operador" | "atendimento" | "agent" | "operator"
        )
    }) {
        Some(true)
    } else {
        None
    }
}

/// Words that ask for a person.
const PERSON_WORDS: &[&str] = &[
    "atendente",
    "atendentes",
    "atendimento",
    "pessoa",
    "humano",
    "humana",
    "operador",
    "operadora",
    "agent",
    "operator",
    "human",
    "person",
    "representative",
];

/// Words that may come with such a request ("quero falar com uma pessoa").
const REQUEST_WORDS: &[&str] = &[
    "quero",
    "queria",
    "gostaria",
    "preciso",
    "de",
    "falar",
    "com",
    "um",
    "uma",
    "o",
    "a",
    "por",
    "favor",
    "me",
    "passa",
    "passe",
    "transfere",
    "transferir",
    "para",
    "pra",
    "eu",
    "pode",
    "ser",
    "é",
    "ai",
    "aí",
    "oi",
    "alô",
    "alo",
    "ô",
    "i",
    "want",
    "to",
    "talk",
    "speak",
    "with",
    "an",
    "please",
    "me",
    "the",
    "need",
    "real",
];

/// The caller asks for a person: a lone `0` on the keypad, or speech made only
/// of words asking for one ("atendente", "falar com atendente", "uma pessoa",
/// "humano"). An answer with other words ("Rua Epitácio Pessoa") is not a
/// request for a person.
pub fn asks_for_person(digits_in: Option<&str>, speech: Option<&str>) -> bool {
    if let Some(d) = digits_in.filter(|d| !d.is_empty()) {
        return d == "0";
    }
    let Some(s) = speech else { return false };
    let w = words(s);
    w.iter().any(|w| PERSON_WORDS.contains(&w.as_str()))
        && w.iter()
            .all(|w| PERSON_WORDS.contains(&w.as_str()) || REQUEST_WORDS.contains(&w.as_str()))
}

/// Longest name kept.
pub const MAX_NAME_CHARS: usize = 80;

/// A spoken name, trimmed, in title case, with Portuguese particles ("da", "de",
/// "do", "dos", "das", "e") in lower case after the first word, as names are written
/// in Brazil. `None` when there is no letter in it.
pub fn name(speech: Option<&str>) -> Option<String> {
    let s = speech?;
    let cleaned: String = bounded(s)
        .chars()
        .map(|c| {
            if c.is_alphabetic() || c == '\'' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut out = Vec::new();
    for (i, w) in cleaned.split_whitespace().enumerate() {
        let lower = w.to_lowercase();
        if i > 0 && matches!(lower.as_str(), "da" | "de" | "do" | "dos" | "das" | "e") {
            out.push(lower);
        } else {
            let mut cs = lower.chars();
            let first = cs
                .next()
                .map(|c| c.to_uppercase().collect::<String>())
                .unwrap_or_default();
            out.push(first + cs.as_str());
        }
    }
    let joined: String = out.join(" ").chars().take(MAX_NAME_CHARS).collect();
    let joined = joined.trim().to_string();
    if joined.chars().any(char::is_alphabetic) {
        Some(joined)
    } else {
        None
    }
}

/// A spoken address ready for a geocoder: bounded and clean
/// ([`crate::text::clean`]: control characters dropped, spaces folded),
/// numbers as digits whatever their shape ([`address_numbers`]). `None` when
/// it is too short to be an address.
pub fn address(speech: Option<&str>) -> Option<String> {
    let cleaned = bounded(speech?);
    let numbered = address_numbers(&cleaned);
    let letters = numbered.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 4 { None } else { Some(numbered) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spoken_digits_become_a_code() {
        assert_eq!(
            client_code(None, Some("um dois três")).unwrap().as_str(),
            "123"
        );
        assert_eq!(
            client_code(None, Some("meia meia sete")).unwrap().as_str(),
            "667"
        );
        assert_eq!(
            client_code(None, Some("um dois três barra um dois três"))
                .unwrap()
                .as_str(),
            "123|123"
        );
        assert_eq!(client_code(None, Some("é 4 5 6")).unwrap().as_str(), "456");
        assert!(client_code(None, Some("não sei")).is_none());
        assert_eq!(
            client_code(Some("123*123"), Some("ignored"))
                .unwrap()
                .as_str(),
            "123|123"
        );
        assert!(client_code(Some("12**3"), None).is_none());
    }

    #[test]
    fn english_number_words_too() {
        assert_eq!(
            client_code(None, Some("one two three")).unwrap().as_str(),
            "123"
        );
        assert_eq!(
            house_number(None, Some("nine hundred")),
            Some(HouseNumber::Given("900".into()))
        );
        assert_eq!(yes_no(None, Some("yes")), Some(true));
        // Portuguese is unchanged by the English pass
        assert_eq!(
            client_code(None, Some("um dois três")).unwrap().as_str(),
            "123"
        );
        let a = address(Some("Rua Delminda Silveira, novecentos, Agronômica")).unwrap();
        assert!(a.contains("900"), "{a}");
    }

    #[test]
    fn cep_only_when_the_answer_is_a_number() {
        assert_eq!(cep(Some("88025500"), None).unwrap().as_str(), "88025500");
        assert!(cep(Some("8802550"), None).is_none());
        assert_eq!(
            cep(None, Some("oito oito zero dois cinco cinco zero zero"))
                .unwrap()
                .as_str(),
            "88025500"
        );
        assert!(cep(None, Some("Rua Delminda Silveira 900")).is_none());
    }

    #[test]
    fn house_numbers() {
        let given = |n: &str| Some(HouseNumber::Given(n.into()));
        assert_eq!(house_number(Some("900"), None), given("900"));
        assert_eq!(house_number(None, Some("novecentos")), given("900"));
        assert_eq!(house_number(Some("0"), None), Some(HouseNumber::Without));
        assert_eq!(house_number(Some("*"), None), Some(HouseNumber::Without));
        assert_eq!(house_number(None, Some(" * ")), Some(HouseNumber::Without));
        assert_eq!(
            house_number(None, Some("sem número")),
            Some(HouseNumber::Without)
        );
        assert_eq!(house_number(Some("1234567"), None), None);
        assert_eq!(house_number(Some("12*"), None), None);
        assert_eq!(house_number(Some("**"), None), None);
        assert_eq!(house_number(None, Some("não sei")), None);
        assert_eq!(house_number(None, Some("s/n")), Some(HouseNumber::Without));
        assert_eq!(
            house_number(None, Some("nove zero zero, apartamento doze")),
            given("900")
        );
        assert_eq!(house_number(None, Some("1.720")), given("1720"));
        // split as recognisers split them
        assert_eq!(house_number(None, Some("mil, quinhentos")), given("1500"));
        assert!(number_in_doubt(Some("mil, quinhentos")));
        assert_eq!(
            house_number(None, Some("quatro cento e quarenta e cinco")),
            given("445")
        );
        assert!(!number_in_doubt(Some("quatro cento e quarenta e cinco")));
        assert_eq!(
            house_number(None, Some("duzentos, e cinquenta")),
            given("250")
        );
        assert!(!number_in_doubt(Some("duzentos, e cinquenta")));
        assert!(!number_in_doubt(Some("novecentos")));
        assert!(!number_in_doubt(None));
    }

    #[test]
    fn yes_and_no() {
        assert_eq!(yes_no(Some("1"), None), Some(true));
        assert_eq!(yes_no(Some("2"), None), Some(false));
        assert_eq!(yes_no(Some("3"), None), None);
        assert_eq!(yes_no(None, Some("Sim, está correto.")), Some(true));
        assert_eq!(yes_no(None, Some("não")), Some(false));
        assert_eq!(yes_no(None, Some("sim não")), None);
        assert_eq!(yes_no(None, Some("banana")), None);
        assert_eq!(
            wants_agent(None, Some("quero um atendente")),
            None.or(Some(true))
        );
    }

    #[test]
    fn a_person_is_asked_for_and_not_mistaken() {
        for yes in [
            "atendente",
            "falar com atendente",
            "uma pessoa",
            "humano",
            "quero falar com uma pessoa por favor",
            "Atendente!",
        ] {
            assert!(asks_for_person(None, Some(yes)), "{yes}");
        }
        assert!(asks_for_person(Some("0"), None));
        for no in [
            "Rua Epitácio Pessoa 100",
            "zero",
            "não",
            "Maria Pessoa",
            "meu código é zero",
        ] {
            assert!(!asks_for_person(None, Some(no)), "{no}");
        }
        assert!(!asks_for_person(Some("00"), None));
        assert!(!asks_for_person(Some("10"), None));
    }

    #[test]
    fn names_in_title_case() {
        assert_eq!(
            name(Some("  gabriel   marioto ")).unwrap(),
            "Gabriel Marioto"
        );
        assert_eq!(name(Some("MARIA DA SILVA")).unwrap(), "Maria da Silva");
        assert_eq!(
            name(Some("ana-lúcia d'ávila")).unwrap(),
            "Ana-lúcia D'ávila"
        );
        assert!(name(Some("123 !!")).is_none());
        assert!(name(None).is_none());
    }

    #[test]
    fn address_number_words_become_digits() {
        let a = address(Some(
            "Rua Delminda Silveira, novecentos, Agronômica, Florianópolis",
        ))
        .unwrap();
        assert!(a.contains("900"), "{a}");
        assert!(a.starts_with("Rua Delminda Silveira"), "{a}");
        assert!(address(Some("ah")).is_none());
    }

    #[test]
    fn speech_is_bounded_and_clean_before_it_is_kept() {
        let said = format!(
            "Rua\u{1b}[2J Delminda\n\u{202E}Silveira\u{0}, 900{}",
            " Agronômica".repeat(100)
        );
        let a = address(Some(&said)).unwrap();
        assert!(
            a.starts_with("Rua[2J Delminda Silveira, 900 Agronômica"),
            "{a}"
        );
        assert!(a.chars().count() <= MAX_SPEECH_CHARS);
        assert!(!a.chars().any(|c| c.is_control() || c == '\u{202E}'), "{a}");
        let n = name(Some("Gabriel\u{202E}\u{0}Marioto\n")).unwrap();
        assert_eq!(n, "Gabrielmarioto");
    }

    proptest! {
        #[test]
        fn nothing_panics_on_any_input(s in any::<String>(), d in "[0-9*#]{0,30}") {
            let _ = client_code(Some(&d), Some(&s));
            let _ = client_code(None, Some(&s));
            let _ = cep(None, Some(&s));
            let _ = house_number(None, Some(&s));
            let _ = yes_no(None, Some(&s));
            let _ = wants_agent(None, Some(&s));
            if let Some(a) = address(Some(&s)) {
                prop_assert!(a.chars().count() <= MAX_SPEECH_CHARS);
                prop_assert!(!a.chars().any(|c| c.is_control()
                    || crate::text::is_bidi_control(c)));
            }
            if let Some(n) = name(Some(&s)) {
                prop_assert!(n.chars().count() <= MAX_NAME_CHARS);
            }
        }

        #[test]
        fn keypad_codes_round_trip(groups in proptest::collection::vec("[0-9]{1,5}", 1..4)) {
            let keys = groups.join("*");
            prop_assume!(keys.len() <= ClientCode::MAX_LEN);
            let c = client_code(Some(&keys), None).unwrap();
            prop_assert_eq!(c.as_str(), groups.join("|"));
        }
    }
}
