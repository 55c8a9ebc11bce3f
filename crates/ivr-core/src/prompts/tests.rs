//! The prompts' loading and checks.

use super::*;
use crate::domain::ClientCode;

#[test]
fn shipped_files_are_complete() {
    for (lang, _) in SHIPPED {
        Prompts::shipped(lang).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_code_is_read_in_digit_groups_with_the_separator_word() {
    let p = Prompts::shipped("pt-BR").unwrap();
    let line =
        Line::new("code.confirm").arg("code", Arg::Code(ClientCode::parse("123|45").unwrap()));
    let parts = p.render(&line);
    assert!(parts.contains(&SayPart::Digits("123".into())));
    assert!(parts.contains(&SayPart::Digits("45".into())));
    assert!(parts.contains(&SayPart::Text(" barra ".into())));
}

#[test]
fn an_sms_is_plain_text_with_the_digits_written() {
    for lang in ["pt-BR", "en-US"] {
        let p = Prompts::shipped(lang).unwrap();
        let line = Line::new("sms.reserved")
            .arg("protocol", Arg::Digits("2025061200000042".into()))
            .arg("box", Arg::Text("CTO-AGR-01".into()))
            .arg("port", Arg::Digits("3".into()));
        let text = p.text(&line);
        assert!(text.contains("2025061200000042"), "{text}");
        assert!(
            text.contains("CTO-AGR-01") && text.contains(" 3 "),
            "{text}"
        );
        assert!(!text.contains('{') && !text.contains('<'), "{text}");
    }
    let p = Prompts::shipped("pt-BR").unwrap();
    let code =
        Line::new("code.confirm").arg("code", Arg::Code(ClientCode::parse("123|45").unwrap()));
    assert!(p.text(&code).contains("123|45"));
}

#[test]
fn every_form_of_a_port_sentence_exists_and_names_only_what_it_has() {
    use crate::domain::BoxName;
    let name = BoxName::parse("CTO-AGR-01").unwrap();
    for lang in ["pt-BR", "en-US"] {
        let p = Prompts::shipped(lang).unwrap();
        for forms in crate::flow::PORT_KEYS {
            for key in forms {
                assert!(p.texts.contains_key(key), "{lang}: {key}");
            }
            for (box_name, port) in [
                (Some(&name), Some(3)),
                (Some(&name), None),
                (None, Some(3)),
                (None, None),
            ] {
                let line = Line::port(forms[0], box_name, port, |n| Arg::Digits(n.to_string()))
                    .arg("protocol", Arg::Digits("2025061200000042".into()));
                let text = p.chat_text(&line);
                assert!(
                    !text.is_empty() && !text.contains('{'),
                    "{lang} {line:?}: {text}"
                );
                assert_eq!(text.contains("CTO-AGR-01"), box_name.is_some(), "{text}");
                assert_eq!(text.contains(" 3"), port.is_some(), "{text}");
            }
        }
    }
}

#[test]
fn a_chat_says_digite_and_falls_back_to_the_spoken_wording() {
    for lang in ["pt-BR", "en-US"] {
        let p = Prompts::shipped(lang).unwrap();
        for (key, _) in chat_keys() {
            let spoken = key.trim_start_matches("chat.");
            let text = p.chat_text(&Line::new(Box::leak(spoken.to_string().into_boxed_str())));
            assert!(
                !text.contains("tecle") && !text.contains("jogo da velha"),
                "{key}: {text}"
            );
            assert!(
                !text.contains("press") && !text.contains("pound"),
                "{key}: {text}"
            );
        }
        for (key, _) in CHAT_KEYS {
            assert!(p.texts.contains_key(key), "{lang}: {key}");
        }
    }
    // An operator's copy without a [chat] table still starts: the spoken
    // wording, and the shipped chat-only texts.
    let text = include_str!("../../../../prompts/pt-BR.toml");
    let cut = &text[..text.find("[chat]").unwrap()];
    let p = Prompts::parse("pt-BR", "x.toml", cut).unwrap();
    assert!(p.chat_text(&Line::new("code.ask")).contains("tecle"));
    assert!(
        p.chat_text(&Line::new("chat.media").clone())
            .contains("localização")
    );
}

#[test]
fn a_missing_key_names_the_file_and_the_key() {
    let text = include_str!("../../../../prompts/pt-BR.toml").replace("greeting =", "greetingx =");
    let err = Prompts::parse("pt-BR", "x/pt-BR.toml", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x/pt-BR.toml") && err.contains("\"greeting\""),
        "{err}"
    );
}

#[test]
fn an_unknown_placeholder_is_refused() {
    let text = include_str!("../../../../prompts/pt-BR.toml")
        .replace("Pronto! Reservamos a porta {port}", "Pronto! {nome} {port}");
    let err = Prompts::parse("pt-BR", "f.toml", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("outcome.reserved") && err.contains("{nome}"),
        "{err}"
    );
}
