//! A client for Google's Geocoding API (`/maps/api/geocode/json`).
//!
//! The key travels in the query string, so it is a [`SecretString`] exposed only
//! while the request is built, and every reqwest error has its URL stripped
//! before it is kept or logged. Google's own `error_message` is never copied
//! either: only the `status` word reaches an error.
//!
//! Results are restricted to Brazil (`components=country:BR`); a structured
//! query adds the CEP as a `postal_code` component and, when that finds nothing,
//! is sent once more without it.
//!
//! The [service area](ServiceArea) shapes a spoken address's request: a box is
//! sent as `bounds`; an area of cities adds `administrative_area:<UF>` when they
//! share one, and `locality:<city>` when the area is one city or the caller
//! named one of them. Google documents `bounds`, `locality` and
//! `administrative_area` as biases, not filters, so the first result the area
//! admits is taken and none is "not found". The requests of one lookup share
//! the one request timeout.

use super::{Found, GeoError, GeoQuery, ServiceArea, endpoint, fetch, http_client};
use ivr_core::domain::{Cep, Place};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::{Duration, Instant};
use url::Url;

const SERVICE: &str = "google";
/// Used when `GEOCODER_URL` is unset.
pub(crate) const DEFAULT_BASE_URL: &str = "https://maps.googleapis.com";

#[derive(Debug, Clone)]
pub(crate) struct Google {
    client: reqwest::Client,
    geocode_url: Url,
    key: SecretString,
    /// What one lookup may take, however many requests it sends.
    timeout: Duration,
    area: ServiceArea,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    results: Vec<GResult>,
}

#[derive(Deserialize)]
struct GResult {
    #[serde(default)]
    address_components: Vec<Component>,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Geometry {
    location: Location,
}

#[derive(Deserialize)]
struct Location {
    lat: f64,
    lng: f64,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default)]
    long_name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    types: Vec<String>,
}

fn component<'a>(r: &'a GResult, kind: &str) -> Option<&'a Component> {
    r.address_components
        .iter()
        .find(|c| c.types.iter().any(|t| t == kind))
}

fn long(r: &GResult, kind: &str) -> Option<String> {
    component(r, kind).map(|c| c.long_name.clone())
}

/// What one request sends besides the address and the fixed parameters.
struct Filters<'a> {
    components: String,
    /// `south,west|north,east`.
    bounds: Option<String>,
    /// The results this area admits are kept.
    area: &'a ServiceArea,
}

impl Google {
    /// `base`: `https://maps.googleapis.com` (overridable for tests). The area
    /// is Brazil until [`Google::with_area`].
    pub(crate) fn new(base: &Url, key: SecretString, timeout: Duration) -> Result<Self, GeoError> {
        Ok(Google {
            client: http_client(timeout)?,
            geocode_url: endpoint(base, "maps/api/geocode/json")?,
            key,
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
        let bounds = self
            .area
            .bounds()
            .map(|b| format!("{},{}|{},{}", b.south, b.west, b.north, b.east));
        match q {
            GeoQuery::Free(text) => {
                let named = self.area.mentioned_city(text);
                let city = named.or(match self.area.cities() {
                    [one] => Some(one),
                    _ => None,
                });
                let mut components = String::from("country:BR");
                if let Some(uf) = city.and_then(|c| c.uf.as_deref()).or(self.area.shared_uf()) {
                    components.push_str("|administrative_area:");
                    components.push_str(uf);
                }
                if let Some(c) = city {
                    components.push_str("|locality:");
                    components.push_str(&c.name);
                }
                // A city the caller named: only a result there will do.
                let named = named.map(ServiceArea::city);
                let filters = Filters {
                    components,
                    bounds,
                    area: named.as_ref().unwrap_or(&self.area),
                };
                self.search(text, &filters, q, deadline).await
            }
            GeoQuery::Structured {
                street,
                number,
                neighbourhood,
                city,
                state,
                cep,
            } => {
                let mut address = street.clone();
                for part in [number, neighbourhood].into_iter().flatten() {
                    if !part.trim().is_empty() {
                        address.push_str(", ");
                        address.push_str(part.trim());
                    }
                }
                address.push_str(", ");
                address.push_str(city);
                if let Some(uf) = state {
                    address.push_str(" - ");
                    address.push_str(uf);
                }
                let mut filters = Filters {
                    components: "country:BR".into(),
                    bounds,
                    area: &self.area,
                };
                if let Some(cep) = cep {
                    let plain = std::mem::replace(
                        &mut filters.components,
                        format!("country:BR|postal_code:{}", cep.formatted()),
                    );
                    if let Some(place) = self.search(&address, &filters, q, deadline).await? {
                        return Ok(Some(place));
                    }
                    filters.components = plain;
                }
                self.search(&address, &filters, q, deadline).await
            }
        }
    }

    async fn search(
        &self,
        address: &str,
        filters: &Filters<'_>,
        q: &GeoQuery,
        deadline: Instant,
    ) -> Result<Option<Place>, GeoError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GeoError::Timeout);
        }
        let mut params = vec![
            ("address", address),
            ("components", filters.components.as_str()),
            ("region", "br"),
            ("language", "pt-BR"),
        ];
        if let Some(b) = &filters.bounds {
            params.push(("bounds", b.as_str()));
        }
        params.push(("key", self.key.expose_secret()));
        let request = self
            .client
            .get(self.geocode_url.clone())
            .query(&params)
            .timeout(left);
        let (status, body) = fetch(SERVICE, request).await?;
        if !status.is_success() {
            return Err(GeoError::Unavailable(format!(
                "{SERVICE}: HTTP {}",
                status.as_u16()
            )));
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|_| GeoError::BadResponse(format!("{SERVICE}: not the expected JSON")))?;
        match answer.status.as_str() {
            "OK" => {}
            "ZERO_RESULTS" => return Ok(None),
            "INVALID_REQUEST" => {
                return Err(GeoError::BadResponse(format!("{SERVICE}: INVALID_REQUEST")));
            }
            // REQUEST_DENIED, OVER_QUERY_LIMIT, OVER_DAILY_LIMIT, UNKNOWN_ERROR…
            // Only known status words are echoed; anything else is "unknown".
            other => {
                let word = if other.len() <= 32
                    && other.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                {
                    other
                } else {
                    "unknown status"
                };
                return Err(GeoError::Unavailable(format!("{SERVICE}: {word}")));
            }
        }
        Ok(answer
            .results
            .iter()
            .find_map(|r| place(r, q, filters.area)))
    }
}

/// The place a result names, when it is an address inside `area`.
fn place(r: &GResult, q: &GeoQuery, area: &ServiceArea) -> Option<Place> {
    let municipality = long(r, "administrative_area_level_2");
    let locality = long(r, "locality");
    let found = Found {
        street: long(r, "route"),
        number: long(r, "street_number"),
        neighbourhood: long(r, "sublocality_level_1")
            .or_else(|| long(r, "sublocality"))
            .or_else(|| long(r, "neighborhood")),
        city: municipality.clone().or_else(|| locality.clone()),
        state: component(r, "administrative_area_level_1").map(|c| c.short_name.clone()),
        cep: component(r, "postal_code").and_then(|c| Cep::parse(&c.long_name)),
        lat: r.geometry.location.lat,
        lng: r.geometry.location.lng,
    };
    let place = found.into_place(q)?;
    area.admit(place, &[municipality.as_deref(), locality.as_deref()])
}

#[cfg(test)]
mod tests;
