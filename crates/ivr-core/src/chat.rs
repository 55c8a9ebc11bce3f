//! A flow [`Reply`] as chat messages: the same reply a call hears, written
//! with the chat's wording (`[chat]` in the prompts: "digite", not "tecle").
//!
//! A yes/no question becomes reply buttons (WhatsApp allows up to three), and
//! a pressed button comes back as the keypad digit the flow already knows
//! ([`button_digits`]), so the flow needs no chat-specific answers. A hold
//! says its line and nothing else: the chat is told the outcome when the work
//! is done. A transfer ends with where a person can be reached
//! (`WHATSAPP_AGENT_CONTACT`), since a chat cannot be dialled through.

use crate::flow::{Arg, AskKind, Line, Next, Reply};
use crate::prompts::Prompts;

/// The id of the "yes" reply button.
pub const BUTTON_YES: &str = "yes";
/// The id of the "no" reply button.
pub const BUTTON_NO: &str = "no";
/// WhatsApp's longest reply-button title.
const MAX_TITLE: usize = 20;
/// WhatsApp's longest text or interactive body.
const MAX_BODY: usize = 1024;

/// One message to send.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatMessage {
    Text(String),
    /// A question answered with buttons: `(id, title)` each.
    Buttons {
        body: String,
        buttons: Vec<(String, String)>,
    },
}

/// A pressed reply button as the keypad digit the flow understands.
pub fn button_digits(id: &str) -> Option<&'static str> {
    match id {
        BUTTON_YES => Some("1"),
        BUTTON_NO => Some("2"),
        _ => None,
    }
}

/// What rendering needs besides the reply.
pub struct ChatCtx<'a> {
    pub prompts: &'a Prompts,
    /// Where a person is reached after a handover; `None`: not said.
    pub agent_contact: Option<&'a str>,
}

impl ChatCtx<'_> {
    fn join(&self, lines: &[Line]) -> String {
        self.join_with(lines, " ")
    }

    fn join_with(&self, lines: &[Line], separator: &str) -> String {
        let text = lines
            .iter()
            .map(|l| self.prompts.chat_text(l))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(separator);
        truncate(&text, MAX_BODY)
    }

    /// One line by itself (the chat-only texts).
    pub fn line(&self, line: &Line) -> String {
        truncate(&self.prompts.chat_text(line), MAX_BODY)
    }

    /// The messages for `reply`, in order; never empty.
    pub fn render(&self, reply: &Reply) -> Vec<ChatMessage> {
        let mut out = Vec::new();
        match &reply.next {
            Next::Ask { kind, prompt } => {
                let mut lines = reply.lines.clone();
                lines.extend(prompt.iter().cloned());
                let body = self.join(&lines);
                if *kind == AskKind::Visit {
                    // The periods as a numbered list, one per line: a typed
                    // number (or "quinta de manhã") chooses.
                    let before = self.join(&reply.lines);
                    let list = self.join_with(prompt, "\n");
                    let body = if before.is_empty() {
                        list
                    } else {
                        format!("{before}\n\n{list}")
                    };
                    out.push(ChatMessage::Text(truncate(&body, MAX_BODY)));
                } else if *kind == AskKind::YesNo {
                    let title = |key| truncate(&self.prompts.chat_text(&Line::new(key)), MAX_TITLE);
                    out.push(ChatMessage::Buttons {
                        body,
                        buttons: vec![
                            (BUTTON_YES.to_string(), title("chat.button.yes")),
                            (BUTTON_NO.to_string(), title("chat.button.no")),
                        ],
                    });
                } else {
                    out.push(ChatMessage::Text(body));
                }
            }
            Next::Hold { .. } => {
                let body = if reply.lines.is_empty() {
                    self.line(&Line::new("chat.wait"))
                } else {
                    self.join(&reply.lines)
                };
                out.push(ChatMessage::Text(body));
            }
            Next::Transfer => {
                let mut lines = reply.lines.clone();
                if let Some(contact) = self.agent_contact {
                    lines.push(
                        Line::new("chat.agent_contact")
                            .arg("contact", Arg::Text(contact.to_string())),
                    );
                }
                out.push(ChatMessage::Text(self.join(&lines)));
            }
            Next::Hangup => out.push(ChatMessage::Text(self.join(&reply.lines))),
        }
        out
    }
}

/// At most `max` characters, cut on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => text[..i].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientCode;

    fn ctx(p: &Prompts) -> ChatCtx<'_> {
        ChatCtx {
            prompts: p,
            agent_contact: Some("(48) 3000-0000"),
        }
    }

    #[test]
    fn a_yes_no_question_is_buttons_and_says_no_keypad() {
        let p = Prompts::shipped("pt-BR").unwrap();
        let code = ClientCode::parse("123|45").unwrap();
        let reply = Reply {
            lines: vec![],
            next: Next::Ask {
                kind: AskKind::YesNo,
                prompt: vec![Line::new("code.confirm").arg("code", Arg::Code(code))],
            },
        };
        let out = ctx(&p).render(&reply);
        let [ChatMessage::Buttons { body, buttons }] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert!(body.contains("123|45") && !body.contains("tecle"), "{body}");
        assert_eq!(buttons[0], ("yes".to_string(), "Sim".to_string()));
        assert_eq!(buttons[1].0, "no");
        assert_eq!(button_digits("yes"), Some("1"));
        assert_eq!(button_digits("no"), Some("2"));
        assert_eq!(button_digits("x"), None);
    }

    #[test]
    fn a_visit_offer_is_a_numbered_list_without_keypad_words() {
        let p = Prompts::shipped("pt-BR").unwrap();
        let slot = |s| crate::agenda::Slot::parse(s).unwrap();
        let option = |s, k: &str| {
            Line::new("visit.option")
                .arg("slot", Arg::Slot(slot(s)))
                .arg("key", Arg::Text(k.into()))
        };
        let reply = Reply {
            lines: vec![Line::new("visit.taken")],
            next: Next::Ask {
                kind: AskKind::Visit,
                prompt: vec![
                    Line::new("visit.offer"),
                    option("2026-12-10/morning", "1"),
                    option("2026-12-12/afternoon", "2"),
                    Line::new("visit.later").arg("key", Arg::Text("9".into())),
                ],
            },
        };
        let out = ctx(&p).render(&reply);
        let [ChatMessage::Text(text)] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert!(
            text.contains("\n1 - quinta-feira, dia 10, de manhã\n"),
            "{text}"
        );
        assert!(text.contains("\n2 - sábado, dia 12, à tarde\n"), "{text}");
        assert!(text.ends_with("\n9 - agendar depois"), "{text}");
        assert!(text.starts_with("Esse período"), "{text}");
        assert!(!text.contains("tecle"), "{text}");
    }

    #[test]
    fn a_transfer_says_where_a_person_is_and_a_silent_hold_says_wait() {
        let p = Prompts::shipped("pt-BR").unwrap();
        let t = Reply {
            lines: vec![Line::new("transfer.requested")],
            next: Next::Transfer,
        };
        let out = ctx(&p).render(&t);
        let [ChatMessage::Text(text)] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert!(
            text.contains("(48) 3000-0000") && !text.contains("linha"),
            "{text}"
        );
        let hold = Reply {
            lines: vec![],
            next: Next::Hold { pause_s: 2 },
        };
        let out = ctx(&p).render(&hold);
        let [ChatMessage::Text(text)] = out.as_slice() else {
            panic!("{out:?}");
        };
        assert!(text.contains("aviso"), "{text}");
        assert_eq!(truncate("ação", 2), "aç");
    }
}
