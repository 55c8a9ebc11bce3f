//! The link by SMS on a call (issue 26): offered to a caller whose number
//! takes an SMS, sent at once, waited for, read back; never offered otherwise.

use super::*;

fn link_cfg() -> FlowConfig {
    FlowConfig {
        location_link: true,
        location_wait_ms: 10_000,
        ..cfg()
    }
}

/// Walks a call on a mobile number (`sms_capable`).
fn walk_mobile(cfg: &FlowConfig, events: Vec<Event>) -> Vec<Transition> {
    let mut call = Call::new(Some("+5548999990000".into()));
    call.data.sms_capable = true;
    let mut out = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        let t = advance(cfg, &call, e, 1_000 * i as u64);
        call = t.call.clone();
        out.push(t);
    }
    out
}

fn located() -> Event {
    Event::Poll(Progress::Located {
        place: place(),
        label: None,
    })
}

#[test]
fn the_address_question_names_the_key_only_for_a_mobile_with_links_on() {
    let t = walk_mobile(&link_cfg(), to_address());
    assert_eq!(keys_of(&t[3]), ["address.ask", "location.key"]);
    let t = walk(&link_cfg(), to_address());
    assert_eq!(keys_of(&t[3]), ["address.ask"]);
    let t = walk_mobile(&cfg(), to_address());
    assert_eq!(keys_of(&t[3]), ["address.ask"]);
}

#[test]
fn key_8_sends_the_link_and_the_call_waits() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    ev.push(Event::Poll(Progress::LinkSent));
    ev.push(Event::Poll(Progress::Pending));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[4].effect, Some(Effect::SendLocationLink));
    assert_eq!(
        t[4].call.step,
        Step::AwaitingLocation {
            since_ms: 4_000,
            until_ms: 14_000
        }
    );
    assert_eq!(t[4].reply.lines[0].key, "location.sending");
    assert_eq!(keys_of(&t[5]), ["location.waiting"]);
    assert!(matches!(
        t[5].reply.next,
        Next::Ask {
            kind: AskKind::YesNo,
            ..
        }
    ));
    // A quiet wait in between.
    assert!(keys_of(&t[6]).is_empty());
    assert_eq!(t[6].call.data.link_waits, 1);
    assert_eq!(t[6].call.attempts, 0);
}

#[test]
fn key_8_without_a_mobile_is_a_bad_cep() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    let t = walk(&link_cfg(), ev);
    assert!(t[4].effect.is_none());
    assert_eq!(keys_of(&t[4]), ["not_understood.cep", "address.retry"]);
}

#[test]
fn the_position_is_read_back_and_reserved_as_from_the_link() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    ev.push(Event::Poll(Progress::LinkSent));
    ev.push(located());
    ev.push(keys("1"));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[6].call.step, Step::ConfirmAddress);
    assert_eq!(keys_of(&t[6]), ["location.arrived", "address.confirm"]);
    assert_eq!(t[6].call.data.place_source, Some(PlaceSource::Link));
    let Some(Effect::Reserve(r)) = &t[7].effect else {
        panic!("{:?}", t[7].effect)
    };
    assert_eq!((r.place.lat, r.place.lng), (place().lat, place().lng));
    assert_eq!(t[7].call.data.place_source, Some(PlaceSource::Link));
}

#[test]
fn coordinates_without_an_address_are_read_back_by_their_label() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    ev.push(Event::Poll(Progress::Located {
        place: place(),
        label: Some("-27.5, -48.5".into()),
    }));
    let t = walk_mobile(&link_cfg(), ev);
    let Next::Ask { prompt, .. } = &t[5].reply.next else {
        panic!()
    };
    assert_eq!(prompt[0].args[0].1, Arg::Text("-27.5, -48.5".into()));
}

#[test]
fn a_failed_sms_is_told_and_the_question_goes_on() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    ev.push(Event::Poll(Progress::LinkFailed { sms: true }));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(
        keys_of(&t[5]),
        ["location.sms_failed", "address.ask", "location.key"]
    );
    assert_eq!(t[5].call.step, Step::AskAddress);
}

#[test]
fn a_number_that_takes_no_sms_hears_nothing_and_is_not_offered_again() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    ev.push(Event::Poll(Progress::LinkFailed { sms: false }));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(keys_of(&t[5]), ["address.ask"]);
    assert!(!t[5].call.data.sms_capable);
}

#[test]
fn key_1_while_waiting_goes_back_to_the_address() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    ev.push(Event::Poll(Progress::LinkSent));
    ev.push(keys("1"));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[6].call.step, Step::AskAddress);
}

#[test]
fn a_silence_while_waiting_waits_and_the_link_expires() {
    let mut ev = to_address();
    ev.push(keys(KEY_LINK));
    for _ in 0..10 {
        ev.push(Event::Silence);
    }
    ev.push(Event::Poll(Progress::Pending));
    let t = walk_mobile(&link_cfg(), ev);
    assert!(matches!(t[14].call.step, Step::AwaitingLocation { .. }));
    assert_eq!(t[14].call.attempts, 0);
    assert_eq!(t[14].call.data.link_waits, 10);
    // Sent at 4 s, valid 10 s: the poll at 15 s is past it.
    assert_eq!(
        keys_of(&t[15]),
        ["location.expired", "address.ask", "location.key"]
    );
    assert_eq!(t[15].call.step, Step::AskAddress);
}

#[test]
fn a_house_without_a_number_is_offered_the_link_once() {
    let mut ev = to_address();
    ev.push(keys("88025500"));
    ev.push(keys("*"));
    ev.push(keys("1"));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[5].call.step, Step::OfferLink);
    assert_eq!(keys_of(&t[5]), ["location.offer"]);
    assert!(t[5].effect.is_none());
    assert_eq!(t[6].effect, Some(Effect::SendLocationLink));
}

#[test]
fn a_refused_offer_goes_on_without_a_number() {
    let mut ev = to_address();
    ev.push(keys("88025500"));
    ev.push(keys("*"));
    ev.push(keys("2"));
    let t = walk_mobile(&link_cfg(), ev);
    let Some(Effect::Geocode(AddressQuery::Cep { number, .. })) = &t[6].effect else {
        panic!("{:?}", t[6].effect)
    };
    assert_eq!(*number, HouseNumber::Without);
    // Not offered twice.
    assert!(t[6].call.data.link_offered);
}

#[test]
fn sem_numero_for_a_spoken_street_is_offered_the_link() {
    let mut ev = to_address();
    ev.push(said("Rua Delminda Silveira, Agronômica, Florianópolis"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(Place {
        number: None,
        ..place()
    }))));
    ev.push(said("sem número"));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[5].call.step, Step::AskStreetNumber);
    assert_eq!(t[6].call.step, Step::OfferLink);
}

#[test]
fn an_address_not_found_twice_is_offered_the_link() {
    let mut ev = to_address();
    for _ in 0..2 {
        ev.push(said("Rua Que Não Existe, 10, Centro"));
        ev.push(Event::Poll(Progress::Geocoded(GeoResult::NotFound)));
    }
    ev.push(keys("2"));
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[5].call.step, Step::AskAddress);
    assert_eq!(t[7].call.step, Step::OfferLink);
    assert_eq!(keys_of(&t[7]), ["address.not_found", "location.offer"]);
    assert_eq!(t[8].call.step, Step::AskAddress);
    // Without a mobile: the question goes on as before.
    let mut ev = to_address();
    for _ in 0..2 {
        ev.push(said("Rua Que Não Existe, 10, Centro"));
        ev.push(Event::Poll(Progress::Geocoded(GeoResult::NotFound)));
    }
    let t = walk(&link_cfg(), ev);
    assert_eq!(keys_of(&t[7]), ["address.not_found", "address.last"]);
}

#[test]
fn a_position_outside_the_wait_is_ignored() {
    let mut ev = to_address();
    ev.push(located());
    let t = walk_mobile(&link_cfg(), ev);
    assert_eq!(t[4].call.step, Step::AskAddress);
    assert!(t[4].call.data.place.is_none());
}

#[test]
fn the_place_source_is_speech_or_cep() {
    let mut ev = to_confirm_address();
    ev.push(keys("1"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[6].call.data.place_source, Some(PlaceSource::Speech));
    let mut ev = to_address();
    ev.push(keys("88025500"));
    ev.push(keys("900"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
    ev.push(keys("1"));
    let t = walk(&cfg(), ev);
    assert_eq!(t[7].call.data.place_source, Some(PlaceSource::Cep));
}
