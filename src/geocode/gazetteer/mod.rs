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
//! Matching a spoken text ([`matching`]) compares it with street names the way
//! a recogniser gets them wrong: numbers in any shape, accents, abbreviations,
//! a missing or wrong type word, split or fused words, a letter or two off,
//! spelling variants, particles and titles left out or added, filler before
//! and the neighbourhood, city, state or CEP after. A trigram index ([`index`])
//! picks the few names worth comparing, so a lookup stays fast with tens of
//! thousands of streets. Candidates are ranked by a score: the name's
//! similarity, then the neighbourhood, city and CEP said. The verdict never
//! passes a guess off as sure: a weak best match is a guess, and two close
//! candidates are a choice the caller is asked about.
//!
//! A street whose name is also a city or neighbourhood name ("Rua Florianópolis")
//! only matches when a type word comes right before it, so a city said at the end
//! of an address is not mistaken for a street; so does a name made only of
//! digits ("Rua 1"), so a house number is not mistaken for one.
//!
//! The house number is the first number after the street name (else the nearest
//! before it), skipping digits that belong to a CEP or follow "apto", "bloco"…;
//! what follows it ("apartamento 12", "bloco B") is the complement.
//!
//! Here: loading and the lookups. `parse` reads the CSV (with the `csv` crate)
//! into rows; `words` holds the tokens and phonetic keys, `matching` the
//! street names, windows, house numbers and complements, `decide` the verdict.

mod decide;
mod index;
mod matching;
mod parse;
#[cfg(test)]
pub(crate) mod tests;
mod words;

pub(crate) use decide::{MIN_SIMILARITY, SURE};
pub(crate) use matching::judge;
pub(crate) use words::fold;
#[cfg(test)]
pub(crate) use words::tokens;

use super::{CepAddress, GeoError, GeoQuery, Judged};
use ivr_core::domain::{Cep, HouseNumber, Place};
use matching::StreetName;
use parse::optional;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use words::{number_key, number_value};

/// The bundled file, compiled in so the service runs with no setup.
const BUNDLED_CSV: &str = include_str!("../../../data/gazetteer.csv");

/// The columns the header must name.
pub(crate) const COLUMNS: [&str; 8] = [
    "cep",
    "street",
    "number",
    "neighbourhood",
    "city",
    "state",
    "lat",
    "lng",
];

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
            number: number.as_deref().and_then(HouseNumber::parse),
            complement: None,
            neighbourhood: self.neighbourhood.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            cep: self.cep.clone(),
            lat: self.lat,
            lng: self.lng,
        }
    }
}

/// The rows of one street in one neighbourhood of one city: what the caller
/// is asked to choose between.
struct Group {
    rows: Vec<usize>,
    city: usize,
    hood_key: Vec<String>,
    cep: Option<Cep>,
}

/// The ISP's addresses, parsed and ready to match.
pub(crate) struct Gazetteer {
    rows: Vec<Row>,
    streets: Vec<StreetName>,
    index: index::Index,
    groups: Vec<Group>,
    /// The groups of each street.
    street_groups: Vec<Vec<usize>>,
    /// Key words of each distinct city.
    cities: Vec<Vec<String>>,
    /// Streets named by a number ("Rua 1"): the trigram index cannot find
    /// them, so they are always compared.
    numbered: Vec<usize>,
}

/// Rows can hold addresses: only the size is printed.
impl fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gazetteer(rows={})", self.rows.len())
    }
}

static BUNDLED: OnceLock<Result<Arc<Gazetteer>, GeoError>> = OnceLock::new();

impl Gazetteer {
    /// Reads and parses a gazetteer file.
    pub(crate) fn load(path: &Path) -> Result<Gazetteer, GeoError> {
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

    /// Number of rows.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The file's first address (`ozmap-ivr check` asks the services about it:
    /// the ISP's own address, not a caller's).
    pub(crate) fn first(&self) -> Option<Place> {
        self.rows.first().map(|r| r.place(r.number.clone()))
    }

    /// The address nearest a point, within `max_m` metres (a shared
    /// location's read-back).
    pub(crate) fn nearest(&self, lat: f64, lng: f64, max_m: f64) -> Option<Place> {
        let metres = |r: &Row| {
            let k = 111_320.0;
            let dx = (r.lng - lng) * k * lat.to_radians().cos();
            let dy = (r.lat - lat) * k;
            (dx * dx + dy * dy).sqrt()
        };
        self.rows
            .iter()
            .map(|r| (metres(r), r))
            .filter(|(d, _)| *d <= max_m)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, r)| r.place(r.number.clone()))
    }

    /// Geocodes a structured query (a CEP's street and the caller's number);
    /// `None` when the street is not in the file.
    pub(crate) fn geocode(&self, q: &GeoQuery) -> Option<Place> {
        match q {
            GeoQuery::Free(text) => match self.locate_free(text).located {
                super::Located::Sure(p) | super::Located::Guess(p) => Some(p),
                super::Located::Choice(p, _) => Some(p),
                _ => None,
            },
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
    /// A CEP that rows of several streets of one town share covers the whole
    /// town (a small town's single CEP): its address has no street, and the
    /// locator asks for the street in that town. (One street written two ways,
    /// "R." and "Rua", is one street.)
    pub(crate) fn lookup(&self, cep: &Cep) -> Option<CepAddress> {
        let mut with_cep = self.rows.iter().filter(|r| r.cep.as_ref() == Some(cep));
        let first = with_cep.next()?;
        let all = || self.rows.iter().filter(|r| r.cep.as_ref() == Some(cep));
        let same_street = |r: &Row| {
            r.street_idx == first.street_idx
                || matches!(
                    (self.streets.get(r.street_idx), self.streets.get(first.street_idx)),
                    (Some(a), Some(b)) if a.same_as(b)
                )
        };
        if all().any(|r| !same_street(r)) && all().all(|r| r.city_key == first.city_key) {
            return Some(CepAddress {
                street: String::new(),
                neighbourhood: None,
                city: first.city.clone(),
                state: first.state.clone(),
            });
        }
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

    /// A spoken address: what was found and how sure the match is.
    pub(crate) fn locate_free(&self, text: &str) -> Judged {
        decide::locate(self, text)
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
        let city_key = words::key_tokens(city);
        let hood_key = neighbourhood.map(words::key_tokens).unwrap_or_default();
        let state_ok = |r: &Row| match (state, &r.state) {
            (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b),
            _ => true,
        };
        let same_street = |r: &Row| {
            self.streets
                .get(r.street_idx)
                .is_some_and(|s| s.same_as(&name))
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

    /// The cities of the rows, each with its state (as a UF) when the row has
    /// one, distinct, in file order: the service area when `IVR_SERVICE_AREA`
    /// is unset.
    pub(crate) fn cities(&self) -> Vec<super::AreaCity> {
        let mut seen = std::collections::HashSet::new();
        let mut cities = Vec::new();
        for row in &self.rows {
            let uf = row
                .state
                .as_deref()
                .and_then(super::uf_of)
                .map(String::from);
            if seen.insert((row.city.as_str(), uf.clone())) {
                cities.push(super::AreaCity {
                    name: row.city.clone(),
                    uf,
                });
            }
        }
        cities
    }

    /// Each street name as the file writes it, with its number of rows (how much
    /// of the ISP's network is on it), ordered by name: the recogniser's hints
    /// are built from it.
    pub(crate) fn street_rows(&self) -> Vec<(String, usize)> {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for row in &self.rows {
            *counts.entry(row.street.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(street, rows)| (street.to_string(), rows))
            .collect()
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

/// The gazetteer's matcher with a small public face, for the benchmark
/// (`benches/gazetteer.rs`) and tools: parse a CSV, judge a spoken address.
pub struct AddressBook(Gazetteer);

impl AddressBook {
    /// Parses gazetteer CSV text; the error names the line.
    pub fn parse(csv_text: &str) -> Result<Self, String> {
        Gazetteer::parse(csv_text)
            .map(AddressBook)
            .map_err(|e| e.to_string())
    }

    /// Rows in the file.
    pub fn rows(&self) -> usize {
        self.0.rows.len()
    }

    /// Distinct street names.
    pub fn streets(&self) -> usize {
        self.0.streets.len()
    }

    /// The verdict on a spoken address: `sure`, `guess`, `choice` or `not_found`.
    pub fn verdict(&self, spoken: &str) -> &'static str {
        match self.0.locate_free(spoken).located {
            super::Located::Sure(_) => "sure",
            super::Located::Guess(_) => "guess",
            super::Located::Choice(..) => "choice",
            super::Located::TownOnly(_) => "town_only",
            super::Located::NotFound => "not_found",
        }
    }
}
