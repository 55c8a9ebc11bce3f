//! The gazetteer's CSV text into rows, with the `csv` crate.
//!
//! The `csv` crate splits records and fields (quoted fields with commas,
//! doubled quotes and line breaks, CRLF, a BOM, blank lines). It is lenient
//! about quotes where this file must not be: it keeps a stray quote as text and
//! lets an unclosed quote run to the end of the file, silently shifting every
//! later column. So each record's own text is also checked for well-formed
//! quoting ([`check_quotes`]), and such a file is refused with its line.

use super::index::Index;
use super::matching::{StreetName, place_name_key};
use super::words::{key_tokens, number_key};
use super::{COLUMNS, Gazetteer, Group, Row};
use crate::geocode::GeoError;
use csv::StringRecord;
use ivr_core::domain::Cep;
use std::collections::{HashMap, HashSet};
use std::fmt;

fn bad_line(line: usize, reason: impl fmt::Display) -> GeoError {
    GeoError::BadResponse(format!("gazetteer line {line}: {reason}"))
}

/// One CSV record, its fields trimmed, and the line it starts on.
struct Record {
    line: usize,
    fields: StringRecord,
}

impl Record {
    /// A line with nothing on it but spaces.
    fn is_blank(&self) -> bool {
        self.fields.iter().all(str::is_empty) && self.fields.len() <= 1
    }
}

/// Splits CSV text into its header and its records, each with the line it
/// starts on. Fields are trimmed; blank lines (also lines of spaces, which the
/// reader returns as records) are skipped, so the header is the first line that
/// is not blank; the quoting of every record is checked. `None` for the header
/// when the text has none.
fn records(text: &str) -> Result<(Option<Record>, Vec<Record>), GeoError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(unreadable)?.clone();
    let mut all = vec![header];
    for record in reader.records() {
        all.push(record.map_err(unreadable)?);
    }

    // Each record's own text runs from where the reader started it to where it
    // started the next one, less the blank lines it skipped first.
    let starts: Vec<usize> = all
        .iter()
        .map(|r| r.position().map_or(0, |p| p.byte()))
        .map(|b| usize::try_from(b).unwrap_or(usize::MAX))
        .collect();
    let (mut line, mut counted) = (1, 0); // the line `text[counted..]` starts on
    let mut out = Vec::with_capacity(all.len());
    for (i, fields) in all.into_iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let mut start = starts[i].min(end);
        if i == 0 && text.starts_with('\u{feff}') {
            start = start.max('\u{feff}'.len_utf8()).min(end);
        }
        while start < end && matches!(text.as_bytes()[start], b'\r' | b'\n') {
            start += 1;
        }
        line += line_breaks(text, counted, start);
        counted = start;
        check_quotes(text.get(start..end).unwrap_or(""), line)?;
        out.push(Record { line, fields });
    }
    let mut records = out.into_iter().filter(|r| !r.is_blank());
    let header = records.next();
    Ok((header, records.collect()))
}

/// Whether `c` ends a line, as the reader counts them: `\n`, or a `\r` that is
/// not followed by one.
fn ends_line(c: char, next: Option<&char>) -> bool {
    c == '\n' || (c == '\r' && next != Some(&'\n'))
}

/// The line breaks in `text[from..to]`, as the reader counts them: `\n`, or a
/// `\r` that is not followed by one.
fn line_breaks(text: &str, from: usize, to: usize) -> usize {
    let bytes = text.as_bytes();
    (from..to.min(bytes.len()))
        .filter(|&i| bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// The reader only fails on text that is not UTF-8, which a `&str` never is.
fn unreadable(e: csv::Error) -> GeoError {
    let line = e
        .position()
        .and_then(|p| usize::try_from(p.line()).ok())
        .unwrap_or(1);
    bad_line(line, "not readable as CSV")
}

/// Checks the quoting of one record's text (`line` is the line it starts on): a
/// quoted field starts right after the comma and ends at its closing quote, with
/// only spaces after it; an unquoted field has no quote in it. A quote after
/// leading spaces (`a, "b"`) is refused too: the reader would keep it as text.
fn check_quotes(text: &str, line: usize) -> Result<(), GeoError> {
    enum Field {
        Start,
        /// `blank`: only spaces so far.
        Unquoted {
            blank: bool,
        },
        Quoted,
        Closed,
    }
    let mut field = Field::Start;
    let mut at = line;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        field = match (field, c) {
            (Field::Quoted, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                Field::Quoted
            }
            (Field::Quoted, '"') => Field::Closed,
            (Field::Quoted, c) => {
                at += usize::from(ends_line(c, chars.peek()));
                Field::Quoted
            }
            (_, ',') => Field::Start,
            (_, '\r' | '\n') => {
                at += usize::from(ends_line(c, chars.peek()));
                Field::Start
            }
            (Field::Start, '"') => Field::Quoted,
            (Field::Unquoted { blank: true }, '"') => {
                return Err(bad_line(
                    at,
                    "a quote after a space (a quoted field starts right after the comma)",
                ));
            }
            (Field::Unquoted { .. } | Field::Closed, '"') => {
                return Err(bad_line(at, "a quote inside an unquoted field"));
            }
            (Field::Start, c) => Field::Unquoted {
                blank: c.is_whitespace(),
            },
            (Field::Unquoted { blank }, c) => Field::Unquoted {
                blank: blank && c.is_whitespace(),
            },
            (Field::Closed, c) if c.is_whitespace() => Field::Closed,
            (Field::Closed, _) => return Err(bad_line(at, "text after a closing quote")),
        };
    }
    if matches!(field, Field::Quoted) {
        return Err(bad_line(line, "a quoted field is not closed"));
    }
    Ok(())
}

/// The trimmed text, `None` when empty.
pub(super) fn optional(s: &str) -> Option<String> {
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

impl Gazetteer {
    /// Parses the CSV text. An error names the line and the problem (not the value).
    pub(crate) fn parse(csv_text: &str) -> Result<Gazetteer, GeoError> {
        let (header, records) = records(csv_text)?;
        let header = header.ok_or_else(|| {
            bad_line(
                1,
                "no header (expected cep,street,number,neighbourhood,city,state,lat,lng)",
            )
        })?;
        let names: Vec<String> = header.fields.iter().map(str::to_lowercase).collect();
        let mut col = [0usize; COLUMNS.len()];
        for (slot, wanted) in col.iter_mut().zip(COLUMNS) {
            *slot = names.iter().position(|n| n == wanted).ok_or_else(|| {
                bad_line(header.line, format!("the header has no `{wanted}` column"))
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
        let mut keys: HashMap<String, Vec<String>> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut group_index: HashMap<(usize, Vec<String>, Vec<String>), usize> = HashMap::new();
        let mut cities: Vec<Vec<String>> = Vec::new();
        for Record { line, fields } in records {
            if fields.len() != names.len() {
                return Err(bad_line(
                    line,
                    format!("expected {} fields, found {}", names.len(), fields.len()),
                ));
            }
            let field = |i: usize| fields.get(i).unwrap_or("");
            let street = field(c_street).to_string();
            if street.is_empty() {
                return Err(bad_line(line, "street is empty"));
            }
            let city = field(c_city).to_string();
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
            // Many rows share a city and a neighbourhood: their keys are made once.
            let city_key = keys
                .entry(city.clone())
                .or_insert_with(|| key_tokens(&city))
                .clone();
            let hood_key = match neighbourhood.as_deref() {
                Some(h) => keys
                    .entry(h.to_string())
                    .or_insert_with(|| key_tokens(h))
                    .clone(),
                None => Vec::new(),
            };
            place_keys.insert(city_key.clone());
            if !hood_key.is_empty() {
                place_keys.insert(hood_key.clone());
            }
            let city_id = match cities.iter().position(|c| *c == city_key) {
                Some(i) => i,
                None => {
                    cities.push(city_key.clone());
                    cities.len() - 1
                }
            };
            let group = *group_index
                .entry((street_idx, city_key.clone(), hood_key.clone()))
                .or_insert_with(|| {
                    groups.push(Group {
                        rows: Vec::new(),
                        city: city_id,
                        hood_key: hood_key.clone(),
                        cep: cep.clone(),
                    });
                    groups.len() - 1
                });
            groups[group].rows.push(rows.len());
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
        // A street named as a place ("Rua Florianópolis") needs its type word.
        let place_names: HashSet<String> = place_keys.iter().map(|k| place_name_key(k)).collect();
        for s in &mut streets {
            if place_names.contains(s.plain.as_str()) {
                s.needs_type = true;
            }
        }
        let mut street_groups = vec![Vec::new(); streets.len()];
        for (i, grp) in groups.iter().enumerate() {
            if let Some(&first) = grp.rows.first() {
                street_groups[rows[first].street_idx].push(i);
            }
        }
        let numbered = (0..streets.len())
            .filter(|&i| streets[i].is_numbered())
            .collect();
        Ok(Gazetteer {
            numbered,
            index: Index::new(&streets),
            rows,
            streets,
            groups,
            street_groups,
            cities,
        })
    }
}
