//! The client against a mock Nominatim: requests, parsing, errors, and the
//! service area.

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

fn in_area(server: &MockServer, area: &str) -> Nominatim {
    client(server, 2000).with_area(ServiceArea::parse(area).unwrap())
}

/// A street-level hit in a city, Nominatim style.
fn hit(city: &str, iso: &str, lat: f64, lon: f64) -> Value {
    json!({
        "lat": lat.to_string(), "lon": lon.to_string(),
        "address": {"road": "Rua Rui Barbosa", "city": city, "ISO3166-2-lvl4": iso}
    })
}

fn sao_paulo() -> Value {
    hit("São Paulo", "BR-SP", -23.5614, -46.6559)
}

fn florianopolis() -> Value {
    hit("Florianópolis", "BR-SC", -27.5855, -48.5510)
}

fn sao_jose() -> Value {
    hit("São José", "BR-SC", -27.6136, -48.6366)
}

fn free(text: &str) -> GeoQuery {
    GeoQuery::Free(text.into())
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
        .and(query_param("limit", "5"))
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
    assert_eq!(place.number.as_ref().and_then(|n| n.given()), Some("900"));
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
    assert_eq!(place.number.as_ref().and_then(|n| n.given()), Some("900"));
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

#[tokio::test]
async fn a_box_is_a_bounded_viewbox_and_a_hit_outside_it_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param("q", "Rua Rui Barbosa 120"))
        .and(query_param("viewbox", "-48.6,-27.4,-48.3,-27.7"))
        .and(query_param("bounded", "1"))
        .and(query_param("countrycodes", "br"))
        .and(query_param("limit", "5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sao_paulo()])))
        .expect(1)
        .mount(&server)
        .await;
    let n = in_area(&server, "-27.4,-48.3,-27.7,-48.6");
    assert_eq!(n.geocode(&free("Rua Rui Barbosa 120")).await, Ok(None));
}

#[tokio::test]
async fn the_first_hit_the_area_admits_is_taken() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            sao_paulo(),
            {"lat": "-27.59", "lon": "-48.55", "address": {"city": "Florianópolis"}},
            florianopolis(),
            sao_jose()
        ])))
        .mount(&server)
        .await;
    let n = in_area(&server, "-27.7,-48.6,-27.4,-48.3");
    let p = n
        .geocode(&free("Rua Rui Barbosa 120"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.city.as_str(), p.lat), ("Florianópolis", -27.5855));
    // Brazil, the default, takes the first address.
    let p = client(&server, 2000)
        .geocode(&free("Rua Rui Barbosa 120"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.city, "São Paulo");
}

/// The issue's case: said without the city, with the area Florianópolis-SC.
#[tokio::test]
async fn a_street_said_without_its_city_is_looked_for_in_the_area() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param(
            "q",
            "Rua Rui Barbosa 120, Florianópolis, Santa Catarina",
        ))
        .and(query_param("countrycodes", "br"))
        .and(query_param_is_missing("viewbox"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sao_paulo()])))
        .expect(1)
        .mount(&server)
        .await;
    let n = in_area(&server, "Florianópolis-SC");
    assert_eq!(n.geocode(&free("Rua Rui Barbosa 120")).await, Ok(None));
}

#[tokio::test]
async fn several_cities_are_tried_in_order_until_one_admits_a_hit() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param(
            "q",
            "Rua Rui Barbosa 120, Florianópolis, Santa Catarina",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sao_paulo()])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/search"))
        .and(query_param(
            "q",
            "Rua Rui Barbosa 120, São José, Santa Catarina",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sao_jose()])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/search"))
        .and(query_param("q", "Rua Rui Barbosa 120, Palhoça"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    let n = in_area(&server, "Florianópolis-SC,São José-SC,Palhoça");
    let p = n
        .geocode(&free("Rua Rui Barbosa 120"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.city.as_str(), p.state.as_deref()),
        ("São José", Some("SC"))
    );
}

#[tokio::test]
async fn a_city_the_caller_named_is_not_added_again() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param("q", "Rua Rui Barbosa 120 sao jose"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([florianopolis(), sao_jose()])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let n = in_area(&server, "Florianópolis-SC,São José-SC");
    let p = n
        .geocode(&free("Rua Rui Barbosa 120 sao jose"))
        .await
        .unwrap()
        .unwrap();
    // The city said, though the other is in the area too.
    assert_eq!(p.city, "São José");
}

#[tokio::test]
async fn many_cities_are_one_request_with_their_state() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param("q", "Rua Rui Barbosa 120, Santa Catarina"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sao_jose()])))
        .expect(1)
        .mount(&server)
        .await;
    let n = in_area(
        &server,
        "Florianópolis-SC,São José-SC,Palhoça-SC,Biguaçu-SC,Tijucas-SC",
    );
    assert_eq!(MAX_CITY_QUERIES, 4);
    let p = n
        .geocode(&free("Rua Rui Barbosa 120"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.city, "São José");
}

#[tokio::test]
async fn a_district_hit_is_admitted_by_its_municipality() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "lat": "-27.51", "lon": "-48.51",
            "address": {"road": "Rua Rui Barbosa", "town": "Santo Antônio de Lisboa",
                        "municipality": "Florianópolis", "ISO3166-2-lvl4": "BR-SC"}
        }])))
        .mount(&server)
        .await;
    let n = in_area(&server, "Florianópolis-SC");
    let p = n
        .geocode(&free("Rua Rui Barbosa 1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.city, "Florianópolis");
}

#[tokio::test]
async fn the_cities_share_one_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let n = client(&server, 450)
        .with_area(ServiceArea::parse("Florianópolis-SC,São José-SC,Palhoça-SC").unwrap());
    let started = std::time::Instant::now();
    let r = n.geocode(&free("Rua Rui Barbosa 120")).await;
    // The first city answered empty; the second ran out of time: not
    // "not found", since a city was left unsearched.
    assert_eq!(r, Err(GeoError::Timeout));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(800), "{took:?}");
}

#[tokio::test]
async fn a_structured_query_keeps_its_city_and_is_still_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param("street", "120 Rua Rui Barbosa"))
        .and(query_param("city", "São Paulo"))
        .and(query_param("state", "São Paulo"))
        .and(query_param_is_missing("q"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sao_paulo()])))
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
    let n = in_area(&server, "Florianópolis-SC");
    assert_eq!(n.geocode(&q).await, Ok(None));
}
