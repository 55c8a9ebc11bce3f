//! Recogniser-style spoken forms of a gazetteer's rows, for the benchmark's
//! queries: numbers in words, a letter off, fillers, places said after.

use super::{Names, Rng, TYPES, list};

const UNITS: &str = "zero um dois três quatro cinco seis sete oito nove dez onze doze treze \
    quatorze quinze dezesseis dezessete dezoito dezenove";
const TENS: &str = "_ _ vinte trinta quarenta cinquenta sessenta setenta oitenta noventa";
const HUNDREDS: &str = "_ cento duzentos trezentos quatrocentos quinhentos seiscentos setecentos \
    oitocentos novecentos";

/// The `i`th word of a table above.
fn word(table: &'static str, i: usize) -> &'static str {
    table.split_whitespace().nth(i).expect("a number word")
}

fn below_1000(n: u32) -> String {
    if n == 100 {
        return "cem".into();
    }
    let mut parts = Vec::new();
    let (h, r) = ((n / 100) as usize, (n % 100) as usize);
    if h > 0 {
        parts.push(word(HUNDREDS, h));
    }
    if r >= 20 {
        parts.push(word(TENS, r / 10));
        if r % 10 > 0 {
            parts.push(word(UNITS, r % 10));
        }
    } else if r > 0 || h == 0 {
        parts.push(word(UNITS, r));
    }
    parts.join(" e ")
}

/// A number as said in pt-BR: 1720 → "mil setecentos e vinte" (below a million).
pub fn number_words(n: u32) -> String {
    if n < 1000 {
        return below_1000(n);
    }
    let (th, r) = (n / 1000, n % 1000);
    let head = if th == 1 {
        "mil".to_string()
    } else {
        format!("{} mil", below_1000(th))
    };
    match r {
        0 => head,
        r if r < 100 || r % 100 == 0 => format!("{head} e {}", below_1000(r)),
        r => format!("{head} {}", below_1000(r)),
    }
}

/// The number as a recogniser writes it: digits, words, digit by digit,
/// "1.720", with or without "número".
fn spoken_number(n: u32, rng: &mut Rng) -> String {
    let r = rng.below(100);
    let s = if r < 55 {
        n.to_string()
    } else if r < 75 {
        number_words(n)
    } else if r < 88 && n >= 100 {
        let meia = rng.chance(0.3);
        let digits = n.to_string();
        let words: Vec<&str> = digits
            .bytes()
            .map(|b| match b - b'0' {
                6 if meia => "meia",
                d => word(UNITS, usize::from(d)),
            })
            .collect();
        words.join(" ")
    } else if n >= 1000 {
        format!("{}.{:03}", n / 1000, n % 1000)
    } else {
        format!("{} {n}", ["nº", "n.", "n°"][rng.below(3)])
    };
    let prefixed = matches!(s.split(' ').next(), Some("nº" | "n." | "n°"));
    if rng.chance(0.1) && !prefixed {
        format!("número {s}")
    } else {
        s
    }
}

/// The word with one letter (not the first) changed, dropped or doubled.
fn misspelt(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let letters: Vec<usize> = (1..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    let Some(&i) = (!letters.is_empty()).then(|| rng.pick(&letters)) else {
        return word.to_string();
    };
    // recognisers mostly drop or swap a letter, now and then double one
    match rng.below(20) {
        0..8 => {
            chars.remove(i);
        }
        8..17 => {
            let vowel = "aeiou".contains(chars[i]);
            let to = if vowel { "aeio" } else { "rlns" };
            chars[i] = to.chars().nth(rng.below(4)).unwrap_or('e');
        }
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

fn unaccented(s: &str) -> String {
    const FROM: &str = "áàâãéêíóôõúüçÁÂÃÉÊÍÓÔÚÇ";
    const TO: &str = "aaaaeeiooouucAAAEEIOOUC";
    let at = |c| FROM.chars().position(|f| f == c);
    s.chars()
        .map(|c| at(c).and_then(|i| TO.chars().nth(i)).unwrap_or(c))
        .collect()
}

/// Recogniser-style spoken forms of `n` random rows of a gazetteer CSV (any
/// column order; rows without a street are skipped): types and titles said in
/// full or dropped, now and then a wrong type, a dropped particle, a letter
/// off, the number in any of the ways recognisers write it, a complement,
/// filler before and the neighbourhood, city or state after. The same for the
/// same seed. Empty when the CSV has no usable row.
pub fn sample_transcripts(csv: &str, n: usize, seed: u64) -> Vec<String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let Ok(header) = reader.headers().cloned() else {
        return Vec::new();
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(street), Some(number)) = (col("street"), col("number")) else {
        return Vec::new();
    };
    let (hood, city, state) = (col("neighbourhood"), col("city"), col("state"));
    let rows: Vec<Vec<String>> = reader
        .records()
        .map_while(Result::ok)
        .map(|r| r.iter().map(str::to_string).collect::<Vec<String>>())
        .filter(|f| f.get(street).is_some_and(|s| !s.trim().is_empty()))
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let names = Names::new();
    let get = |row: &[String], i: Option<usize>| i.and_then(|i| row.get(i)).cloned();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let row = rng.pick(&rows);
        let mut words: Vec<String> = names.in_full(&row[street]);
        if words.len() > 1 && TYPES.iter().any(|t| t.0 == words[0]) {
            if rng.chance(0.15) {
                words.remove(0);
            } else if rng.chance(0.06) {
                words[0] = if words[0] == "Rua" { "Avenida" } else { "Rua" }.into();
            }
        }
        if rng.chance(0.1) {
            let particle = (2..words.len().saturating_sub(1))
                .find(|&i| matches!(words[i].as_str(), "da" | "de" | "do" | "dos" | "das"));
            if let Some(i) = particle {
                words.remove(i);
            }
        }
        if rng.chance(0.2) {
            let long: Vec<usize> = (0..words.len())
                .filter(|&i| words[i].chars().count() >= 5)
                .collect();
            if !long.is_empty() {
                let i = *rng.pick(&long);
                words[i] = misspelt(&words[i], &mut rng);
            }
        }
        let name = words.join(" ");
        let num = match row.get(number).map(String::as_str) {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => d.parse().ok(),
            _ if rng.chance(0.5) => None,
            _ => Some(rng.range(1, 1500)),
        };
        let spoken = match num {
            Some(n) => spoken_number(n, &mut rng),
            None => ["sem número", "s/n"][rng.below(2)].to_string(),
        };
        let first = num.filter(|_| rng.chance(0.05));
        let mut t = if let Some(n) = first {
            // "o 900 da Delminda Silveira": digits or words, no prefix
            let n = if rng.chance(0.7) {
                n.to_string()
            } else {
                number_words(n)
            };
            format!("o {n} da {name}")
        } else {
            let sep = if rng.chance(0.5) { ", " } else { " " };
            format!("{name}{sep}{spoken}")
        };
        if rng.chance(0.1) {
            let c = match rng.below(4) {
                0 => format!("apartamento {}{:02}", rng.range(1, 12), rng.range(1, 8)),
                1 => format!("bloco {}", rng.pick(&['A', 'B', 'C', 'D'])),
                2 => format!("casa {}", rng.range(1, 4)),
                _ => format!("apto {}", rng.range(11, 42)),
            };
            t = format!("{t} {c}");
        }
        for (i, p) in [(hood, 0.3), (city, 0.3), (state, 0.08)] {
            if let Some(v) = get(row.as_slice(), i).filter(|v| !v.is_empty())
                && rng.chance(p)
            {
                t = format!("{t}, {v}");
            }
        }
        if first.is_none() && rng.chance(0.15) {
            let filler = list("é na, moro na, hum, o endereço é, fica na, eu moro na, é");
            t = format!("{} {t}", rng.pick(&filler));
        }
        if rng.chance(0.15) {
            t = unaccented(&t);
        }
        if rng.chance(0.35) {
            t = t.to_lowercase();
        }
        out.push(t);
    }
    out
}
