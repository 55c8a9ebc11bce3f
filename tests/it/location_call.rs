//! The call's side of the link by SMS (issue 26), black-box over HTTP: the
//! caller presses the link key (or says "sem número" and accepts), a fake
//! Twilio receives one SMS with the link, a position near a sandbox box is
//! posted to `/l/{token}` while the call waits, and the call reads the
//! address back and reserves; the same after the caller hung up (the ledger
//! row and the outcome SMS follow, and a late poll does not reserve twice);
//! a caller on a landline is never offered the link; and one call through
//! jambonz, every answer checked by its validator.

use crate::location_link::HOUSE;
use crate::sms::{FROM, FakeTwilio, Mode, SID};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use test_support::driver::{self, Doc, PLATFORM_TOKEN, Phone, keys, words};
use test_support::*;

async fn app(fake: &FakeTwilio) -> TestApp {
    let flags = [
        "--sms-provider=twilio".to_string(),
        format!("--sms-from={FROM}"),
        format!("--twilio-account-sid={SID}"),
        format!("--twilio-api-url={}", fake.uri()),
        format!("--twilio-auth-token={PLATFORM_TOKEN}"),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestApp::spawn(&flags).await
}

/// Greeting, code, name: the address question.
async fn to_address(phone: &mut Phone, code: &str) -> Doc {
    let d = phone.dial_in().await.unwrap();
    let d = phone.answer(&d, keys(code)).await.unwrap();
    let d = phone.answer(&d, keys("1")).await.unwrap();
    phone.answer(&d, words("Maria da Silva")).await.unwrap()
}

/// The link in the one SMS the fake received.
fn link_in(fake: &FakeTwilio) -> String {
    let sent = fake.accepted();
    assert_eq!(sent.len(), 1, "one SMS: {sent:?}");
    let body = crate::sms::field(&sent[0], "Body");
    assert_eq!(crate::sms::field(&sent[0], "To"), "+5548999990000");
    let url = body
        .split_whitespace()
        .find(|w| w.contains("/l/"))
        .unwrap_or_else(|| panic!("no link in {body}"));
    url.to_string()
}

async fn post_position(url: &str) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&json!({ "lat": HOUSE.0, "lng": HOUSE.1, "accuracy": 12.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Silences at the wait (each the poll) until the address is read back.
async fn wait_for_read_back(phone: &mut Phone, mut d: Doc) -> Doc {
    for _ in 0..20 {
        if d.text().contains("Recebi a localização") {
            return d;
        }
        let silence = d
            .redirect
            .clone()
            .expect("the wait falls through to a poll");
        d = phone.post(&silence, &[]).await.unwrap();
    }
    panic!("never read back: {}", phone.heard_text());
}

async fn store(app: &TestApp) -> ozmap_ivr::Store {
    ozmap_ivr::Store::connect(&app.db.url).await.unwrap()
}

#[tokio::test]
async fn key_8_sends_the_link_and_the_held_call_reserves_at_the_house() {
    let fake = FakeTwilio::start(Mode::Accept, PLATFORM_TOKEN).await;
    let app = app(&fake).await;
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let code = &driver::clients(83, 1)[0].code;
    let d = to_address(&mut phone, code).await;
    assert!(d.text().contains("tecle 8"), "{}", d.text());
    let d = phone.answer(&d, keys("8")).await.unwrap();
    assert!(
        d.text().contains("Vamos mandar um SMS com um link")
            && d.text().contains("Estou aguardando a localização"),
        "{}",
        d.text()
    );
    assert!(d.gather.is_some(), "the wait takes key 1");
    let url = link_in(&fake);
    assert!(url.starts_with(&format!("{}/l/", app.base_url)), "{url}");
    // A quiet wait: nothing new.
    let silence = d.redirect.clone().unwrap();
    let d = phone.post(&silence, &[]).await.unwrap();
    assert!(!d.text().contains("Recebi"), "{}", d.text());
    post_position(&url).await;
    let d = wait_for_read_back(&mut phone, d).await;
    assert!(d.text().contains("Delminda Silveira"), "{}", d.text());
    let d = phone.answer(&d, keys("1")).await.unwrap();
    let d = phone.settle(d).await.unwrap();
    assert!(
        d.text().contains("Reservamos a porta"),
        "{}",
        phone.heard_text()
    );
    let rows = crate::sms::wait_done(&store(&app).await, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].request.client_code.as_str(), code.as_str());
    // The console's funnel knows how the place was given.
    let stored = store(&app)
        .await
        .load_call(&phone.call_sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.call.data.place_source,
        Some(ivr_core::flow::PlaceSource::Link)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_house_without_a_number_is_offered_the_link_and_a_caller_who_hung_up_still_reserves() {
    let fake = FakeTwilio::start(Mode::Accept, PLATFORM_TOKEN).await;
    let app = app(&fake).await;
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let c = &driver::clients(84, 1)[0];
    let d = to_address(&mut phone, &c.code).await;
    let d = phone.answer(&d, keys(c.cep)).await.unwrap();
    let d = phone.answer(&d, words("sem número")).await.unwrap();
    assert!(d.text().contains("link"), "{}", d.text());
    assert!(fake.accepted().is_empty(), "nothing sent before the yes");
    let d = phone.answer(&d, keys("1")).await.unwrap();
    assert!(d.text().contains("Vamos mandar um SMS"), "{}", d.text());
    let url = link_in(&fake);
    // The caller hangs up; the platform says so.
    let status = format!("{}/voice/status", app.base_url);
    phone
        .post(&status, &[("CallStatus".into(), "completed".into())])
        .await
        .unwrap();
    post_position(&url).await;
    let store = store(&app).await;
    let rows = crate::sms::wait_done(&store, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].request.client_code.as_str(), c.code.as_str());
    // The outcome SMS follows the link's.
    let sent = fake.wait_accepted(2, Duration::from_secs(30)).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let outcome = crate::sms::field(&sent[1], "Body");
    assert!(!outcome.contains("/l/"), "{outcome}");
    // A late poll of the old wait does not reserve again.
    let silence = d.redirect.clone().unwrap();
    let _ = phone.post(&silence, &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(crate::sms::wait_done(&store, 1).await.len(), 1);
    let stored = store.load_call(&phone.call_sid).await.unwrap().unwrap();
    assert!(
        !matches!(
            stored.call.step,
            ivr_core::flow::Step::AwaitingLocation { .. }
        ),
        "{:?}",
        stored.call.step
    );
    app.stop().await;
}

#[tokio::test]
async fn a_landline_is_not_offered_the_link() {
    let fake = FakeTwilio::start(Mode::Accept, PLATFORM_TOKEN).await;
    let app = app(&fake).await;
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let landline = [("From".to_string(), "+554833335555".to_string())];
    let url = format!("{}/voice", app.base_url);
    let ring = [landline[0].clone(), ("CallStatus".into(), "ringing".into())];
    let mut d = phone.post(&url, &ring).await.unwrap();
    for say in [keys("85000"), keys("1"), words("Maria da Silva"), keys("8")] {
        let mut form = Phone::gathered(&say);
        form.extend(landline.iter().cloned());
        d = phone.post(&d.gather.clone().unwrap(), &form).await.unwrap();
        assert!(!d.text().contains("tecle 8"), "{}", d.text());
    }
    assert!(d.text().contains("CEP"), "a bad CEP: {}", d.text());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.accepted().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_failed_sms_is_told_and_the_address_question_goes_on() {
    let fake = FakeTwilio::start(Mode::Refuse, PLATFORM_TOKEN).await;
    let app = app(&fake).await;
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let d = to_address(&mut phone, &driver::clients(86, 1)[0].code).await;
    let d = phone.answer(&d, keys("8")).await.unwrap();
    assert!(
        d.text().contains("Não consegui enviar o SMS") && d.text().contains("endereço"),
        "{}",
        d.text()
    );
    app.stop().await;
}

/// No status callback and no more polls (the platform never said the call
/// ended): past the quiet time a waiting call polls within, the position
/// still reserves.
#[tokio::test]
async fn a_call_that_stops_polling_still_reserves_from_the_position() {
    let fake = FakeTwilio::start(Mode::Accept, PLATFORM_TOKEN).await;
    let app = app(&fake).await;
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let code = driver::clients(87, 1)[0].code.clone();
    let d = to_address(&mut phone, &code).await;
    phone.answer(&d, keys("8")).await.unwrap();
    let url = link_in(&fake);
    post_position(&url).await;
    let store = store(&app).await;
    // Not at once: the call may still be on the line and poll.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(store.list_reservations(None, 10).await.unwrap().is_empty());
    let rows = crate::sms::wait_done(&store, 1).await;
    assert_eq!(rows[0].request.client_code.as_str(), code.as_str());
    fake.wait_accepted(2, Duration::from_secs(30)).await;
    app.stop().await;
}

#[tokio::test]
async fn on_jambonz_the_link_waits_reads_back_and_reserves_and_every_answer_is_valid() {
    use crate::jambonz::{Jambonz, Reply, SECRET, validate};
    let fake = FakeTwilio::start(Mode::Accept, crate::sms::AUTH_TOKEN).await;
    let secret = format!("--jambonz-webhook-secret={SECRET}");
    let app = crate::sms::spawn(&fake, &[secret.as_str()]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    let first = j.start().await;
    let wait = j
        .walk(
            first,
            vec![
                Reply::Keys("123*123"),
                Reply::Keys("1"),
                Reply::Words("gabriel marioto"),
                Reply::Keys("8"),
            ],
            true,
        )
        .await;
    assert!(j.heard.contains("Vamos mandar um SMS"), "{}", j.heard);
    let sent = fake.wait_accepted(1, Duration::from_secs(10)).await;
    let body = crate::sms::field(&sent[0], "Body");
    let url = body.split_whitespace().find(|w| w.contains("/l/")).unwrap();
    let (lat, lng) = HOUSE;
    let r = reqwest::Client::new()
        .post(url)
        .json(&json!({ "lat": lat, "lng": lng, "accuracy": 10.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut verbs = wait;
    for _ in 0..10 {
        if j.heard.contains("Recebi a localização") {
            break;
        }
        verbs = j.walk(verbs, vec![Reply::Silence], true).await;
    }
    assert!(j.heard.contains("Delminda Silveira"), "{}", j.heard);
    let end = j.walk(verbs, vec![Reply::Keys("1")], false).await;
    assert_eq!(end.last().unwrap()["verb"], "hangup", "{}", j.heard);
    assert!(j.heard.contains("Reservamos"), "{}", j.heard);
    assert_eq!(app.sandbox.property_posts(), 1);
    validate(&j.answers);
}

/// The wait for a hung-up caller's position is a task in memory; the
/// position itself is in the database. A service killed while that task
/// waits reserves all the same once it is back: its sweep reads the stored
/// position and finds the call gone.
#[tokio::test]
async fn a_position_whose_wait_died_with_the_service_still_reserves_after_the_restart() {
    use test_support::proc::Service;
    let db = TestDb::sqlite();
    let fake = FakeTwilio::start(Mode::Accept, PLATFORM_TOKEN).await;
    let sandbox = start_sandbox().await;
    let api = fake.uri();
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
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let code = &driver::clients(88, 1)[0].code;
    let d = to_address(&mut phone, code).await;
    let d = phone.answer(&d, keys("8")).await.unwrap();
    assert!(d.text().contains("Vamos mandar um SMS"), "{}", d.text());
    let url = link_in(&fake);
    let path = &url[url.find("/l/").expect("a link")..];
    // The caller is gone (no more polls); the house is marked; the service
    // dies while its task waits for the call to go quiet.
    post_position(&format!("{}{path}", svc.base)).await;
    svc.kill();
    svc.restart().await;
    let rows = svc.wait_ledger_done(1, Duration::from_secs(90)).await;
    assert_eq!(rows.len(), 1, "log:\n{}", svc.log_text());
    assert_eq!(rows[0]["client_code"], code.as_str());
    assert_eq!(sandbox.live_properties().len(), 1);
}
