//! The outcome in the confirmation's own answer: the real binary (a child
//! process), the OZmap sandbox in the test, the step-by-step platform. With a
//! quick OZmap the caller's "yes" is answered with the box and port and no
//! `<Pause>`; with a slow one (the sandbox's injected delay) the hold comes, and
//! the polls lead to the same outcome.

use std::time::{Duration, Instant};
use test_support::TestDb;
use test_support::driver::{Phone, clients, keys};
use test_support::proc::Service;

/// A short step budget keeps the slow case quick to test.
const ENV: &[(&str, &str)] = &[("IVR_STEP_BUDGET_MS", "700")];

#[tokio::test]
async fn a_quick_ozmap_is_heard_in_the_answer_to_the_confirmation() {
    let db = TestDb::sqlite();
    let sandbox = test_support::start_sandbox().await;
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), ENV).await;
    let c = &clients(41, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    let answer = phone.answer(&confirm, keys("1")).await.unwrap();
    assert!(!answer.is_hold(), "no hold: {answer:?}");
    assert_eq!(answer.pause_s, 0, "no <Pause>: {answer:?}");
    assert!(answer.hangup, "{answer:?}");
    assert!(
        answer.text().contains("Reservamos a porta"),
        "{}",
        answer.text()
    );
    assert!(
        !answer.text().contains("Aguarde"),
        "no hold message: {}",
        answer.text()
    );
    assert_eq!(sandbox.property_posts(), 1);
    // A platform retry of the confirmation hears the same outcome.
    let action = confirm.gather.clone().unwrap();
    let again = phone
        .post_to(&action, &Phone::gathered(&keys("1")))
        .await
        .unwrap();
    assert_eq!(again.said, answer.said);
    assert!(again.hangup);
    assert_eq!(sandbox.property_posts(), 1);
}

#[tokio::test]
async fn a_slow_ozmap_gets_the_hold_then_the_outcome() {
    let db = TestDb::sqlite();
    let sandbox = test_support::start_sandbox().await;
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), ENV).await;
    let c = &clients(42, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    sandbox.faults().set_delay_ms(1_500);
    let t0 = Instant::now();
    let held = phone.answer(&confirm, keys("1")).await.unwrap();
    let took = t0.elapsed();
    assert!(held.is_hold(), "a hold: {held:?}");
    assert!(held.pause_s > 0, "{held:?}");
    assert!(held.text().contains("Aguarde"), "{}", held.text());
    // The webhook waited no longer than its budget (plus the machine's slack).
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_millis(1_400),
        "answered after {took:?}"
    );
    sandbox.faults().set_delay_ms(0);
    let end = phone.settle(held).await.unwrap();
    assert!(end.hangup, "{}", phone.heard_text());
    assert!(
        phone.heard_text().contains("Reservamos a porta"),
        "{}",
        phone.heard_text()
    );
}

#[tokio::test]
async fn a_copy_of_the_confirmation_that_got_the_hold_polls_into_the_outcome() {
    let db = TestDb::sqlite();
    let sandbox = test_support::start_sandbox().await;
    // A budget long enough for the slowed OZmap, even on a busy machine.
    let env = &[("IVR_STEP_BUDGET_MS", "4000")];
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), env).await;
    let c = &clients(43, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    // OZmap a little slow: the first copy waits; the second, sent meanwhile,
    // reads the hold stored with the ledger row.
    sandbox.faults().set_delay_ms(150);
    let action = confirm.gather.clone().unwrap();
    let form = Phone::gathered(&keys("1"));
    let mut twin = phone.twin();
    let first = phone.post_to(&action, &form);
    let second = async {
        tokio::time::sleep(Duration::from_millis(40)).await;
        twin.post_to(&action, &form).await
    };
    let (first, second) = tokio::join!(first, second);
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.hangup, "the first copy hears the outcome: {first:?}");
    assert!(second.is_hold(), "the second copy got the hold: {second:?}");
    let end = twin.settle(second).await.unwrap();
    assert!(end.hangup, "{end:?}");
    assert_eq!(end.said, first.said, "the poll hears the same outcome");
    assert_eq!(sandbox.property_posts(), 1);
}
