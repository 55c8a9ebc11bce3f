//! No number heard, no number read back: a spoken address found without a
//! house number (or with one put together from pieces) gets the number asked,
//! keypad first, before the read-back; "sem número" is read back only when
//! the caller said it.

use super::*;
use crate::domain::HouseNumber;

/// The tutorial's street, found at its street-level position: no number.
fn street_only() -> Place {
    Place {
        number: None,
        ..place()
    }
}

fn with_number(n: HouseNumber) -> Place {
    Place {
        number: Some(n),
        ..place()
    }
}

fn given(n: &str) -> HouseNumber {
    HouseNumber::Given(n.into())
}

/// Said at the address question, then the geocoder's answer.
fn found(spoken: &str, result: GeoResult) -> Vec<Event> {
    let mut ev = to_address();
    ev.push(said(spoken));
    ev.push(Event::Poll(Progress::Geocoded(result)));
    ev
}

fn read_back_text(t: &Transition) -> String {
    let Next::Ask { prompt, .. } = &t.reply.next else {
        panic!("not a question: {:?}", t.reply);
    };
    match &prompt[0].args[..] {
        [(_, Arg::Text(s))] => s.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_street_without_a_number_asks_the_number_on_the_keypad_first() {
    let t = walk(
        &cfg(),
        found("Rua Delminda Silveira", GeoResult::Found(street_only())),
    );
    let asked = &t[5];
    assert_eq!(asked.call.step, Step::AskStreetNumber);
    assert_eq!(keys_of(asked), ["number.missing"]);
    assert!(matches!(
        asked.reply.next,
        Next::Ask {
            kind: AskKind::Number,
            ..
        }
    ));
    assert_eq!(asked.call.data.place, Some(street_only()));
    assert!(asked.effect.is_none());
}

#[test]
fn a_keypad_number_is_looked_up_on_that_street_and_read_back_with_it() {
    let mut ev = found("Rua Delminda Silveira", GeoResult::Found(street_only()));
    ev.push(keys("900"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
    let t = walk(&cfg(), ev);
    let Some(Effect::Geocode(AddressQuery::Numbered {
        place: street,
        number,
    })) = &t[6].effect
    else {
        panic!("{:?}", t[6].effect)
    };
    assert_eq!((street, number), (&street_only(), &given("900")));
    assert!(matches!(t[6].call.step, Step::Geocoding { .. }));
    // the same address, not a new attempt
    assert_eq!(t[6].call.data.address_attempts, 1);
    assert_eq!(t[7].call.step, Step::ConfirmAddress);
    assert_eq!(keys_of(&t[7]), ["address.confirm"]);
    assert_eq!(
        read_back_text(&t[7]),
        "Rua Delminda Silveira, 900, Agronômica, Florianópolis"
    );
}

#[test]
fn star_is_no_number_and_is_read_back_as_sem_numero() {
    let mut ev = found("Rua Delminda Silveira", GeoResult::Found(street_only()));
    ev.push(keys("*"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(
        with_number(HouseNumber::Without),
    ))));
    let t = walk(&cfg(), ev);
    let Some(Effect::Geocode(AddressQuery::Numbered { number, .. })) = &t[6].effect else {
        panic!("{:?}", t[6].effect)
    };
    assert_eq!(*number, HouseNumber::Without);
    let text = read_back_text(&t[7]);
    assert_eq!(
        text,
        "Rua Delminda Silveira, sem número, Agronômica, Florianópolis"
    );
}

#[test]
fn when_the_lookup_of_the_number_fails_the_street_is_read_back_with_it() {
    for result in [GeoResult::NotFound, GeoResult::Failed] {
        let mut ev = found("Rua Delminda Silveira", GeoResult::Found(street_only()));
        ev.push(keys("870"));
        ev.push(Event::Poll(Progress::Geocoded(result)));
        let t = walk(&cfg(), ev);
        assert_eq!(t[7].call.step, Step::ConfirmAddress);
        assert_eq!(
            t[7].call.data.place.as_ref().unwrap().number,
            Some(given("870"))
        );
        assert!(read_back_text(&t[7]).contains(", 870, "));
    }
}

#[test]
fn said_sem_numero_is_read_back_without_another_question() {
    let t = walk(
        &cfg(),
        found(
            "Rua Delminda Silveira, sem número",
            GeoResult::Found(with_number(HouseNumber::Without)),
        ),
    );
    assert_eq!(t[5].call.step, Step::ConfirmAddress);
    assert_eq!(keys_of(&t[5]), ["address.confirm"]);
    assert!(read_back_text(&t[5]).contains("sem número"));
}

#[test]
fn a_number_may_be_said_at_that_question() {
    let mut ev = found("Rua Lauro Linhares", GeoResult::Found(street_only()));
    ev.push(said("mil e quinhentos"));
    let t = walk(&cfg(), ev);
    let Some(Effect::Geocode(AddressQuery::Numbered { number, .. })) = &t[6].effect else {
        panic!("{:?}", t[6].effect)
    };
    assert_eq!(*number, given("1500"));
    assert!(!t[6].call.data.unsure);
    // said in pieces again: read back as a guess
    let mut ev = found("Rua Lauro Linhares", GeoResult::Found(street_only()));
    ev.push(said("mil, quinhentos"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(
        with_number(given("1500")),
    ))));
    let t = walk(&cfg(), ev);
    assert!(matches!(
        &t[6].effect,
        Some(Effect::Geocode(AddressQuery::Numbered { number, .. })) if *number == given("1500")
    ));
    assert_eq!(keys_of(&t[7]), ["address.confirm_unsure"]);
    // "sem número" said
    let mut ev = found("Rua Lauro Linhares", GeoResult::Found(street_only()));
    ev.push(said("não tem, é sem número"));
    let t = walk(&cfg(), ev);
    assert!(matches!(
        &t[6].effect,
        Some(Effect::Geocode(AddressQuery::Numbered {
            number: HouseNumber::Without,
            ..
        }))
    ));
}

#[test]
fn silence_and_garbage_are_asked_again_then_a_person() {
    let mut ev = found("Rua Delminda Silveira", GeoResult::Found(street_only()));
    ev.push(Event::Silence);
    ev.push(said("banana"));
    ev.push(keys("12*3"));
    let t = walk(&cfg(), ev);
    assert_eq!(keys_of(&t[6]), ["no_input", "number.retry"]);
    assert_eq!(t[6].call.step, Step::AskStreetNumber);
    assert_eq!(keys_of(&t[7]), ["not_understood.number", "number.last"]);
    assert_eq!(t[8].reply.next, Next::Transfer);
    assert_eq!(keys_of(&t[8]), ["transfer.give_up"]);
    // and a lone 0 is a person, as at every question
    let mut ev = found("Rua Delminda Silveira", GeoResult::Found(street_only()));
    ev.push(keys("0"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[6].reply.next, Next::Transfer);
    assert_eq!(keys_of(&t[6]), ["transfer.requested"]);
}

#[test]
fn a_number_in_doubt_is_asked_not_read_back() {
    let t = walk(
        &cfg(),
        found(
            "Rua Lauro Linhares número mil, quinhentos",
            GeoResult::Found(with_number(given("1500"))),
        ),
    );
    assert!(t[4].call.data.number_in_doubt);
    let Some(Effect::Geocode(AddressQuery::Spoken { text })) = &t[4].effect else {
        panic!("{:?}", t[4].effect)
    };
    assert!(text.contains("1500"), "{text}");
    assert_eq!(t[5].call.step, Step::AskStreetNumber);
    assert_eq!(keys_of(&t[5]), ["number.unsure"]);
    // the number typed is the one read back
    let mut ev = found(
        "Rua Lauro Linhares número mil, quinhentos",
        GeoResult::Found(with_number(given("1500"))),
    );
    ev.push(keys("1000"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(
        with_number(given("1000")),
    ))));
    let t = walk(&cfg(), ev);
    assert!(!t[6].call.data.number_in_doubt);
    assert!(read_back_text(&t[7]).contains(", 1000, "));
    // a whole number is read back at once
    let t = walk(
        &cfg(),
        found(
            "Rua Lauro Linhares, mil e quinhentos",
            GeoResult::Found(with_number(given("1500"))),
        ),
    );
    assert_eq!(t[5].call.step, Step::ConfirmAddress);
}

#[test]
fn a_guess_or_a_choice_without_a_number_asks_it_and_stays_a_guess() {
    let mut ev = found("Rua Delminda Silvera", GeoResult::Guess(street_only()));
    ev.push(keys("900"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
    let t = walk(&cfg(), ev);
    assert_eq!(t[5].call.step, Step::AskStreetNumber);
    assert!(t[5].call.data.unsure);
    assert_eq!(keys_of(&t[7]), ["address.confirm_unsure"]);

    let other = Place {
        street: "R. Frei Caneca".into(),
        ..street_only()
    };
    let mut ev = found(
        "Rua Delminda Silveira, Rua Frei Caneca",
        GeoResult::Choice {
            first: street_only(),
            second: other.clone(),
        },
    );
    ev.push(keys("2"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[5].call.step, Step::ChooseAddress);
    assert_eq!(t[6].call.step, Step::AskStreetNumber);
    assert_eq!(t[6].call.data.place, Some(other));
}

#[test]
fn a_shared_location_at_the_number_question_is_the_place() {
    let mut ev = found("Rua Delminda Silveira", GeoResult::Found(street_only()));
    ev.push(Event::Location {
        place: place(),
        label: None,
    });
    let t = walk(&cfg(), ev);
    assert_eq!(t[6].call.step, Step::ConfirmAddress);
    assert_eq!(t[6].call.data.place, Some(place()));
}

#[test]
fn a_number_not_heard_is_never_read_back_as_sem_numero() {
    for (spoken, result) in [
        ("Rua Delminda Silveira", GeoResult::Found(street_only())),
        (
            "Rua Delminda Silveira, nome feintos, Arronômica",
            GeoResult::Found(street_only()),
        ),
        ("Rua Delminda Silvera", GeoResult::Guess(street_only())),
    ] {
        let t = walk(&cfg(), found(spoken, result));
        assert_ne!(t[5].call.step, Step::ConfirmAddress, "{spoken}");
        let heard = format!("{:?}", t[5].reply);
        assert!(
            !heard.contains("s/n") && !heard.contains("sem número"),
            "{heard}"
        );
    }
}
