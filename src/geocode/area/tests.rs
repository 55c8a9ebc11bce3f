//! Parsing `IVR_SERVICE_AREA`, what an area admits, and the cities a text names.

use super::*;
use proptest::prelude::*;

fn city(name: &str, uf: Option<&str>) -> AreaCity {
    AreaCity {
        name: name.into(),
        uf: uf.map(String::from),
    }
}

fn place(city: &str, state: Option<&str>, lat: f64, lng: f64) -> Place {
    Place {
        street: "Rua Rui Barbosa".into(),
        number: Some(ivr_core::domain::HouseNumber::Given("120".into())),
        complement: None,
        neighbourhood: None,
        city: city.into(),
        state: state.map(String::from),
        cep: None,
        lat,
        lng,
    }
}

fn floripa() -> Place {
    place("Florianópolis", Some("SC"), -27.59, -48.55)
}

fn sao_paulo() -> Place {
    place("São Paulo", Some("SP"), -23.56, -46.65)
}

#[test]
fn cities_parse_with_and_without_their_state() {
    let a = ServiceArea::parse(" Florianópolis-SC, São José/sc ,Palhoça,, Xique-Xique-BA").unwrap();
    assert_eq!(
        a,
        ServiceArea::Cities(vec![
            city("Florianópolis", Some("SC")),
            city("São José", Some("SC")),
            city("Palhoça", None),
            city("Xique-Xique", Some("BA")),
        ])
    );
    // A longer suffix is part of the name, even when it is a state's name.
    assert_eq!(
        ServiceArea::parse("Ji-Paraná").unwrap(),
        ServiceArea::Cities(vec![city("Ji-Paraná", None)])
    );
    // Repeats, however written, count once.
    assert_eq!(
        ServiceArea::parse("Florianópolis-SC,FLORIANOPOLIS - sc").unwrap(),
        ServiceArea::Cities(vec![city("Florianópolis", Some("SC"))])
    );
    for anywhere in ["Brasil", "brazil", " BR "] {
        assert_eq!(ServiceArea::parse(anywhere).unwrap(), ServiceArea::Brazil);
    }
}

#[test]
fn a_box_parses_in_any_corner_order() {
    let want = BoundingBox {
        south: -27.7,
        west: -48.6,
        north: -27.4,
        east: -48.3,
    };
    for raw in [
        "-27.7,-48.6,-27.4,-48.3",
        "-27.4,-48.3,-27.7,-48.6",
        "-27.4, -48.6, -27.7, -48.3",
        "-27.7,-48.3,-27.4,-48.6",
    ] {
        assert_eq!(
            ServiceArea::parse(raw).unwrap(),
            ServiceArea::Bounds(want),
            "{raw}"
        );
    }
}

#[test]
fn bad_values_say_what_is_wrong() {
    let cases = [
        ("", "is empty"),
        (" , ,", "names no city"),
        ("Florianópolis-XX", "`XX`"),
        ("-SC", "names no city"),
        ("-27.7,-48.6,-27.4", "four"),
        ("-27.7,-48.6,-27.4,oeste", "`oeste` is not a number"),
        ("-48.6,-27.7,-48.3,-27.4", "longitude first"),
        ("40.7,-74.0,40.8,-73.9", "not a box in Brazil"),
        ("-27.7,-48.6,-27.7,-48.3", "not a box"),
        ("-27.7,-48.6,-27.4,-48.6", "not a box"),
        ("NaN,-48.6,-27.4,-48.3", "not a box in Brazil"),
        ("-27.7,-inf,-27.4,-48.3", "not a box in Brazil"),
    ];
    for (raw, says) in cases {
        let e = ServiceArea::parse(raw).unwrap_err();
        assert!(e.contains(says), "{raw:?}: {e}");
    }
    let long = "x".repeat(500);
    let e = ServiceArea::parse(&format!("{long}-ZZ")).unwrap_err();
    assert!(e.len() < 400, "the value is shown cut: {e}");
}

#[test]
fn cities_admit_their_places_folded_and_check_the_state_when_known() {
    let a = ServiceArea::parse("Florianópolis-SC,São José").unwrap();
    assert!(a.admits(&floripa()));
    assert!(a.admits(&place("FLORIANOPOLIS", Some("Santa Catarina"), 0.0, 0.0)));
    assert!(a.admits(&place("florianópolis", None, 0.0, 0.0)));
    assert!(a.admits(&place("Sao  Jose", Some("SC"), 0.0, 0.0)));
    assert!(
        a.admits(&place("São José", Some("SP"), 0.0, 0.0)),
        "no UF said"
    );
    assert!(!a.admits(&place("Florianópolis", Some("SP"), 0.0, 0.0)));
    assert!(!a.admits(&sao_paulo()));
    assert!(!a.admits(&place("São José dos Campos", Some("SP"), 0.0, 0.0)));
}

#[test]
fn admit_takes_another_name_of_the_municipality() {
    let a = ServiceArea::parse("Florianópolis-SC").unwrap();
    let district = place("Santo Antônio de Lisboa", Some("SC"), -27.5, -48.5);
    let p = a
        .admit(district.clone(), &[None, Some("Florianópolis")])
        .unwrap();
    assert_eq!(p.city, "Florianópolis");
    assert_eq!(a.admit(district.clone(), &[Some("Biguaçu")]), None);
    assert_eq!(
        ServiceArea::Brazil.admit(sao_paulo(), &[]),
        Some(sao_paulo())
    );
    let b = ServiceArea::parse("-27.7,-48.6,-27.4,-48.3").unwrap();
    assert_eq!(b.admit(sao_paulo(), &[Some("Florianópolis")]), None);
}

#[test]
fn a_box_admits_the_points_inside_and_brazil_its_own_box() {
    let b = ServiceArea::parse("-27.7,-48.6,-27.4,-48.3").unwrap();
    assert!(b.admits(&floripa()));
    assert!(b.admits(&place("x", None, -27.7, -48.3)), "edges count");
    assert!(!b.admits(&sao_paulo()));
    assert!(!b.admits(&place("x", None, f64::NAN, -48.5)));
    assert_eq!(b.bounds().map(|b| b.north), Some(-27.4));

    let br = ServiceArea::Brazil;
    assert!(br.admits(&sao_paulo()));
    assert!(br.admits(&place("Manaus", Some("AM"), -3.1, -60.0)));
    assert!(br.admits(&place("Fernando de Noronha", Some("PE"), -3.85, -32.42)));
    assert!(!br.admits(&place("Lisboa", None, 38.72, -9.14)));
    assert!(!br.admits(&place("Buenos Aires", None, -34.6, -58.4)));
    assert_eq!(br.bounds(), None);
}

#[test]
fn the_city_a_text_names() {
    let a = ServiceArea::parse("Florianópolis-SC,São José-SC,São José dos Campos-SP").unwrap();
    let named = |t: &str| a.mentioned_city(t).map(|c| c.name.as_str());
    assert_eq!(named("Rua Rui Barbosa 120"), None);
    assert_eq!(
        named("rua rui barbosa 120 florianopolis"),
        Some("Florianópolis")
    );
    assert_eq!(named("Rua X, 12, São José."), Some("São José"));
    assert_eq!(
        named("Rua X 12 sao jose dos campos"),
        Some("São José dos Campos")
    );
    // A street or a neighbourhood named after the city is not the city.
    assert_eq!(named("Rua São José 120"), None);
    assert_eq!(named("Avenida Florianópolis 9"), None);
    assert_eq!(named("Rua São José 120, São José"), Some("São José"));
    // Whole words only.
    assert_eq!(named("Rua Joséfina 3"), None);
    assert_eq!(ServiceArea::Brazil.mentioned_city("Florianópolis"), None);
}

#[test]
fn the_state_shared_by_every_city() {
    let uf = |raw: &str| {
        ServiceArea::parse(raw)
            .unwrap()
            .shared_uf()
            .map(String::from)
    };
    assert_eq!(uf("Florianópolis-SC,São José-SC").as_deref(), Some("SC"));
    assert_eq!(uf("Florianópolis-SC,Curitiba-PR"), None);
    assert_eq!(uf("Florianópolis-SC,Palhoça"), None);
    assert_eq!(uf("-27.7,-48.6,-27.4,-48.3"), None);
}

#[test]
fn an_empty_list_of_cities_is_brazil() {
    assert_eq!(ServiceArea::of_cities(vec![]), ServiceArea::Brazil);
    assert_eq!(
        ServiceArea::of_cities(vec![city(" - ", None)]),
        ServiceArea::Brazil
    );
}

#[test]
fn display_is_short_and_names_the_cities() {
    let a = ServiceArea::parse("Florianópolis-SC,Palhoça").unwrap();
    assert_eq!(a.to_string(), "Florianópolis-SC, Palhoça");
    let many: Vec<String> = (0..12)
        .map(|i| format!("Cidade {}", "x".repeat(i + 1)))
        .collect();
    let a = ServiceArea::parse(&many.join(",")).unwrap();
    assert!(a.to_string().ends_with(" and 4 more"), "{a}");
    let b = ServiceArea::parse("-27.7,-48.6,-27.4,-48.3").unwrap();
    assert_eq!(b.to_string(), "box lat -27.7..-27.4, lng -48.6..-48.3");
    assert_eq!(ServiceArea::Brazil.to_string(), "Brazil");
}

proptest! {
    #[test]
    fn parsing_never_panics(s in "\\PC{0,200}") {
        let _ = ServiceArea::parse(&s);
    }

    #[test]
    fn parsing_area_like_text_never_panics(
        s in "([-/ ,.0-9]|SC|sp|xx|são|josé|-inf|nan|e9|ç){0,30}"
    ) {
        if let Ok(area) = ServiceArea::parse(&s) {
            let _ = area.to_string();
            let _ = area.mentioned_city(&s);
            let _ = area.admits(&floripa());
            if let Some(b) = area.bounds() {
                prop_assert!(b.south < b.north && b.west < b.east);
            }
        }
    }

    #[test]
    fn any_text_is_safe_to_search_for_a_city(s in "\\PC{0,200}") {
        let a = ServiceArea::parse("Florianópolis-SC,São José").unwrap();
        let _ = a.mentioned_city(&s);
    }
}
