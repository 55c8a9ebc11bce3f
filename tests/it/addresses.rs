//! Addresses as recognisers return them, through the real service: the bundled
//! gazetteer and a Nominatim-compatible fake, with the sandbox as OZmap.

use ivr_tools::caller::CallEnd;
use serde_json::json;
use test_support::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The tutorial's address one letter off, as recognisers often return it.
const MISHEARD: &str = "Rua Delminda Silvera, 900, Agronomica";

fn up_to_the_address(address: &str) -> Vec<ivr_tools::caller::Answer> {
    vec![keys("321"), keys("1"), say("Ana Souza"), say(address)]
}

fn read_backs(text: &str) -> usize {
    text.matches("O endereço é").count() + text.matches("O endereço seria").count()
}

#[tokio::test]
async fn a_one_letter_mistake_is_reserved_after_one_read_back() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address(MISHEARD);
    answers.push(keys("1"));
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(
        text.contains("O endereço é Rua Delminda Silveira, 900, Agronômica"),
        "{text}"
    );
    assert_eq!(read_backs(&text), 1, "{text}");
    assert!(text.contains("Reservamos"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 1);
    assert!(matches!(report.end, CallEnd::Hangup));
}

#[tokio::test]
async fn the_same_street_in_two_cities_asks_the_city_then_reads_back() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address("Rua Santos Dumont, 140");
    answers.push(keys("1")); // "fica em Florianópolis?" yes
    answers.push(keys("2")); // not this address after all: nothing is reserved
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(
        text.contains("Só para confirmar: fica em Florianópolis?"),
        "{text}"
    );
    assert!(
        text.contains("O endereço é Rua Santos Dumont, 140, Centro, Florianópolis"),
        "{text}"
    );
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn a_weak_match_is_read_back_as_a_guess_and_a_no_offers_the_cep() {
    let app = TestApp::spawn(&[]).await;
    // Two letters short of "Frei Caneca".
    let mut answers = up_to_the_address("Rua Frei Cane 150");
    answers.push(keys("2"));
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(
        text.contains("Não tenho certeza se entendi. O endereço seria Rua Frei Caneca, 150"),
        "{text}"
    );
    assert!(text.contains("digite os oito números do CEP"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 0);
}

async fn nominatim_answering(road: &str) -> MockServer {
    let geo = MockServer::start().await;
    // A street-level result, as OSM gives for most Brazilian addresses.
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "lat": tutorial::LAT.to_string(), "lon": tutorial::LNG.to_string(),
            "address": {"road": road, "suburb": "Agronômica",
                        "city": "Florianópolis", "ISO3166-2-lvl4": "BR-SC"}
        }])))
        .mount(&geo)
        .await;
    geo
}

#[tokio::test]
async fn through_nominatim_a_one_letter_mistake_is_reserved_with_the_callers_number() {
    let geo = nominatim_answering("Rua Delminda Silveira").await;
    let geo_url = format!("--geocoder-url={}", geo.uri());
    let app = TestApp::spawn(&["--geocoder=nominatim", &geo_url]).await;
    let mut answers = up_to_the_address(MISHEARD);
    answers.push(keys("1"));
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(
        text.contains("O endereço é Rua Delminda Silveira, 900"),
        "{text}"
    );
    assert_eq!(read_backs(&text), 1, "{text}");
    assert!(text.contains("Reservamos"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn through_nominatim_a_result_on_another_street_is_not_found() {
    let geo = nominatim_answering("Rua Frei Caneca").await;
    let geo_url = format!("--geocoder-url={}", geo.uri());
    let app = TestApp::spawn(&["--geocoder=nominatim", &geo_url]).await;
    let report = app.call(up_to_the_address(MISHEARD)).await;
    let text = heard(&report);
    assert!(
        text.contains("Não consegui encontrar este endereço"),
        "{text}"
    );
    assert!(!text.contains("Frei Caneca"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 0);
}
