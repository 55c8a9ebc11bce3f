//! The reservation's life in the store (SQLite and PostgreSQL alike): due
//! after its days, claimed once, released once with its message, implanted
//! once and never released, an operator's word refused where it cannot apply,
//! a released row making way for a new request.

use super::super::tests::{all_dbs, request};
use super::super::{LedgerStatus, Settle};
use super::*;
use ivr_core::domain::{ReservationOutcome, ReservedPort};
use ivr_core::flow::Call;

const DAYS: u32 = 30;
const LEASE: i64 = 60_000;

fn port() -> ReservedPort {
    ReservedPort {
        property_id: "p1".into(),
        box_id: "b1".into(),
        box_name: None,
        port: Some(3),
    }
}

/// A ledger row for `code` done at `at` with `outcome`; its id.
async fn done_row(s: &Store, code: &str, at: i64, outcome: ReservationOutcome) -> i64 {
    let call = Call::new(None);
    let sid = format!("CA{code}-{at}");
    s.create_call(&sid, &call, "x", at).await.unwrap();
    let mut req = request(code);
    req.protocol = Some(format!("2026120{code}{at}"));
    assert!(
        s.advance_call(&sid, 1, &call, "y", Some(&req), at)
            .await
            .unwrap()
    );
    let c = s.claim_due(at, LEASE).await.unwrap().expect("a due row");
    assert!(
        s.settle_reservation(&c, Settle::Done(outcome), None, at)
            .await
            .unwrap()
    );
    c.reservation.id
}

fn sms(body: &str) -> NewMessage {
    NewMessage {
        kind: "released",
        phone: "+5548999990000".into(),
        body: body.into(),
        hold_ms: 0,
    }
}

fn released(body: &str) -> Settle<LifeDone> {
    Settle::Done(LifeDone::Released {
        message: Some(sms(body)),
        chat: None,
    })
}

#[tokio::test]
async fn a_reservation_is_released_after_its_days_once_with_one_message() {
    for db in all_dbs().await {
        let s = &db.store;
        let t0 = 1_000;
        let id = done_row(s, "42", t0, ReservationOutcome::Reserved(port())).await;
        let r = s.reservation(id).await.unwrap().unwrap();
        assert_eq!(r.life.reserved_at, Some(t0));
        let day = i64::from(DAYS) * DAY_MS;
        assert!(
            s.claim_life(t0 + day - 1, LEASE, DAYS)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.claim_life(t0 + 10 * day, LEASE, 0)
                .await
                .unwrap()
                .is_none(),
            "0 days: never for its age"
        );
        let c = s.claim_life(t0 + day, LEASE, DAYS).await.unwrap().unwrap();
        assert_eq!(c.reservation.id, id);
        assert_eq!(c.life, Some(LifeJob::Release { for_good: false }));
        assert!(
            s.claim_life(t0 + day, LEASE, DAYS).await.unwrap().is_none(),
            "claimed: no one else takes it"
        );
        // The lease ran out: another worker takes it over; the first one's
        // record is refused and writes no message.
        let later = t0 + day + LEASE + 1;
        let c2 = s.claim_life(later, LEASE, DAYS).await.unwrap().unwrap();
        assert!(
            !s.settle_life(&c, released("P: released"), later)
                .await
                .unwrap()
        );
        assert!(s.list_messages(None, 10).await.unwrap().is_empty());
        assert!(
            s.settle_life(&c2, released("P: released"), later)
                .await
                .unwrap()
        );
        assert!(
            !s.settle_life(&c2, released("P: released"), later)
                .await
                .unwrap()
        );
        let messages = s.list_messages(None, 10).await.unwrap();
        assert_eq!(messages.len(), 1, "{:?}", s.backend());
        assert_eq!(messages[0].kind, "released");
        let r = s.reservation(id).await.unwrap().unwrap();
        assert_eq!(r.life.released_at, Some(later));
        assert_eq!(r.life.state(), Some("released"));
        assert_eq!(r.status, LedgerStatus::Done);
        assert!(
            s.claim_life(later + 100 * day, LEASE, DAYS)
                .await
                .unwrap()
                .is_none(),
            "released once"
        );
        assert_eq!(
            s.release_for_good(id, later).await.unwrap(),
            LifeMark::Released
        );
        assert_eq!(
            s.mark_installed(id, later).await.unwrap(),
            LifeMark::Released
        );
    }
}

#[tokio::test]
async fn an_installed_row_is_implanted_once_and_never_released() {
    for db in all_dbs().await {
        let s = &db.store;
        let t0 = 1_000;
        let id = done_row(s, "43", t0, ReservationOutcome::Reserved(port())).await;
        assert!(s.claim_life(t0 + 1, LEASE, DAYS).await.unwrap().is_none());
        assert_eq!(
            s.mark_installed(id, t0 + 1).await.unwrap(),
            LifeMark::Marked
        );
        assert_eq!(
            s.mark_installed(id, t0 + 2).await.unwrap(),
            LifeMark::Already
        );
        assert_eq!(
            s.release_for_good(id, t0 + 2).await.unwrap(),
            LifeMark::Installed
        );
        let c = s.claim_life(t0 + 3, LEASE, DAYS).await.unwrap().unwrap();
        assert_eq!(c.life, Some(LifeJob::Implant));
        // A 5xx: due again at its backoff, the attempt counted.
        assert!(
            s.settle_life(
                &c,
                Settle::RetryLater {
                    at: t0 + 500,
                    error: "HTTP 503".into()
                },
                t0 + 4
            )
            .await
            .unwrap()
        );
        assert!(s.claim_life(t0 + 499, LEASE, DAYS).await.unwrap().is_none());
        let c = s.claim_life(t0 + 500, LEASE, DAYS).await.unwrap().unwrap();
        assert_eq!(c.reservation.life.attempts, 1);
        assert!(
            s.settle_life(&c, Settle::Done(LifeDone::Implanted), t0 + 501)
                .await
                .unwrap()
        );
        let r = s.reservation(id).await.unwrap().unwrap();
        assert_eq!(r.life.implanted_at, Some(t0 + 501));
        assert_eq!(r.life.state(), Some("implanted"));
        assert!(r.life.error.is_none());
        let far = t0 + 1_000 * DAY_MS;
        assert!(
            s.claim_life(far, LEASE, DAYS).await.unwrap().is_none(),
            "never released, not implanted twice"
        );
    }
}

#[tokio::test]
async fn an_operator_releases_for_good_where_it_applies() {
    for db in all_dbs().await {
        let s = &db.store;
        let t0 = 1_000;
        let none = done_row(s, "44", t0, ReservationOutcome::NotViable).await;
        let theirs = done_row(s, "45", t0, ReservationOutcome::Existing(port())).await;
        let ours = done_row(s, "46", t0, ReservationOutcome::Reserved(port())).await;
        assert_eq!(
            s.release_for_good(none, t0).await.unwrap(),
            LifeMark::NoReservation
        );
        assert_eq!(
            s.mark_installed(none, t0).await.unwrap(),
            LifeMark::NoReservation
        );
        assert_eq!(
            s.release_for_good(theirs, t0).await.unwrap(),
            LifeMark::NoReservation,
            "a property this service did not make is never released"
        );
        assert_eq!(
            s.release_for_good(9_999, t0).await.unwrap(),
            LifeMark::NoReservation
        );
        assert_eq!(
            s.release_for_good_by_protocol("2026120nope", t0)
                .await
                .unwrap(),
            LifeMark::NoReservation
        );
        let protocol = s.reservation(ours).await.unwrap().unwrap().request.protocol;
        assert_eq!(
            s.release_for_good_by_protocol(&protocol.unwrap(), t0 + 1)
                .await
                .unwrap(),
            LifeMark::Marked
        );
        assert_eq!(
            s.release_for_good(ours, t0 + 1).await.unwrap(),
            LifeMark::Already
        );
        // At once, whatever its age, and with 0 days too.
        let c = s.claim_life(t0 + 2, LEASE, 0).await.unwrap().unwrap();
        assert_eq!(c.reservation.id, ours);
        assert_eq!(c.life, Some(LifeJob::Release { for_good: true }));
        assert_eq!(
            s.mark_installed(ours, t0 + 3).await.unwrap(),
            LifeMark::Busy
        );
        // Refused in OZmap: a dead letter, no more claims, until an operator
        // asks again.
        assert!(
            s.settle_life(
                &c,
                Settle::DeadLetter {
                    error: "not this request's property".into()
                },
                t0 + 4
            )
            .await
            .unwrap()
        );
        assert!(s.claim_life(t0 + 5, LEASE, 0).await.unwrap().is_none());
        let r = s.reservation(ours).await.unwrap().unwrap();
        assert_eq!(r.life.dead_at, Some(t0 + 4));
        assert_eq!(
            s.release_for_good(ours, t0 + 6).await.unwrap(),
            LifeMark::Marked
        );
        let c = s.claim_life(t0 + 7, LEASE, 0).await.unwrap().unwrap();
        assert_eq!(c.reservation.life.attempts, 0);
        assert!(
            s.settle_life(
                &c,
                Settle::Done(LifeDone::Held {
                    until: t0 + 100,
                    note: "visit".into()
                }),
                t0 + 8
            )
            .await
            .unwrap()
        );
        assert!(s.claim_life(t0 + 99, LEASE, 0).await.unwrap().is_none());
        assert!(s.claim_life(t0 + 100, LEASE, 0).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_released_row_makes_way_for_a_new_request() {
    for db in all_dbs().await {
        let s = &db.store;
        let t0 = 1_000;
        let id = done_row(s, "47", t0, ReservationOutcome::Reserved(port())).await;
        // Not released: a second request of the code leaves the row alone.
        let call = Call::new(None);
        s.create_call("CB1", &call, "x", t0 + 1).await.unwrap();
        s.advance_call("CB1", 1, &call, "y", Some(&request("47")), t0 + 1)
            .await
            .unwrap();
        assert_eq!(
            s.reservation(id).await.unwrap().unwrap().status,
            LedgerStatus::Done
        );
        assert_eq!(
            s.release_for_good(id, t0 + 2).await.unwrap(),
            LifeMark::Marked
        );
        let c = s.claim_life(t0 + 3, LEASE, DAYS).await.unwrap().unwrap();
        assert!(
            s.settle_life(&c, released("P: released"), t0 + 4)
                .await
                .unwrap()
        );
        // Released: the next request of the code takes the row up again.
        s.create_call("CB2", &call, "x", t0 + 5).await.unwrap();
        s.advance_call("CB2", 1, &call, "y", Some(&request("47")), t0 + 5)
            .await
            .unwrap();
        let r = s.reservation(id).await.unwrap().unwrap();
        assert_eq!(r.status, LedgerStatus::Pending);
        assert_eq!(r.call_sid, "CB2");
        assert_eq!(r.created_at, t0 + 5);
        assert_eq!(r.life, Life::default(), "its life starts over");
    }
}
