//! The SMS outbox's store: a message written with its outcome or not at all,
//! one per outcome, claims exclusive, retried and released (SQLite and
//! PostgreSQL alike).

use super::tests::{all_dbs, request};
use super::*;
use ivr_core::flow::Call;

fn sms(kind: &'static str, body: &str) -> NewMessage {
    NewMessage {
        kind,
        phone: "+5548999990000".into(),
        body: body.into(),
        hold_ms: 0,
    }
}

#[tokio::test]
async fn the_message_is_written_with_the_outcome_or_not_at_all() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        s.advance_call("CA1", 1, &call, "y", Some(&request("42")), 100)
            .await
            .unwrap();
        let c1 = s.claim_due(100, 1_000).await.unwrap().unwrap();
        let c2 = s.claim_due(1_200, 1_000).await.unwrap().unwrap();
        // the lost claim writes neither the outcome nor its message
        let lost = s
            .settle_reservation(
                &c1,
                super::Settle::Done(ReservationOutcome::NotViable),
                Some(sms("not_viable", "P1: none")),
                1_300,
            )
            .await
            .unwrap();
        assert!(!lost);
        assert!(s.list_messages(None, 10).await.unwrap().is_empty());
        assert!(
            s.settle_reservation(
                &c2,
                super::Settle::<ReservationOutcome>::DeadLetter {
                    error: "gave up".into()
                },
                Some(sms("failed", "P1: kept")),
                1_300
            )
            .await
            .unwrap()
        );
        let all = s.list_messages(None, 10).await.unwrap();
        assert_eq!(all.len(), 1, "{:?}", s.backend());
        let m = &all[0];
        assert_eq!(
            (m.kind.as_str(), m.body.as_str(), m.status),
            ("failed", "P1: kept", MessageStatus::Pending)
        );
        assert_eq!(m.reservation_id, c2.reservation.id);
        assert_eq!(m.next_attempt_at, 1_300);
        assert_eq!(s.message(m.id).await.unwrap().unwrap().body, "P1: kept");
        let counts = s.message_counts().await.unwrap();
        assert!(counts.contains(&(MessageStatus::Pending, 1)), "{counts:?}");
    }
}

#[tokio::test]
async fn one_message_per_outcome_unless_a_new_call_changes_its_text() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        s.create_call("CA1", &call, "x", 1).await.unwrap();
        s.advance_call("CA1", 1, &call, "y", Some(&request("42")), 100)
            .await
            .unwrap();
        let c = s.claim_due(100, 1_000).await.unwrap().unwrap();
        assert!(
            s.settle_reservation(
                &c,
                super::Settle::<ReservationOutcome>::DeadLetter {
                    error: "gave up".into()
                },
                Some(sms("failed", "P1: kept")),
                200
            )
            .await
            .unwrap()
        );
        let m = s.claim_message(300, 1_000).await.unwrap().unwrap();
        assert!(
            s.settle_message(&m, super::Settle::Done(Some("SM1".into())), 400)
                .await
                .unwrap()
        );
        // an operator retries the dead letter; it dies again: the caller was told already
        assert!(s.requeue(c.reservation.id, 500).await.unwrap());
        let c = s.claim_due(500, 1_000).await.unwrap().unwrap();
        assert!(
            s.settle_reservation(
                &c,
                super::Settle::<ReservationOutcome>::DeadLetter {
                    error: "gave up".into()
                },
                Some(sms("failed", "P1: kept")),
                600
            )
            .await
            .unwrap()
        );
        let all = s.list_messages(None, 10).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, MessageStatus::Sent, "{:?}", s.backend());
        assert!(s.claim_message(10_000, 1_000).await.unwrap().is_none());
        // a new call takes the dead row up and gives up too: its own protocol is sent
        s.create_call("CA2", &call, "x", 700).await.unwrap();
        s.advance_call("CA2", 1, &call, "y", Some(&request("42")), 700)
            .await
            .unwrap();
        let c = s.claim_due(700, 1_000).await.unwrap().unwrap();
        assert!(
            s.settle_reservation(
                &c,
                super::Settle::<ReservationOutcome>::DeadLetter {
                    error: "gave up".into()
                },
                Some(sms("failed", "P2: kept")),
                800
            )
            .await
            .unwrap()
        );
        let all = s.list_messages(None, 10).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (
                all[0].status,
                all[0].body.as_str(),
                all[0].provider_id.as_deref()
            ),
            (MessageStatus::Pending, "P2: kept", None)
        );
        let m = s.claim_message(900, 1_000).await.unwrap().unwrap();
        assert_eq!(m.message.attempts, 0);
        // sent messages past the retention are purged; others stay
        assert!(
            s.settle_message(&m, super::Settle::Done(Some("SM2".into())), 950)
                .await
                .unwrap()
        );
        assert_eq!(s.purge_sent_messages(900).await.unwrap(), 0);
        assert_eq!(s.purge_sent_messages(1_000).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn message_claims_are_exclusive_retried_and_released() {
    for db in all_dbs().await {
        let s = &db.store;
        let call = Call::new(None);
        for (i, code) in ["1", "2"].iter().enumerate() {
            let sid = format!("CA{i}");
            s.create_call(&sid, &call, "x", 1).await.unwrap();
            s.advance_call(&sid, 1, &call, "y", Some(&request(code)), 1)
                .await
                .unwrap();
            let c = s.claim_due(10, 1_000).await.unwrap().unwrap();
            let body = format!("P{i}");
            let msg = sms("reserved", &body);
            assert!(
                s.settle_reservation(
                    &c,
                    super::Settle::Done(ReservationOutcome::NotViable),
                    Some(msg),
                    10 + i as i64
                )
                .await
                .unwrap()
            );
        }
        let a = s.claim_message(100, 1_000).await.unwrap().unwrap();
        let b = s.claim_message(100, 1_000).await.unwrap().unwrap();
        assert_ne!(a.message.id, b.message.id);
        assert!(s.claim_message(100, 1_000).await.unwrap().is_none());
        assert!(
            s.settle_message(
                &a,
                super::Settle::RetryLater {
                    at: 500,
                    error: "HTTP 503".into()
                },
                110
            )
            .await
            .unwrap()
        );
        assert!(
            !s.settle_message(
                &a,
                super::Settle::RetryLater {
                    at: 500,
                    error: "again".into()
                },
                110
            )
            .await
            .unwrap()
        );
        assert!(
            s.settle_message(
                &b,
                super::Settle::Released {
                    at: 120,
                    note: "shutdown".into()
                },
                110
            )
            .await
            .unwrap()
        );
        let b2 = s.claim_message(120, 1_000).await.unwrap().unwrap();
        assert_eq!((b2.message.id, b2.message.attempts), (b.message.id, 0));
        assert!(s.claim_message(499, 1_000).await.unwrap().is_none());
        let a2 = s.claim_message(500, 1_000).await.unwrap().unwrap();
        assert_eq!(a2.message.attempts, 1);
        assert_eq!(a2.message.last_error.as_deref(), Some("HTTP 503"));
        assert!(
            s.settle_message(
                &a2,
                super::Settle::DeadLetter {
                    error: "HTTP 400".into()
                },
                600
            )
            .await
            .unwrap()
        );
        let dead = s
            .list_messages(Some(MessageStatus::Dead), 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].protocol, request("1").protocol);
    }
}
