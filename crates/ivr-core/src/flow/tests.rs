//! Every transition of the call, driven through [`advance`].

use super::*;
use crate::domain::{HouseNumber, ReservedPort};

fn cfg() -> FlowConfig {
    FlowConfig {
        max_attempts: 3,
        agent_available: true,
        ..FlowConfig::default()
    }
}

fn no_agent() -> FlowConfig {
    FlowConfig {
        agent_available: false,
        ..cfg()
    }
}

fn keys(d: &str) -> Event {
    Event::Answer {
        digits: Some(d.into()),
        speech: None,
        confidence: None,
    }
}

fn said(s: &str) -> Event {
    Event::Answer {
        digits: None,
        speech: Some(s.into()),
        confidence: None,
    }
}

fn keys_of(t: &Transition) -> Vec<&'static str> {
    let mut k: Vec<_> = t.reply.lines.iter().map(|l| l.key).collect();
    if let Next::Ask { prompt, .. } = &t.reply.next {
        k.extend(prompt.iter().map(|l| l.key));
    }
    k
}

fn place() -> Place {
    crate::tutorial::place()
}

/// Walks a call through `events`, returning every transition.
fn walk(cfg: &FlowConfig, events: Vec<Event>) -> Vec<Transition> {
    let mut call = Call::new(Some("+5548999990000".into()));
    let mut out = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        let t = advance(cfg, &call, e, 1_000 * i as u64);
        call = t.call.clone();
        out.push(t);
    }
    out
}

fn to_confirm_address() -> Vec<Event> {
    vec![
        Event::Start,
        keys("123*123"),
        keys("1"),
        said("gabriel marioto"),
        said("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        Event::Poll(Progress::Geocoded(GeoResult::Found(place()))),
    ]
}

#[test]
fn greeting_then_the_code_question() {
    let t = walk(&cfg(), vec![Event::Start]);
    assert_eq!(
        keys_of(&t[0]),
        ["greeting_generic", "privacy", "agent.anytime", "code.ask"]
    );
    assert!(matches!(
        t[0].reply.next,
        Next::Ask {
            kind: AskKind::Code,
            ..
        }
    ));
    assert_eq!(t[0].call.step, Step::AskCode);
}

#[test]
fn keypad_call_to_a_reserved_port() {
    let mut ev = to_confirm_address();
    ev.push(keys("1"));
    ev.push(Event::Poll(Progress::Reservation(
        ReservationProgress::Waiting { failing: false },
    )));
    ev.push(Event::Poll(Progress::Reservation(
        ReservationProgress::Done(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p1".into(),
            box_id: "b1".into(),
            box_name: crate::domain::BoxName::parse("CTO-12"),
            port: Some(3),
        })),
    )));
    let t = walk(&cfg(), ev);
    // code read back digit group by digit group
    let confirm = &t[1];
    assert_eq!(confirm.call.step, Step::ConfirmCode);
    let Next::Ask { prompt, kind } = &confirm.reply.next else {
        panic!()
    };
    assert_eq!(*kind, AskKind::YesNo);
    assert_eq!(
        prompt[0].args[0].1,
        Arg::Code(ClientCode::parse("123|123").unwrap())
    );
    assert_eq!(t[2].call.step, Step::AskName);
    assert_eq!(t[3].call.data.name.as_deref(), Some("Gabriel Marioto"));
    assert_eq!(t[3].call.step, Step::AskAddress);
    // spoken address goes to the geocoder with the number in digits
    let Some(Effect::Geocode(AddressQuery::Spoken { text })) = &t[4].effect else {
        panic!("{:?}", t[4].effect)
    };
    assert!(text.contains("900"));
    assert!(matches!(t[4].reply.next, Next::Hold { .. }));
    assert_eq!(keys_of(&t[4]), ["address.searching"]);
    // read back for confirmation
    assert_eq!(t[5].call.step, Step::ConfirmAddress);
    let Next::Ask { prompt, .. } = &t[5].reply.next else {
        panic!()
    };
    assert_eq!(prompt[0].args[0].1, Arg::Text(place().spoken()));
    // confirmed: one reservation request with everything collected
    let Some(Effect::Reserve(req)) = &t[6].effect else {
        panic!()
    };
    assert_eq!(req.client_code.as_str(), "123|123");
    assert_eq!(req.client_name, "Gabriel Marioto");
    assert_eq!(req.place, place());
    assert_eq!(req.phone.as_deref(), Some("+5548999990000"));
    assert_eq!(keys_of(&t[6]), ["reserve.hold"]);
    // waiting
    assert!(matches!(t[7].reply.next, Next::Hold { .. }));
    assert!(t[7].effect.is_none());
    // outcome read back, then goodbye and hang up
    assert_eq!(keys_of(&t[8]), ["outcome.reserved", "goodbye.reserved"]);
    assert_eq!(
        t[8].reply.lines[0].args,
        vec![
            ("box", Arg::Text("CTO-12".into())),
            ("port", Arg::Text("3".into()))
        ]
    );
    assert_eq!(t[8].reply.next, Next::Hangup);
    assert_eq!(t[8].call.step, Step::Finished);
}

#[test]
fn silence_until_goodbye_without_an_agent() {
    let t = walk(
        &no_agent(),
        vec![Event::Start, Event::Silence, Event::Silence, Event::Silence],
    );
    assert_eq!(keys_of(&t[1]), ["no_input", "code.retry"]);
    assert_eq!(keys_of(&t[2]), ["no_input", "code.last"]);
    assert_eq!(keys_of(&t[3]), ["goodbye.give_up"]);
    assert_eq!(t[3].reply.next, Next::Hangup);
}

#[test]
fn a_wrong_code_is_corrected() {
    let t = walk(
        &cfg(),
        vec![
            Event::Start,
            keys("555"),
            keys("2"),
            said("um dois três"),
            keys("1"),
        ],
    );
    assert_eq!(keys_of(&t[2]), ["code.again", "code.ask"]);
    assert_eq!(t[2].call.step, Step::AskCode);
    assert_eq!(t[2].call.data.code, None);
    assert_eq!(
        t[3].call.data.code.as_ref().map(|c| c.as_str()),
        Some("123")
    );
    assert_eq!(t[4].call.step, Step::AskName);
    assert_eq!(t[4].call.corrections, 1);
}

#[test]
fn endless_corrections_end_with_a_human() {
    let mut ev = vec![Event::Start];
    for _ in 0..4 {
        ev.push(keys("555"));
        ev.push(keys("2"));
    }
    let t = walk(&cfg(), ev);
    let last = t.last().unwrap();
    assert_eq!(last.reply.next, Next::Transfer);
    assert_eq!(keys_of(last), ["transfer.give_up"]);
    assert_eq!(last.call.step, Step::Transferred);
}

#[test]
fn unusable_answers_grow_more_explicit_then_transfer() {
    let t = walk(
        &cfg(),
        vec![Event::Start, said("banana"), said("não sei"), said("hein")],
    );
    assert_eq!(keys_of(&t[1]), ["not_understood.code", "code.retry"]);
    assert_eq!(keys_of(&t[2]), ["not_understood.code", "code.last"]);
    assert_eq!(t[3].reply.next, Next::Transfer);
    assert_eq!(keys_of(&t[3]), ["transfer.give_up"]);
}

#[test]
fn attempts_are_counted_per_question() {
    let t = walk(
        &no_agent(),
        vec![
            Event::Start,
            Event::Silence,
            Event::Silence,
            keys("12"),
            Event::Silence,
            keys("1"),
        ],
    );
    assert_eq!(t[3].call.attempts, 0, "a new question starts afresh");
    assert_eq!(keys_of(&t[4]), ["no_input", "code.confirm_retry"]);
    assert_eq!(t[5].call.step, Step::AskName);
}

#[test]
fn a_name_must_be_spoken() {
    let t = walk(
        &cfg(),
        vec![Event::Start, keys("1"), keys("1"), keys("1234")],
    );
    assert_eq!(keys_of(&t[3]), ["not_understood.name", "name.retry"]);
    assert_eq!(t[3].call.step, Step::AskName);
}

fn to_address() -> Vec<Event> {
    vec![Event::Start, keys("123"), keys("1"), said("Maria da Silva")]
}

#[test]
fn cep_on_the_keypad_then_the_house_number() {
    let mut ev = to_address();
    ev.push(keys("88025500"));
    ev.push(keys("900"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[4].call.step, Step::AskNumber);
    assert!(matches!(
        t[4].reply.next,
        Next::Ask {
            kind: AskKind::Number,
            ..
        }
    ));
    let Some(Effect::Geocode(AddressQuery::Cep { cep, number })) = &t[5].effect else {
        panic!()
    };
    assert_eq!((cep.as_str(), number.given()), ("88025500", Some("900")));
    assert!(matches!(t[5].call.step, Step::Geocoding { .. }));
}

#[test]
fn no_house_number_and_a_bad_cep() {
    let mut ev = to_address();
    ev.push(keys("8802"));
    ev.push(keys("88025500"));
    ev.push(keys("*"));
    let t = walk(&cfg(), ev);
    assert_eq!(keys_of(&t[4]), ["not_understood.cep", "address.retry"]);
    let Some(Effect::Geocode(AddressQuery::Cep { number, .. })) = &t[6].effect else {
        panic!()
    };
    assert_eq!(*number, HouseNumber::Without);
}

#[test]
fn an_address_not_found_is_asked_again_and_counts() {
    let mut ev = to_address();
    for r in [GeoResult::NotFound, GeoResult::Failed, GeoResult::NotFound] {
        ev.push(said("Rua Que Não Existe, 10, Centro"));
        ev.push(Event::Poll(Progress::Geocoded(r)));
    }
    let t = walk(&no_agent(), ev);
    assert_eq!(keys_of(&t[5]), ["address.not_found", "address.retry"]);
    assert_eq!(t[5].call.step, Step::AskAddress);
    assert_eq!(keys_of(&t[7]), ["address.not_found", "address.last"]);
    assert_eq!(keys_of(&t[9]), ["goodbye.give_up"]);
    assert_eq!(t[9].reply.next, Next::Hangup);
}

#[test]
fn a_slow_geocoder_is_waited_for_only_so_long() {
    let c = cfg();
    let mut call = Call::new(None);
    for e in to_address() {
        call = advance(&c, &call, e, 0).call;
    }
    let t = advance(&c, &call, said("Rua Delminda Silveira 900"), 10_000);
    let waiting = advance(
        &c,
        &t.call,
        Event::Poll(Progress::Pending),
        10_000 + c.geocode_hold_ms - 1,
    );
    assert!(matches!(waiting.reply.next, Next::Hold { .. }));
    assert_eq!(waiting.call, t.call, "a pending poll changes nothing");
    let late = advance(
        &c,
        &t.call,
        Event::Poll(Progress::Pending),
        10_000 + c.geocode_hold_ms,
    );
    assert_eq!(keys_of(&late), ["address.not_found", "address.retry"]);
}

#[test]
fn the_address_can_be_corrected() {
    let mut ev = to_confirm_address();
    ev.push(keys("2"));
    let t = walk(&cfg(), ev);
    let last = t.last().unwrap();
    assert_eq!(keys_of(last), ["address.again", "address.ask"]);
    assert_eq!(last.call.data.place, None);
    assert_eq!(last.call.step, Step::AskAddress);
    assert!(last.effect.is_none());
}

fn reserved(port: Option<i64>) -> ReservedPort {
    ReservedPort {
        property_id: "p".into(),
        box_id: "b".into(),
        box_name: crate::domain::BoxName::parse("CTO-7"),
        port,
    }
}

fn after_confirm(cfg: &FlowConfig, progress: ReservationProgress, now: u64) -> Transition {
    let mut call = Call::new(None);
    for e in to_confirm_address() {
        call = advance(cfg, &call, e, 0).call;
    }
    let t = advance(cfg, &call, keys("1"), 1_000);
    assert!(matches!(t.effect, Some(Effect::Reserve(_))));
    advance(
        cfg,
        &t.call,
        Event::Poll(Progress::Reservation(progress)),
        now,
    )
}

#[test]
fn every_outcome_is_read_back() {
    let c = cfg();
    let t = after_confirm(
        &c,
        ReservationProgress::Done(ReservationOutcome::Existing(reserved(Some(4)))),
        2_000,
    );
    assert_eq!(keys_of(&t), ["outcome.existing", "goodbye.reserved"]);
    let t = after_confirm(
        &c,
        ReservationProgress::Done(ReservationOutcome::Reserved(reserved(None))),
        2_000,
    );
    assert_eq!(
        keys_of(&t),
        ["outcome.reserved_no_port", "goodbye.reserved"]
    );
    assert_eq!(
        t.reply.lines[0].args,
        vec![("box", Arg::Text("CTO-7".into()))]
    );
    let t = after_confirm(
        &c,
        ReservationProgress::Done(ReservationOutcome::NotViable),
        2_000,
    );
    assert_eq!(keys_of(&t), ["outcome.not_viable", "agent.offer"]);
    assert_eq!(t.call.step, Step::OfferAgent);
    let t = after_confirm(&c, ReservationProgress::Dead, 2_000);
    assert_eq!(keys_of(&t), ["outcome.failed", "agent.offer"]);
    let t = after_confirm(&no_agent(), ReservationProgress::Dead, 2_000);
    assert_eq!(keys_of(&t), ["outcome.failed", "goodbye.default"]);
    assert_eq!(t.reply.next, Next::Hangup);
}

#[test]
fn a_box_without_a_known_name_is_read_back_without_it() {
    let c = cfg();
    let nameless = |port| ReservedPort {
        box_name: None,
        box_id: "5da62201493d9c00066655b8".into(),
        ..reserved(port)
    };
    let t = after_confirm(
        &c,
        ReservationProgress::Done(ReservationOutcome::Reserved(nameless(Some(3)))),
        2_000,
    );
    assert_eq!(keys_of(&t), ["outcome.reserved_no_box", "goodbye.reserved"]);
    assert_eq!(t.reply.lines[0].args, vec![("port", Arg::Text("3".into()))]);
    let t = after_confirm(
        &c,
        ReservationProgress::Done(ReservationOutcome::Existing(nameless(None))),
        2_000,
    );
    assert_eq!(
        keys_of(&t),
        ["outcome.existing_no_box_no_port", "goodbye.reserved"]
    );
    assert!(t.reply.lines[0].args.is_empty());
}

#[test]
fn a_reservation_still_being_confirmed_past_the_hold_says_so() {
    let c = cfg();
    let t = after_confirm(
        &c,
        ReservationProgress::Confirming,
        1_000 + c.reserve_hold_ms - 1,
    );
    assert!(matches!(t.reply.next, Next::Hold { .. }));
    let t = after_confirm(
        &c,
        ReservationProgress::Confirming,
        1_000 + c.reserve_hold_ms,
    );
    assert_eq!(keys_of(&t), ["outcome.confirming", "agent.offer"]);
    assert_eq!(t.call.step, Step::OfferAgent);
}

#[test]
fn a_slow_ozmap_means_the_team_calls_back() {
    let c = cfg();
    let t = after_confirm(
        &c,
        ReservationProgress::Waiting { failing: true },
        1_000 + c.reserve_hold_ms - 1,
    );
    assert!(matches!(t.reply.next, Next::Hold { .. }));
    let t = after_confirm(
        &c,
        ReservationProgress::Waiting { failing: true },
        1_000 + c.reserve_hold_ms,
    );
    assert_eq!(keys_of(&t), ["outcome.delayed", "agent.offer"]);
    // the caller takes the offer
    let tr = advance(&c, &t.call, said("quero falar com um atendente"), 0);
    assert_eq!(tr.reply.next, Next::Transfer);
    assert_eq!(keys_of(&tr), ["transfer.requested"]);
    let after = advance(&c, &tr.call, Event::DialEnded { answered: false }, 0);
    assert_eq!(keys_of(&after), ["agent.unavailable"]);
    assert_eq!(after.reply.next, Next::Hangup);
    // or declines, or says nothing
    assert_eq!(
        keys_of(&advance(&c, &t.call, keys("2"), 0)),
        ["goodbye.default"]
    );
    assert_eq!(
        advance(&c, &t.call, Event::Silence, 0).reply.next,
        Next::Hangup
    );
}

#[test]
fn an_ended_call_only_says_goodbye() {
    let t = after_confirm(
        &cfg(),
        ReservationProgress::Done(ReservationOutcome::Reserved(reserved(Some(1)))),
        2_000,
    );
    for e in [
        keys("1"),
        Event::Silence,
        Event::Poll(Progress::Pending),
        Event::Start,
    ] {
        let again = advance(&cfg(), &t.call, e, 3_000);
        assert_eq!(again.reply.next, Next::Hangup);
        assert!(again.effect.is_none());
    }
}

#[test]
fn start_on_a_call_under_way_resumes_without_greeting() {
    let t = walk(&cfg(), vec![Event::Start, keys("12"), Event::Start]);
    assert_eq!(keys_of(&t[2]), ["code.confirm"]);
    assert_eq!(t[2].call, t[1].call);
}

#[test]
fn holds_ignore_stray_input() {
    let mut ev = to_address();
    ev.push(said("Rua Delminda Silveira 900"));
    ev.push(keys("5"));
    ev.push(Event::Silence);
    let t = walk(&cfg(), ev);
    for tr in &t[5..] {
        assert!(matches!(tr.reply.next, Next::Hold { .. }));
        assert!(matches!(tr.call.step, Step::Geocoding { .. }));
        assert!(tr.effect.is_none());
    }
}

mod properties;

mod address;
mod client;
mod link;
mod location;
mod number;
mod rights;
mod visit;
