//! The gazetteer's unit tests.

use super::words::tokens;
use super::*;
use crate::geocode::Located;
use proptest::prelude::*;

fn house_number_in(text: &str, street: &str) -> Option<String> {
    judge(text, street).and_then(|(_, said)| said.number)
}

/// The gazetteer the tests use; also the one of `geocode`'s tests.
pub(crate) const FIXTURE: &str = "\
cep,street,number,neighbourhood,city,state,lat,lng
88025500,R. Delminda Silveira,900,Agronômica,Florianópolis,SC,-27.5782336721312,-48.527442812919624
88025500,R. Delminda Silveira,,Agronômica,Florianópolis,SC,-27.5779,-48.5286
88025000,R. Frei Caneca,,Agronômica,Florianópolis,SC,-27.5813,-48.5335
88101000,Rua Delminda Silveira,,Centro,São José,SC,-27.6000,-48.6300
88130000,Rua Florianópolis,,Centro,Palhoça,SC,-27.6400,-48.6700
88034000,\"Rua Professor Ayrton Roberto de Oliveira\",,Itacorubi,Florianópolis,SC,-27.5800,-48.5000
88010000,R. Sete de Setembro,,Centro,Florianópolis,SC,-27.5900,-48.5500
88010000,R. Sete de Setembro,100,Centro,Florianópolis,SC,-27.5910,-48.5510
88020000,Rua 1,,Centro,Biguaçu,SC,-27.4900,-48.6500
";

fn g() -> Gazetteer {
    Gazetteer::parse(FIXTURE).unwrap()
}

fn free(text: &str) -> Option<Place> {
    g().geocode(&GeoQuery::Free(text.into()))
}

fn err_text(csv: &str) -> String {
    Gazetteer::parse(csv).unwrap_err().to_string()
}

#[test]
fn parses_rows_quotes_crlf_and_a_bom() {
    assert_eq!(g().len(), 9);
    let csv = "\u{feff}lat,lng,cep,street,number,neighbourhood,city,state,extra\r\n\
               -27.1,-48.2,88000-000,\"Rua \"\"Nova\"\", Trecho 2\",\"12\",\"Bairro,\nDois\",Cidade,sc,x\r\n\
               \r\n";
    let gz = Gazetteer::parse(csv).unwrap();
    assert_eq!(gz.len(), 1);
    let row = &gz.rows[0];
    assert_eq!(row.street, "Rua \"Nova\", Trecho 2");
    assert_eq!(row.neighbourhood.as_deref(), Some("Bairro,\nDois"));
    assert_eq!(row.number.as_deref(), Some("12"));
    assert_eq!(row.state.as_deref(), Some("SC"));
    assert_eq!(row.cep, Cep::parse("88000000"));
    assert_eq!(row.lat, -27.1);
    assert_eq!(format!("{gz:?}"), "Gazetteer(rows=1)");
}

#[test]
fn bad_rows_name_their_line() {
    let header = "cep,street,number,neighbourhood,city,state,lat,lng\n";
    let ok = "88025500,Rua A,1,B,C,SC,-27,-48\n";
    let e = err_text(&format!("{header}{ok}88025500,Rua A,1,B,C,SC,north,-48\n"));
    assert!(e.contains("line 3") && e.contains("lat"), "{e}");
    let e = err_text(&format!("{header}{ok}{ok}88025500,Rua A,1,B,C,SC,-27\n"));
    assert!(
        e.contains("line 4") && e.contains("expected 8 fields"),
        "{e}"
    );
    let e = err_text(&format!("{header}123,Rua A,1,B,C,SC,-27,-48\n"));
    assert!(e.contains("line 2") && e.contains("cep"), "{e}");
    let e = err_text(&format!(
        "{header}{ok}88025500,\"Rua A,1,B,C,SC,-27,-48\n{ok}"
    ));
    assert!(e.contains("line 3") && e.contains("not closed"), "{e}");
    let e = err_text(&format!("{header}88025500,Rua A,1,B,,SC,-27,-48\n"));
    assert!(e.contains("line 2") && e.contains("city"), "{e}");
    let e = err_text(&format!(
        "{header}88025500,Rua A,1,B,C,Santa Catarina,-27,-48\n"
    ));
    assert!(e.contains("line 2") && e.contains("state"), "{e}");
    let e = err_text(&format!("{header}88025500,Rua A,1,B,C,SC,-97,-48\n"));
    assert!(e.contains("line 2") && e.contains("out of range"), "{e}");
    let e = err_text("cep,street,number,city,state,lat,lng\n");
    assert!(e.contains("line 1") && e.contains("neighbourhood"), "{e}");
    let e = err_text("");
    assert!(e.contains("line 1") && e.contains("header"), "{e}");
    let e = err_text(&format!("{header}88025500,Rua \"A\",1,B,C,SC,-27,-48\n"));
    assert!(e.contains("line 2") && e.contains("quote"), "{e}");
    // The csv crate would keep these quotes as text: they are refused too.
    let e = err_text(&format!("{header}88025500, \"Rua A\",1,B,C,SC,-27,-48\n"));
    assert!(e.contains("line 2") && e.contains("quote"), "{e}");
    let e = err_text(&format!("{header}88025500,\"Rua\" A,1,B,C,SC,-27,-48\n"));
    assert!(
        e.contains("line 2") && e.contains("after a closing quote"),
        "{e}"
    );
    // Lines are counted across blank lines, CRLF and line breaks inside quotes.
    let e = err_text(&format!(
        "{header}\r\n\r\n88025500,\"Rua\nA\",1,B,C,SC,-27,-48\r\n88025500,Rua A,1,B,C,SC,x,-48\r\n"
    ));
    assert!(e.contains("line 6") && e.contains("lat"), "{e}");
    // The value that was wrong is not repeated (it could be an address).
    let e = err_text(&format!(
        "{header}88025500,Rua A,1,B,C,SC,Rua Secreta,-48\n"
    ));
    assert!(!e.contains("Secreta"), "{e}");
}

#[test]
fn the_bundled_file_parses() {
    let bundled = Gazetteer::try_bundled().unwrap();
    assert!(!bundled.is_empty());
}

fn assert_tutorial(p: Option<Place>) {
    let p = p.expect("the tutorial address should match");
    assert_eq!(
        p.postal(),
        "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
    );
    assert_eq!(p.lat, -27.5782336721312);
    assert_eq!(p.lng, -48.527442812919624);
}

#[test]
fn the_tutorial_sentence_and_its_variants_match() {
    assert_tutorial(free(
        "Rua Delminda Silveira, 900, Agronômica, Florianópolis",
    ));
    assert_tutorial(free("R. Delminda Silveira 900"));
    assert_tutorial(free("delminda silveira numero 900"));
    assert_tutorial(free(
        "rua delminda silveira nº 900 agronomica florianopolis",
    ));
    assert_tutorial(free("Av. Delminda Silveira, n. 900"));
    assert_tutorial(free("moro na rua delminda silveira novecentos"));
    assert_tutorial(free("é o 900 da Delminda Silveira"));
    assert_tutorial(free("RUA DELMINDA SILVEIRA 0900 AGRONÔMICA"));
}

#[test]
fn unknown_streets_do_not_match() {
    assert!(free("Rua das Flores 10, Florianópolis").is_none());
    assert!(free("Silveira 900").is_none());
    assert!(free("").is_none());
    assert!(free(" , . ").is_none());
    // A city said at the end is not taken for "Rua Florianópolis".
    assert!(free("Rua Bocaiúva 100, Florianópolis").is_none());
    // Nor a house number for "Rua 1".
    assert!(free("Rua das Flores 1").is_none());
    let p = free("Rua 1, número 30, Biguaçu").unwrap();
    assert_eq!(
        (p.street.as_str(), p.number.as_ref().and_then(|n| n.given())),
        ("Rua 1", Some("30"))
    );
}

#[test]
fn a_number_not_listed_gets_the_street_level_position() {
    let p = free("Rua Delminda Silveira 1234 Agronômica").unwrap();
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("1234"));
    assert_eq!((p.lat, p.lng), (-27.5779, -48.5286));
    assert_eq!(p.cep, Cep::parse("88025500"));
    let p = free("Rua Delminda Silveira, Florianópolis").unwrap();
    assert_eq!(p.number, None);
    assert_eq!((p.lat, p.lng), (-27.5779, -48.5286));
}

#[test]
fn place_words_break_ties_between_same_named_streets() {
    let p = free("Delminda Silveira 900, São José").unwrap();
    assert_eq!(p.city, "São José");
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("900"));
    assert_eq!((p.lat, p.lng), (-27.6, -48.63));
    let p = free("Delminda Silveira 900, Florianópolis").unwrap();
    assert_eq!(p.city, "Florianópolis");
}

#[test]
fn streets_named_after_places_need_their_type_word() {
    let p = free("Rua Frei Caneca 50, Florianópolis").unwrap();
    assert_eq!(p.street, "R. Frei Caneca");
    let p = free("Rua Florianópolis 20, Palhoça").unwrap();
    assert_eq!(p.street, "Rua Florianópolis");
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("20"));
}

#[test]
fn titles_are_optional_and_number_words_match_digits() {
    let p = free("rua ayrton roberto de oliveira 45").unwrap();
    assert_eq!(p.street, "Rua Professor Ayrton Roberto de Oliveira");
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("45"));
    assert!(free("Prof. Ayrton Roberto Oliveira, 45").is_some());
    let p = free("Rua 7 de Setembro 100").unwrap();
    assert_eq!(
        (p.lat, p.number.as_ref().and_then(|n| n.given())),
        (-27.591, Some("100"))
    );
    let p = free("rua sete de setembro cem").unwrap();
    assert_eq!(
        (p.lat, p.number.as_ref().and_then(|n| n.given())),
        (-27.591, Some("100"))
    );
    let p = free("rua sete de setembro 12").unwrap();
    assert_eq!(
        (p.lat, p.number.as_ref().and_then(|n| n.given())),
        (-27.59, Some("12"))
    );
}

#[test]
fn structured_queries_match_street_and_city() {
    let q = |street: &str, number: Option<&str>, city: &str, cep: Option<&str>| {
        g().geocode(&GeoQuery::Structured {
            street: street.into(),
            number: number.map(String::from),
            neighbourhood: None,
            city: city.into(),
            state: Some("SC".into()),
            cep: cep.and_then(Cep::parse),
        })
    };
    assert_tutorial(q(
        "Rua Delminda Silveira",
        Some("900"),
        "Florianópolis",
        None,
    ));
    let p = q("Rua Delminda Silveira", Some("5"), "Florianopolis", None).unwrap();
    assert_eq!(
        (p.lat, p.number.as_ref().and_then(|n| n.given())),
        (-27.5779, Some("5"))
    );
    let p = q("Rua Delminda Silveira", Some("5"), "São José", None).unwrap();
    assert_eq!(p.lat, -27.6);
    assert!(q("Rua Delminda Silveira", Some("5"), "Curitiba", None).is_none());
    // The street is spelled differently from the file: the CEP finds it.
    let p = q(
        "Rua D. Silveira",
        Some("900"),
        "Florianópolis",
        Some("88025500"),
    )
    .unwrap();
    assert_eq!(p.lat, -27.5782336721312);
    assert_eq!(p.cep, Cep::parse("88025500"));
}

#[test]
fn cep_lookup_prefers_the_street_level_row() {
    let a = g().lookup(&Cep::parse("88025-500").unwrap()).unwrap();
    assert_eq!(a.street, "R. Delminda Silveira");
    assert_eq!(a.neighbourhood.as_deref(), Some("Agronômica"));
    assert_eq!(a.city, "Florianópolis");
    assert_eq!(a.state.as_deref(), Some("SC"));
    assert!(g().lookup(&Cep::parse("01310100").unwrap()).is_none());
}

/// A small town with one CEP for every street, beside a street written two
/// ways under its own CEP, and a CEP (wrongly) in two towns.
pub(crate) const TOWN_FIXTURE: &str = "\
cep,street,number,neighbourhood,city,state,lat,lng
88180000,R. Rachadel,,Centro,Antônio Carlos,SC,-27.5172,-48.7661
88180000,R. Rachadel,12,Centro,Antônio Carlos,SC,-27.5173,-48.7662
88180000,Rua Santa Maria,,Santa Maria,Antônio Carlos,SC,-27.5200,-48.7700
88180000,Serv. das Flores,,Rachadel,Antônio Carlos,SC,-27.5100,-48.7600
88025500,R. Delminda Silveira,900,Agronômica,Florianópolis,SC,-27.5782,-48.5274
88025500,Rua Delminda Silveira,,Agronômica,Florianópolis,SC,-27.5779,-48.5286
88470000,Rua do Porto,,Centro,Rancho Queimado,SC,-27.6727,-49.0191
88470000,Rua da Serra,,Centro,Alfredo Wagner,SC,-27.7000,-49.3300
";

#[test]
fn a_cep_that_several_streets_of_one_town_share_is_the_town() {
    let g = Gazetteer::parse(TOWN_FIXTURE).unwrap();
    let a = g.lookup(&Cep::parse("88180-000").unwrap()).unwrap();
    assert_eq!(a.street, "");
    assert_eq!(a.neighbourhood, None);
    assert_eq!(a.city, "Antônio Carlos");
    assert_eq!(a.state.as_deref(), Some("SC"));
    // One street written "R." and "Rua" is still that street.
    let a = g.lookup(&Cep::parse("88025-500").unwrap()).unwrap();
    assert_eq!(a.street, "Rua Delminda Silveira");
    // Streets of two towns under one CEP name no town: the first street, as
    // before.
    let a = g.lookup(&Cep::parse("88470-000").unwrap()).unwrap();
    assert_eq!(
        (a.street.as_str(), a.city.as_str()),
        ("Rua do Porto", "Rancho Queimado")
    );
}

#[test]
fn house_number_in_spoken_text() {
    let n = |t: &str| house_number_in(t, "Rua Delminda Silveira");
    assert_eq!(
        n("Rua Delminda Silveira, 900, Agronômica").as_deref(),
        Some("900")
    );
    assert_eq!(
        n("Delminda Silveira número novecentos").as_deref(),
        Some("900")
    );
    assert_eq!(n("Rua Delminda Silveira, CEP 88025500"), None);
    assert_eq!(n("Rua Delminda Silveira, 88025-500"), None);
    assert_eq!(n("Rua Delminda Silveira apto 12"), None);
    assert_eq!(
        n("Rua Delminda Silveira 900 apto 12").as_deref(),
        Some("900")
    );
    assert_eq!(
        n("Rua Delminda Silveira, cep 88025-500, 900").as_deref(),
        Some("900")
    );
    assert_eq!(n("Rua Frei Caneca 900"), None);
    assert_eq!(
        house_number_in("Rua 13 de Maio 250", "Rua Treze de Maio").as_deref(),
        Some("250")
    );
}

#[test]
fn fold_strips_portuguese_accents() {
    assert_eq!(fold("ÁÀÂÃ éê í óôõ úü Ç"), "aaaa ee i ooo uu c");
    assert_eq!(
        tokens("R. Dr. Nº 9, Av"),
        vec!["rua", "doutor", "9", "avenida"]
    );
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,300}") {
        let _ = Gazetteer::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_csv_like_text(
        s in "(cep,street,number,neighbourhood,city,state,lat,lng\n)?([0-9a-z\",. \n-]{0,40}(,|\n)){0,20}"
    ) {
        let _ = Gazetteer::parse(&s);
    }

    #[test]
    fn matching_never_panics(s in "\\PC{0,200}", n in proptest::option::of("\\PC{0,10}")) {
        let gz = g();
        let _ = gz.geocode(&GeoQuery::Free(s.clone()));
        let _ = gz.geocode(&GeoQuery::Structured {
            street: s.clone(),
            number: n,
            neighbourhood: Some(s.clone()),
            city: s.clone(),
            state: Some(s.clone()),
            cep: None,
        });
        let _ = house_number_in(&s, &s);
    }

    #[test]
    fn matching_never_panics_on_address_like_text(
        s in "(rua |r\\. |av |delminda |silveira |florianópolis |são josé |[0-9]{1,9} |nº |, ){0,12}"
    ) {
        let _ = g().geocode(&GeoQuery::Free(s));
    }
}

/// The bundled gazetteer's verdict on a text as the flow sends it.
fn bundled(text: &str) -> crate::geocode::Judged {
    let spoken = ivr_core::speech::address(Some(text)).unwrap();
    Gazetteer::try_bundled().unwrap().locate_free(&spoken)
}

#[test]
fn a_street_said_without_its_number_has_none_and_sem_numero_only_when_said() {
    for text in [
        "Rua Delminda Silveira",
        // the number lost by the recogniser
        "Rua Delminda Silveira, nome feintos, Arronômica",
    ] {
        let p = bundled(text).sure().unwrap_or_else(|| panic!("{text}"));
        assert_eq!(p.street, "R. Delminda Silveira", "{text}");
        assert_eq!(p.number, None, "{text}: not heard, so not known");
        assert!(!p.spoken().contains("s/n") && !p.spoken().contains("sem número"));
    }
    let p = bundled("Rua Delminda Silveira sem número, Agronômica")
        .sure()
        .unwrap();
    assert_eq!(p.number, Some(HouseNumber::Without));
}

#[test]
fn numbers_split_by_a_recogniser_are_read_whole() {
    let number = |text: &str| {
        bundled(text)
            .sure()
            .and_then(|p| p.number)
            .unwrap_or_else(|| panic!("{text}"))
    };
    let given = |n: &str| HouseNumber::Given(n.into());
    assert_eq!(
        number("Rua Lauro Linhares número mil, quinhentos"),
        given("1500")
    );
    assert_eq!(
        number("Rua Frei Caneca, duzentos, e cinquenta"),
        given("250")
    );
    assert_eq!(number("Rua Frei Caneca250, Agronômica"), given("250"));
    assert_eq!(
        number("Rua Lauro Linhares, quatro cento e quarenta e cinco"),
        given("445")
    );
}

#[test]
fn several_streets_named_are_a_choice_or_not_found() {
    // Two streets: a choice, each with the number said with it.
    let judged = bundled("Rua Lauro Linhares, Rua Delminda Silveira 900");
    assert_eq!(judged.rule, "several_streets");
    let Located::Choice(a, b) = judged.located else {
        panic!("{:?}", judged.located)
    };
    let mut streets = [a.street.as_str(), b.street.as_str()];
    streets.sort();
    assert_eq!(streets, ["R. Delminda Silveira", "R. Lauro Linhares"]);
    for p in [&a, &b] {
        let want = (p.street == "R. Delminda Silveira").then(|| HouseNumber::Given("900".into()));
        assert_eq!(p.number, want, "{}", p.street);
    }
    // Even when one scores better (its neighbourhood said).
    let judged = bundled("Rua Frei Caneca, Avenida Madre Benvenuta, Santa Mônica");
    assert!(matches!(judged.located, Located::Choice(..)), "{judged:?}");
    // Three: not found, asked again.
    let judged = bundled("Rua Frei Caneca, Avenida Madre Benvenuta, Rua Rui Barbosa 120");
    assert_eq!(judged.located, Located::NotFound);
    assert_eq!(judged.rule, "several_streets");
    // One street said twice, or a name inside another, is one street.
    assert!(bundled("Rua Frei Caneca 250, Frei Caneca").sure().is_some());
    assert!(
        bundled("Rua Rui Barbosa 120, Agronômica, Florianópolis")
            .sure()
            .is_some()
    );
}
