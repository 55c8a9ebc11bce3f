//! A stalled database never holds a webhook past `IVR_STORE_BUDGET_MS`: the real
//! binary, on SQLite (the writer locked out by another connection's open write
//! transaction) and on PostgreSQL (the calls table locked, reads and writes).
//!
//! - the answer given while the database stalls comes within the budget, as a
//!   short hold ("Só um momento", a pause, a redirect to `/voice/resume`);
//! - a resume while it still stalls is another hold, within the budget again;
//! - once the database is back, the resume hears the next question, and the
//!   caller's answer was taken (nothing lost, nothing done twice);
//! - the holds are counted for operators.

use ozmap_ivr::Store;
use sqlx::{Connection, Executor};
use std::time::{Duration, Instant};
use test_support::TestDb;
use test_support::driver::{Doc, Phone, keys};
use test_support::proc::Service;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The budget the service is started with, and how long an answer may take
/// beyond it on a loaded test machine.
const BUDGET_MS: u64 = 500;
const SLACK: Duration = Duration::from_millis(700);

/// Another client's open transaction that stalls the service's store until
/// dropped with [`Lock::release`].
struct Lock(sqlx::AnyConnection);

impl Lock {
    async fn take(b: Backend, url: &str) -> Lock {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
        match b {
            // The writer's next commit waits for this write lock (its busy
            // timeout is 5 s); readers go on (WAL).
            Backend::Sqlite => conn.execute("BEGIN IMMEDIATE").await.expect("lock"),
            // Every read and write of `calls` waits.
            Backend::Postgres => {
                conn.execute("BEGIN").await.expect("begin");
                conn.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
                    .await
                    .expect("lock")
            }
        };
        Lock(conn)
    }

    async fn release(mut self) {
        self.0.execute("ROLLBACK").await.expect("release");
    }
}

async fn timed(phone: &mut Phone, doc: &Doc, answer: Option<&str>) -> (Doc, Duration) {
    let started = Instant::now();
    let next = match answer {
        Some(k) => phone.answer(doc, keys(k)).await,
        None => {
            let url = doc.redirect.clone().expect("a redirect");
            phone.post(&url, &[]).await
        }
    }
    .expect("an answer");
    (next, started.elapsed())
}

async fn a_stalled_store_holds_the_caller_and_loses_nothing(b: Backend) {
    let db = match b {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => match TestDb::postgres("stall").await {
            Some(db) => db,
            None => return,
        },
    };
    let sandbox = test_support::start_sandbox().await;
    let budget = BUDGET_MS.to_string();
    let svc = Service::start(
        crate::BIN,
        &db.url,
        &sandbox.base_url(),
        &[("IVR_STORE_BUDGET_MS", budget.as_str())],
    )
    .await;
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let greeting = phone.dial_in().await.unwrap();
    assert!(greeting.gather.is_some(), "{greeting:?}");

    let lock = Lock::take(b, &db.url).await;
    let budget = Duration::from_millis(BUDGET_MS);
    let (held, took) = timed(&mut phone, &greeting, Some("123*123")).await;
    assert!(took < budget + SLACK, "the answer took {took:?}");
    assert!(held.is_hold(), "a hold while the store stalls: {held:?}");
    assert!(held.text().contains("Só um momento"), "{}", held.text());
    let resume = held.redirect.clone().unwrap();
    assert!(resume.contains("/voice/resume?n=1"), "{resume}");

    // Still stalled: another hold, said without words this time.
    let (again, took) = timed(&mut phone, &held, None).await;
    assert!(took < budget + SLACK, "the resume took {took:?}");
    assert!(again.is_hold(), "{again:?}");
    assert!(again.said.is_empty(), "{again:?}");
    assert!(again.redirect.clone().unwrap().contains("n=2"));

    lock.release().await;
    // The work that was waiting is done (or about to be): the resume hears the
    // question that follows the code, as if nothing happened.
    let (next, _) = timed(&mut phone, &again, None).await;
    let next = phone.settle(next).await.unwrap();
    assert!(
        next.text().contains("O código é"),
        "the answer was taken: {}",
        next.text()
    );
    let store = Store::connect(&db.url).await.expect("the store");
    let stored = store.load_call(&phone.call_sid).await.unwrap().unwrap();
    assert_eq!(stored.seq, 2, "moved once");
    assert_eq!(
        stored.call.data.code.as_ref().map(|c| c.as_str()),
        Some("123|123")
    );

    // And the call goes on from there.
    let name = phone.answer(&next, keys("1")).await.unwrap();
    assert!(name.gather.is_some(), "{name:?}");

    let metrics = svc.metrics().await;
    let holds = metrics
        .lines()
        .find(|l| l.starts_with("ozmap_ivr_store_holds_total"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .expect("the holds metric");
    assert!(holds >= 2.0, "{holds} holds counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_stalled_store_holds_the_caller_and_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_stalled_store_holds_the_caller_and_loses_nothing(Backend::Postgres).await;
}
