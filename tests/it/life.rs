//! The reservation's life, for real: the `ozmap-ivr` binary (`serve`), the
//! OZmap sandbox and a fake Twilio messaging API on loopback. Time is moved by
//! backdating the ledger row's `reserved_at` in the test's database.
//!
//! - a reservation past `IVR_RESERVATION_DAYS` is released once: its property
//!   deleted in the sandbox, its port given to the next caller, one SMS;
//! - a reservation marked installed (`POST /admin/reservations/{id}/installed`)
//!   makes the sandbox's client implanted and is never released;
//! - SIGKILL between the DELETE (landed in OZmap) and its record: after the
//!   restart the row is released and the client gets one SMS (SQLite and
//!   PostgreSQL).

use crate::sms::{CALLER, FROM, FakeTwilio, Mode, SID, field};
use serde_json::Value;
use std::time::{Duration, Instant};
use test_support::TestDb;
use test_support::driver::{Client, Phone, clients};
use test_support::proc::{ADMIN_TOKEN, Service};
use test_support::start_sandbox;

const DAY_MS: i64 = 86_400_000;

async fn serve(db: &TestDb, sandbox: &str, fake: &FakeTwilio) -> Service {
    let api = fake.uri();
    Service::start(
        crate::BIN,
        &db.url,
        sandbox,
        &[
            ("SMS_PROVIDER", "twilio"),
            ("SMS_FROM", FROM),
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_API_URL", &api),
            ("IVR_RESERVATION_DAYS", "30"),
        ],
    )
    .await
}

/// One whole call that reserves for `client`.
async fn reserve(svc: &Service, client: &Client) {
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let end = phone.confirm_and_wait(&confirm).await.unwrap();
    assert!(end.text().contains("Reservamos"), "{}", phone.heard_text());
}

/// Moves every reservation `days` into the past.
async fn backdate(db: &TestDb, days: i64) {
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .expect("the test database");
    sqlx::query("UPDATE reservations SET reserved_at = reserved_at - $1")
        .bind(days * DAY_MS)
        .execute(&mut c)
        .await
        .expect("backdated");
}

async fn row_until(svc: &Service, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = svc.ledger().await;
        if let Some(r) = rows.iter().find(|r| ok(r)) {
            return r.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {rows:#?}\nlog:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bodies(fake: &FakeTwilio) -> Vec<String> {
    fake.accepted()
        .iter()
        .map(|f| field(f, "Body").to_string())
        .collect()
}

#[tokio::test]
async fn past_its_days_a_reservation_is_released_once_and_its_port_taken_by_the_next_caller() {
    let fake = FakeTwilio::start(Mode::Accept, test_support::driver::PLATFORM_TOKEN).await;
    let sandbox = start_sandbox().await;
    let db = TestDb::sqlite();
    let svc = serve(&db, &sandbox.base_url(), &fake).await;
    let first = clients(31, 1).remove(0);
    reserve(&svc, &first).await;
    let ledger = svc.wait_ledger_done(1, Duration::from_secs(20)).await;
    let (box_id, port) = (ledger[0]["box_id"].clone(), ledger[0]["port"].clone());
    fake.wait_accepted(1, Duration::from_secs(15)).await;
    // 29 days: kept.
    backdate(&db, 29).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(sandbox.live_properties().len(), 1);
    // 31 days: released.
    backdate(&db, 2).await;
    let row = row_until(&svc, "the row was not released", |r| {
        r["life_state"] == "released"
    })
    .await;
    assert!(row["life"]["released_at"].is_i64(), "{row}");
    assert!(
        sandbox.live_properties().is_empty(),
        "the port is free again"
    );
    let sent = fake.wait_accepted(2, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 2, "{:?}", bodies(&fake));
    let protocol = row["protocol"].as_str().unwrap();
    let released = field(&sent[1], "Body");
    assert!(
        released.contains(protocol) && released.contains("liberada"),
        "{released}"
    );
    assert_eq!(field(&sent[1], "To"), CALLER);
    // Another caller at the same address gets the freed port.
    let second = Client {
        code: format!("{}9", first.code),
        ..first
    };
    reserve(&svc, &second).await;
    let ledger = svc.wait_ledger_done(2, Duration::from_secs(20)).await;
    let newer = ledger
        .iter()
        .find(|r| r["life_state"].is_null())
        .expect("the second row");
    assert_eq!((&newer["box_id"], &newer["port"]), (&box_id, &port));
    // Nothing more is released or sent.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(sandbox.live_properties().len(), 1);
    assert_eq!(
        fake.wait_accepted(3, Duration::from_secs(15)).await.len(),
        3
    );
    assert_eq!(svc.count_in_log("reservation released"), 1);
    assert!(!svc.log_text().contains(CALLER), "the number is in the log");
}

#[tokio::test]
async fn an_installed_reservation_is_implanted_in_ozmap_and_never_released() {
    let fake = FakeTwilio::start(Mode::Accept, test_support::driver::PLATFORM_TOKEN).await;
    let sandbox = start_sandbox().await;
    let db = TestDb::sqlite();
    let svc = serve(&db, &sandbox.base_url(), &fake).await;
    let client = clients(32, 1).remove(0);
    reserve(&svc, &client).await;
    let ledger = svc.wait_ledger_done(1, Duration::from_secs(20)).await;
    let id = ledger[0]["id"].as_i64().unwrap();
    assert!(!sandbox.client_implanted()[0].1);
    let http = reqwest::Client::new();
    let url = format!("{}/admin/reservations/{id}/installed", svc.base);
    let r = http.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 401, "operators only");
    let r = http
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"], "marked");
    row_until(&svc, "the client was not implanted", |r| {
        r["life_state"] == "implanted"
    })
    .await;
    assert!(sandbox.client_implanted()[0].1);
    // A release is refused, and its age never releases it.
    let release = format!("{}/admin/reservations/{id}/release", svc.base);
    let r = http
        .post(&release)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    backdate(&db, 400).await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(sandbox.live_properties().len(), 1);
    assert_eq!(svc.ledger().await[0]["life_state"], "implanted");
    assert_eq!(
        fake.wait_accepted(1, Duration::from_secs(15)).await.len(),
        1
    );
}

mod sigkill_between_the_delete_and_the_record_tells_the_client_once {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        super::sigkill_between(TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(db) = TestDb::postgres("life sigkill").await {
            super::sigkill_between(db).await;
        }
    }
}

async fn sigkill_between(db: TestDb) {
    let fake = FakeTwilio::start(Mode::Accept, test_support::driver::PLATFORM_TOKEN).await;
    let sandbox = start_sandbox().await;
    let mut svc = serve(&db, &sandbox.base_url(), &fake).await;
    let client = clients(33, 1).remove(0);
    reserve(&svc, &client).await;
    svc.wait_ledger_done(1, Duration::from_secs(20)).await;
    fake.wait_accepted(1, Duration::from_secs(15)).await;
    // The DELETE lands in OZmap and its answer never comes: killed then.
    sandbox.faults().set_delete_hang_after_commit(true);
    backdate(&db, 31).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sandbox.live_properties().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no DELETE; log:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    svc.kill();
    assert!(unreleased(&db).await, "the record came before the kill");
    sandbox.faults().reset();
    svc.restart().await;
    let row = row_until(&svc, "not released after the restart", |r| {
        r["life_state"] == "released"
    })
    .await;
    let sent = fake.wait_accepted(2, Duration::from_secs(20)).await;
    assert_eq!(sent.len(), 2, "{:?}", bodies(&fake));
    assert!(field(&sent[1], "Body").contains(row["protocol"].as_str().unwrap()));
    assert_eq!(svc.kills, 1);
}

/// Whether the row is still unreleased, read straight from the database
/// while the service is down.
async fn unreleased(db: &TestDb) -> bool {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .expect("the test database");
    let r = sqlx::query("SELECT released_at FROM reservations")
        .fetch_one(&mut c)
        .await
        .expect("the row");
    r.try_get::<Option<i64>, _>("released_at")
        .unwrap()
        .is_none()
}

/// `ozmap-ivr reservations …` on the service's database.
fn cli(db: &TestDb, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(crate::BIN)
        .arg("reservations")
        .args(args)
        .env("IVR_DATABASE_URL", &db.url)
        .output()
        .expect("run ozmap-ivr reservations");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn an_operator_releases_a_reservation_at_once_from_the_command_line() {
    let fake = FakeTwilio::start(Mode::Accept, test_support::driver::PLATFORM_TOKEN).await;
    let sandbox = start_sandbox().await;
    let db = TestDb::sqlite();
    let svc = serve(&db, &sandbox.base_url(), &fake).await;
    let client = clients(34, 1).remove(0);
    reserve(&svc, &client).await;
    svc.wait_ledger_done(1, Duration::from_secs(20)).await;
    let (ok, text) = cli(&db, &["release", "no-such-code"]);
    assert!(!ok, "{text}");
    let (ok, text) = cli(&db, &["release", &client.code]);
    assert!(ok && text.contains("to be released"), "{text}");
    let (ok, text) = cli(&db, &["release", &client.code]);
    assert!(ok && text.contains("already asked"), "{text}");
    row_until(&svc, "the row was not released", |r| {
        r["life_state"] == "released"
    })
    .await;
    assert!(sandbox.live_properties().is_empty());
    let (ok, text) = cli(&db, &["installed", &client.code]);
    assert!(!ok && text.contains("already released"), "{text}");
    let (ok, text) = cli(&db, &["list"]);
    assert!(ok && text.contains("released"), "{text}");
    assert_eq!(
        fake.wait_accepted(2, Duration::from_secs(15)).await.len(),
        2
    );
}
