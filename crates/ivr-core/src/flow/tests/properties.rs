//! Invariants that hold for any sequence of events.

use super::*;
use proptest::prelude::*;

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::Start),
        Just(Event::Silence),
        "[0-9*#]{0,10}".prop_map(|d| Event::Answer {
            digits: Some(d),
            speech: None,
            confidence: None,
        }),
        any::<String>().prop_map(|s| Event::Answer {
            digits: None,
            speech: Some(s),
            confidence: None,
        }),
        prop_oneof![
            Just("sim"),
            Just("não"),
            Just("um dois"),
            Just("Rua Delminda Silveira 900"),
            Just("Rua Delminda Silveira"),
            Just("Rua Lauro Linhares mil, quinhentos"),
            Just("Ana")
        ]
        .prop_map(|s| Event::Answer {
            digits: None,
            speech: Some(s.into()),
            confidence: None,
        }),
        Just(Event::Poll(Progress::Pending)),
        Just(Event::Poll(Progress::Geocoded(GeoResult::Found(place())))),
        Just(Event::Poll(Progress::Geocoded(GeoResult::Found(Place {
            number: None,
            ..place()
        })))),
        Just(Event::Poll(Progress::Geocoded(GeoResult::NotFound))),
        Just(Event::Poll(Progress::Reservation(
            ReservationProgress::Dead
        ))),
        Just(Event::Poll(Progress::Reservation(
            ReservationProgress::Done(ReservationOutcome::NotViable)
        ))),
        any::<bool>().prop_map(|answered| Event::DialEnded { answered }),
        Just(Event::Poll(Progress::Client(ClientLookup::Unknown))),
        Just(Event::Poll(Progress::Slots(SlotOffer::Offered(vec![
            crate::agenda::Slot::parse("2026-12-10/morning").unwrap(),
            crate::agenda::Slot::parse("2026-12-10/afternoon").unwrap(),
            crate::agenda::Slot::parse("2026-12-11/morning").unwrap(),
        ])))),
        Just(Event::Poll(Progress::Slots(SlotOffer::None))),
        Just(Event::Poll(Progress::Booked(
            crate::agenda::Slot::parse("2026-12-10/morning").unwrap()
        ))),
        Just(Event::Poll(Progress::SlotTaken(SlotOffer::Failed))),
        Just(Event::Poll(Progress::Client(ClientLookup::Failed))),
        Just(Event::Poll(Progress::LinkSent)),
        any::<bool>().prop_map(|sms| Event::Poll(Progress::LinkFailed { sms })),
        Just(Event::Poll(Progress::Located {
            place: place(),
            label: None
        })),
        any::<bool>().prop_map(|located| Event::Poll(Progress::Client(ClientLookup::Known(
            crate::domain::KnownClient {
                name: "Ana".into(),
                installation: Some(place()),
                located
            }
        )))),
    ]
}

proptest! {
    #[test]
    fn invariants_hold_for_any_sequence(events in proptest::collection::vec((event(), 0u64..60_000), 0..60), agent in any::<bool>(), directory in any::<bool>(), visits in any::<bool>(), link in any::<bool>()) {
        let c = FlowConfig { agent_available: agent, client_directory: directory, visits, location_link: link, location_wait_ms: 30_000, ..cfg() };
        let mut call = Call::new(None);
        call.data.sms_capable = true;
        let mut now = 0;
        // What the directory last said about the code being collected.
        let mut said_unknown = false;
        for (e, dt) in events {
            now += dt;
            let looking_up = matches!(call.step, Step::LookingUpClient { .. });
            if let (true, Event::Poll(Progress::Client(l))) = (looking_up, &e) {
                said_unknown = *l == ClientLookup::Unknown;
            }
            let t = advance(&c, &call, e, now);
            prop_assert!(t.call.attempts < c.max_attempts);
            if t.reply.next == Next::Transfer {
                prop_assert!(agent);
                prop_assert_eq!(&t.call.step, &Step::Transferred);
            }
            if let Next::Ask { prompt, .. } = &t.reply.next {
                // The wait for a link's position is a quiet `<Gather>` between its messages.
                let waiting = matches!(t.call.step, Step::AwaitingLocation { .. });
                prop_assert!(waiting || !prompt.is_empty());
                prop_assert!(!t.call.is_over());
            }
            match &t.effect {
                Some(Effect::Reserve(r)) => {
                    prop_assert!(matches!(t.call.step, Step::Reserving { .. }), "reserve outside reserving");
                    prop_assert!(!said_unknown, "a reservation for a code the directory does not know");
                    prop_assert_eq!(Some(&r.client_code), t.call.data.code.as_ref());
                }
                Some(Effect::Geocode(q)) => {
                    prop_assert!(matches!(t.call.step, Step::Geocoding { .. }), "geocode outside geocoding");
                    prop_assert_eq!(Some(q), t.call.data.query.as_ref());
                }
                Some(Effect::LookUpClient(code)) => {
                    prop_assert!(directory);
                    prop_assert!(matches!(t.call.step, Step::LookingUpClient { .. }), "look-up outside looking up");
                    prop_assert_eq!(Some(code), t.call.data.code.as_ref());
                }
                Some(Effect::FindSlots { .. }) => {
                    prop_assert!(visits);
                    prop_assert!(matches!(t.call.step, Step::FindingSlots { .. }), "slots outside finding");
                }
                Some(Effect::SendLocationLink) => {
                    prop_assert!(link);
                    prop_assert!(matches!(t.call.step, Step::AwaitingLocation { .. }), "a link outside the wait");
                }
                Some(Effect::BookVisit(slot)) => {
                    prop_assert!(matches!(t.call.step, Step::BookingVisit { .. }), "booking outside booking");
                    prop_assert!(call.data.offered.contains(slot), "a booking of a period not offered");
                }
                None => {}
            }
            if t.call.step == Step::ChooseVisit {
                prop_assert!(!t.call.data.offered.is_empty());
            }
            if t.call.step == Step::ConfirmInstallation {
                prop_assert!(t.call.data.place.is_some() && t.call.data.from_directory);
            }
            if t.call.step == Step::ConfirmAddress {
                prop_assert!(t.call.data.place.is_some());
                // A spoken address is never read back without its number.
                if matches!(t.call.data.query, Some(AddressQuery::Spoken { .. })) {
                    prop_assert!(t.call.data.place.as_ref().is_some_and(|p| p.number.is_some()));
                    prop_assert!(!t.call.data.number_in_doubt);
                }
            }
            if t.call.step == Step::AskStreetNumber {
                prop_assert!(t.call.data.place.is_some());
            }
            if t.call.step == Step::ConfirmCode {
                prop_assert!(t.call.data.code.is_some());
            }
            call = t.call;
        }
    }
}
