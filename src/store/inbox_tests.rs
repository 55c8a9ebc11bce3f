//! The inbox on both backends: kept once, claimed in order per client, marked
//! processed with the conversation's move (and only then), tried again, given
//! up, released at start-up, purged; and two stores on one database (two
//! instances) moving a conversation once for one message.

use super::super::tests::all_dbs;
use super::*;
use crate::store::{ChatWrite, ChatWritten};
use ivr_core::flow::Call;

fn kept(id: &str, wa_id: &str) -> KeptMessage {
    KeptMessage {
        message_id: id.into(),
        wa_id: wa_id.into(),
        content: format!(r#"{{"kind":"text","value":"{id}"}}"#),
    }
}

fn write(id: &str, wa_id: &str, expected_seq: Option<i64>) -> ChatWrite {
    ChatWrite {
        key: format!("wa:{wa_id}"),
        wa_id: wa_id.into(),
        expected_seq,
        call: Call::new(None),
        message_id: Some(id.into()),
        reserve: None,
        replies: vec![format!("reply to {id}")],
    }
}

fn counts(v: &[(String, i64, i64)]) -> Vec<(&str, i64, i64)> {
    v.iter().map(|(s, n, c)| (s.as_str(), *n, *c)).collect()
}

#[tokio::test]
async fn kept_once_taken_in_order_and_done_with_the_move() {
    for db in all_dbs().await {
        let s = &db.store;
        let b = s.backend();
        let kept_now = s
            .keep_chat_messages(vec![kept("m1", "55"), kept("m2", "55")], 10)
            .await
            .unwrap();
        assert_eq!(kept_now, 2, "{b:?}");
        // Delivered again: nothing new.
        assert_eq!(
            s.keep_chat_messages(vec![kept("m1", "55")], 11)
                .await
                .unwrap(),
            0
        );
        assert_eq!(s.keep_chat_messages(vec![], 11).await.unwrap(), 0);
        let c1 = s.claim_chat_message(20, 1000).await.unwrap().unwrap();
        assert_eq!((c1.message_id.as_str(), c1.wa_id.as_str()), ("m1", "55"));
        assert_eq!(
            c1.content.as_deref(),
            Some(r#"{"kind":"text","value":"m1"}"#)
        );
        // m2 waits for m1 (same client), even for another processor.
        assert!(
            s.claim_chat_message(21, 1000).await.unwrap().is_none(),
            "{b:?}"
        );
        // Another client's message is not held back.
        s.keep_chat_messages(vec![kept("o1", "66")], 22)
            .await
            .unwrap();
        let o1 = s.claim_chat_message(23, 1000).await.unwrap().unwrap();
        assert_eq!(o1.message_id, "o1");
        // m1 moves the conversation: its row is done in the same transaction,
        // its content gone, and m2 is due.
        assert_eq!(
            s.write_chat(write("m1", "55", None), 30).await.unwrap(),
            ChatWritten::Moved
        );
        assert!(
            !s.settle_chat_message(&c1, Settle::Done(()), 31)
                .await
                .unwrap()
        );
        let c2 = s.claim_chat_message(32, 1000).await.unwrap().unwrap();
        assert_eq!(c2.message_id, "m2");
        // m1 taken in again (a second processor): nothing moves.
        assert_eq!(
            s.write_chat(write("m1", "55", Some(1)), 33).await.unwrap(),
            ChatWritten::Duplicate
        );
        // A move that loses to another writer rolls back the mark too.
        assert_eq!(
            s.write_chat(write("m2", "55", Some(7)), 34).await.unwrap(),
            ChatWritten::Conflict
        );
        assert_eq!(
            counts(&s.chat_inbox_counts().await.unwrap()),
            vec![("done", 1, 0), ("pending", 2, 2)],
            "{b:?}"
        );
        // Found taken in some other way: done by the processor, once.
        assert!(
            s.settle_chat_message(&o1, Settle::Done(()), 35)
                .await
                .unwrap()
        );
        assert!(
            !s.settle_chat_message(&o1, Settle::Done(()), 36)
                .await
                .unwrap()
        );
        assert_eq!(s.load_call("wa:55").await.unwrap().unwrap().seq, 1);
        assert_eq!(
            s.chat_reply_counts().await.unwrap(),
            vec![("pending".to_string(), 1)]
        );
        // Retention: rows kept before the cutoff go, whatever their status.
        assert_eq!(s.purge_chat(15).await.unwrap(), 2, "m1 and m2");
        assert_eq!(
            counts(&s.chat_inbox_counts().await.unwrap()),
            vec![("done", 1, 0)]
        );
    }
}

#[tokio::test]
async fn a_failed_message_is_tried_again_then_given_up_and_leases_run_out() {
    for db in all_dbs().await {
        let s = &db.store;
        let b = s.backend();
        s.keep_chat_messages(vec![kept("f1", "77"), kept("f2", "77")], 0)
            .await
            .unwrap();
        let c = s.claim_chat_message(100, 1000).await.unwrap().unwrap();
        assert_eq!((c.message_id.as_str(), c.attempts), ("f1", 0));
        // Tried again at 500: not before, and f2 still waits behind it.
        assert!(
            s.settle_chat_message(
                &c,
                Settle::RetryLater {
                    at: 500,
                    error: "again".into()
                },
                101
            )
            .await
            .unwrap()
        );
        assert!(
            !s.settle_chat_message(
                &c,
                Settle::RetryLater {
                    at: 500,
                    error: "again".into()
                },
                102
            )
            .await
            .unwrap()
        );
        assert!(
            s.claim_chat_message(499, 1000).await.unwrap().is_none(),
            "{b:?}"
        );
        let c = s.claim_chat_message(500, 1000).await.unwrap().unwrap();
        assert_eq!((c.message_id.as_str(), c.attempts), ("f1", 1));
        // Extended while at work; then the lease runs out: another processor
        // takes it over, and the first one's claim is lost.
        assert!(s.extend_chat_claim(&c, 1500, 600).await.unwrap());
        assert!(s.claim_chat_message(1499, 1000).await.unwrap().is_none());
        let taken = s.claim_chat_message(1500, 1000).await.unwrap().unwrap();
        assert_eq!(taken.message_id, "f1");
        assert!(!s.extend_chat_claim(&c, 3000, 1501).await.unwrap());
        assert!(
            !s.settle_chat_message(
                &c,
                Settle::RetryLater {
                    at: 2000,
                    error: "again".into()
                },
                1501
            )
            .await
            .unwrap()
        );
        // Given up: its content cleared, and f2 goes on.
        assert!(
            s.settle_chat_message(
                &taken,
                Settle::DeadLetter {
                    error: "given up".into()
                },
                1502
            )
            .await
            .unwrap()
        );
        assert_eq!(
            counts(&s.chat_inbox_counts().await.unwrap()),
            vec![("dead", 1, 0), ("pending", 1, 1)]
        );
        let f2 = s.claim_chat_message(1503, 60_000).await.unwrap().unwrap();
        assert_eq!(f2.message_id, "f2");
        // Released at shutdown: due again at once, the attempt not counted.
        assert!(
            s.settle_chat_message(
                &f2,
                Settle::Released {
                    at: 1503,
                    note: "interrupted by shutdown".into()
                },
                1503
            )
            .await
            .unwrap()
        );
        let f2 = s.claim_chat_message(1503, 60_000).await.unwrap().unwrap();
        assert_eq!((f2.message_id.as_str(), f2.attempts), ("f2", 0));
        // A restart on SQLite releases the dead process's claim at once; on
        // PostgreSQL another instance may hold it, so it runs out instead.
        let released = s.release_chat_claims(1504).await.unwrap();
        let again = s.claim_chat_message(1505, 60_000).await.unwrap();
        match b {
            Backend::Sqlite => {
                assert_eq!(released, 1);
                assert_eq!(again.unwrap().message_id, "f2");
            }
            Backend::Postgres => {
                assert_eq!(released, 0);
                assert!(again.is_none());
            }
        }
    }
}

#[tokio::test]
async fn two_instances_on_one_database_move_a_conversation_once_per_message() {
    for db in all_dbs().await {
        let a = &db.store;
        let b = Store::connect(&db.db.url).await.unwrap();
        let backend = a.backend();
        a.keep_chat_messages(vec![kept("t1", "88")], 0)
            .await
            .unwrap();
        // Both look at once: one claim.
        let (x, y) = tokio::join!(
            a.claim_chat_message(10, 1000),
            b.claim_chat_message(10, 1000)
        );
        let claimed = [x.unwrap(), y.unwrap()];
        assert_eq!(
            claimed.iter().filter(|c| c.is_some()).count(),
            1,
            "{backend:?}"
        );
        // Both take it in anyway (a lease ran out): one move, one set of replies.
        let (x, y) = tokio::join!(
            a.write_chat(write("t1", "88", None), 20),
            b.write_chat(write("t1", "88", None), 20)
        );
        let mut results = [x.unwrap(), y.unwrap()];
        results.sort_by_key(|r| format!("{r:?}"));
        assert!(
            results[1] == ChatWritten::Moved && results[0] != ChatWritten::Moved,
            "{backend:?}: {results:?}"
        );
        assert_eq!(
            a.chat_reply_counts().await.unwrap(),
            vec![("pending".to_string(), 1)]
        );
        assert_eq!(
            counts(&a.chat_inbox_counts().await.unwrap()),
            vec![("done", 1, 0)]
        );
    }
}
