//! Export and erasure of a data subject on SQLite and PostgreSQL.

use super::tests::{all_dbs, request};
use super::*;
use ivr_core::flow::{Call, Step};

#[test]
fn phone_numbers_are_normalised_to_e164() {
    for n in [
        "48 99999-0000",
        "(48) 99999-0000",
        "048999990000",
        "5548999990000",
        "+55 48 99999-0000",
    ] {
        assert_eq!(normalise_phone(n).as_deref(), Some("+5548999990000"), "{n}");
    }
    assert_eq!(
        normalise_phone("4833330000").as_deref(),
        Some("+554833330000")
    );
    assert_eq!(
        normalise_phone("+1 415 555 0100").as_deref(),
        Some("+14155550100")
    );
    assert_eq!(normalise_phone("123"), None);
    assert_eq!(normalise_phone(""), None);
}

fn call_of(phone: &str, code: &str, name: &str) -> Call {
    let mut call = Call::new(Some(phone.to_string()));
    call.step = Step::ConfirmAddress;
    call.data.code = ClientCode::parse(code);
    call.data.name = Some(name.to_string());
    call.data.place = Some(request(code).place);
    call.data.protocol = Some(format!("2026120700{code}"));
    call
}

#[tokio::test]
async fn erase_anonymises_the_person_only_once_and_audits_without_the_number() {
    for db in all_dbs().await {
        let s = &db.store;
        let mine = call_of("+5548999990000", "123", "Maria Souza");
        let other = call_of("+5511988887777", "456", "João Lima");
        s.create_call("CA1", &mine, "<Say>Maria Souza</Say>", 1)
            .await
            .unwrap();
        s.create_call("CA2", &other, "<Say>João Lima</Say>", 1)
            .await
            .unwrap();
        let mut req = request("123");
        req.client_name = "Maria Souza".into();
        req.phone = Some("+5548999990000".into());
        let mut other_req = request("456");
        other_req.phone = Some("+5511988887777".into());
        req.protocol = mine.data.protocol.clone();
        s.advance_call("CA1", 1, &mine, "y", Some(&req), 2)
            .await
            .unwrap();
        s.advance_call("CA2", 1, &other, "y", Some(&other_req), 2)
            .await
            .unwrap();
        // Each call marked its house through a location link.
        for (hash, sid) in [("h1", "CA1"), ("h2", "CA2")] {
            s.insert_location_link(hash, sid, 1, 1_000).await.unwrap();
            let at = LinkPosition {
                lat: -27.57,
                lng: -48.52,
                accuracy_m: 9.0,
                place: None,
                at: 2,
            };
            s.take_location_link(hash, &at, 2).await.unwrap().unwrap();
        }
        let place = req.place.clone();
        s.geocode_put("k1", &GeoCached::Found { place }, 3)
            .await
            .unwrap();

        let who = Subject::Phone(normalise_phone("48 99999-0000").unwrap());
        let data = s.subject_data(&who).await.unwrap();
        assert_eq!(data.calls.len(), 1, "{:?}", s.backend());
        assert_eq!(data.reservations.len(), 1);
        assert_eq!(data.geocodes.len(), 1);
        let text = serde_json::to_string(&data).unwrap();
        assert!(
            text.contains("Maria Souza") && !text.contains("João"),
            "{text}"
        );
        // the same person by code
        let by_code = s
            .subject_data(&Subject::Client(ClientCode::parse("123").unwrap()))
            .await
            .unwrap();
        assert_eq!(by_code.reservations, data.reservations);

        let e = s.erase_subject(&who, 10).await.unwrap();
        assert_eq!((e.calls, e.reservations, e.geocodes), (1, 1, 1));
        assert!(e.kept_in_ozmap.is_empty(), "nothing was reserved yet");
        let call = s.load_call("CA1").await.unwrap().unwrap();
        assert_eq!(call.call.data.name, None);
        assert_eq!(call.call.data.phone, None);
        assert_eq!(call.call.data.protocol, mine.data.protocol);
        assert_eq!(call.last_reply, None);
        let rows = s.list_reservations(None, 10).await.unwrap();
        let row = rows
            .iter()
            .find(|r| r.client_code.as_str() == "123")
            .unwrap();
        assert_eq!(row.request.client_name, "");
        assert_eq!(row.request.protocol, req.protocol);
        assert_eq!(row.status, LedgerStatus::Cancelled, "a pending row stops");
        assert!(s.geocode_get("k1", 4).await.unwrap().is_none());
        assert_eq!(s.location_position("CA1").await.unwrap(), None);
        assert!(s.location_position("CA2").await.unwrap().is_some());
        // the other caller is untouched
        let kept = s.load_call("CA2").await.unwrap().unwrap();
        assert_eq!(kept.call.data.name.as_deref(), Some("João Lima"));
        let row = rows
            .iter()
            .find(|r| r.client_code.as_str() == "456")
            .unwrap();
        assert_eq!(row.request, other_req);
        // the audit: one row, a hash, not the number
        let audit = s.privacy_audit().await.unwrap();
        assert_eq!(audit.len(), 1);
        let a = audit[0].to_string();
        assert!(!a.contains("99990000") && !a.contains("Maria"), "{a}");
        assert_eq!(audit[0]["subject_hash"].as_str().unwrap().len(), 64);
        // again, by number or code, and an unknown number: nothing
        assert!(s.erase_subject(&who, 11).await.unwrap().nothing_found());
        let code = Subject::Client(ClientCode::parse("123").unwrap());
        assert!(s.erase_subject(&code, 11).await.unwrap().nothing_found());
        let unknown = Subject::Phone("+5521900000000".into());
        assert!(s.erase_subject(&unknown, 11).await.unwrap().nothing_found());
        assert_eq!(s.privacy_audit().await.unwrap().len(), 1);
    }
}
