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
mod hints;
mod locator;
pub(crate) mod nominatim;
mod settings;

pub(crate) use area::{AreaCity, ServiceArea};
pub use gazetteer::AddressBook;
pub(crate) use locator::{Locator, PointVerdict};
pub(crate) use settings::{GeocoderKind, GeocoderSettings};

use ivr_core::domain::{Cep, HouseNumber, Place, Town};
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

/// What a geocoder made of an address, and how sure it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Located {
    /// Found, and sure of it.
    Sure(Place),
    /// The best match, not a sure one.
    Guess(Place),
    /// Two close candidates, the likelier first.
    Choice(Place, Place),
    /// The CEP names a town and no street.
    TownOnly(Town),
    NotFound,
}

impl From<Located> for ivr_core::flow::GeoResult {
    fn from(l: Located) -> Self {
        use ivr_core::flow::GeoResult;
        match l {
            Located::Sure(p) => GeoResult::Found(p),
            Located::Guess(p) => GeoResult::Guess(p),
            Located::Choice(first, second) => GeoResult::Choice { first, second },
            Located::TownOnly(t) => GeoResult::TownOnly(t),
            Located::NotFound => GeoResult::NotFound,
        }
    }
}

/// A verdict with what decided it, for the operator's log line (never the
/// caller's words).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Judged {
    pub located: Located,
    /// The rule that decided: `sure`, `weak_match`, `close_candidates`, …
    pub rule: &'static str,
    /// The best candidate's score, when there was one.
    pub score: Option<f32>,
}

impl Judged {
    pub(crate) fn not_found(rule: &'static str) -> Self {
        Judged {
            located: Located::NotFound,
            rule,
            score: None,
        }
    }

    /// The place, when the verdict is sure.
    #[cfg(test)]
    pub(crate) fn sure(self) -> Option<Place> {
        match self.located {
            Located::Sure(p) => Some(p),
            _ => None,
        }
    }

    fn new(located: Located, rule: &'static str, score: Option<f32>) -> Self {
        Judged {
            located,
            rule,
            score,
        }
    }
}

/// The street a CEP belongs to.
#[derive(Clone, PartialEq)]
pub(crate) struct CepAddress {
    /// Empty for a CEP that covers a whole town: the locator answers it as
    /// [`Located::TownOnly`].
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

/// A field of a geocoder's answer, bounded and clean; blank is none.
fn non_empty(s: Option<String>) -> Option<String> {
    s.and_then(|v| ivr_core::text::clean_non_empty(&v, ivr_core::text::MAX_FIELD_CHARS))
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
                number: non_empty(self.number)
                    .as_deref()
                    .and_then(HouseNumber::parse),
                complement: None,
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
                number: number.as_deref().and_then(HouseNumber::parse),
                complement: None,
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
mod corpus;
#[cfg(test)]
mod tests;
