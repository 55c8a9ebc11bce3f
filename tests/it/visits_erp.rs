//! The ERP agendas (`SCHEDULE=http`, `SCHEDULE=ixc`) end to end: the real
//! service (in process, or the binary where a restart is needed), the OZmap
//! sandbox, a fake SMS API and a loopback fake of the ERP (`erp_fakes`) that
//! counts what it was really sent.
//!
//! - the caller hears the ERP's free periods (a full one is not offered),
//!   chooses the first; the ERP gets one booking with that period, the SMS
//!   names the visit, once;
//! - the ERP down at the choice: the caller still hears the visit booked, the
//!   outbox retries, the ERP ends with one booking; one SMS;
//! - the ERP refuses (422): a dead letter operators see with the reason, sent
//!   again by `POST /admin/visits/{p}/retry` once the ERP is fixed: one booking;
//! - an operator's move and cancel reach the ERP on the same work order;
//! - the ERP down at the offer: the caller hears the team will call, and the
//!   SMS, sent at once, says the same;
//! - a slow ERP at the offer is given up within `SCHEDULE_TIMEOUT_MS`;
//! - a period the ERP filled between the offer and the choice (409): a dead
//!   letter, booked in the ERP once an operator moves it.
//!
//! Two instances racing, the ERP reporting visits done or cancelled, a SIGKILL
//! while the ERP answers, and `SCHEDULE=ixc` are in `visits_erp_life`.

use crate::erp_fakes::{
    ContractErp, Held, Mode, contract_flags, flags, period, protocol_of, said, visit_until,
};
use crate::sms::{AUTH_TOKEN, CALLER, FakeTwilio, Mode as SmsMode, field};
use crate::visits::{first_offered, to_the_offer};
use serde_json::Value;
use std::time::{Duration, Instant};
use test_support::driver::{PLATFORM_TOKEN, Phone, clients, keys as press};
use test_support::*;

fn bodies(fake: &FakeTwilio) -> Vec<String> {
    fake.accepted()
        .iter()
        .map(|f| field(f, "Body").to_string())
        .collect()
}

const ADMIN: &str = "erp-e2e-admin-token-8812";

#[tokio::test]
async fn the_caller_hears_the_erps_free_periods_and_the_erp_gets_one_booking() {
    let (server, erp) = ContractErp::start(vec![
        // Full in the ERP: never offered.
        period(0, "morning", 2, 2),
        period(0, "afternoon", 4, 1),
        period(1, "morning", 3, 0),
    ])
    .await;
    let sms = FakeTwilio::start(SmsMode::Accept, AUTH_TOKEN).await;
    let owned = contract_flags(&server);
    let admin = format!("--admin-token={ADMIN}");
    let app = crate::sms::spawn(
        &sms,
        &flags(&owned, &["--schedule-sms-hold-s=3600", &admin]),
    )
    .await;
    let mut answers = to_the_offer("123*123");
    answers.push(keys("1"));
    let report = app
        .call_with(
            |o| {
                o.auth_token = Some(secrecy::SecretString::from(AUTH_TOKEN));
                o.from = CALLER.to_string();
            },
            answers,
        )
        .await;
    let heard = heard(&report);
    let (d0, d1) = (erp.day(0), erp.day(1));
    let first = first_offered(&heard);
    assert!(first.ends_with(&said(d0, "afternoon")), "{heard}");
    assert!(!heard.contains(&said(d0, "morning")), "full: {heard}");
    assert!(heard.contains(&said(d1, "morning")), "{heard}");
    assert!(
        heard.contains(&format!("A visita do técnico está agendada para {first}.")),
        "{heard}"
    );

    let held = erp.wait_visits(1, Duration::from_secs(20)).await;
    let protocol = protocol_of(&app.base_url, ADMIN).await;
    let v = &held[&protocol];
    assert_eq!(
        (v.day.as_str(), v.period.as_str()),
        (d0.to_string().as_str(), "afternoon")
    );
    assert_eq!(v.body["client_code"], "123|123", "{}", v.body);
    assert_eq!(v.body["box"], "CTO-AGR-01", "{}", v.body);
    assert!(v.body["port"].is_i64(), "{}", v.body);
    assert_eq!(v.body["phone"], CALLER);
    {
        let s = erp.state();
        assert_eq!(s.puts.len(), 1, "one PUT: {:?}", s.puts);
        assert_eq!(s.created, 1);
    }
    let row = visit_until(
        &app.base_url,
        ADMIN,
        d0,
        &protocol,
        "booked in the ERP",
        |v| v["erp_status"] == "done",
    )
    .await;
    assert_eq!(row["erp_ref"], v.reference.as_str(), "{row}");

    let sent = sms.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    let text = field(&sent[0], "Body");
    assert!(text.contains(&protocol), "{text}");
    assert!(
        text.contains(&format!("Visita do técnico: {first}.")),
        "{text}"
    );
}

#[tokio::test]
async fn the_erp_down_at_the_choice_still_books_and_the_outbox_delivers_once() {
    let (server, erp) = ContractErp::start(vec![
        period(0, "morning", 4, 0),
        period(0, "afternoon", 4, 0),
    ])
    .await;
    let sms = FakeTwilio::start(SmsMode::Accept, PLATFORM_TOKEN).await;
    let owned = contract_flags(&server);
    let admin = format!("--admin-token={ADMIN}");
    let platform = format!("--twilio-auth-token={PLATFORM_TOKEN}");
    let more = [
        "--schedule-sms-hold-s=3600",
        "--retry-base-ms=300",
        &admin,
        &platform,
    ];
    let app = crate::sms::spawn(&sms, &flags(&owned, &more)).await;
    let client = &clients(52, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let offer = phone.confirm_and_wait(&confirm).await.unwrap();
    assert!(offer.gather.is_some(), "{}", phone.heard_text());
    let first = first_offered(&offer.text());

    // The ERP goes down between the offer and the choice.
    erp.set_mode(Mode::Down);
    let end = phone.answer(&offer, press("1")).await.unwrap();
    let end = phone.settle(end).await.unwrap();
    assert!(
        end.text()
            .contains(&format!("A visita do técnico está agendada para {first}.")),
        "{}",
        phone.heard_text()
    );
    let protocol = protocol_of(&app.base_url, ADMIN).await;
    let d0 = erp.day(0);
    let row = visit_until(&app.base_url, ADMIN, d0, &protocol, "retried", |v| {
        v["erp_attempts"].as_i64().unwrap_or(0) >= 2
    })
    .await;
    assert_eq!(row["erp_status"], "pending", "{row}");
    assert!(erp.state().turned_away >= 2);
    assert!(erp.state().visits.is_empty());

    erp.set_mode(Mode::Up);
    let held = erp.wait_visits(1, Duration::from_secs(40)).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[&protocol].day, d0.to_string());
    assert_eq!(erp.state().puts.len(), 1, "one booking");
    visit_until(&app.base_url, ADMIN, d0, &protocol, "delivered", |v| {
        v["erp_status"] == "done"
    })
    .await;
    let sent = sms.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    assert!(
        bodies(&sms)[0].contains(&format!("Visita do técnico: {first}.")),
        "{:?}",
        bodies(&sms)
    );
}

#[tokio::test]
async fn a_refused_booking_is_a_dead_letter_an_operator_sends_again() {
    let (server, erp) = ContractErp::start(vec![period(0, "morning", 4, 0)]).await;
    erp.set_mode(Mode::Refusing);
    let owned = contract_flags(&server);
    let admin = format!("--admin-token={ADMIN}");
    let app = TestApp::spawn(&flags(&owned, &[&admin, "--retry-base-ms=300"])).await;
    let mut answers = to_the_offer("124*1");
    answers.push(keys("1"));
    let heard = heard(&app.call(answers).await);
    assert!(
        heard.contains("A visita do técnico está agendada para"),
        "{heard}"
    );
    let protocol = protocol_of(&app.base_url, ADMIN).await;
    let d0 = erp.day(0);
    let row = visit_until(&app.base_url, ADMIN, d0, &protocol, "a dead letter", |v| {
        v["erp_status"] == "dead"
    })
    .await;
    let why = row["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("422"), "{row}");
    // A refusal is not retried by itself.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(erp.state().refused, 1, "asked once");
    assert!(erp.state().visits.is_empty());

    // The CLI shows the same dead letter and its reason.
    let out = std::process::Command::new(crate::BIN)
        .env_clear()
        .args(["visits", "list", "--json", "--from", &d0.to_string()])
        .arg(format!("--database-url={}", app.db.url))
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(listed["visits"][0]["erp_status"], "dead", "{listed}");
    assert!(
        listed["visits"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("422")),
        "{listed}"
    );

    erp.set_mode(Mode::Up);
    let r = reqwest::Client::new()
        .post(format!("{}/admin/visits/{protocol}/retry", app.base_url))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let held = erp.wait_visits(1, Duration::from_secs(20)).await;
    assert_eq!(held[&protocol].period, "morning");
    assert_eq!(erp.state().puts.len(), 1, "one booking");
    let row = visit_until(&app.base_url, ADMIN, d0, &protocol, "sent again", |v| {
        v["erp_status"] == "done"
    })
    .await;
    assert_eq!(row["erp_ref"], held[&protocol].reference.as_str());
    // Not dead any more: a second retry is refused.
    let r = reqwest::Client::new()
        .post(format!("{}/admin/visits/{protocol}/retry", app.base_url))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

async fn act(app: &TestApp, protocol: &str, action: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/admin/visits/{protocol}/{action}", app.base_url))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits until the ERP's visit of `protocol` satisfies `ok`.
async fn held_until(erp: &ContractErp, protocol: &str, what: &str, ok: impl Fn(&Held) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if erp.state().visits.get(protocol).is_some_and(&ok) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {:?}",
            erp.state().visits
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_operators_move_and_cancel_reach_the_erp_on_the_same_work_order() {
    let (server, erp) = ContractErp::start(vec![
        period(0, "morning", 4, 0),
        period(1, "afternoon", 4, 0),
    ])
    .await;
    let owned = contract_flags(&server);
    let admin = format!("--admin-token={ADMIN}");
    let app = TestApp::spawn(&flags(&owned, &[&admin, "--retry-base-ms=300"])).await;
    let mut answers = to_the_offer("127*1");
    answers.push(keys("1"));
    let heard = heard(&app.call(answers).await);
    assert!(
        heard.contains("A visita do técnico está agendada para"),
        "{heard}"
    );
    let protocol = protocol_of(&app.base_url, ADMIN).await;
    let (d0, d1) = (erp.day(0), erp.day(1));
    visit_until(&app.base_url, ADMIN, d0, &protocol, "booked", |v| {
        v["erp_status"] == "done"
    })
    .await;

    let to = serde_json::json!({"day": d1.to_string(), "period": "tarde"});
    let (status, body) = act(&app, &protocol, "move", to).await;
    assert_eq!(status, 200, "{body}");
    held_until(&erp, &protocol, "moved in the ERP", |v| {
        v.day == d1.to_string() && v.period == "afternoon"
    })
    .await;
    let v = visit_until(&app.base_url, ADMIN, d0, &protocol, "moved", |v| {
        v["erp_status"] == "done" && v["day"] == d1.to_string()
    })
    .await;
    assert_eq!(v["erp_ref"], "OS-1", "{v}");
    {
        let s = erp.state();
        assert_eq!((s.created, s.puts.len()), (1, 2), "{:?}", s.puts);
        assert_eq!(s.puts[1].1["reference"], "OS-1", "the move names the order");
    }

    let (status, body) = act(&app, &protocol, "cancel", serde_json::json!({})).await;
    assert_eq!(status, 200, "{body}");
    held_until(&erp, &protocol, "cancelled in the ERP", |v| {
        v.status == "cancelled"
    })
    .await;
    let v = visit_until(&app.base_url, ADMIN, d0, &protocol, "cancelled", |v| {
        v["erp_status"] == "cancelled"
    })
    .await;
    assert_eq!(v["status"], "cancelled", "{v}");
    assert_eq!(erp.state().created, 1);
}

#[tokio::test]
async fn the_erp_down_at_the_offer_says_the_team_will_call_and_the_sms_goes_at_once() {
    let (server, erp) = ContractErp::start(vec![period(0, "morning", 4, 0)]).await;
    erp.set_mode(Mode::Down);
    let sms = FakeTwilio::start(SmsMode::Accept, AUTH_TOKEN).await;
    let owned = contract_flags(&server);
    let admin = format!("--admin-token={ADMIN}");
    let app = crate::sms::spawn(
        &sms,
        &flags(&owned, &["--schedule-sms-hold-s=3600", &admin]),
    )
    .await;
    let report = app
        .call_with(
            |o| {
                o.auth_token = Some(secrecy::SecretString::from(AUTH_TOKEN));
                o.from = CALLER.to_string();
            },
            to_the_offer("128*1"),
        )
        .await;
    let heard = heard(&report);
    assert!(heard.contains("Reservamos a porta"), "{heard}");
    assert!(
        heard.contains("Não consegui consultar a agenda agora."),
        "{heard}"
    );
    assert!(!heard.contains("tecle 1."), "no offer: {heard}");
    assert!(erp.state().turned_away >= 1);
    // Held an hour for the caller's choice: there is none, it goes now.
    let sent = sms.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = field(&sent[0], "Body");
    assert!(!text.contains("Visita do técnico:"), "{text}");
    // What the caller heard: the team calls (not "call us again").
    assert!(
        text.contains("Nossa equipe vai ligar para agendar a visita do técnico."),
        "{text}"
    );
    assert!(!text.contains("ligue de novo"), "{text}");
    assert!(erp.state().visits.is_empty());
}

#[tokio::test]
async fn a_slow_erp_at_the_offer_is_given_up_within_the_timeout() {
    let (server, erp) = ContractErp::start(vec![period(0, "morning", 4, 0)]).await;
    erp.state().slots_delay = Some(Duration::from_secs(5));
    let owned = contract_flags(&server);
    let app = TestApp::spawn(&flags(&owned, &["--schedule-timeout-ms=800"])).await;
    let started = Instant::now();
    let heard = heard(&app.call(to_the_offer("129*1")).await);
    assert!(
        heard.contains("Não consegui consultar a agenda agora."),
        "{heard}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(erp.state().visits.is_empty());
}

#[tokio::test]
async fn a_period_the_erp_filled_meanwhile_is_a_dead_letter_an_operator_moves() {
    let (server, erp) = ContractErp::start(vec![
        period(0, "morning", 2, 0),
        period(0, "afternoon", 2, 0),
    ])
    .await;
    let owned = contract_flags(&server);
    let admin = format!("--admin-token={ADMIN}");
    let app = TestApp::spawn(&flags(&owned, &[&admin, "--retry-base-ms=300"])).await;
    let client = &clients(56, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let offer = phone.confirm_and_wait(&confirm).await.unwrap();
    let d0 = erp.day(0);
    assert!(first_offered(&offer.text()).ends_with(&said(d0, "morning")));
    // The ERP's own team takes the morning's places before the caller chooses.
    erp.state().periods[0].taken = 2;
    let end = phone.answer(&offer, press("1")).await.unwrap();
    assert!(
        end.text()
            .contains("A visita do técnico está agendada para"),
        "{}",
        phone.heard_text()
    );
    let protocol = protocol_of(&app.base_url, ADMIN).await;
    let v = visit_until(&app.base_url, ADMIN, d0, &protocol, "a dead letter", |v| {
        v["erp_status"] == "dead"
    })
    .await;
    assert!(
        v["last_error"].as_str().is_some_and(|e| e.contains("409")),
        "{v}"
    );
    assert!(erp.state().visits.is_empty());

    // The operator moves it to a period the ERP has: it reaches the ERP.
    let to = serde_json::json!({"day": d0.to_string(), "period": "tarde"});
    let (status, body) = act(&app, &protocol, "move", to).await;
    assert_eq!(status, 200, "{body}");
    held_until(&erp, &protocol, "booked after the move", |v| {
        v.period == "afternoon"
    })
    .await;
    visit_until(&app.base_url, ADMIN, d0, &protocol, "booked", |v| {
        v["erp_status"] == "done"
    })
    .await;
    assert_eq!(erp.state().created, 1);
}
