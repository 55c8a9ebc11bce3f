//! The technician's visit after the reservation: offer, choice, booking, a
//! period taken meanwhile, later dates, skip, silence, a person, no agenda.

use super::*;
use crate::agenda::Slot;

fn visits(agent: bool) -> FlowConfig {
    FlowConfig {
        visits: true,
        agent_available: agent,
        ..cfg()
    }
}

fn slot(s: &str) -> Slot {
    Slot::parse(s).unwrap()
}

fn page() -> Vec<Slot> {
    vec![
        slot("2026-12-10/morning"),
        slot("2026-12-10/afternoon"),
        slot("2026-12-11/morning"),
    ]
}

/// A call told it has a port, with visits on: the agenda is asked.
fn reserved_call(cfg: &FlowConfig) -> Transition {
    let mut call = Call::new(Some("+5548999990000".into()));
    call.data.protocol = Some("2026120700000001".into());
    for e in to_confirm_address() {
        call = advance(cfg, &call, e, 0).call;
    }
    let t = advance(cfg, &call, keys("1"), 1_000);
    advance(
        cfg,
        &t.call,
        Event::Poll(Progress::Reservation(ReservationProgress::Done(
            ReservationOutcome::Reserved(reserved(Some(3))),
        ))),
        2_000,
    )
}

fn poll(cfg: &FlowConfig, t: &Transition, p: Progress, now: u64) -> Transition {
    advance(cfg, &t.call, Event::Poll(p), now)
}

/// The call at the offer of `page()`.
fn offered(cfg: &FlowConfig) -> Transition {
    let t = reserved_call(cfg);
    poll(cfg, &t, Progress::Slots(SlotOffer::Offered(page())), 2_100)
}

#[test]
fn the_outcome_is_said_then_the_agenda_is_asked() {
    let t = reserved_call(&visits(false));
    assert_eq!(keys_of(&t), ["outcome.reserved_visit"]);
    assert!(matches!(t.reply.next, Next::Hold { .. }));
    assert_eq!(
        t.call.step,
        Step::FindingSlots {
            since_ms: 2_000,
            after: None
        }
    );
    assert_eq!(t.effect, Some(Effect::FindSlots { after: None }));
    // Without visits the call ends as before.
    let t = reserved_call(&no_agent());
    assert_eq!(
        keys_of(&t),
        ["outcome.reserved", "protocol.again", "goodbye.reserved"]
    );
}

#[test]
fn an_existing_reservation_is_offered_a_visit_too_unless_one_is_booked() {
    let cfg = visits(false);
    let mut call = Call::new(None);
    for e in to_confirm_address() {
        call = advance(&cfg, &call, e, 0).call;
    }
    let t = advance(&cfg, &call, keys("1"), 1_000);
    let t = poll(
        &cfg,
        &t,
        Progress::Reservation(ReservationProgress::Done(ReservationOutcome::Existing(
            reserved(Some(3)),
        ))),
        2_000,
    );
    assert_eq!(keys_of(&t), ["outcome.existing_visit"]);
    assert_eq!(t.effect, Some(Effect::FindSlots { after: None }));
    let booked = slot("2026-12-10/morning");
    let t = poll(
        &cfg,
        &t,
        Progress::Slots(SlotOffer::AlreadyBooked(booked)),
        2_100,
    );
    assert_eq!(keys_of(&t), ["visit.already", "goodbye.reserved"]);
    assert_eq!(t.reply.lines[0].args, [("slot", Arg::Slot(booked))]);
    assert_eq!(t.call.data.visit, Some(booked));
    assert!(t.call.is_over());
}

#[test]
fn the_offer_names_each_period_with_its_key_then_more_and_later() {
    let t = offered(&visits(false));
    assert_eq!(t.call.step, Step::ChooseVisit);
    let Next::Ask { kind, prompt } = &t.reply.next else {
        panic!("{:?}", t.reply.next)
    };
    assert_eq!(*kind, AskKind::Visit);
    let k: Vec<_> = prompt.iter().map(|l| l.key).collect();
    assert_eq!(
        k,
        [
            "visit.offer",
            "visit.option",
            "visit.option",
            "visit.option",
            "visit.more",
            "visit.later"
        ]
    );
    assert_eq!(prompt[2].args[0], ("slot", Arg::Slot(page()[1])));
    assert_eq!(prompt[2].args[1], ("key", Arg::Text("2".into())));
    assert_eq!(prompt[5].args[0], ("key", Arg::Text("9".into())));
    // A short page has no later dates.
    let cfg = visits(false);
    let t = reserved_call(&cfg);
    let t = poll(
        &cfg,
        &t,
        Progress::Slots(SlotOffer::Offered(page()[..2].to_vec())),
        2_100,
    );
    let Next::Ask { prompt, .. } = &t.reply.next else {
        panic!()
    };
    assert!(!prompt.iter().any(|l| l.key == "visit.more"));
}

#[test]
fn a_key_or_a_spoken_period_books_it_and_the_booking_is_read_back() {
    let cfg = visits(false);
    for (answer, want) in [
        (keys("2"), page()[1]),
        (said("sexta de manhã"), page()[2]),
        (said("a primeira"), page()[0]),
    ] {
        let t = offered(&cfg);
        let t = advance(&cfg, &t.call, answer, 3_000);
        assert_eq!(t.effect, Some(Effect::BookVisit(want)));
        assert_eq!(
            t.call.step,
            Step::BookingVisit {
                since_ms: 3_000,
                slot: want
            }
        );
        assert!(matches!(t.reply.next, Next::Hold { .. }));
        let t = poll(&cfg, &t, Progress::Booked(want), 3_100);
        assert_eq!(
            keys_of(&t),
            ["visit.booked", "protocol.again", "goodbye.reserved"]
        );
        assert_eq!(t.reply.lines[0].args, [("slot", Arg::Slot(want))]);
        assert_eq!(t.call.data.visit, Some(want));
        assert!(t.call.data.offered.is_empty());
        assert_eq!(t.reply.next, Next::Hangup);
    }
}

#[test]
fn a_period_taken_meanwhile_gets_the_next_ones() {
    let cfg = visits(false);
    let t = offered(&cfg);
    let t = advance(&cfg, &t.call, keys("1"), 3_000);
    let next = vec![slot("2026-12-11/afternoon")];
    let t = poll(
        &cfg,
        &t,
        Progress::SlotTaken(SlotOffer::Offered(next.clone())),
        3_100,
    );
    assert_eq!(
        keys_of(&t),
        ["visit.taken", "visit.offer", "visit.option", "visit.later"]
    );
    assert_eq!(t.call.data.offered, next);
    // And when nothing is left, the team calls.
    let t = advance(&cfg, &t.call, keys("1"), 4_000);
    let t = poll(&cfg, &t, Progress::SlotTaken(SlotOffer::None), 4_100);
    assert_eq!(
        keys_of(&t),
        [
            "visit.taken",
            "visit.none",
            "protocol.again",
            "goodbye.reserved"
        ]
    );
    assert_eq!(t.call.data.visit, None);
}

#[test]
fn key_4_asks_for_the_periods_after_the_last_offered() {
    let cfg = visits(false);
    let t = offered(&cfg);
    let t = advance(&cfg, &t.call, keys("4"), 3_000);
    let last = page()[2];
    assert_eq!(t.effect, Some(Effect::FindSlots { after: Some(last) }));
    let later = vec![slot("2026-12-14/morning")];
    let t2 = poll(
        &cfg,
        &t,
        Progress::Slots(SlotOffer::Offered(later.clone())),
        3_100,
    );
    assert_eq!(t2.call.data.offered, later);
    assert_eq!(t2.call.step, Step::ChooseVisit);
    // Nothing later: said so, and the same periods are offered again.
    let t3 = poll(&cfg, &t, Progress::Slots(SlotOffer::None), 3_100);
    assert_eq!(keys_of(&t3)[..2], ["visit.no_more", "visit.offer"]);
    assert_eq!(t3.call.data.offered, page());
}

#[test]
fn key_9_books_later_and_the_sms_will_say_how() {
    let cfg = visits(false);
    let t = offered(&cfg);
    let t = advance(&cfg, &t.call, keys("9"), 3_000);
    assert_eq!(
        keys_of(&t),
        ["visit.skipped", "protocol.again", "goodbye.reserved"]
    );
    assert!(t.effect.is_none());
    assert_eq!(t.call.data.visit, None);
    assert!(t.call.is_over());
}

#[test]
fn silence_and_garbage_end_like_a_skip_without_a_person() {
    let cfg = visits(false);
    let t = offered(&cfg);
    let t1 = advance(&cfg, &t.call, Event::Silence, 3_000);
    assert_eq!(keys_of(&t1)[..2], ["no_input", "visit.offer_retry"]);
    let t2 = advance(&cfg, &t1.call, said("banana"), 4_000);
    assert_eq!(
        keys_of(&t2)[..2],
        ["not_understood.visit", "visit.offer_retry"]
    );
    let t3 = advance(&cfg, &t2.call, keys("7"), 5_000);
    assert_eq!(
        keys_of(&t3),
        ["visit.skipped", "protocol.again", "goodbye.reserved"]
    );
}

#[test]
fn past_the_last_try_a_person_takes_the_call_when_one_answers() {
    let cfg = visits(true);
    let mut t = offered(&cfg);
    for i in 0..3 {
        t = advance(&cfg, &t.call, Event::Silence, 3_000 + i);
    }
    assert_eq!(t.reply.next, Next::Transfer);
    assert_eq!(t.call.step, Step::Transferred);
}

#[test]
fn a_person_can_be_asked_for_at_the_offer_and_the_offer_resumes_if_none_answers() {
    let cfg = visits(true);
    let t = offered(&cfg);
    let t = advance(&cfg, &t.call, keys("0"), 3_000);
    assert_eq!(t.reply.next, Next::Transfer);
    let t = advance(&cfg, &t.call, Event::DialEnded { answered: false }, 4_000);
    assert_eq!(t.call.step, Step::ChooseVisit);
    assert_eq!(t.call.data.offered, page());
    assert_eq!(keys_of(&t)[..2], ["agent.failed", "visit.offer"]);
}

#[test]
fn no_free_period_or_a_failed_agenda_means_the_team_calls() {
    let cfg = visits(false);
    let t = reserved_call(&cfg);
    let none = poll(&cfg, &t, Progress::Slots(SlotOffer::None), 2_100);
    assert_eq!(
        keys_of(&none),
        ["visit.none", "protocol.again", "goodbye.reserved"]
    );
    let failed = poll(&cfg, &t, Progress::Slots(SlotOffer::Failed), 2_100);
    assert_eq!(keys_of(&failed)[0], "visit.failed");
    // A silent agenda is waited for only so long.
    let held = poll(&cfg, &t, Progress::Pending, 3_000);
    assert!(matches!(held.reply.next, Next::Hold { .. }));
    let late = poll(&cfg, &t, Progress::Pending, 2_000 + cfg.visit_hold_ms);
    assert_eq!(keys_of(&late)[0], "visit.failed");
    assert!(late.call.is_over());
}

#[test]
fn holds_at_the_agenda_ignore_stray_input() {
    let cfg = visits(false);
    let t = reserved_call(&cfg);
    let t2 = advance(&cfg, &t.call, keys("1"), 2_500);
    assert!(matches!(t2.reply.next, Next::Hold { .. }));
    assert!(t2.effect.is_none());
    let t3 = advance(&cfg, &t.call, Event::Silence, 2_500);
    assert!(matches!(t3.call.step, Step::FindingSlots { .. }));
}

#[test]
fn old_stored_calls_load_and_new_ones_round_trip() {
    let t = offered(&visits(false));
    let json = serde_json::to_string(&t.call).unwrap();
    assert!(
        json.contains("\"offered\":[\"2026-12-10/morning\""),
        "{json}"
    );
    let back: Call = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t.call);
    let old = r#"{"step":{"step":"reserving","since_ms":5},"attempts":0,"corrections":0,
        "data":{"code":null,"name":null,"cep":null,"query":null,"place":null,"phone":null}}"#;
    let call: Call = serde_json::from_str(old).unwrap();
    assert!(call.data.offered.is_empty());
    assert_eq!(call.data.visit, None);
    let held = r#"{"step":{"step":"finding_slots","since_ms":5},"attempts":0,"corrections":0,
        "data":{"code":null,"name":null,"cep":null,"query":null,"place":null,"phone":null}}"#;
    let call: Call = serde_json::from_str(held).unwrap();
    assert_eq!(
        call.step,
        Step::FindingSlots {
            since_ms: 5,
            after: None
        }
    );
}
