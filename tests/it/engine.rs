//! The session engine's suite, run through every adapter: the same sessions
//! walked as a phone call (TwiML, as a platform walks it) and as a WhatsApp
//! conversation, on one service, in every order. Each client reserves one port,
//! hears it, and a later session of the same client (on either channel) hears
//! the same port read back as existing; OZmap gets one property.

use super::whatsapp::{Chat, body, up_to_the_address};
use ivr_tools::caller::CallEnd;
use test_support::*;

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
