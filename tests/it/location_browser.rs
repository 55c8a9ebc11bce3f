//! The location page in a real browser: headless Chromium on a phone-sized
//! window (390×844), its position set through DevTools
//! (`Emulation.setGeolocationOverride` and `Browser.grantPermissions` over
//! chromedriver's `goog/cdp/execute`), beside the sandbox's boxes. The caller
//! presses **Estou aqui** and sees the done text, and the position is stored;
//! a coarse position is refused and the same link then takes a good one; a
//! browser that refuses the position says how to allow it. And the whole
//! chain: a caller presses the link key, the fake Twilio gets the SMS, Chromium
//! opens its link and presses **Estou aqui**, the held call reads the address
//! back and reserves; a caller who hung up after the SMS gets the reservation
//! and the outcome SMS all the same. Screenshots go to
//! `target/tmp/location-screenshots/`.
//!
//! Where no Chromium or chromedriver is installed, the test says so and passes.

use crate::console_browser::{browser_sized, chromium, tempdir};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use test_support::TestApp;

const ADMIN: &str = "location-browser-admin-token-8841";
/// Beside the sandbox's boxes: R. Delminda Silveira, 900 (`data/SANDBOX.md`).
const HOUSE: (f64, f64) = (-27.578_233_672_131_2, -48.527_442_812_919_624);

async fn phone(webdriver: &str, chromium: &Path, profile: &Path) -> Result<Client, String> {
    browser_sized(
        webdriver,
        chromium,
        profile,
        "390,844",
        &["--hide-scrollbars"],
    )
    .await
}

/// A DevTools command through chromedriver.
async fn cdp(webdriver: &str, session: &str, cmd: &str, params: Value) {
    let r = reqwest::Client::new()
        .post(format!("{webdriver}/session/{session}/goog/cdp/execute"))
        .json(&json!({ "cmd": cmd, "params": params }))
        .send()
        .await
        .expect("chromedriver answers");
    let status = r.status();
    assert!(
        status.is_success(),
        "{cmd}: {status} {}",
        r.text().await.unwrap_or_default()
    );
}

async fn at(webdriver: &str, session: &str, (lat, lng): (f64, f64), accuracy: f64) {
    cdp(
        webdriver,
        session,
        "Emulation.setGeolocationOverride",
        json!({ "latitude": lat, "longitude": lng, "accuracy": accuracy }),
    )
    .await;
}

async fn make_link(base: &str, session_key: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/admin/location-links"))
        .bearer_auth(ADMIN)
        .json(&json!({ "session_key": session_key }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["url"].as_str().unwrap().to_string()
}

async fn stored(base: &str, session_key: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{base}/admin/location-links/{session_key}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["position"].clone()
}

/// The text of `#status` once it holds `needle`.
async fn status_with(c: &Client, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = match c.find(Locator::Id("status")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        if Instant::now() > deadline {
            let page = c.source().await.unwrap_or_default();
            panic!("#status never said {needle:?} (it says {text:?})\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn press(c: &Client) {
    c.find(Locator::Id("here"))
        .await
        .expect("the Estou aqui button")
        .click()
        .await
        .expect("pressed");
}

async fn shot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(name), png).expect("write the screenshot");
}

#[tokio::test]
async fn a_caller_marks_the_house_in_chromium_on_a_phone() {
    let Some((chromium, _driver, webdriver)) =
        chromium("a_caller_marks_the_house_in_chromium_on_a_phone").await
    else {
        return;
    };
    let profile = tempdir("chromium-location-profile");
    let c = phone(&webdriver, &chromium, &profile)
        .await
        .expect("chromedriver runs but starts no Chromium");
    let session = c.session_id().await.unwrap().expect("a session id");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("location-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    // A phone's screen (headless Chromium's window is at least 500 wide).
    cdp(
        &webdriver,
        &session,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    )
    .await;
    let app = TestApp::spawn(&[&format!("--admin-token={ADMIN}")]).await;
    let origin = app.base_url.clone();

    // The browser refuses the position: the page says how to allow it.
    cdp(
        &webdriver,
        &session,
        "Browser.setPermission",
        json!({ "permission": { "name": "geolocation" }, "setting": "denied", "origin": origin }),
    )
    .await;
    let url = make_link(&app.base_url, "CAbrowser1").await;
    c.goto(&url).await.unwrap();
    press(&c).await;
    let said = status_with(&c, "Permita o acesso à localização").await;
    assert!(said.contains("Estou aqui"), "{said}");
    shot(&c, &shots, "1-denied.png").await;

    // Allowed, at the house: done, and the position stored.
    cdp(
        &webdriver,
        &session,
        "Browser.grantPermissions",
        json!({ "origin": origin, "permissions": ["geolocation"] }),
    )
    .await;
    at(&webdriver, &session, HOUSE, 12.0).await;
    c.goto(&url).await.unwrap();
    shot(&c, &shots, "2-page.png").await;
    press(&c).await;
    status_with(&c, "Recebemos a localização. Volte para a ligação.").await;
    let accuracy = c
        .find(Locator::Id("accuracy"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(accuracy, "Precisão de 12 m");
    let address = c
        .find(Locator::Id("address"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        address.starts_with("Endereço mais próximo: R. Delminda Silveira, 900"),
        "{address}"
    );
    assert!(
        !c.find(Locator::Id("here"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "the button goes once the position is taken"
    );
    shot(&c, &shots, "3-done.png").await;
    let p = stored(&app.base_url, "CAbrowser1").await;
    assert_eq!(
        (p["lat"].as_f64(), p["lng"].as_f64()),
        (Some(HOUSE.0), Some(HOUSE.1))
    );
    assert_eq!(p["accuracy_m"], 12.0);

    // The used link, opened again: no longer valid.
    c.goto(&url).await.unwrap();
    let h1 = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Este link não é mais válido");

    // A coarse position: refused, the button back; then a good one on the same link.
    let url = make_link(&app.base_url, "CAbrowser2").await;
    at(&webdriver, &session, HOUSE, 350.0).await;
    c.goto(&url).await.unwrap();
    press(&c).await;
    let said = status_with(&c, "aproxime-se da casa e tente de novo").await;
    assert!(said.contains("350 m"), "{said}");
    assert!(
        c.find(Locator::Id("here"))
            .await
            .unwrap()
            .is_enabled()
            .await
            .unwrap()
    );
    shot(&c, &shots, "4-coarse.png").await;
    assert_eq!(stored(&app.base_url, "CAbrowser2").await, Value::Null);
    at(&webdriver, &session, HOUSE, 20.0).await;
    press(&c).await;
    status_with(&c, "Recebemos a localização").await;
    assert_eq!(
        stored(&app.base_url, "CAbrowser2").await["accuracy_m"],
        20.0
    );

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}

/// The whole chain of issue 26 with a real browser: a caller presses the link
/// key, the fake Twilio gets one SMS with the link, Chromium (a phone's
/// screen, its position set beside the sandbox's boxes) opens it and presses
/// **Estou aqui**, and the held call reads the address back and, after "1",
/// reserves the port.
#[tokio::test]
async fn a_held_call_reserves_the_port_once_chromium_presses_estou_aqui() {
    use crate::fake_twilio::{FROM, FakeTwilio, Mode, SID, field};
    use test_support::driver::{self, PLATFORM_TOKEN, Phone, keys, words};
    let name = "a_held_call_reserves_the_port_once_chromium_presses_estou_aqui";
    let Some((chromium, _driver, webdriver)) = chromium(name).await else {
        return;
    };
    let fake = FakeTwilio::start(Mode::Accept, PLATFORM_TOKEN).await;
    let flags = [
        "--sms-provider=twilio".to_string(),
        format!("--sms-from={FROM}"),
        format!("--twilio-account-sid={SID}"),
        format!("--twilio-api-url={}", fake.uri()),
        format!("--twilio-auth-token={PLATFORM_TOKEN}"),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::spawn(&flags).await;

    // The caller, at the address question, presses the link key.
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let code = &driver::clients(86, 1)[0].code;
    let d = phone.dial_in().await.unwrap();
    let d = phone.answer(&d, keys(code)).await.unwrap();
    let d = phone.answer(&d, keys("1")).await.unwrap();
    let d = phone.answer(&d, words("Maria da Silva")).await.unwrap();
    let mut d = phone.answer(&d, keys("8")).await.unwrap();
    assert!(d.text().contains("Vamos mandar um SMS"), "{}", d.text());
    let sent = fake.accepted();
    assert_eq!(sent.len(), 1, "one SMS: {sent:?}");
    let body = field(&sent[0], "Body");
    let url = body
        .split_whitespace()
        .find(|w| w.contains("/l/"))
        .unwrap_or_else(|| panic!("no link in {body}"))
        .to_string();

    // Chromium on a phone's screen, at the house, presses Estou aqui.
    let profile = tempdir("chromium-location-call-profile");
    let c = phone_browser(&webdriver, &chromium, &profile).await;
    let session = c.session_id().await.unwrap().expect("a session id");
    cdp(
        &webdriver,
        &session,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    )
    .await;
    cdp(
        &webdriver,
        &session,
        "Browser.grantPermissions",
        json!({ "origin": app.base_url, "permissions": ["geolocation"] }),
    )
    .await;
    at(&webdriver, &session, HOUSE, 15.0).await;
    c.goto(&url).await.unwrap();
    press(&c).await;
    status_with(&c, "Recebemos a localização").await;
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("location-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shot(&c, &shots, "5-call-done.png").await;

    // The held call, polling, reads the address back; "1" reserves.
    let mut read_back = false;
    for _ in 0..20 {
        if d.text().contains("Recebi a localização") {
            read_back = true;
            break;
        }
        let poll = d
            .redirect
            .clone()
            .expect("the wait falls through to a poll");
        d = phone.post(&poll, &[]).await.unwrap();
    }
    assert!(read_back, "never read back: {}", phone.heard_text());
    assert!(d.text().contains("Delminda Silveira"), "{}", d.text());
    let d = phone.answer(&d, keys("1")).await.unwrap();
    let d = phone.settle(d).await.unwrap();
    assert!(
        d.text().contains("Reservamos a porta"),
        "{}",
        phone.heard_text()
    );
    assert_eq!(app.sandbox.live_properties().len(), 1);

    // Another caller hangs up right after the link is sent; the house is
    // marked in Chromium later: the reservation is made all the same, and
    // the outcome SMS follows the link's.
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let code = &driver::clients(87, 1)[0].code;
    let d = phone.dial_in().await.unwrap();
    let d = phone.answer(&d, keys(code)).await.unwrap();
    let d = phone.answer(&d, keys("1")).await.unwrap();
    let d = phone.answer(&d, words("Joana Souza")).await.unwrap();
    let d = phone.answer(&d, keys("8")).await.unwrap();
    assert!(d.text().contains("Vamos mandar um SMS"), "{}", d.text());
    let status = format!("{}/voice/status", app.base_url);
    phone
        .post(&status, &[("CallStatus".into(), "completed".into())])
        .await
        .unwrap();
    let sent = fake.accepted();
    let body = field(sent.last().unwrap(), "Body");
    let url = body
        .split_whitespace()
        .find(|w| w.contains("/l/"))
        .unwrap_or_else(|| panic!("no link in {body}"))
        .to_string();
    c.goto(&url).await.unwrap();
    press(&c).await;
    status_with(&c, "Recebemos a localização").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.sandbox.live_properties().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the hung-up caller's port was not reserved"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = fake
        .wait_accepted(sent.len() + 1, Duration::from_secs(30))
        .await;
    let outcome = field(sent.last().unwrap(), "Body");
    assert!(outcome.contains("Protocolo"), "{outcome}");
    assert!(!outcome.contains("/l/"), "{outcome}");
    app.stop().await;
}

/// A Chromium session for the chain test (as [`phone`], which it calls).
async fn phone_browser(webdriver: &str, chromium: &Path, profile: &Path) -> Client {
    phone(webdriver, chromium, profile)
        .await
        .expect("chromedriver runs but starts no Chromium")
}
