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

use super::{Found, GeoError, GeoQuery, endpoint, fetch, http_client, state_name, uf_of};
use ivr_core::domain::{Cep, Place};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use url::Url;

const SERVICE: &str = "nominatim";

#[derive(Debug, Clone)]
pub(crate) struct Nominatim {
    client: reqwest::Client,
    search_url: Url,
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

impl Nominatim {
    /// `base`: the server root, e.g. `https://nominatim.example.net` (a path
    /// prefix is kept). `timeout`: the total time one request may take.
    pub(crate) fn new(base: &Url, timeout: Duration) -> Result<Self, GeoError> {
        Ok(Nominatim {
            client: http_client(timeout)?,
            search_url: endpoint(base, "search")?,
        })
    }

    pub(crate) async fn geocode(&self, q: &GeoQuery) -> Result<Option<Place>, GeoError> {
        let mut params: Vec<(&str, String)> = vec![
            ("format", "jsonv2".into()),
            ("addressdetails", "1".into()),
            ("limit", "1".into()),
            ("countrycodes", "br".into()),
        ];
        match q {
            GeoQuery::Free(text) => {
                params.push(("q", text.clone()));
                self.search(&params, q).await
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
                    if let Some(place) = self.search(&with_cep, q).await? {
                        return Ok(Some(place));
                    }
                }
                self.search(&params, q).await
            }
        }
    }

    async fn search(
        &self,
        params: &[(&str, String)],
        q: &GeoQuery,
    ) -> Result<Option<Place>, GeoError> {
        let request = self.client.get(self.search_url.clone()).query(params);
        let (status, body) = fetch(SERVICE, request).await?;
        if !status.is_success() {
            return Err(GeoError::Unavailable(format!(
                "{SERVICE}: HTTP {}",
                status.as_u16()
            )));
        }
        let hits: Vec<Hit> = serde_json::from_slice(&body)
            .map_err(|_| GeoError::BadResponse(format!("{SERVICE}: not the expected JSON")))?;
        let Some(hit) = hits.into_iter().next() else {
            return Ok(None);
        };
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
        Ok(found.into_place(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn tutorial_hit() -> Value {
        json!([{
            "place_id": 1,
            "lat": "-27.5782336721312",
            "lon": "-48.527442812919624",
            "category": "place",
            "type": "house",
            "address": {
                "house_number": "900",
                "road": "Rua Delminda Silveira",
                "suburb": "Agronômica",
                "city": "Florianópolis",
                "state": "Santa Catarina",
                "ISO3166-2-lvl4": "BR-SC",
                "postcode": "88025-500",
                "country": "Brasil",
                "country_code": "br"
            }
        }])
    }

    fn client(server: &MockServer, timeout_ms: u64) -> Nominatim {
        let base = Url::parse(&server.uri()).unwrap();
        Nominatim::new(&base, Duration::from_millis(timeout_ms)).unwrap()
    }

    #[tokio::test]
    async fn free_query_sends_the_expected_request_and_parses_the_hit() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/search"))
            .and(query_param(
                "q",
                "Rua Delminda Silveira, 900, Florianópolis",
            ))
            .and(query_param("format", "jsonv2"))
            .and(query_param("addressdetails", "1"))
            .and(query_param("limit", "1"))
            .and(query_param("countrycodes", "br"))
            .and(header("user-agent", super::super::USER_AGENT))
            .and(header("accept-language", "pt-BR"))
            .respond_with(ResponseTemplate::new(200).set_body_json(tutorial_hit()))
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
        assert_eq!(place.street, "Rua Delminda Silveira");
        assert_eq!(place.number.as_deref(), Some("900"));
        assert_eq!(place.neighbourhood.as_deref(), Some("Agronômica"));
        assert_eq!(place.city, "Florianópolis");
        assert_eq!(place.state.as_deref(), Some("SC"));
        assert_eq!(place.cep, Cep::parse("88025500"));
        assert!((place.lat - -27.5782336721312).abs() < 1e-12);
        assert!((place.lng - -48.527442812919624).abs() < 1e-12);
        assert!(super::super::USER_AGENT.starts_with("ozmap-ivr/"));
    }

    #[tokio::test]
    async fn structured_query_puts_the_number_first_and_falls_back_without_the_cep() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .and(query_param("street", "900 Rua Delminda Silveira"))
            .and(query_param("city", "Florianópolis"))
            .and(query_param("state", "Santa Catarina"))
            .and(query_param("country", "Brasil"))
            .and(query_param("postalcode", "88025-500"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/search"))
            .and(query_param("street", "900 Rua Delminda Silveira"))
            .and(query_param_is_missing("postalcode"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "lat": "-27.5779", "lon": "-48.5286",
                "address": {"road": "Rua Delminda Silveira", "town": "Florianópolis"}
            }])))
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
        // Street-level hit: the caller's number, the CEP and the query's
        // neighbourhood and state fill what the result lacks.
        assert_eq!(place.number.as_deref(), Some("900"));
        assert_eq!(place.cep, Cep::parse("88025500"));
        assert_eq!(place.neighbourhood.as_deref(), Some("Agronômica"));
        assert_eq!(place.state.as_deref(), Some("SC"));
        assert_eq!(place.city, "Florianópolis");
        assert!((place.lat - -27.5779).abs() < 1e-9);
    }

    #[tokio::test]
    async fn empty_array_is_none() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&server)
            .await;
        let r = client(&server, 2000)
            .geocode(&GeoQuery::Free("Rua Que Não Existe 1".into()))
            .await;
        assert_eq!(r, Ok(None));
    }

    #[tokio::test]
    async fn a_free_hit_without_a_road_is_none() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "lat": "-27.59", "lon": "-48.54",
                "address": {"city": "Florianópolis", "ISO3166-2-lvl4": "BR-SC"}
            }])))
            .mount(&server)
            .await;
        let r = client(&server, 2000)
            .geocode(&GeoQuery::Free("Florianópolis".into()))
            .await;
        assert_eq!(r, Ok(None));
    }

    #[tokio::test]
    async fn server_error_is_unavailable_and_hides_the_address() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let err = client(&server, 2000)
            .geocode(&GeoQuery::Free("Rua Delminda Silveira 900".into()))
            .await
            .unwrap_err();
        assert_eq!(err, GeoError::Unavailable("nominatim: HTTP 500".into()));
        assert!(!err.to_string().contains("Delminda"));
    }

    #[tokio::test]
    async fn garbage_is_a_bad_response() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
            .mount(&server)
            .await;
        let err = client(&server, 2000)
            .geocode(&GeoQuery::Free("x".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, GeoError::BadResponse(_)), "{err:?}");
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([{"lat": "north", "lon": "-48", "address": {}}])),
            )
            .mount(&server)
            .await;
        let err = client(&server, 2000)
            .geocode(&GeoQuery::Free("x".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, GeoError::BadResponse(_)), "{err:?}");
    }

    #[tokio::test]
    async fn slow_answer_is_a_timeout() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(tutorial_hit())
                    .set_delay(Duration::from_millis(1500)),
            )
            .mount(&server)
            .await;
        let started = std::time::Instant::now();
        let err = client(&server, 200)
            .geocode(&GeoQuery::Free("Rua Delminda Silveira 900".into()))
            .await
            .unwrap_err();
        assert_eq!(err, GeoError::Timeout);
        assert!(started.elapsed() < Duration::from_millis(1200));
    }

    #[tokio::test]
    async fn refused_connection_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let base = Url::parse(&format!("http://{addr}")).unwrap();
        let err = Nominatim::new(&base, Duration::from_millis(500))
            .unwrap()
            .geocode(&GeoQuery::Free("Rua Delminda Silveira 900".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, GeoError::Unavailable(_)), "{err:?}");
        assert!(!err.to_string().contains("Delminda"));
        assert!(!err.to_string().contains("127.0.0.1"));
    }
}
