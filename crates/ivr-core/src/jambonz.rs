//! jambonz's dialect: a flow [`Reply`] as a JSON array of verbs (`config`,
//! `say`, `gather`, `dial`, `pause`, `redirect`, `hangup`), and a jambonz
//! webhook's JSON body read into what the flow needs ([`HookBody`]).
//!
//! Every URL the platform calls next is `POST {public}/jambonz?hook=<name>&seq=N`
//! (with the protocol on the greeting's), so one route takes the call webhook
//! and every `actionHook`. A gather's result comes to its `actionHook` whatever
//! happened (`reason`: `speechDetected`, `dtmfDetected`, `timeout`, ...), so
//! unlike TwiML no redirect follows it. The words are the prompts' (plain text:
//! every speech vendor reads it), the recogniser the application's (`vendor:
//! "default"`) in the prompts' language, with the question's hints.

use crate::flow::{AskKind, Line, Next, Reply};
use crate::recogniser::split_hints;
use crate::render::RenderCtx;
use crate::twiml::SayPart;
use serde_json::{Map, Value, json};

/// The one route of the jambonz dialect.
pub const PATH: &str = "/jambonz";
/// The call status hook.
pub const STATUS_PATH: &str = "/jambonz/status";
/// The `Content-Type` of every jambonz answer.
pub const CONTENT_TYPE: &str = "application/json";
/// How strongly the recogniser favours the hints (jambonz passes it to the
/// vendors that take a boost: Google, Microsoft, Nuance, ...).
pub const HINTS_BOOST: u32 = 20;
/// How long the dialled agent may ring, in seconds.
const DIAL_TIMEOUT_S: u32 = 30;

/// Which hook a jambonz request is, from its URL's `hook=` (none: the call
/// webhook).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookName {
    Start,
    Answer,
    Poll,
    Dial,
    Resume,
}

impl HookName {
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::Start => "start",
            HookName::Answer => "answer",
            HookName::Poll => "poll",
            HookName::Dial => "dial",
            HookName::Resume => "resume",
        }
    }

    /// `None` (no `hook=`) is the call webhook; an unknown name is `Err`.
    pub fn parse(raw: Option<&str>) -> Result<HookName, UnknownHook> {
        Ok(match raw {
            None => HookName::Start,
            Some("answer") => HookName::Answer,
            Some("poll") => HookName::Poll,
            Some("dial") => HookName::Dial,
            Some("resume") => HookName::Resume,
            Some(_) => return Err(UnknownHook),
        })
    }
}

/// A `hook=` this service never hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown jambonz hook")]
pub struct UnknownHook;

/// What a gather's `actionHook` reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Gathered {
    /// `reason: "speechDetected"`: the best alternative.
    Speech {
        transcript: String,
        confidence: Option<f32>,
    },
    /// `reason: "dtmfDetected"`: the keys (the finishing key left out).
    Digits(String),
    /// `timeout`, or any other reason (an error of the recogniser): nothing
    /// heard.
    Nothing,
}

/// The fields of a jambonz webhook body the service reads (every hook carries
/// the call's `call_sid`, `from`, `to`, `call_status`).
#[derive(Clone, Debug, PartialEq)]
pub struct HookBody {
    pub call_sid: String,
    pub from: String,
    pub to: String,
    pub call_status: Option<String>,
    pub gathered: Gathered,
    /// The dial verb's `actionHook`: `dial_call_status`.
    pub dial_call_status: Option<String>,
}

/// Why a body is not a jambonz webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("not a JSON object")]
    NotJson,
    #[error("no call_sid")]
    NoCallSid,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

impl HookBody {
    pub fn parse(body: &[u8]) -> Result<HookBody, BodyError> {
        let v: Value = serde_json::from_slice(body).map_err(|_| BodyError::NotJson)?;
        if !v.is_object() {
            return Err(BodyError::NotJson);
        }
        let call_sid = text(&v, "call_sid")
            .filter(|s| !s.is_empty())
            .ok_or(BodyError::NoCallSid)?;
        let gathered = match v.get("reason").and_then(Value::as_str) {
            Some("speechDetected") => {
                let best = v
                    .get("speech")
                    .and_then(|s| s.get("alternatives"))
                    .and_then(Value::as_array)
                    .and_then(|a| a.first());
                match best.and_then(|b| text(b, "transcript")) {
                    Some(transcript) if !transcript.trim().is_empty() => Gathered::Speech {
                        transcript,
                        confidence: best
                            .and_then(|b| b.get("confidence"))
                            .and_then(Value::as_f64)
                            .map(|c| c as f32)
                            .filter(|c| c.is_finite() && (0.0..=1.0).contains(c)),
                    },
                    _ => Gathered::Nothing,
                }
            }
            Some("dtmfDetected") => match text(&v, "digits") {
                Some(d) if !d.is_empty() => Gathered::Digits(d),
                _ => Gathered::Nothing,
            },
            _ => Gathered::Nothing,
        };
        Ok(HookBody {
            call_sid,
            from: text(&v, "from").unwrap_or_default(),
            to: text(&v, "to").unwrap_or_default(),
            call_status: text(&v, "call_status"),
            gathered,
            dial_call_status: text(&v, "dial_call_status"),
        })
    }
}

impl RenderCtx<'_> {
    /// `{public}/jambonz?hook=<hook>&seq=N` (and the protocol on the greeting's).
    fn jambonz_url(&self, hook: HookName, seq: i64, protocol: Option<&str>) -> String {
        let mut url = format!("{}{PATH}?hook={}&seq={seq}", self.public_url, hook.as_str());
        if let Some(p) = protocol {
            url.push_str("&protocol=");
            url.push_str(p);
        }
        url
    }

    /// The lines as one plain text (digits read one by one).
    fn jambonz_text(&self, lines: &[Line]) -> String {
        let mut out = String::new();
        for line in lines {
            for part in self.prompts.render(line) {
                match part {
                    SayPart::Text(t) => out.push_str(&t),
                    SayPart::Digits(d) => {
                        let spaced: Vec<String> = d.chars().map(String::from).collect();
                        out.push_str(&spaced.join(" "));
                    }
                    SayPart::Break { .. } => out.push(' '),
                }
            }
            out.push(' ');
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn jambonz_say(&self, lines: &[Line]) -> Value {
        json!({ "verb": "say", "text": self.jambonz_text(lines) })
    }

    fn jambonz_recognizer(&self) -> Value {
        json!({ "vendor": "default", "language": self.language })
    }

    fn jambonz_gather(&self, kind: AskKind, lines: &[Line], url: String) -> Value {
        let a = self.ask_settings(kind);
        let mut recognizer = Map::new();
        recognizer.insert("vendor".into(), json!("default"));
        recognizer.insert("language".into(), json!(self.language));
        if let Some(hints) = &a.hints {
            let hints: Vec<&str> = split_hints(hints).collect();
            if !hints.is_empty() {
                recognizer.insert("hints".into(), json!(hints));
                recognizer.insert("hintsBoost".into(), json!(HINTS_BOOST));
            }
        }
        let mut g = Map::new();
        g.insert("verb".into(), json!("gather"));
        g.insert("input".into(), json!(["digits", "speech"]));
        g.insert("actionHook".into(), json!(url));
        g.insert("timeout".into(), json!(a.timeout));
        g.insert("bargein".into(), json!(true));
        g.insert("dtmfBargein".into(), json!(true));
        match (a.num_digits, a.finish_on_key) {
            // One key is the whole answer (yes/no).
            (Some(1), _) => {
                g.insert("numDigits".into(), json!(1));
            }
            (max, finish) => {
                g.insert("minDigits".into(), json!(1));
                if let Some(max) = max {
                    g.insert("maxDigits".into(), json!(max));
                }
                if let Some(key) = finish.filter(|k| !k.is_empty()) {
                    g.insert("finishOnKey".into(), json!(key));
                }
            }
        }
        g.insert("recognizer".into(), Value::Object(recognizer));
        g.insert("say".into(), json!({ "text": self.jambonz_text(lines) }));
        Value::Object(g)
    }

    /// The reply as jambonz verbs; the greeting's (with `protocol`) starts with
    /// a `config` naming the call's language for speech and recognition.
    pub fn jambonz_render_at(&self, reply: &Reply, seq: i64, protocol: Option<&str>) -> String {
        let mut verbs = Vec::new();
        if protocol.is_some() {
            verbs.push(json!({
                "verb": "config",
                "synthesizer": { "vendor": "default", "language": self.language },
                "recognizer": self.jambonz_recognizer(),
            }));
        }
        match &reply.next {
            Next::Ask { kind, prompt } => {
                let mut lines = reply.lines.clone();
                lines.extend(prompt.iter().cloned());
                let url = self.jambonz_url(HookName::Answer, seq, protocol);
                verbs.push(self.jambonz_gather(*kind, &lines, url));
            }
            Next::Hold { pause_s } => {
                if !reply.lines.is_empty() {
                    verbs.push(self.jambonz_say(&reply.lines));
                }
                verbs.push(json!({ "verb": "pause", "length": pause_s }));
                let url = self.jambonz_url(HookName::Poll, seq, protocol);
                verbs.push(json!({ "verb": "redirect", "actionHook": url }));
            }
            Next::Transfer => {
                if !reply.lines.is_empty() {
                    verbs.push(self.jambonz_say(&reply.lines));
                }
                match self.agent_number {
                    Some(number) => verbs.push(json!({
                        "verb": "dial",
                        "actionHook": self.jambonz_url(HookName::Dial, seq, protocol),
                        "timeout": DIAL_TIMEOUT_S,
                        "target": [{ "type": "phone", "number": number }],
                    })),
                    None => verbs.push(json!({ "verb": "hangup" })),
                }
            }
            Next::Hangup => {
                if !reply.lines.is_empty() {
                    verbs.push(self.jambonz_say(&reply.lines));
                }
                verbs.push(json!({ "verb": "hangup" }));
            }
        }
        Value::Array(verbs).to_string()
    }

    /// A hold outside the flow: `key` said (when given), a pause, then jambonz
    /// posts to `route` (a path with its query) on this service.
    pub fn jambonz_hold_at(&self, key: Option<&'static str>, pause_s: u32, route: &str) -> String {
        let mut verbs = Vec::new();
        if let Some(key) = key {
            verbs.push(self.jambonz_say(&[Line::new(key)]));
        }
        verbs.push(json!({ "verb": "pause", "length": pause_s }));
        verbs.push(
            json!({ "verb": "redirect", "actionHook": format!("{}{route}", self.public_url) }),
        );
        Value::Array(verbs).to_string()
    }

    /// A spoken sentence and goodbye.
    pub fn jambonz_apology(&self, key: &'static str) -> String {
        let verbs = vec![
            self.jambonz_say(&[Line::new(key)]),
            json!({ "verb": "hangup" }),
        ];
        Value::Array(verbs).to_string()
    }
}

/// The route a caller held while the database was slow comes back to (`n`:
/// holds so far).
pub fn resume_route(n: u32) -> String {
    format!("{PATH}?hook=resume&n={n}")
}

#[cfg(test)]
mod tests;
