//! The locator: from what the caller gave to a verdict on where it is, with
//! the same judgement for every geocoder and the service area applied.

use super::{
    CepAddress, CepSource, GeoError, GeoQuery, Geocoder, GeocoderKind, GeocoderSettings, Judged,
    Located, ServiceArea, cep, gazetteer, google, nominatim,
};
use ivr_core::domain::{AddressQuery, Cep, HouseNumber, Place, Town};
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// How far from a shared location the gazetteer's nearest address may be.
pub(crate) const REVERSE_MAX_M: f64 = 60.0;

/// How far from the nearest address of the gazetteer a point of an area of
/// cities may be and still count as inside it ([`Locator::judge_point`]).
pub(crate) const AREA_REACH_M: f64 = 2_000.0;

/// Where a point lies ([`Locator::judge_point`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PointVerdict {
    /// In the service area, with the nearest address when one is known.
    Inside(Option<Place>),
    Outside,
}

/// Turns an [`AddressQuery`] into a [`Place`].
#[derive(Debug)]
pub(crate) struct Locator {
    pub(super) geocoder: Geocoder,
    pub(super) cep: CepSource,
    /// Where the ISP works: the remote geocoders hold their own copy.
    area: ServiceArea,
    /// The ISP's own streets, for the recogniser's hints: the gazetteer that is
    /// the geocoder, or the `GAZETTEER_FILE` beside another geocoder (never the
    /// bundled demonstration file beside a real geocoder).
    streets: Option<Arc<gazetteer::Gazetteer>>,
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
        let streets = match &geocoder {
            Geocoder::Gazetteer(g) => Some(Arc::clone(g)),
            _ => None,
        };
        Locator {
            geocoder,
            cep,
            area: ServiceArea::Brazil,
            streets,
        }
    }

    /// This locator with another service area (unit tests only).
    #[cfg(test)]
    pub(crate) fn with_area(self, area: ServiceArea) -> Self {
        Locator { area, ..self }
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
        let streets = match &geocoder {
            Geocoder::Gazetteer(g) => Some(Arc::clone(g)),
            _ if cfg.gazetteer_file.is_some() => Some(gazetteer()?),
            _ => None,
        };
        Ok(Locator {
            geocoder,
            cep,
            area,
            streets,
        })
    }

    /// A known address, for `ozmap-ivr check`: the first row of
    /// `GAZETTEER_FILE`, else of the bundled gazetteer.
    pub(crate) fn known_address(cfg: &GeocoderSettings) -> Result<Place, GeoError> {
        load_gazetteer(cfg)?
            .first()
            .ok_or_else(|| GeoError::BadResponse("the gazetteer has no address".into()))
    }

    /// The configured geocoder asked about `place`'s street, number and city
    /// (`ozmap-ivr check`): `Ok(None)` when it answered without finding it.
    pub(crate) async fn probe_geocoder(&self, place: &Place) -> Result<Option<Place>, GeoError> {
        let q = GeoQuery::Structured {
            street: place.street.clone(),
            number: place
                .number
                .as_ref()
                .and_then(|n| n.given())
                .map(str::to_string),
            neighbourhood: place.neighbourhood.clone(),
            city: place.city.clone(),
            state: place.state.clone(),
            cep: place.cep.clone(),
        };
        self.geocoder.geocode(&q).await
    }

    /// The configured CEP source asked about `cep` (`ozmap-ivr check`).
    pub(crate) async fn probe_cep(&self, cep: &Cep) -> Result<Option<CepAddress>, GeoError> {
        self.cep.lookup(cep).await
    }

    /// Whether the geocoder and the CEP source are the gazetteer (answered in
    /// memory) rather than services: (geocoder, CEP).
    pub(crate) fn local(&self) -> (bool, bool) {
        (
            matches!(self.geocoder, Geocoder::Gazetteer(_)),
            matches!(self.cep, CepSource::Gazetteer(_)),
        )
    }

    /// The ISP's street names as a caller says them ("Rua Delminda Silveira"),
    /// the busiest first, at most `max_entries`, each short enough for a hint;
    /// empty without a gazetteer of the ISP's (see [`super::hints`]).
    pub(crate) fn street_hints(&self, max_entries: usize) -> Vec<String> {
        match &self.streets {
            Some(g) => super::hints::busiest_streets(g.street_rows(), max_entries),
            None => Vec::new(),
        }
    }

    /// What is at a shared location, for its read-back: the geocoder's
    /// reverse lookup (Nominatim `/reverse`; the gazetteer's nearest address
    /// within [`REVERSE_MAX_M`]); `None` when it cannot say (Google, nothing
    /// there, a failure). The coordinates stay the shared ones.
    pub(crate) async fn reverse(&self, lat: f64, lng: f64) -> Option<Place> {
        let found = match &self.geocoder {
            Geocoder::Nominatim(n) => match n.reverse(lat, lng).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "reverse geocode failed");
                    None
                }
            },
            Geocoder::Gazetteer(g) => g.nearest(lat, lng, REVERSE_MAX_M),
            Geocoder::Google(_) => None,
        };
        tracing::info!(found = found.is_some(), "reverse geocode");
        found.map(|p| Place { lat, lng, ..p })
    }

    /// Whether a point (a position sent from a phone) lies in the service
    /// area, with what is there for its read-back ([`Self::reverse`]):
    /// - outside Brazil's box, or outside an area that is a box: outside;
    /// - an area of cities: the nearest address's city, when the geocoder
    ///   names one; with the gazetteer and no address within
    ///   [`REVERSE_MAX_M`], the nearest address within [`AREA_REACH_M`]
    ///   (a new street beside known ones is inside, a point kilometres from
    ///   any address of the ISP is not);
    /// - anywhere in Brazil, or when the geocoder cannot say (Google, a
    ///   failure): inside; the reservation's own search for a box decides.
    pub(crate) async fn judge_point(&self, lat: f64, lng: f64) -> PointVerdict {
        if !super::area::BRAZIL.contains(lat, lng)
            || self.area.bounds().is_some_and(|b| !b.contains(lat, lng))
        {
            return PointVerdict::Outside;
        }
        let found = self.reverse(lat, lng).await;
        if !matches!(self.area, ServiceArea::Cities(_)) {
            return PointVerdict::Inside(found);
        }
        let judged = match (&found, &self.geocoder) {
            (Some(p), _) if !p.city.is_empty() => Some(self.area.admits(p)),
            (_, Geocoder::Gazetteer(g)) => Some(
                g.nearest(lat, lng, AREA_REACH_M)
                    .is_some_and(|p| self.area.admits(&p)),
            ),
            _ => None,
        };
        match judged {
            Some(false) => PointVerdict::Outside,
            _ => PointVerdict::Inside(found),
        }
    }

    /// What the caller's address is, and how sure the match is. A place found
    /// from a CEP always carries the caller's number and that CEP, even when
    /// the geocoder only knew the street. Every answer gets one log line with
    /// the rule that decided and the score's bucket, never the address.
    pub(crate) async fn locate(&self, q: &AddressQuery) -> Result<Judged, GeoError> {
        let started = Instant::now();
        let judged = match q {
            AddressQuery::Spoken { text } => self.locate_spoken(text).await?,
            AddressQuery::Cep { cep, number } => self.locate_cep(cep, number).await?,
            AddressQuery::Street {
                street,
                number,
                cep,
                town,
            } => self.locate_street(street, number, cep, town).await?,
            AddressQuery::Numbered { place, number } => self.locate_numbered(place, number).await,
        };
        tracing::info!(
            query = match q {
                AddressQuery::Spoken { .. } => "spoken",
                AddressQuery::Cep { .. } => "cep",
                AddressQuery::Street { .. } => "street_in_town",
                AddressQuery::Numbered { .. } => "number_on_street",
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
        let judged = if let Geocoder::Gazetteer(g) = &self.geocoder {
            g.locate_free(text)
        } else {
            match self
                .geocoder
                .geocode(&GeoQuery::Free(text.to_string()))
                .await?
            {
                None => Judged::not_found("geocoder_found_nothing"),
                Some(place) => judge_remote(text, place),
            }
        };
        Ok(self.within_area(judged))
    }

    /// A place outside the service area is not found; of two candidates, the
    /// one inside is a guess.
    fn within_area(&self, judged: Judged) -> Judged {
        let inside = |p: &Place| self.area.admits(p);
        let was_found = judged.located != Located::NotFound;
        let located = match judged.located {
            Located::Sure(p) | Located::Guess(p) if !inside(&p) => Located::NotFound,
            Located::Choice(a, b) => match (inside(&a), inside(&b)) {
                (true, true) => Located::Choice(a, b),
                (true, false) => Located::Guess(a),
                (false, true) => Located::Guess(b),
                (false, false) => Located::NotFound,
            },
            other => other,
        };
        if located == Located::NotFound && was_found {
            return Judged::not_found("outside_the_area");
        }
        Judged { located, ..judged }
    }

    /// The street said after a CEP that names only a town, looked for in that
    /// town: a result in another town is not found.
    async fn locate_street(
        &self,
        street: &str,
        number: &HouseNumber,
        cep: &Cep,
        town: &Town,
    ) -> Result<Judged, GeoError> {
        let text = format!(
            "{street} {}, {} {}",
            number.given().unwrap_or(ivr_core::speech::NO_NUMBER),
            town.city,
            town.state.as_deref().unwrap_or("")
        );
        let mut judged = self.locate_spoken(&text).await?;
        let in_town =
            |p: &Place| gazetteer::fold(p.city.trim()) == gazetteer::fold(town.city.trim());
        let fix = |p: &mut Place| {
            p.number = Some(number.clone());
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

    async fn locate_cep(&self, cep: &Cep, number: &HouseNumber) -> Result<Judged, GeoError> {
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
        let query = GeoQuery::Structured {
            street: addr.street.clone(),
            number: number.given().map(String::from),
            neighbourhood: addr.neighbourhood.clone(),
            city: addr.city.clone(),
            state: addr.state.clone(),
            cep: Some(cep.clone()),
        };
        let Some(mut place) = self.geocoder.geocode(&query).await? else {
            return Ok(Judged::not_found("cep_street_not_found"));
        };
        place.number = Some(number.clone());
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

impl Locator {
    /// The number asked for a street found without one: the house's own
    /// position on that street when the geocoder knows it, else the street's,
    /// with the caller's number either way (the street is already known: a
    /// failing geocoder loses nothing). Sure: the flow keeps a guessed street
    /// a guess.
    async fn locate_numbered(&self, street: &Place, number: &HouseNumber) -> Judged {
        let query = GeoQuery::Structured {
            street: street.street.clone(),
            number: number.given().map(String::from),
            neighbourhood: street.neighbourhood.clone(),
            city: street.city.clone(),
            state: street.state.clone(),
            cep: street.cep.clone(),
        };
        let same_street = |p: &Place| {
            gazetteer::judge(&p.street, &street.street)
                .is_some_and(|(similarity, _)| similarity >= gazetteer::SURE)
                && gazetteer::fold(p.city.trim()) == gazetteer::fold(street.city.trim())
        };
        let (mut place, rule) = match self.geocoder.geocode(&query).await {
            Ok(Some(p)) if same_street(&p) => (p, "number_found"),
            Ok(_) => (street.clone(), "number_on_the_street"),
            Err(e) => {
                tracing::warn!(error = %e, "geocoder failed on a number; the street's position is kept");
                (street.clone(), "number_on_the_street")
            }
        };
        place.street = street.street.clone();
        place.number = Some(number.clone());
        place.complement = street.complement.clone();
        if place.cep.is_none() {
            place.cep = street.cep.clone();
        }
        Judged::new(Located::Sure(place), rule, None)
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
/// complement replace the result's (a street-level result is accepted at the
/// street's position with the caller's number; without one the number is
/// not known).
fn judge_remote(text: &str, mut place: Place) -> Judged {
    let Some((similarity, said)) = gazetteer::judge(text, &place.street) else {
        return Judged::not_found("other_street");
    };
    if similarity < gazetteer::MIN_SIMILARITY {
        return Judged::not_found("other_street");
    }
    // The caller's number, or that they said there is none; a number not
    // heard is not known, whatever the result holds (it is asked).
    place.number = if said.no_number {
        Some(HouseNumber::Without)
    } else {
        said.number.map(HouseNumber::Given)
    };
    place.complement = said.complement;
    if similarity >= gazetteer::SURE {
        Judged::new(Located::Sure(place), "sure", Some(similarity))
    } else {
        Judged::new(Located::Guess(place), "weak_match", Some(similarity))
    }
}
