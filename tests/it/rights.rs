//! What a Brazilian caller is owed, through the real service: a protocol said
//! digit by digit and unique, the company's name, and a person from any
//! question before any data.

use std::collections::HashSet;
use test_support::*;

const AGENT: &str = "--agent-number=+554833330000";

async fn post(url: &str, sid: &str, extra: &[(&str, &str)]) -> String {
    // One caller's number per call: the per-number limit on new calls stays out.
    let from = format!("+55489{}", &sid[sid.len() - 8..]);
    let mut form = vec![("CallSid", sid), ("From", from.as_str())];
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

fn sid(i: usize) -> String {
    format!("CA{i:032}")
}

/// The digits said inside `<say-as interpret-as="digits">` right after the
/// protocol sentence.
fn protocol_of(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name("say-as") && n.attribute("interpret-as") == Some("digits"))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_string()
}

fn action(xml: &str, tag: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let a = doc
        .descendants()
        .find(|n| n.has_tag_name(tag))?
        .attribute("action")?;
    let u = url::Url::parse(a).ok()?;
    Some(format!("{}?{}", u.path(), u.query().unwrap_or("")))
}

#[tokio::test]
async fn the_greeting_names_the_company_and_reads_a_protocol_unique_per_call() {
    let app = TestApp::spawn(&["--company-name=Fibra Sul", AGENT]).await;
    let mut seen = HashSet::new();
    for i in 0..200 {
        let xml = post(&app.voice_url, &sid(i), &[]).await;
        if i == 0 {
            assert!(xml.contains("Você ligou para a Fibra Sul"), "{xml}");
            assert!(xml.contains("O número do seu protocolo é"), "{xml}");
            assert!(xml.contains("tecle zero ou diga atendente"), "{xml}");
            assert!(xml.contains("sistema de rede do seu provedor"), "{xml}");
        }
        let p = protocol_of(&xml);
        assert!(
            (10..=20).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()),
            "{p:?}"
        );
        assert!(p.starts_with("20"), "begins with the date: {p}");
        assert!(seen.insert(p.clone()), "protocol {p} given twice");
        // a repeated first request says the same protocol
        if i == 0 {
            assert_eq!(protocol_of(&post(&app.voice_url, &sid(i), &[]).await), p);
        }
    }
}

#[tokio::test]
async fn a_person_at_the_first_question_before_any_data() {
    let app = TestApp::spawn(&[AGENT]).await;
    let xml = post(&app.voice_url, &sid(1), &[]).await;
    let answer = action(&xml, "Gather").unwrap();
    let xml = post(
        &format!("{}{answer}", app.base_url),
        &sid(1),
        &[("SpeechResult", "quero falar com um atendente")],
    )
    .await;
    assert!(xml.contains("<Dial"), "{xml}");
    assert!(xml.contains("+554833330000"), "{xml}");
}

#[tokio::test]
async fn zero_at_the_address_transfers_and_a_failed_dial_goes_back_there() {
    let app = TestApp::spawn(&[AGENT]).await;
    let s = sid(2);
    let mut xml = post(&app.voice_url, &s, &[]).await;
    for answer in [
        ("Digits", "123"),
        ("Digits", "1"),
        ("SpeechResult", "Ana Souza"),
    ] {
        let next = action(&xml, "Gather").unwrap();
        xml = post(&format!("{}{next}", app.base_url), &s, &[answer]).await;
    }
    assert!(xml.contains("endereço"), "{xml}");
    let next = action(&xml, "Gather").unwrap();
    xml = post(&format!("{}{next}", app.base_url), &s, &[("Digits", "0")]).await;
    assert!(xml.contains("<Dial"), "{xml}");
    let dial = action(&xml, "Dial").unwrap();
    xml = post(
        &format!("{}{dial}", app.base_url),
        &s,
        &[("DialCallStatus", "no-answer")],
    )
    .await;
    assert!(xml.contains("Vamos continuar de onde paramos"), "{xml}");
    assert!(xml.contains("Diga o endereço"), "{xml}");
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn outside_the_hours_the_caller_hears_them_and_goes_on() {
    // Open only on the day after tomorrow (São Paulo time): closed now.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let weekday = ((now_ms - 3 * 3_600_000).div_euclid(86_400_000) + 3).rem_euclid(7);
    let day = ["seg", "ter", "qua", "qui", "sex", "sab", "dom"][((weekday + 2) % 7) as usize];
    let hours = format!("--agent-hours={day} 08:00-18:00");
    let app = TestApp::spawn(&[AGENT, &hours]).await;
    let s = sid(3);
    let xml = post(&app.voice_url, &s, &[]).await;
    let next = action(&xml, "Gather").unwrap();
    let xml = post(
        &format!("{}{next}", app.base_url),
        &s,
        &[("SpeechResult", "atendente")],
    )
    .await;
    assert!(!xml.contains("<Dial"), "{xml}");
    assert!(xml.contains("Nossos atendentes atendem"), "{xml}");
    assert!(xml.contains("das 8 às 18 horas"), "{xml}");
    assert!(
        xml.contains("Digite o código de cliente"),
        "the call goes on: {xml}"
    );
}
