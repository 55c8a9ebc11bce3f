//! Addresses as a real recogniser hears them (issue 23), through the real
//! service with the bundled gazetteer and the sandbox, on the phone and in a
//! WhatsApp chat: a number not heard is asked, never read back as "sem
//! número"; a number split by a pause is asked, never read back as a sure
//! scrap of itself; abbreviations are read back in full; several streets named
//! get the question that separates them.

use crate::whatsapp::{Chat, body, is_buttons, up_to_the_address as chat_to_the_address};
use ivr_tools::caller::{CallEvent, CallReport, GatherPrompt};
use test_support::*;

fn up_to_the_address(address: &str) -> Vec<ivr_tools::caller::Answer> {
    vec![keys("321"), keys("1"), say("Ana Souza"), say(address)]
}

/// The question whose prompt says `text`.
fn question<'a>(report: &'a CallReport, text: &str) -> &'a GatherPrompt {
    report
        .events
        .iter()
        .find_map(|e| match e {
            CallEvent::Gather(g) if g.prompt_text.contains(text) => Some(g),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no question says {text:?}: {}", heard(report)))
}

const MISSING: &str = "Não entendi o número da casa. Digite o número da casa e tecle jogo da velha; se não tiver número, tecle asterisco.";
const UNSURE: &str = "Não tenho certeza do número da casa.";

#[tokio::test]
async fn a_street_alone_gets_its_number_asked_on_the_keypad_and_read_back_with_it() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address("Rua Delminda Silveira");
    answers.push(keys("900#"));
    answers.push(keys("1"));
    let report = app.call(answers).await;
    let text = heard(&report);
    let asked = question(&report, MISSING);
    assert_eq!(asked.finish_on_key, "#");
    assert!(asked.accepts_keys() && asked.accepts_speech(), "{asked:?}");
    assert!(
        text.contains("O endereço é Rua Delminda Silveira, 900, Agronômica, Florianópolis"),
        "{text}"
    );
    assert!(
        !text.contains("s/n") && !text.contains("sem número"),
        "{text}"
    );
    assert_eq!(text.matches("O endereço é").count(), 1, "{text}");
    assert!(text.contains("Reservamos"), "{text}");
    let props = app.sandbox.properties();
    assert_eq!(props.len(), 1);
    assert!(
        props[0]
            .to_string()
            .contains("R. Delminda Silveira, 900 - Agronômica"),
        "{}",
        props[0]
    );
}

#[tokio::test]
async fn star_at_that_question_is_read_back_as_sem_numero_and_reserved_as_s_n() {
    let app = TestApp::spawn(&[]).await;
    // The recogniser lost the number: "nome feintos" is all that is left.
    let mut answers = up_to_the_address("Rua Delminda Silveira, nome feintos, Arronômica");
    // `*` then `#`: the platform posts Digits="*".
    answers.push(keys("*#"));
    answers.push(keys("1"));
    let report = app.call(answers).await;
    let text = heard(&report);
    question(&report, MISSING);
    assert!(
        text.contains("O endereço é Rua Delminda Silveira, sem número, Agronômica, Florianópolis"),
        "{text}"
    );
    assert!(text.contains("Reservamos"), "{text}");
    let props = app.sandbox.properties();
    assert!(
        props[0]
            .to_string()
            .contains("R. Delminda Silveira, s/n - Agronômica"),
        "{}",
        props[0]
    );
}

#[tokio::test]
async fn sem_numero_said_is_read_back_without_the_question() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address("Rua Delminda Silveira, sem número, Agronômica");
    answers.push(keys("2"));
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(!text.contains("número da casa"), "{text}");
    assert!(
        text.contains("O endereço é Rua Delminda Silveira, sem número, Agronômica"),
        "{text}"
    );
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn mil_comma_quinhentos_is_asked_not_read_back_as_a_sure_1000() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address("Rua Lauro Linhares número mil, quinhentos");
    answers.push(keys("1500"));
    answers.push(keys("2"));
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(text.contains(UNSURE), "{text}");
    assert_eq!(question(&report, UNSURE).finish_on_key, "#");
    assert!(!text.contains("Lauro Linhares, 1000"), "{text}");
    assert!(
        text.contains("O endereço é Rua Lauro Linhares, 1500, Trindade, Florianópolis"),
        "{text}"
    );
    // Said at that question instead of typed: the same number.
    let mut answers = up_to_the_address("Rua Lauro Linhares número mil, quinhentos");
    answers.push(say("mil e quinhentos"));
    answers.push(keys("2"));
    let text = heard(&app.call(answers).await);
    assert!(
        text.contains("O endereço é Rua Lauro Linhares, 1500, Trindade"),
        "{text}"
    );
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn silence_and_a_wrong_key_at_that_question_are_forgiven() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address("Rua Delminda Silveira");
    answers.push(silence());
    answers.push(keys("12*3"));
    answers.push(keys("900"));
    answers.push(keys("2"));
    let text = heard(&app.call(answers).await);
    assert!(text.contains("Não ouvi nada."), "{text}");
    assert!(text.contains("Não entendi o número."), "{text}");
    assert!(
        text.contains("O endereço é Rua Delminda Silveira, 900"),
        "{text}"
    );
}

#[tokio::test]
async fn a_split_hundred_and_an_abbreviated_street_are_read_back_in_full_words() {
    let app = TestApp::spawn(&[]).await;
    let mut answers =
        up_to_the_address("Rua Desembargador Vitor Lima, quatro cento e quarenta e cinco");
    answers.push(keys("2"));
    let text = heard(&app.call(answers).await);
    // The gazetteer writes "R. Des. Vitor Lima".
    assert!(
        text.contains("O endereço é Rua Desembargador Vitor Lima, 445, Trindade, Florianópolis"),
        "{text}"
    );
    assert!(!text.contains("Des.") && !text.contains("R. "), "{text}");
    let mut answers = up_to_the_address("Travessa Ratcliff 42, Centro");
    answers.push(keys("2"));
    let text = heard(&app.call(answers).await);
    assert!(
        text.contains("O endereço é Travessa Ratcliff, 42, Centro, Florianópolis"),
        "{text}"
    );
}

#[tokio::test]
async fn two_streets_named_get_the_question_that_separates_them() {
    let app = TestApp::spawn(&[]).await;
    let mut answers = up_to_the_address("Rua Lauro Linhares, Rua Delminda Silveira 900");
    answers.push(keys("2")); // not the first one named
    answers.push(keys("2"));
    let report = app.call(answers).await;
    let text = heard(&report);
    assert!(text.contains("Só para confirmar: é na Rua"), "{text}");
    assert!(text.contains("O endereço é Rua"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn whatsapp_a_street_alone_gets_its_number_asked_and_a_split_number_too() {
    let c = Chat::start().await;
    chat_to_the_address(&c).await;
    let r = c.text("Rua Delminda Silveira", 1).await;
    let asked = body(&r[0]);
    assert!(!is_buttons(&r[0]), "{r:?}");
    assert!(
        asked.contains("Não entendi o número da casa. Digite o número"),
        "{asked}"
    );
    assert!(
        !asked.contains("tecle") && !asked.contains("s/n"),
        "{asked}"
    );
    let r = c.text("900", 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    assert!(
        body(&r[0]).contains("O endereço é Rua Delminda Silveira, 900, Agronômica"),
        "{r:?}"
    );
    // "no", then a number split by a pause: asked, not a sure 1000
    let r = c.button("no", 1).await;
    assert!(body(&r[0]).contains("endereço"), "{r:?}");
    let r = c.text("Rua Lauro Linhares número mil, quinhentos", 1).await;
    assert!(body(&r[0]).contains(UNSURE), "{r:?}");
    assert!(!body(&r[0]).contains("1000"), "{r:?}");
    let r = c.text("sem número", 1).await;
    assert!(
        body(&r[0]).contains("O endereço é Rua Lauro Linhares, sem número, Trindade"),
        "{r:?}"
    );
    assert_eq!(c.app.sandbox.property_posts(), 0);
}
