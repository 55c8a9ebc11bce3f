//! The outcome in writing: whole calls against the real service with a fake
//! Twilio messaging API on loopback that counts what it accepts. A call that
//! reserves gives exactly one SMS with the protocol, the box and the port;
//! OZmap down during the call and back later gives exactly one, with the
//! reservation; a number that takes no SMS gets none; a 4xx is a dead letter
//! operators see; and the real binary killed with SIGKILL between the
//! reservation and the SMS sends it once after the restart.

use ivr_core::domain::ReservationOutcome;
use ozmap_ivr::{MessageStatus, Reservation, Store};
use secrecy::SecretString;
use serde_json::Value;
use std::time::{Duration, Instant};
use test_support::driver::{PLATFORM_TOKEN, Phone, clients};
use test_support::proc::{ADMIN_TOKEN, Service};
use test_support::*;

pub(crate) use crate::fake_twilio::{AUTH_TOKEN, CALLER, FROM, FakeTwilio, Mode, SID, field};

fn happy_answers(code: &str) -> Vec<ivr_tools::caller::Answer> {
    vec![
        keys(code),
        keys("1"),
        say("gabriel marioto"),
        say(tutorial::SPOKEN_ADDRESS),
        keys("1"),
    ]
}

pub(crate) async fn spawn(fake: &FakeTwilio, extra: &[&str]) -> TestApp {
    let mut flags = fake.flags();
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestApp::spawn(&flags).await
}

/// A signed call (the Twilio auth token also checks the webhooks), from `from`.
pub(crate) async fn call(app: &TestApp, from: &str, code: &str) -> ivr_tools::caller::CallReport {
    let from = from.to_string();
    app.call_with(
        move |o| {
            o.auth_token = Some(SecretString::from(AUTH_TOKEN));
            o.from = from;
        },
        happy_answers(code),
    )
    .await
}

async fn store_of(app: &TestApp) -> Store {
    Store::connect(&app.db.url).await.expect("the test store")
}

pub(crate) async fn wait_done(store: &Store, n: usize) -> Vec<Reservation> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = store.list_reservations(None, 100).await.unwrap();
        if rows.len() == n && rows.iter().all(|r| r.outcome.is_some()) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "the ledger did not finish: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SMS text tells the protocol, the box and the port of the ledger row.
fn assert_tells_the_reservation(body: &str, row: &Reservation) {
    let protocol = row.request.protocol.as_deref().expect("a protocol");
    let Some(ReservationOutcome::Reserved(p)) = &row.outcome else {
        panic!("not reserved: {:?}", row.outcome)
    };
    let told = format!(
        "porta {} da caixa {}",
        p.port.expect("a port"),
        p.box_name.as_ref().expect("a box name")
    );
    assert!(
        body.contains(protocol),
        "protocol {protocol} not in {body:?}"
    );
    assert!(body.contains(&told), "{told:?} not in {body:?}");
}

#[tokio::test]
async fn a_call_that_reserves_gives_exactly_one_sms_with_protocol_box_and_port() {
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    let app = spawn(&fake, &[]).await;
    let report = call(&app, CALLER, "123*123").await;
    assert!(heard(&report).contains("Reservamos"), "{}", heard(&report));
    let store = store_of(&app).await;
    let rows = wait_done(&store, 1).await;
    let sent = fake.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(fake.requests().await, 1);
    assert_eq!(field(&sent[0], "To"), CALLER);
    assert_eq!(field(&sent[0], "From"), FROM);
    assert_tells_the_reservation(field(&sent[0], "Body"), &rows[0]);
    let messages = store.list_messages(None, 10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status, MessageStatus::Sent);
    assert_eq!(
        messages[0].provider_id.as_deref(),
        Some("SM00000000000000000000000000000001")
    );
}

#[tokio::test]
async fn ozmap_down_during_the_call_and_back_later_gives_one_sms_with_the_reservation() {
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    let app = spawn(&fake, &["--reserve-hold-ms=1500"]).await;
    app.sandbox.faults().set_fail_status(Some(503));
    let report = call(&app, CALLER, "123*123").await;
    assert!(
        heard(&report).contains("retornar a ligação"),
        "{}",
        heard(&report)
    );
    // the request is kept; nothing is said in writing before it has an outcome
    let store = store_of(&app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(store.list_messages(None, 10).await.unwrap().is_empty());
    assert_eq!(fake.requests().await, 0);
    app.sandbox.faults().set_fail_status(None);
    let rows = wait_done(&store, 1).await;
    let sent = fake.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(field(&sent[0], "To"), CALLER);
    assert_tells_the_reservation(field(&sent[0], "Body"), &rows[0]);
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn a_number_that_takes_no_sms_gets_none_and_no_error() {
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    let app = spawn(&fake, &[]).await;
    for (from, code) in [
        ("anonymous", "456"),
        ("+554833334444", "777"),
        ("+266696687", "31"),
    ] {
        let report = call(&app, from, code).await;
        assert!(
            !heard(&report).contains("problema técnico"),
            "{from}: {}",
            heard(&report)
        );
    }
    let store = store_of(&app).await;
    wait_done(&store, 3).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(store.list_messages(None, 10).await.unwrap().is_empty());
    assert_eq!(fake.requests().await, 0);
}

#[tokio::test]
async fn a_4xx_is_a_dead_letter_operators_see_with_the_number_masked() {
    const ADMIN: &str = "sms-admin-token-0123456789";
    let fake = FakeTwilio::start(Mode::Refuse, AUTH_TOKEN).await;
    let app = spawn(&fake, &[&format!("--admin-token={ADMIN}")]).await;
    call(&app, CALLER, "123*123").await;
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let listed: Vec<Value> = loop {
        let rows: Vec<Value> = http
            .get(format!("{}/admin/messages?status=dead", app.base_url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !rows.is_empty() {
            break rows;
        }
        assert!(Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(fake.turned_away(), 1, "a 4xx is not retried");
    let m = &listed[0];
    assert_eq!(m["status"], "dead");
    assert_eq!(m["kind"], "reserved");
    assert_eq!(m["phone"], "***…00");
    let error = m["last_error"].as_str().unwrap();
    assert!(error.contains("HTTP 400: 21211"), "{error}");
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains("99990000"), "the number leaks: {text}");
    // one by id, and the metric
    let one: Value = http
        .get(format!("{}/admin/messages/{}", app.base_url, m["id"]))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], m["id"]);
    let metrics = http
        .get(format!("{}/metrics", app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ozmap_ivr_messages{channel=\"sms\",status=\"dead\"} 1"),
        "{metrics}"
    );
    // the command line shows it too, and sends it back
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(crate::BIN)
            .arg("messages")
            .args(args)
            .env("IVR_DATABASE_URL", &app.db.url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = cli(&["list", "--status", "dead"]);
    assert!(table.contains("dead") && table.contains("21211"), "{table}");
    assert!(!table.contains("99990000"), "{table}");
    fake.set(Mode::Accept);
    let id = m["id"].to_string();
    assert!(cli(&["retry", &id]).contains("sent back"));
    let sent = fake.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1);
}

/// The real binary, killed with SIGKILL once the reservation is done and its
/// SMS written but not yet accepted by the provider (the API answers 503 until
/// then): after the restart the SMS goes out, once. On SQLite and PostgreSQL.
mod sigkill_between_the_reservation_and_the_sms_sends_it_once_after_the_restart {
    use test_support::TestDb;

    #[tokio::test]
    async fn sqlite() {
        super::sigkill_then_restart(TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(db) = TestDb::postgres("sms sigkill").await {
            super::sigkill_then_restart(db).await;
        }
    }
}

async fn sigkill_then_restart(db: TestDb) {
    let fake = FakeTwilio::start(Mode::Unavailable, PLATFORM_TOKEN).await;
    let sandbox = start_sandbox().await;
    let api = fake.server.uri();
    let mut svc = Service::start(
        crate::BIN,
        &db.url,
        &sandbox.base_url(),
        &[
            ("SMS_PROVIDER", "twilio"),
            ("SMS_FROM", FROM),
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_API_URL", &api),
        ],
    )
    .await;
    let client = &clients(7, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let end = phone.confirm_and_wait(&confirm).await.unwrap();
    assert!(end.text().contains("Reservamos"), "{}", phone.heard_text());
    let ledger = svc.wait_ledger_done(1, Duration::from_secs(20)).await;
    // the SMS is in the outbox and the provider has turned it away at least once
    let deadline = Instant::now() + Duration::from_secs(15);
    while fake.turned_away() == 0 {
        assert!(
            Instant::now() < deadline,
            "no SMS attempt; log:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    svc.kill();
    assert!(fake.accepted().is_empty());
    fake.set(Mode::Accept);
    svc.restart().await;
    let sent = fake.wait_accepted(1, Duration::from_secs(20)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(field(&sent[0], "To"), CALLER);
    let body = field(&sent[0], "Body");
    let protocol = ledger[0]["protocol"].as_str().expect("a protocol");
    let told = format!(
        "porta {} da caixa {}",
        ledger[0]["port"].as_i64().unwrap(),
        ledger[0]["box_name"].as_str().unwrap()
    );
    assert!(body.contains(protocol) && body.contains(&told), "{body}");
    // the operators' view agrees
    let rows: Vec<Value> = reqwest::Client::new()
        .get(format!("{}/admin/messages", svc.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "sent");
    assert_eq!(rows[0]["protocol"], protocol);
    assert_eq!(svc.kills, 1);
    assert!(!svc.log_text().contains(CALLER), "the number is in the log");
}
