//! A flow [`Reply`] as a TwiML document: the prompts give the words, the
//! configuration the voice, the language and the [`Recogniser`] settings, and
//! `seq` goes into every URL the platform will call next, so a repeated request
//! can be recognised.

pub use crate::recogniser::{
    ADDRESS_TIMEOUT_RANGE_S, DEFAULT_ADDRESS_TIMEOUT_S, DEFAULT_MODEL, GENERIC_MODELS,
    GOOGLE_V2_MODELS, MAX_HINT_CHARS, MAX_HINTS, ModelError, NO_MODEL, Recogniser,
    SHORT_ANSWER_TIMEOUT_S, join_hints, parse_model, split_hints,
};

use crate::flow::{AskKind, Line, Next, Reply};
use crate::prompts::Prompts;
use crate::twiml::{Dial, Gather, Input, Platform, Response, Say, SayPart, Verb};

/// How a question listens, in any dialect ([`RenderCtx::ask_settings`]).
pub(crate) struct AskSettings {
    /// Seconds of silence before the question counts as unanswered.
    pub timeout: u32,
    /// Digits that end the answer by themselves.
    pub num_digits: Option<u32>,
    /// The key that ends a typed answer (`""`: none).
    pub finish_on_key: Option<&'static str>,
    /// The recogniser's hints, joined ([`split_hints`] reads them).
    pub hints: Option<String>,
    /// (Part of) an address: the caller may pause inside it.
    pub address: bool,
}

/// The document language a call's platform reads: TwiML (Twilio, SignalWire,
/// Telnyx: `platform` of [`RenderCtx`] picks among them) or jambonz's JSON
/// verbs. A call is answered in the dialect its first request came in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Twiml,
    Jambonz,
}

/// What rendering needs besides the reply.
pub struct RenderCtx<'a> {
    pub prompts: &'a Prompts,
    pub public_url: &'a str,
    pub voice: &'a str,
    pub language: &'a str,
    pub agent_number: Option<&'a str>,
    /// Model, `enhanced`, timeouts and the address hints of every question.
    pub recogniser: &'a Recogniser,
    /// Whose dialect the documents are written in (`IVR_PLATFORM`).
    pub platform: Platform,
}

impl RenderCtx<'_> {
    pub fn url(&self, route: &str, seq: i64) -> String {
        format!("{}{route}?seq={seq}", self.public_url)
    }

    /// [`Self::url`], carrying the call's protocol number when given (the
    /// greeting's URLs: the call is stored only at its first answer, from them).
    fn url_at(&self, route: &str, seq: i64, protocol: Option<&str>) -> String {
        match protocol {
            Some(p) => format!("{}{route}?seq={seq}&protocol={p}", self.public_url),
            None => self.url(route, seq),
        }
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
        self.render_at(reply, seq, None)
    }

    /// [`Self::render`] with `protocol` in every URL (digits only: nothing to escape).
    pub fn render_at(&self, reply: &Reply, seq: i64, protocol: Option<&str>) -> String {
        let mut r = Response::new();
        match &reply.next {
            Next::Ask { kind, prompt } => {
                // Everything is said inside the Gather, so the caller can answer
                // before the sentence ends.
                let mut lines = reply.lines.clone();
                lines.extend(prompt.iter().cloned());
                r.push(Verb::Gather(self.gather(
                    *kind,
                    self.say(&lines),
                    seq,
                    protocol,
                )));
                r.push(Verb::Redirect {
                    url: self.url_at(crate::webhook::paths::SILENCE, seq, protocol),
                });
            }
            Next::Hold { pause_s } => {
                if !reply.lines.is_empty() {
                    r.push(Verb::Say(self.say(&reply.lines)));
                }
                r.push(Verb::Pause { length: *pause_s });
                r.push(Verb::Redirect {
                    url: self.url_at(crate::webhook::paths::POLL, seq, protocol),
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
                            action: Some(self.url_at(crate::webhook::paths::DIAL, seq, protocol)),
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
        r.render_for(self.platform)
    }

    /// How a question listens, whatever the dialect: its timeout, digit
    /// count, finishing key and hints (`twiml` and `jambonz` write these).
    pub(crate) fn ask_settings(&self, kind: AskKind) -> AskSettings {
        let hints = |key: &str| Some(self.prompts.plain(key)).filter(|h| !h.is_empty());
        let rec = self.recogniser;
        let (timeout, num_digits, finish, hints) = match kind {
            AskKind::Code => (7, None, Some("#"), hints("hints.code")),
            AskKind::YesNo => (5, Some(1), Some(""), hints("hints.yes_no")),
            AskKind::Name => (5, None, Some("#"), None),
            AskKind::Address => (
                7,
                Some(8),
                Some("#"),
                rec.address_hints.clone().or_else(|| hints("hints.address")),
            ),
            AskKind::Number => (6, None, Some("#"), hints("hints.number")),
            // A street in a known town: the same street hints.
            AskKind::Street => (
                7,
                None,
                Some("#"),
                rec.address_hints.clone().or_else(|| hints("hints.address")),
            ),
            // One key chooses; a period may be said ("quinta de manhã").
            AskKind::Visit => (6, Some(1), Some(""), hints("hints.visit")),
        };
        // Both are (part of) an address: the caller may pause inside it.
        let address = matches!(kind, AskKind::Address | AskKind::Street);
        AskSettings {
            timeout,
            num_digits,
            finish_on_key: finish,
            hints,
            address,
        }
    }

    fn gather(&self, kind: AskKind, say: Say, seq: i64, protocol: Option<&str>) -> Gather {
        let rec = self.recogniser;
        let a = self.ask_settings(kind);
        Gather {
            input: Input::DtmfSpeech,
            action: self.url_at(crate::webhook::paths::ANSWER, seq, protocol),
            timeout: a.timeout,
            speech_timeout: rec.speech_timeout(a.address),
            finish_on_key: a.finish_on_key.map(str::to_string),
            num_digits: a.num_digits,
            language: Some(self.language.to_string()),
            hints: a.hints,
            speech_model: rec.model.clone(),
            enhanced: rec.enhanced_for(self.language),
            prompt: vec![say],
        }
    }

    /// A hold outside the flow: `key` said (when given), a pause, then the
    /// platform posts to `route` (a path with its query) on this service.
    pub fn hold_at(&self, key: Option<&'static str>, pause_s: u32, route: &str) -> String {
        let mut r = Response::new();
        if let Some(key) = key {
            r.push(Verb::Say(self.say(&[Line::new(key)])));
        }
        r.push(Verb::Pause { length: pause_s });
        r.push(Verb::Redirect {
            url: format!("{}{route}", self.public_url),
        });
        r.render_for(self.platform)
    }

    /// [`Self::render_at`] in `dialect`.
    pub fn render_in(
        &self,
        dialect: Dialect,
        reply: &Reply,
        seq: i64,
        protocol: Option<&str>,
    ) -> String {
        match dialect {
            Dialect::Twiml => self.render_at(reply, seq, protocol),
            Dialect::Jambonz => self.jambonz_render_at(reply, seq, protocol),
        }
    }

    /// [`Self::hold_at`] in `dialect`: back to `route` (a path and query).
    pub fn hold_in(
        &self,
        dialect: Dialect,
        key: Option<&'static str>,
        pause_s: u32,
        route: &str,
    ) -> String {
        match dialect {
            Dialect::Twiml => self.hold_at(key, pause_s, route),
            Dialect::Jambonz => self.jambonz_hold_at(key, pause_s, route),
        }
    }

    /// [`Self::apology`] in `dialect`.
    pub fn apology_in(&self, dialect: Dialect, key: &'static str) -> String {
        match dialect {
            Dialect::Twiml => self.apology(key),
            Dialect::Jambonz => self.jambonz_apology(key),
        }
    }

    /// A document that does nothing (a status callback's answer).
    pub fn empty_in(dialect: Dialect) -> String {
        match dialect {
            Dialect::Twiml => Response::new().render(),
            Dialect::Jambonz => "[]".to_string(),
        }
    }

    /// A spoken sentence and goodbye: for errors and refusals.
    pub fn apology(&self, key: &'static str) -> String {
        let mut r = Response::new();
        r.push(Verb::Say(self.say(&[Line::new(key)])))
            .push(Verb::Hangup);
        r.render_for(self.platform)
    }
}

#[cfg(test)]
mod tests {
    //! The recogniser's attributes on the rendered `<Gather>`, read back with an
    //! XML parser.

    use super::*;

    const ALL: [AskKind; 7] = [
        AskKind::Code,
        AskKind::YesNo,
        AskKind::Name,
        AskKind::Address,
        AskKind::Number,
        AskKind::Street,
        AskKind::Visit,
    ];

    fn is_address(kind: AskKind) -> bool {
        matches!(kind, AskKind::Address | AskKind::Street)
    }

    fn ask(kind: AskKind) -> Reply {
        let key = match kind {
            AskKind::Code => "code.ask",
            AskKind::YesNo => "code.confirm",
            AskKind::Name => "name.ask",
            AskKind::Address => "address.ask",
            AskKind::Number => "number.ask",
            AskKind::Street => "street.ask",
            AskKind::Visit => "visit.offer",
        };
        Reply {
            lines: Vec::new(),
            next: Next::Ask {
                kind,
                prompt: vec![Line::new(key)],
            },
        }
    }

    /// The `<Gather>`'s attributes, by name, for `kind` rendered in `language`.
    fn gather_attrs(rec: &Recogniser, language: &str, kind: AskKind) -> Vec<(String, String)> {
        let prompts = Prompts::shipped(language).unwrap();
        let ctx = RenderCtx {
            prompts: &prompts,
            public_url: "https://ivr.example.com",
            voice: "Polly.Camila",
            language,
            agent_number: None,
            recogniser: rec,
            platform: Platform::Twilio,
        };
        let xml = ctx.render(&ask(kind), 3);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let g = doc
            .descendants()
            .find(|n| n.has_tag_name("Gather"))
            .unwrap();
        g.attributes()
            .map(|a| (a.name().to_string(), a.value().to_string()))
            .collect()
    }

    fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_question_names_the_model_and_gets_a_number_for_speech_timeout() {
        let rec = Recogniser::default();
        for kind in ALL {
            let a = gather_attrs(&rec, "pt-BR", kind);
            assert_eq!(attr(&a, "speechModel"), Some(DEFAULT_MODEL), "{kind:?}");
            let want = if is_address(kind) {
                DEFAULT_ADDRESS_TIMEOUT_S
            } else {
                SHORT_ANSWER_TIMEOUT_S
            };
            assert_eq!(
                attr(&a, "speechTimeout"),
                Some(want.to_string().as_str()),
                "{kind:?}: a model does not allow auto"
            );
        }
    }

    #[test]
    fn without_a_model_only_the_address_and_street_have_a_numeric_speech_timeout() {
        let rec = Recogniser {
            model: None,
            address_timeout_s: 4,
            ..Recogniser::default()
        };
        for kind in ALL {
            let a = gather_attrs(&rec, "pt-BR", kind);
            assert_eq!(attr(&a, "speechModel"), None);
            assert_eq!(attr(&a, "enhanced"), None);
            let want = if is_address(kind) { "4" } else { "auto" };
            assert_eq!(attr(&a, "speechTimeout"), Some(want), "{kind:?}");
        }
    }

    #[test]
    fn enhanced_only_with_phone_call_where_it_applies() {
        let phone_call = Recogniser::default();
        // pt-BR has no enhanced phone_call model: not written.
        let a = gather_attrs(&phone_call, "pt-BR", AskKind::Address);
        assert_eq!(attr(&a, "enhanced"), None);
        let a = gather_attrs(&phone_call, "en-US", AskKind::Address);
        assert_eq!(attr(&a, "enhanced"), Some("true"));
        assert_eq!(attr(&a, "speechModel"), Some("phone_call"));

        let google = Recogniser {
            model: Some("googlev2_telephony".into()),
            ..Recogniser::default()
        };
        let a = gather_attrs(&google, "en-US", AskKind::Address);
        assert_eq!(attr(&a, "speechModel"), Some("googlev2_telephony"));
        assert_eq!(attr(&a, "enhanced"), None);

        let off = Recogniser {
            enhanced: false,
            ..Recogniser::default()
        };
        assert_eq!(
            attr(&gather_attrs(&off, "en-US", AskKind::Code), "enhanced"),
            None
        );
    }

    #[test]
    fn the_address_gets_the_street_hints_and_the_others_keep_theirs() {
        let prompts = Prompts::shipped("pt-BR").unwrap();
        let streets = [
            "Rua Delminda Silveira",
            "Rua \"A\" & <B>",
            "Avenida Madre Benvenuta",
        ];
        let hints = join_hints(
            split_hints(&prompts.plain("hints.address"))
                .map(str::to_string)
                .chain(streets.iter().map(|s| s.to_string())),
        );
        let rec = Recogniser {
            address_hints: hints.clone(),
            ..Recogniser::default()
        };
        let a = gather_attrs(&rec, "pt-BR", AskKind::Address);
        let got = attr(&a, "hints").unwrap();
        assert_eq!(Some(got), hints.as_deref(), "escaped and read back whole");
        let entries: Vec<&str> = split_hints(got).collect();
        assert_eq!(entries[0], "rua");
        assert!(entries.contains(&"Rua \"A\" & <B>"));
        assert_eq!(entries.last(), Some(&"Avenida Madre Benvenuta"));
        let street = gather_attrs(&rec, "pt-BR", AskKind::Street);
        assert_eq!(attr(&street, "hints"), hints.as_deref());

        let code = gather_attrs(&rec, "pt-BR", AskKind::Code);
        assert_eq!(
            attr(&code, "hints"),
            Some(prompts.plain("hints.code").as_str())
        );
        // No street hints: the prompts' address words.
        let plain = gather_attrs(&Recogniser::default(), "pt-BR", AskKind::Address);
        assert_eq!(
            attr(&plain, "hints"),
            Some(prompts.plain("hints.address").as_str())
        );
    }

    #[test]
    fn the_largest_hints_value_stays_within_the_limits_and_well_formed() {
        let names: Vec<String> = (0..3 * MAX_HINTS)
            .map(|i| format!("Rua {i} & \"{}\"", "x".repeat(i % (MAX_HINT_CHARS + 20))))
            .collect();
        let rec = Recogniser {
            address_hints: join_hints(&names),
            ..Recogniser::default()
        };
        let a = gather_attrs(&rec, "pt-BR", AskKind::Address);
        let entries: Vec<&str> = split_hints(attr(&a, "hints").unwrap()).collect();
        assert_eq!(entries.len(), MAX_HINTS);
        assert!(entries.iter().all(|e| e.chars().count() <= MAX_HINT_CHARS));
    }

    /// Every kind of document (each question, a hold, a transfer, an apology)
    /// as `platform` gets it.
    fn documents(platform: Platform, rec: &Recogniser, language: &str) -> Vec<String> {
        let prompts = Prompts::shipped(language).unwrap();
        let ctx = RenderCtx {
            prompts: &prompts,
            public_url: "https://ivr.example.com",
            voice: crate::voice::default_voice(language).unwrap(),
            language,
            agent_number: Some("+5548999990000"),
            recogniser: rec,
            platform,
        };
        let mut out: Vec<String> = ALL.iter().map(|k| ctx.render(&ask(*k), 2)).collect();
        for next in [Next::Hold { pause_s: 2 }, Next::Transfer, Next::Hangup] {
            let reply = Reply {
                lines: vec![Line::new("reserve.hold")],
                next,
            };
            out.push(ctx.render(&reply, 2));
        }
        out.push(ctx.apology("error.busy_address"));
        out
    }

    /// Each `<Gather>` of the documents, as attribute lists.
    fn gathers(docs: &[String]) -> Vec<Vec<(String, String)>> {
        docs.iter()
            .flat_map(|xml| {
                let doc = roxmltree::Document::parse(xml).unwrap();
                doc.descendants()
                    .filter(|n| n.has_tag_name("Gather"))
                    .map(|g| {
                        g.attributes()
                            .map(|a| (a.name().to_string(), a.value().to_string()))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn recognisers() -> [Recogniser; 2] {
        [
            Recogniser::default(),
            Recogniser {
                model: None,
                ..Recogniser::default()
            },
        ]
    }

    #[test]
    fn twilio_gets_auto_an_empty_finishing_key_and_the_model() {
        for language in ["pt-BR", "en-US"] {
            let none = gathers(&documents(Platform::Twilio, &recognisers()[1], language));
            let auto: Vec<_> = none
                .iter()
                .filter_map(|a| attr(a, "speechTimeout"))
                .collect();
            assert!(
                auto.contains(&"auto"),
                "{language}: no model, short answers auto"
            );
            let model = gathers(&documents(
                Platform::Twilio,
                &Recogniser::default(),
                language,
            ));
            assert_eq!(model.len(), ALL.len());
            for a in &model {
                assert_eq!(attr(a, "method"), Some("POST"));
                assert_eq!(attr(a, "speechModel"), Some(DEFAULT_MODEL));
                assert_eq!(attr(a, "language"), Some(language));
            }
            let yes_no = &model[1];
            assert_eq!(attr(yes_no, "finishOnKey"), Some(""));
            assert_eq!(attr(yes_no, "numDigits"), Some("1"));
            let enhanced = (language == "en-US").then_some("true");
            assert_eq!(attr(&model[0], "enhanced"), enhanced, "{language}");
        }
    }

    #[test]
    fn signalwire_gets_the_twilio_documents_unchanged() {
        for rec in recognisers() {
            for language in ["pt-BR", "en-US"] {
                assert_eq!(
                    documents(Platform::SignalWire, &rec, language),
                    documents(Platform::Twilio, &rec, language)
                );
            }
        }
    }

    #[test]
    fn telnyx_gets_only_what_texml_documents() {
        // TeXML's <Gather> attributes (developers.telnyx.com, texml-verbs/gather).
        const TEXML: [&str; 8] = [
            "action",
            "timeout",
            "input",
            "speechTimeout",
            "hints",
            "finishOnKey",
            "numDigits",
            "language",
        ];
        for rec in recognisers() {
            for language in ["pt-BR", "en-US"] {
                let docs = documents(Platform::Telnyx, &rec, language);
                let all = gathers(&docs);
                assert_eq!(all.len(), ALL.len());
                for (kind, a) in ALL.iter().zip(&all) {
                    for (name, _) in a {
                        assert!(TEXML.contains(&name.as_str()), "{kind:?}: {name}");
                    }
                    let t = attr(a, "speechTimeout").unwrap();
                    assert!(
                        !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()),
                        "{kind:?}: seconds, not {t:?}"
                    );
                    match attr(a, "finishOnKey") {
                        // One key answers: no finishing key.
                        None => assert!(matches!(kind, AskKind::YesNo | AskKind::Visit)),
                        Some(k) => assert_eq!(k, "#", "{kind:?}"),
                    }
                    assert_eq!(attr(a, "language"), Some(language));
                    assert!(attr(a, "hints").is_some() || *kind == AskKind::Name);
                }
                let yes_no = &all[1];
                assert_eq!(attr(yes_no, "numDigits"), Some("1"));
                // Everything else is the same document.
                let twilio = documents(Platform::Twilio, &rec, language);
                for (t, x) in twilio.iter().zip(&docs).skip(ALL.len()) {
                    assert_eq!(t, x);
                }
                for xml in &docs {
                    let doc = roxmltree::Document::parse(xml).unwrap();
                    let say = doc.descendants().find(|n| n.has_tag_name("Say")).unwrap();
                    assert_eq!(say.attribute("language"), Some(language));
                }
            }
        }
    }
}
