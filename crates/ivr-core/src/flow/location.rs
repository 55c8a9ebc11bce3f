//! The link by SMS where the caller marks the house (issue 26), on a call.
//!
//! Offered when the house has no number (`*`, "sem número"), when the address
//! was not found twice, or sent at once when the caller presses
//! [`KEY_LINK`] at the address question — only to a caller whose number
//! takes an SMS (`CallData::sms_capable`) when the links are on
//! (`FlowConfig::location_link`). The adapters send it at once
//! ([`Effect::SendLocationLink`]) and feed back [`Progress::LinkSent`] or
//! [`Progress::LinkFailed`]; the call then waits at `AwaitingLocation` (short
//! `<Gather>`s: key 1 says the address instead) until [`Progress::Located`]
//! brings the place, read back like a shared location, or the link's life
//! runs out (back to the address question).

use super::builder::Builder;
use super::steps::{forget_address, on_answer as on_answer_at};
use super::{Effect, Line, PlaceSource, Progress, Step, Transition};
use crate::domain::Place;
use crate::speech;

/// The key the address question names for the link.
pub const KEY_LINK: &str = "8";
/// Every this many waits, the caller hears that the call is still waiting.
const SAY_EVERY: u32 = 3;

/// Whether the link can be offered in this call.
pub(super) fn available(b: &Builder<'_>) -> bool {
    b.cfg.location_link && b.call.data.sms_capable
}

/// Whether the link is offered by itself now (once per call).
pub(super) fn offer_now(b: &Builder<'_>) -> bool {
    available(b) && !b.call.data.link_offered
}

/// The offer, as a yes/no question; `back` is where a "no" returns.
pub(super) fn offer(mut b: Builder<'_>, back: Step) -> Transition {
    b.call.data.link_offered = true;
    b.call.data.before_link = Some(Box::new(back));
    b.goto(Step::OfferLink)
}

/// The caller's answer to the offer.
pub(super) fn on_offer_answer(
    mut b: Builder<'_>,
    digits: Option<&str>,
    speech_in: Option<&str>,
    now_ms: u64,
) -> Transition {
    match speech::yes_no(digits, speech_in) {
        Some(true) => {
            let back = b
                .call
                .data
                .before_link
                .take()
                .map_or(Step::AskAddress, |s| *s);
            send(b, back, now_ms)
        }
        Some(false) => declined(b, now_ms),
        None => b.failed("not_understood.yes_no"),
    }
}

/// No link: back to the question; a house without a number goes on as
/// "sem número" did before the offer.
fn declined(mut b: Builder<'_>, now_ms: u64) -> Transition {
    let back = b
        .call
        .data
        .before_link
        .take()
        .map_or(Step::AskAddress, |s| *s);
    resume_at(b, back, now_ms)
}

/// Sends the link (the caller chose it): the words first, then the wait.
pub(super) fn send(mut b: Builder<'_>, back: Step, now_ms: u64) -> Transition {
    b.call.data.link_offered = true;
    b.call.data.before_link = Some(Box::new(back));
    b.call.step = Step::AwaitingLocation {
        since_ms: now_ms,
        until_ms: now_ms.saturating_add(b.cfg.location_wait_ms),
    };
    b.call.attempts = 0;
    b.call.data.link_waits = 0;
    b.say(Line::new("location.sending"))
        .with_effect(Effect::SendLocationLink)
        .ask()
}

/// The wait's question: said at the first wait and every few after.
pub(super) fn wait_lines(waits: u32) -> Vec<Line> {
    if waits.is_multiple_of(SAY_EVERY) {
        vec![Line::new("location.waiting")]
    } else {
        Vec::new()
    }
}

/// One more wait with nothing new.
fn wait(mut b: Builder<'_>) -> Transition {
    b.call.data.link_waits = b.call.data.link_waits.saturating_add(1);
    b.ask()
}

/// A key or words while waiting: 1 (or "endereço", "não") says the address
/// instead; anything else waits on.
pub(super) fn on_wait_answer(
    b: Builder<'_>,
    digits: Option<&str>,
    speech_in: Option<&str>,
) -> Transition {
    let wants_address = match digits {
        Some(d) => d == "1",
        None => speech_in.is_some_and(|s| {
            let s = s.to_lowercase();
            s.contains("endere")
                || s.contains("address")
                || speech::yes_no(None, Some(&s)).is_some()
        }),
    };
    if wants_address {
        return back_to_address(b, None);
    }
    wait(b)
}

/// A silence while waiting (the adapters turn it into a poll when they can).
pub(super) fn on_wait_silence(b: Builder<'_>) -> Transition {
    wait(b)
}

/// What came of the link, or that nothing came yet at `now_ms`.
pub(super) fn on_poll(mut b: Builder<'_>, progress: Progress, now_ms: u64) -> Transition {
    let Step::AwaitingLocation { until_ms, .. } = b.call.step else {
        return b.ask();
    };
    match progress {
        Progress::LinkSent => {
            b.call.data.link_waits = 0;
            b.ask()
        }
        Progress::LinkFailed { sms } => {
            let back = b
                .call
                .data
                .before_link
                .take()
                .map_or(Step::AskAddress, |s| *s);
            let b = if sms {
                b.say(Line::new("location.sms_failed"))
            } else {
                b
            };
            // A number that takes no SMS is not offered the link again.
            let mut b = b;
            b.call.data.sms_capable = sms;
            resume_at(b, back, now_ms)
        }
        Progress::Located { place, label } => located(b, place, label),
        _ if now_ms >= until_ms => back_to_address(b, Some("location.expired")),
        _ => wait(b),
    }
}

/// The question the link was offered at, asked again (a house without a
/// number goes on as "sem número").
fn resume_at(mut b: Builder<'_>, back: Step, now_ms: u64) -> Transition {
    b.call.step = back.clone();
    b.call.attempts = 0;
    match back {
        Step::AskNumber | Step::AskStreetNumber => on_answer_at(b, Some("*"), None, None, now_ms),
        _ => b.ask(),
    }
}

/// The link's position: read back for confirmation, as a shared location.
fn located(mut b: Builder<'_>, place: Place, label: Option<String>) -> Transition {
    forget_address(&mut b);
    b.call.data.before_link = None;
    b.call.data.address_attempts = b.call.data.address_attempts.saturating_add(1);
    b.call.data.place = Some(place);
    b.call.data.place_label = label;
    b.call.data.place_source = Some(PlaceSource::Link);
    b.say(Line::new("location.arrived"))
        .goto(Step::ConfirmAddress)
}

/// Back to the address question, after `line`.
fn back_to_address(mut b: Builder<'_>, line: Option<&'static str>) -> Transition {
    forget_address(&mut b);
    b.call.data.before_link = None;
    let b = match line {
        Some(l) => b.say(Line::new(l)),
        None => b,
    };
    b.goto(Step::AskAddress)
}
