//! The uncertain state through the worker and the store, on SQLite and
//! PostgreSQL: a POST whose answer never came is not sent again within the
//! commit wait, is sent again after it when nothing was found, and a restart
//! keeps that; a copy OZmap committed later still is deleted at the second
//! look; a box whose name cannot be read gives an SMS without an id, and the
//! name read later is stored with the outcome.

use super::*;
use crate::sms::Outbox;
use ivr_core::domain::{BoxName, ClientCode, ReservationRequest};
use ivr_core::flow::Call;
use ivr_core::tutorial;
use ozmap_sandbox::{Network, PostFault, SandboxServer};
use secrecy::SecretString;
use test_support::TestDb;

const TOKEN: &str = "uncertain-test-token";

/// OZmap's timeout in these tests, and the commit wait (the same ratio as
/// the defaults' 8 s and 60 s is not needed: only their order matters).
const TIMEOUT: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_millis(1_500);

struct Rig {
    store: Store,
    sandbox: SandboxServer,
    db: TestDb,
}

async fn rig(db: TestDb) -> Rig {
    let store = Store::connect(&db.url).await.unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sandbox = ozmap_sandbox::start(Network::builtin(), TOKEN, l)
        .await
        .unwrap();
    Rig { store, sandbox, db }
}

/// A ledger row for `code`, from a caller on a mobile, with a protocol.
async fn row(store: &Store, code: &str, protocol: &str) {
    let call = Call::new(None);
    let sid = format!("CA-{code}");
    store.create_call(&sid, &call, "x", 1).await.unwrap();
    let req = ReservationRequest {
        phone: Some("+5548999990000".into()),
        protocol: Some(protocol.into()),
        ..tutorial::request_for(ClientCode::parse(code).unwrap())
    };
    store
        .advance_call(&sid, 1, &call, "y", Some(&req), 1)
        .await
        .unwrap();
}

fn outbox() -> Outbox {
    Outbox::new(
        ivr_core::prompts::Prompts::shipped("pt-BR").unwrap(),
        Arc::new(Notify::new()),
    )
}

fn worker(store: &Store, ozmap: OzmapClient) -> Worker {
    Worker {
        store: store.clone(),
        ozmap,
        reserve: ReserveSettings {
            commit_wait: WAIT,
            ..ReserveSettings::default()
        },
        settings: WorkerSettings {
            backoff_base_ms: 50,
            ..WorkerSettings::default()
        },
        wake: Arc::new(Notify::new()),
        outbox: Some(outbox()),
        health: Default::default(),
        chat: None,
    }
}

fn sandbox_client(r: &Rig) -> OzmapClient {
    OzmapClient::new(
        url::Url::parse(&r.sandbox.base_url()).unwrap(),
        SecretString::from(TOKEN.to_string()),
        TIMEOUT,
    )
    .unwrap()
}

/// Claims the row whatever its due time (a pending one, else a finished one
/// due for a second look) and runs one attempt at it.
async fn attempt(store: &Store, w: Worker) -> AttemptEnd {
    let later = now_ms() + 3_600_000;
    let claim = match store.claim_due(later, 60_000).await.unwrap() {
        Some(c) => c,
        None => store
            .claim_recheck(later, 60_000)
            .await
            .unwrap()
            .expect("a row to look at"),
    };
    w.process(claim).await
}

async fn the_row(store: &Store) -> crate::store::Reservation {
    store.list_reservations(None, 10).await.unwrap().remove(0)
}

async fn both(test: &str) -> Vec<TestDb> {
    TestDb::all(test).await
}

#[tokio::test]
async fn an_unanswered_post_is_not_sent_again_within_the_wait_even_after_a_restart() {
    for db in both("an_unanswered_post_is_not_sent_again_within_the_wait").await {
        let r = rig(db).await;
        row(&r.store, "61", "2026010100000061").await;
        // OZmap takes the POST and never answers, creating nothing.
        r.sandbox.faults().set_post_fault_once(PostFault::Hang);
        let posted = now_ms();
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Failed);
        let first = the_row(&r.store).await;
        assert_eq!(r.sandbox.property_posts(), 1);
        let since = first.uncertain_since.expect("uncertain after the timeout");
        assert!(
            since >= posted && since < posted + 1_000,
            "{since} {posted}"
        );
        assert_eq!(first.attempts, 1);

        // A restart: a new store on the same database, a new worker.
        let Rig { store, sandbox, db } = r;
        drop(store);
        let r = Rig {
            store: Store::connect(&db.url).await.unwrap(),
            sandbox,
            db,
        };
        let w = worker(&r.store, sandbox_client(&r));
        // Nothing found, within the wait: looked up, not sent again, not an
        // attempt, due again before the wait is over.
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Answered);
        let waiting = the_row(&r.store).await;
        assert_eq!(
            r.sandbox.property_posts(),
            1,
            "no second POST within the wait"
        );
        assert_eq!(waiting.status, LedgerStatus::Pending);
        assert_eq!(
            (waiting.attempts, waiting.uncertain_since),
            (1, Some(since))
        );
        assert!(
            waiting.next_attempt_at <= since + WAIT.as_millis() as i64,
            "{} > {}",
            waiting.next_attempt_at,
            since + WAIT.as_millis() as i64
        );
        assert!(
            waiting
                .last_error
                .as_deref()
                .unwrap_or_default()
                .contains("waiting for OZmap"),
            "{:?}",
            waiting.last_error
        );

        // The wait is over and a look-up still finds nothing: sent again, once.
        let left = (since + WAIT.as_millis() as i64 - now_ms()).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(left + 20)).await;
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Answered);
        let done = the_row(&r.store).await;
        assert_eq!(done.status, LedgerStatus::Done, "{:?}", done.last_error);
        assert!(matches!(
            done.outcome,
            Some(ReservationOutcome::Reserved(_))
        ));
        assert_eq!(r.sandbox.property_posts(), 2);
        assert_eq!(r.sandbox.live_properties().len(), 1);
        assert_eq!(done.uncertain_since, Some(since), "kept: a copy may come");
        assert!(done.recheck_at.is_some());
        let sms = r.store.list_messages(None, 10).await.unwrap();
        assert_eq!(sms.len(), 1);
        assert!(sms[0].body.contains("Reservamos") || sms[0].body.contains("reservamos"));
    }
}

#[tokio::test]
async fn a_slow_commit_is_adopted_while_waiting_and_never_posted_twice() {
    for db in both("a_slow_commit_is_adopted_while_waiting").await {
        let r = rig(db).await;
        row(&r.store, "62", "2026010100000062").await;
        // Committed 1 s after the POST, well past the 300 ms timeout (the
        // next look, at once, comes before it even on a loaded machine).
        r.sandbox
            .faults()
            .set_post_fault_once(PostFault::CommitLate { after_ms: 1_000 });
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Failed);
        // Before the commit: nothing yet, wait.
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Answered);
        assert_eq!(the_row(&r.store).await.status, LedgerStatus::Pending);
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Answered);
        let done = the_row(&r.store).await;
        assert_eq!(done.status, LedgerStatus::Done);
        let Some(ReservationOutcome::Reserved(port)) = &done.outcome else {
            panic!("{:?}", done.outcome)
        };
        assert_eq!(port.box_name, BoxName::parse("CTO-AGR-01"));
        assert_eq!(r.sandbox.property_posts(), 1);
        assert_eq!(r.sandbox.live_properties().len(), 1);
    }
}

#[tokio::test]
async fn a_copy_committed_after_a_second_post_is_deleted_at_the_second_look() {
    for db in both("a_copy_committed_after_a_second_post_is_deleted").await {
        let r = rig(db).await;
        row(&r.store, "63", "2026010100000063").await;
        // The first POST commits only after the wait: the second POST is sent
        // meanwhile and answered; then the first commits too.
        r.sandbox
            .faults()
            .set_post_fault_once(PostFault::CommitLate { after_ms: 2_200 });
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Failed);
        tokio::time::sleep(WAIT + Duration::from_millis(50)).await;
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Answered);
        let done = the_row(&r.store).await;
        let Some(ReservationOutcome::Reserved(told)) = done.outcome.clone() else {
            panic!("{:?}", done.outcome)
        };
        assert_eq!(r.sandbox.property_posts(), 2);
        assert!(done.recheck_at.is_some());
        // The late commit: two properties, two ports, for one request.
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.sandbox.live_properties().len() < 2 {
            assert!(Instant::now() < deadline, "the late commit never came");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The second look keeps what the caller was told, deletes the copy.
        let w = worker(&r.store, sandbox_client(&r));
        assert_eq!(attempt(&r.store, w).await, AttemptEnd::Answered);
        let live = r.sandbox.live_properties();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0]["id"], told.property_id.as_str());
        let after = the_row(&r.store).await;
        assert_eq!(after.status, LedgerStatus::Done);
        assert_eq!(after.duplicates_removed.len(), 1);
        assert_ne!(after.duplicates_removed[0], told.property_id);
        assert_eq!(after.recheck_at, None, "nothing left to look at");
        assert_eq!(after.outcome, done.outcome, "the outcome told is unchanged");
        assert_eq!(r.store.list_messages(None, 10).await.unwrap().len(), 1);
    }
}

/// The SMS names no box by its id (24 hex digits), ever.
fn has_an_id(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .any(|w| w.len() >= 24)
}

#[tokio::test]
async fn an_adopted_box_whose_name_cannot_be_read_is_never_named_by_its_id() {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const BOX: &str = "5da62201493d9c00066655b8";
    for db in both("an_adopted_box_whose_name_cannot_be_read").await {
        let oz = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/properties/client/64"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": "6a0000000000000000000001", "box": BOX,
                "connections": [{"kind": "Splitter", "port": 3}]
            }])))
            .mount(&oz)
            .await;
        // The box cannot be read at the adoption, nor at the read before the
        // SMS; later it can.
        Mock::given(method("GET"))
            .and(path(format!("/api/v2/boxes/{BOX}")))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .with_priority(1)
            .expect(2)
            .mount(&oz)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/api/v2/boxes/{BOX}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": BOX, "name": "CTO-AGR-01"})),
            )
            .expect(1)
            .mount(&oz)
            .await;
        let r = rig(db).await;
        row(&r.store, "64", "2026010100000064").await;
        let ozmap = ozmap_client::mock::client_for(&oz, 1_000);
        assert_eq!(
            attempt(&r.store, worker(&r.store, ozmap.clone())).await,
            AttemptEnd::Answered
        );
        let done = the_row(&r.store).await;
        let Some(ReservationOutcome::Existing(port)) = &done.outcome else {
            panic!("{:?}", done.outcome)
        };
        assert_eq!((port.box_id.as_str(), &port.box_name), (BOX, &None));
        let sms = r.store.list_messages(None, 10).await.unwrap();
        assert_eq!(sms.len(), 1);
        let body = &sms[0].body;
        assert!(!has_an_id(body), "an id in the SMS: {body}");
        assert!(
            body.contains("a porta 3") && !body.contains("caixa"),
            "{body}"
        );
        assert!(body.contains("2026010100000064"), "{body}");
        // Looked at again later: the name is read and kept with the outcome
        // (what a later read-back says); no second SMS.
        assert!(done.recheck_at.is_some());
        assert_eq!(
            attempt(&r.store, worker(&r.store, ozmap)).await,
            AttemptEnd::Answered
        );
        let named = the_row(&r.store).await;
        let Some(ReservationOutcome::Existing(port)) = &named.outcome else {
            panic!("{:?}", named.outcome)
        };
        assert_eq!(port.box_name, BoxName::parse("CTO-AGR-01"));
        assert_eq!(named.recheck_at, None);
        assert_eq!(named.status, LedgerStatus::Done);
        assert_eq!(r.store.list_messages(None, 10).await.unwrap().len(), 1);
        oz.verify().await;
    }
}

#[test]
fn the_look_ups_come_closer_first_and_never_past_the_wait() {
    // At the timeout (8 s after a POST), a look-up 2 s later; 40 s in, 10 s;
    // never later than the end of the wait.
    assert_eq!(next_look(8_000, 0, 60_000, 2_000), 10_000);
    assert_eq!(next_look(2_000, 0, 60_000, 2_000), 4_000);
    assert_eq!(next_look(40_000, 0, 60_000, 2_000), 50_000);
    assert_eq!(next_look(56_000, 0, 60_000, 2_000), 60_000);
    assert_eq!(next_look(60_000, 0, 60_000, 2_000), 60_001);
}
