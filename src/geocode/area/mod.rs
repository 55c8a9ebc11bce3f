//! The ISP's service area (`IVR_SERVICE_AREA`): the cities it serves
//! (`Florianópolis-SC,São José-SC`) or a box (`lat1,lng1,lat2,lng2`).
//!
//! Every Brazilian city has a Rua Rui Barbosa: an address said without its city
//! is looked for in the area, and a result outside the area is not read back as
//! found. The remote geocoders use the area to shape their requests (a bounded
//! `viewbox`, the city in the query, `bounds` and `components`) and then keep
//! only the results it [admits](ServiceArea::admits), since most of those
//! parameters only bias the search.
//!
//! City names are compared folded (case and accents ignored, punctuation as
//! spaces: "Sao Jose" is "São José", "Embu Guaçu" is "Embu-Guaçu"). A city's UF
//! is optional; when both the area and a result name one, they must agree.
//!
//! City names and boxes are the ISP's configuration, not personal data: the
//! area is logged at start ([`fmt::Display`]).

use super::gazetteer::fold;
use super::uf_of;
use ivr_core::domain::Place;
use std::fmt;

/// Where the ISP works; see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ServiceArea {
    /// Anywhere in Brazil (its rough bounding box, [`BRAZIL`]).
    Brazil,
    /// These cities, in the order given (the order Nominatim tries them in).
    Cities(Vec<AreaCity>),
    /// Points inside this box.
    Bounds(BoundingBox),
}

/// A city of the area, with its state when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AreaCity {
    pub name: String,
    /// Two-letter code, upper case (`SC`).
    pub uf: Option<String>,
}

/// A box in decimal degrees, `south < north` and `west < east`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BoundingBox {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

/// Brazil's plausible range, oceanic islands (Fernando de Noronha, Trindade)
/// included: also the range a configured box must lie within.
pub(crate) const BRAZIL: BoundingBox = BoundingBox {
    south: -34.0,
    west: -74.0,
    north: 6.0,
    east: -28.0,
};

/// Words a city name follows when it is the name of a street or a
/// neighbourhood ("Rua São José", "Jardim Florianópolis"), not the city said.
const NOT_A_CITY_AFTER: [&str; 26] = [
    "rua",
    "r",
    "avenida",
    "av",
    "travessa",
    "tv",
    "trav",
    "rodovia",
    "rod",
    "servidao",
    "serv",
    "alameda",
    "al",
    "praca",
    "estrada",
    "estr",
    "largo",
    "beco",
    "viela",
    "ladeira",
    "jardim",
    "vila",
    "parque",
    "bairro",
    "residencial",
    "loteamento",
];

/// How many cities are shown in a log line before "and N more".
const SHOWN_CITIES: usize = 8;

const USAGE: &str = "write the cities (`Florianópolis-SC,São José-SC`, the `-UF` optional) \
                     or a box (`lat1,lng1,lat2,lng2`, two opposite corners in decimal degrees)";

impl BoundingBox {
    pub(crate) fn contains(&self, lat: f64, lng: f64) -> bool {
        (self.south..=self.north).contains(&lat) && (self.west..=self.east).contains(&lng)
    }
}

impl AreaCity {
    fn key(&self) -> String {
        key(&self.name)
    }
}

impl fmt::Display for AreaCity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.uf {
            Some(uf) => write!(f, "{}-{uf}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The words of `s`, folded.
fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// `s` folded, its words separated by one space: what city names are compared by.
fn key(s: &str) -> String {
    words(s).join(" ")
}

/// At most 40 characters of a configured value, for an error message.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

impl ServiceArea {
    /// Parses `IVR_SERVICE_AREA`. `Brasil` (or `Brazil`, `BR`) says "anywhere".
    /// A value with a number in it is a box. Errors say what is wrong; the
    /// configuration adds the variable's name.
    pub(crate) fn parse(raw: &str) -> Result<ServiceArea, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(format!("is empty: {USAGE}"));
        }
        if matches!(key(raw).as_str(), "brasil" | "brazil" | "br") {
            return Ok(ServiceArea::Brazil);
        }
        let parts: Vec<&str> = raw.split(',').map(str::trim).collect();
        if parts.iter().any(|p| p.parse::<f64>().is_ok()) {
            return parse_box(&parts).map(ServiceArea::Bounds);
        }
        let mut cities = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            cities.push(parse_city(part)?);
        }
        match ServiceArea::of_cities(cities) {
            ServiceArea::Brazil => Err(format!("names no city: {USAGE}")),
            area => Ok(area),
        }
    }

    /// These cities, without repeats; none: [`ServiceArea::Brazil`].
    pub(crate) fn of_cities(cities: Vec<AreaCity>) -> ServiceArea {
        let mut distinct: Vec<AreaCity> = Vec::with_capacity(cities.len());
        for city in cities {
            let k = city.key();
            if k.is_empty() {
                continue;
            }
            if !distinct.iter().any(|c| c.uf == city.uf && c.key() == k) {
                distinct.push(city);
            }
        }
        if distinct.is_empty() {
            ServiceArea::Brazil
        } else {
            ServiceArea::Cities(distinct)
        }
    }

    /// Whether `place` lies in the area: inside the box; in one of the cities
    /// (and its state, when both are known); in Brazil's bounding box.
    pub(crate) fn admits(&self, place: &Place) -> bool {
        match self {
            ServiceArea::Brazil => BRAZIL.contains(place.lat, place.lng),
            ServiceArea::Bounds(b) => b.contains(place.lat, place.lng),
            ServiceArea::Cities(cities) => {
                let city = key(&place.city);
                let uf = place.state.as_deref().and_then(uf_of);
                cities.iter().any(|c| {
                    c.key() == city
                        && match (c.uf.as_deref(), uf) {
                            (Some(a), Some(b)) => a == b,
                            _ => true,
                        }
                })
            }
        }
    }

    /// `place` when the area admits it; else, for an area of cities, `place`
    /// with its city replaced by the first of `other_names` the area admits (a
    /// geocoder may name a district where the municipality is also known).
    pub(crate) fn admit(&self, place: Place, other_names: &[Option<&str>]) -> Option<Place> {
        if self.admits(&place) {
            return Some(place);
        }
        if !matches!(self, ServiceArea::Cities(_)) {
            return None;
        }
        other_names.iter().flatten().find_map(|name| {
            let renamed = Place {
                city: (*name).to_string(),
                ..place.clone()
            };
            self.admits(&renamed).then_some(renamed)
        })
    }

    /// The city of the area that a spoken text names, if any: its words, in a
    /// row, not right after a street or neighbourhood word ("Rua São José" is
    /// a street). When several match, the one with the most words ("São José
    /// dos Campos" over "São José").
    pub(crate) fn mentioned_city(&self, text: &str) -> Option<&AreaCity> {
        let ServiceArea::Cities(cities) = self else {
            return None;
        };
        let said = words(text);
        let mut best: Option<(usize, &AreaCity)> = None;
        for city in cities {
            let name = words(&city.name);
            let n = name.len();
            if n == 0 || n > said.len() || best.is_some_and(|(m, _)| m >= n) {
                continue;
            }
            let named = (0..=said.len() - n).any(|i| {
                said[i..i + n] == name[..]
                    && (i == 0 || !NOT_A_CITY_AFTER.contains(&said[i - 1].as_str()))
            });
            if named {
                best = Some((n, city));
            }
        }
        best.map(|(_, c)| c)
    }

    /// The area of that one city.
    pub(crate) fn city(city: &AreaCity) -> ServiceArea {
        ServiceArea::Cities(vec![city.clone()])
    }

    /// The box, for an area that is one.
    pub(crate) fn bounds(&self) -> Option<&BoundingBox> {
        match self {
            ServiceArea::Bounds(b) => Some(b),
            _ => None,
        }
    }

    /// The cities, for an area of cities (else none).
    pub(crate) fn cities(&self) -> &[AreaCity] {
        match self {
            ServiceArea::Cities(c) => c,
            _ => &[],
        }
    }

    /// The UF every city of the area has, when they share one.
    pub(crate) fn shared_uf(&self) -> Option<&str> {
        let mut ufs = self.cities().iter().map(|c| c.uf.as_deref());
        let first = ufs.next()??;
        ufs.all(|uf| uf == Some(first)).then_some(first)
    }
}

fn parse_box(parts: &[&str]) -> Result<BoundingBox, String> {
    if parts.len() != 4 {
        return Err(format!(
            "has {} comma-separated values where a box has four: {USAGE}",
            parts.len()
        ));
    }
    let mut v = [0.0_f64; 4];
    for (slot, part) in v.iter_mut().zip(parts) {
        *slot = part
            .parse()
            .map_err(|_| format!("`{}` is not a number: {USAGE}", shown(part)))?;
    }
    let [lat1, lng1, lat2, lng2] = v;
    let lat_ok = |x: f64| (BRAZIL.south..=BRAZIL.north).contains(&x);
    let lng_ok = |x: f64| (BRAZIL.west..=BRAZIL.east).contains(&x);
    if !(lat_ok(lat1) && lat_ok(lat2) && lng_ok(lng1) && lng_ok(lng2)) {
        if lat_ok(lng1) && lat_ok(lng2) && lng_ok(lat1) && lng_ok(lat2) {
            return Err(
                "looks like longitude first: a box is `lat1,lng1,lat2,lng2`, latitude first".into(),
            );
        }
        return Err(format!(
            "is not a box in Brazil: latitudes lie within {}..{} and longitudes within {}..{} \
             (`lat1,lng1,lat2,lng2`)",
            BRAZIL.south, BRAZIL.north, BRAZIL.west, BRAZIL.east
        ));
    }
    let b = BoundingBox {
        south: lat1.min(lat2),
        west: lng1.min(lng2),
        north: lat1.max(lat2),
        east: lng1.max(lng2),
    };
    if b.south >= b.north || b.west >= b.east {
        return Err(
            "is a line or a point, not a box: the two corners must differ in latitude and in \
             longitude"
                .into(),
        );
    }
    Ok(b)
}

/// `São José-SC`, `São José/SC` or `São José`. A suffix of two letters is a UF
/// and must be one; a longer one is part of the name ("Xique-Xique",
/// "Ji-Paraná").
fn parse_city(part: &str) -> Result<AreaCity, String> {
    let (name, uf) = match part.rfind(['-', '/']) {
        Some(i) => {
            let suffix = part[i + 1..].trim();
            if suffix.chars().count() == 2 && suffix.chars().all(|c| c.is_ascii_alphabetic()) {
                let uf = uf_of(suffix).ok_or_else(|| {
                    format!(
                        "`{suffix}` in `{}` is not a Brazilian state (UF): {USAGE}",
                        shown(part)
                    )
                })?;
                (part[..i].trim(), Some(uf.to_string()))
            } else {
                (part, None)
            }
        }
        None => (part, None),
    };
    if !name.chars().any(char::is_alphabetic) {
        return Err(format!("`{}` names no city: {USAGE}", shown(part)));
    }
    if name.chars().count() > 80 {
        return Err(format!("`{}` is too long for a city name", shown(part)));
    }
    Ok(AreaCity {
        name: name.split_whitespace().collect::<Vec<_>>().join(" "),
        uf,
    })
}

impl fmt::Display for ServiceArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceArea::Brazil => f.write_str("Brazil"),
            ServiceArea::Bounds(b) => write!(
                f,
                "box lat {}..{}, lng {}..{}",
                b.south, b.north, b.west, b.east
            ),
            ServiceArea::Cities(cities) => {
                for (i, c) in cities.iter().take(SHOWN_CITIES).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{c}")?;
                }
                if cities.len() > SHOWN_CITIES {
                    write!(f, " and {} more", cities.len() - SHOWN_CITIES)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
