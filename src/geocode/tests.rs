//! The locator over each geocoder and CEP source, against mock servers and the
//! gazetteer fixture.

use super::gazetteer::Gazetteer;
use super::gazetteer::tests::FIXTURE;
use super::*;
use ivr_core::domain::{AddressQuery, HouseNumber};
use serde_json::json;
use std::sync::Arc;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn gazetteer() -> Arc<Gazetteer> {
    Arc::new(Gazetteer::parse(FIXTURE).unwrap())
}

fn cep() -> Cep {
    Cep::parse("88025500").unwrap()
}

async fn viacep() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/ws/88025500/json/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "cep": "88025-500",
            "logradouro": "Rua Delminda Silveira",
            "bairro": "Agronômica",
            "localidade": "Florianópolis",
            "uf": "SC"
        })))
        .mount(&server)
        .await;
    Mock::given(path("/ws/01310100/json/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"erro": "true"})))
        .mount(&server)
        .await;
    server
}

fn via(server: &MockServer) -> CepSource {
    CepSource::ViaCep(
        cep::ViaCep::new(&Url::parse(&server.uri()).unwrap(), Duration::from_secs(2)).unwrap(),
    )
}

#[tokio::test]
async fn cep_path_end_to_end_with_viacep_and_the_gazetteer() {
    let server = viacep().await;
    let locator = Locator::new(Geocoder::Gazetteer(gazetteer()), via(&server));

    let q = AddressQuery::Cep {
        cep: cep(),
        number: HouseNumber::Given("900".into()),
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(
        p.postal(),
        "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
    );
    assert_eq!((p.lat, p.lng), (-27.5782336721312, -48.527442812919624));

    // A number the file does not list: the street-level position, the
    // caller's number, the CEP.
    let q = AddressQuery::Cep {
        cep: cep(),
        number: HouseNumber::Given("77".into()),
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("77"));
    assert_eq!(p.cep, Some(cep()));
    assert_eq!((p.lat, p.lng), (-27.5779, -48.5286));

    // No number (`*` typed): "sem número".
    let q = AddressQuery::Cep {
        cep: cep(),
        number: HouseNumber::Without,
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.number, Some(HouseNumber::Without));
    assert_eq!(
        p.spoken(),
        "Rua Delminda Silveira, sem número, Agronômica, Florianópolis"
    );

    // Unknown CEP.
    let q = AddressQuery::Cep {
        cep: Cep::parse("01310-100").unwrap(),
        number: HouseNumber::Given("1".into()),
    };
    assert_eq!(locator.locate(&q).await.map(Judged::sure), Ok(None));
}

#[tokio::test]
async fn a_town_wide_cep_from_viacep_names_the_town() {
    let server = MockServer::start().await;
    Mock::given(path("/ws/88160000/json/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "cep": "88160-000", "logradouro": "", "complemento": "", "bairro": "",
            "localidade": "Biguaçu", "uf": "SC", "ibge": "4202305"
        })))
        .mount(&server)
        .await;
    let locator = Locator::new(Geocoder::Gazetteer(gazetteer()), via(&server));
    let q = AddressQuery::Cep {
        cep: Cep::parse("88160-000").unwrap(),
        number: HouseNumber::Given("10".into()),
    };
    let judged = locator.locate(&q).await.unwrap();
    assert_eq!(
        judged.located,
        Located::TownOnly(ivr_core::domain::Town {
            city: "Biguaçu".into(),
            state: Some("SC".into()),
        })
    );
    assert_eq!(judged.rule, "cep_names_a_town");
}

#[tokio::test]
async fn the_cep_service_s_and_the_geocoders_texts_are_bounded_and_clean() {
    let server = MockServer::start().await;
    let long = format!("Bigua\u{0}çu\u{1b}[2J\n\u{202E}{}", "x".repeat(240_000));
    Mock::given(path("/ws/88160000/json/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "cep": "88160-000", "logradouro": " \u{202E}\t", "bairro": "",
            "localidade": long, "uf": "SC"
        })))
        .mount(&server)
        .await;
    let locator = Locator::new(Geocoder::Gazetteer(gazetteer()), via(&server));
    let q = AddressQuery::Cep {
        cep: Cep::parse("88160-000").unwrap(),
        number: HouseNumber::Without,
    };
    let Located::TownOnly(town) = locator.locate(&q).await.unwrap().located else {
        panic!("a town");
    };
    assert!(town.city.starts_with("Biguaçu[2J xxx"), "{}", town.city);
    assert_eq!(town.city.chars().count(), ivr_core::text::MAX_FIELD_CHARS);
    // What a remote geocoder's result held, before it is a place.
    let found = Found {
        street: Some(format!(
            "Rua\u{7f} Delminda\u{2067}\r\n{}",
            "y".repeat(10_000)
        )),
        number: Some("\u{0}900".into()),
        neighbourhood: Some("\u{202E}\u{85}".into()),
        city: Some("Florianópolis\u{9b}".into()),
        state: None,
        cep: None,
        lat: -27.5,
        lng: -48.5,
    };
    let p = found.into_place(&GeoQuery::Free(String::new())).unwrap();
    assert!(p.street.starts_with("Rua Delminda yyy"), "{}", p.street);
    assert_eq!(p.street.chars().count(), ivr_core::text::MAX_FIELD_CHARS);
    assert_eq!(p.number.as_ref().and_then(HouseNumber::given), Some("900"));
    assert_eq!(p.neighbourhood, None);
    assert_eq!(p.city, "Florianópolis");
}

#[tokio::test]
async fn a_town_wide_cep_from_the_gazetteer_names_the_town_then_its_street_is_found() {
    let g = Arc::new(Gazetteer::parse(super::gazetteer::tests::TOWN_FIXTURE).unwrap());
    let locator = Locator::new(Geocoder::Gazetteer(g.clone()), CepSource::Gazetteer(g));
    let cep = Cep::parse("88180-000").unwrap();
    let town = ivr_core::domain::Town {
        city: "Antônio Carlos".into(),
        state: Some("SC".into()),
    };
    let q = AddressQuery::Cep {
        cep: cep.clone(),
        number: HouseNumber::Given("12".into()),
    };
    let judged = locator.locate(&q).await.unwrap();
    assert_eq!(judged.located, Located::TownOnly(town.clone()));
    assert_eq!(judged.rule, "cep_names_a_town");
    // The street the caller then says, looked for in that town.
    let q = AddressQuery::Street {
        street: "Rua Rachadel".into(),
        number: HouseNumber::Given("12".into()),
        cep: cep.clone(),
        town,
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.street, "R. Rachadel");
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("12"));
    assert_eq!(p.city, "Antônio Carlos");
    assert_eq!(p.cep, Some(cep));
}

#[tokio::test]
async fn cep_path_through_the_gazetteer_alone() {
    let g = gazetteer();
    let locator = Locator::new(Geocoder::Gazetteer(g.clone()), CepSource::Gazetteer(g));
    let q = AddressQuery::Cep {
        cep: cep(),
        number: HouseNumber::Given("900".into()),
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.lat, -27.5782336721312);
    assert_eq!(p.cep, Some(cep()));
    let q = AddressQuery::Cep {
        cep: Cep::parse("01310100").unwrap(),
        number: HouseNumber::Without,
    };
    assert_eq!(locator.locate(&q).await.map(Judged::sure), Ok(None));
}

#[tokio::test]
async fn cep_service_errors_reach_the_caller() {
    let server = MockServer::start().await;
    Mock::given(path("/ws/88025500/json/"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let locator = Locator::new(Geocoder::Gazetteer(gazetteer()), via(&server));
    let q = AddressQuery::Cep {
        cep: cep(),
        number: HouseNumber::Given("900".into()),
    };
    assert!(matches!(
        locator.locate(&q).await,
        Err(GeoError::Unavailable(_))
    ));
}

#[tokio::test]
async fn spoken_path_with_the_gazetteer() {
    let g = gazetteer();
    let locator = Locator::new(Geocoder::Gazetteer(g.clone()), CepSource::Gazetteer(g));
    let q = AddressQuery::Spoken {
        text: "Rua Delminda Silveira, 900, Agronômica, Florianópolis".into(),
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.lat, -27.5782336721312);
    let q = AddressQuery::Spoken {
        text: "Rua das Acácias 12".into(),
    };
    assert_eq!(locator.locate(&q).await.map(Judged::sure), Ok(None));
}

#[tokio::test]
async fn spoken_path_keeps_the_callers_number_when_nominatim_knows_only_the_street() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param("q", "Delminda Silveira 900 Florianópolis"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "lat": "-27.5779", "lon": "-48.5286",
            "address": {"road": "Rua Delminda Silveira", "city": "Florianópolis",
                        "ISO3166-2-lvl4": "BR-SC"}
        }])))
        .mount(&server)
        .await;
    let nominatim =
        nominatim::Nominatim::new(&Url::parse(&server.uri()).unwrap(), Duration::from_secs(2))
            .unwrap();
    let locator = Locator::new(
        Geocoder::Nominatim(nominatim),
        CepSource::Gazetteer(gazetteer()),
    );
    let q = AddressQuery::Spoken {
        text: "Delminda Silveira 900 Florianópolis".into(),
    };
    let p = locator.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.street, "Rua Delminda Silveira");
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("900"));
    assert_eq!(p.state.as_deref(), Some("SC"));
}

#[tokio::test]
async fn the_number_asked_for_a_street_is_looked_up_on_it_or_kept_at_the_street() {
    let g = gazetteer();
    let locator = Locator::new(Geocoder::Gazetteer(g.clone()), CepSource::Gazetteer(g));
    // The street found for "Rua Delminda Silveira" alone: no number known.
    let spoken = AddressQuery::Spoken {
        text: "Rua Delminda Silveira, Agronômica".into(),
    };
    let street = locator.locate(&spoken).await.unwrap().sure().unwrap();
    assert_eq!(street.number, None);
    assert_eq!((street.lat, street.lng), (-27.5779, -48.5286));
    let numbered = |number| AddressQuery::Numbered {
        place: street.clone(),
        number,
    };
    // A listed number: that house's own position.
    let judged = locator
        .locate(&numbered(HouseNumber::Given("900".into())))
        .await
        .unwrap();
    assert_eq!(judged.rule, "number_found");
    let p = judged.sure().unwrap();
    assert_eq!(p.number, Some(HouseNumber::Given("900".into())));
    assert_eq!(p.lat, -27.5782336721312);
    // Not listed, or none: the street's position, with what the caller gave.
    let p = locator
        .locate(&numbered(HouseNumber::Given("870".into())))
        .await
        .unwrap()
        .sure()
        .unwrap();
    assert_eq!(
        (p.number.clone(), p.lat),
        (Some(HouseNumber::Given("870".into())), -27.5779)
    );
    let p = locator
        .locate(&numbered(HouseNumber::Without))
        .await
        .unwrap()
        .sure()
        .unwrap();
    assert_eq!(p.number, Some(HouseNumber::Without));
    assert_eq!(
        p.spoken(),
        "Rua Delminda Silveira, sem número, Agronômica, Florianópolis"
    );

    // A failing geocoder loses nothing: the street, with the number.
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let nominatim =
        nominatim::Nominatim::new(&Url::parse(&server.uri()).unwrap(), Duration::from_secs(2))
            .unwrap();
    let remote = Locator::new(
        Geocoder::Nominatim(nominatim),
        CepSource::Gazetteer(gazetteer()),
    );
    let judged = remote
        .locate(&numbered(HouseNumber::Given("900".into())))
        .await
        .unwrap();
    assert_eq!(judged.rule, "number_on_the_street");
    let p = judged.sure().unwrap();
    assert_eq!(
        (p.street.as_str(), p.lat),
        ("R. Delminda Silveira", -27.5779)
    );
    assert_eq!(p.number, Some(HouseNumber::Given("900".into())));
}

#[tokio::test]
async fn through_nominatim_a_number_not_said_is_not_known() {
    let server = MockServer::start().await;
    // OSM may hold a house number the caller never said.
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "lat": "-27.5779", "lon": "-48.5286",
            "address": {"road": "Rua Delminda Silveira", "house_number": "1000",
                        "city": "Florianópolis", "ISO3166-2-lvl4": "BR-SC"}
        }])))
        .mount(&server)
        .await;
    let nominatim =
        nominatim::Nominatim::new(&Url::parse(&server.uri()).unwrap(), Duration::from_secs(2))
            .unwrap();
    let locator = Locator::new(
        Geocoder::Nominatim(nominatim),
        CepSource::Gazetteer(gazetteer()),
    );
    for (text, want) in [
        ("Rua Delminda Silveira, Florianópolis", None),
        (
            "Rua Delminda Silveira sem número, Florianópolis",
            Some(HouseNumber::Without),
        ),
        (
            "Rua Delminda Silveira 900, Florianópolis",
            Some(HouseNumber::Given("900".into())),
        ),
    ] {
        let q = AddressQuery::Spoken { text: text.into() };
        let p = locator.locate(&q).await.unwrap().sure().unwrap();
        assert_eq!(p.number, want, "{text}");
    }
}

/// Settings as `config` checks them from these flags (its own tests cover the
/// parsing; here only what the locator is built from).
fn config(args: &[&str]) -> GeocoderSettings {
    let mut s = GeocoderSettings {
        kind: GeocoderKind::Gazetteer,
        url: None,
        google_maps_key: None,
        gazetteer_file: None,
        cep_url: None,
        request_timeout: std::time::Duration::from_secs(4),
        service_area: None,
    };
    let mut flags = args.iter().copied();
    while let Some(flag) = flags.next() {
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, v.to_string()),
            None => (flag, flags.next().expect("a value").to_string()),
        };
        match name {
            "--geocoder" => {
                s.kind = <GeocoderKind as clap::ValueEnum>::from_str(&value, true).unwrap()
            }
            "--geocoder-url" => s.url = Some(value.parse().unwrap()),
            "--cep-url" => s.cep_url = Some(value.parse().unwrap()),
            "--google-maps-key" => s.google_maps_key = Some(value.into()),
            "--gazetteer-file" => s.gazetteer_file = Some(value.into()),
            "--service-area" => s.service_area = Some(ServiceArea::parse(&value).unwrap()),
            other => panic!("no such flag in these tests: {other}"),
        }
    }
    s
}

#[tokio::test]
async fn from_config_builds_each_kind() {
    let l = Locator::from_settings(&config(&["--geocoder", "gazetteer"])).unwrap();
    assert!(matches!(l.geocoder, Geocoder::Gazetteer(_)));
    assert!(matches!(l.cep, CepSource::Gazetteer(_)));

    let l = Locator::from_settings(&config(&[
        "--geocoder",
        "nominatim",
        "--geocoder-url",
        "http://127.0.0.1:9/nominatim",
        "--cep-url",
        "http://127.0.0.1:9",
    ]))
    .unwrap();
    assert!(matches!(l.geocoder, Geocoder::Nominatim(_)));
    assert!(matches!(l.cep, CepSource::ViaCep(_)));

    let l = Locator::from_settings(&config(&[
        "--geocoder",
        "google",
        "--google-maps-key",
        "AIzaTEST-secret",
    ]))
    .unwrap();
    assert!(matches!(l.geocoder, Geocoder::Google(_)));
    assert!(matches!(l.cep, CepSource::Gazetteer(_)));
    assert!(!format!("{l:?}").contains("AIzaTEST-secret"));
}

#[tokio::test]
async fn from_config_reads_the_gazetteer_file_and_rejects_a_broken_one() {
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-geocode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.csv");
    std::fs::write(&good, FIXTURE).unwrap();
    let l = Locator::from_settings(&config(&["--gazetteer-file", good.to_str().unwrap()])).unwrap();
    let q = AddressQuery::Cep {
        cep: Cep::parse("88025000").unwrap(),
        number: HouseNumber::Given("10".into()),
    };
    let p = l.locate(&q).await.unwrap().sure().unwrap();
    assert_eq!(p.street, "R. Frei Caneca");

    // The header and three rows of the fixture, then a short row: line 5.
    let head: String = FIXTURE.split_inclusive('\n').take(4).collect();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, format!("{head}88025000,R. X,,B,C,SC,-27\n")).unwrap();
    let e =
        Locator::from_settings(&config(&["--gazetteer-file", bad.to_str().unwrap()])).unwrap_err();
    assert!(e.to_string().contains("line 5"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn states_map_both_ways() {
    assert_eq!(state_name("sc"), Some("Santa Catarina"));
    assert_eq!(uf_of("Sao Paulo"), Some("SP"));
    assert_eq!(uf_of("SC"), Some("SC"));
    assert_eq!(uf_of("Narnia"), None);
}

#[test]
fn queries_and_addresses_do_not_print_personal_data() {
    let q = GeoQuery::Free("Rua Delminda Silveira 900".into());
    assert!(!format!("{q:?}").contains("Delminda"));
    let a = CepAddress {
        street: "Rua Delminda Silveira".into(),
        neighbourhood: None,
        city: "Florianópolis".into(),
        state: None,
    };
    assert!(!format!("{a:?}").contains("Delminda"));
}

#[tokio::test]
async fn the_service_area_comes_from_the_settings_or_the_gazetteer() {
    let area = |args: &[&str]| {
        Locator::from_settings(&config(args))
            .unwrap()
            .area()
            .clone()
    };
    // The bundled gazetteer's two cities.
    assert_eq!(
        area(&[]),
        ServiceArea::parse("Florianópolis-SC,São José-SC").unwrap()
    );
    let nominatim = ["--geocoder=nominatim", "--geocoder-url=http://127.0.0.1:9"];
    assert_eq!(area(&nominatim), ServiceArea::Brazil);
    // The ISP's own file, even when another geocoder is used.
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-area-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("g.csv");
    std::fs::write(&file, FIXTURE).unwrap();
    let with_file = format!("--gazetteer-file={}", file.display());
    let mut args = nominatim.to_vec();
    args.push(&with_file);
    let from_file = area(&args);
    assert!(from_file.admits(&Place {
        street: "Rua Delminda Silveira".into(),
        number: None,
        complement: None,
        neighbourhood: None,
        city: "Florianópolis".into(),
        state: Some("SC".into()),
        cep: None,
        lat: -27.5,
        lng: -48.5,
    }));
    // IVR_SERVICE_AREA wins.
    args.push("--service-area=São José-SC");
    assert_eq!(area(&args), ServiceArea::parse("São José-SC").unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The case, from the settings to the answer: "Rua Rui Barbosa 120"
/// said without a city, the area Florianópolis-SC.
#[tokio::test]
async fn a_street_said_without_its_city_is_looked_for_in_the_configured_area() {
    let server = MockServer::start().await;
    Mock::given(path("/search"))
        .and(query_param(
            "q",
            "Rua Rui Barbosa 120, Florianópolis, Santa Catarina",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "lat": "-23.5614", "lon": "-46.6559",
            "address": {"road": "Rua Rui Barbosa", "suburb": "Bela Vista",
                        "city": "São Paulo", "ISO3166-2-lvl4": "BR-SP"}
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("--geocoder-url={}", server.uri());
    let locator = Locator::from_settings(&config(&[
        "--geocoder=nominatim",
        &url,
        "--service-area=Florianópolis-SC",
    ]))
    .unwrap();
    let q = AddressQuery::Spoken {
        text: "Rua Rui Barbosa 120".into(),
    };
    assert_eq!(locator.locate(&q).await.map(Judged::sure), Ok(None));
}
