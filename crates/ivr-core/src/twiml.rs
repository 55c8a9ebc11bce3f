//! A typed model of the TwiML voice verbs this service answers with, rendered by
//! quick-xml.
//!
//! Nothing here builds XML by concatenation: every text goes through
//! `BytesText` and every attribute through quick-xml's attribute escaping. What
//! escaping cannot fix (XML-illegal control characters) is removed first by
//! [`clean_text`], so any caller text in any field still gives a well-formed
//! document. Only verbs and attributes that TwiML defines can be expressed.
//!
//! The three platforms read the same verbs; a few `<Gather>` attributes differ
//! ([`Platform`]), and [`Response::render_for`] writes only what the platform
//! documents.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::voice::max_say_chars;

/// The platform that reads the document: Twilio (TwiML), SignalWire (cXML, which
/// takes TwiML unchanged) or Telnyx (TeXML).
///
/// What Telnyx's TeXML `<Gather>` reference (developers.telnyx.com, texml-verbs/
/// gather) documents differently, and so how its documents differ:
/// - `speechTimeout` is "time in seconds", with no `auto`: always a number
///   ([`crate::render::SHORT_ANSWER_TIMEOUT_S`] where TwiML would say `auto`);
/// - `finishOnKey` is "the set of digits (0-9, *, #)", with no empty value: a
///   Gather without a finishing key leaves the attribute out;
/// - the action is fetched with "the same method as set for the TeXML
///   application": no `method`;
/// - no `speechModel` or `enhanced` (its engine is `transcriptionEngine`, its
///   enhanced flag `useEnhanced`, neither tied to a Twilio model): left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Platform {
    #[default]
    Twilio,
    SignalWire,
    Telnyx,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Twilio, Platform::SignalWire, Platform::Telnyx];

    /// The name `IVR_PLATFORM` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Twilio => "twilio",
            Platform::SignalWire => "signalwire",
            Platform::Telnyx => "telnyx",
        }
    }

    /// `twilio`, `signalwire` or `telnyx` (any case).
    pub fn parse(raw: &str) -> Option<Platform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// Whether `speechTimeout="auto"` may be written.
    fn speech_timeout_auto(self) -> bool {
        self != Platform::Telnyx
    }

    /// Whether `finishOnKey=""` (no finishing key) may be written.
    fn empty_finish_on_key(self) -> bool {
        self != Platform::Telnyx
    }

    /// Whether `<Gather method>` is documented.
    fn gather_method(self) -> bool {
        self != Platform::Telnyx
    }

    /// Whether `speechModel` and `enhanced` are documented.
    fn speech_model(self) -> bool {
        self != Platform::Telnyx
    }
}

/// A whole TwiML document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    pub verbs: Vec<Verb>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verb {
    Say(Say),
    Gather(Gather),
    Pause { length: u32 },
    Redirect { url: String },
    Dial(Dial),
    Hangup,
}

/// `<Say voice language>` with SSML parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Say {
    pub voice: Option<String>,
    pub language: Option<String>,
    pub parts: Vec<SayPart>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SayPart {
    Text(String),
    /// Read one digit at a time: `<say-as interpret-as="digits">`.
    Digits(String),
    /// `<break time="Nms"/>`
    Break {
        ms: u32,
    },
}

/// What a `<Gather>` listens for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Dtmf,
    Speech,
    DtmfSpeech,
}

impl Input {
    fn as_str(self) -> &'static str {
        match self {
            Input::Dtmf => "dtmf",
            Input::Speech => "speech",
            Input::DtmfSpeech => "dtmf speech",
        }
    }
}

/// `<Gather>`; only `<Say>` and `<Pause>` are nested (TwiML also allows `<Play>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Gather {
    pub input: Input,
    pub action: String,
    pub timeout: u32,
    /// `None`: `auto`.
    pub speech_timeout: Option<u32>,
    /// `Some("")` disables the finishing key; `None` keeps the default `#`.
    pub finish_on_key: Option<String>,
    pub num_digits: Option<u32>,
    pub language: Option<String>,
    pub hints: Option<String>,
    /// `speechModel`; written only when the Gather takes speech.
    pub speech_model: Option<String>,
    /// `enhanced="true"`; written only when the Gather takes speech. Whether the
    /// model supports it is decided by the caller
    /// ([`crate::render::Recogniser::enhanced_for`]).
    pub enhanced: bool,
    pub prompt: Vec<Say>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dial {
    pub number: String,
    pub action: Option<String>,
    pub timeout: u32,
}

impl Response {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, verb: Verb) -> &mut Self {
        self.verbs.push(verb);
        self
    }

    /// The document for Twilio, starting with the XML declaration.
    pub fn render(&self) -> String {
        self.render_for(Platform::Twilio)
    }

    /// The document in `platform`'s dialect, starting with the XML declaration.
    pub fn render_for(&self, platform: Platform) -> String {
        let mut w = Writer::new(Vec::with_capacity(2048));
        // Writing into a Vec cannot fail; the Results are io::Result<()> from Vec.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let _ = w.write_event(Event::Start(BytesStart::new("Response")));
        for verb in &self.verbs {
            write_verb(&mut w, verb, platform);
        }
        let _ = w.write_event(Event::End(BytesEnd::new("Response")));
        // Only valid UTF-8 goes in, so only valid UTF-8 comes out.
        String::from_utf8(w.into_inner()).unwrap_or_default()
    }
}

type W = Writer<Vec<u8>>;

fn start<'a>(name: &'a str, attrs: &[(&'a str, String)]) -> BytesStart<'a> {
    let mut el = BytesStart::new(name);
    for (k, v) in attrs {
        el.push_attribute((*k, clean_text(v).as_ref()));
    }
    el
}

fn write_verb(w: &mut W, verb: &Verb, platform: Platform) {
    match verb {
        Verb::Say(say) => write_say(w, say),
        Verb::Gather(g) => {
            let mut attrs = vec![
                ("input", g.input.as_str().to_string()),
                ("action", g.action.clone()),
            ];
            if platform.gather_method() {
                attrs.push(("method", "POST".to_string()));
            }
            attrs.push(("timeout", g.timeout.to_string()));
            let speech_timeout = match g.speech_timeout {
                Some(s) => s.to_string(),
                None if platform.speech_timeout_auto() => "auto".to_string(),
                None => crate::recogniser::SHORT_ANSWER_TIMEOUT_S.to_string(),
            };
            attrs.push(("speechTimeout", speech_timeout));
            if let Some(k) = &g.finish_on_key
                && (!k.is_empty() || platform.empty_finish_on_key())
            {
                attrs.push(("finishOnKey", k.clone()));
            }
            if let Some(n) = g.num_digits {
                attrs.push(("numDigits", n.to_string()));
            }
            if let Some(l) = &g.language {
                attrs.push(("language", l.clone()));
            }
            if let Some(h) = &g.hints {
                attrs.push(("hints", h.clone()));
            }
            if g.input != Input::Dtmf && platform.speech_model() {
                if let Some(m) = &g.speech_model {
                    attrs.push(("speechModel", m.clone()));
                }
                if g.enhanced {
                    attrs.push(("enhanced", "true".to_string()));
                }
            }
            let _ = w.write_event(Event::Start(start("Gather", &attrs)));
            for say in &g.prompt {
                write_say(w, say);
            }
            let _ = w.write_event(Event::End(BytesEnd::new("Gather")));
        }
        Verb::Pause { length } => {
            let _ = w.write_event(Event::Empty(start(
                "Pause",
                &[("length", length.to_string())],
            )));
        }
        Verb::Redirect { url } => {
            let _ = w.write_event(Event::Start(start(
                "Redirect",
                &[("method", "POST".to_string())],
            )));
            let _ = w.write_event(Event::Text(BytesText::new(&clean_text(url))));
            let _ = w.write_event(Event::End(BytesEnd::new("Redirect")));
        }
        Verb::Dial(d) => {
            let mut attrs = vec![("timeout", d.timeout.to_string())];
            if let Some(a) = &d.action {
                attrs.push(("action", a.clone()));
                attrs.push(("method", "POST".to_string()));
            }
            let _ = w.write_event(Event::Start(start("Dial", &attrs)));
            let _ = w.write_event(Event::Start(BytesStart::new("Number")));
            let _ = w.write_event(Event::Text(BytesText::new(&clean_text(&d.number))));
            let _ = w.write_event(Event::End(BytesEnd::new("Number")));
            let _ = w.write_event(Event::End(BytesEnd::new("Dial")));
        }
        Verb::Hangup => {
            let _ = w.write_event(Event::Empty(BytesStart::new("Hangup")));
        }
    }
}

fn write_say(w: &mut W, say: &Say) {
    let mut attrs = Vec::new();
    if let Some(v) = &say.voice {
        attrs.push(("voice", v.clone()));
    }
    if let Some(l) = &say.language {
        attrs.push(("language", l.clone()));
    }
    let _ = w.write_event(Event::Start(start("Say", &attrs)));
    // Twilio's limit depends on the voice: 3,000 for Polly (warning 13521),
    // 4,096 for the basic voices.
    let mut budget = max_say_chars(say.voice.as_deref());
    for part in &say.parts {
        match part {
            SayPart::Text(t) => {
                let cleaned = clean_text(t);
                let t = truncate_chars(&cleaned, &mut budget);
                if !t.is_empty() {
                    let _ = w.write_event(Event::Text(BytesText::new(t)));
                }
            }
            SayPart::Digits(d) => {
                let cleaned = clean_text(d);
                let d = truncate_chars(&cleaned, &mut budget);
                if !d.is_empty() {
                    let _ = w.write_event(Event::Start(start(
                        "say-as",
                        &[("interpret-as", "digits".to_string())],
                    )));
                    let _ = w.write_event(Event::Text(BytesText::new(d)));
                    let _ = w.write_event(Event::End(BytesEnd::new("say-as")));
                }
            }
            SayPart::Break { ms } => {
                let _ = w.write_event(Event::Empty(start("break", &[("time", format!("{ms}ms"))])));
            }
        }
    }
    let _ = w.write_event(Event::End(BytesEnd::new("Say")));
}

/// The first `budget` characters of `s` (all of it, uncopied, when it fits),
/// and `budget` less what was taken.
fn truncate_chars<'a>(s: &'a str, budget: &mut usize) -> &'a str {
    match s.char_indices().nth(*budget) {
        Some((end, _)) => {
            *budget = 0;
            &s[..end]
        }
        None => {
            *budget -= s.chars().count();
            s
        }
    }
}

fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Removes what XML 1.0 does not allow in a document (C0 controls other than tab,
/// newline and carriage return, lone surrogates cannot occur in a `str`, and the
/// non-characters U+FFFE/U+FFFF). Escaping is quick-xml's job; this is the part
/// escaping cannot do. Text with nothing to remove (every prompt) is not copied.
pub fn clean_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(allowed_in_xml) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|&c| allowed_in_xml(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn say(t: &str) -> Say {
        Say {
            voice: Some("Polly.Camila".into()),
            language: Some("pt-BR".into()),
            parts: vec![SayPart::Text(t.into())],
        }
    }

    fn gather(prompt: Say, hints: &str) -> Gather {
        Gather {
            input: Input::DtmfSpeech,
            action: "https://ivr.example/voice/answer?seq=1&x=<y>".into(),
            timeout: 5,
            speech_timeout: None,
            finish_on_key: Some("#".into()),
            num_digits: None,
            language: Some("pt-BR".into()),
            hints: Some(hints.into()),
            speech_model: None,
            enhanced: false,
            prompt: vec![prompt],
        }
    }

    #[test]
    fn renders_declaration_then_response_with_verbs_in_order() {
        let mut r = Response::new();
        r.push(Verb::Say(say("Olá")))
            .push(Verb::Gather(gather(say("Digite o código"), "um, dois")))
            .push(Verb::Redirect {
                url: "https://ivr.example/voice/silence?seq=1".into(),
            })
            .push(Verb::Pause { length: 2 })
            .push(Verb::Dial(Dial {
                number: "+5548999990000".into(),
                action: None,
                timeout: 20,
            }))
            .push(Verb::Hangup);
        let xml = r.render();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "Response");
        let names: Vec<_> = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(
            names,
            ["Say", "Gather", "Redirect", "Pause", "Dial", "Hangup"]
        );
        let g = root.children().find(|n| n.has_tag_name("Gather")).unwrap();
        assert_eq!(g.attribute("input"), Some("dtmf speech"));
        assert_eq!(
            g.attribute("action"),
            Some("https://ivr.example/voice/answer?seq=1&x=<y>")
        );
        assert_eq!(g.attribute("language"), Some("pt-BR"));
        assert_eq!(g.attribute("speechTimeout"), Some("auto"));
        assert_eq!(g.attribute("method"), Some("POST"));
        let nested = g.children().find(|n| n.is_element()).unwrap();
        assert_eq!(nested.tag_name().name(), "Say");
        assert_eq!(nested.text(), Some("Digite o código"));
        let dial = root.children().find(|n| n.has_tag_name("Dial")).unwrap();
        assert_eq!(
            dial.children().find(|n| n.is_element()).unwrap().text(),
            Some("+5548999990000")
        );
    }

    #[test]
    fn speech_settings_only_on_a_gather_that_takes_speech() {
        let speech = Gather {
            speech_model: Some("phone_call".into()),
            enhanced: true,
            ..gather(say("Fale"), "rua")
        };
        let keys = Gather {
            input: Input::Dtmf,
            ..speech.clone()
        };
        let mut r = Response::new();
        r.push(Verb::Gather(speech)).push(Verb::Gather(keys));
        let xml = r.render();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let gathers: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("Gather"))
            .collect();
        assert_eq!(gathers[0].attribute("speechModel"), Some("phone_call"));
        assert_eq!(gathers[0].attribute("enhanced"), Some("true"));
        assert_eq!(gathers[1].attribute("speechModel"), None);
        assert_eq!(gathers[1].attribute("enhanced"), None);
    }

    #[test]
    fn digits_are_read_one_by_one() {
        let mut r = Response::new();
        r.push(Verb::Say(Say {
            voice: None,
            language: None,
            parts: vec![
                SayPart::Text("Código ".into()),
                SayPart::Digits("123".into()),
                SayPart::Break { ms: 300 },
            ],
        }));
        let xml = r.render();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let sa = doc
            .descendants()
            .find(|n| n.has_tag_name("say-as"))
            .unwrap();
        assert_eq!(sa.attribute("interpret-as"), Some("digits"));
        assert_eq!(sa.text(), Some("123"));
        let br = doc.descendants().find(|n| n.has_tag_name("break")).unwrap();
        assert_eq!(br.attribute("time"), Some("300ms"));
    }

    #[test]
    fn control_characters_are_removed_and_markup_escaped() {
        let nasty = "a\u{0}b\u{1b}c <Hangup/> & \"x\" \u{FFFF}\td";
        let mut r = Response::new();
        r.push(Verb::Say(say(nasty)));
        let xml = r.render();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let s = doc.descendants().find(|n| n.has_tag_name("Say")).unwrap();
        assert_eq!(s.text(), Some("abc <Hangup/> & \"x\" \td"));
        assert!(doc.descendants().all(|n| !n.has_tag_name("Hangup")));
    }

    /// The characters of text a rendered `<Say>` with `voice` keeps of `parts`.
    fn said(voice: Option<&str>, parts: Vec<SayPart>) -> usize {
        let mut r = Response::new();
        r.push(Verb::Say(Say {
            voice: voice.map(str::to_string),
            language: Some("pt-BR".into()),
            parts,
        }));
        let xml = r.render();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let s = doc.descendants().find(|n| n.has_tag_name("Say")).unwrap();
        s.descendants()
            .filter(|n| n.is_text())
            .map(|n| n.text().unwrap_or("").chars().count())
            .sum()
    }

    #[test]
    fn long_text_is_cut_to_the_voice_s_say_limit() {
        let text = |n: usize| vec![SayPart::Text("á".repeat(n))];
        for (voice, limit) in [
            (Some("Polly.Camila"), 3000),
            (Some("Polly.Joanna-Neural"), 3000),
            (Some("Google.pt-BR-Wavenet-A"), 3000),
            (Some("alice"), 4096),
            (Some("man"), 4096),
            (Some("woman"), 4096),
            (None, 4096),
        ] {
            assert_eq!(said(voice, text(limit - 1)), limit - 1, "{voice:?}");
            assert_eq!(said(voice, text(limit)), limit, "{voice:?}");
            assert_eq!(said(voice, text(limit + 1)), limit, "{voice:?}");
            assert_eq!(said(voice, text(10_000)), limit, "{voice:?}");
        }
        // Text and digits share one budget; the break is not text.
        let parts = vec![
            SayPart::Text("a".repeat(2998)),
            SayPart::Break { ms: 300 },
            SayPart::Digits("12345".into()),
        ];
        assert_eq!(said(Some("Polly.Camila"), parts.clone()), 3000);
        assert_eq!(said(Some("alice"), parts), 3003);
    }

    proptest! {
        #[test]
        fn any_text_in_any_field_gives_well_formed_xml(a in any::<String>(), b in any::<String>(), c in any::<String>()) {
            let mut r = Response::new();
            r.push(Verb::Say(Say { voice: Some(b.clone()), language: Some(c.clone()), parts: vec![SayPart::Text(a.clone()), SayPart::Digits(b.clone())] }))
             .push(Verb::Gather(Gather { speech_model: Some(c.clone()), enhanced: true, ..gather(say(&a), &b) }))
             .push(Verb::Redirect { url: c.clone() })
             .push(Verb::Dial(Dial { number: a.clone(), action: Some(b.clone()), timeout: 10 }));
            let xml = r.render();
            let doc = roxmltree::Document::parse(&xml);
            prop_assert!(doc.is_ok(), "not well-formed: {:?}", doc.err());
            let doc = doc.unwrap();
            let s = doc.root_element().children().find(|n| n.has_tag_name("Say")).unwrap();
            let expected: String = clean_text(&a).chars().take(max_say_chars(Some(&b))).collect();
            // roxmltree normalises \r\n to \n, as every XML parser must.
            let got = s.children().filter(|n| n.is_text()).map(|n| n.text().unwrap_or("")).collect::<String>();
            prop_assert_eq!(got.replace('\r', "\n"), expected.replace("\r\n", "\n").replace('\r', "\n"));
        }
    }
}
