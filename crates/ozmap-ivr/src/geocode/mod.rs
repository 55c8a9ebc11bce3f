//! Geocoding: from what the caller gave (a spoken address, or a CEP and a house
//! number) to a [`Place`] with coordinates, read back for confirmation and sent
//! to OZmap.
//!
//! Three geocoders sit behind one enum ([`Geocoder`]): a Nominatim-compatible
//! server (often self-hosted), Google's Geocoding API, and the offline
//! [`gazetteer::Gazetteer`] (a CSV of the ISP's own addresses, the default for
//! the sandbox). CEPs are resolved to a street by a ViaCEP-compatible server or
//! by the gazetteer ([`CepSource`]). [`Locator`] puts the two together.
//!
//! An enum rather than a trait object: the set is closed, `async fn` stays
//! simple, and tests can still build any variant against a mock server.
//!
//! Every HTTP client has a connect timeout and a total timeout (the caller also
//! bounds its wait). Errors and log lines never carry the address text or the
//! Google key: reqwest errors include the request URL, where both live, so the
//! URL is stripped before an error is kept or logged.

mod area;
pub(crate) mod cep;
pub(crate) mod gazetteer;
pub(crate) mod google;
pub(crate) mod nominatim;
mod settings;

pub(crate) use area::{AreaCity, ServiceArea};
pub(crate) use settings::{GeocoderKind, GeocoderSettings};

use ivr_core::domain::{AddressQuery, Cep, Place};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Why a geocoder or CEP service gave no answer. Messages name the service and
/// the kind of failure, never the address or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GeoError {
    #[error("the geocoding service did not answer in time")]
    Timeout,
    #[error("geocoding service unavailable: {0}")]
    Unavailable(String),
    #[error("unusable geocoding data: {0}")]
    BadResponse(String),
}

/// What a geocoder is asked.
#[derive(Clone, PartialEq)]
pub(crate) enum GeoQuery {
    /// An address as spoken, numbers already as digits.
    Free(String),
    /// An address in parts, e.g. from a CEP lookup plus the caller's number.
    Structured {
        street: String,
        number: Option<String>,
        neighbourhood: Option<String>,
        city: String,
        state: Option<String>,
        cep: Option<Cep>,
    },
}

/// Addresses are personal data: `Debug` shows only the shape.
impl fmt::Debug for GeoQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeoQuery::Free(text) => write!(f, "Free(len={})", text.len()),
            GeoQuery::Structured { .. } => write!(f, "Structured(..)"),
        }
    }
}

/// The street a CEP belongs to.
#[derive(Clone, PartialEq)]
pub(crate) struct CepAddress {
    pub street: String,
    pub neighbourhood: Option<String>,
    pub city: String,
    pub state: Option<String>,
}

impl fmt::Debug for CepAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CepAddress(..)")
    }
}

/// The configured geocoder.
#[derive(Debug)]
pub(crate) enum Geocoder {
    Nominatim(nominatim::Nominatim),
    Google(google::Google),
    Gazetteer(Arc<gazetteer::Gazetteer>),
}

impl Geocoder {
    /// `Ok(None)`: the service answered but found nothing usable.
    pub(crate) async fn geocode(&self, q: &GeoQuery) -> Result<Option<Place>, GeoError> {
        match self {
            Geocoder::Nominatim(n) => n.geocode(q).await,
            Geocoder::Google(g) => g.geocode(q).await,
            Geocoder::Gazetteer(g) => Ok(g.geocode(q)),
        }
    }
}

/// Where CEPs are resolved to streets.
#[derive(Debug)]
pub(crate) enum CepSource {
    ViaCep(cep::ViaCep),
    Gazetteer(Arc<gazetteer::Gazetteer>),
}

impl CepSource {
    /// `Ok(None)`: the CEP is unknown.
    pub(crate) async fn lookup(&self, cep: &Cep) -> Result<Option<CepAddress>, GeoError> {
        match self {
            CepSource::ViaCep(v) => v.lookup(cep).await,
            CepSource::Gazetteer(g) => Ok(g.lookup(cep)),
        }
    }
}

/// Turns an [`AddressQuery`] into a [`Place`].
#[derive(Debug)]
pub(crate) struct Locator {
    geocoder: Geocoder,
    cep: CepSource,
    /// Where the ISP works: the remote geocoders hold their own copy.
    area: ServiceArea,
}

fn load_gazetteer(cfg: &GeocoderSettings) -> Result<Arc<gazetteer::Gazetteer>, GeoError> {
    match &cfg.gazetteer_file {
        Some(path) => gazetteer::Gazetteer::load(path).map(Arc::new),
        None => gazetteer::Gazetteer::try_bundled(),
    }
}

impl Locator {
    #[cfg(test)]
    pub(crate) fn new(geocoder: Geocoder, cep: CepSource) -> Self {
        Locator {
            geocoder,
            cep,
            area: ServiceArea::Brazil,
        }
    }

    /// The service area lookups are bounded by.
    pub(crate) fn area(&self) -> &ServiceArea {
        &self.area
    }

    /// Builds the geocoder and the CEP source the settings name (see
    /// [`GeocoderSettings::locator`]).
    pub(crate) fn from_settings(cfg: &GeocoderSettings) -> Result<Locator, GeoError> {
        let timeout = cfg.request_timeout;
        // Loaded at most once, for the geocoder, the CEP source or the area.
        let mut loaded: Option<Arc<gazetteer::Gazetteer>> = None;
        let mut gazetteer = || -> Result<Arc<gazetteer::Gazetteer>, GeoError> {
            if let Some(g) = &loaded {
                return Ok(Arc::clone(g));
            }
            let g = load_gazetteer(cfg)?;
            loaded = Some(Arc::clone(&g));
            Ok(g)
        };
        let area = cfg.resolve_area(&mut gazetteer)?;
        let geocoder = match cfg.kind {
            GeocoderKind::Nominatim => {
                let url = cfg.url.as_ref().ok_or_else(|| {
                    GeoError::Unavailable("GEOCODER_URL is required with GEOCODER=nominatim".into())
                })?;
                Geocoder::Nominatim(
                    nominatim::Nominatim::new(url, timeout)?.with_area(area.clone()),
                )
            }
            GeocoderKind::Google => {
                let key = cfg.google_maps_key.clone().ok_or_else(|| {
                    GeoError::Unavailable("GOOGLE_MAPS_KEY is required with GEOCODER=google".into())
                })?;
                let base = match &cfg.url {
                    Some(u) => u.clone(),
                    None => Url::parse(google::DEFAULT_BASE_URL).map_err(|_| {
                        GeoError::Unavailable("the Google base URL does not parse".into())
                    })?,
                };
                Geocoder::Google(google::Google::new(&base, key, timeout)?.with_area(area.clone()))
            }
            GeocoderKind::Gazetteer => Geocoder::Gazetteer(gazetteer()?),
        };
        let cep = match &cfg.cep_url {
            Some(url) => CepSource::ViaCep(cep::ViaCep::new(url, timeout)?),
            None => CepSource::Gazetteer(gazetteer()?),
        };
        Ok(Locator {
            geocoder,
            cep,
            area,
        })
    }

    /// `Ok(None)`: the address (or the CEP) was not found; the caller is asked
    /// again. A place found from a CEP always carries the caller's number and
    /// that CEP, even when the geocoder only knew the street.
    pub(crate) async fn locate(&self, q: &AddressQuery) -> Result<Option<Place>, GeoError> {
        let started = Instant::now();
        let result = match q {
            AddressQuery::Spoken { text } => {
                let found = self.geocoder.geocode(&GeoQuery::Free(text.clone())).await?;
                found.map(|mut place| {
                    if place.number.is_none() {
                        place.number = gazetteer::house_number_in(text, &place.street);
                    }
                    place
                })
            }
            AddressQuery::Cep { cep, number } => self.locate_cep(cep, number.as_deref()).await?,
        };
        tracing::debug!(
            query = match q {
                AddressQuery::Spoken { .. } => "spoken",
                AddressQuery::Cep { .. } => "cep",
            },
            found = result.is_some(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "address located"
        );
        Ok(result)
    }

    async fn locate_cep(&self, cep: &Cep, number: Option<&str>) -> Result<Option<Place>, GeoError> {
        let Some(addr) = self.cep.lookup(cep).await? else {
            return Ok(None);
        };
        if addr.street.trim().is_empty() || addr.city.trim().is_empty() {
            return Ok(None);
        }
        let number = number
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from);
        let query = GeoQuery::Structured {
            street: addr.street.clone(),
            number: number.clone(),
            neighbourhood: addr.neighbourhood.clone(),
            city: addr.city.clone(),
            state: addr.state.clone(),
            cep: Some(cep.clone()),
        };
        let Some(mut place) = self.geocoder.geocode(&query).await? else {
            return Ok(None);
        };
        place.number = number;
        place.cep = Some(cep.clone());
        if place.neighbourhood.is_none() {
            place.neighbourhood = addr.neighbourhood;
        }
        if place.state.is_none() {
            place.state = addr.state;
        }
        Ok(Some(place))
    }
}

// ---------------------------------------------------------------------------
// Shared pieces of the HTTP clients.

/// Public Nominatim servers refuse requests without a real User-Agent.
pub(crate) const USER_AGENT: &str = concat!(
    "ozmap-ivr/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/ozmap-ivr)"
);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Larger answers are refused: a geocoder result is a few kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;

/// A reqwest client with the User-Agent, pt-BR answers and both timeouts set.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, GeoError> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static("pt-BR"),
    );
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .build()
        .map_err(|e| {
            GeoError::Unavailable(format!(
                "HTTP client could not be built ({})",
                e.without_url()
            ))
        })
}

/// A reqwest failure as a [`GeoError`], with the URL (address text, key) removed.
pub(crate) fn transport_error(service: &'static str, e: reqwest::Error) -> GeoError {
    let e = e.without_url();
    tracing::debug!(service, error = %e, "geocoding request failed");
    if e.is_timeout() {
        GeoError::Timeout
    } else if e.is_connect() {
        GeoError::Unavailable(format!("{service}: could not connect"))
    } else {
        GeoError::Unavailable(format!("{service}: request failed"))
    }
}

/// Sends `request` and reads the whole body (bounded), timing the exchange.
pub(crate) async fn fetch(
    service: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), GeoError> {
    let started = Instant::now();
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_error(service, e))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(service, e))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(GeoError::BadResponse(format!(
                "{service}: answer too large"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    tracing::debug!(
        service,
        status = status.as_u16(),
        bytes = body.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "geocoding service answered"
    );
    Ok((status, body))
}

/// `{base}/{path}`, keeping any path prefix of the base (e.g. `/nominatim`).
pub(crate) fn endpoint(base: &Url, path: &str) -> Result<Url, GeoError> {
    let joined = format!("{}/{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&joined).map_err(|_| GeoError::Unavailable("the service URL is not valid".into()))
}

/// What a remote geocoder's first result held, before the query fills the gaps.
#[derive(Default)]
pub(crate) struct Found {
    pub street: Option<String>,
    pub number: Option<String>,
    pub neighbourhood: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub cep: Option<Cep>,
    pub lat: f64,
    pub lng: f64,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl Found {
    /// The [`Place`] for `q`. For a structured query the caller's number and CEP
    /// win, and street, neighbourhood, city and state come from the query when
    /// the result lacks them (a street-level or postcode-level hit). For a free
    /// query a result without a street or a city is no address: `None`.
    pub(crate) fn into_place(self, q: &GeoQuery) -> Option<Place> {
        if !(self.lat.is_finite() && self.lng.is_finite())
            || self.lat.abs() > 90.0
            || self.lng.abs() > 180.0
        {
            return None;
        }
        let street = non_empty(self.street);
        let city = non_empty(self.city);
        let neighbourhood = non_empty(self.neighbourhood);
        let state = non_empty(self.state);
        match q {
            GeoQuery::Free(_) => Some(Place {
                street: street?,
                number: non_empty(self.number),
                neighbourhood,
                city: city?,
                state,
                cep: self.cep,
                lat: self.lat,
                lng: self.lng,
            }),
            GeoQuery::Structured {
                street: q_street,
                number,
                neighbourhood: q_hood,
                city: q_city,
                state: q_state,
                cep,
            } => Some(Place {
                street: street.unwrap_or_else(|| q_street.clone()),
                number: number.clone(),
                neighbourhood: neighbourhood.or_else(|| q_hood.clone()),
                city: city.unwrap_or_else(|| q_city.clone()),
                state: state.or_else(|| q_state.clone()),
                cep: cep.clone().or(self.cep),
                lat: self.lat,
                lng: self.lng,
            }),
        }
    }
}

const STATES: [(&str, &str); 27] = [
    ("AC", "Acre"),
    ("AL", "Alagoas"),
    ("AP", "Amapá"),
    ("AM", "Amazonas"),
    ("BA", "Bahia"),
    ("CE", "Ceará"),
    ("DF", "Distrito Federal"),
    ("ES", "Espírito Santo"),
    ("GO", "Goiás"),
    ("MA", "Maranhão"),
    ("MT", "Mato Grosso"),
    ("MS", "Mato Grosso do Sul"),
    ("MG", "Minas Gerais"),
    ("PA", "Pará"),
    ("PB", "Paraíba"),
    ("PR", "Paraná"),
    ("PE", "Pernambuco"),
    ("PI", "Piauí"),
    ("RJ", "Rio de Janeiro"),
    ("RN", "Rio Grande do Norte"),
    ("RS", "Rio Grande do Sul"),
    ("RO", "Rondônia"),
    ("RR", "Roraima"),
    ("SC", "Santa Catarina"),
    ("SP", "São Paulo"),
    ("SE", "Sergipe"),
    ("TO", "Tocantins"),
];

/// "SC" → "Santa Catarina" (a name matches better than a code in Nominatim).
pub(crate) fn state_name(uf: &str) -> Option<&'static str> {
    let uf = uf.trim();
    STATES
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(uf))
        .map(|(_, name)| *name)
}

/// "Santa Catarina" (accents optional) or "sc" → "SC".
pub(crate) fn uf_of(state: &str) -> Option<&'static str> {
    let folded = gazetteer::fold(state.trim());
    STATES
        .iter()
        .find(|(code, name)| gazetteer::fold(name) == folded || code.eq_ignore_ascii_case(&folded))
        .map(|(code, _)| *code)
}

#[cfg(test)]
mod tests;
