//! Whole calls walked against the real service, as a platform would: the service
//! on a random port, the OZmap sandbox as OZmap, the bundled gazetteer as the
//! geocoder, and the TwiML executor as the telephony platform.

use ivr_tools::caller::CallEnd;
use serde_json::Value;
use test_support::*;

const TUTORIAL_ADDRESS: &str = tutorial::SPOKEN_ADDRESS;

fn happy_answers() -> Vec<ivr_tools::caller::Answer> {
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
async fn no_coverage_records_the_lead_and_offers_a_human() {
    let app = TestApp::spawn(&["--agent-number=+5548999990000"]).await;
    let report = app
        .call(vec![
            keys("31"),
            keys("1"),
            say("Ana Costa"),
            say("Avenida Beira-Mar Norte, dois mil"),
            keys("1"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert!(
        text.contains("não temos uma caixa com porta livre"),
        "{text}"
    );
    assert!(
        matches!(&report.end, CallEnd::Dial(n) if n == "+5548999990000"),
        "{:?}",
        report.end
    );
    assert_eq!(app.sandbox.property_posts(), 0);
    let leads = app.sandbox.prospects();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["viable"], false);
    assert_eq!(leads[0]["code"], "31");
}

#[tokio::test]
async fn the_nearest_box_full_so_the_next_one_is_used() {
    let app = TestApp::spawn(&[]).await;
    let report = app
        .call(vec![
            keys("41"),
            keys("1"),
            say("Rui Souza"),
            say("Rua Frei Caneca, duzentos e cinquenta"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert!(text.contains("porta 2 da caixa CTO-AGR-03"), "{text}");
}

#[tokio::test]
async fn a_box_that_refuses_the_client_is_skipped() {
    // CTO-AGR-08 is nearest but has no PON: OZmap answers 4xx without `force`.
    let app = TestApp::spawn(&[]).await;
    let report = app
        .call(vec![
            keys("51"),
            keys("1"),
            say("Lia Prado"),
            say("Avenida Madre Benvenuta, mil cento e noventa, Santa Mônica"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert!(text.contains("porta 1 da caixa CTO-AGR-09"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 2, "one refused, one created");
    assert_eq!(app.sandbox.properties().len(), 1);
}

#[tokio::test]
async fn every_request_sent_twice_gets_the_same_answer_and_moves_the_call_once() {
    let app = TestApp::spawn(&[]).await;
    let caller = ivr_tools::caller::Caller::new(ivr_tools::caller::CallerOptions {
        url: app.voice_url.clone(),
        pause_scale: 0.05,
        max_requests: 150,
        repeat_requests: true,
        ..Default::default()
    })
    .unwrap();
    let mut script = ivr_tools::caller::Scripted::new(vec![
        keys("999"),
        keys("2"),
        keys("123*123"),
        keys("1"),
        say("gabriel marioto"),
        say(TUTORIAL_ADDRESS),
        keys("1"),
    ]);
    let report = caller
        .run(&mut script, &mut |_| {})
        .await
        .expect("identical answers to repeated requests");
    assert!(heard(&report).contains("Reservamos"));
    assert_eq!(app.sandbox.property_posts(), 1);
}

/// A platform request by hand: returns the TwiML.
async fn post(url: &str, sid: &str, extra: &[(&str, &str)]) -> String {
    let mut form = vec![
        ("CallSid", sid),
        ("From", "+5548999990000"),
        ("To", "+554833334444"),
    ];
    form.extend_from_slice(extra);
    let r = reqwest::Client::new()
        .post(url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The path and query of the first Gather's action.
fn gather_action(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let action = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .unwrap()
        .attribute("action")
        .unwrap();
    let u = url::Url::parse(action).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_call_loses_nothing() {
    let app = TestApp::spawn(&[]).await;
    let sid = "CA0123456789abcdef0123456789abcdef";
    let xml = post(&app.voice_url, sid, &[]).await;
    let xml = post(
        &format!("{}{}", app.base_url, gather_action(&xml)),
        sid,
        &[("Digits", "123")],
    )
    .await;
    let xml = post(
        &format!("{}{}", app.base_url, gather_action(&xml)),
        sid,
        &[("Digits", "1")],
    )
    .await;
    let name_step = gather_action(&xml);
    assert!(xml.contains("nome"), "{xml}");

    // The service goes down and comes back on another port, on the same store.
    let (sandbox, db) = app.stop().await;
    let app = TestApp::spawn_with(sandbox, db, &[]).await;
    let xml = post(
        &format!("{}{}", app.base_url, name_step),
        sid,
        &[("SpeechResult", "Gabriel Marioto")],
    )
    .await;
    assert!(
        xml.contains("endereço"),
        "the call went on at the address question: {xml}"
    );

    // The platform re-enters the call at the voice URL (a call in progress): the
    // current question again.
    let caller = ivr_tools::caller::Caller::new(ivr_tools::caller::CallerOptions {
        url: app.voice_url.clone(),
        call_sid: Some(sid.to_string()),
        pause_scale: 0.05,
        extra_params: vec![("CallStatus".into(), "in-progress".into())],
        ..Default::default()
    })
    .unwrap();
    let mut script = ivr_tools::caller::Scripted::new(vec![say(TUTORIAL_ADDRESS), keys("1")]);
    let report = caller.run(&mut script, &mut |_| {}).await.unwrap();
    assert!(heard(&report).contains("Reservamos"), "{}", heard(&report));
    let props = app.sandbox.properties();
    assert_eq!(props.len(), 1);
    let http = reqwest::Client::new();
    let found: Value = http
        .get(format!(
            "{}/api/v2/properties/client/123",
            app.sandbox.base_url()
        ))
        .header("Authorization", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["client"]["name"], "Gabriel Marioto");
}

#[tokio::test]
async fn a_slow_geocoder_is_held_then_given_up_politely() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};
    let geo = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("[]")
                .set_delay(std::time::Duration::from_secs(4)),
        )
        .mount(&geo)
        .await;
    let geo_url = format!("--geocoder-url={}", geo.uri());
    let app = TestApp::spawn(&[
        "--geocoder=nominatim",
        &geo_url,
        "--step-budget-ms=300",
        "--geocode-hold-ms=1500",
    ])
    .await;
    let report = app
        .call(vec![
            keys("61"),
            keys("1"),
            say("Rita Lopes"),
            say(TUTORIAL_ADDRESS),
        ])
        .await;
    let text = heard(&report);
    assert!(
        text.contains("localizando o endereço"),
        "hold message: {text}"
    );
    assert!(
        text.contains("Não consegui encontrar este endereço"),
        "{text}"
    );
    for (url, latency) in report.latencies() {
        assert!(
            latency < std::time::Duration::from_millis(1_000),
            "{url} took {latency:?}"
        );
    }
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn a_geocoder_that_fails_asks_for_the_address_again() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};
    let geo = MockServer::start().await;
    Mock::given(path("/search"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&geo)
        .await;
    let geo_url = format!("--geocoder-url={}", geo.uri());
    let app = TestApp::spawn(&["--geocoder=nominatim", &geo_url]).await;
    let report = app
        .call(vec![
            keys("71"),
            keys("1"),
            say("Rita Lopes"),
            say(TUTORIAL_ADDRESS),
        ])
        .await;
    let text = heard(&report);
    assert!(
        text.contains("Não consegui encontrar este endereço"),
        "{text}"
    );
    assert!(matches!(report.end, CallEnd::Hangup));
}

#[tokio::test]
async fn against_a_fake_ozmap_exactly_one_tutorial_shaped_post() {
    use serde_json::json;
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let oz = MockServer::start().await;
    let (lat, lng) = (-27.5782336721312, -48.527442812919624);
    Mock::given(method("GET"))
        .and(path("/api/v2/properties/client/123|123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&oz)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1, "count": 1, "start": 0, "limit": 10,
            "rows": [{"id": "5da62201493d9c00066655b8", "name": "CTO-12", "draft": false, "coords": [lng, lat], "lat": lat, "lng": lng,
                      "project": "5da61f5b493d9c0006664f4a"}]})))
        .mount(&oz)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/splitters"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1, "count": 1, "start": 0, "limit": 25,
            "rows": [{"id": "s1", "name": "SPL-1", "parent": "5da62201493d9c00066655b8", "isDrop": true,
                      "connectables": {"output": ["x", null]}, "ports": [{"blocked": false}, {"blocked": false}]}]})))
        .mount(&oz)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/properties"))
        .and(header("authorization", TOKEN))
        .and(body_json(json!({
            "address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
            "lat": lat, "lng": lng,
            // What the SDK's `CreatePropertyDTOSchema` requires beside the tutorial.
            "coords": [lng, lat], "project": "5da61f5b493d9c0006664f4a",
            "observation": "Reserva de Porta", "box": "5da62201493d9c00066655b8",
            "auto_connect": true, "force": false,
            "client": { "certified": false, "implanted": false, "status": 0,
                        "observation": "Reserva do Novo Cliente", "code": "123|123",
                        "name": "Gabriel Marioto" } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "p1", "kind": "Property",
            "box": "5da62201493d9c00066655b8", "client": "c1",
            "connections": [{"id": "s1", "kind": "Splitter", "name": "SPL-1", "port": 2, "fiber": 1, "implanted": false}]})))
        .expect(1)
        .mount(&oz)
        .await;
    let db = TestDb::sqlite();
    let cfg = config(&db.url, &oz.uri(), &[]);
    let app = ozmap_ivr::Application::build(cfg).await.unwrap();
    let voice = format!("{}/voice", app.public_url);
    tokio::spawn(app.run());
    let caller = ivr_tools::caller::Caller::new(ivr_tools::caller::CallerOptions {
        url: voice,
        pause_scale: 0.05,
        ..Default::default()
    })
    .unwrap();
    let report = caller
        .run(
            &mut ivr_tools::caller::Scripted::new(happy_answers()),
            &mut |_| {},
        )
        .await
        .unwrap();
    let text = heard(&report);
    assert!(text.contains("porta 2 da caixa CTO-12"), "{text}");
    // MockServer verifies `.expect(1)` when dropped.
}

#[tokio::test]
async fn a_repeated_first_request_asks_the_same_question_without_moving() {
    use ivr_tools::caller::{CallError, CallEvent, Caller, CallerOptions, Scripted};
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
        assert!(
            actions[0].contains("/voice/answer?seq=1&protocol="),
            "{actions:?}"
        );
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
