//! What a Brazilian caller is owed: a protocol, the company's name, why the
//! data is asked, and a person at any question, within the hours.

use super::*;

fn with_company() -> FlowConfig {
    FlowConfig {
        company_name: Some("Fibra Sul".into()),
        agent_hours_spoken: Some("de segunda a sexta, das 8 às 18 horas".into()),
        ..cfg()
    }
}

fn new_call() -> Call {
    let mut call = Call::new(Some("+5548999990000".into()));
    call.data.protocol = Some("2026120100000042".into());
    call
}

#[test]
fn the_greeting_names_the_company_reads_the_protocol_and_says_how_to_reach_a_person() {
    let t = advance(&with_company(), &new_call(), Event::Start, 0);
    assert_eq!(
        keys_of(&t),
        [
            "greeting",
            "protocol.say",
            "privacy",
            "agent.anytime",
            "code.ask"
        ]
    );
    assert_eq!(t.reply.lines[0].args[0].1, Arg::Text("Fibra Sul".into()));
    assert_eq!(
        t.reply.lines[1].args[0].1,
        Arg::Digits("2026120100000042".into())
    );
    // without an agent number the option is not offered
    let t = advance(
        &FlowConfig {
            agent_available: false,
            ..with_company()
        },
        &new_call(),
        Event::Start,
        0,
    );
    assert!(!keys_of(&t).contains(&"agent.anytime"));
}

#[test]
fn a_person_at_the_first_question_before_any_data() {
    let c = with_company();
    let t0 = advance(&c, &new_call(), Event::Start, 0);
    let t = advance(&c, &t0.call, said("quero falar com um atendente"), 1);
    assert_eq!(t.call.step, Step::Transferred);
    assert_eq!(t.reply.next, Next::Transfer);
    assert!(t.call.data.code.is_none() && t.call.data.name.is_none());
}

#[test]
fn zero_at_every_question_transfers_and_a_failed_dial_goes_back_there() {
    let c = with_company();
    let mut call = new_call();
    for step in [
        Step::AskCode,
        Step::ConfirmCode,
        Step::AskName,
        Step::AskAddress,
        Step::AskNumber,
    ] {
        call.step = step.clone();
        call.data.code = Some(ClientCode::parse("123").unwrap());
        call.data.cep = Cep::parse("88025500");
        let t = advance(&c, &call, keys("0"), 0);
        assert_eq!(t.reply.next, Next::Transfer, "{step:?}");
        let back = advance(&c, &t.call, Event::DialEnded { answered: false }, 1);
        assert_eq!(back.call.step, step);
        assert_eq!(keys_of(&back)[0], "agent.failed");
        assert!(back.call.data.before_transfer.is_none());
    }
}

#[test]
fn outside_the_hours_the_caller_hears_them_and_goes_on() {
    let c = with_company();
    let mut call = new_call();
    call.step = Step::AskAddress;
    let closed = Moment {
        now_ms: 0,
        agent_open: false,
    };
    let t = advance_at(&c, &call, said("atendente"), closed);
    assert_eq!(t.call.step, Step::AskAddress);
    assert_eq!(keys_of(&t), ["agent.closed", "address.ask"]);
    assert_eq!(
        t.reply.lines[0].args[0].1,
        Arg::Text("de segunda a sexta, das 8 às 18 horas".into())
    );
    assert_eq!(
        t.call.attempts, 0,
        "asking for a person is not a failed answer"
    );
}

#[test]
fn without_an_agent_zero_is_no_house_number_and_star_always_is() {
    let mut call = new_call();
    call.step = Step::AskNumber;
    call.data.cep = Cep::parse("88025500");
    for (cfg, key) in [(no_agent(), "0"), (cfg(), "*")] {
        let t = advance(&cfg, &call, keys(key), 0);
        let Some(Effect::Geocode(AddressQuery::Cep { number, .. })) = &t.effect else {
            panic!("{key}: {:?}", t.effect)
        };
        assert_eq!(*number, crate::domain::HouseNumber::Without);
    }
}

#[test]
fn the_protocol_is_said_again_with_the_outcome_and_goes_to_the_ledger() {
    let c = with_company();
    let mut call = new_call();
    call.step = Step::ConfirmAddress;
    call.data.code = Some(ClientCode::parse("123").unwrap());
    call.data.name = Some("Ana".into());
    call.data.place = Some(place());
    let t = advance(&c, &call, keys("1"), 0);
    let Some(Effect::Reserve(req)) = &t.effect else {
        panic!()
    };
    assert_eq!(req.protocol.as_deref(), Some("2026120100000042"));
    let done = advance(
        &c,
        &t.call,
        Event::Poll(Progress::Reservation(ReservationProgress::Done(
            ReservationOutcome::NotViable,
        ))),
        1,
    );
    assert!(
        keys_of(&done).contains(&"protocol.again"),
        "{:?}",
        keys_of(&done)
    );
}
