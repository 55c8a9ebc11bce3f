//! The greeting writes nothing: the real binary (a child process) on SQLite and
//! on PostgreSQL, the step-by-step platform signing every URL as Twilio does.
//!
//! - a repeated greeting answers the same (the same protocol), and no call row
//!   exists until the first answer;
//! - a restart between the greeting and the first answer loses nothing: the
//!   first answer, whose URL carries the protocol, finds the call as greeted;
//! - a status callback before any answer stores the call with its protocol;
//! - the per-number limit on new calls still holds (in memory).

use ozmap_ivr::Store;
use test_support::TestDb;
use test_support::driver::{Doc, Phone, keys};
use test_support::proc::Service;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

async fn db(b: Backend, test: &str) -> Option<TestDb> {
    match b {
        Backend::Sqlite => Some(TestDb::sqlite()),
        Backend::Postgres => TestDb::postgres(test).await,
    }
}

/// The protocol the greeting's answer URL carries.
fn protocol_of(doc: &Doc) -> String {
    let action = doc.gather.clone().expect("the greeting asks the code");
    let url = url::Url::parse(&action).expect("an absolute URL");
    url.query_pairs()
        .find(|(k, _)| k == "protocol")
        .map(|(_, v)| v.to_string())
        .expect("the protocol in the greeting's URL")
}

async fn calls_stored(store: &Store) -> i64 {
    store.count_calls().await.expect("count calls")
}

async fn a_repeated_greeting_answers_the_same_and_stores_nothing(b: Backend) {
    let Some(db) = db(b, "greeting_repeated").await else {
        return;
    };
    let sandbox = test_support::start_sandbox().await;
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), &[]).await;
    let store = Store::connect(&db.url).await.expect("the store");
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let first = phone.dial_in().await.unwrap();
    let again = phone.dial_in().await.unwrap();
    assert_eq!(first.said, again.said);
    assert_eq!(
        first.gather, again.gather,
        "the same URLs, the same protocol"
    );
    let protocol = protocol_of(&first);
    assert_eq!(calls_stored(&store).await, 0, "the greeting wrote no call");
    // The first answer stores the call, with the protocol it was greeted with.
    let next = phone.answer(&first, keys("123*123")).await.unwrap();
    assert!(next.text().contains("O código é"), "{}", next.text());
    assert_eq!(calls_stored(&store).await, 1);
    let stored = store.load_call(&phone.call_sid).await.unwrap().unwrap();
    assert_eq!(
        stored.call.data.protocol.as_deref(),
        Some(protocol.as_str())
    );
    assert_eq!(stored.seq, 2);
    // A greeting after the call is stored asks the current question again.
    let later = phone.dial_in().await.unwrap();
    assert!(later.text().contains("O código é"), "{}", later.text());
}

async fn a_restart_between_the_greeting_and_the_first_answer_loses_nothing(b: Backend) {
    let Some(db) = db(b, "greeting_restart").await else {
        return;
    };
    let sandbox = test_support::start_sandbox().await;
    let mut svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), &[]).await;
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let greeting = phone.dial_in().await.unwrap();
    let protocol = protocol_of(&greeting);
    svc.kill();
    svc.restart().await;
    let next = phone.answer(&greeting, keys("123*123")).await.unwrap();
    assert!(
        next.text().contains("O código é"),
        "the answer is taken as if nothing happened: {}",
        next.text()
    );
    let store = Store::connect(&db.url).await.expect("the store");
    let stored = store.load_call(&phone.call_sid).await.unwrap().unwrap();
    assert_eq!(
        stored.call.data.protocol.as_deref(),
        Some(protocol.as_str())
    );
    // The next greeting after the restart gets a new, different protocol.
    let mut other = Phone::new(std::slice::from_ref(&svc.base));
    let second = other.dial_in().await.unwrap();
    assert_ne!(protocol_of(&second), protocol);
}

async fn a_status_callback_first_stores_the_greeted_call(b: Backend) {
    let Some(db) = db(b, "greeting_status").await else {
        return;
    };
    let sandbox = test_support::start_sandbox().await;
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), &[]).await;
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let greeting = phone.dial_in().await.unwrap();
    let protocol = protocol_of(&greeting);
    let status = format!("{}/voice/status", svc.base);
    phone
        .post_to(
            &status,
            &[("CallStatus".to_string(), "completed".to_string())],
        )
        .await
        .unwrap();
    let store = Store::connect(&db.url).await.expect("the store");
    let stored = store.load_call(&phone.call_sid).await.unwrap().unwrap();
    assert_eq!(
        stored.call.data.protocol.as_deref(),
        Some(protocol.as_str())
    );
}

async fn the_new_call_limit_per_number_still_holds(b: Backend) {
    let Some(db) = db(b, "greeting_limit").await else {
        return;
    };
    let sandbox = test_support::start_sandbox().await;
    let env = &[("IVR_RATE_CALLS_PER_MINUTE", "2")];
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), env).await;
    let mut said = Vec::new();
    for _ in 0..3 {
        let mut phone = Phone::new(std::slice::from_ref(&svc.base));
        said.push(phone.dial_in().await.unwrap());
    }
    assert!(said[0].gather.is_some() && said[1].gather.is_some());
    assert!(
        said[2].gather.is_none(),
        "the third new call is refused: {:?}",
        said[2]
    );
    assert!(said[2].hangup);
    // A repeated greeting of an admitted call is not a new call.
    let store = Store::connect(&db.url).await.expect("the store");
    assert_eq!(calls_stored(&store).await, 0);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    )*};
}

on_both_backends!(
    a_repeated_greeting_answers_the_same_and_stores_nothing,
    a_restart_between_the_greeting_and_the_first_answer_loses_nothing,
    a_status_callback_first_stores_the_greeted_call,
    the_new_call_limit_per_number_still_holds,
);
