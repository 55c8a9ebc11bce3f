//! The client directory: a known code skips the name and confirms the address
//! the ISP's system holds; an unknown code is asked again; a failing or slow
//! directory leaves the call on the path without one.

use super::*;
use crate::domain::KnownClient;

fn with_directory() -> FlowConfig {
    FlowConfig {
        client_directory: true,
        directory_hold_ms: 5_000,
        ..cfg()
    }
}

fn known(located: bool) -> ClientLookup {
    let mut installation = place();
    if !located {
        installation.lat = 0.0;
        installation.lng = 0.0;
    }
    ClientLookup::Known(KnownClient {
        name: "GABRIEL MARIOTO DA SILVA".into(),
        installation: Some(installation),
        located,
    })
}

fn to_lookup() -> Vec<Event> {
    vec![Event::Start, keys("123*123"), keys("1")]
}

fn looked_up(lookup: ClientLookup) -> Event {
    Event::Poll(Progress::Client(lookup))
}

#[test]
fn the_greeting_says_the_record_is_looked_up() {
    let t = walk(&with_directory(), vec![Event::Start]);
    assert_eq!(
        keys_of(&t[0]),
        [
            "greeting_generic",
            "privacy_directory",
            "agent.anytime",
            "code.ask"
        ]
    );
}

#[test]
fn a_known_client_confirms_the_installation_and_is_reserved_with_the_directory_name() {
    let mut ev = to_lookup();
    ev.push(looked_up(known(true)));
    ev.push(keys("1"));
    let t = walk(&with_directory(), ev);
    // the confirmed code is looked up, the caller on hold meanwhile
    assert_eq!(
        t[2].effect,
        Some(Effect::LookUpClient(ClientCode::parse("123|123").unwrap()))
    );
    assert!(matches!(t[2].call.step, Step::LookingUpClient { .. }));
    assert_eq!(keys_of(&t[2]), ["client.looking_up"]);
    // no name question: the installation address is read back
    assert_eq!(t[3].call.step, Step::ConfirmInstallation);
    assert_eq!(keys_of(&t[3]), ["client.installation"]);
    let Next::Ask { prompt, kind } = &t[3].reply.next else {
        panic!()
    };
    assert_eq!(*kind, AskKind::YesNo);
    assert_eq!(prompt[0].args[0].1, Arg::Text(place().spoken()));
    // 1 reserves at the directory's coordinates, with the ERP's spelling of the name
    let Some(Effect::Reserve(req)) = &t[4].effect else {
        panic!("{:?}", t[4].effect)
    };
    assert_eq!(req.client_name, "GABRIEL MARIOTO DA SILVA");
    assert_eq!(req.place, place());
    assert_eq!(t[4].call.data.address_attempts, 0);
}

#[test]
fn a_known_client_without_coordinates_is_geocoded_then_reserved_without_a_second_read_back() {
    let mut ev = to_lookup();
    ev.push(looked_up(known(false)));
    ev.push(keys("1"));
    let mut found = place();
    found.street = "Rua Delminda Silveira".into();
    found.lat = -27.5;
    found.lng = -48.5;
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(found))));
    let t = walk(&with_directory(), ev);
    let Some(Effect::Geocode(AddressQuery::Spoken { text })) = &t[4].effect else {
        panic!("{:?}", t[4].effect)
    };
    assert_eq!(text, &place().spoken());
    let Some(Effect::Reserve(req)) = &t[5].effect else {
        panic!("{:?}", t[5].effect)
    };
    // the directory's address, the geocoder's coordinates
    assert_eq!(req.place.street, place().street);
    assert_eq!((req.place.lat, req.place.lng), (-27.5, -48.5));
    assert_eq!(req.client_name, "GABRIEL MARIOTO DA SILVA");
}

#[test]
fn a_guess_for_the_directory_address_is_read_back_as_a_guess() {
    let mut ev = to_lookup();
    ev.push(looked_up(known(false)));
    ev.push(keys("1"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Guess(place()))));
    ev.push(keys("1"));
    let t = walk(&with_directory(), ev);
    assert_eq!(t[5].call.step, Step::ConfirmAddress);
    assert_eq!(keys_of(&t[5]), ["address.confirm_unsure"]);
    assert!(matches!(&t[6].effect, Some(Effect::Reserve(_))));
    // a directory address the geocoder cannot find: the address is asked
    let mut ev = to_lookup();
    ev.push(looked_up(known(false)));
    ev.push(keys("1"));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::NotFound)));
    let t = walk(&with_directory(), ev);
    assert_eq!(t[5].call.step, Step::AskAddress);
    assert!(t[5].call.data.place.is_none() && !t[5].call.data.installation);
}

#[test]
fn another_address_is_asked_as_today_and_the_name_stays_the_directory_s() {
    let mut ev = to_lookup();
    ev.push(looked_up(known(true)));
    ev.push(keys("2"));
    ev.push(said(
        "Rua Delminda Silveira, novecentos, Agronômica, Florianópolis",
    ));
    ev.push(Event::Poll(Progress::Geocoded(GeoResult::Found(place()))));
    ev.push(keys("1"));
    let t = walk(&with_directory(), ev);
    assert_eq!(t[4].call.step, Step::AskAddress);
    assert_eq!(keys_of(&t[4]), ["client.other_address", "address.ask"]);
    assert!(t[4].call.data.place.is_none());
    assert_eq!(t[6].call.step, Step::ConfirmAddress);
    let Some(Effect::Reserve(req)) = &t[7].effect else {
        panic!()
    };
    assert_eq!(req.client_name, "GABRIEL MARIOTO DA SILVA");
}

#[test]
fn an_unknown_code_is_asked_again_and_never_reserved() {
    let c = with_directory();
    let mut ev = to_lookup();
    ev.push(looked_up(ClientLookup::Unknown));
    ev.extend([keys("456"), keys("1"), looked_up(ClientLookup::Unknown)]);
    ev.extend([keys("789"), keys("1"), looked_up(ClientLookup::Unknown)]);
    let t = walk(&c, ev);
    assert_eq!(t[3].call.step, Step::AskCode);
    assert!(t[3].call.data.code.is_none());
    assert_eq!(keys_of(&t[3]), ["client.unknown", "code.retry"]);
    assert_eq!(keys_of(&t[6]), ["client.unknown", "code.last"]);
    // after the limit, the person (an agent is available here)
    assert_eq!(t[9].call.step, Step::Transferred);
    assert_eq!(keys_of(&t[9])[0], "client.unknown");
    assert!(
        t.iter()
            .all(|t| !matches!(t.effect, Some(Effect::Reserve(_))))
    );
    // without a person: goodbye
    let mut ev = to_lookup();
    for _ in 0..2 {
        ev.extend([looked_up(ClientLookup::Unknown), keys("456"), keys("1")]);
    }
    ev.push(looked_up(ClientLookup::Unknown));
    let t = walk(
        &FlowConfig {
            agent_available: false,
            ..c
        },
        ev,
    );
    let last = t.last().unwrap();
    assert_eq!(last.call.step, Step::Finished);
    assert_eq!(last.reply.next, Next::Hangup);
}

#[test]
fn a_failing_or_slow_directory_leaves_the_call_on_today_s_path() {
    let mut ev = to_lookup();
    ev.push(looked_up(ClientLookup::Failed));
    let t = walk(&with_directory(), ev);
    assert_eq!(t[3].call.step, Step::AskName);
    assert!(!t[3].call.data.from_directory);
    // still pending within the hold: hold; past it: the name is asked
    let c = with_directory();
    let t0 = walk(&c, to_lookup());
    let waiting = t0.last().unwrap().call.clone();
    let t = advance(&c, &waiting, Event::Poll(Progress::Pending), 3_000);
    assert!(matches!(t.reply.next, Next::Hold { .. }));
    assert_eq!(t.call, waiting);
    let t = advance(&c, &waiting, Event::Poll(Progress::Pending), 2_000 + 5_000);
    assert_eq!(t.call.step, Step::AskName);
    // stray keys and silence during the lookup only hold
    let t = advance(&c, &waiting, keys("5"), 2_500);
    assert!(matches!(t.reply.next, Next::Hold { .. }));
    let t = advance(&c, &waiting, Event::Silence, 2_500);
    assert!(matches!(t.reply.next, Next::Hold { .. }));
}

#[test]
fn a_known_client_without_an_address_is_asked_the_address_not_the_name() {
    let mut ev = to_lookup();
    ev.push(looked_up(ClientLookup::Known(KnownClient {
        name: "Ana".into(),
        installation: None,
        located: false,
    })));
    let t = walk(&with_directory(), ev);
    assert_eq!(t[3].call.step, Step::AskAddress);
    assert_eq!(t[3].call.data.name.as_deref(), Some("Ana"));
}

#[test]
fn without_a_directory_the_code_goes_straight_to_the_name() {
    let t = walk(&cfg(), to_lookup());
    assert_eq!(t[2].call.step, Step::AskName);
    assert!(t[2].effect.is_none());
}
