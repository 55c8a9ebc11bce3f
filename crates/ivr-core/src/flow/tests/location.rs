//! A shared location (a chat): the place itself, read back for confirmation
//! without a geocode; its label when it has no street; ignored outside the
//! address questions.

use super::*;

fn shared(label: Option<&str>) -> Event {
    Event::Location {
        place: place(),
        label: label.map(str::to_string),
    }
}

#[test]
fn a_location_at_the_address_question_is_read_back_then_reserved_at_its_coordinates() {
    let mut ev = to_address();
    ev.push(shared(None));
    ev.push(keys("1"));
    let t = walk(&cfg(), ev);
    let read_back = &t[4];
    assert_eq!(read_back.call.step, Step::ConfirmAddress);
    assert!(read_back.effect.is_none(), "no geocode");
    assert_eq!(read_back.call.data.address_attempts, 1);
    let Some(Effect::Reserve(r)) = &t[5].effect else {
        panic!("{:?}", t[5].effect);
    };
    assert_eq!((r.place.lat, r.place.lng), (place().lat, place().lng));
}

#[test]
fn a_location_without_a_street_is_read_back_by_its_label() {
    let mut ev = to_address();
    ev.push(shared(Some("-27.578234, -48.527443")));
    let t = walk(&cfg(), ev);
    let Next::Ask { prompt, .. } = &t[4].reply.next else {
        panic!("{:?}", t[4].reply);
    };
    assert_eq!(
        prompt[0].args,
        vec![("address", Arg::Text("-27.578234, -48.527443".into()))]
    );
    // A "no" forgets it with the rest of the address.
    let mut ev = to_address();
    ev.push(shared(Some("Casa")));
    ev.push(keys("2"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[5].call.step, Step::AskAddress);
    assert_eq!(t[5].call.data.place_label, None);
    assert_eq!(t[5].call.data.place, None);
}

#[test]
fn a_location_elsewhere_asks_the_current_question_again() {
    let t = walk(&cfg(), vec![Event::Start, shared(None)]);
    assert_eq!(t[1].call.step, Step::AskCode);
    assert_eq!(t[1].call.attempts, 0);
    assert_eq!(t[1].call.data.place, None);
}
