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

/// A ViaCEP-shaped fake that knows one CEP: a small town's single CEP, which
/// names the town and no street (as ViaCEP answers Biguaçu's 88160-000).
async fn viacep_with_a_town_cep() -> MockServer {
    let cep = MockServer::start().await;
    Mock::given(path("/ws/88160000/json/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "cep": "88160-000", "logradouro": "", "complemento": "", "unidade": "",
            "bairro": "", "localidade": "Biguaçu", "uf": "SC", "estado": "Santa Catarina",
            "regiao": "Sul", "ibge": "4202305", "gia": "", "ddd": "48", "siafi": "8045"
        })))
        .mount(&cep)
        .await;
    cep
}

#[tokio::test]
async fn through_viacep_a_town_wide_cep_asks_the_street_in_that_town() {
    let cep = viacep_with_a_town_cep().await;
    let geo = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "lat": "-27.4942", "lon": "-48.6558",
            "address": {"road": "Rua Vinte e Cinco de Julho", "suburb": "Centro",
                        "city": "Biguaçu", "ISO3166-2-lvl4": "BR-SC"}
        }])))
        .mount(&geo)
        .await;
    let cep_url = format!("--cep-url={}", cep.uri());
    let geo_url = format!("--geocoder-url={}", geo.uri());
    let app = TestApp::spawn(&["--geocoder=nominatim", &geo_url, &cep_url]).await;
    let report = app
        .call(vec![
            keys("321"),
            keys("1"),
            say("Ana Souza"),
            keys("88160000"),
            keys("10"),
            say("Rua Vinte e Cinco de Julho"),
            keys("2"), // not this address after all: nothing is reserved
        ])
        .await;
    let text = heard(&report);
    // The street question in that town (`street.ask`), not "CEP not found".
    assert!(
        text.contains("Este CEP é da cidade de Biguaçu. Agora, diga o nome da rua."),
        "{text}"
    );
    assert!(!text.contains("Não consegui encontrar"), "{text}");
    // The street said is looked for in that town, with the caller's number.
    assert!(
        text.contains("O endereço é Rua Vinte e Cinco de Julho, 10, Centro, Biguaçu"),
        "{text}"
    );
    assert_eq!(cep.received_requests().await.unwrap().len(), 1);
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn through_the_isps_gazetteer_a_town_wide_cep_asks_the_street_in_that_town() {
    // A small town whose every street has the town's one CEP.
    let csv = "cep,street,number,neighbourhood,city,state,lat,lng\n\
        88180000,R. Rachadel,,Centro,Antônio Carlos,SC,-27.5172,-48.7661\n\
        88180000,R. Rachadel,12,Centro,Antônio Carlos,SC,-27.5173,-48.7662\n\
        88180000,Rua Santa Maria,,Santa Maria,Antônio Carlos,SC,-27.5200,-48.7700\n";
    let file =
        std::env::temp_dir().join(format!("ozmap-ivr-town-{:016x}.csv", rand::random::<u64>()));
    std::fs::write(&file, csv).unwrap();
    let arg = format!("--gazetteer-file={}", file.display());
    let app = TestApp::spawn(&[&arg]).await;
    let report = app
        .call(vec![
            keys("321"),
            keys("1"),
            say("Ana Souza"),
            keys("88180000"),
            keys("12"),
            say("Rua Rachadel"),
            keys("2"), // not this address after all: nothing is reserved
        ])
        .await;
    let _ = std::fs::remove_file(&file);
    let text = heard(&report);
    assert!(
        text.contains("Este CEP é da cidade de Antônio Carlos. Agora, diga o nome da rua."),
        "{text}"
    );
    assert!(
        text.contains("O endereço é Rua Rachadel, 12, Centro, Antônio Carlos"),
        "{text}"
    );
    assert_eq!(read_backs(&text), 1, "{text}");
    assert_eq!(app.sandbox.property_posts(), 0);
}
