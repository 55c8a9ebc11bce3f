//! The webhooks' answers, asserted by structure (elements, attributes, order) as a
//! platform reads them.

use test_support::*;

const SID: &str = "CA00000000000000000000000000000001";

async fn post(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap()
}

fn children(doc: &roxmltree::Document) -> Vec<String> {
    doc.root_element()
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name().to_string())
        .collect()
}

#[tokio::test]
async fn the_greeting_is_a_gather_with_speech_and_keys_then_a_redirect_for_silence() {
    let app = TestApp::spawn(&[]).await;
    let r = post(
        &app.voice_url,
        &[("CallSid", SID), ("From", "+5548999990000")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/xml; charset=utf-8");
    let body = r.text().await.unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"));
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(children(&doc), ["Gather", "Redirect"]);
    let g = doc.root_element().first_element_child().unwrap();
    assert_eq!(g.attribute("input"), Some("dtmf speech"));
    assert_eq!(g.attribute("language"), Some("pt-BR"));
    assert_eq!(g.attribute("method"), Some("POST"));
    assert_eq!(g.attribute("finishOnKey"), Some("#"));
    // The greeting's URLs carry the call's protocol (the call is stored at its first answer).
    let action = g.attribute("action").unwrap();
    let prefix = format!("{}/voice/answer?seq=1&protocol=", app.base_url);
    assert!(action.starts_with(&prefix), "{action}");
    assert!(action[prefix.len()..].bytes().all(|b| b.is_ascii_digit()));
    assert!(g.attribute("hints").unwrap().contains("meia"));
    let say = g.first_element_child().unwrap();
    assert_eq!(say.tag_name().name(), "Say");
    assert_eq!(say.attribute("voice"), Some("Polly.Camila"));
    assert!(say.text().unwrap().starts_with("Olá!"));
    let redirect = doc.root_element().last_element_child().unwrap();
    let protocol = &action[prefix.len()..];
    assert_eq!(
        redirect.text(),
        Some(format!("{}/voice/silence?seq=1&protocol={protocol}", app.base_url).as_str())
    );
    assert_eq!(redirect.attribute("method"), Some("POST"));
}

#[tokio::test]
async fn the_code_is_read_back_digit_by_digit() {
    let app = TestApp::spawn(&[]).await;
    post(&app.voice_url, &[("CallSid", SID)]).await;
    let r = post(
        &format!("{}/voice/answer?seq=1", app.base_url),
        &[("CallSid", SID), ("Digits", "123*45")],
    )
    .await;
    let body = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&body).unwrap();
    let groups: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("say-as"))
        .map(|n| {
            (
                n.attribute("interpret-as").unwrap().to_string(),
                n.text().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("digits".to_string(), "123".to_string()),
            ("digits".to_string(), "45".to_string())
        ]
    );
    let g = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .unwrap();
    assert_eq!(g.attribute("numDigits"), Some("1"));
    assert_eq!(
        g.attribute("action"),
        Some(format!("{}/voice/answer?seq=2", app.base_url).as_str())
    );
}

#[tokio::test]
async fn the_transfer_dials_the_agent_and_its_end_says_goodbye() {
    let app = TestApp::spawn(&["--agent-number=+5548999990000", "--max-attempts=1"]).await;
    post(&app.voice_url, &[("CallSid", SID)]).await;
    let body = post(
        &format!("{}/voice/silence?seq=1", app.base_url),
        &[("CallSid", SID)],
    )
    .await
    .text()
    .await
    .unwrap();
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(children(&doc), ["Say", "Dial"]);
    let dial = doc.root_element().last_element_child().unwrap();
    assert_eq!(
        dial.attribute("action"),
        Some(format!("{}/voice/dial?seq=2", app.base_url).as_str())
    );
    assert_eq!(
        dial.first_element_child().unwrap().tag_name().name(),
        "Number"
    );
    assert_eq!(
        dial.first_element_child().unwrap().text(),
        Some("+5548999990000")
    );
    let after = post(
        &format!("{}/voice/dial?seq=2", app.base_url),
        &[("CallSid", SID), ("DialCallStatus", "no-answer")],
    )
    .await
    .text()
    .await
    .unwrap();
    let doc = roxmltree::Document::parse(&after).unwrap();
    assert_eq!(children(&doc), ["Say", "Hangup"]);
}

#[tokio::test]
async fn bad_requests_get_a_clear_status_and_still_well_formed_twiml() {
    let app = TestApp::spawn(&[]).await;
    let http = reqwest::Client::new();
    let cases = [
        (http.get(&app.voice_url).send().await.unwrap(), 405),
        (
            http.post(&app.voice_url)
                .json(&serde_json::json!({"CallSid": SID}))
                .send()
                .await
                .unwrap(),
            415,
        ),
        (
            post(&app.voice_url, &[("From", "+5548999990000")]).await,
            400,
        ),
        (post(&app.voice_url, &[("CallSid", "<script>")]).await, 400),
    ];
    for (r, status) in cases {
        assert_eq!(r.status(), status);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/xml")
        );
        let body = r.text().await.unwrap();
        roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{status}: {e}: {body}"));
    }
}

#[tokio::test]
async fn a_step_for_an_unknown_call_starts_over_politely() {
    let app = TestApp::spawn(&[]).await;
    let r = post(
        &format!("{}/voice/answer?seq=7", app.base_url),
        &[("CallSid", SID), ("Digits", "1")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Olá!"), "{body}");
    // and a stale step of a known call repeats the current question, moving nothing
    let again = post(
        &format!("{}/voice/answer?seq=9", app.base_url),
        &[("CallSid", SID), ("Digits", "5")],
    )
    .await;
    let doc_text = again.text().await.unwrap();
    let doc = roxmltree::Document::parse(&doc_text).unwrap();
    let g = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .unwrap();
    // The call was stored by this step (from the greeting kept in memory), at seq 1.
    assert_eq!(
        g.attribute("action"),
        Some(format!("{}/voice/answer?seq=1", app.base_url).as_str())
    );
}

#[tokio::test]
async fn the_status_callback_is_taken() {
    let app = TestApp::spawn(&[]).await;
    let r = post(
        &format!("{}/voice/status", app.base_url),
        &[("CallSid", SID), ("CallStatus", "completed")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let health = reqwest::get(format!("{}/healthz", app.base_url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn metrics_count_webhooks_behind_the_admin_token() {
    let app = TestApp::spawn(&["--admin-token=ops-secret-token-0123456789"]).await;
    post(&app.voice_url, &[("CallSid", SID)]).await;
    post(
        &format!("{}/voice/answer?seq=1", app.base_url),
        &[("CallSid", SID), ("Digits", "12")],
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", app.base_url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let text = http
        .get(&url)
        .bearer_auth("ops-secret-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("ozmap_ivr_webhooks_total{route=\"start\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("ozmap_ivr_webhooks_total{route=\"answer\"} 1"),
        "{text}"
    );
    assert!(text.contains("ozmap_ivr_webhook_seconds_count 2"), "{text}");
    assert!(text.contains("ozmap_ivr_ledger_pending 0"), "{text}");
    assert!(
        text.contains("ozmap_ivr_refused_total{reason=\"signature\"} 0"),
        "{text}"
    );
    let off = TestApp::spawn(&[]).await;
    assert_eq!(
        http.get(format!("{}/metrics", off.base_url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// The `<Gather>` of an answer, with the path and query of its action.
fn gather_of(body: &str) -> (roxmltree::Document<'_>, String) {
    let doc = roxmltree::Document::parse(body).unwrap();
    let action = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .and_then(|g| g.attribute("action"))
        .unwrap()
        .to_string();
    (doc, action)
}

#[tokio::test]
async fn the_address_question_listens_longer_with_the_isps_streets_as_hints() {
    let app = TestApp::spawn(&["--address-speech-timeout=5"]).await;
    let body = post(&app.voice_url, &[("CallSid", SID)])
        .await
        .text()
        .await
        .unwrap();
    let (doc, mut action) = gather_of(&body);
    let g = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .unwrap();
    assert_eq!(g.attribute("speechModel"), Some("phone_call"));
    assert_eq!(
        g.attribute("speechTimeout"),
        Some("1"),
        "a model allows no auto"
    );
    assert_eq!(g.attribute("enhanced"), None, "pt-BR has no enhanced model");

    // Code, its confirmation, the name: then the address question.
    let answers: [(&str, &str); 3] = [
        ("Digits", "123"),
        ("Digits", "1"),
        ("SpeechResult", "Gabriel Marioto"),
    ];
    let mut body = String::new();
    for (k, v) in answers {
        body = post(&action, &[("CallSid", SID), (k, v)])
            .await
            .text()
            .await
            .unwrap();
        action = gather_of(&body).1;
    }
    assert!(body.contains("endereço"), "{body}");
    let doc = roxmltree::Document::parse(&body).unwrap();
    let g = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .unwrap();
    assert_eq!(g.attribute("speechModel"), Some("phone_call"));
    assert_eq!(g.attribute("speechTimeout"), Some("5"));
    let hints: Vec<&str> = g.attribute("hints").unwrap().split(", ").collect();
    assert_eq!(hints[0], "rua", "the prompts' address words first");
    assert!(hints.contains(&"Rua Delminda Silveira"), "{hints:?}");
    assert!(hints.contains(&"Avenida Madre Benvenuta"), "{hints:?}");
    assert!(hints.len() <= 500);
}

/// The text of the refusal's `<Say>`, with the `<Hangup>` after it.
fn refusal_words(body: &str) -> String {
    let doc = roxmltree::Document::parse(body).unwrap();
    assert_eq!(children(&doc), ["Say", "Hangup"]);
    let say = doc.root_element().first_element_child().unwrap();
    say.text().unwrap().to_string()
}

#[tokio::test]
async fn a_number_calling_too_often_and_an_address_flooding_are_refused_in_their_own_words() {
    let app = TestApp::spawn(&["--rate-calls-per-minute=1"]).await;
    let from = ("From", "+5548999990000");
    post(&app.voice_url, &[("CallSid", SID), from]).await;
    let again = post(
        &app.voice_url,
        &[("CallSid", "CA00000000000000000000000000000002"), from],
    )
    .await;
    assert_eq!(again.status(), 200);
    let words = refusal_words(&again.text().await.unwrap());
    assert!(words.contains("deste número"), "{words}");

    let app = TestApp::spawn(&["--rate-requests-per-second=1"]).await;
    let mut refused = None;
    for i in 0..10 {
        let sid = format!("CA{i:032}");
        let r = post(&app.voice_url, &[("CallSid", sid.as_str())]).await;
        if r.status() == 429 {
            refused = Some(r.text().await.unwrap());
            break;
        }
    }
    let words = refusal_words(&refused.expect("the flood is refused"));
    assert!(!words.contains("número"), "not about a number: {words}");
    assert!(words.contains("muitas ligações"), "{words}");
}

#[tokio::test]
async fn ivr_platform_telnyx_answers_in_texml() {
    let app = TestApp::spawn(&["--platform=telnyx"]).await;
    let r = post(
        &app.voice_url,
        &[("CallSid", SID), ("From", "+5548999990000")],
    )
    .await;
    let body = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(children(&doc), ["Gather", "Redirect"]);
    let g = doc.root_element().first_element_child().unwrap();
    assert_eq!(
        g.attribute("method"),
        None,
        "TeXML uses the application's method"
    );
    assert_eq!(g.attribute("speechModel"), None);
    let t = g.attribute("speechTimeout").unwrap();
    assert!(t.chars().all(|c| c.is_ascii_digit()), "seconds: {t}");
    assert_eq!(g.attribute("language"), Some("pt-BR"));
}
