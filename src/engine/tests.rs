//! The engine's rules as every channel sees them. The black-box suite in
//! `tests/it/engine.rs` runs the same sessions through each adapter.

use super::progress::read_row;
use super::told_outcome;
use crate::store::{CallOutcome, LedgerStatus, Reservation};
use ivr_core::domain::{ReservationOutcome, ReservedPort};
use ivr_core::flow::{Call, Event, Progress, ReservationProgress};
use ivr_core::tutorial;

fn port() -> ReservedPort {
    ReservedPort {
        property_id: "p1".into(),
        box_id: "b1".into(),
        box_name: ivr_core::domain::BoxName::parse("CTO-AGR-01"),
        port: Some(3),
    }
}

fn row(key: &str, protocol: Option<&str>, status: LedgerStatus, attempts: i64) -> Reservation {
    let mut request = tutorial::request();
    request.protocol = protocol.map(str::to_string);
    Reservation {
        id: 1,
        client_code: tutorial::client_code(),
        call_sid: key.into(),
        request,
        status,
        outcome: (status == LedgerStatus::Done).then(|| ReservationOutcome::Reserved(port())),
        attempts,
        next_attempt_at: 0,
        last_error: None,
        created_at: 0,
        updated_at: 0,
        uncertain_since: None,
        recheck_at: None,
        duplicates_removed: Vec::new(),
        life: Default::default(),
    }
}

fn session(protocol: Option<&str>) -> Call {
    let mut call = Call::new(Some("+5548999990000".into()));
    call.data.protocol = protocol.map(str::to_string);
    call
}

const RESERVED: ReservationProgress =
    ReservationProgress::Done(ReservationOutcome::Reserved(ReservedPort {
        property_id: String::new(),
        box_id: String::new(),
        box_name: None,
        port: None,
    }));

fn kind(p: &ReservationProgress) -> &'static str {
    match p {
        ReservationProgress::Done(ReservationOutcome::Reserved(_)) => "reserved",
        ReservationProgress::Done(ReservationOutcome::Existing(_)) => "existing",
        ReservationProgress::Done(ReservationOutcome::NotViable) => "not viable",
        ReservationProgress::Dead => "dead",
        ReservationProgress::Waiting { failing: false } => "waiting",
        ReservationProgress::Waiting { failing: true } => "failing",
        ReservationProgress::Confirming => "confirming",
    }
}

#[test]
fn a_row_is_this_session_s_by_its_protocol_on_every_channel() {
    let done = LedgerStatus::Done;
    // A call: its own row (same CallSid, same protocol) is reserved; a row
    // of an earlier call of the same client is existing.
    let call = session(Some("20261207000001"));
    assert_eq!(
        kind(&read_row(
            &row("CA1", Some("20261207000001"), done, 0),
            "CA1",
            &call
        )),
        "reserved"
    );
    assert_eq!(
        kind(&read_row(
            &row("CA0", Some("20261201000009"), done, 0),
            "CA1",
            &call
        )),
        "existing"
    );
    // A conversation keeps its key across protocols: a row its earlier
    // conversation made is existing, the one this conversation made is
    // reserved (the voice reader used to say "reserved" for both).
    let chat = session(Some("20261207000002"));
    assert_eq!(
        kind(&read_row(
            &row("wa:55", Some("20261201000001"), done, 0),
            "wa:55",
            &chat
        )),
        "existing"
    );
    assert_eq!(
        kind(&read_row(
            &row("wa:55", Some("20261207000002"), done, 0),
            "wa:55",
            &chat
        )),
        "reserved"
    );
    // A row or session without a protocol falls back to the session's key.
    let bare = session(None);
    assert_eq!(
        kind(&read_row(&row("CA1", None, done, 0), "CA1", &bare)),
        "reserved"
    );
    assert_eq!(
        kind(&read_row(&row("CA0", None, done, 0), "CA1", &bare)),
        "existing"
    );
    assert_eq!(
        kind(&read_row(&row("CA1", Some("1"), done, 0), "CA1", &bare)),
        "reserved"
    );
}

#[test]
fn a_row_in_flight_waits_fails_or_dies() {
    let call = session(Some("1"));
    let read = |status, attempts| {
        kind(&read_row(
            &row("CA1", Some("1"), status, attempts),
            "CA1",
            &call,
        ))
    };
    assert_eq!(read(LedgerStatus::Pending, 0), "waiting");
    assert_eq!(read(LedgerStatus::Pending, 2), "failing");
    assert_eq!(read(LedgerStatus::Dead, 5), "dead");
    assert_eq!(read(LedgerStatus::Cancelled, 0), "dead");
    // A POST whose answer never came: being confirmed. One still in flight
    // (no attempt failed yet) is only waited for.
    let uncertain = |attempts| {
        let mut r = row("CA1", Some("1"), LedgerStatus::Pending, attempts);
        r.uncertain_since = Some(5);
        kind(&read_row(&r, "CA1", &call))
    };
    assert_eq!(uncertain(1), "confirming");
    assert_eq!(uncertain(0), "waiting");
    // A finished row that had one reads as its outcome.
    let mut done = row("CA1", Some("1"), LedgerStatus::Done, 1);
    done.uncertain_since = Some(5);
    assert_eq!(kind(&read_row(&done, "CA1", &call)), "reserved");
}

#[test]
fn the_outcome_told_is_counted_only_for_a_settled_reservation() {
    let told = |p: ReservationProgress| told_outcome(&Event::Poll(Progress::Reservation(p)));
    assert_eq!(told(RESERVED), Some(CallOutcome::Reserved));
    assert_eq!(
        told(ReservationProgress::Done(ReservationOutcome::NotViable)),
        Some(CallOutcome::NotViable)
    );
    assert_eq!(told(ReservationProgress::Dead), Some(CallOutcome::Failed));
    assert_eq!(told(ReservationProgress::Waiting { failing: true }), None);
    assert_eq!(told_outcome(&Event::Silence), None);
}

#[test]
fn a_released_row_tells_no_port() {
    let mut r = row("CA1", Some("20261207000001"), LedgerStatus::Done, 1);
    let call = session(Some("20261207000009"));
    assert_eq!(kind(&read_row(&r, "CA2", &call)), "existing");
    r.life.released_at = Some(5);
    assert_eq!(kind(&read_row(&r, "CA2", &call)), "dead");
}
