//! The directories' parsers against answers of the shapes they send.

use super::contract;
use super::ixc::{client_record, installation_of, rows};
use super::*;
use serde_json::json;

fn ixc(name: &str) -> Vec<u8> {
    match name {
        "cliente" => include_bytes!("fixtures/ixc-cliente.json").to_vec(),
        "contratos" => include_bytes!("fixtures/ixc-contratos.json").to_vec(),
        "cidade" => include_bytes!("fixtures/ixc-cidade.json").to_vec(),
        "uf" => include_bytes!("fixtures/ixc-uf.json").to_vec(),
        "vazio" => include_bytes!("fixtures/ixc-vazio.json").to_vec(),
        "erro" => include_bytes!("fixtures/ixc-erro.json").to_vec(),
        _ => unreachable!(),
    }
}

#[test]
fn the_contract_reads_a_full_record_and_a_tolerant_one() {
    let k = contract::parse(
        json!({"code":"123|123","name":" Gabriel Marioto ","installation":{
            "street":"R. Delminda Silveira","number":900,"complement":null,
            "neighbourhood":"Agronômica","city":"Florianópolis","state":"sc",
            "cep":"88025-500","lat":"-27,5782336","lng":-48.5274428}})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(k.name, "Gabriel Marioto");
    assert!(k.located);
    let p = k.installation.unwrap();
    assert_eq!(p.number.as_ref().and_then(|n| n.given()), Some("900"));
    assert_eq!(p.state.as_deref(), Some("SC"));
    assert_eq!(p.cep.unwrap().as_str(), "88025500");
    assert!((p.lat + 27.578_233_6).abs() < 1e-6);
    // no coordinates (or 0,0): known, to be geocoded
    let k = contract::parse(
        br#"{"name":"Ana","installation":{"street":"Rua A","number":"S/N","city":"X","lat":0,"lng":0}}"#,
    )
    .unwrap();
    assert!(!k.located);
    // "S/N" is the ISP's own record that there is none: read back as such
    assert_eq!(
        k.installation.unwrap().number,
        Some(ivr_core::domain::HouseNumber::Without)
    );
    // an empty number is not known, and not read back at all
    let k = contract::parse(
        br#"{"name":"Ana","installation":{"street":"Rua A","number":"","city":"X"}}"#,
    )
    .unwrap();
    let p = k.installation.unwrap();
    assert_eq!(p.number, None);
    assert_eq!(p.spoken(), "Rua A, X");
    // no street: known, the address to be asked
    let k = contract::parse(br#"{"name":"Ana","installation":{"city":"X"}}"#).unwrap();
    assert!(k.installation.is_none() && !k.located);
}

#[test]
fn the_directory_s_texts_are_bounded_and_clean() {
    let long = format!(
        "Rua\u{1b}[2J\u{0}\n\u{202E}Delminda {}",
        "x".repeat(240_000)
    );
    let k = contract::parse(
        json!({"name":"Gabriel\r\nMarioto\u{7f}\u{2066}","installation":{
            "street": long, "complement": "\u{0}\u{202E}", "city":"Florianópolis"}})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(k.name, "Gabriel Marioto");
    let p = k.installation.unwrap();
    assert!(p.street.starts_with("Rua[2J Delminda xxx"), "{}", p.street);
    assert_eq!(p.street.chars().count(), ivr_core::text::MAX_FIELD_CHARS);
    assert_eq!(p.complement, None, "nothing left: none");
}

#[test]
fn the_contract_refuses_what_is_not_a_record() {
    for body in [
        &b"<html>"[..],
        b"{}",
        br#"{"name":""}"#,
        b"[]",
        br#"{"name":12"#,
    ] {
        assert!(
            matches!(contract::parse(body), Err(DirectoryError::Malformed(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn ixc_takes_the_newest_live_contract_and_its_own_address() {
    let client = rows(&ixc("cliente")).unwrap().0.remove(0);
    let contracts = rows(&ixc("contratos")).unwrap().0;
    let city = rows(&ixc("cidade")).unwrap().0.remove(0);
    // 131 is cancelled; 130 is the newest live one, with its own address
    let row = installation_of(&client, &contracts, None).unwrap();
    assert_eq!(row["id"], "130");
    let k = client_record(&client, row, Some(&city), Some("SC".into())).unwrap();
    assert_eq!(k.name, "GABRIEL MARIOTO");
    assert!(k.located);
    let p = k.installation.unwrap();
    assert_eq!(p.street, "Rua Delminda Silveira");
    assert_eq!(p.complement.as_deref(), Some("casa 2"));
    assert_eq!(p.city, "Florianópolis");
    assert_eq!(p.state.as_deref(), Some("SC"));
    assert!((p.lng + 48.527_442_8).abs() < 1e-6);
}

#[test]
fn ixc_uses_the_client_s_address_when_the_contract_says_so_and_refuses_a_contract_of_another() {
    let client = rows(&ixc("cliente")).unwrap().0.remove(0);
    let contracts = rows(&ixc("contratos")).unwrap().0;
    // 129 (a pre-contract) points at the client's own address, which has no coordinates
    let row = installation_of(&client, &contracts, Some("129")).unwrap();
    assert_eq!(row["id"], "123");
    let k = client_record(&client, row, None, None).unwrap();
    assert!(!k.located);
    // the city id the city table did not resolve is no city: no usable address
    assert!(k.installation.is_none());
    assert!(installation_of(&client, &contracts, Some("999")).is_none());
    // no contract at all: the client's address
    let row = installation_of(&client, &[], None).unwrap();
    assert_eq!(row["id"], "123");
}

#[test]
fn ixc_answers_empty_error_and_garbage() {
    assert!(rows(&ixc("vazio")).unwrap().0.is_empty());
    assert!(matches!(
        rows(&ixc("erro")),
        Err(DirectoryError::Malformed(_))
    ));
    assert!(matches!(rows(b"<html>"), Err(DirectoryError::Malformed(_))));
    assert!(matches!(
        rows(br#"{"registros":"x"}"#),
        Err(DirectoryError::Malformed(_))
    ));
    assert_eq!(rows(&ixc("uf")).unwrap().0[0]["sigla"], "SC");
    // a client without a name is not a client
    let nameless = json!({"id":"1","razao":"","endereco":"Rua A","cidade":"X"});
    assert!(client_record(&nameless, &nameless, None, None).is_err());
}

#[test]
fn the_contract_s_url_percent_encodes_the_code() {
    let d = contract::HttpDirectory::new(
        reqwest::Client::new(),
        url::Url::parse("https://erp.example.com/api/").unwrap(),
        None,
    );
    let code = ivr_core::domain::ClientCode::parse("123|45").unwrap();
    assert_eq!(
        d.url(&code).as_str(),
        "https://erp.example.com/api/clients/123%7C45"
    );
}
