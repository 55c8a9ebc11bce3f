//! The log of whole calls, at TRACE for every crate, holds none of the caller's
//! data and no secret.
//!
//! Its own test binary, because the subscriber is process-global: the service
//! logs from actix workers, the reservation worker and spawned geocoder tasks on
//! other threads, which a thread-local subscriber would miss. Installed with
//! `try_init`, as the binary does, so `log` records (if any crate uses `log`) are
//! captured too.
//!
//! The calls cover the paths that log: keypad and speech answers, a CEP on the
//! keypad, a reservation that fails in OZmap and is retried by the worker, a
//! refused signature, a caller over the rate limit, a status callback, and the
//! SMS with each outcome sent to a fake Twilio messaging API.

use ivr_tools::caller::Answer;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use test_support::*;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt;
use webhook_signature::twilio_signature;

const AUTH_TOKEN: &str = "auth-t0ken-Zq81x";
const BASIC_PASSWORD: &str = "basic-pw-Hv3k";
const ADMIN_TOKEN: &str = "admin-t0ken-Lw20-Qz8x5Rk1";
const DIRECTORY_TOKEN: &str = "erp-t0ken-Pq55";

const SMS_SID: &str = "ACsms0000000000000000000000000000";

const PHONE: &str = "+5548991234567";
const PHONE_2: &str = "+5548987650123";

const WA_SECRET: &str = "wa-app-secret-Pq7";
const WA_TOKEN: &str = "wa-access-t0ken-Jm4";
const WA_VERIFY: &str = "wa-verify-Xc9";
const WA_NUMBER_ID: &str = "4242";

/// A signed WhatsApp notification with one message from PHONE.
fn wa_notification(n: usize, message: serde_json::Value) -> (String, String) {
    let mut m = message;
    m["from"] = serde_json::json!(PHONE.trim_start_matches('+'));
    m["id"] = serde_json::json!(format!("wamid.log.{n}"));
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": WA_NUMBER_ID},
        "contacts": [{"profile": {"name": "Gabriel Marioto"}, "wa_id": PHONE.trim_start_matches('+')}],
        "messages": [m]}}]}]})
    .to_string();
    let sig = ozmap_ivr::whatsapp_signature(WA_SECRET.as_bytes(), body.as_bytes());
    (body, sig)
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

fn install() -> Captured {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_target(true)
        // Timestamps are digits that could match a code by chance.
        .without_time()
        .finish()
        .try_init()
        .expect("the only subscriber of this test binary");
    captured
}

fn first_call() -> Vec<Answer> {
    vec![
        keys("48151*62342"),
        keys("1"),
        say("Gabriel Marioto"),
        say("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        keys("1"),
    ]
}

fn cep_call() -> Vec<Answer> {
    vec![
        say("meu código é sete três cinco um nove barra dois seis zero quatro oito"),
        say("sim"),
        say("Joana Bertolazzi"),
        keys("88025500"),
        keys("900"),
        keys("1"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_whole_calls_holds_no_caller_data_and_no_secret() {
    let logs = install();
    let sms_api = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"sid": "SMlog", "to": PHONE})),
        )
        .mount(&sms_api)
        .await;
    let app = TestApp::spawn(&[
        "--sms-provider=twilio",
        "--sms-from=+5548988880000",
        &format!("--twilio-account-sid={SMS_SID}"),
        &format!("--twilio-api-url={}", sms_api.uri()),
        &format!("--twilio-auth-token={AUTH_TOKEN}"),
        &format!("--public-url=http://ivr:{BASIC_PASSWORD}@127.0.0.1:0"),
        &format!("--admin-token={ADMIN_TOKEN}"),
        "--rate-calls-per-minute=1",
        "--reserve-hold-ms=1500",
        &format!("--whatsapp-app-secret={WA_SECRET}"),
        &format!("--whatsapp-verify-token={WA_VERIFY}"),
        &format!("--whatsapp-token={WA_TOKEN}"),
        &format!("--whatsapp-phone-number-id={WA_NUMBER_ID}"),
        &format!("--whatsapp-api-url={}", sms_api.uri()),
    ])
    .await;
    let url = app
        .voice_url
        .replacen("http://", &format!("http://ivr:{BASIC_PASSWORD}@"), 1);
    let signed = |from: &'static str| {
        let url = url.clone();
        move |o: &mut ivr_tools::caller::CallerOptions| {
            o.url = url;
            o.from = from.into();
            o.auth_token = Some(SecretString::from(AUTH_TOKEN));
            o.status_callback = Some(o.url.replace("/voice", "/voice/status"));
        }
    };

    // 1. Keypad and speech, reserved.
    let report = app.call_with(signed(PHONE), first_call()).await;
    assert!(heard(&report).contains("Reservamos"), "{}", heard(&report));

    // 2. Speech code, CEP on the keypad, OZmap failing: the worker retries.
    app.sandbox.faults().set_fail_status(Some(503));
    let report = app.call_with(signed(PHONE_2), cep_call()).await;
    assert!(heard(&report).contains("retornar"), "{}", heard(&report));
    app.sandbox.faults().set_fail_status(None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.sandbox.property_posts() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.sandbox.property_posts(), 2);
    // Both outcomes go out by SMS.
    while sms_api.received_requests().await.unwrap_or_default().len() < 2
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sms_api.received_requests().await.unwrap().len(), 2);

    // 3. A second new call from the first number within the minute: over the limit.
    let report = app.call_with(signed(PHONE), vec![]).await;
    assert!(heard(&report).contains("muitas"), "{}", heard(&report));

    // 4. A forged request full of personal data.
    let form = [
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("From", PHONE),
        (
            "SpeechResult",
            "Gabriel Marioto Rua Delminda Silveira 88025500",
        ),
    ];
    let owned: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let res = reqwest::Client::new()
        .post(&url)
        .form(&form)
        .header(
            "X-Twilio-Signature",
            twilio_signature("not-the-token", &url, &owned),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);

    // 5. A WhatsApp conversation: text, a button, a name, a shared location, media.
    let wa = |n: usize, m: serde_json::Value| {
        let (body, sig) = wa_notification(n, m);
        let url = format!("{}/whatsapp", app.base_url);
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let txt = |t: &str| serde_json::json!({"type": "text", "text": {"body": t}});
    let yes = serde_json::json!({"type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Sim"}}});
    let chat = [
        txt("oi"),
        txt("62718/39405"),
        yes.clone(),
        txt("Gabriel Marioto"),
        serde_json::json!({"type": "location", "location": {"latitude": -27.57819,
            "longitude": -48.52739, "name": "Casa Bertolazzi", "address": "Rua Delminda Silveira 900"}}),
        serde_json::json!({"type": "image", "image": {"id": "m1"}}),
        yes,
    ];
    let replies_before = sms_api.received_requests().await.unwrap().len();
    for (n, m) in chat.into_iter().enumerate() {
        assert_eq!(wa(n, m).await, 200);
        // One message at a time, as a client writes.
        let deadline = Instant::now() + Duration::from_secs(10);
        while sms_api.received_requests().await.unwrap().len() < replies_before + n + 1
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The pushed outcome.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.sandbox.property_posts() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.sandbox.property_posts(), 3);

    // 6. The client directory: a known client, an unknown code, a failing directory.
    let erp = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/clients/73519%7C26048"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "name": "Zanettini Directory", "installation": {"street": "R. Frei Caneca",
            "number": "400", "neighbourhood": "Agronômica", "city": "Florianópolis",
            "cep": "88025-200", "lat": -27.5742767, "lng": -48.5319578}})),
        )
        .mount(&erp)
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/clients/48151%7C62342"))
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_string("Zanettini Caneca"))
        .mount(&erp)
        .await;
    // (every request matched: wiremock logs an unmatched one whole, token included)
    wiremock::Mock::given(wiremock::matchers::path("/clients/99999"))
        .respond_with(wiremock::ResponseTemplate::new(404))
        .mount(&erp)
        .await;
    let with_directory = TestApp::spawn(&[
        "--client-directory=http",
        &format!("--client-directory-url={}", erp.uri()),
        &format!("--client-directory-token={DIRECTORY_TOKEN}"),
    ])
    .await;
    let report = with_directory
        .call(vec![keys("73519*26048"), keys("1"), keys("1")])
        .await;
    assert!(heard(&report).contains("Frei Caneca"), "{}", heard(&report));
    let report = with_directory
        .call(vec![
            keys("99999"),
            keys("1"),
            keys("48151*62342"),
            keys("1"),
        ])
        .await;
    assert!(
        heard(&report).contains("Não encontrei"),
        "{}",
        heard(&report)
    );
    with_directory.stop().await;

    // Let the last lines (worker, status callbacks) be written.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_sandbox, _db) = app.stop().await;
    let log = logs.text();
    if let Ok(path) = std::env::var("IVR_TEST_LOG_DUMP") {
        std::fs::write(path, &log).unwrap();
    }
    assert!(log.lines().count() > 50, "the capture works: {log}");
    assert!(log.contains("answered"), "the service's lines are in it");

    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{SMS_SID}:{AUTH_TOKEN}"))
    };
    let forbidden = [
        // phone numbers, whole and without the country code
        PHONE,
        "48991234567",
        "991234567",
        PHONE_2,
        "48987650123",
        // names
        "Marioto",
        "Bertolazzi",
        "Zanettini",
        "Caneca",
        // address words as said, and the CEP
        "Delminda",
        "novecentos",
        "88025500",
        "88025-500",
        // client codes, as typed, as stored and as digits (whole codes: a group
        // of five digits alone could be a port number)
        "48151*62342",
        "48151|62342",
        "4815162342",
        "73519|26048",
        "7351926048",
        "62718/39405",
        "62718|39405",
        "62718*39405",
        "6271839405",
        // a shared location
        "-27.57819",
        "-48.52739",
        // secrets, in clear and as the messaging API's basic credentials
        TOKEN,
        AUTH_TOKEN,
        &basic,
        BASIC_PASSWORD,
        ADMIN_TOKEN,
        DIRECTORY_TOKEN,
        WA_SECRET,
        WA_TOKEN,
        WA_VERIFY,
    ];
    let lower = log.to_lowercase();
    let mut leaks = Vec::new();
    for word in forbidden {
        let w = word.to_lowercase();
        for line in lower.lines().filter(|l| l.contains(&w)) {
            leaks.push(format!("{word:?} in: {line}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
