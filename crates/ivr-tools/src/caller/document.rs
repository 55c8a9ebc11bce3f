//! Reading one TwiML answer into the steps the platform would run.
//!
//! The whole document is read before any verb runs: a verb TwiML does not define,
//! one we do not execute, a bad attribute or a verb nested where TwiML forbids it is
//! an error for the whole document, the way a schema check would flag it. URLs in
//! `action` and `<Redirect>` are resolved against the URL the document came from, as
//! the platform does. The result owns its data, so nothing borrowed from the XML is
//! held across an `.await`.

use url::Url;

use super::{CallError, GatherPrompt};

/// How an `action` or `<Redirect>` URL is requested (`method` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
}

impl Method {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One verb, ready to run.
#[derive(Clone, Debug)]
pub(super) enum Step {
    Say(String),
    Pause(u32),
    Play(String),
    Gather(GatherStep),
    Redirect {
        url: Url,
        method: Method,
    },
    Hangup,
    Dial {
        number: String,
        action: Option<(Url, Method)>,
    },
    Reject,
}

/// A `<Gather>`: what it tells the caller, and where its result goes.
#[derive(Clone, Debug)]
pub(super) struct GatherStep {
    pub(super) prompt: GatherPrompt,
    /// Nested `<Play>` and `<Pause>`, in order (nested `<Say>` text is in the prompt).
    pub(super) nested: Vec<Step>,
    pub(super) action: Url,
    pub(super) method: Method,
    pub(super) action_on_empty_result: bool,
}

/// Verbs (and nouns) TwiML defines that this executor does not run.
const UNSUPPORTED: &[&str] = &[
    "Record",
    "Enqueue",
    "Leave",
    "Sms",
    "Message",
    "Refer",
    "Connect",
    "Stream",
    "Start",
    "Stop",
    "Pay",
    "Prompt",
    "Siprec",
    "Queue",
    "Conference",
    "Echo",
    "Number",
    "Sip",
    "Client",
    "Parameter",
    "Task",
    "Transcription",
    "VirtualAgent",
    "Autopilot",
    "Room",
    "Application",
    "WhatsApp",
    "Identity",
    "Config",
];

/// How deep SSML inside `<Say>` is read; deeper markup is ignored.
const MAX_SSML_DEPTH: usize = 32;

/// Parses `xml` (fetched from `doc_url`) into the steps to run.
pub(super) fn parse(xml: &str, doc_url: &Url) -> Result<Vec<Step>, CallError> {
    // Default options refuse DTDs (no entity expansion tricks).
    let doc = roxmltree::Document::parse(xml).map_err(|e| CallError::MalformedXml {
        url: doc_url.to_string(),
        reason: e.to_string(),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(CallError::NotTwiml {
            url: doc_url.to_string(),
            root: root.tag_name().name().to_string(),
        });
    }
    root.children()
        .filter(|n| n.is_element())
        .map(|n| verb(n, doc_url))
        .collect()
}

fn verb(n: roxmltree::Node<'_, '_>, doc_url: &Url) -> Result<Step, CallError> {
    let name = n.tag_name().name();
    match name {
        "Say" => Ok(Step::Say(say_text(n))),
        "Pause" => Ok(Step::Pause(u32_attr(n, "length", doc_url)?.unwrap_or(1))),
        "Play" => Ok(Step::Play(play_text(n))),
        "Gather" => gather(n, doc_url).map(Step::Gather),
        "Redirect" => {
            let target = text_of(n);
            if target.is_empty() {
                return Err(invalid(doc_url, "Redirect", "no URL".into()));
            }
            Ok(Step::Redirect {
                url: resolve(doc_url, &target)?,
                method: method(n, doc_url)?,
            })
        }
        "Hangup" => Ok(Step::Hangup),
        "Reject" => Ok(Step::Reject),
        "Dial" => {
            let number = n
                .children()
                .find(|c| c.is_element())
                .map(text_of)
                .unwrap_or_else(|| text_of(n));
            if number.is_empty() {
                return Err(invalid(doc_url, "Dial", "nothing to dial".into()));
            }
            let action = match n.attribute("action") {
                Some(a) if !a.trim().is_empty() => {
                    Some((resolve(doc_url, a.trim())?, method(n, doc_url)?))
                }
                _ => None,
            };
            Ok(Step::Dial { number, action })
        }
        _ if UNSUPPORTED.contains(&name) => Err(CallError::UnsupportedVerb {
            url: doc_url.to_string(),
            verb: name.to_string(),
        }),
        _ => Err(CallError::UnknownVerb {
            url: doc_url.to_string(),
            verb: name.to_string(),
        }),
    }
}

fn gather(n: roxmltree::Node<'_, '_>, doc_url: &Url) -> Result<GatherStep, CallError> {
    let input = n
        .attribute("input")
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "dtmf".to_string());
    // Without `action` the platform posts to the document's own URL.
    let action = match n.attribute("action") {
        Some(a) if !a.trim().is_empty() => resolve(doc_url, a.trim())?,
        _ => doc_url.clone(),
    };
    let mut prompt_parts = Vec::new();
    let mut nested = Vec::new();
    for c in n.children().filter(|c| c.is_element()) {
        match c.tag_name().name() {
            "Say" => prompt_parts.push(say_text(c)),
            "Play" => nested.push(Step::Play(play_text(c))),
            "Pause" => nested.push(Step::Pause(u32_attr(c, "length", doc_url)?.unwrap_or(1))),
            other => {
                return Err(invalid(
                    doc_url,
                    "Gather",
                    format!("<{other}> cannot be nested in <Gather>"),
                ));
            }
        }
    }
    let prompt_text = prompt_parts
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(GatherStep {
        prompt: GatherPrompt {
            input,
            num_digits: u32_attr(n, "numDigits", doc_url)?,
            finish_on_key: n.attribute("finishOnKey").unwrap_or("#").to_string(),
            timeout: u32_attr(n, "timeout", doc_url)?,
            hints: n.attribute("hints").map(str::to_string),
            prompt_text,
            action: action.to_string(),
        },
        nested,
        action,
        method: method(n, doc_url)?,
        action_on_empty_result: n
            .attribute("actionOnEmptyResult")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
    })
}

/// What `<Say>` speaks: its text and the text of its SSML children, with spaces
/// where `<break>`, `<p>` and `<s>` separate words, and `<sub alias>` read as its
/// alias. Runs of whitespace become one space.
fn say_text(n: roxmltree::Node<'_, '_>) -> String {
    let mut out = String::new();
    collect_text(n, &mut out, 0);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn collect_text(n: roxmltree::Node<'_, '_>, out: &mut String, depth: usize) {
    if depth > MAX_SSML_DEPTH {
        return;
    }
    for c in n.children() {
        if c.is_text() {
            out.push_str(c.text().unwrap_or(""));
        } else if c.is_element() {
            let name = c.tag_name().name();
            let spaced = matches!(name, "break" | "p" | "s");
            if spaced {
                out.push(' ');
            }
            match (name, c.attribute("alias")) {
                ("sub", Some(alias)) => out.push_str(alias),
                _ => collect_text(c, out, depth + 1),
            }
            if spaced {
                out.push(' ');
            }
        }
    }
}

/// `<Play>`: the URL, or the DTMF tones it sends (`digits`).
fn play_text(n: roxmltree::Node<'_, '_>) -> String {
    match n.attribute("digits") {
        Some(d) if text_of(n).is_empty() => format!("digits {d}"),
        _ => text_of(n),
    }
}

/// The element's own text, trimmed.
fn text_of(n: roxmltree::Node<'_, '_>) -> String {
    n.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_string()
}

fn u32_attr(
    n: roxmltree::Node<'_, '_>,
    attr: &str,
    doc_url: &Url,
) -> Result<Option<u32>, CallError> {
    match n.attribute(attr) {
        None => Ok(None),
        Some(v) => v.trim().parse::<u32>().map(Some).map_err(|_| {
            invalid(
                doc_url,
                n.tag_name().name(),
                format!("{attr}={v:?} is not a whole number"),
            )
        }),
    }
}

fn method(n: roxmltree::Node<'_, '_>, doc_url: &Url) -> Result<Method, CallError> {
    match n.attribute("method").map(str::trim) {
        None => Ok(Method::Post),
        Some(m) if m.eq_ignore_ascii_case("POST") => Ok(Method::Post),
        Some(m) if m.eq_ignore_ascii_case("GET") => Ok(Method::Get),
        Some(m) => Err(invalid(
            doc_url,
            n.tag_name().name(),
            format!("method={m:?} is neither GET nor POST"),
        )),
    }
}

/// Resolves `target` against the document URL; only http(s) can be fetched.
pub(super) fn resolve(base: &Url, target: &str) -> Result<Url, CallError> {
    let url = base.join(target).map_err(|e| CallError::InvalidUrl {
        url: target.to_string(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(CallError::InvalidUrl {
            url: target.to_string(),
            reason: format!("scheme {other:?} is not http or https"),
        }),
    }
}

fn invalid(doc_url: &Url, verb: &str, reason: String) -> CallError {
    CallError::InvalidVerb {
        url: doc_url.to_string(),
        verb: verb.to_string(),
        reason,
    }
}
