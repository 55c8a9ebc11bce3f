//! The technician's visit, after the reservation (`FlowConfig::visits`): the
//! next free periods are asked of the agenda (a hold, `Effect::FindSlots`),
//! offered by key and speech (`ChooseVisit`), and the one chosen is booked
//! (`Effect::BookVisit`, durable before it is read back). A period filled
//! meanwhile gets the next ones; key 4 the periods after the offered ones; key
//! 9 (or silence, or garbage past the last try with no person to take the
//! call) books nothing now: the SMS says how to book.

use super::builder::Builder;
use super::{Arg, AskKind, CallData, Effect, Line, Progress, SlotOffer, Step, Transition};
use crate::agenda::Slot;
use crate::agenda::spoken::{self, Choice, KEY_LATER, KEY_MORE};
use crate::domain::ReservedPort;

/// Periods offered at once; a full page offers later dates too.
pub const OFFER_SIZE: usize = 3;

/// The reservation's outcome was said (`outcome`, with the port): the agenda
/// is asked for the first free periods.
pub(super) fn after_outcome(
    b: Builder<'_>,
    outcome: &'static str,
    p: ReservedPort,
    now_ms: u64,
) -> Transition {
    let line = Line::port(outcome, p.box_name.as_ref(), p.port, |port| {
        Arg::Text(port.to_string())
    });
    find(b.say(line), None, now_ms)
}

/// Asks the agenda for the free periods after `after`.
fn find(mut b: Builder<'_>, after: Option<Slot>, now_ms: u64) -> Transition {
    b.call.step = Step::FindingSlots {
        since_ms: now_ms,
        after,
    };
    b.call.attempts = 0;
    b.with_effect(Effect::FindSlots { after }).hold(None)
}

/// The question at `ChooseVisit`: each offered period with its key, later
/// dates when the page was full, and the key to book later.
pub(super) fn ask_lines(data: &CallData, attempts: u32) -> Option<(AskKind, Vec<Line>)> {
    if data.offered.is_empty() {
        return None;
    }
    let intro = if attempts == 0 {
        "visit.offer"
    } else {
        "visit.offer_retry"
    };
    let mut lines = vec![Line::new(intro)];
    for (i, slot) in data.offered.iter().enumerate() {
        lines.push(
            Line::new("visit.option")
                .arg("slot", Arg::Slot(*slot))
                .arg("key", Arg::Text((i + 1).to_string())),
        );
    }
    if data.offered.len() >= OFFER_SIZE {
        lines.push(Line::new("visit.more").arg("key", Arg::Text(KEY_MORE.into())));
    }
    lines.push(Line::new("visit.later").arg("key", Arg::Text(KEY_LATER.into())));
    Some((AskKind::Visit, lines))
}

/// The caller's answer at `ChooseVisit`.
pub(super) fn on_answer(
    mut b: Builder<'_>,
    digits: Option<&str>,
    speech: Option<&str>,
    now_ms: u64,
) -> Transition {
    let offered = b.call.data.offered.clone();
    match spoken::choice(&offered, digits, speech) {
        Some(Choice::Slot(slot)) => {
            b.call.step = Step::BookingVisit {
                since_ms: now_ms,
                slot,
            };
            b.call.attempts = 0;
            b.with_effect(Effect::BookVisit(slot)).hold(None)
        }
        Some(Choice::More) if offered.len() >= OFFER_SIZE => {
            let last = offered.last().copied();
            find(b, last, now_ms)
        }
        // Fewer than a page offered: there is nothing later.
        Some(Choice::More) => b.say(Line::new("visit.no_more")).ask(),
        Some(Choice::Later) => end(b, Line::new("visit.skipped")),
        None => failed(b, "not_understood.visit"),
    }
}

/// A silence or an unusable answer at the offer: asked again; past the last
/// try a person takes the call when one answers, else the call ends as a skip.
pub(super) fn failed(mut b: Builder<'_>, reason: &'static str) -> Transition {
    b.call.attempts += 1;
    if b.call.attempts >= b.cfg.max_attempts {
        if b.cfg.agent_available && b.agent_open {
            return b.transfer("transfer.give_up");
        }
        return end(b, Line::new("visit.skipped"));
    }
    b.say(Line::new(reason)).ask()
}

/// What the agenda answered, or that it is still silent at `now_ms`.
pub(super) fn on_poll(b: Builder<'_>, progress: Progress, now_ms: u64) -> Transition {
    match (b.call.step.clone(), progress) {
        (Step::FindingSlots { after, .. }, Progress::Slots(offer)) => offered(b, offer, after),
        (Step::FindingSlots { since_ms, after }, _) => {
            if now_ms.saturating_sub(since_ms) >= b.cfg.visit_hold_ms {
                offered(b, SlotOffer::Failed, after)
            } else {
                b.hold(None)
            }
        }
        (Step::BookingVisit { .. }, Progress::Booked(slot)) => {
            let mut b = b;
            b.call.data.visit = Some(slot);
            b.call.data.offered.clear();
            end(b, Line::new("visit.booked").arg("slot", Arg::Slot(slot)))
        }
        // The booking could not be written.
        (Step::BookingVisit { .. }, Progress::Slots(SlotOffer::Failed)) => {
            end(b, Line::new("visit.failed"))
        }
        (Step::BookingVisit { .. }, Progress::SlotTaken(offer)) => {
            let mut b = b.say(Line::new("visit.taken"));
            b.call.data.offered.clear();
            offered(b, offer, None)
        }
        (Step::BookingVisit { since_ms, .. }, _) => {
            if now_ms.saturating_sub(since_ms) >= b.cfg.visit_hold_ms {
                end(b, Line::new("visit.failed"))
            } else {
                b.hold(None)
            }
        }
        _ => b.ask(),
    }
}

/// A new offer: asked, or the call ends with why there is none. `after` is
/// set when the caller asked for later dates (the earlier offer stays).
fn offered(mut b: Builder<'_>, offer: SlotOffer, after: Option<Slot>) -> Transition {
    let had_offer = after.is_some() && !b.call.data.offered.is_empty();
    match offer {
        SlotOffer::Offered(slots) if !slots.is_empty() => {
            b.call.data.offered = slots.into_iter().take(OFFER_SIZE).collect();
            b.goto(Step::ChooseVisit)
        }
        SlotOffer::Offered(_) | SlotOffer::None if had_offer => {
            b.say(Line::new("visit.no_more")).goto(Step::ChooseVisit)
        }
        SlotOffer::Offered(_) | SlotOffer::None => end(b, Line::new("visit.none")),
        SlotOffer::Failed => {
            b.call.data.offered.clear();
            end(b, Line::new("visit.failed"))
        }
        SlotOffer::AlreadyBooked(slot) => {
            b.call.data.visit = Some(slot);
            b.call.data.offered.clear();
            end(b, Line::new("visit.already").arg("slot", Arg::Slot(slot)))
        }
    }
}

/// The last words of the visit step: `line`, the protocol, goodbye.
fn end(b: Builder<'_>, line: Line) -> Transition {
    b.say(line).with_protocol().goodbye("goodbye.reserved")
}
