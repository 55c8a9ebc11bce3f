//! The session engine's suite, run through every adapter: the same sessions
//! walked as a phone call (TwiML, as a platform walks it) and as a WhatsApp
//! conversation, on one service, in every order. Each client reserves one port,
//! hears it, and a later session of the same client (on either channel) hears
//! the same port read back as existing; OZmap gets one property. And the
//! channels' wait policies: a directory slower than the step budget holds a
//! call (a poll takes the answer), while a chat waits for it.

use super::whatsapp::{Chat, body, is_buttons, up_to_the_address};
use ivr_tools::caller::CallEnd;
use serde_json::json;
use std::time::Duration;
use test_support::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Copy, Debug)]
enum Channel {
    Voice,
    WhatsApp,
}

/// One session of the tutorial client through `channel`, to its outcome; what
/// the client heard or read last. `chatted`: an earlier conversation of this
/// client is over.
async fn session(c: &Chat, channel: Channel, chatted: bool) -> String {
    match channel {
        Channel::Voice => {
            let report = c
                .app
                .call(vec![
                    keys("123*123"),
                    keys("1"),
                    say("gabriel marioto"),
                    say(tutorial::SPOKEN_ADDRESS),
                    keys("1"),
                ])
                .await;
            assert!(matches!(report.end, CallEnd::Hangup), "{:?}", report.end);
            heard(&report)
        }
        Channel::WhatsApp if chatted => {
            // A conversation over starts over at the next message: the
            // earlier reservation read back, then the greeting.
            let r = c.text("oi", 2).await;
            assert!(body(&r[0]).contains("A sua reserva do protocolo"), "{r:?}");
            assert!(body(&r[1]).contains("Digite o código"), "{r:?}");
            let r = c.text("123/123", 1).await;
            assert!(body(&r[0]).contains("123|123"), "{r:?}");
            let r = c.button("yes", 1).await;
            assert!(body(&r[0]).contains("nome"), "{r:?}");
            let r = c.text(tutorial::CLIENT_NAME, 1).await;
            assert!(body(&r[0]).contains("localização"), "{r:?}");
            address_and_yes(c).await
        }
        Channel::WhatsApp => {
            up_to_the_address(c).await;
            address_and_yes(c).await
        }
    }
}

/// The address typed, read back, confirmed: the hold, then the outcome pushed.
async fn address_and_yes(c: &Chat) -> String {
    let r = c
        .text("Rua Delminda Silveira, 900, Agronômica, Florianópolis", 1)
        .await;
    assert!(body(&r[0]).contains("Delminda Silveira, 900"), "{r:?}");
    let r = c.button("yes", 2).await;
    body(&r[1])
}

async fn walk(first: Channel, second: Channel) {
    let c = Chat::start().await;
    let said = session(&c, first, false).await;
    let props = c.app.sandbox.properties();
    assert_eq!(props.len(), 1, "{first:?}: {props:?}");
    let port = props[0]["connections"][0]["port"].as_i64().expect("a port");
    assert!(
        said.contains(&format!("porta {port}")) && said.to_lowercase().contains("reservamos"),
        "{first:?} hears its new reservation: {said}"
    );
    let chatted = matches!(first, Channel::WhatsApp);
    let said = session(&c, second, chatted).await;
    assert!(
        said.contains(&format!("porta {port}")) && said.contains("já tem"),
        "{first:?} then {second:?}: the second session hears the port as existing: {said}"
    );
    assert_eq!(
        c.app.sandbox.property_posts(),
        1,
        "{first:?} then {second:?}"
    );
    assert_eq!(c.app.sandbox.properties().len(), 1);
}

#[tokio::test]
async fn engine_voice_then_voice() {
    walk(Channel::Voice, Channel::Voice).await;
}

#[tokio::test]
async fn engine_voice_then_whatsapp() {
    walk(Channel::Voice, Channel::WhatsApp).await;
}

#[tokio::test]
async fn engine_whatsapp_then_voice() {
    walk(Channel::WhatsApp, Channel::Voice).await;
}

#[tokio::test]
async fn engine_whatsapp_then_whatsapp() {
    walk(Channel::WhatsApp, Channel::WhatsApp).await;
}

#[tokio::test]
async fn engine_a_slow_directory_holds_a_call_and_a_chat_waits_for_it() {
    // Two clients the ERP knows, each answered in 700 ms (past the 200 ms
    // step budget); each asked once (the directory keeps a known client).
    let erp = MockServer::start().await;
    for code in ["555", "556"] {
        Mock::given(path(format!("/erp/clients/{code}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"code": code, "name": "MARIA DA SILVA (ERP)",
                        "installation": {"street": "R. Frei Caneca", "number": "400",
                        "neighbourhood": "Agronômica", "city": "Florianópolis", "state": "SC",
                        "cep": "88025-200", "lat": -27.5742767, "lng": -48.5319578}}))
                    .set_delay(Duration::from_millis(700)),
            )
            .mount(&erp)
            .await;
    }
    let url = format!("--client-directory-url={}/erp", erp.uri());
    let c = Chat::start_with_flags(
        TestDb::sqlite(),
        false,
        &[
            "--client-directory=http",
            &url,
            "--client-directory-token=engine-erp",
            "--step-budget-ms=200",
        ],
    )
    .await;
    // A chat: the conversation waits for the directory, so the answer to the
    // confirmed code is the address itself, with no hold message.
    let r = c.text("oi", 1).await;
    assert!(body(&r[0]).contains("consultar o seu cadastro"), "{r:?}");
    let r = c.text("555", 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    let r = c.button("yes", 1).await;
    let said = body(&r[0]);
    assert!(said.contains("A instalação é na Rua Frei Caneca"), "{said}");
    assert!(!said.contains("consultando"), "{said}");
    let r = c.button("yes", 2).await;
    assert!(body(&r[1]).contains("porta"), "{r:?}");
    // A call: past the step budget the caller holds; the poll hears the answer.
    let report = c.app.call(vec![keys("556"), keys("1"), keys("1")]).await;
    let text = heard(&report);
    assert!(text.contains("estou consultando o seu cadastro"), "{text}");
    assert!(text.contains("A instalação é na Rua Frei Caneca"), "{text}");
    assert!(text.contains("Reservamos"), "{text}");
    assert_eq!(c.app.sandbox.property_posts(), 2);
    assert_eq!(erp.received_requests().await.unwrap().len(), 2);
}
