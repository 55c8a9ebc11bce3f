//! A client for a Nominatim-compatible server (`/search`, `format=jsonv2`).
//!
//! Self-hosted Nominatim is common for ISPs (no per-request fee, no rate limit);
//! the public instance needs a real User-Agent and at most one request a second,
//! which this service's call rate stays far below. Results are limited to Brazil.
//!
//! A structured query sends `street="900 Rua X"`, city, the state's full name
//! (Nominatim matches names better than UF codes) and the CEP as `postalcode`.
//! OpenStreetMap knows few Brazilian CEPs, so when that finds nothing the query
//! is sent once more without `postalcode`.
//!
//! The [service area](ServiceArea) bounds every search: a box is sent as a
//! `viewbox` with `bounded=1`; for an area of cities, a spoken address that
//! names none of them is looked for in each city in turn (the city and the
//! state's name appended), up to [`MAX_CITY_QUERIES`] cities. A few results are
//! asked for and the first the area admits is taken; none: not found. All the
//! requests of one lookup share the one request timeout, so a caller never
//! waits longer for several.

use super::{
    Found, GeoError, GeoQuery, ServiceArea, endpoint, fetch, http_client, state_name, uf_of,
};
use ivr_core::domain::{Cep, Place};
use serde::Deserialize;
use serde_json::Value;
use std::time::{Duration, Instant};
use url::Url;

const SERVICE: &str = "nominatim";
/// Results asked for: enough for one inside the area to follow a few outside.
const RESULTS: &str = "5";
/// An area of more cities than this is not searched city by city (the time
/// and the server's patience would run out): the text is sent as said, with
/// the state's name when every city shares one, and the results filtered.
const MAX_CITY_QUERIES: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct Nominatim {
    client: reqwest::Client,
    search_url: Url,
    reverse_url: Url,
    /// What one lookup may take, however many requests it sends.
    timeout: Duration,
    area: ServiceArea,
}

#[derive(Deserialize)]
struct Hit {
    lat: Value,
    lon: Value,
    #[serde(default)]
    address: Address,
}

#[derive(Deserialize, Default)]
struct Address {
    road: Option<String>,
    house_number: Option<String>,
    suburb: Option<String>,
    neighbourhood: Option<String>,
    quarter: Option<String>,
    city: Option<String>,
    town: Option<String>,
    village: Option<String>,
    municipality: Option<String>,
    state: Option<String>,
    #[serde(rename = "ISO3166-2-lvl4")]
    iso_lvl4: Option<String>,
    postcode: Option<String>,
}

/// Nominatim writes coordinates as strings; accept numbers too.
fn coordinate(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// `text, City, State name`.
fn in_city(text: &str, city: &str, uf: Option<&str>) -> String {
    match uf.and_then(state_name) {
        Some(state) => format!("{text}, {city}, {state}"),
        None => format!("{text}, {city}"),
    }
}

impl Nominatim {
    /// `base`: the server root, e.g. `https://nominatim.example.net` (a path
    /// prefix is kept). `timeout`: the total time one lookup may take. The
    /// area is Brazil until [`Nominatim::with_area`].
    pub(crate) fn new(base: &Url, timeout: Duration) -> Result<Self, GeoError> {
        Ok(Nominatim {
            client: http_client(timeout)?,
            search_url: endpoint(base, "search")?,
            reverse_url: endpoint(base, "reverse")?,
            timeout,
            area: ServiceArea::Brazil,
        })
    }

    /// Bounds every lookup by `area`.
    pub(crate) fn with_area(mut self, area: ServiceArea) -> Self {
        self.area = area;
        self
    }

    pub(crate) async fn geocode(&self, q: &GeoQuery) -> Result<Option<Place>, GeoError> {
        let deadline = Instant::now() + self.timeout;
        let mut params: Vec<(&str, String)> = vec![
            ("format", "jsonv2".into()),
            ("addressdetails", "1".into()),
            ("limit", RESULTS.into()),
            ("countrycodes", "br".into()),
        ];
        if let Some(b) = self.area.bounds() {
            // `<x1>,<y1>,<x2>,<y2>`: longitude first, any two opposite corners.
            params.push((
                "viewbox",
                format!("{},{},{},{}", b.west, b.north, b.east, b.south),
            ));
            params.push(("bounded", "1".into()));
        }
        match q {
            GeoQuery::Free(text) => {
                // A city of the area the caller named: sent as said, and only
                // a hit in that city will do.
                let named = self.area.mentioned_city(text).map(ServiceArea::city);
                let (area, texts) = match &named {
                    Some(city) => (city, vec![text.clone()]),
                    None => (&self.area, self.free_texts(text)),
                };
                for said in texts {
                    let mut with_q = params.clone();
                    with_q.push(("q", said));
                    if let Some(place) = self.search(&with_q, q, deadline, area).await? {
                        return Ok(Some(place));
                    }
                }
                Ok(None)
            }
            GeoQuery::Structured {
                street,
                number,
                city,
                state,
                cep,
                ..
            } => {
                let street = match number.as_deref().map(str::trim) {
                    Some(n) if !n.is_empty() => format!("{n} {street}"),
                    _ => street.clone(),
                };
                params.push(("street", street));
                params.push(("city", city.clone()));
                if let Some(uf) = state {
                    let name = state_name(uf).map_or_else(|| uf.clone(), String::from);
                    params.push(("state", name));
                }
                params.push(("country", "Brasil".into()));
                if let Some(cep) = cep {
                    let mut with_cep = params.clone();
                    with_cep.push(("postalcode", cep.formatted()));
                    if let Some(place) = self.search(&with_cep, q, deadline, &self.area).await? {
                        return Ok(Some(place));
                    }
                }
                self.search(&params, q, deadline, &self.area).await
            }
        }
    }

    /// The `q` values to try, in order, for a spoken address that names none
    /// of the area's cities.
    fn free_texts(&self, text: &str) -> Vec<String> {
        let cities = self.area.cities();
        if cities.is_empty() {
            return vec![text.to_string()];
        }
        if cities.len() > MAX_CITY_QUERIES {
            return vec![match self.area.shared_uf().and_then(state_name) {
                Some(state) => format!("{text}, {state}"),
                None => text.to_string(),
            }];
        }
        cities
            .iter()
            .map(|c| in_city(text, &c.name, c.uf.as_deref()))
            .collect()
    }

    /// The address at a point (`/reverse`, a shared location's read-back);
    /// `None` when the server names no street and city there.
    pub(crate) async fn reverse(&self, lat: f64, lng: f64) -> Result<Option<Place>, GeoError> {
        let params = [
            ("format", "jsonv2".to_string()),
            ("addressdetails", "1".into()),
            ("zoom", "18".into()),
            ("lat", lat.to_string()),
            ("lon", lng.to_string()),
        ];
        let request = self
            .client
            .get(self.reverse_url.clone())
            .query(&params)
            .timeout(self.timeout);
        let (status, body) = fetch(SERVICE, request).await?;
        if !status.is_success() {
            return Err(GeoError::Unavailable(format!(
                "{SERVICE}: HTTP {}",
                status.as_u16()
            )));
        }
        // Nothing there: `{"error": "Unable to geocode"}`.
        let Ok(hit) = serde_json::from_slice::<Hit>(&body) else {
            return Ok(None);
        };
        place(hit, &GeoQuery::Free(String::new()), &ServiceArea::Brazil)
    }

    /// One request, given what is left of the lookup's time; the first hit
    /// `area` admits.
    async fn search(
        &self,
        params: &[(&str, String)],
        q: &GeoQuery,
        deadline: Instant,
        area: &ServiceArea,
    ) -> Result<Option<Place>, GeoError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GeoError::Timeout);
        }
        let request = self
            .client
            .get(self.search_url.clone())
            .query(params)
            .timeout(left);
        let (status, body) = fetch(SERVICE, request).await?;
        if !status.is_success() {
            return Err(GeoError::Unavailable(format!(
                "{SERVICE}: HTTP {}",
                status.as_u16()
            )));
        }
        let hits: Vec<Hit> = serde_json::from_slice(&body)
            .map_err(|_| GeoError::BadResponse(format!("{SERVICE}: not the expected JSON")))?;
        for hit in hits {
            if let Some(place) = place(hit, q, area)? {
                return Ok(Some(place));
            }
        }
        Ok(None)
    }
}

/// The place a hit names, when it is an address inside `area`.
fn place(hit: Hit, q: &GeoQuery, area: &ServiceArea) -> Result<Option<Place>, GeoError> {
    let (Some(lat), Some(lng)) = (coordinate(&hit.lat), coordinate(&hit.lon)) else {
        return Err(GeoError::BadResponse(format!(
            "{SERVICE}: lat/lon are not numbers"
        )));
    };
    let a = hit.address;
    let state = a
        .iso_lvl4
        .as_deref()
        .and_then(|iso| iso.strip_prefix("BR-"))
        .and_then(uf_of)
        .or_else(|| a.state.as_deref().and_then(uf_of))
        .map(String::from);
    // The municipality may be named where `city` holds a district.
    let names = [
        a.municipality.clone(),
        a.city.clone(),
        a.town.clone(),
        a.village.clone(),
    ];
    let found = Found {
        street: a.road,
        number: a.house_number,
        neighbourhood: a.suburb.or(a.neighbourhood).or(a.quarter),
        city: a.city.or(a.town).or(a.village).or(a.municipality),
        state,
        cep: a.postcode.as_deref().and_then(Cep::parse),
        lat,
        lng,
    };
    let Some(place) = found.into_place(q) else {
        return Ok(None);
    };
    let names: Vec<Option<&str>> = names.iter().map(Option::as_deref).collect();
    Ok(area.admit(place, &names))
}

#[cfg(test)]
mod tests;
