//! Every transition of the call, driven through [`advance`].

use super::*;
use crate::domain::ReservedPort;

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
    }
}

fn said(s: &str) -> Event {
    Event::Answer {
        digits: None,
        speech: Some(s.into()),
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
    Place {
        street: "R. Delminda Silveira".into(),
        number: Some("900".into()),
        neighbourhood: Some("Agronômica".into()),
        city: "Florianópolis".into(),
        state: Some("SC".into()),
        cep: Cep::parse("88025500"),
        lat: -27.578,
        lng: -48.527,
    }
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
    assert_eq!(keys_of(&t[0]), ["greeting", "code.ask"]);
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
            box_name: "CTO-12".into(),
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
