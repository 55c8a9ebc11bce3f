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

use super::{Found, GeoError, GeoQuery, endpoint, fetch, http_client};
use ivr_core::domain::{Cep, Place};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;
use url::Url;

const SERVICE: &str = "google";
/// Used when `GEOCODER_URL` is unset.
pub(crate) const DEFAULT_BASE_URL: &str = "https://maps.googleapis.com";

#[derive(Debug, Clone)]
pub(crate) struct Google {
    client: reqwest::Client,
    geocode_url: Url,
    key: SecretString,
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

impl Google {
    /// `base`: `https://maps.googleapis.com` (overridable for tests).
    pub(crate) fn new(base: &Url, key: SecretString, timeout: Duration) -> Result<Self, GeoError> {
        Ok(Google {
            client: http_client(timeout)?,
            geocode_url: endpoint(base, "maps/api/geocode/json")?,
            key,
        })
    }

    pub(crate) async fn geocode(&self, q: &GeoQuery) -> Result<Option<Place>, GeoError> {
        match q {
            GeoQuery::Free(text) => self.search(text, "country:BR".into(), q).await,
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
                if let Some(cep) = cep {
                    let components = format!("country:BR|postal_code:{}", cep.formatted());
                    if let Some(place) = self.search(&address, components, q).await? {
                        return Ok(Some(place));
                    }
                }
                self.search(&address, "country:BR".into(), q).await
            }
        }
    }

    async fn search(
        &self,
        address: &str,
        components: String,
        q: &GeoQuery,
    ) -> Result<Option<Place>, GeoError> {
        let request = self.client.get(self.geocode_url.clone()).query(&[
            ("address", address),
            ("components", components.as_str()),
            ("region", "br"),
            ("language", "pt-BR"),
            ("key", self.key.expose_secret()),
        ]);
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
        let Some(r) = answer.results.first() else {
            return Ok(None);
        };
        let found = Found {
            street: long(r, "route"),
            number: long(r, "street_number"),
            neighbourhood: long(r, "sublocality_level_1")
                .or_else(|| long(r, "sublocality"))
                .or_else(|| long(r, "neighborhood")),
            city: long(r, "administrative_area_level_2").or_else(|| long(r, "locality")),
            state: component(r, "administrative_area_level_1").map(|c| c.short_name.clone()),
            cep: component(r, "postal_code").and_then(|c| Cep::parse(&c.long_name)),
            lat: r.geometry.location.lat,
            lng: r.geometry.location.lng,
        };
        Ok(found.into_place(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "AIzaTEST-secret-key-123";

    fn client(server: &MockServer, timeout_ms: u64) -> Google {
        let base = Url::parse(&server.uri()).unwrap();
        Google::new(
            &base,
            SecretString::from(KEY.to_string()),
            Duration::from_millis(timeout_ms),
        )
        .unwrap()
    }

    fn tutorial_answer() -> serde_json::Value {
        json!({
            "status": "OK",
            "results": [{
                "address_components": [
                    {"long_name": "900", "short_name": "900", "types": ["street_number"]},
                    {"long_name": "Rua Delminda Silveira", "short_name": "R. Delminda Silveira", "types": ["route"]},
                    {"long_name": "Agronômica", "short_name": "Agronômica", "types": ["political", "sublocality", "sublocality_level_1"]},
                    {"long_name": "Florianópolis", "short_name": "Florianópolis", "types": ["administrative_area_level_2", "political"]},
                    {"long_name": "Santa Catarina", "short_name": "SC", "types": ["administrative_area_level_1", "political"]},
                    {"long_name": "Brasil", "short_name": "BR", "types": ["country", "political"]},
                    {"long_name": "88025-500", "short_name": "88025-500", "types": ["postal_code"]}
                ],
                "formatted_address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500, Brasil",
                "geometry": {"location": {"lat": -27.5782336721312, "lng": -48.527442812919624}}
            }]
        })
    }

    #[tokio::test]
    async fn free_query_sends_key_region_language_and_parses_components() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/maps/api/geocode/json"))
            .and(query_param(
                "address",
                "Rua Delminda Silveira, 900, Florianópolis",
            ))
            .and(query_param("key", KEY))
            .and(query_param("region", "br"))
            .and(query_param("language", "pt-BR"))
            .and(query_param("components", "country:BR"))
            .and(header("user-agent", super::super::USER_AGENT))
            .respond_with(ResponseTemplate::new(200).set_body_json(tutorial_answer()))
            .expect(1)
            .mount(&server)
            .await;
        let place = client(&server, 2000)
            .geocode(&GeoQuery::Free(
                "Rua Delminda Silveira, 900, Florianópolis".into(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            place.postal(),
            "Rua Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
        );
        assert!((place.lat - -27.5782336721312).abs() < 1e-12);
        assert!((place.lng - -48.527442812919624).abs() < 1e-12);
    }

    #[tokio::test]
    async fn structured_query_filters_by_postal_code_then_retries_without() {
        let server = MockServer::start().await;
        Mock::given(path("/maps/api/geocode/json"))
            .and(query_param(
                "address",
                "Rua Delminda Silveira, 900, Agronômica, Florianópolis - SC",
            ))
            .and(query_param(
                "components",
                "country:BR|postal_code:88025-500",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status": "ZERO_RESULTS", "results": []})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/maps/api/geocode/json"))
            .and(query_param("components", "country:BR"))
            .respond_with(ResponseTemplate::new(200).set_body_json(tutorial_answer()))
            .expect(1)
            .mount(&server)
            .await;
        let q = GeoQuery::Structured {
            street: "Rua Delminda Silveira".into(),
            number: Some("900".into()),
            neighbourhood: Some("Agronômica".into()),
            city: "Florianópolis".into(),
            state: Some("SC".into()),
            cep: Cep::parse("88025500"),
        };
        let place = client(&server, 2000).geocode(&q).await.unwrap().unwrap();
        assert_eq!(place.cep, Cep::parse("88025500"));
        assert_eq!(place.number.as_deref(), Some("900"));
    }

    #[tokio::test]
    async fn zero_results_is_none() {
        let server = MockServer::start().await;
        Mock::given(path("/maps/api/geocode/json"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status": "ZERO_RESULTS", "results": []})),
            )
            .mount(&server)
            .await;
        let r = client(&server, 2000)
            .geocode(&GeoQuery::Free("Rua Que Não Existe 1".into()))
            .await;
        assert_eq!(r, Ok(None));
    }

    #[tokio::test]
    async fn request_denied_is_unavailable_without_the_key_or_google_message() {
        let server = MockServer::start().await;
        Mock::given(path("/maps/api/geocode/json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "REQUEST_DENIED",
                "error_message": format!("The provided API key {KEY} is invalid."),
                "results": []
            })))
            .mount(&server)
            .await;
        let err = client(&server, 2000)
            .geocode(&GeoQuery::Free("Rua Delminda Silveira 900".into()))
            .await
            .unwrap_err();
        assert_eq!(err, GeoError::Unavailable("google: REQUEST_DENIED".into()));
        let text = format!("{err} {err:?}");
        assert!(!text.contains(KEY));
        assert!(!text.contains("Delminda"));
    }

    #[tokio::test]
    async fn over_query_limit_is_unavailable() {
        let server = MockServer::start().await;
        Mock::given(path("/maps/api/geocode/json"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status": "OVER_QUERY_LIMIT", "results": []})),
            )
            .mount(&server)
            .await;
        let err = client(&server, 2000)
            .geocode(&GeoQuery::Free("x".into()))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            GeoError::Unavailable("google: OVER_QUERY_LIMIT".into())
        );
    }

    #[tokio::test]
    async fn server_error_and_timeout_never_show_the_key() {
        let server = MockServer::start().await;
        Mock::given(path("/maps/api/geocode/json"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let err = client(&server, 2000)
            .geocode(&GeoQuery::Free("x".into()))
            .await
            .unwrap_err();
        assert_eq!(err, GeoError::Unavailable("google: HTTP 503".into()));

        let slow = MockServer::start().await;
        Mock::given(path("/maps/api/geocode/json"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(tutorial_answer())
                    .set_delay(Duration::from_millis(1500)),
            )
            .mount(&slow)
            .await;
        let err = client(&slow, 200)
            .geocode(&GeoQuery::Free("x".into()))
            .await
            .unwrap_err();
        assert_eq!(err, GeoError::Timeout);

        // A transport error: reqwest would put the URL (and so the key) in it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let base = Url::parse(&format!("http://{addr}")).unwrap();
        let g = Google::new(
            &base,
            SecretString::from(KEY.to_string()),
            Duration::from_millis(500),
        )
        .unwrap();
        let err = g.geocode(&GeoQuery::Free("x".into())).await.unwrap_err();
        let text = format!("{err} {err:?} {g:?}");
        assert!(!text.contains(KEY), "{text}");
    }
}
