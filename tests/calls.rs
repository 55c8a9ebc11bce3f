//! Whole calls walked against the real service, as a platform would: the service
//! on a random port, the OZmap sandbox as OZmap, the bundled gazetteer as the
//! geocoder, and the TwiML executor as the telephony platform.

mod support;

use ozmap_ivr::caller::CallEnd;
use serde_json::Value;
use support::*;

const TUTORIAL_ADDRESS: &str = "Rua Delminda Silveira, novecentos, Agronômica, Florianópolis";

fn happy_answers() -> Vec<ozmap_ivr::caller::Answer> {
    vec![
        keys("123*123"),
        keys("1"),
        say("gabriel marioto"),
        say(TUTORIAL_ADDRESS),
        keys("1"),
    ]
}

/// The port the sandbox reserved, from the created property.
fn reserved_port(p: &Value) -> i64 {
    p["connections"][0]["port"]
        .as_i64()
        .expect("a port in connections")
}

#[tokio::test]
async fn keypad_and_speech_call_reserves_exactly_one_port_and_reads_it_back() {
    let app = TestApp::spawn(&[]).await;
    let report = app.call(happy_answers()).await;
    assert!(matches!(report.end, CallEnd::Hangup), "{:?}", report.end);
    assert_eq!(app.sandbox.property_posts(), 1);
    let props = app.sandbox.properties();
    assert_eq!(props.len(), 1);
    let p = &props[0];
    let port = reserved_port(p);
    let text = heard(&report);
    assert!(text.contains(&format!("porta {port}")), "{text}");
    assert!(
        text.contains("Delminda Silveira, 900"),
        "address read back: {text}"
    );
    assert!(text.contains("Reservamos"), "{text}");
    // what OZmap holds for the client
    let http = reqwest::Client::new();
    let found: Value = http
        .get(format!(
            "{}/api/v2/properties/client/123%7C123",
            app.sandbox.base_url()
        ))
        .header("Authorization", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert_eq!(found[0]["client"]["name"], "Gabriel Marioto");
    assert_eq!(found[0]["box"], p["box"]);
}

#[tokio::test]
async fn speech_only_call() {
    let app = TestApp::spawn(&[]).await;
    let report = app
        .call(vec![
            say("meu código é quatro cinco meia"),
            say("sim"),
            say("Maria da Silva"),
            say(TUTORIAL_ADDRESS),
            say("sim, correto"),
        ])
        .await;
    assert!(matches!(report.end, CallEnd::Hangup));
    assert_eq!(app.sandbox.property_posts(), 1);
    let text = heard(&report);
    assert!(text.contains("Reservamos"), "{text}");
}

#[tokio::test]
async fn cep_and_house_number_on_the_keypad() {
    let app = TestApp::spawn(&[]).await;
    let report = app
        .call(vec![
            keys("777"),
            keys("1"),
            say("João Pereira"),
            keys("88025500"),
            keys("900"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert!(text.contains("Delminda Silveira, 900"), "{text}");
    assert!(text.contains("Reservamos"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn a_wrong_code_is_corrected_before_anything_is_reserved() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = vec![keys("999"), keys("2")];
    answers.extend(happy_answers());
    let report = app.call(answers).await;
    assert!(heard(&report).contains("vamos de novo"));
    let found = app.sandbox.properties();
    assert_eq!(found.len(), 1);
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn silence_until_the_transfer() {
    let app = TestApp::spawn(&["--agent-number=+5548999990000"]).await;
    let report = app.call(vec![]).await;
    assert!(
        matches!(&report.end, CallEnd::Dial(n) if n == "+5548999990000"),
        "{:?}",
        report.end
    );
    assert!(heard(&report).contains("Não ouvi nada"));
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn silence_without_an_agent_ends_politely() {
    let app = TestApp::spawn(&[]).await;
    let report = app.call(vec![]).await;
    assert!(matches!(report.end, CallEnd::Hangup));
    assert!(heard(&report).contains("ligue novamente"));
}

#[tokio::test]
async fn an_existing_reservation_is_read_back_and_never_doubled() {
    let app = TestApp::spawn(&[]).await;
    app.call(happy_answers()).await;
    let again = app.call(happy_answers()).await;
    let text = heard(&again);
    assert!(text.contains("já tem uma reserva"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn ozmap_down_the_request_is_kept_and_completed_later() {
    let app = TestApp::spawn(&["--reserve-hold-ms=1500"]).await;
    app.sandbox.faults().set_fail_status(Some(503));
    let report = app.call(happy_answers()).await;
    let text = heard(&report);
    assert!(text.contains("retornar a ligação"), "{text}");
    assert_eq!(app.sandbox.properties().len(), 0);
    // OZmap comes back: the worker finishes the request from the ledger, once.
    app.sandbox.faults().set_fail_status(None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.sandbox.properties().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.sandbox.properties().len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn ozmap_hanging_never_slows_a_webhook() {
    let app = TestApp::spawn(&["--reserve-hold-ms=1500"]).await;
    app.sandbox.faults().set_delay_ms(5_000);
    let report = app.call(happy_answers()).await;
    assert!(heard(&report).contains("retornar a ligação"));
    for (url, latency) in report.latencies() {
        assert!(
            latency < std::time::Duration::from_millis(1_000),
            "{url} took {latency:?}"
        );
    }
}

#[tokio::test]
async fn a_repeated_first_request_asks_the_same_question_without_moving() {
    use ozmap_ivr::caller::{CallError, CallEvent, Caller, CallerOptions, Scripted};
    let app = TestApp::spawn(&[]).await;
    let sid = "CA0123456789abcdef0123456789abcdef";
    let opts = CallerOptions {
        url: app.voice_url.clone(),
        call_sid: Some(sid.to_string()),
        pause_scale: 0.05,
        max_requests: 1,
        ..CallerOptions::default()
    };
    let greet = Caller::new(opts.clone()).unwrap();
    for _ in 0..2 {
        let mut actions = Vec::new();
        let r = greet
            .run(&mut Scripted::default(), &mut |e| {
                if let CallEvent::Gather(g) = e {
                    actions.push(g.action.clone());
                }
            })
            .await;
        assert!(
            matches!(r, Err(CallError::TooManyRequests { limit: 1 })),
            "{r:?}"
        );
        assert_eq!(actions.len(), 1);
        assert!(actions[0].ends_with("/voice/answer?seq=1"), "{actions:?}");
    }
    // The call goes on from there as usual.
    let caller = Caller::new(CallerOptions {
        max_requests: 150,
        ..opts
    })
    .unwrap();
    let report = caller
        .run(&mut Scripted::new(happy_answers()), &mut |_| {})
        .await
        .expect("the call runs to its end");
    assert!(heard(&report).contains("Reservamos"), "{}", heard(&report));
    assert_eq!(app.sandbox.property_posts(), 1);
}
