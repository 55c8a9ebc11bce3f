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

pub(crate) mod cep;
pub(crate) mod gazetteer;
pub(crate) mod google;
pub(crate) mod nominatim;
mod settings;

pub(crate) use settings::{GeocoderKind, GeocoderSettings};

use ivr_core::domain::{AddressQuery, Cep, Place, Town};
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
        Locator { geocoder, cep }
    }

    /// Builds the geocoder and the CEP source the settings name (see
    /// [`GeocoderSettings::locator`]).
    pub(crate) fn from_settings(cfg: &GeocoderSettings) -> Result<Locator, GeoError> {
        let timeout = cfg.request_timeout;
        let geocoder = match cfg.kind {
            GeocoderKind::Nominatim => {
                let url = cfg.url.as_ref().ok_or_else(|| {
                    GeoError::Unavailable("GEOCODER_URL is required with GEOCODER=nominatim".into())
                })?;
                Geocoder::Nominatim(nominatim::Nominatim::new(url, timeout)?)
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
                Geocoder::Google(google::Google::new(&base, key, timeout)?)
            }
            GeocoderKind::Gazetteer => Geocoder::Gazetteer(load_gazetteer(cfg)?),
        };
        let cep = match (&cfg.cep_url, &geocoder) {
            (Some(url), _) => CepSource::ViaCep(cep::ViaCep::new(url, timeout)?),
            (None, Geocoder::Gazetteer(g)) => CepSource::Gazetteer(Arc::clone(g)),
            (None, _) => CepSource::Gazetteer(load_gazetteer(cfg)?),
        };
        Ok(Locator { geocoder, cep })
    }

    /// What the caller's address is, and how sure the match is. A place found
    /// from a CEP always carries the caller's number and that CEP, even when
    /// the geocoder only knew the street. Every answer gets one log line with
    /// the rule that decided and the score's bucket, never the address.
    pub(crate) async fn locate(&self, q: &AddressQuery) -> Result<Judged, GeoError> {
        let started = Instant::now();
        let judged = match q {
            AddressQuery::Spoken { text } => self.locate_spoken(text).await?,
            AddressQuery::Cep { cep, number } => self.locate_cep(cep, number.as_deref()).await?,
            AddressQuery::Street {
                street,
                number,
                cep,
                town,
            } => {
                self.locate_street(street, number.as_deref(), cep, town)
                    .await?
            }
        };
        tracing::info!(
            query = match q {
                AddressQuery::Spoken { .. } => "spoken",
                AddressQuery::Cep { .. } => "cep",
                AddressQuery::Street { .. } => "street_in_town",
            },
            verdict = match &judged.located {
                Located::Sure(_) => "sure",
                Located::Guess(_) => "guess",
                Located::Choice(..) => "choice",
                Located::TownOnly(_) => "town_only",
                Located::NotFound => "not_found",
            },
            rule = judged.rule,
            score_bucket = judged.score.map(score_bucket).unwrap_or("none"),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "address attempt"
        );
        Ok(judged)
    }

    async fn locate_spoken(&self, text: &str) -> Result<Judged, GeoError> {
        if let Geocoder::Gazetteer(g) = &self.geocoder {
            return Ok(g.locate_free(text));
        }
        let found = self
            .geocoder
            .geocode(&GeoQuery::Free(text.to_string()))
            .await?;
        Ok(match found {
            None => Judged::not_found("geocoder_found_nothing"),
            Some(place) => judge_remote(text, place),
        })
    }

    /// The street said after a CEP that names only a town, looked for in that
    /// town: a result in another town is not found.
    async fn locate_street(
        &self,
        street: &str,
        number: Option<&str>,
        cep: &Cep,
        town: &Town,
    ) -> Result<Judged, GeoError> {
        let text = format!(
            "{street} {}, {} {}",
            number.unwrap_or(ivr_core::speech::NO_NUMBER),
            town.city,
            town.state.as_deref().unwrap_or("")
        );
        let mut judged = self.locate_spoken(&text).await?;
        let in_town =
            |p: &Place| gazetteer::fold(p.city.trim()) == gazetteer::fold(town.city.trim());
        let fix = |p: &mut Place| {
            p.number = number.map(str::to_string);
            p.cep = Some(cep.clone());
            if p.state.is_none() {
                p.state = town.state.clone();
            }
        };
        judged.located = match judged.located {
            Located::Sure(mut p) | Located::Guess(mut p) if !in_town(&p) => {
                fix(&mut p);
                return Ok(Judged::not_found("outside_the_town"));
            }
            Located::Sure(mut p) => {
                fix(&mut p);
                Located::Sure(p)
            }
            Located::Guess(mut p) => {
                fix(&mut p);
                Located::Guess(p)
            }
            Located::Choice(mut a, mut b) => match (in_town(&a), in_town(&b)) {
                (true, true) => {
                    fix(&mut a);
                    fix(&mut b);
                    Located::Choice(a, b)
                }
                (true, false) | (false, true) => {
                    let mut p = if in_town(&a) { a } else { b };
                    fix(&mut p);
                    Located::Guess(p)
                }
                (false, false) => return Ok(Judged::not_found("outside_the_town")),
            },
            other => other,
        };
        Ok(judged)
    }

    async fn locate_cep(&self, cep: &Cep, number: Option<&str>) -> Result<Judged, GeoError> {
        let Some(addr) = self.cep.lookup(cep).await? else {
            return Ok(Judged::not_found("unknown_cep"));
        };
        if addr.city.trim().is_empty() {
            return Ok(Judged::not_found("cep_without_city"));
        }
        if addr.street.trim().is_empty() {
            return Ok(Judged::new(
                Located::TownOnly(Town {
                    city: addr.city.trim().to_string(),
                    state: addr.state.clone(),
                }),
                "cep_names_a_town",
                None,
            ));
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
            return Ok(Judged::not_found("cep_street_not_found"));
        };
        place.number = number;
        place.cep = Some(cep.clone());
        if place.neighbourhood.is_none() {
            place.neighbourhood = addr.neighbourhood;
        }
        if place.state.is_none() {
            place.state = addr.state;
        }
        Ok(Judged::new(Located::Sure(place), "cep", None))
    }
}

/// "0.9", "0.8"…: scores in tenths, for logs.
fn score_bucket(score: f32) -> &'static str {
    const BUCKETS: [&str; 11] = [
        "0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0",
    ];
    let i = (score.clamp(0.0, 1.0) * 10.0).floor() as usize;
    BUCKETS[i.min(10)]
}

/// A remote geocoder's first result for a spoken text, judged as the
/// gazetteer judges its own: a result on another street than the one named is
/// not found; a weak resemblance is a guess; the caller's number and
/// complement win over the result's (a street-level result is accepted at the
/// street's position with the caller's number).
fn judge_remote(text: &str, mut place: Place) -> Judged {
    let Some((similarity, said)) = gazetteer::judge(text, &place.street) else {
        return Judged::not_found("other_street");
    };
    if similarity < gazetteer::MIN_SIMILARITY {
        return Judged::not_found("other_street");
    }
    if said.number.is_some() || said.no_number {
        place.number = said.number;
    }
    place.complement = said.complement;
    if similarity >= gazetteer::SURE {
        Judged::new(Located::Sure(place), "sure", Some(similarity))
    } else {
        Judged::new(Located::Guess(place), "weak_match", Some(similarity))
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
                number: number.clone(),
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
