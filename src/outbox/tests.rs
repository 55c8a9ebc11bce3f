//! The one loop against a queue in memory (retries with backoff then a dead
//! letter; the job in hand at shutdown released), and the fence of the
//! store's settles (a runner whose lease ran out changes nothing).

use super::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// One row in memory, claimed like a table's: due at `next_at`, fenced by a token.
#[derive(Default)]
struct Row {
    attempts: i64,
    next_at: i64,
    token: Option<u64>,
    dead: bool,
    last_error: Option<String>,
}

/// Every settle, with when it was asked for.
type Settles = Arc<Mutex<Vec<(i64, Settle<()>)>>>;

struct Mem {
    row: Arc<Mutex<Row>>,
    settles: Settles,
    ends: Arc<Mutex<Vec<Ended>>>,
    /// What each attempt answers; `None`: the attempt never ends.
    answer: Option<Failure>,
    next_token: Mutex<u64>,
}

struct MemJob {
    token: u64,
    attempts: i64,
}

fn now() -> i64 {
    crate::store::now_ms()
}

impl Jobs for Mem {
    type Job = MemJob;
    type Done = ();
    type Error = String;

    async fn claim(&self, now: i64, _lease_ms: i64) -> Result<Option<MemJob>, String> {
        let mut row = self.row.lock().unwrap();
        if row.dead || row.token.is_some() || row.next_at > now {
            return Ok(None);
        }
        let mut t = self.next_token.lock().unwrap();
        *t += 1;
        row.token = Some(*t);
        Ok(Some(MemJob {
            token: *t,
            attempts: row.attempts,
        }))
    }

    fn attempts(job: &MemJob) -> i64 {
        job.attempts
    }

    fn span(&self, job: &MemJob) -> tracing::Span {
        tracing::info_span!("mem", attempt = job.attempts + 1)
    }

    async fn attempt(&self, _job: &MemJob) -> Result<(), Failure> {
        match &self.answer {
            Some(f) => Err(f.clone()),
            None => std::future::pending().await,
        }
    }

    async fn settle(&self, job: &MemJob, how: Settle<()>) -> Result<bool, String> {
        self.settles.lock().unwrap().push((now(), how.clone()));
        let mut row = self.row.lock().unwrap();
        if row.token != Some(job.token) {
            return Ok(false);
        }
        row.token = None;
        match how {
            Settle::Done(()) => row.dead = true,
            Settle::RetryLater { at, error } => {
                row.attempts += 1;
                row.next_at = at;
                row.last_error = Some(error);
            }
            Settle::DeadLetter { error } => {
                row.attempts += 1;
                row.dead = true;
                row.last_error = Some(error);
            }
            Settle::Released { at, note } => {
                row.next_at = at;
                row.last_error = Some(note);
            }
        }
        Ok(true)
    }

    fn ended(&mut self, end: Ended, _took: Duration) {
        self.ends.lock().unwrap().push(end);
    }
}

fn mem(answer: Option<Failure>) -> Mem {
    Mem {
        row: Default::default(),
        settles: Default::default(),
        ends: Default::default(),
        answer,
        next_token: Mutex::new(0),
    }
}

fn settings() -> Settings {
    Settings {
        lease_ms: 10_000,
        max_attempts: 3,
        backoff_base_ms: 100,
        backoff_max_ms: 150,
        idle_poll_ms: 5,
        shutdown_grace_ms: 50,
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_dead_lettered() {
    let m = mem(Some(Failure::Retry("HTTP 503".into())));
    let (row, settles, ends) = (m.row.clone(), m.settles.clone(), m.ends.clone());
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(run(m, settings(), Arc::new(Notify::new()), rx));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !row.lock().unwrap().dead {
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // nothing more is claimed once it is dead
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let settles = settles.lock().unwrap().clone();
    assert_eq!(settles.len(), 3, "{settles:?}");
    // backoff: 100 ms then 200 ms capped at 150 ms, each ±20 %
    for ((asked, how), nominal) in settles[..2].iter().zip([100, 150]) {
        let Settle::RetryLater { at, error } = how else {
            panic!("{how:?}")
        };
        let delay = at - asked;
        assert!(
            (nominal - nominal / 5..=nominal + nominal / 5).contains(&delay),
            "{delay} vs {nominal}"
        );
        assert_eq!(error, "HTTP 503");
    }
    // the next attempt waited for the backoff
    assert!(settles[1].0 - settles[0].0 >= 80, "{settles:?}");
    assert_eq!(
        settles[2].1,
        Settle::DeadLetter {
            error: "HTTP 503 (after 3 attempts)".into()
        }
    );
    let row = row.lock().unwrap();
    assert_eq!(row.attempts, 3);
    assert_eq!(
        *ends.lock().unwrap(),
        vec![Ended::Failed, Ended::Failed, Ended::Failed]
    );
}

#[tokio::test]
async fn a_refused_job_is_a_dead_letter_at_once() {
    let m = mem(Some(Failure::Refused("HTTP 400".into())));
    let job = m.claim(now(), 1_000).await.unwrap().unwrap();
    assert_eq!(process(&m, &settings(), &job).await, Ended::Refused);
    let settles = m.settles.lock().unwrap().clone();
    assert_eq!(
        settles[0].1,
        Settle::DeadLetter {
            error: "HTTP 400".into()
        }
    );
    assert_eq!(m.row.lock().unwrap().attempts, 1);
}

#[tokio::test]
async fn the_job_in_hand_at_shutdown_is_released_after_the_grace() {
    let m = mem(None);
    let (row, settles, ends) = (m.row.clone(), m.settles.clone(), m.ends.clone());
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(run(m, settings(), Arc::new(Notify::new()), rx));
    let deadline = Instant::now() + Duration::from_secs(10);
    while row.lock().unwrap().token.is_none() {
        assert!(Instant::now() < deadline, "never claimed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let asked = Instant::now();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the loop stops after its grace")
        .unwrap();
    assert!(asked.elapsed() >= Duration::from_millis(50), "the grace");
    let settles = settles.lock().unwrap().clone();
    assert_eq!(settles.len(), 1, "{settles:?}");
    let (when, Settle::Released { at, note }) = &settles[0] else {
        panic!("{settles:?}")
    };
    assert_eq!(note, "interrupted by shutdown");
    assert!(at - when <= 1, "due again at once: {at} vs {when}");
    let row = row.lock().unwrap();
    assert_eq!((row.attempts, row.token, row.dead), (0, None, false));
    assert_eq!(*ends.lock().unwrap(), vec![Ended::Released]);
}

/// The store's fence, through the one vocabulary: a runner whose lease ran
/// out settles nothing, whatever it says, on the ledger and the WhatsApp outbox.
mod fenced {
    use super::*;
    use crate::store::{ChatWrite, LedgerStatus, MessageStatus, Store};
    use ivr_core::domain::{ClientCode, ReservationOutcome, ReservationRequest};
    use ivr_core::flow::Call;
    use ivr_core::tutorial;
    use test_support::TestDb;

    fn all_kinds() -> Vec<Settle<Option<String>>> {
        vec![
            Settle::Done(Some("late".into())),
            Settle::RetryLater {
                at: 1,
                error: "late".into(),
            },
            Settle::DeadLetter {
                error: "late".into(),
            },
            Settle::Released {
                at: 1,
                note: "late".into(),
            },
        ]
    }

    #[tokio::test]
    async fn a_whatsapp_reply_settled_after_a_lost_lease_is_unchanged() {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let write = ChatWrite {
            key: "wa:5548999990000".into(),
            wa_id: "5548999990000".into(),
            expected_seq: None,
            call: Call::new(None),
            message_id: None,
            reserve: None,
            replies: vec!["{}".into()],
        };
        store.write_chat(write, 1).await.unwrap();
        let first = store.claim_chat_reply(10, 1_000).await.unwrap().unwrap();
        assert!(store.claim_chat_reply(500, 1_000).await.unwrap().is_none());
        let second = store.claim_chat_reply(1_011, 1_000).await.unwrap().unwrap();
        assert_eq!(first.id, second.id);
        for how in all_kinds() {
            assert!(!store.settle_chat_reply(&first, how, 1_100).await.unwrap());
        }
        let r = store.chat_reply(first.id).await.unwrap().unwrap();
        assert_eq!((r.status, r.attempts), (MessageStatus::Sending, 0));
        assert_eq!((r.last_error, r.provider_id), (None, None));
        // the holder settles it
        let sent = Settle::Done(Some("wamid.1".into()));
        assert!(store.settle_chat_reply(&second, sent, 1_200).await.unwrap());
        let r = store.chat_reply(first.id).await.unwrap().unwrap();
        assert_eq!((r.status, r.attempts), (MessageStatus::Sent, 1));
        assert_eq!(r.provider_id.as_deref(), Some("wamid.1"));
        // and once settled, not again
        let again = Settle::DeadLetter {
            error: "again".into(),
        };
        assert!(
            !store
                .settle_chat_reply(&second, again, 1_300)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_ledger_row_settled_after_a_lost_lease_is_unchanged() {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let call = Call::new(None);
        store.create_call("CA1", &call, "x", 1).await.unwrap();
        let req = ReservationRequest {
            phone: None,
            protocol: None,
            ..tutorial::request_for(ClientCode::parse("123").unwrap())
        };
        store
            .advance_call("CA1", 1, &call, "y", Some(&req), 1)
            .await
            .unwrap();
        let first = store.claim_due(10, 1_000).await.unwrap().unwrap();
        let second = store.claim_due(1_011, 1_000).await.unwrap().unwrap();
        for how in [
            Settle::Done(ReservationOutcome::NotViable),
            Settle::RetryLater {
                at: 1,
                error: "late".into(),
            },
            Settle::DeadLetter {
                error: "late".into(),
            },
            Settle::Released {
                at: 1,
                note: "late".into(),
            },
        ] {
            assert!(
                !store
                    .settle_reservation(&first, how, None, 1_100)
                    .await
                    .unwrap()
            );
        }
        let r = store
            .reservation(first.reservation.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.status, r.attempts), (LedgerStatus::Pending, 0));
        assert_eq!(r.last_error, None);
        let retry: Settle<ReservationOutcome> = Settle::RetryLater {
            at: 5_000,
            error: "OZmap 503".into(),
        };
        assert!(
            store
                .settle_reservation(&second, retry, None, 1_200)
                .await
                .unwrap()
        );
        let r = store
            .reservation(first.reservation.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.status, r.attempts), (LedgerStatus::Pending, 1));
        assert_eq!(r.next_attempt_at, 5_000);
        assert!(store.claim_due(4_999, 1_000).await.unwrap().is_none());
        assert!(store.claim_due(5_000, 1_000).await.unwrap().is_some());
    }
}
