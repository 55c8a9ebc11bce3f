//! The visits' ERP outbox over a real store (SQLite in memory, SQLite on
//! disk, PostgreSQL when `IVR_TEST_POSTGRES_URL` answers) against the
//! contract's fake on loopback: booked once, retried then booked, a refusal
//! a dead letter with its reason, a cancellation carried over, an operator's
//! move while the job ran carried over too, the poll of visits done.

use super::erp_job::{ErpJobs, apply_erp_reports, poll_erp_visits};
use super::erp_tests::{contract, ixc};
use super::fakes::{ContractErp, IxcErp};
use crate::outbox::{self, Ended, Settings};
use crate::store::{Booking, NewVisit, Settle, Store, VisitStatus, now_ms};
use ivr_core::agenda::{Day, Slot};
use ivr_core::domain::{BoxName, ClientCode, ReservationOutcome, ReservationRequest, ReservedPort};
use ivr_core::flow::Call;
use ivr_core::tutorial;
use test_support::TestDb;

const LEASE: i64 = 30_000;

fn settings() -> Settings {
    Settings {
        lease_ms: LEASE,
        max_attempts: 5,
        backoff_base_ms: 1_000,
        backoff_max_ms: 60_000,
        idle_poll_ms: 50,
        shutdown_grace_ms: 100,
    }
}

/// Each store the suite runs on (the databases dropped with their `TestDb`).
async fn stores() -> Vec<(Store, Option<TestDb>)> {
    let mut v = vec![(Store::connect("sqlite::memory:").await.unwrap(), None)];
    for db in TestDb::all("the visits' ERP outbox").await {
        v.push((Store::connect(&db.url).await.unwrap(), Some(db)));
    }
    v
}

/// A ledger row whose port is reserved (port 3 of CTO-AGR-01), for `name`
/// (one ledger row per client code: a new code for each).
async fn reserved(s: &Store, code: &str, protocol: &str, name: &str) -> i64 {
    let req = ReservationRequest {
        protocol: Some(protocol.into()),
        client_name: name.into(),
        ..tutorial::request_for(ClientCode::parse(code).unwrap())
    };
    let call = Call::new(None);
    let sid = format!("CA{protocol}");
    s.create_call(&sid, &call, "x", 1).await.unwrap();
    assert!(
        s.advance_call(&sid, 1, &call, "y", Some(&req), 2)
            .await
            .unwrap()
    );
    let claim = s.claim_due(now_ms(), LEASE).await.unwrap().expect("due");
    let port = ReservedPort {
        property_id: "prop-1".into(),
        box_id: "box-1".into(),
        box_name: BoxName::parse("CTO-AGR-01"),
        port: Some(3),
    };
    let done = Settle::Done(ReservationOutcome::Reserved(port));
    assert!(
        s.settle_reservation(&claim, done, None, now_ms())
            .await
            .unwrap()
    );
    claim.reservation.id
}

async fn book(s: &Store, protocol: &str, ledger: i64, at: &str, to_erp: bool) {
    let v = NewVisit {
        message: None,
        protocol: protocol.into(),
        reservation_id: Some(ledger),
        client_code: "88".into(),
        slot: Slot::parse(at).unwrap(),
        capacity: 4,
        to_erp,
    };
    let booked = s.book_visit(v, now_ms()).await.unwrap();
    assert!(matches!(booked, Booking::Booked(_)));
}

/// Claims the due job at `now` and runs it to its end.
async fn run_one(jobs: &ErpJobs, now: i64) -> Option<Ended> {
    let job = jobs.store.claim_visit_job(now, LEASE).await.unwrap()?;
    Some(outbox::process(jobs, &settings(), &job).await)
}

const LATER: i64 = 3_600_000;

#[tokio::test]
async fn a_pending_visit_is_booked_once_with_who_and_where() {
    for (s, _db) in stores().await {
        let (server, erp) = ContractErp::start().await;
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: contract(&server, 2_000),
        };
        let ledger = reserved(&s, "88", "202612070000001", "Gabriel Marioto").await;
        book(&s, "202612070000001", ledger, "2026-12-10/morning", true).await;
        // The service's own agenda's visits never reach an ERP.
        let own = reserved(&s, "89", "202612070000002", "Ana").await;
        book(&s, "202612070000002", own, "2026-12-10/morning", false).await;
        assert_eq!(run_one(&jobs, now_ms()).await, Some(Ended::Done));
        assert_eq!(
            run_one(&jobs, now_ms() + LATER).await,
            None,
            "{:?}",
            s.backend()
        );
        let v = s
            .visit_by_protocol("202612070000001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (v.erp_status.as_str(), v.erp_ref.as_deref()),
            ("done", Some("OS-1"))
        );
        assert_eq!(v.last_error, None);
        let st = erp.state();
        assert_eq!((st.created, st.visits.len()), (1, 1));
        let body = &st.visits["202612070000001"].body;
        assert_eq!(body["client_name"], "Gabriel Marioto");
        assert_eq!(body["box"], "CTO-AGR-01");
        assert_eq!(body["port"], 3);
        assert_eq!(body["day"], "2026-12-10");
        assert_eq!(body["period"], "morning");
        assert_eq!(body["phone"], tutorial::PHONE);
        assert!(
            body["address"]
                .as_str()
                .unwrap()
                .contains("Delminda Silveira")
        );
    }
}

#[tokio::test]
async fn an_erp_down_is_retried_and_the_visit_booked_once() {
    for (s, _db) in stores().await {
        let (server, erp) = ContractErp::start().await;
        erp.state().fail_next.extend([503, 503]);
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: contract(&server, 2_000),
        };
        let ledger = reserved(&s, "88", "202612070000003", "Gabriel").await;
        book(&s, "202612070000003", ledger, "2026-12-11/afternoon", true).await;
        let start = now_ms();
        assert_eq!(run_one(&jobs, start).await, Some(Ended::Failed));
        let v = s
            .visit_by_protocol("202612070000003")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((v.erp_status.as_str(), v.erp_attempts), ("pending", 1));
        assert!(v.last_error.as_deref().unwrap().contains("HTTP 503"));
        assert_eq!(run_one(&jobs, now_ms()).await, None, "backing off");
        assert_eq!(run_one(&jobs, start + LATER).await, Some(Ended::Failed));
        assert_eq!(run_one(&jobs, start + 2 * LATER).await, Some(Ended::Done));
        let v = s
            .visit_by_protocol("202612070000003")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((v.erp_status.as_str(), v.erp_attempts), ("done", 3));
        assert_eq!(erp.state().created, 1);
    }
}

#[tokio::test]
async fn a_refusal_is_a_dead_letter_with_its_reason_until_an_operator_requeues_it() {
    for (s, _db) in stores().await {
        let (server, erp) = ContractErp::start().await;
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: contract(&server, 2_000),
        };
        let ledger = reserved(&s, "88", "202612070000004", "REFUSE ME").await;
        book(&s, "202612070000004", ledger, "2026-12-11/morning", true).await;
        assert_eq!(run_one(&jobs, now_ms()).await, Some(Ended::Refused));
        let v = s
            .visit_by_protocol("202612070000004")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v.erp_status, "dead");
        assert!(
            v.last_error.as_deref().unwrap().contains("HTTP 422"),
            "{v:?}"
        );
        assert_eq!(run_one(&jobs, now_ms() + LATER).await, None);
        assert!(
            s.requeue_visit_job("202612070000004", now_ms())
                .await
                .unwrap()
        );
        assert!(
            !s.requeue_visit_job("202612070000004", now_ms())
                .await
                .unwrap()
        );
        assert_eq!(run_one(&jobs, now_ms() + LATER).await, Some(Ended::Refused));
        assert_eq!(erp.state().created, 0);
        // A visit with no ledger row cannot make a work order.
        book(&s, "202612070000005", 999_999, "2026-12-11/morning", true).await;
        assert_eq!(run_one(&jobs, now_ms() + LATER).await, Some(Ended::Refused));
        let v = s
            .visit_by_protocol("202612070000005")
            .await
            .unwrap()
            .unwrap();
        assert!(v.last_error.unwrap().contains("no reservation"));
    }
}

#[tokio::test]
async fn a_cancellation_and_a_move_made_while_the_job_ran_reach_the_erp() {
    for (s, _db) in stores().await {
        let (server, erp) = ContractErp::start().await;
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: contract(&server, 2_000),
        };
        let p = "202612070000006";
        let ledger = reserved(&s, "88", p, "Gabriel").await;
        book(&s, p, ledger, "2026-12-10/morning", true).await;
        // The operator moves the visit while its booking is on its way.
        let job = s.claim_visit_job(now_ms(), LEASE).await.unwrap().unwrap();
        let to = Slot::parse("2026-12-14/afternoon").unwrap();
        s.move_visit(p, to, Some(4), now_ms() + 1).await.unwrap();
        assert_eq!(outbox::process(&jobs, &settings(), &job).await, Ended::Done);
        let v = s.visit_by_protocol(p).await.unwrap().unwrap();
        assert_eq!(
            (v.erp_status.as_str(), v.erp_ref.as_deref()),
            ("pending", Some("OS-1"))
        );
        assert_eq!(
            erp.state().visits[p].day,
            "2026-12-10",
            "the old day, for now"
        );
        // Due again at once (after the lease): the move reaches the ERP.
        assert_eq!(run_one(&jobs, now_ms() + LATER).await, Some(Ended::Done));
        let held = erp.state().visits[p].clone();
        assert_eq!(
            (held.day.as_str(), held.period.as_str()),
            ("2026-12-14", "afternoon")
        );
        assert_eq!(held.body["reference"], "OS-1");
        assert_eq!(erp.state().created, 1);
        // The operator cancels it: the ERP is told, once.
        s.end_visit(p, VisitStatus::Cancelled, now_ms() + 2)
            .await
            .unwrap();
        assert_eq!(run_one(&jobs, now_ms() + LATER).await, Some(Ended::Done));
        assert_eq!(erp.state().visits[p].status, "cancelled");
        let v = s.visit_by_protocol(p).await.unwrap().unwrap();
        assert_eq!(v.erp_status, "cancelled");
        assert_eq!(run_one(&jobs, now_ms() + 2 * LATER).await, None);
    }
}

#[tokio::test]
async fn the_poll_reports_the_visits_the_erp_finished_or_cancelled() {
    for (s, _db) in stores().await {
        let (server, erp) = ContractErp::start().await;
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: contract(&server, 2_000),
        };
        for (code, p, at) in [
            ("81", "202612010000001", "2026-12-02/morning"),
            ("82", "202612010000002", "2026-12-03/morning"),
            ("83", "202612010000003", "2026-12-04/afternoon"),
            ("84", "202612010000004", "2026-12-20/morning"),
        ] {
            let ledger = reserved(&s, code, p, "Gabriel").await;
            book(&s, p, ledger, at, true).await;
            assert_eq!(run_one(&jobs, now_ms()).await, Some(Ended::Done));
        }
        {
            let mut st = erp.state();
            st.visits.get_mut("202612010000001").unwrap().status = "done".into();
            st.visits.get_mut("202612010000002").unwrap().status = "cancelled".into();
            // Its day has not come: not asked.
            st.visits.get_mut("202612010000004").unwrap().status = "done".into();
        }
        let today = Day::parse("2026-12-07").unwrap();
        let r = poll_erp_visits(&s, &jobs.agenda, today, 100).await.unwrap();
        assert_eq!(r.done, vec!["202612010000001".to_string()]);
        assert_eq!(r.cancelled, vec!["202612010000002".to_string()]);
        // Acted on: the visit done, its reservation installed (the worker
        // implants the client); the cancelled one ended, its place back.
        assert_eq!(apply_erp_reports(&s, &r, now_ms()).await.unwrap(), 2);
        let done = s
            .visit_by_protocol("202612010000001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, VisitStatus::Done);
        let row = s
            .reservation_by_protocol("202612010000001")
            .await
            .unwrap()
            .unwrap();
        assert!(row.life.installed_at.is_some(), "{:?}", row.life);
        let gone = s
            .visit_by_protocol("202612010000002")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(gone.status, VisitStatus::Cancelled);
        // Told again: nothing more changes.
        assert_eq!(apply_erp_reports(&s, &r, now_ms()).await.unwrap(), 0);
        // The ERP down: nothing learnt, no error.
        erp.state().fail_next.extend([503]);
        let r = poll_erp_visits(&s, &jobs.agenda, today, 100).await.unwrap();
        assert!(r.done.is_empty() && r.cancelled.is_empty());
    }
}

#[tokio::test]
async fn a_visit_whose_port_is_still_being_reserved_waits_without_counting_an_attempt() {
    for (s, _db) in stores().await {
        let (server, erp) = ContractErp::start().await;
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: contract(&server, 2_000),
        };
        let p = "202612070000007";
        let req = ReservationRequest {
            protocol: Some(p.into()),
            ..tutorial::request_for(ClientCode::parse("77").unwrap())
        };
        let call = Call::new(None);
        s.create_call("CA7", &call, "x", 1).await.unwrap();
        assert!(
            s.advance_call("CA7", 1, &call, "y", Some(&req), 2)
                .await
                .unwrap()
        );
        let ledger = s.reservation_by_protocol(p).await.unwrap().unwrap().id;
        book(&s, p, ledger, "2026-12-10/morning", true).await;
        assert_eq!(run_one(&jobs, now_ms()).await, Some(Ended::Waiting));
        let v = s.visit_by_protocol(p).await.unwrap().unwrap();
        assert_eq!((v.erp_status.as_str(), v.erp_attempts), ("pending", 0));
        assert_eq!(run_one(&jobs, now_ms()).await, None, "waiting");
        assert_eq!(erp.state().created, 0);
    }
}

#[tokio::test]
async fn through_ixc_a_visit_is_one_service_order_moved_in_place() {
    for (s, _db) in stores().await {
        let (server, erp) = IxcErp::start().await;
        let jobs = ErpJobs {
            store: s.clone(),
            agenda: ixc(&server, 4),
        };
        let p = "202612070000008";
        let ledger = reserved(&s, "88|120", p, "Gabriel Marioto").await;
        book(&s, p, ledger, "2026-12-10/morning", true).await;
        assert_eq!(run_one(&jobs, now_ms()).await, Some(Ended::Done));
        let v = s.visit_by_protocol(p).await.unwrap().unwrap();
        let id = v.erp_ref.clone().expect("the order's id");
        {
            let st = erp.state();
            assert_eq!(st.inserts, 1);
            let order = st.orders.values().next().unwrap();
            assert_eq!(order["id"], id.as_str());
            assert_eq!(order["id_cliente"], "88");
            assert_eq!(order["data_agenda"], "2026-12-10 08:00:00");
            let m = order["mensagem"].as_str().unwrap();
            assert!(m.contains("caixa CTO-AGR-01, porta 3"), "{m}");
        }
        let to = Slot::parse("2026-12-11/afternoon").unwrap();
        s.move_visit(p, to, Some(4), now_ms() + 1).await.unwrap();
        assert_eq!(run_one(&jobs, now_ms() + LATER).await, Some(Ended::Done));
        let v = s.visit_by_protocol(p).await.unwrap().unwrap();
        assert_eq!(v.erp_ref.as_deref(), Some(id.as_str()));
        let st = erp.state();
        assert_eq!((st.inserts, st.updates), (1, 1));
        let order = st.orders.values().next().unwrap();
        assert_eq!(order["data_agenda"], "2026-12-11 13:00:00");
        assert_eq!(order["melhor_horario_agenda"], "T");
    }
}
