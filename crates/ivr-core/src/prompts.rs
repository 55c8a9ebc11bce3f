//! The spoken texts, by key, from `prompts/<language>.toml`.
//!
//! The shipped files are compiled in ([`Prompts::shipped`]), so the binary runs
//! from any directory; the service reads an operator's edited copy
//! (`IVR_PROMPTS_DIR`) and hands its text to [`Prompts::parse_over`], over the
//! shipped file of its language: a key the copy lacks (one added by a later
//! version) keeps the shipped text and the start warns about it. Every key may
//! use only the placeholders listed for it, and a key in the copy must be a
//! text: a bad file stops the start with an error naming the file and the key,
//! never a broken sentence in the middle of a call.

use crate::flow::{Arg, Line};
use crate::twiml::SayPart;
use std::collections::HashMap;

/// Every key the flow and the web layer use, with the placeholders each may hold.
pub const KEYS: &[(&str, &[&str])] = &[
    ("greeting", &["company"]),
    ("greeting_generic", &[]),
    ("privacy", &[]),
    ("privacy_directory", &[]),
    ("protocol.say", &["protocol"]),
    ("protocol.again", &["protocol"]),
    ("agent.anytime", &[]),
    ("agent.closed", &["hours"]),
    ("agent.closed_now", &[]),
    ("agent.failed", &[]),
    ("separator", &[]),
    ("no_input", &[]),
    ("code.ask", &[]),
    ("code.retry", &[]),
    ("code.last", &[]),
    ("code.confirm", &["code"]),
    ("code.confirm_retry", &["code"]),
    ("code.again", &[]),
    ("client.looking_up", &[]),
    ("client.unknown", &[]),
    ("client.installation", &["address"]),
    ("client.installation_retry", &["address"]),
    ("client.other_address", &[]),
    ("name.ask", &[]),
    ("name.retry", &[]),
    ("name.last", &[]),
    ("address.ask", &[]),
    ("address.retry", &[]),
    ("address.last", &[]),
    ("address.confirm", &["address"]),
    ("address.confirm_retry", &["address"]),
    ("address.again", &[]),
    ("address.searching", &[]),
    ("address.not_found", &[]),
    ("address.confirm_unsure", &["address"]),
    ("address.again_cep", &[]),
    ("address.which_street", &["street"]),
    ("address.which_neighbourhood", &["neighbourhood"]),
    ("address.which_city", &["city"]),
    ("address.street_not_found", &[]),
    ("street.ask", &["town"]),
    ("street.retry", &["town"]),
    ("number.ask", &[]),
    ("number.retry", &[]),
    ("number.last", &[]),
    ("number.missing", &[]),
    ("number.unsure", &[]),
    ("reserve.hold", &[]),
    ("wait.moment", &[]),
    ("outcome.reserved", &["box", "port"]),
    ("outcome.reserved_no_port", &["box"]),
    ("outcome.existing", &["box", "port"]),
    ("outcome.existing_no_port", &["box"]),
    // The box's name not known yet: said without it (never with the box's id).
    ("outcome.reserved_no_box", &["port"]),
    ("outcome.reserved_no_box_no_port", &[]),
    ("outcome.existing_no_box", &["port"]),
    ("outcome.existing_no_box_no_port", &[]),
    ("outcome.not_viable", &[]),
    ("outcome.failed", &[]),
    ("outcome.delayed", &[]),
    // Past the hold while OZmap has not confirmed a property it was sent.
    ("outcome.confirming", &[]),
    ("agent.offer", &[]),
    ("agent.unavailable", &[]),
    ("transfer.give_up", &[]),
    ("transfer.requested", &[]),
    ("goodbye.default", &[]),
    ("goodbye.give_up", &[]),
    ("goodbye.reserved", &[]),
    ("goodbye.after_agent", &[]),
    ("not_understood.code", &[]),
    ("not_understood.yes_no", &[]),
    ("not_understood.name", &[]),
    ("not_understood.cep", &[]),
    ("not_understood.address", &[]),
    ("not_understood.number", &[]),
    ("not_understood.street", &[]),
    ("error.apology", &[]),
    // Too many new calls from the caller's number (`IVR_RATE_CALLS_PER_MINUTE`).
    ("error.busy", &[]),
    // Too many requests from one source address (`IVR_RATE_REQUESTS_PER_SECOND`):
    // a platform's own address, so about the service, not the caller's number.
    ("error.busy_address", &[]),
    ("hints.code", &[]),
    ("hints.yes_no", &[]),
    ("hints.address", &[]),
    ("hints.number", &[]),
    ("hints.visit", &[]),
    // The technician's visit (SCHEDULE): the offer after the reservation.
    ("outcome.reserved_visit", &["box", "port"]),
    ("outcome.reserved_visit_no_port", &["box"]),
    ("outcome.reserved_visit_no_box", &["port"]),
    ("outcome.reserved_visit_no_box_no_port", &[]),
    ("outcome.existing_visit", &["box", "port"]),
    ("outcome.existing_visit_no_port", &["box"]),
    ("outcome.existing_visit_no_box", &["port"]),
    ("outcome.existing_visit_no_box_no_port", &[]),
    ("visit.offer", &[]),
    ("visit.offer_retry", &[]),
    ("visit.option", &["slot", "key"]),
    ("visit.more", &["key"]),
    ("visit.later", &["key"]),
    ("visit.booked", &["slot"]),
    ("visit.taken", &[]),
    ("visit.no_more", &[]),
    ("visit.skipped", &[]),
    ("visit.none", &[]),
    ("visit.failed", &[]),
    ("visit.already", &["slot"]),
    ("not_understood.visit", &[]),
    // The link by SMS where a caller marks the house (issue 26), on a call.
    ("location.key", &["key"]),
    ("location.offer", &[]),
    ("location.offer_retry", &[]),
    ("location.sending", &[]),
    ("location.waiting", &[]),
    ("location.sms_failed", &[]),
    ("location.expired", &[]),
    ("location.arrived", &[]),
    // The outcome in writing, sent by SMS after the call (plain text, no SSML).
    ("sms.reserved", &["protocol", "box", "port"]),
    ("sms.reserved_no_port", &["protocol", "box"]),
    ("sms.existing", &["protocol", "box", "port"]),
    ("sms.existing_no_port", &["protocol", "box"]),
    ("sms.reserved_no_box", &["protocol", "port"]),
    ("sms.reserved_no_box_no_port", &["protocol"]),
    ("sms.existing_no_box", &["protocol", "port"]),
    ("sms.existing_no_box_no_port", &["protocol"]),
    ("sms.not_viable", &["protocol"]),
    // With visits offered (SCHEDULE): the outcome, then how to book a visit
    // (`sms.visit_how`), replaced by the visit booked (`sms.visit`).
    ("sms.reserved_visit", &["protocol", "box", "port"]),
    ("sms.reserved_visit_no_port", &["protocol", "box"]),
    ("sms.reserved_visit_no_box", &["protocol", "port"]),
    ("sms.reserved_visit_no_box_no_port", &["protocol"]),
    ("sms.existing_visit", &["protocol", "box", "port"]),
    ("sms.existing_visit_no_port", &["protocol", "box"]),
    ("sms.existing_visit_no_box", &["protocol", "port"]),
    ("sms.existing_visit_no_box_no_port", &["protocol"]),
    ("sms.visit_how", &[]),
    ("sms.visit_team", &[]),
    ("sms.visit", &["slot"]),
    ("sms.visit_booked", &["protocol", "slot"]),
    ("sms.failed", &["protocol"]),
    // A visit an operator moved or cancelled (`when`: its day and period, written).
    ("sms.visit_moved", &["protocol", "when"]),
    ("sms.visit_cancelled", &["protocol", "when"]),
    // The reservation released (its days past, or an operator's word): SMS, or
    // the same text in the chat that made it.
    ("sms.released", &["protocol"]),
    // The link where a caller marks the house (issue 26): one SMS, so plain
    // GSM-7 characters and short.
    ("sms.location_link", &["url"]),
];

/// The chat's own wording (`[chat]`): optional in an operator's copy, where a
/// missing one falls back to the spoken key of the same name (`chat.code.ask` →
/// `code.ask`); the keys that exist only in a chat fall back to the shipped text.
/// The placeholders are those of the spoken key, or the ones listed here.
pub const CHAT_KEYS: &[(&str, &[&str])] = &[
    ("chat.wait", &[]),
    ("chat.media", &[]),
    ("chat.agent_contact", &["contact"]),
    ("chat.previous", &["protocol", "box", "port"]),
    ("chat.previous_no_port", &["protocol", "box"]),
    ("chat.previous_no_box", &["protocol", "port"]),
    ("chat.previous_no_box_no_port", &["protocol"]),
    ("chat.button.yes", &[]),
    ("chat.button.no", &[]),
];

const SHIPPED: &[(&str, &str)] = &[
    ("pt-BR", include_str!("../../../prompts/pt-BR.toml")),
    ("en-US", include_str!("../../../prompts/en-US.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(
        "prompts: no file for language {0:?} (shipped: pt-BR, en-US; or put {0}.toml in IVR_PROMPTS_DIR)"
    )]
    UnknownLanguage(String),
    #[error("prompts: {file} is not valid TOML: {message}")]
    Parse { file: String, message: String },
    #[error("prompts: {file} has no key {key:?}")]
    Missing { file: String, key: String },
    #[error("prompts: {file}, key {key:?}: {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
}

/// One piece of a sentence: fixed words or a placeholder.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Slot(String),
}

#[derive(Clone, Debug)]
pub struct Prompts {
    language: String,
    texts: HashMap<&'static str, Vec<Piece>>,
}

impl Prompts {
    /// The shipped prompts for `language`.
    pub fn shipped(language: &str) -> Result<Self, PromptError> {
        let text = SHIPPED
            .iter()
            .find(|(l, _)| *l == language)
            .map(|(_, t)| *t)
            .ok_or_else(|| PromptError::UnknownLanguage(language.to_string()))?;
        Self::parse(
            language,
            &format!("prompts/{language}.toml (built in)"),
            text,
        )
    }

    pub fn parse(language: &str, file: &str, text: &str) -> Result<Self, PromptError> {
        Self::parse_over(language, file, text, None).map(|(p, _)| p)
    }

    /// An operator's edited copy over `base` (the shipped file of the same
    /// language): a key the copy lacks, one added since it was made, takes the
    /// base's text and is named in the returned list, so the start can warn.
    /// A key the copy has must still be valid; without a base every key must be
    /// there.
    pub fn parse_over(
        language: &str,
        file: &str,
        text: &str,
        base: Option<&Prompts>,
    ) -> Result<(Self, Vec<&'static str>), PromptError> {
        let value: toml::Table = toml::from_str(text).map_err(|e| PromptError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let mut flat = HashMap::new();
        let mut other = Vec::new();
        flatten("", &toml::Value::Table(value), &mut flat, &mut other);
        let known = |k: &String| {
            KEYS.iter().any(|(known, _)| known == k) || chat_keys().any(|(known, _)| known == k)
        };
        if let Some(key) = other.iter().find(|k| known(k)) {
            return Err(PromptError::Invalid {
                file: file.to_string(),
                key: key.clone(),
                message: "must be a text in quotes".into(),
            });
        }
        let mut texts = HashMap::new();
        let mut from_base = Vec::new();
        for (key, allowed) in KEYS {
            let Some(raw) = flat.get(*key) else {
                match base.and_then(|b| b.texts.get(key)) {
                    Some(pieces) => {
                        texts.insert(*key, pieces.clone());
                        from_base.push(*key);
                        continue;
                    }
                    None => {
                        return Err(PromptError::Missing {
                            file: file.to_string(),
                            key: key.to_string(),
                        });
                    }
                }
            };
            let pieces = split(raw).map_err(|message| PromptError::Invalid {
                file: file.to_string(),
                key: key.to_string(),
                message,
            })?;
            for p in &pieces {
                if let Piece::Slot(name) = p
                    && !allowed.contains(&name.as_str())
                {
                    return Err(PromptError::Invalid {
                        file: file.to_string(),
                        key: key.to_string(),
                        message: format!(
                            "unknown placeholder {{{name}}} (allowed here: {})",
                            if allowed.is_empty() {
                                "none".to_string()
                            } else {
                                allowed.join(", ")
                            }
                        ),
                    });
                }
            }
            if pieces.is_empty() && !key.starts_with("hints.") {
                return Err(PromptError::Invalid {
                    file: file.to_string(),
                    key: key.to_string(),
                    message: "is empty".into(),
                });
            }
            texts.insert(*key, pieces);
        }
        // The chat's wording: checked when present, else the base's (the
        // shipped file of the language when none is given).
        let shipped = match base {
            Some(_) => None,
            None => SHIPPED
                .iter()
                .find(|(l, _)| *l == language)
                .map(|(_, t)| *t)
                .filter(|t| *t != text)
                .and_then(|t| Self::parse(language, "shipped", t).ok()),
        };
        let fallback = base.or(shipped.as_ref());
        for (key, allowed) in chat_keys() {
            let chat = match flat.get(key) {
                Some(raw) => check(file, key, allowed, raw)?,
                None => match fallback.and_then(|s| s.texts.get(key)) {
                    Some(pieces) if CHAT_KEYS.iter().any(|(k, _)| *k == key) => {
                        if base.is_some() {
                            from_base.push(key);
                        }
                        pieces.clone()
                    }
                    _ => continue,
                },
            };
            texts.insert(key, chat);
        }
        Ok((
            Self {
                language: language.to_string(),
                texts,
            },
            from_base,
        ))
    }

    /// A line as a chat writes it: its `chat.` wording when there is one, else
    /// the spoken one, as plain text (see [`Prompts::text`]).
    pub fn chat_text(&self, line: &Line) -> String {
        let chat = format!("chat.{}", line.key);
        match self.texts.get_key_value(chat.as_str()) {
            Some((key, _)) => self.text(&Line {
                key,
                args: line.args.clone(),
            }),
            None => self.text(line),
        }
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    /// The plain text of a key without placeholders (hints, for instance).
    pub fn plain(&self, key: &str) -> String {
        self.texts
            .get(key)
            .map(|ps| {
                ps.iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.as_str(),
                        Piece::Slot(_) => "",
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A line as plain text (an SMS), placeholders filled: digits as digits, a
    /// client code as written (`123|45`).
    pub fn text(&self, line: &Line) -> String {
        let Some(pieces) = self.texts.get(line.key) else {
            return String::new();
        };
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(name) => {
                    match line.args.iter().find(|(n, _)| n == name).map(|(_, a)| a) {
                        Some(Arg::Text(t) | Arg::Digits(t)) => out.push_str(t),
                        Some(Arg::Code(code)) => out.push_str(code.as_str()),
                        Some(Arg::Slot(slot)) => out.push_str(&self.slot(slot)),
                        None => {}
                    }
                }
            }
        }
        out
    }

    /// A visit's period in this file's language ("quinta-feira, dia 10, de
    /// manhã"; "Thursday the 10th, in the morning").
    pub fn slot(&self, slot: &crate::agenda::Slot) -> String {
        crate::agenda::spoken::say(slot, &self.language)
    }

    /// A line rendered as SSML parts, placeholders filled.
    pub fn render(&self, line: &Line) -> Vec<SayPart> {
        let mut out = Vec::new();
        let Some(pieces) = self.texts.get(line.key) else {
            return out;
        };
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push(SayPart::Text(t.clone())),
                Piece::Slot(name) => {
                    match line.args.iter().find(|(n, _)| n == name).map(|(_, a)| a) {
                        Some(Arg::Text(t)) => out.push(SayPart::Text(t.clone())),
                        Some(Arg::Digits(d)) => out.push(SayPart::Digits(d.clone())),
                        Some(Arg::Slot(slot)) => out.push(SayPart::Text(self.slot(slot))),
                        Some(Arg::Code(code)) => {
                            for (i, group) in code.groups().enumerate() {
                                if i > 0 {
                                    out.push(SayPart::Text(format!(
                                        " {} ",
                                        self.plain("separator")
                                    )));
                                }
                                out.push(SayPart::Digits(group.to_string()));
                            }
                        }
                        None => {}
                    }
                }
            }
        }
        out
    }
}

/// Every `chat.` key: the chat's own, and one per spoken key (its placeholders).
fn chat_keys() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    use std::sync::OnceLock;
    static NAMES: OnceLock<Vec<(&'static str, &'static [&'static str])>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            let spoken = KEYS.iter().map(|(k, a)| {
                let name: &'static str = Box::leak(format!("chat.{k}").into_boxed_str());
                (name, *a)
            });
            CHAT_KEYS.iter().copied().chain(spoken).collect()
        })
        .iter()
        .copied()
}

/// One text checked: it splits, uses only `allowed` placeholders, is not empty.
fn check(file: &str, key: &str, allowed: &[&str], raw: &str) -> Result<Vec<Piece>, PromptError> {
    let invalid = |message: String| PromptError::Invalid {
        file: file.to_string(),
        key: key.to_string(),
        message,
    };
    let pieces = split(raw).map_err(invalid)?;
    for p in &pieces {
        if let Piece::Slot(name) = p
            && !allowed.contains(&name.as_str())
        {
            return Err(invalid(format!(
                "unknown placeholder {{{name}}} (allowed here: {})",
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
    }
    if pieces.is_empty() {
        return Err(invalid("is empty".into()));
    }
    Ok(pieces)
}

/// Texts by dotted key into `out`; keys holding anything else into `other`.
fn flatten(
    prefix: &str,
    v: &toml::Value,
    out: &mut HashMap<String, String>,
    other: &mut Vec<String>,
) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out, other);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        _ => other.push(prefix.to_string()),
    }
}

fn split(raw: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a '{' is not closed")?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad placeholder {{{name}}}"));
        }
        pieces.push(Piece::Slot(name.to_string()));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("a '}' has no '{'".into());
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests;
