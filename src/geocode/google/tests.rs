//! The client against a mock Google: requests, parsing, errors that keep the
//! key out, and the service area.

use super::*;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
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

fn in_area(server: &MockServer, area: &str) -> Google {
    client(server, 2000).with_area(ServiceArea::parse(area).unwrap())
}

/// A street-level result in a city, Google style.
fn result(city: &str, uf: &str, lat: f64, lng: f64) -> serde_json::Value {
    json!({
        "address_components": [
            {"long_name": "Rua Rui Barbosa", "short_name": "R. Rui Barbosa", "types": ["route"]},
            {"long_name": city, "short_name": city, "types": ["administrative_area_level_2", "political"]},
            {"long_name": uf, "short_name": uf, "types": ["administrative_area_level_1", "political"]},
            {"long_name": "Brasil", "short_name": "BR", "types": ["country", "political"]}
        ],
        "geometry": {"location": {"lat": lat, "lng": lng}}
    })
}

fn sao_paulo() -> serde_json::Value {
    result("São Paulo", "SP", -23.5614, -46.6559)
}

fn sao_jose() -> serde_json::Value {
    result("São José", "SC", -27.6136, -48.6366)
}

fn ok(results: &[serde_json::Value]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "OK", "results": results}))
}

fn free(text: &str) -> GeoQuery {
    GeoQuery::Free(text.into())
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
    assert_eq!(place.number.as_ref().and_then(|n| n.given()), Some("900"));
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

#[tokio::test]
async fn a_box_is_sent_as_bounds_and_a_result_outside_it_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(path("/maps/api/geocode/json"))
        .and(query_param("address", "Rua Rui Barbosa 120"))
        .and(query_param("bounds", "-27.7,-48.6|-27.4,-48.3"))
        .and(query_param("components", "country:BR"))
        .respond_with(ok(&[sao_paulo()]))
        .expect(1)
        .mount(&server)
        .await;
    let g = in_area(&server, "-27.4,-48.6,-27.7,-48.3");
    assert_eq!(g.geocode(&free("Rua Rui Barbosa 120")).await, Ok(None));
}

/// The issue's case: said without the city, with the area Florianópolis-SC.
#[tokio::test]
async fn one_city_is_sent_as_its_locality_and_state_and_sao_paulo_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(path("/maps/api/geocode/json"))
        .and(query_param("address", "Rua Rui Barbosa 120"))
        .and(query_param(
            "components",
            "country:BR|administrative_area:SC|locality:Florianópolis",
        ))
        .and(query_param_is_missing("bounds"))
        .respond_with(ok(&[sao_paulo()]))
        .expect(1)
        .mount(&server)
        .await;
    let g = in_area(&server, "Florianópolis-SC");
    assert_eq!(g.geocode(&free("Rua Rui Barbosa 120")).await, Ok(None));
}

#[tokio::test]
async fn cities_of_one_state_send_it_and_the_first_result_inside_is_taken() {
    let server = MockServer::start().await;
    Mock::given(path("/maps/api/geocode/json"))
        .and(query_param(
            "components",
            "country:BR|administrative_area:SC",
        ))
        .respond_with(ok(&[sao_paulo(), sao_jose()]))
        .expect(1)
        .mount(&server)
        .await;
    let g = in_area(&server, "Florianópolis-SC,São José-SC");
    let p = g
        .geocode(&free("Rua Rui Barbosa 120"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.city.as_str(), p.state.as_deref()),
        ("São José", Some("SC"))
    );
    // Cities of several states (or of unknown ones): the country alone.
    let server = MockServer::start().await;
    Mock::given(path("/maps/api/geocode/json"))
        .and(query_param("components", "country:BR"))
        .respond_with(ok(&[sao_paulo()]))
        .expect(1)
        .mount(&server)
        .await;
    let g = in_area(&server, "Florianópolis-SC,Curitiba-PR");
    assert_eq!(g.geocode(&free("Rua Rui Barbosa 120")).await, Ok(None));
}

#[tokio::test]
async fn a_city_the_caller_named_is_sent_and_only_a_result_there_will_do() {
    let server = MockServer::start().await;
    Mock::given(path("/maps/api/geocode/json"))
        .and(query_param("address", "Rua Rui Barbosa 120, Sao Jose"))
        .and(query_param(
            "components",
            "country:BR|administrative_area:SC|locality:São José",
        ))
        .respond_with(ok(&[
            result("Florianópolis", "SC", -27.5855, -48.5510),
            sao_jose(),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let g = in_area(&server, "Florianópolis-SC,São José-SC,Curitiba-PR");
    let p = g
        .geocode(&free("Rua Rui Barbosa 120, Sao Jose"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.city, "São José");
}

#[tokio::test]
async fn a_structured_query_keeps_its_city_and_is_still_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/maps/api/geocode/json"))
        .and(query_param(
            "address",
            "Rua Rui Barbosa, 120, São Paulo - SP",
        ))
        .and(query_param("components", "country:BR"))
        .respond_with(ok(&[sao_paulo()]))
        .expect(1)
        .mount(&server)
        .await;
    let q = GeoQuery::Structured {
        street: "Rua Rui Barbosa".into(),
        number: Some("120".into()),
        neighbourhood: None,
        city: "São Paulo".into(),
        state: Some("SP".into()),
        cep: None,
    };
    let g = in_area(&server, "Florianópolis-SC");
    assert_eq!(g.geocode(&q).await, Ok(None));
}
