//! Numbers in every shape, split or whole, and the doubt when a split can be
//! read two ways.

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
    // a comma keeps two numbers apart when they cannot be one (and says so)
    assert_eq!(address_numbers("Rua 7, 9"), "Rua 7, 9");
    assert!(read_address_numbers("Rua 7, 9").in_doubt);
    assert_eq!(address_numbers("Rua Meia Lua 10"), "Rua Meia Lua 10");
}

/// The value and the doubt of a number said alone.
fn read(said: &str) -> (Option<u64>, bool) {
    (spoken_number(said), read_address_numbers(said).in_doubt)
}

#[test]
fn numbers_as_recognisers_split_them() {
    for (said, want, doubt) in [
        // a pause inside the number, without "e": two readings
        ("mil, quinhentos", 1500, true),
        ("mil. Quinhentos", 1500, true),
        ("mil... quinhentos", 1500, true),
        ("dois mil, trezentos e dez", 2310, true),
        ("dois, mil", 2000, true),
        ("vinte e um, mil, quinhentos", 21500, true),
        ("novecentos, quarenta", 940, true),
        ("novecentos quarenta", 940, true),
        ("cento e vinte, cinco", 125, true),
        // with "e" it is one number
        ("duzentos, e cinquenta", 250, false),
        ("mil, e quinhentos", 1500, false),
        ("quatrocentos e, quarenta e cinco", 445, false),
        ("mil e cem", 1100, false),
        ("mil e quarenta", 1040, false),
        ("vinte e cinco", 25, false),
        // "cento" for "centos", a unit said apart from its hundreds
        ("quatro cento e quarenta e cinco", 445, false),
        ("quatro centos e quarenta e cinco", 445, false),
        ("três cento", 300, false),
        ("dois cento e dez", 210, false),
        ("duzento e cinquenta", 250, false),
        ("4 centos e 45", 445, false),
        // "um mil"
        ("um mil e quinhentos", 1500, false),
        // digits mixed with words
        ("1 mil e 500", 1500, false),
        ("mil e 500", 1500, false),
        ("2 mil, 300", 2300, true),
        ("1000 500", 1500, true),
        // dictated with a pause after each digit
        ("nove, zero, zero", 900, true),
        ("um, cinco, zero, zero", 1500, true),
    ] {
        assert_eq!(read(said), (Some(want), doubt), "{said:?}");
    }
}

#[test]
fn split_numbers_inside_an_address() {
    let r = read_address_numbers("Rua Lauro Linhares número mil, quinhentos");
    assert_eq!(r.text, "Rua Lauro Linhares número 1500");
    assert!(r.in_doubt);
    let r = read_address_numbers("Rua Lauro Linhares, mil e quinhentos, Trindade");
    assert_eq!(r.text, "Rua Lauro Linhares, 1500, Trindade");
    assert!(!r.in_doubt);
    // glued to the street
    let r = read_address_numbers("Rua Frei Caneca250, Agronômica");
    assert_eq!(r.text, "Rua Frei Caneca 250, Agronômica");
    assert!(!r.in_doubt);
    assert_eq!(
        address_numbers("R. Lauro Linhares1.720"),
        "R. Lauro Linhares 1720"
    );
    // a house number with a letter stays whole
    assert_eq!(address_numbers("Rua X 12A"), "Rua X 12A");
    // an ordinal is not the rest of a number
    let r = read_address_numbers("Rua Lauro Linhares 1500, segundo andar");
    assert_eq!(r.text, "Rua Lauro Linhares 1500, 2º andar");
    assert!(!r.in_doubt);
    // a CEP with a space is a CEP
    let r = read_address_numbers("Rua Rui Barbosa 120 cep 88025 100");
    assert_eq!(r.text, "Rua Rui Barbosa 120 cep 88025 100");
    assert!(!r.in_doubt);
    // the complement's number after its word is not in doubt
    assert!(!read_address_numbers("Rua X 900, apartamento 12").in_doubt);
    // the house number and another number side by side: which is which?
    assert!(read_address_numbers("Rua Delminda Silveira 900, 12").in_doubt);
    // nothing split: no doubt
    for plain in [
        "Rua Delminda Silveira, novecentos, Agronômica",
        "Rua Delminda Silveira 900 cep 88025-500",
        "Rua Delminda Silveira sem número",
        "Rua Delminda Silveira",
    ] {
        assert!(!read_address_numbers(plain).in_doubt, "{plain}");
    }
}

#[test]
fn idempotent_on_examples() {
    for s in [
        "Rua Delminda Silveira nove zero zero",
        "R. Sete de Setembro, 1.200",
        "s/n",
        "nº 12",
        "Rua Lauro Linhares número mil, quinhentos",
        "quatro cento e quarenta e cinco",
        "Rua Frei Caneca250",
        "nove, zero, zero",
        "Rua 7, 9",
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

const UNITS: [&str; 20] = [
    "",
    "um",
    "dois",
    "três",
    "quatro",
    "cinco",
    "seis",
    "sete",
    "oito",
    "nove",
    "dez",
    "onze",
    "doze",
    "treze",
    "quatorze",
    "quinze",
    "dezesseis",
    "dezessete",
    "dezoito",
    "dezenove",
];
const TENS: [&str; 10] = [
    "",
    "",
    "vinte",
    "trinta",
    "quarenta",
    "cinquenta",
    "sessenta",
    "setenta",
    "oitenta",
    "noventa",
];
const HUNDREDS: [&str; 10] = [
    "",
    "cento",
    "duzentos",
    "trezentos",
    "quatrocentos",
    "quinhentos",
    "seiscentos",
    "setecentos",
    "oitocentos",
    "novecentos",
];

/// 1 to 999 in words, as said: "quatrocentos e quarenta e cinco".
fn below_thousand(n: u64, out: &mut Vec<&'static str>) {
    if n == 100 {
        out.push("cem");
        return;
    }
    let (h, r) = ((n / 100) as usize, (n % 100) as usize);
    if h > 0 {
        out.push(HUNDREDS[h]);
    }
    if r == 0 {
        return;
    }
    if h > 0 {
        out.push("e");
    }
    if r < 20 {
        out.push(UNITS[r]);
    } else {
        out.push(TENS[r / 10]);
        if r % 10 > 0 {
            out.push("e");
            out.push(UNITS[r % 10]);
        }
    }
}

/// 1 to 99,999 in words, as said: "mil e quinhentos", "vinte e um mil
/// cento e dez".
fn words_of(n: u64) -> Vec<&'static str> {
    let mut out = Vec::new();
    let (th, r) = (n / 1000, n % 1000);
    if th == 1 {
        out.push("mil");
    } else if th > 1 {
        below_thousand(th, &mut out);
        out.push("mil");
    }
    if r > 0 {
        if th > 0 && (r < 100 || r % 100 == 0) {
            out.push("e");
        }
        below_thousand(r, &mut out);
    }
    out
}

/// The words, with a comma after word `i` where bit `i` of `commas` is set.
fn with_commas(words: &[&str], commas: u64) -> String {
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(w);
        if i + 1 < words.len() && commas & (1 << (i % 64)) != 0 {
            s.push(',');
        }
    }
    s
}

/// The first number in an address as read: the house number the matcher takes.
fn first_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|w| w.parse().ok())
}

#[test]
fn words_of_are_portuguese() {
    assert_eq!(words_of(445).join(" "), "quatrocentos e quarenta e cinco");
    assert_eq!(words_of(1500).join(" "), "mil e quinhentos");
    assert_eq!(words_of(1520).join(" "), "mil quinhentos e vinte");
    assert_eq!(words_of(21_100).join(" "), "vinte e um mil e cem");
    assert_eq!(with_commas(&["mil", "quinhentos"], 1), "mil, quinhentos");
}

proptest! {
    #[test]
    fn never_panics(s in any::<String>()) {
        let _ = address_numbers(&s);
        let _ = spoken_number(&s);
        let _ = read_address_numbers(&s);
    }

    /// Idempotent on any text, and on numbers split every way.
    #[test]
    fn idempotent(s in any::<String>(), n in 1u64..=99_999, commas in any::<u64>()) {
        let once = address_numbers(&s);
        prop_assert_eq!(address_numbers(&once), once.clone());
        let said = format!("Rua Lauro Linhares, {}, Trindade", with_commas(&words_of(n), commas));
        let once = address_numbers(&said);
        prop_assert_eq!(address_numbers(&once), once.clone());
    }

    /// Any number said in words is read whole and sure; with commas put
    /// anywhere between its words, it is read as itself or flagged in doubt,
    /// alone or inside an address: never a different sure number.
    #[test]
    fn split_numbers_are_themselves_or_in_doubt(n in 1u64..=99_999, commas in any::<u64>()) {
        let words = words_of(n);
        let whole = words.join(" ");
        prop_assert_eq!(read(&whole), (Some(n), false), "{}", whole);
        let split = with_commas(&words, commas);
        let r = read_address_numbers(&split);
        if !r.in_doubt {
            prop_assert_eq!(spoken_number(&split), Some(n), "{:?} read as {:?}", split, r.text);
        }
        let address = format!("Rua Lauro Linhares número {split}, Trindade");
        let r = read_address_numbers(&address);
        if !r.in_doubt {
            prop_assert_eq!(first_number(&r.text), Some(n), "{:?} read as {:?}", address, r.text);
        }
        // Digits dictated with a pause after each: the number, or in doubt.
        let digits = n.to_string();
        let dictated: Vec<&str> = digits.bytes().map(|b| digit_word(b - b'0')).collect();
        let r = read_address_numbers(&dictated.join(", "));
        if !r.in_doubt {
            prop_assert_eq!(first_number(&r.text), Some(n), "{:?}", dictated);
        }
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
