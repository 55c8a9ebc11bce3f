//! The same suite runs against SQLite (a temporary file) and PostgreSQL (a fresh
//! database on the server named by `IVR_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). When no PostgreSQL answers, the
//! PostgreSQL half says so on stderr and is skipped.

use super::*;
use ivr_core::domain::ReservedPort;
use ivr_core::flow::{Call, Step};
use ivr_core::tutorial;
use test_support::TestDb;

/// A store on a fresh database ([`TestDb`] drops the database after the store).
pub(crate) struct Db {
    pub store: Store,
    pub db: TestDb,
}

async fn open(db: TestDb) -> Db {
    Db {
        store: Store::connect(&db.url)
            .await
            .expect("a store on the test database"),
        db,
    }
}

pub(crate) async fn sqlite_db() -> Db {
    open(TestDb::sqlite()).await
}

pub(crate) async fn all_dbs() -> Vec<Db> {
    let mut v = Vec::new();
    for db in TestDb::all("the store tests").await {
        v.push(open(db).await);
    }
    v
}

pub(super) fn request(code: &str) -> ReservationRequest {
    tutorial::request_for(ClientCode::parse(code).unwrap())
}

#[tokio::test]
async fn calls_move_forward_once_per_seq() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        assert!(s.create_call("CA1", &call, "<r1/>", 1).await.unwrap());
        assert!(
            !s.create_call("CA1", &call, "<again/>", 2).await.unwrap(),
            "{:?}",
            s.backend()
        );
        let got = s.load_call("CA1").await.unwrap().unwrap();
        assert_eq!((got.seq, got.last_reply.as_deref()), (1, Some("<r1/>")));
        let mut next = call.clone();
        next.step = Step::ConfirmCode;
        assert!(
            s.advance_call("CA1", 1, &next, "<r2/>", None, 3)
                .await
                .unwrap()
        );
        // a second request racing from the same seq loses
        assert!(
            !s.advance_call("CA1", 1, &call, "<r2b/>", None, 4)
                .await
                .unwrap()
        );
        let got = s.load_call("CA1").await.unwrap().unwrap();
        assert_eq!(got.seq, 2);
        assert_eq!(got.call.step, Step::ConfirmCode);
        assert_eq!(got.last_reply.as_deref(), Some("<r2/>"));
        assert!(s.load_call("CA-none").await.unwrap().is_none());
        assert_eq!(s.count_calls().await.unwrap(), 1);
        assert_eq!(s.purge_calls(10).await.unwrap(), 1);
        assert!(s.load_call("CA1").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn one_ledger_row_per_client_code_written_with_the_call() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        s.create_call("CA2", &call, "x", 1).await.unwrap();
        let req = request("123|123");
        assert!(
            s.advance_call("CA1", 1, &call, "y", Some(&req), 5)
                .await
                .unwrap()
        );
        // another call for the same client: the call moves, the ledger keeps one row
        assert!(
            s.advance_call("CA2", 1, &call, "y", Some(&req), 6)
                .await
                .unwrap()
        );
        let rows = s.list_reservations(None, 10).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].call_sid, "CA1");
        assert_eq!(rows[0].request, req);
        assert_eq!(rows[0].status, LedgerStatus::Pending);
        // a lost CAS writes no ledger row
        assert!(
            !s.advance_call("CA1", 1, &call, "z", Some(&request("999")), 7)
                .await
                .unwrap()
        );
        assert!(
            s.reservation_by_code(&ClientCode::parse("999").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn claims_are_exclusive_fenced_and_leased() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        s.advance_call("CA1", 1, &call, "y", Some(&request("42")), 100)
            .await
            .unwrap();
        let c1 = s.claim_due(100, 1_000).await.unwrap().expect("due");
        assert!(
            s.claim_due(100, 1_000).await.unwrap().is_none(),
            "held by c1"
        );
        // lease expired: another worker takes it; c1 can no longer write
        let c2 = s
            .claim_due(1_200, 1_000)
            .await
            .unwrap()
            .expect("lease expired");
        let port = ReservedPort {
            property_id: "p".into(),
            box_id: "b".into(),
            box_name: ivr_core::domain::BoxName::parse("CTO-1"),
            port: Some(2),
        };
        assert!(
            !s.settle_reservation(
                &c1,
                super::Settle::Done(ReservationOutcome::Reserved(port.clone())),
                None,
                1_300
            )
            .await
            .unwrap()
        );
        assert!(
            s.settle_reservation(
                &c2,
                super::Settle::<ReservationOutcome>::RetryLater {
                    at: 5_000,
                    error: "OZmap 503".into()
                },
                None,
                1_300
            )
            .await
            .unwrap()
        );
        assert!(
            s.claim_due(4_999, 1_000).await.unwrap().is_none(),
            "not due yet"
        );
        let c3 = s.claim_due(5_000, 1_000).await.unwrap().unwrap();
        assert_eq!(c3.reservation.attempts, 1);
        assert_eq!(c3.reservation.last_error.as_deref(), Some("OZmap 503"));
        assert_eq!(s.ledger_backlog(5_100).await.unwrap(), (1, 5_000));
        assert!(
            s.settle_reservation(
                &c3,
                super::Settle::Done(ReservationOutcome::Reserved(port.clone())),
                None,
                5_100
            )
            .await
            .unwrap()
        );
        let r = s
            .reservation_by_code(&ClientCode::parse("42").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, LedgerStatus::Done);
        assert_eq!(r.outcome, Some(ReservationOutcome::Reserved(port)));
        assert!(
            s.claim_due(10_000, 1_000).await.unwrap().is_none(),
            "done rows are not claimed"
        );
        assert_eq!(s.ledger_backlog(5_100).await.unwrap(), (0, 0));
    }
}

#[tokio::test]
async fn a_released_claim_is_due_again_without_counting_an_attempt() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        s.advance_call("CA1", 1, &call, "y", Some(&request("55")), 100)
            .await
            .unwrap();
        let c1 = s.claim_due(100, 60_000).await.unwrap().expect("due");
        assert!(
            s.settle_reservation(
                &c1,
                super::Settle::<ReservationOutcome>::Released {
                    at: 500,
                    note: "interrupted by shutdown".into()
                },
                None,
                200
            )
            .await
            .unwrap()
        );
        assert!(
            !s.settle_reservation(
                &c1,
                super::Settle::<ReservationOutcome>::Released {
                    at: 500,
                    note: "again".into()
                },
                None,
                200
            )
            .await
            .unwrap(),
            "the token is spent"
        );
        // well before the lease would have run out, but not before next_at
        assert!(s.claim_due(499, 60_000).await.unwrap().is_none());
        let c2 = s.claim_due(500, 60_000).await.unwrap().expect("due again");
        assert_eq!(c2.reservation.id, c1.reservation.id);
        assert_eq!(c2.reservation.attempts, 0, "{:?}", s.backend());
        assert_eq!(
            c2.reservation.last_error.as_deref(),
            Some("interrupted by shutdown")
        );
        // the old holder cannot write any more
        assert!(
            !s.settle_reservation(
                &c1,
                super::Settle::Done(ReservationOutcome::NotViable),
                None,
                600
            )
            .await
            .unwrap()
        );
    }
}

#[tokio::test]
async fn dead_letters_can_be_requeued_and_cancelled() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        s.advance_call("CA1", 1, &call, "y", Some(&request("7")), 1)
            .await
            .unwrap();
        let c = s.claim_due(1, 100).await.unwrap().unwrap();
        assert!(
            s.settle_reservation(
                &c,
                super::Settle::<ReservationOutcome>::DeadLetter {
                    error: "OZmap refused the token".into()
                },
                None,
                2
            )
            .await
            .unwrap()
        );
        assert_eq!(
            s.list_reservations(Some(LedgerStatus::Dead), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(s.claim_due(10, 100).await.unwrap().is_none());
        assert!(s.requeue(c.reservation.id, 20).await.unwrap());
        assert!(
            !s.requeue(c.reservation.id, 20).await.unwrap(),
            "only dead rows"
        );
        assert!(s.claim_due(20, 100).await.unwrap().is_some());
        assert!(s.mark_cancelled(c.reservation.id, 30).await.unwrap());
        assert_eq!(
            s.reservation(c.reservation.id)
                .await
                .unwrap()
                .unwrap()
                .status,
            LedgerStatus::Cancelled
        );
    }
}

#[tokio::test]
async fn concurrent_claims_never_share_a_row() {
    for db in all_dbs().await {
        let s = db.store.clone();
        let call = Call::new(None);
        for i in 0..20 {
            let sid = format!("CA{i}");
            s.create_call(&sid, &call, "x", 1).await.unwrap();
            s.advance_call(
                &sid,
                1,
                &call,
                "y",
                Some(&request(&format!("{}", 1000 + i))),
                1,
            )
            .await
            .unwrap();
        }
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(c) = s.claim_due(10, 60_000).await.unwrap() {
                    got.push(c.reservation.id);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!((n, all.len()), (20, 20), "{:?}", s.backend());
    }
}

#[tokio::test]
async fn geocode_cache_expires_failures_quickly() {
    for db in all_dbs().await {
        let s = &db.store;
        s.geocode_put("k", &GeoCached::Failed, 1_000).await.unwrap();
        assert_eq!(
            s.geocode_get("k", 1_500).await.unwrap(),
            Some(GeoCached::Failed)
        );
        assert_eq!(s.geocode_get("k", 62_000).await.unwrap(), None);
        let place = request("1").place;
        s.geocode_put(
            "k",
            &GeoCached::Found {
                place: place.clone(),
            },
            70_000,
        )
        .await
        .unwrap();
        assert_eq!(
            s.geocode_get("k", 80_000).await.unwrap(),
            Some(GeoCached::Found { place })
        );
        assert_eq!(s.geocode_get("missing", 80_000).await.unwrap(), None);
    }
}

#[tokio::test]
async fn reopening_keeps_everything_and_does_not_migrate_twice() {
    let db = sqlite_db().await;
    db.store
        .create_call("CA1", &Call::new(None), "x", 1)
        .await
        .unwrap();
    let again = Store::connect(&db.db.url).await.unwrap();
    assert!(again.load_call("CA1").await.unwrap().is_some());
}

#[tokio::test]
async fn protocols_are_unique_under_concurrency_and_find_their_ledger_row() {
    for db in all_dbs().await {
        let s = &db.store;
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.next_protocol("20261201").await.unwrap() })
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for t in tasks {
            let p = t.await.unwrap();
            assert_eq!(p.len(), 16, "{p}");
            assert!(p.starts_with("20261201"), "{p}");
            assert!(seen.insert(p), "{:?}: a protocol twice", s.backend());
        }
        // another day starts its own count
        assert_eq!(
            s.next_protocol("20261202").await.unwrap(),
            "2026120200000001"
        );

        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        let mut req = request("555");
        req.protocol = Some("2026120100000007".into());
        assert!(
            s.advance_call("CA1", 1, &call, "y", Some(&req), 5)
                .await
                .unwrap()
        );
        let row = s
            .reservation_by_protocol("2026120100000007")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.client_code.as_str(), "555");
        assert!(
            s.reservation_by_protocol("2026120100000008")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn protocol_blocks_never_overlap_and_share_the_counter() {
    for db in all_dbs().await {
        let s = &db.store;
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.reserve_protocols("20261203", 1000).await.unwrap() })
            })
            .collect();
        let mut lasts = Vec::new();
        for t in tasks {
            lasts.push(t.await.unwrap());
        }
        lasts.sort_unstable();
        // Twenty blocks of 1000, back to back from 1: 1000, 2000, … 20000.
        assert_eq!(lasts, (1..=20).map(|i| i * 1000).collect::<Vec<_>>());
        // The one-at-a-time numbers come after the blocks.
        assert_eq!(
            s.next_protocol("20261203").await.unwrap(),
            "2026120300020001"
        );
    }
}
