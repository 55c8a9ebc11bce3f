//! The life jobs against the sandbox in process: a reservation past its days
//! released once (its port free again, one SMS), held by a visit still
//! booked, a crash between the DELETE and the record telling the client
//! once, a property that is not this request's left alone, an installed
//! client implanted and never released.

use super::super::{AttemptEnd, Worker, WorkerSettings};
use super::*;
use crate::reserve::ReserveSettings;
use crate::sms::Outbox;
use crate::store::{DAY_MS, LifeMark, NewVisit, Store};
use ivr_core::agenda::{Day, Period, Slot};
use ivr_core::domain::{ClientCode, ReservationRequest};
use ivr_core::flow::Call;
use ivr_core::tutorial;
use ozmap_client::OzmapClient;
use ozmap_sandbox::{Network, SandboxServer};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use test_support::TestDb;
use tokio::sync::Notify;

const TOKEN: &str = "life-test-token";
const LEASE: i64 = 60_000;

struct Rig {
    store: Store,
    sandbox: SandboxServer,
    worker: Worker,
    _db: TestDb,
}

async fn rig() -> Rig {
    let db = TestDb::sqlite();
    let store = Store::connect(&db.url).await.unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sandbox = ozmap_sandbox::start(Network::builtin(), TOKEN, l)
        .await
        .unwrap();
    let prompts = ivr_core::prompts::Prompts::shipped("pt-BR").unwrap();
    let worker = Worker {
        store: store.clone(),
        ozmap: OzmapClient::new(
            url::Url::parse(&sandbox.base_url()).unwrap(),
            SecretString::from(TOKEN.to_string()),
            Duration::from_secs(2),
        )
        .unwrap(),
        reserve: ReserveSettings::default(),
        settings: WorkerSettings::default(),
        wake: Arc::new(Notify::new()),
        outbox: Some(Outbox::new(prompts.clone(), Arc::new(Notify::new()))),
        health: Default::default(),
        chat: Some(ChatNotice {
            prompts,
            payload: text_payload,
        }),
    };
    Rig {
        store,
        sandbox,
        worker,
        _db: db,
    }
}

/// A stand-in for the channel's message body (the worker knows no channel).
fn text_payload(wa_id: &str, m: &ivr_core::chat::ChatMessage) -> String {
    match m {
        ivr_core::chat::ChatMessage::Text(t) => format!("{wa_id}: {t}"),
        _ => format!("{wa_id}: ?"),
    }
}

fn same(w: &Worker) -> Worker {
    Worker {
        store: w.store.clone(),
        ozmap: w.ozmap.clone(),
        reserve: w.reserve.clone(),
        settings: w.settings.clone(),
        wake: w.wake.clone(),
        outbox: w.outbox.clone(),
        health: w.health.clone(),
        chat: w.chat.clone(),
    }
}

/// A request for `code` from a mobile (or a chat, `key` `wa:…`), reserved in
/// the sandbox by the worker; its ledger id.
async fn reserved(r: &Rig, code: &str, key: &str, protocol: &str) -> i64 {
    let call = Call::new(None);
    r.store.create_call(key, &call, "x", 1).await.unwrap();
    let req = ReservationRequest {
        phone: Some("+5548999990000".into()),
        protocol: Some(protocol.into()),
        ..tutorial::request_for(ClientCode::parse(code).unwrap())
    };
    r.store
        .advance_call(key, 1, &call, "y", Some(&req), 1)
        .await
        .unwrap();
    let claim = r.store.claim_due(now_ms(), LEASE).await.unwrap().unwrap();
    let id = claim.reservation.id;
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert_eq!(r.sandbox.live_properties().len(), 1);
    id
}

/// Claims the row's life job as if `days_later` days had passed.
async fn claim_later(r: &Rig, days_later: i64) -> Option<Claim> {
    let at = now_ms() + days_later * DAY_MS;
    r.store.claim_life(at, LEASE, 30).await.unwrap()
}

async fn kinds(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .list_messages(None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn past_its_days_the_property_is_deleted_once_and_the_client_told_once() {
    let r = rig().await;
    let id = reserved(&r, "123", "CA1", "2026120700000001").await;
    assert!(claim_later(&r, 29).await.is_none());
    let claim = claim_later(&r, 31).await.expect("due after 30 days");
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert!(
        r.sandbox.live_properties().is_empty(),
        "the port is free again"
    );
    let row = r.store.reservation(id).await.unwrap().unwrap();
    assert!(row.life.released_at.is_some(), "{:?}", row.life);
    assert_eq!(kinds(&r.store).await, vec!["released", "reserved"]);
    let m = r
        .store
        .list_messages(None, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind == "released")
        .unwrap();
    assert!(m.body.contains("2026120700000001"), "{}", m.body);
    assert!(claim_later(&r, 400).await.is_none(), "released once");
    r.sandbox.stop().await;
}

#[tokio::test]
async fn a_crash_between_the_delete_and_the_record_tells_the_client_once() {
    let r = rig().await;
    let id = reserved(&r, "124", "CA2", "2026120700000002").await;
    let row = r.store.reservation(id).await.unwrap().unwrap();
    let Some(ReservationOutcome::Reserved(p)) = &row.outcome else {
        panic!("{:?}", row.outcome)
    };
    // The first worker deleted the property, then died before recording it.
    let first = claim_later(&r, 31).await.unwrap();
    r.worker
        .ozmap
        .delete_property(&p.property_id)
        .await
        .unwrap();
    drop(first);
    // Its lease runs out; the next worker finds the property gone: released.
    let at = now_ms() + 31 * DAY_MS + LEASE + 1;
    let again = r.store.claim_life(at, LEASE, 30).await.unwrap().unwrap();
    assert_eq!(same(&r.worker).process(again).await, AttemptEnd::Answered);
    let row = r.store.reservation(id).await.unwrap().unwrap();
    assert!(row.life.released_at.is_some());
    assert_eq!(kinds(&r.store).await, vec!["released", "reserved"]);
    r.sandbox.stop().await;
}

#[tokio::test]
async fn a_visit_still_booked_holds_the_release_until_its_day_ends() {
    let r = rig().await;
    let id = reserved(&r, "125", "CA3", "2026120700000003").await;
    // A visit far ahead (the claim pretends 31 days passed; the hold reads the clock).
    let day = Day::from_days_since_epoch(now_ms() / DAY_MS + 60);
    let booked = r
        .store
        .book_visit(
            NewVisit {
                message: None,
                protocol: "2026120700000003".into(),
                reservation_id: Some(id),
                client_code: "125".into(),
                slot: Slot {
                    day,
                    period: Period::Morning,
                },
                capacity: 4,
                to_erp: false,
            },
            now_ms(),
        )
        .await
        .unwrap();
    assert!(matches!(booked, crate::store::Booking::Booked(_)));
    let claim = claim_later(&r, 31).await.unwrap();
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert_eq!(r.sandbox.live_properties().len(), 1, "not released");
    let row = r.store.reservation(id).await.unwrap().unwrap();
    // The rig's worker has no time zone: Acre's midnight, never early.
    assert_eq!(row.life.due_at, Some(end_of_day_ms(day, "")));
    assert!(row.life.released_at.is_none());
    // An operator cancels the visit for good: released at once.
    assert_eq!(
        r.store.release_for_good(id, now_ms()).await.unwrap(),
        LifeMark::Marked
    );
    let claim = r
        .store
        .claim_life(now_ms(), LEASE, 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert!(r.sandbox.live_properties().is_empty());
    r.sandbox.stop().await;
}

#[tokio::test]
async fn a_property_that_is_not_this_request_s_is_left_alone() {
    let r = rig().await;
    let id = reserved(&r, "126", "CA4", "2026120700000004").await;
    let claim = claim_later(&r, 31).await.unwrap();
    let other = Worker {
        reserve: ReserveSettings {
            property_observation: "Outra coisa".into(),
            ..ReserveSettings::default()
        },
        ..same(&r.worker)
    };
    other.process(claim).await;
    assert_eq!(r.sandbox.live_properties().len(), 1, "left alone");
    let row = r.store.reservation(id).await.unwrap().unwrap();
    assert!(row.life.dead_at.is_some(), "{:?}", row.life);
    assert!(row.life.released_at.is_none());
    assert_eq!(kinds(&r.store).await, vec!["reserved"]);
    r.sandbox.stop().await;
}

#[tokio::test]
async fn an_installed_client_is_implanted_and_never_released() {
    let r = rig().await;
    let id = reserved(&r, "127", "CA5", "2026120700000005").await;
    assert_eq!(r.sandbox.client_implanted(), vec![("127".into(), false)]);
    assert_eq!(
        r.store.mark_installed(id, now_ms()).await.unwrap(),
        LifeMark::Marked
    );
    let claim = r
        .store
        .claim_life(now_ms(), LEASE, 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert_eq!(r.sandbox.client_implanted(), vec![("127".into(), true)]);
    let row = r.store.reservation(id).await.unwrap().unwrap();
    assert!(row.life.implanted_at.is_some());
    assert!(claim_later(&r, 400).await.is_none(), "never released");
    assert_eq!(r.sandbox.live_properties().len(), 1);
    r.sandbox.stop().await;
}

#[tokio::test]
async fn a_chat_made_row_is_told_in_the_chat() {
    let r = rig().await;
    let id = reserved(&r, "128", "wa:5548999990000", "2026120700000006").await;
    let claim = claim_later(&r, 31).await.unwrap();
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert!(
        r.store
            .reservation(id)
            .await
            .unwrap()
            .unwrap()
            .life
            .released_at
            .is_some()
    );
    assert!(kinds(&r.store).await.is_empty(), "no SMS for a chat");
    let replies = r.store.list_chat_replies(None, 10).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0]
            .payload
            .starts_with("5548999990000: Protocolo 2026120700000006"),
        "{}",
        replies[0].payload
    );
    r.sandbox.stop().await;
}

#[tokio::test]
async fn a_row_whose_personal_data_was_erased_is_still_released() {
    let r = rig().await;
    let id = reserved(&r, "129", "CA7", "2026120700000007").await;
    let code = ClientCode::parse("129").unwrap();
    let erased = r
        .store
        .erase_subject(&crate::store::Subject::Client(code), now_ms())
        .await
        .unwrap();
    assert_eq!(erased.reservations, 1);
    let row = r.store.reservation(id).await.unwrap().unwrap();
    assert_eq!((row.request.place.lat, row.request.place.lng), (0.0, 0.0));
    let claim = claim_later(&r, 31).await.unwrap();
    assert_eq!(same(&r.worker).process(claim).await, AttemptEnd::Answered);
    assert!(
        r.sandbox.live_properties().is_empty(),
        "the port is free again"
    );
    let row = r.store.reservation(id).await.unwrap().unwrap();
    assert!(row.life.released_at.is_some(), "{:?}", row.life);
    assert!(
        !kinds(&r.store).await.contains(&"released".to_string()),
        "an erased row has no number to tell"
    );
    r.sandbox.stop().await;
}

#[test]
fn a_visit_day_ends_at_midnight_on_the_isps_clock() {
    let day = Day::parse("2026-12-10").unwrap();
    // São Paulo is UTC−3 in December: 2026-12-11 03:00 UTC.
    assert_eq!(end_of_day_ms(day, "America/Sao_Paulo"), 1_796_958_000_000);
    // Manaus, UTC−4.
    assert_eq!(end_of_day_ms(day, "America/Manaus"), 1_796_961_600_000);
    // An unknown zone: Acre's midnight (UTC−5), never early anywhere in Brazil.
    assert_eq!(end_of_day_ms(day, "Nowhere/Nothing"), 1_796_965_200_000);
}
