//! The property the fuzz target (`fuzz/`) checks, as a plain function so the
//! main test suite runs it too (`crates/test-support/tests/fuzz_check.rs`, on
//! stable, over the seed corpus and random inputs).
//!
//! One input is a webhook body. It goes through what the service does with one:
//! - [`Form::parse`] (size and count bounds, value cutting);
//! - every speech normaliser, on `Digits` and `SpeechResult`;
//! - the call flow, from the greeting, with each parameter as one event:
//!   `Digits`, `SpeechResult` or `Both` an answer, `Silence` a silence, `Dial` the
//!   end of a transfer, `Poll` a background result that carries the value as
//!   text (a street from a hostile geocoder, a box name from OZmap);
//! - the TwiML writer for every reply, and for a `<Say>` of the raw bytes.
//!
//! Every document must parse as XML with a `<Response>` root. A panic, in any
//! step, is a finding.

use ivr_core::domain::{Place, ReservationOutcome, ReservedPort};
use ivr_core::flow::{self, Call, Event, FlowConfig, GeoResult, Progress, ReservationProgress};
use ivr_core::prompts::Prompts;
use ivr_core::render::{Recogniser, RenderCtx};
use ivr_core::speech;
use ivr_core::twiml::{Response, Say, SayPart, Verb};
use ivr_core::webhook::Form;
use std::sync::OnceLock;

/// Most answers played per input (a body holds at most 64 pairs anyway).
const MAX_EVENTS: usize = 40;

fn prompts() -> &'static Prompts {
    static P: OnceLock<Prompts> = OnceLock::new();
    P.get_or_init(|| Prompts::shipped("pt-BR").expect("the shipped prompts load"))
}

fn assert_twiml(doc: &str) {
    let parsed = roxmltree::Document::parse(doc)
        .unwrap_or_else(|e| panic!("malformed TwiML ({e}): {doc:?}"));
    assert_eq!(
        parsed.root_element().tag_name().name(),
        "Response",
        "{doc:?}"
    );
}

/// Checks one input; panics on a finding.
pub fn check(data: &[u8]) {
    let ctx = RenderCtx {
        prompts: prompts(),
        public_url: "https://ivr.example.com",
        voice: "Polly.Camila",
        language: "pt-BR",
        agent_number: Some("+5548999990000"),
        recogniser: &Recogniser::default(),
        platform: ivr_core::twiml::Platform::Twilio,
    };

    // The raw bytes as text straight into a <Say>.
    let text = String::from_utf8_lossy(data).into_owned();
    let mut r = Response::new();
    r.push(Verb::Say(Say {
        voice: Some(text.clone()),
        language: Some(text.clone()),
        parts: vec![SayPart::Text(text.clone()), SayPart::Digits(text.clone())],
    }))
    .push(Verb::Redirect { url: text.clone() });
    for platform in ivr_core::twiml::Platform::ALL {
        assert_twiml(&r.render_for(platform));
    }

    let Some(form) = Form::parse(data) else {
        return;
    };
    let digits = form.get("Digits");
    let speech_result = form.get("SpeechResult");
    let _ = speech::client_code(digits, speech_result);
    let _ = speech::cep(digits, speech_result);
    let _ = speech::house_number(digits, speech_result);
    let _ = speech::yes_no(digits, speech_result);
    let _ = speech::wants_agent(digits, speech_result);
    let _ = speech::name(speech_result);
    let _ = speech::address(speech_result);
    if let Some(d) = digits {
        let _ = speech::digits(d);
        let _ = speech::digits_with_separator(d);
    }

    let cfg = FlowConfig {
        agent_available: true,
        ..FlowConfig::default()
    };
    let mut now = 1_000_000u64;
    let mut call = Call::new(form.get("From").map(str::to_string));
    let mut t = flow::advance(&cfg, &call, Event::Start, now);
    assert_twiml(&ctx.render(&t.reply, 1));
    let events = form.0.iter().filter_map(|(k, v)| {
        Some(match k.as_str() {
            "Digits" => Event::Answer {
                digits: Some(v.clone()),
                speech: None,
                confidence: None,
            },
            "SpeechResult" => Event::Answer {
                digits: None,
                speech: Some(v.clone()),
                confidence: None,
            },
            "Both" => Event::Answer {
                digits: Some(v.clone()),
                speech: Some(v.clone()),
                confidence: None,
            },
            "Silence" => Event::Silence,
            "Poll" => poll_event(v),
            "Dial" => Event::DialEnded {
                answered: v.is_empty(),
            },
            _ => return None,
        })
    });
    for (seq, event) in events.take(MAX_EVENTS).enumerate() {
        call = t.call.clone();
        now += 3_000;
        t = flow::advance(&cfg, &call, event, now);
        assert_twiml(&ctx.render(&t.reply, seq as i64 + 2));
    }
    assert_twiml(&ctx.apology("error.apology"));
}

/// A poll whose result is decided by the value: an outside service's answer
/// carrying arbitrary text.
fn poll_event(v: &str) -> Event {
    let place = || Place {
        street: v.to_string(),
        number: ivr_core::domain::HouseNumber::parse(&v.chars().take(8).collect::<String>()),
        complement: None,
        neighbourhood: Some(v.to_string()),
        city: v.to_string(),
        state: None,
        cep: None,
        lat: -27.5,
        lng: -48.5,
    };
    let port = || ReservedPort {
        property_id: v.to_string(),
        box_id: v.to_string(),
        box_name: ivr_core::domain::BoxName::parse(v),
        port: v.len().try_into().ok(),
    };
    Event::Poll(match v.len() % 7 {
        0 => Progress::Pending,
        1 => Progress::Geocoded(GeoResult::Found(place())),
        2 => Progress::Geocoded(GeoResult::NotFound),
        3 => Progress::Geocoded(GeoResult::Failed),
        4 => Progress::Reservation(ReservationProgress::Done(ReservationOutcome::Reserved(
            port(),
        ))),
        5 => Progress::Reservation(ReservationProgress::Done(ReservationOutcome::Existing(
            port(),
        ))),
        _ if v.len().is_multiple_of(2) => Progress::Reservation(ReservationProgress::Confirming),
        _ => Progress::Reservation(ReservationProgress::Waiting {
            failing: v.is_empty(),
        }),
    })
}
