//! What the caller answers: the [`Answer`]s, the [`GatherPrompt`] they answer,
//! whoever gives them ([`Answerer`], [`Scripted`]), and what a `<Gather>` posts
//! for each, the way the platform collects it.

use std::collections::VecDeque;
use std::fmt;

use super::Redacted;
use super::http::param;

/// The confidence reported with every speech result.
const SPEECH_CONFIDENCE: &str = "0.92";

/// What the caller does when a `<Gather>` listens.
#[derive(Clone, PartialEq, Eq)]
pub enum Answer {
    /// Keys pressed, e.g. `"123#"`.
    Keys(String),
    /// Words spoken (the platform's transcription).
    Speech(String),
    /// Nothing: the Gather times out.
    Silence,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Keys(k) => write!(f, "Keys({:?})", Redacted(k)),
            Answer::Speech(s) => write!(f, "Speech({:?})", Redacted(s)),
            Answer::Silence => f.write_str("Silence"),
        }
    }
}

/// Reads one scripted answer: `keys:123#` → keys, `say:Gabriel` → speech,
/// `silence` or nothing → silence. Without a prefix, a text made only of `0-9*#`
/// is keys and anything else is speech. An empty keys or speech text is silence.
pub(super) fn parse_answer(s: &str) -> Answer {
    let s = s.trim();
    let prefixed = |p: &str| {
        s.get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .map(|_| s[p.len()..].trim())
    };
    if let Some(keys) = prefixed("keys:") {
        let keys: String = keys.chars().filter(|c| !c.is_whitespace()).collect();
        return if keys.is_empty() {
            Answer::Silence
        } else {
            Answer::Keys(keys)
        };
    }
    if let Some(words) = prefixed("say:").or_else(|| prefixed("speech:")) {
        return if words.is_empty() {
            Answer::Silence
        } else {
            Answer::Speech(words.to_string())
        };
    }
    if s.is_empty() || s.eq_ignore_ascii_case("silence") {
        Answer::Silence
    } else if s.chars().all(is_dtmf) {
        Answer::Keys(s.to_string())
    } else {
        Answer::Speech(s.to_string())
    }
}

fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// What a `<Gather>` accepts and says, as shown to whoever answers.
#[derive(Clone, PartialEq, Eq)]
pub struct GatherPrompt {
    /// `dtmf`, `speech` or `dtmf speech`.
    pub input: String,
    pub num_digits: Option<u32>,
    /// `""`: no finishing key.
    pub finish_on_key: String,
    /// Seconds; `None`: the platform default (5 s).
    pub timeout: Option<u32>,
    pub hints: Option<String>,
    /// The text of the nested `<Say>`s.
    pub prompt_text: String,
    /// The resolved `action` URL.
    pub action: String,
}

impl GatherPrompt {
    pub fn accepts_keys(&self) -> bool {
        self.input.split_whitespace().any(|w| w == "dtmf")
    }

    pub fn accepts_speech(&self) -> bool {
        self.input.split_whitespace().any(|w| w == "speech")
    }
}

impl fmt::Debug for GatherPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherPrompt")
            .field("input", &self.input)
            .field("num_digits", &self.num_digits)
            .field("finish_on_key", &self.finish_on_key)
            .field("timeout", &self.timeout)
            .field("hints", &self.hints.as_deref().map(Redacted))
            .field("prompt_text", &Redacted(&self.prompt_text))
            .field("action", &self.action)
            .finish()
    }
}

/// Whoever answers the Gathers: a person, a script, a load generator.
///
/// `Send` so that a call can run inside a spawned task.
pub trait Answerer: Send {
    fn answer(&mut self, g: &GatherPrompt) -> Answer;
}

/// Answers from a list, in order; silence once the list is used up.
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    answers: VecDeque<Answer>,
}

impl Scripted {
    pub fn new(answers: Vec<Answer>) -> Self {
        Self {
            answers: answers.into(),
        }
    }

    /// Answers not used yet.
    pub fn remaining(&self) -> usize {
        self.answers.len()
    }
}

impl Answerer for Scripted {
    fn answer(&mut self, _g: &GatherPrompt) -> Answer {
        self.answers.pop_front().unwrap_or(Answer::Silence)
    }
}

/// What a Gather posts for this answer, the way the platform collects it;
/// `None` when there is no usable input (the Gather falls through).
///
/// Keys stop at the finishing key (sent as `FinishedOnKey`, which is empty
/// otherwise) or once `numDigits` keys are in. Keys on a speech-only Gather and
/// speech on a keys-only one are not heard.
pub(super) fn gather_result(g: &GatherPrompt, answer: &Answer) -> Option<Vec<(String, String)>> {
    match answer {
        Answer::Keys(keys) if g.accepts_keys() => {
            let finish = g.finish_on_key.chars().next();
            let limit = g.num_digits.filter(|&n| n > 0).map(|n| n as usize);
            let mut digits = String::new();
            let mut finished = String::new();
            for c in keys.chars().filter(|&c| is_dtmf(c)) {
                if Some(c) == finish {
                    finished.push(c);
                    break;
                }
                digits.push(c);
                if limit.is_some_and(|n| digits.len() >= n) {
                    break;
                }
            }
            (!digits.is_empty())
                .then(|| vec![param("Digits", &digits), param("FinishedOnKey", &finished)])
        }
        Answer::Speech(words) if g.accepts_speech() && !words.trim().is_empty() => Some(vec![
            param("SpeechResult", words.trim()),
            param("Confidence", SPEECH_CONFIDENCE),
        ]),
        _ => None,
    }
}
