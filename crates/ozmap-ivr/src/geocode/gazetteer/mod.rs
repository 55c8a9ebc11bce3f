//! An offline geocoder over a CSV of the ISP's own addresses with coordinates.
//!
//! Why it exists: no registry package maps Brazilian addresses or CEPs to
//! coordinates offline, and an ISP usually knows its own streets far better than
//! a public geocoder does. The file is small (a town, a few neighbourhoods), so
//! a linear scan per query is fast enough and keeps the code easy to follow.
//!
//! Format (header required, columns in any order, extra columns ignored):
//!
//! ```text
//! cep,street,number,neighbourhood,city,state,lat,lng
//! 88025500,R. Delminda Silveira,900,Agronômica,Florianópolis,SC,-27.578,-48.527
//! 88025500,R. Delminda Silveira,,Agronômica,Florianópolis,SC,-27.579,-48.527
//! ```
//!
//! A row with an empty `number` is *street-level*: the position used for any
//! house on that street that has no row of its own.
//!
//! Matching spoken text works on *tokens*: number words become digits (as the
//! speech layer does), letters are lower-cased and stripped of accents, common
//! abbreviations are expanded ("R." → rua, "Dr." → doutor) and fillers such as
//! "número" are dropped. A street matches when every significant word of its
//! name appears in the text, in order, with small gaps allowed; the type word
//! (rua, avenida…) may be missing or different and titles (doutor, professor…)
//! are optional. The best match covers the most words; the city and
//! neighbourhood words in the text break ties between same-named streets.
//! A street whose name is also a city or neighbourhood name ("Rua Florianópolis")
//! only matches when a type word comes right before it, so a city said at the end
//! of an address is not mistaken for a street; so does a name made only of
//! digits ("Rua 1"), so a house number is not mistaken for one.
//!
//! The house number is the first number after the street name (else the nearest
//! before it), skipping digits that belong to a CEP or follow "apto", "bloco"…

use super::{CepAddress, GeoError, GeoQuery};
use ivr_core::domain::{Cep, Place};
use ivr_core::speech::with_numbers;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The bundled file, compiled in so the service runs with no setup.
const BUNDLED_CSV: &str = include_str!("../../../../../data/gazetteer.csv");

/// The columns the header must name.
pub const COLUMNS: [&str; 8] = [
    "cep",
    "street",
    "number",
    "neighbourhood",
    "city",
    "state",
    "lat",
    "lng",
];

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
fn key_tokens(s: &str) -> Vec<String> {
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
fn number_key(n: &str) -> String {
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
fn number_value(n: &str) -> Option<u64> {
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
struct StreetName {
    /// The type word ("rua"), when the name starts with one.
    kind: Option<String>,
    /// Significant words, in order, that a text must contain.
    required: Vec<String>,
    /// Titles that may be left out.
    optional: Vec<String>,
}

/// How well a row fits a spoken text, compared in this order: words of the
/// street name found, city (2) and neighbourhood (1) named, the street's own type
/// word said, titles said, tightness of the match.
type Rank = (usize, u8, bool, usize, usize);

/// Where a street name was found in a text.
#[derive(Clone, Copy)]
struct StreetMatch {
    start: usize,
    end: usize,
    required: usize,
    optional: usize,
    /// A street type word right before the name (a title or connective may sit
    /// between: "rua *doutor* X", "avenida *das* Flores").
    type_right_before: bool,
    same_type_before: bool,
}

impl StreetName {
    fn new(street: &str) -> Self {
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
    fn find_in(&self, text: &[String]) -> Option<StreetMatch> {
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
fn house_number_near(text: &[String], m: &StreetMatch) -> Option<String> {
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
fn mentions(text: &[String], key: &[String], skip: Option<(usize, usize)>) -> bool {
    !key.is_empty()
        && key.iter().all(|k| {
            text.iter()
                .enumerate()
                .any(|(i, t)| t == k && skip.is_none_or(|(s, e)| i < s || i > e))
        })
}

struct Row {
    cep: Option<Cep>,
    street: String,
    number: Option<String>,
    neighbourhood: Option<String>,
    city: String,
    state: Option<String>,
    lat: f64,
    lng: f64,
    street_idx: usize,
    city_key: Vec<String>,
    hood_key: Vec<String>,
    number_key: Option<String>,
}

impl Row {
    fn place(&self, number: Option<String>) -> Place {
        Place {
            street: self.street.clone(),
            number,
            neighbourhood: self.neighbourhood.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            cep: self.cep.clone(),
            lat: self.lat,
            lng: self.lng,
        }
    }
}

/// The ISP's addresses, parsed and ready to match.
pub struct Gazetteer {
    rows: Vec<Row>,
    streets: Vec<StreetName>,
    /// Street indexes whose name is also a city or neighbourhood name, or only
    /// digits ("Rua 1"): these need a type word right before them.
    ambiguous: HashSet<usize>,
}

/// Rows can hold addresses: only the size is printed.
impl fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gazetteer(rows={})", self.rows.len())
    }
}

fn bad_line(line: usize, reason: impl fmt::Display) -> GeoError {
    GeoError::BadResponse(format!("gazetteer line {line}: {reason}"))
}

/// Splits CSV text into records, each with the line it starts on. Handles quoted
/// fields (commas, doubled quotes and line breaks inside quotes), CRLF, a BOM.
/// Blank lines are skipped.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, GeoError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut after_quote = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    let mut end_record = |fields: &mut Vec<String>, field: &mut String, record_line: usize| {
        fields.push(std::mem::take(field));
        let record = std::mem::take(fields);
        if !(record.len() == 1 && record[0].trim().is_empty()) {
            records.push((record_line, record));
        }
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                after_quote = false;
            }
            '\n' => {
                end_record(&mut fields, &mut field, record_line);
                after_quote = false;
                line += 1;
                record_line = line;
            }
            '\r' => {}
            '"' if !after_quote && field.trim().is_empty() => {
                field.clear();
                in_quotes = true;
            }
            '"' => return Err(bad_line(line, "a quote inside an unquoted field")),
            _ if after_quote => {
                if !c.is_whitespace() {
                    return Err(bad_line(line, "text after a closing quote"));
                }
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(bad_line(record_line, "a quoted field is not closed"));
    }
    if !fields.is_empty() || !field.is_empty() {
        end_record(&mut fields, &mut field, record_line);
    }
    Ok(records)
}

fn optional(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn coordinate(raw: &str, name: &str, limit: f64, line: usize) -> Result<f64, GeoError> {
    let v: f64 = raw
        .trim()
        .parse()
        .map_err(|_| bad_line(line, format!("{name} is not a number")))?;
    if !v.is_finite() || v.abs() > limit {
        return Err(bad_line(line, format!("{name} is out of range (±{limit})")));
    }
    Ok(v)
}

static BUNDLED: OnceLock<Result<Arc<Gazetteer>, GeoError>> = OnceLock::new();

impl Gazetteer {
    /// Parses the CSV text. An error names the line and the problem (not the value).
    pub fn parse(csv_text: &str) -> Result<Gazetteer, GeoError> {
        let mut records = csv_records(csv_text)?.into_iter();
        let (header_line, header) = records.next().ok_or_else(|| {
            bad_line(
                1,
                "no header (expected cep,street,number,neighbourhood,city,state,lat,lng)",
            )
        })?;
        let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut col = [0usize; COLUMNS.len()];
        for (slot, wanted) in col.iter_mut().zip(COLUMNS) {
            *slot = names.iter().position(|n| n == wanted).ok_or_else(|| {
                bad_line(header_line, format!("the header has no `{wanted}` column"))
            })?;
        }
        let [
            c_cep,
            c_street,
            c_number,
            c_hood,
            c_city,
            c_state,
            c_lat,
            c_lng,
        ] = col;

        let mut rows = Vec::new();
        let mut streets: Vec<StreetName> = Vec::new();
        let mut street_index: HashMap<String, usize> = HashMap::new();
        let mut place_keys: HashSet<Vec<String>> = HashSet::new();
        for (line, fields) in records {
            if fields.len() != names.len() {
                return Err(bad_line(
                    line,
                    format!("expected {} fields, found {}", names.len(), fields.len()),
                ));
            }
            let field = |i: usize| fields.get(i).map(String::as_str).unwrap_or("");
            let street = field(c_street).trim().to_string();
            if street.is_empty() {
                return Err(bad_line(line, "street is empty"));
            }
            let city = field(c_city).trim().to_string();
            if city.is_empty() {
                return Err(bad_line(line, "city is empty"));
            }
            let cep = match optional(field(c_cep)) {
                None => None,
                Some(raw) => {
                    Some(Cep::parse(&raw).ok_or_else(|| bad_line(line, "cep is not 8 digits"))?)
                }
            };
            let state = match optional(field(c_state)) {
                None => None,
                Some(uf) if uf.len() == 2 && uf.chars().all(|c| c.is_ascii_alphabetic()) => {
                    Some(uf.to_ascii_uppercase())
                }
                Some(_) => return Err(bad_line(line, "state is not a two-letter UF")),
            };
            let lat = coordinate(field(c_lat), "lat", 90.0, line)?;
            let lng = coordinate(field(c_lng), "lng", 180.0, line)?;
            let number = optional(field(c_number));
            let neighbourhood = optional(field(c_hood));

            let street_idx = match street_index.get(&street) {
                Some(&i) => i,
                None => {
                    streets.push(StreetName::new(&street));
                    let i = streets.len() - 1;
                    street_index.insert(street.clone(), i);
                    i
                }
            };
            let city_key = key_tokens(&city);
            let hood_key = neighbourhood.as_deref().map(key_tokens).unwrap_or_default();
            place_keys.insert(city_key.clone());
            if !hood_key.is_empty() {
                place_keys.insert(hood_key.clone());
            }
            rows.push(Row {
                cep,
                number_key: number.as_deref().map(number_key),
                street,
                number,
                neighbourhood,
                city,
                state,
                lat,
                lng,
                street_idx,
                city_key,
                hood_key,
            });
        }
        let ambiguous = streets
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                place_keys.contains(&s.required)
                    || s.required
                        .iter()
                        .all(|t| t.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(i, _)| i)
            .collect();
        Ok(Gazetteer {
            rows,
            streets,
            ambiguous,
        })
    }

    /// Reads and parses a gazetteer file.
    pub fn load(path: &Path) -> Result<Gazetteer, GeoError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            GeoError::Unavailable(format!(
                "gazetteer file {} could not be read ({})",
                path.display(),
                e.kind()
            ))
        })?;
        Self::parse(&text)
    }

    /// The bundled `data/gazetteer.csv`, parsed once.
    pub(crate) fn try_bundled() -> Result<Arc<Gazetteer>, GeoError> {
        BUNDLED
            .get_or_init(|| Self::parse(BUNDLED_CSV).map(Arc::new))
            .clone()
    }

    /// The bundled `data/gazetteer.csv`. If it were ever broken this logs the
    /// error and returns an empty gazetteer (every lookup misses);
    /// [`super::Locator::from_config`] refuses to start instead.
    pub fn bundled() -> Arc<Gazetteer> {
        Self::try_bundled().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the bundled gazetteer does not parse");
            Arc::new(Gazetteer {
                rows: Vec::new(),
                streets: Vec::new(),
                ambiguous: HashSet::new(),
            })
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Geocodes a query against the rows; `None` when no street matches.
    pub fn geocode(&self, q: &GeoQuery) -> Option<Place> {
        match q {
            GeoQuery::Free(text) => self.geocode_free(text),
            GeoQuery::Structured {
                street,
                number,
                neighbourhood,
                city,
                state,
                cep,
            } => self.geocode_structured(
                street,
                number.as_deref(),
                neighbourhood.as_deref(),
                city,
                state.as_deref(),
                cep.as_ref(),
            ),
        }
    }

    /// The street a CEP belongs to: its street-level row, else any row with it.
    pub fn lookup(&self, cep: &Cep) -> Option<CepAddress> {
        let mut with_cep = self.rows.iter().filter(|r| r.cep.as_ref() == Some(cep));
        let first = with_cep.next()?;
        let row = if first.number.is_none() {
            first
        } else {
            with_cep.find(|r| r.number.is_none()).unwrap_or(first)
        };
        Some(CepAddress {
            street: row.street.clone(),
            neighbourhood: row.neighbourhood.clone(),
            city: row.city.clone(),
            state: row.state.clone(),
        })
    }

    fn geocode_free(&self, text: &str) -> Option<Place> {
        let toks = tokens(text);
        if toks.is_empty() {
            return None;
        }
        let found: Vec<Option<StreetMatch>> = self
            .streets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.find_in(&toks)
                    .filter(|m| !self.ambiguous.contains(&i) || m.type_right_before)
            })
            .collect();
        let mut best: Option<(&Row, StreetMatch, Rank)> = None;
        for row in &self.rows {
            let Some(m) = found.get(row.street_idx).copied().flatten() else {
                continue;
            };
            let span = Some((m.start, m.end));
            let place = 2 * u8::from(mentions(&toks, &row.city_key, span))
                + u8::from(mentions(&toks, &row.hood_key, span));
            let score = (
                m.required,
                place,
                m.same_type_before,
                m.optional,
                usize::MAX - (m.end - m.start),
            );
            if best.as_ref().is_none_or(|(_, _, b)| score > *b) {
                best = Some((row, m, score));
            }
        }
        let (anchor, m, _) = best?;
        let group: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.street_idx == anchor.street_idx && r.city_key == anchor.city_key)
            .collect();
        let number = house_number_near(&toks, &m);
        let span = Some((m.start, m.end));
        choose(&group, number, |r| mentions(&toks, &r.hood_key, span))
    }

    fn geocode_structured(
        &self,
        street: &str,
        number: Option<&str>,
        neighbourhood: Option<&str>,
        city: &str,
        state: Option<&str>,
        cep: Option<&Cep>,
    ) -> Option<Place> {
        let name = StreetName::new(street);
        let city_key = key_tokens(city);
        let hood_key = neighbourhood.map(key_tokens).unwrap_or_default();
        let state_ok = |r: &Row| match (state, &r.state) {
            (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b),
            _ => true,
        };
        let same_street = |r: &Row| {
            self.streets
                .get(r.street_idx)
                .is_some_and(|s| !s.required.is_empty() && s.required == name.required)
        };
        let mut candidates: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| same_street(r) && r.city_key == city_key && state_ok(r))
            .collect();
        if candidates.is_empty()
            && let Some(cep) = cep
        {
            candidates = self
                .rows
                .iter()
                .filter(|r| r.cep.as_ref() == Some(cep))
                .collect();
        }
        let same_kind = |r: &&&Row| {
            name.kind.is_some()
                && self.streets.get(r.street_idx).map(|s| &s.kind) == Some(&name.kind)
        };
        let anchor = candidates
            .iter()
            .find(same_kind)
            .or_else(|| candidates.first())?;
        let group: Vec<&Row> = candidates
            .iter()
            .filter(|r| r.street_idx == anchor.street_idx)
            .copied()
            .collect();
        let number = number.and_then(optional);
        let mut place = choose(&group, number, |r| {
            !hood_key.is_empty() && r.hood_key == hood_key
        })?;
        if cep.is_some() {
            place.cep = cep.cloned();
        }
        Some(place)
    }
}

/// Picks the row for a house on one street: the row with that number; else the
/// street-level row, with the caller's number; else the row with the nearest
/// number, with the caller's number. Rows where `prefer` holds (their
/// neighbourhood was named) come first. `None` only when `group` is empty.
fn choose(group: &[&Row], number: Option<String>, prefer: impl Fn(&Row) -> bool) -> Option<Place> {
    fn pick<'a>(rows: Vec<&'a Row>, prefer: &impl Fn(&Row) -> bool) -> Option<&'a Row> {
        rows.iter()
            .find(|r| prefer(r))
            .or_else(|| rows.first())
            .copied()
    }
    let street_level = || {
        pick(
            group
                .iter()
                .filter(|r| r.number.is_none())
                .copied()
                .collect(),
            &prefer,
        )
    };
    let any = || pick(group.to_vec(), &prefer);
    let Some(n) = number else {
        return street_level().or_else(any).map(|row| row.place(None));
    };
    let key = number_key(&n);
    let exact = pick(
        group
            .iter()
            .filter(|r| r.number_key.as_deref() == Some(key.as_str()))
            .copied()
            .collect(),
        &prefer,
    );
    if let Some(row) = exact {
        return Some(row.place(row.number.clone().or(Some(n))));
    }
    let nearest = || {
        let want = number_value(&n)?;
        group
            .iter()
            .filter_map(|r| Some((*r, number_value(r.number.as_deref()?)?.abs_diff(want))))
            .min_by_key(|(_, d)| *d)
            .map(|(r, _)| r)
    };
    street_level()
        .or_else(nearest)
        .or_else(any)
        .map(|row| row.place(Some(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIXTURE: &str = "\
cep,street,number,neighbourhood,city,state,lat,lng
88025500,R. Delminda Silveira,900,Agronômica,Florianópolis,SC,-27.5782336721312,-48.527442812919624
88025500,R. Delminda Silveira,,Agronômica,Florianópolis,SC,-27.5779,-48.5286
88025000,R. Frei Caneca,,Agronômica,Florianópolis,SC,-27.5813,-48.5335
88101000,Rua Delminda Silveira,,Centro,São José,SC,-27.6000,-48.6300
88130000,Rua Florianópolis,,Centro,Palhoça,SC,-27.6400,-48.6700
88034000,\"Rua Professor Ayrton Roberto de Oliveira\",,Itacorubi,Florianópolis,SC,-27.5800,-48.5000
88010000,R. Sete de Setembro,,Centro,Florianópolis,SC,-27.5900,-48.5500
88010000,R. Sete de Setembro,100,Centro,Florianópolis,SC,-27.5910,-48.5510
88020000,Rua 1,,Centro,Biguaçu,SC,-27.4900,-48.6500
";

    fn g() -> Gazetteer {
        Gazetteer::parse(FIXTURE).unwrap()
    }

    fn free(text: &str) -> Option<Place> {
        g().geocode(&GeoQuery::Free(text.into()))
    }

    fn err_text(csv: &str) -> String {
        Gazetteer::parse(csv).unwrap_err().to_string()
    }

    #[test]
    fn parses_rows_quotes_crlf_and_a_bom() {
        assert_eq!(g().len(), 9);
        let csv = "\u{feff}lat,lng,cep,street,number,neighbourhood,city,state,extra\r\n\
                   -27.1,-48.2,88000-000,\"Rua \"\"Nova\"\", Trecho 2\",\"12\",\"Bairro,\nDois\",Cidade,sc,x\r\n\
                   \r\n";
        let gz = Gazetteer::parse(csv).unwrap();
        assert_eq!(gz.len(), 1);
        let row = &gz.rows[0];
        assert_eq!(row.street, "Rua \"Nova\", Trecho 2");
        assert_eq!(row.neighbourhood.as_deref(), Some("Bairro,\nDois"));
        assert_eq!(row.number.as_deref(), Some("12"));
        assert_eq!(row.state.as_deref(), Some("SC"));
        assert_eq!(row.cep, Cep::parse("88000000"));
        assert_eq!(row.lat, -27.1);
        assert_eq!(format!("{gz:?}"), "Gazetteer(rows=1)");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let header = "cep,street,number,neighbourhood,city,state,lat,lng\n";
        let ok = "88025500,Rua A,1,B,C,SC,-27,-48\n";
        let e = err_text(&format!("{header}{ok}88025500,Rua A,1,B,C,SC,north,-48\n"));
        assert!(e.contains("line 3") && e.contains("lat"), "{e}");
        let e = err_text(&format!("{header}{ok}{ok}88025500,Rua A,1,B,C,SC,-27\n"));
        assert!(
            e.contains("line 4") && e.contains("expected 8 fields"),
            "{e}"
        );
        let e = err_text(&format!("{header}123,Rua A,1,B,C,SC,-27,-48\n"));
        assert!(e.contains("line 2") && e.contains("cep"), "{e}");
        let e = err_text(&format!(
            "{header}{ok}88025500,\"Rua A,1,B,C,SC,-27,-48\n{ok}"
        ));
        assert!(e.contains("line 3") && e.contains("not closed"), "{e}");
        let e = err_text(&format!("{header}88025500,Rua A,1,B,,SC,-27,-48\n"));
        assert!(e.contains("line 2") && e.contains("city"), "{e}");
        let e = err_text(&format!(
            "{header}88025500,Rua A,1,B,C,Santa Catarina,-27,-48\n"
        ));
        assert!(e.contains("line 2") && e.contains("state"), "{e}");
        let e = err_text(&format!("{header}88025500,Rua A,1,B,C,SC,-97,-48\n"));
        assert!(e.contains("line 2") && e.contains("out of range"), "{e}");
        let e = err_text("cep,street,number,city,state,lat,lng\n");
        assert!(e.contains("line 1") && e.contains("neighbourhood"), "{e}");
        let e = err_text("");
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
        let e = err_text(&format!("{header}88025500,Rua \"A\",1,B,C,SC,-27,-48\n"));
        assert!(e.contains("line 2") && e.contains("quote"), "{e}");
        // The value that was wrong is not repeated (it could be an address).
        let e = err_text(&format!(
            "{header}88025500,Rua A,1,B,C,SC,Rua Secreta,-48\n"
        ));
        assert!(!e.contains("Secreta"), "{e}");
    }

    #[test]
    fn the_bundled_file_parses() {
        let bundled = Gazetteer::try_bundled().unwrap();
        assert!(!bundled.is_empty());
        assert_eq!(Gazetteer::bundled().len(), bundled.len());
    }

    fn assert_tutorial(p: Option<Place>) {
        let p = p.expect("the tutorial address should match");
        assert_eq!(
            p.postal(),
            "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
        );
        assert_eq!(p.lat, -27.5782336721312);
        assert_eq!(p.lng, -48.527442812919624);
    }

    #[test]
    fn the_tutorial_sentence_and_its_variants_match() {
        assert_tutorial(free(
            "Rua Delminda Silveira, 900, Agronômica, Florianópolis",
        ));
        assert_tutorial(free("R. Delminda Silveira 900"));
        assert_tutorial(free("delminda silveira numero 900"));
        assert_tutorial(free(
            "rua delminda silveira nº 900 agronomica florianopolis",
        ));
        assert_tutorial(free("Av. Delminda Silveira, n. 900"));
        assert_tutorial(free("moro na rua delminda silveira novecentos"));
        assert_tutorial(free("é o 900 da Delminda Silveira"));
        assert_tutorial(free("RUA DELMINDA SILVEIRA 0900 AGRONÔMICA"));
    }

    #[test]
    fn unknown_streets_do_not_match() {
        assert!(free("Rua das Flores 10, Florianópolis").is_none());
        assert!(free("Silveira 900").is_none());
        assert!(free("").is_none());
        assert!(free(" , . ").is_none());
        // A city said at the end is not taken for "Rua Florianópolis".
        assert!(free("Rua Bocaiúva 100, Florianópolis").is_none());
        // Nor a house number for "Rua 1".
        assert!(free("Rua das Flores 1").is_none());
        let p = free("Rua 1, número 30, Biguaçu").unwrap();
        assert_eq!(
            (p.street.as_str(), p.number.as_deref()),
            ("Rua 1", Some("30"))
        );
    }

    #[test]
    fn a_number_not_listed_gets_the_street_level_position() {
        let p = free("Rua Delminda Silveira 1234 Agronômica").unwrap();
        assert_eq!(p.number.as_deref(), Some("1234"));
        assert_eq!((p.lat, p.lng), (-27.5779, -48.5286));
        assert_eq!(p.cep, Cep::parse("88025500"));
        let p = free("Rua Delminda Silveira, Florianópolis").unwrap();
        assert_eq!(p.number, None);
        assert_eq!((p.lat, p.lng), (-27.5779, -48.5286));
    }

    #[test]
    fn place_words_break_ties_between_same_named_streets() {
        let p = free("Delminda Silveira 900, São José").unwrap();
        assert_eq!(p.city, "São José");
        assert_eq!(p.number.as_deref(), Some("900"));
        assert_eq!((p.lat, p.lng), (-27.6, -48.63));
        let p = free("Delminda Silveira 900, Florianópolis").unwrap();
        assert_eq!(p.city, "Florianópolis");
    }

    #[test]
    fn streets_named_after_places_need_their_type_word() {
        let p = free("Rua Frei Caneca 50, Florianópolis").unwrap();
        assert_eq!(p.street, "R. Frei Caneca");
        let p = free("Rua Florianópolis 20, Palhoça").unwrap();
        assert_eq!(p.street, "Rua Florianópolis");
        assert_eq!(p.number.as_deref(), Some("20"));
    }

    #[test]
    fn titles_are_optional_and_number_words_match_digits() {
        let p = free("rua ayrton roberto de oliveira 45").unwrap();
        assert_eq!(p.street, "Rua Professor Ayrton Roberto de Oliveira");
        assert_eq!(p.number.as_deref(), Some("45"));
        assert!(free("Prof. Ayrton Roberto Oliveira, 45").is_some());
        let p = free("Rua 7 de Setembro 100").unwrap();
        assert_eq!((p.lat, p.number.as_deref()), (-27.591, Some("100")));
        let p = free("rua sete de setembro cem").unwrap();
        assert_eq!((p.lat, p.number.as_deref()), (-27.591, Some("100")));
        let p = free("rua sete de setembro 12").unwrap();
        assert_eq!((p.lat, p.number.as_deref()), (-27.59, Some("12")));
    }

    #[test]
    fn structured_queries_match_street_and_city() {
        let q = |street: &str, number: Option<&str>, city: &str, cep: Option<&str>| {
            g().geocode(&GeoQuery::Structured {
                street: street.into(),
                number: number.map(String::from),
                neighbourhood: None,
                city: city.into(),
                state: Some("SC".into()),
                cep: cep.and_then(Cep::parse),
            })
        };
        assert_tutorial(q(
            "Rua Delminda Silveira",
            Some("900"),
            "Florianópolis",
            None,
        ));
        let p = q("Rua Delminda Silveira", Some("5"), "Florianopolis", None).unwrap();
        assert_eq!((p.lat, p.number.as_deref()), (-27.5779, Some("5")));
        let p = q("Rua Delminda Silveira", Some("5"), "São José", None).unwrap();
        assert_eq!(p.lat, -27.6);
        assert!(q("Rua Delminda Silveira", Some("5"), "Curitiba", None).is_none());
        // The street is spelled differently from the file: the CEP finds it.
        let p = q(
            "Rua D. Silveira",
            Some("900"),
            "Florianópolis",
            Some("88025500"),
        )
        .unwrap();
        assert_eq!(p.lat, -27.5782336721312);
        assert_eq!(p.cep, Cep::parse("88025500"));
    }

    #[test]
    fn cep_lookup_prefers_the_street_level_row() {
        let a = g().lookup(&Cep::parse("88025-500").unwrap()).unwrap();
        assert_eq!(a.street, "R. Delminda Silveira");
        assert_eq!(a.neighbourhood.as_deref(), Some("Agronômica"));
        assert_eq!(a.city, "Florianópolis");
        assert_eq!(a.state.as_deref(), Some("SC"));
        assert!(g().lookup(&Cep::parse("01310100").unwrap()).is_none());
    }

    #[test]
    fn house_number_in_spoken_text() {
        let n = |t: &str| house_number_in(t, "Rua Delminda Silveira");
        assert_eq!(
            n("Rua Delminda Silveira, 900, Agronômica").as_deref(),
            Some("900")
        );
        assert_eq!(
            n("Delminda Silveira número novecentos").as_deref(),
            Some("900")
        );
        assert_eq!(n("Rua Delminda Silveira, CEP 88025500"), None);
        assert_eq!(n("Rua Delminda Silveira, 88025-500"), None);
        assert_eq!(n("Rua Delminda Silveira apto 12"), None);
        assert_eq!(
            n("Rua Delminda Silveira 900 apto 12").as_deref(),
            Some("900")
        );
        assert_eq!(
            n("Rua Delminda Silveira, cep 88025-500, 900").as_deref(),
            Some("900")
        );
        assert_eq!(n("Rua Frei Caneca 900"), None);
        assert_eq!(
            house_number_in("Rua 13 de Maio 250", "Rua Treze de Maio").as_deref(),
            Some("250")
        );
    }

    #[test]
    fn fold_strips_portuguese_accents() {
        assert_eq!(fold("ÁÀÂÃ éê í óôõ úü Ç"), "aaaa ee i ooo uu c");
        assert_eq!(
            tokens("R. Dr. Nº 9, Av"),
            vec!["rua", "doutor", "9", "avenida"]
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = Gazetteer::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_csv_like_text(
            s in "(cep,street,number,neighbourhood,city,state,lat,lng\n)?([0-9a-z\",. \n-]{0,40}(,|\n)){0,20}"
        ) {
            let _ = Gazetteer::parse(&s);
        }

        #[test]
        fn matching_never_panics(s in "\\PC{0,200}", n in proptest::option::of("\\PC{0,10}")) {
            let gz = g();
            let _ = gz.geocode(&GeoQuery::Free(s.clone()));
            let _ = gz.geocode(&GeoQuery::Structured {
                street: s.clone(),
                number: n,
                neighbourhood: Some(s.clone()),
                city: s.clone(),
                state: Some(s.clone()),
                cep: None,
            });
            let _ = house_number_in(&s, &s);
        }

        #[test]
        fn matching_never_panics_on_address_like_text(
            s in "(rua |r\\. |av |delminda |silveira |florianópolis |são josé |[0-9]{1,9} |nº |, ){0,12}"
        ) {
            let _ = g().geocode(&GeoQuery::Free(s));
        }
    }
}
