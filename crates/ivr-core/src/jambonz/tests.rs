//! The jambonz verbs read back as JSON, and webhook bodies as jambonz posts them.

use super::*;
use crate::prompts::Prompts;
use crate::render::Recogniser;
use crate::twiml::Platform;

fn with_ctx<T>(agent: Option<&str>, f: impl FnOnce(&RenderCtx) -> T) -> T {
    let prompts = Prompts::shipped("pt-BR").unwrap();
    let rec = Recogniser {
        address_hints: Some("Rua Delminda Silveira, Avenida Madre Benvenuta".into()),
        ..Recogniser::default()
    };
    let ctx = RenderCtx {
        prompts: &prompts,
        public_url: "https://ivr.example.com",
        voice: "Polly.Camila",
        language: "pt-BR",
        agent_number: agent,
        recogniser: &rec,
        platform: Platform::Twilio,
    };
    f(&ctx)
}

fn ask(kind: AskKind, key: &'static str) -> Reply {
    Reply {
        lines: vec![Line::new("reserve.hold")],
        next: Next::Ask {
            kind,
            prompt: vec![Line::new(key)],
        },
    }
}

fn verbs(doc: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(doc)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn names(doc: &str) -> Vec<String> {
    verbs(doc)
        .iter()
        .map(|v| v["verb"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_question_is_one_gather_with_digits_and_speech_and_its_hook() {
    let doc = with_ctx(None, |c| {
        c.jambonz_render_at(&ask(AskKind::Code, "code.ask"), 3, None)
    });
    assert_eq!(names(&doc), ["gather"]);
    let g = &verbs(&doc)[0];
    assert_eq!(g["input"], json!(["digits", "speech"]));
    assert_eq!(
        g["actionHook"],
        "https://ivr.example.com/jambonz?hook=answer&seq=3"
    );
    assert_eq!(g["finishOnKey"], "#");
    assert_eq!(g["minDigits"], 1);
    assert_eq!(g["bargein"], true);
    assert_eq!(g["recognizer"]["vendor"], "default");
    assert_eq!(g["recognizer"]["language"], "pt-BR");
    let said = g["say"]["text"].as_str().unwrap();
    assert!(!said.is_empty());
    assert!(!said.contains("  ") && !said.contains('<'), "{said}");
}

#[test]
fn the_greeting_starts_with_config_and_carries_the_protocol() {
    let doc = with_ctx(None, |c| {
        c.jambonz_render_at(&ask(AskKind::Code, "code.ask"), 1, Some("2026120700000001"))
    });
    assert_eq!(names(&doc), ["config", "gather"]);
    let v = verbs(&doc);
    assert_eq!(v[0]["recognizer"]["language"], "pt-BR");
    assert_eq!(
        v[1]["actionHook"],
        "https://ivr.example.com/jambonz?hook=answer&seq=1&protocol=2026120700000001"
    );
}

#[test]
fn yes_no_takes_one_key_and_the_cep_eight_with_the_streets_as_hints() {
    let yes = with_ctx(None, |c| {
        c.jambonz_render_at(&ask(AskKind::YesNo, "code.confirm"), 2, None)
    });
    let g = &verbs(&yes)[0];
    assert_eq!(g["numDigits"], 1);
    assert!(g.get("finishOnKey").is_none());
    let cep = with_ctx(None, |c| {
        c.jambonz_render_at(&ask(AskKind::Address, "address.ask"), 2, None)
    });
    let g = &verbs(&cep)[0];
    assert_eq!(g["maxDigits"], 8);
    assert_eq!(g["finishOnKey"], "#");
    let hints = g["recognizer"]["hints"].as_array().unwrap();
    assert!(hints.contains(&json!("Rua Delminda Silveira")), "{hints:?}");
    assert_eq!(g["recognizer"]["hintsBoost"], HINTS_BOOST);
}

#[test]
fn the_house_number_ends_on_hash_so_a_star_alone_can_say_none() {
    let doc = with_ctx(None, |c| {
        c.jambonz_render_at(&ask(AskKind::Number, "number.ask"), 4, None)
    });
    let g = &verbs(&doc)[0];
    assert_eq!(g["finishOnKey"], "#");
    assert_eq!(g["minDigits"], 1);
    assert!(g.get("numDigits").is_none() && g.get("maxDigits").is_none());
}

#[test]
fn a_hold_pauses_and_redirects_to_the_poll_and_a_transfer_dials_the_agent() {
    let hold = Reply {
        lines: vec![Line::new("reserve.hold")],
        next: Next::Hold { pause_s: 2 },
    };
    let doc = with_ctx(None, |c| c.jambonz_render_at(&hold, 5, None));
    assert_eq!(names(&doc), ["say", "pause", "redirect"]);
    let v = verbs(&doc);
    assert_eq!(v[1]["length"], 2);
    assert_eq!(
        v[2]["actionHook"],
        "https://ivr.example.com/jambonz?hook=poll&seq=5"
    );

    let transfer = Reply {
        lines: vec![Line::new("reserve.hold")],
        next: Next::Transfer,
    };
    let doc = with_ctx(Some("+5548999990000"), |c| {
        c.jambonz_render_at(&transfer, 6, None)
    });
    assert_eq!(names(&doc), ["say", "dial"]);
    let d = &verbs(&doc)[1];
    assert_eq!(
        d["target"],
        json!([{"type": "phone", "number": "+5548999990000"}])
    );
    assert_eq!(
        d["actionHook"],
        "https://ivr.example.com/jambonz?hook=dial&seq=6"
    );
    let doc = with_ctx(None, |c| c.jambonz_render_at(&transfer, 6, None));
    assert_eq!(names(&doc), ["say", "hangup"]);
}

#[test]
fn apology_and_the_resume_hold() {
    let doc = with_ctx(None, |c| c.jambonz_apology("error.apology"));
    assert_eq!(names(&doc), ["say", "hangup"]);
    let doc = with_ctx(None, |c| {
        c.jambonz_hold_at(Some("wait.moment"), 1, &resume_route(2))
    });
    assert_eq!(names(&doc), ["say", "pause", "redirect"]);
    assert_eq!(
        verbs(&doc)[2]["actionHook"],
        "https://ivr.example.com/jambonz?hook=resume&n=2"
    );
}

#[test]
fn bodies_as_jambonz_posts_them() {
    let speech = br#"{"call_sid":"abc-1","from":"+5548991234567","to":"+554830000000",
        "call_status":"in-progress","reason":"speechDetected",
        "speech":{"is_final":true,"alternatives":[{"transcript":"sim","confidence":0.91},
        {"transcript":"assim","confidence":0.2}]}}"#;
    let b = HookBody::parse(speech).unwrap();
    assert_eq!(b.call_sid, "abc-1");
    assert_eq!(b.from, "+5548991234567");
    assert_eq!(
        b.gathered,
        Gathered::Speech {
            transcript: "sim".into(),
            confidence: Some(0.91)
        }
    );
    let dtmf = br#"{"call_sid":"abc-1","reason":"dtmfDetected","digits":"88010400"}"#;
    assert_eq!(
        HookBody::parse(dtmf).unwrap().gathered,
        Gathered::Digits("88010400".into())
    );
    let silence = br#"{"call_sid":"abc-1","reason":"timeout"}"#;
    assert_eq!(
        HookBody::parse(silence).unwrap().gathered,
        Gathered::Nothing
    );
    let odd = br#"{"call_sid":"abc-1","reason":"speechDetected","speech":{"alternatives":[{"confidence":7}]}}"#;
    assert_eq!(HookBody::parse(odd).unwrap().gathered, Gathered::Nothing);
    let dial = br#"{"call_sid":"abc-1","dial_call_status":"completed"}"#;
    assert_eq!(
        HookBody::parse(dial).unwrap().dial_call_status.as_deref(),
        Some("completed")
    );
    assert_eq!(HookBody::parse(b"CallSid=x"), Err(BodyError::NotJson));
    assert_eq!(HookBody::parse(b"[1]"), Err(BodyError::NotJson));
    assert_eq!(
        HookBody::parse(br#"{"from":"x"}"#),
        Err(BodyError::NoCallSid)
    );
    assert_eq!(HookName::parse(None), Ok(HookName::Start));
    assert_eq!(HookName::parse(Some("dial")), Ok(HookName::Dial));
    assert!(HookName::parse(Some("status")).is_err());
}
