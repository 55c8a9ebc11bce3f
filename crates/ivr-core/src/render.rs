//! A flow [`Reply`] as a TwiML document: the prompts give the words, the
//! configuration the voice and language, and `seq` goes into every URL the
//! platform will call next, so a repeated request can be recognised.

use crate::flow::{AskKind, Line, Next, Reply};
use crate::prompts::Prompts;
use crate::twiml::{Dial, Gather, Input, Response, Say, SayPart, Verb};

/// What rendering needs besides the reply.
pub struct RenderCtx<'a> {
    pub prompts: &'a Prompts,
    pub public_url: &'a str,
    pub voice: &'a str,
    pub language: &'a str,
    pub agent_number: Option<&'a str>,
}

impl RenderCtx<'_> {
    pub fn url(&self, route: &str, seq: i64) -> String {
        format!("{}{route}?seq={seq}", self.public_url)
    }

    fn say(&self, lines: &[Line]) -> Say {
        let mut parts = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                parts.push(SayPart::Text(" ".into()));
            }
            parts.extend(self.prompts.render(line));
        }
        Say {
            voice: Some(self.voice.to_string()),
            language: Some(self.language.to_string()),
            parts,
        }
    }

    pub fn render(&self, reply: &Reply, seq: i64) -> String {
        let mut r = Response::new();
        match &reply.next {
            Next::Ask { kind, prompt } => {
                // Everything is said inside the Gather, so the caller can answer
                // before the sentence ends.
                let mut lines = reply.lines.clone();
                lines.extend(prompt.iter().cloned());
                r.push(Verb::Gather(self.gather(*kind, self.say(&lines), seq)));
                r.push(Verb::Redirect {
                    url: self.url(crate::webhook::paths::SILENCE, seq),
                });
            }
            Next::Hold { pause_s } => {
                if !reply.lines.is_empty() {
                    r.push(Verb::Say(self.say(&reply.lines)));
                }
                r.push(Verb::Pause { length: *pause_s });
                r.push(Verb::Redirect {
                    url: self.url(crate::webhook::paths::POLL, seq),
                });
            }
            Next::Transfer => {
                if !reply.lines.is_empty() {
                    r.push(Verb::Say(self.say(&reply.lines)));
                }
                match self.agent_number {
                    Some(number) => {
                        r.push(Verb::Dial(Dial {
                            number: number.to_string(),
                            action: Some(self.url(crate::webhook::paths::DIAL, seq)),
                            timeout: 30,
                        }));
                    }
                    None => {
                        r.push(Verb::Hangup);
                    }
                }
            }
            Next::Hangup => {
                if !reply.lines.is_empty() {
                    r.push(Verb::Say(self.say(&reply.lines)));
                }
                r.push(Verb::Hangup);
            }
        }
        r.render()
    }

    fn gather(&self, kind: AskKind, say: Say, seq: i64) -> Gather {
        let hints = |key: &str| Some(self.prompts.plain(key)).filter(|h| !h.is_empty());
        let (timeout, num_digits, finish, hints) = match kind {
            AskKind::Code => (7, None, Some("#"), hints("hints.code")),
            AskKind::YesNo => (5, Some(1), Some(""), hints("hints.yes_no")),
            AskKind::Name => (5, None, Some("#"), None),
            AskKind::Address => (7, Some(8), Some("#"), hints("hints.address")),
            AskKind::Number => (6, None, Some("#"), hints("hints.number")),
            AskKind::Street => (7, None, Some("#"), hints("hints.address")),
        };
        Gather {
            input: Input::DtmfSpeech,
            action: self.url(crate::webhook::paths::ANSWER, seq),
            timeout,
            speech_timeout: None,
            finish_on_key: finish.map(str::to_string),
            num_digits,
            language: Some(self.language.to_string()),
            hints,
            prompt: vec![say],
        }
    }

    /// A spoken sentence and goodbye: for errors and refusals.
    pub fn apology(&self, key: &'static str) -> String {
        let mut r = Response::new();
        r.push(Verb::Say(self.say(&[Line::new(key)])))
            .push(Verb::Hangup);
        r.render()
    }
}
