//! How the call treats what the geocoder found: sure, a guess, two close
//! candidates, a town without a street; and the recogniser's confidence.

use super::*;
use crate::domain::Town;

fn other(street: &str, hood: &str, city: &str) -> Place {
    Place {
        street: street.into(),
        neighbourhood: Some(hood.into()),
        city: city.into(),
        ..place()
    }
}

fn spoken_address() -> Vec<Event> {
    let mut ev = to_address();
    ev.push(said("Rua Delminda Silveira, 900, Agronômica"));
    ev
}

fn prompt_of(t: &Transition) -> &[Line] {
    match &t.reply.next {
        Next::Ask { prompt, .. } => prompt,
        other => panic!("not a question: {other:?}"),
    }
}

#[test]
fn a_guess_is_read_back_as_one_and_a_no_offers_the_cep() {
    let mut ev = spoken_address();
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Guess(place()))));
    ev.push(keys("2"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[5].call.step, Step::ConfirmAddress);
    assert_eq!(keys_of(&t[5]), ["address.confirm_unsure"]);
    assert_eq!(prompt_of(&t[5])[0].args[0].1, Arg::Text(place().spoken()));
    assert_eq!(t[6].call.step, Step::AskAddress);
    assert_eq!(t[6].call.data.address_attempts, 1);
    assert_eq!(keys_of(&t[6]), ["address.again_cep", "address.ask"]);
    assert!(!t[6].call.data.unsure);
    assert!(t[6].call.data.place.is_none());
}

#[test]
fn a_sure_place_is_read_back_plainly() {
    let mut ev = spoken_address();
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
    let t = walk(&cfg(), ev);
    assert_eq!(keys_of(&t[5]), ["address.confirm"]);
}

#[test]
fn a_low_recogniser_confidence_makes_a_sure_place_a_guess() {
    let mut ev = to_address();
    ev.push(Event::Answer {
        digits: None,
        speech: Some("Rua Delminda Silveira, 900".into()),
        confidence: Some(0.2),
    });
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
    let t = walk(&cfg(), ev);
    assert_eq!(t[4].call.data.address_confidence, Some(0.2));
    assert_eq!(keys_of(&t[5]), ["address.confirm_unsure"]);

    // a confidence of 0 is "not posted", and a high one changes nothing
    for c in [0.0, 0.9] {
        let mut ev = to_address();
        ev.push(Event::Answer {
            digits: None,
            speech: Some("Rua Delminda Silveira, 900".into()),
            confidence: Some(c),
        });
        ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
        let t = walk(&cfg(), ev);
        assert_eq!(keys_of(&t[5]), ["address.confirm"], "confidence {c}");
    }
}

#[test]
fn two_close_streets_get_the_street_question() {
    let caneca = other("R. Frei Caneca", "Agronômica", "Florianópolis");
    let evaristo = other("R. Frei Evaristo", "Agronômica", "Florianópolis");
    for (answer, want) in [("1", &caneca), ("2", &evaristo)] {
        let mut ev = spoken_address();
        ev.push(Event::Poll(Progress::Geocoded(GeoResult::Choice {
            first: caneca.clone(),
            second: evaristo.clone(),
        })));
        ev.push(keys(answer));
        let t = walk(&cfg(), ev);
        assert_eq!(t[5].call.step, Step::ChooseAddress);
        assert_eq!(keys_of(&t[5]), ["address.which_street"]);
        assert_eq!(
            prompt_of(&t[5])[0].args[0].1,
            Arg::Text("Rua Frei Caneca".into())
        );
        // the chosen one is read back plainly
        assert_eq!(t[6].call.step, Step::ConfirmAddress);
        assert_eq!(t[6].call.data.place.as_ref(), Some(want));
        assert_eq!(keys_of(&t[6]), ["address.confirm"]);
        assert!(t[6].call.data.candidates.is_empty());
    }
}

#[test]
fn the_same_street_in_two_neighbourhoods_or_cities_gets_that_question() {
    let a = other("R. Santos Dumont", "Centro", "Florianópolis");
    let b = other("R. Santos Dumont", "Trindade", "Florianópolis");
    let c = other("R. Santos Dumont", "Centro", "São José");
    for (first, second, key, arg) in [
        (&a, &b, "address.which_neighbourhood", "Centro"),
        (&a, &c, "address.which_city", "Florianópolis"),
    ] {
        let mut ev = spoken_address();
        ev.push(Event::Poll(Progress::Geocoded(GeoResult::Choice {
            first: first.clone(),
            second: second.clone(),
        })));
        let t = walk(&cfg(), ev);
        assert_eq!(keys_of(&t[5]), [key]);
        assert_eq!(prompt_of(&t[5])[0].args[0].1, Arg::Text(arg.into()));
    }
}

#[test]
fn a_choice_forgives_an_unclear_answer_and_counts_it() {
    let mut ev = spoken_address();
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Choice {
        first: place(),
        second: other("R. Frei Evaristo", "Agronômica", "Florianópolis"),
    })));
    ev.push(said("banana"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[6].call.step, Step::ChooseAddress);
    assert_eq!(t[6].call.attempts, 1);
    assert_eq!(
        keys_of(&t[6]),
        ["not_understood.yes_no", "address.which_street"]
    );
}

fn to_town() -> Vec<Event> {
    let mut ev = to_address();
    ev.push(keys("89990000"));
    ev.push(keys("120"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::TownOnly(Town {
        city: "Tunápolis".into(),
        state: Some("SC".into()),
    }))));
    ev
}

#[test]
fn a_cep_of_a_whole_town_asks_the_street() {
    let mut ev = to_town();
    ev.push(said("Rua das Flores"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[6].call.step, Step::AskStreet);
    assert_eq!(keys_of(&t[6]), ["street.ask"]);
    assert_eq!(prompt_of(&t[6])[0].args[0].1, Arg::Text("Tunápolis".into()));
    assert!(matches!(
        t[6].reply.next,
        Next::Ask {
            kind: AskKind::Street,
            ..
        }
    ));
    let Some(Effect::Geocode(AddressQuery::Street {
        street,
        number,
        cep,
        town,
    })) = &t[7].effect
    else {
        panic!("{:?}", t[7].effect)
    };
    assert_eq!(street, "Rua das Flores");
    assert_eq!(number.given(), Some("120"));
    assert_eq!(cep.as_str(), "89990000");
    assert_eq!(town.city, "Tunápolis");
}

#[test]
fn a_street_not_found_in_the_town_is_asked_again_with_the_town_kept() {
    let mut ev = to_town();
    ev.push(said("Rua Que Não Existe"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::NotFound)));
    ev.push(said("Rua das Flores"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[8].call.step, Step::AskStreet);
    // the CEP, then the street twice
    assert_eq!(t[9].call.data.address_attempts, 3);
    assert_eq!(keys_of(&t[8]), ["address.street_not_found", "street.retry"]);
    assert!(matches!(
        &t[9].effect,
        Some(Effect::Geocode(AddressQuery::Street { number, .. })) if number.given() == Some("120")
    ));
}
