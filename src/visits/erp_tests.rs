//! The ERP agendas against fakes on loopback and IXC's fixtures.

use super::erp::ErpAgenda;
use super::fakes::{ContractErp, IxcErp, TOKEN};
use super::http::{HttpAgenda, parse_slots};
use super::ixc::{
    IxcAgenda, IxcOrder, free_periods, new_order, order_status, rows, scheduled, written,
};
use super::*;
use ivr_core::agenda::{AgendaRules, Period};
use secrecy::SecretString;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn slot(s: &str) -> Slot {
    Slot::parse(s).unwrap()
}

pub(super) fn booking(protocol: &str, at: &str) -> VisitBooking {
    VisitBooking {
        protocol: protocol.into(),
        client_code: "88|120".into(),
        client_name: "Gabriel Marioto".into(),
        phone: Some("+5548999990000".into()),
        address: "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC".into(),
        lat: -27.5782336,
        lng: -48.5274428,
        box_name: Some("CTO-AGR-01".into()),
        port: Some(3),
        slot: slot(at),
        erp_ref: None,
    }
}

fn query() -> SlotQuery {
    SlotQuery {
        lat: -27.5782336,
        lng: -48.5274428,
        box_id: Some("box 7".into()),
        from: day("2026-12-08"),
        to: day("2026-12-21"),
    }
}

pub(super) fn contract(server: &wiremock::MockServer, timeout_ms: u64) -> ErpAgenda {
    let url = url::Url::parse(&format!("{}/erp", server.uri())).unwrap();
    ErpAgenda::Http(
        HttpAgenda::new(
            url,
            Some(SecretString::from(TOKEN)),
            Duration::from_millis(timeout_ms),
        )
        .unwrap(),
    )
}

fn order() -> IxcOrder {
    IxcOrder {
        subject: "17".into(),
        sector: "2".into(),
        branch: "1".into(),
    }
}

pub(super) fn ixc(server: &wiremock::MockServer, per_period: u32) -> ErpAgenda {
    let rules = AgendaRules {
        per_period,
        ..AgendaRules::default()
    };
    ErpAgenda::Ixc(
        IxcAgenda::new(
            url::Url::parse(&server.uri()).unwrap(),
            SecretString::from("7:secret"),
            Duration::from_secs(2),
            rules,
            order(),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn the_contract_s_slots_are_read_tolerantly_in_order_and_once() {
    let (server, erp) = ContractErp::start().await;
    erp.state().slots = json!({"slots": [
        {"day": "2026-12-11", "period": "tarde", "capacity": "4", "free": "1"},
        {"day": "2026-12-10", "period": "morning", "capacity": 4, "free": 2},
        {"day": "2026-12-10", "period": "morning", "capacity": 4, "free": 3},
        {"day": "2026-12-10", "period": "afternoon", "capacity": 4, "free": 0},
        {"day": "2026-12-31", "period": "morning", "capacity": 4, "free": 4},
        {"day": "2026-12-12", "period": "night", "free": 4},
        {"day": "12/12/2026", "period": "M", "free": 4},
        {"day": "2026-12-14", "period": "M", "free": 9, "capacity": 2},
        {"day": "2026-12-15", "period": "M", "free": -1},
        "garbage"
    ]});
    let got = contract(&server, 2000).free_slots(&query()).await.unwrap();
    let keys: Vec<(String, u32, u32)> = got
        .iter()
        .map(|f| (f.slot.key(), f.capacity, f.free))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("2026-12-10/morning".into(), 4, 2),
            ("2026-12-11/afternoon".into(), 4, 1),
            ("2026-12-14/morning".into(), 2, 2),
        ]
    );
    let asked = erp.state().slots_query.clone().unwrap();
    assert_eq!(
        asked,
        "lat=-27.578234&lng=-48.527443&box=box+7&from=2026-12-08&to=2026-12-21"
    );
    for bad in [&b"<html>"[..], b"{}", br#"{"slots":{}}"#] {
        assert!(matches!(
            parse_slots(bad, day("2026-12-08"), day("2026-12-21")),
            Err(AgendaError::Refused(_))
        ));
    }
}

#[tokio::test]
async fn a_contract_booking_is_idempotent_by_the_protocol_and_a_move_keeps_its_reference() {
    let (server, erp) = ContractErp::start().await;
    let agenda = contract(&server, 2000);
    let v = booking("202612070000120", "2026-12-10/morning");
    let first = agenda.book(&v).await.unwrap();
    let again = agenda.book(&v).await.unwrap();
    assert_eq!((first.as_str(), again.as_str()), ("OS-1", "OS-1"));
    assert_eq!(erp.state().created, 1, "one booking at the ERP");
    let held = erp.state().visits["202612070000120"].clone();
    assert_eq!(held.body["box"], "CTO-AGR-01");
    assert_eq!(held.body["port"], 3);
    assert_eq!(held.body["phone"], "+5548999990000");
    let moved = VisitBooking {
        slot: slot("2026-12-11/afternoon"),
        erp_ref: Some(first.clone()),
        ..v.clone()
    };
    assert_eq!(agenda.book(&moved).await.unwrap(), "OS-1");
    let held = erp.state().visits["202612070000120"].clone();
    assert_eq!(
        (held.day.as_str(), held.period.as_str()),
        ("2026-12-11", "afternoon")
    );
    assert_eq!(erp.state().created, 1);
    // Cancel, then the status says so; a cancel of what the ERP lacks is done.
    assert_eq!(
        agenda.status(&v.protocol, &first).await.unwrap(),
        ErpVisit::Open
    );
    agenda.cancel(&v).await.unwrap();
    assert_eq!(
        agenda.status(&v.protocol, &first).await.unwrap(),
        ErpVisit::Cancelled
    );
    agenda
        .cancel(&booking("999", "2026-12-10/morning"))
        .await
        .unwrap();
    assert!(matches!(
        agenda.status("999", "x").await,
        Err(AgendaError::Refused(_))
    ));
}

#[tokio::test]
async fn the_contract_s_errors_are_told_apart() {
    let (server, erp) = ContractErp::start().await;
    let agenda = contract(&server, 300);
    let v = booking("202612070000121", "2026-12-10/morning");
    for (code, retry) in [
        (503, true),
        (429, true),
        (500, true),
        (400, false),
        (404, false),
    ] {
        erp.state().fail_next.push_back(code);
        match agenda.book(&v).await {
            Err(AgendaError::Unavailable(e)) => assert!(retry, "{code}: {e}"),
            Err(AgendaError::Refused(e)) => {
                assert!(!retry, "{code}: {e}");
                assert!(e.contains(&format!("HTTP {code}")), "{e}");
            }
            Ok(r) => panic!("{code}: booked {r}"),
        }
    }
    erp.state().fail_next.push_back(409);
    let Err(AgendaError::Refused(e)) = agenda.book(&v).await else {
        panic!("a full period is a refusal");
    };
    assert!(e.contains("full"), "{e}");
    // A refused token is a refusal, not a retry.
    let stranger = HttpAgenda::new(
        url::Url::parse(&format!("{}/erp", server.uri())).unwrap(),
        Some(SecretString::from("wrong")),
        Duration::from_secs(1),
    )
    .unwrap();
    assert!(matches!(
        stranger.book(&v).await,
        Err(AgendaError::Refused(_))
    ));
    // Too slow: unavailable, and nothing was booked by the answer we missed.
    erp.state().delay = Some(Duration::from_millis(800));
    assert!(matches!(
        agenda.free_slots(&query()).await,
        Err(AgendaError::Unavailable(_))
    ));
    erp.state().delay = None;
    // Nobody listening: unavailable.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = HttpAgenda::new(
        url::Url::parse(&format!("http://127.0.0.1:{gone}/erp")).unwrap(),
        None,
        Duration::from_millis(500),
    )
    .unwrap();
    assert!(matches!(
        down.book(&v).await,
        Err(AgendaError::Unavailable(_))
    ));
}

#[tokio::test]
async fn the_contract_s_answers_are_bounded_and_clean() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("PUT"))
        .and(wiremock::matchers::path("/erp/visits/1"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"reference": "OS\u{1b}[2J-\u{202E}7\n"})),
        )
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("PUT"))
        .and(wiremock::matchers::path("/erp/visits/2"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("x".repeat(300 * 1024)))
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("PUT"))
        .and(wiremock::matchers::path("/erp/visits/3"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"ok": 1})))
        .mount(&server)
        .await;
    let agenda = contract(&server, 2000);
    let r = agenda
        .book(&booking("1", "2026-12-10/morning"))
        .await
        .unwrap();
    assert_eq!(r, "OS[2J-7");
    let Err(AgendaError::Refused(e)) = agenda.book(&booking("2", "2026-12-10/morning")).await
    else {
        panic!("too large");
    };
    assert!(e.contains("too large"), "{e}");
    let Err(AgendaError::Refused(e)) = agenda.book(&booking("3", "2026-12-10/morning")).await
    else {
        panic!("no reference");
    };
    assert!(e.contains("no reference"), "{e}");
}

#[test]
fn ixc_s_orders_take_their_period_and_cancelled_ones_take_none() {
    let (list, total) = rows(include_bytes!("fixtures/ixc-os-listagem.json")).unwrap();
    assert_eq!(total, Some(6));
    let taken: Vec<Option<String>> = list.iter().map(|r| scheduled(r).map(|s| s.key())).collect();
    assert_eq!(
        taken,
        vec![
            Some("2026-12-10/morning".into()),
            // "Q" (any time): by the hour, 09:30.
            Some("2026-12-10/morning".into()),
            // Cancelled.
            None,
            // Finished: it took its period.
            Some("2026-12-10/afternoon".into()),
            // Waiting to be rescheduled: its date no longer holds.
            None,
            // At night: none of the periods.
            None,
        ]
    );
    assert_eq!(order_status(&list[0]), ErpVisit::Open);
    assert_eq!(order_status(&list[2]), ErpVisit::Cancelled);
    assert_eq!(order_status(&list[3]), ErpVisit::Done);
    let mut booked = HashMap::new();
    for s in list.iter().filter_map(scheduled) {
        *booked.entry(s).or_insert(0) += 1;
    }
    let rules = AgendaRules {
        per_period: 2,
        ..AgendaRules::default()
    };
    // Thursday 10 to Sunday 13: the 10th's morning is full, Sunday closed.
    let free = free_periods(&rules, day("2026-12-10"), day("2026-12-13"), &booked);
    let keys: Vec<(String, u32)> = free.iter().map(|f| (f.slot.key(), f.free)).collect();
    assert_eq!(
        keys,
        vec![
            ("2026-12-10/afternoon".into(), 1),
            ("2026-12-11/morning".into(), 2),
            ("2026-12-11/afternoon".into(), 2),
            ("2026-12-12/morning".into(), 2),
            ("2026-12-12/afternoon".into(), 2),
        ]
    );
    assert!(free.iter().all(|f| f.capacity == 2));
}

#[test]
fn ixc_s_empty_error_and_created_answers() {
    let (list, total) = rows(include_bytes!("fixtures/ixc-os-vazio.json")).unwrap();
    assert!(list.is_empty() && total == Some(0));
    let Err(AgendaError::Refused(e)) = rows(include_bytes!("fixtures/ixc-os-erro.json")) else {
        panic!("an error in a 200 is a refusal");
    };
    assert!(e.contains("sem permissão"), "{e}");
    assert!(matches!(rows(b"<html>"), Err(AgendaError::Refused(_))));
    assert!(matches!(rows(b"{}"), Err(AgendaError::Refused(_))));
    let id = written(include_bytes!("fixtures/ixc-os-inserido.json"), "insert").unwrap();
    assert_eq!(id.as_deref(), Some("4107"));
    assert!(written(include_bytes!("fixtures/ixc-os-erro.json"), "insert").is_err());
    assert!(written(br#"{"id":"1"}"#, "insert").is_err());
    // The order an insert sends: the agenda, the period's letter, the mark.
    let o = new_order(
        &order(),
        &booking("202612070000120", "2026-12-10/afternoon"),
    );
    assert_eq!(o["id_cliente"], "88");
    assert_eq!(o["id_assunto"], "17");
    assert_eq!(o["data_agenda"], "2026-12-10 13:00:00");
    assert_eq!(o["melhor_horario_agenda"], "T");
    assert_eq!(o["protocolo"], "202612070000120");
    let m = o["mensagem"].as_str().unwrap();
    assert!(
        m.contains("ozmap-ivr 202612070000120") && m.contains("porta 3"),
        "{m}"
    );
}

#[tokio::test]
async fn an_ixc_booking_looks_up_before_it_creates_and_a_move_updates_the_order() {
    let (server, erp) = IxcErp::start().await;
    let agenda = ixc(&server, 1);
    let v = booking("202612070000120", "2026-12-10/morning");
    let id = agenda.book(&v).await.unwrap();
    assert_eq!(agenda.book(&v).await.unwrap(), id, "the retry finds it");
    assert_eq!(erp.state().inserts, 1);
    // The period now holds IXC's order: with one visit per period it is full.
    let q = SlotQuery {
        from: day("2026-12-10"),
        to: day("2026-12-10"),
        ..query()
    };
    let free = agenda.free_slots(&q).await.unwrap();
    assert_eq!(free.len(), 1);
    assert_eq!(free[0].slot.period, Period::Afternoon);
    // A move updates the same order.
    let moved = VisitBooking {
        slot: slot("2026-12-10/afternoon"),
        erp_ref: Some(id.clone()),
        ..v.clone()
    };
    assert_eq!(agenda.book(&moved).await.unwrap(), id);
    let inserts = erp.state().inserts;
    let updates = erp.state().updates;
    assert_eq!((inserts, updates), (1, 1));
    let order = erp.state().orders.values().next().unwrap().clone();
    assert_eq!(order["melhor_horario_agenda"], "T");
    // IXC finishes it: done; cancelled after a cancel.
    assert_eq!(
        agenda.status(&v.protocol, &id).await.unwrap(),
        ErpVisit::Open
    );
    erp.state().orders.values_mut().next().unwrap()["status"] = json!("F");
    assert_eq!(
        agenda.status(&v.protocol, &id).await.unwrap(),
        ErpVisit::Done
    );
    erp.state().orders.values_mut().next().unwrap()["status"] = json!("AG");
    agenda.cancel(&moved).await.unwrap();
    assert_eq!(
        agenda.status(&v.protocol, &id).await.unwrap(),
        ErpVisit::Cancelled
    );
    // Booked again after the cancel: a new order, the cancelled one left alone.
    let again = agenda.book(&v).await.unwrap();
    assert_ne!(again, id);
    assert_eq!(erp.state().inserts, 2);
}

#[tokio::test]
async fn ixc_s_refusals_are_refusals() {
    let (server, _erp) = IxcErp::start().await;
    let wrong = ErpAgenda::Ixc(
        IxcAgenda::new(
            url::Url::parse(&server.uri()).unwrap(),
            SecretString::from("7:wrong"),
            Duration::from_secs(2),
            AgendaRules::default(),
            order(),
        )
        .unwrap(),
    );
    let v = booking("1", "2026-12-10/morning");
    assert!(matches!(wrong.book(&v).await, Err(AgendaError::Refused(_))));
    // A reference IXC does not know: looked up by the protocol, then created.
    let agenda = ixc(&server, 4);
    let ghost = VisitBooking {
        erp_ref: Some("77".into()),
        ..v
    };
    agenda.book(&ghost).await.unwrap();
    assert!(matches!(
        agenda.status("2", "4999").await,
        Err(AgendaError::Refused(_))
    ));
}
