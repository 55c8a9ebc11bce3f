//! The client directory in the call: once the code is confirmed the ISP's
//! system is asked about it. A known client is not asked the name, and the
//! installation address the system holds is read back; an unknown code is
//! asked again (it counts as an attempt); a directory that fails or is slow
//! leaves the call on the path without one.

use super::builder::Builder;
use super::steps::{forget_address, start_geocoding, start_reserving};
use super::{ClientLookup, Effect, Line, Step, Transition};
use crate::domain::{AddressQuery, Place};

/// The code was confirmed: ask the directory, or go on to the name.
pub(super) fn code_confirmed(mut b: Builder<'_>, now_ms: u64) -> Transition {
    let code = match (&b.call.data.code, b.cfg.client_directory) {
        (Some(code), true) => code.clone(),
        _ => return b.goto(Step::AskName),
    };
    b.call.step = Step::LookingUpClient { since_ms: now_ms };
    b.call.attempts = 0;
    b.with_effect(Effect::LookUpClient(code))
        .hold(Some("client.looking_up"))
}

/// What the directory said, or that it is still silent at `elapsed_ms`.
pub(super) fn on_lookup(
    mut b: Builder<'_>,
    lookup: Option<ClientLookup>,
    elapsed_ms: u64,
) -> Transition {
    let lookup = match lookup {
        Some(l) => l,
        None if elapsed_ms >= b.cfg.directory_hold_ms => ClientLookup::Failed,
        None => return b.hold(None),
    };
    match lookup {
        ClientLookup::Known(client) => {
            let data = &mut b.call.data;
            data.name = Some(client.name);
            data.from_directory = true;
            data.unsure = false;
            let Some(installation) = client.installation else {
                // Known, but with no usable address: the address is asked.
                return b.goto(Step::AskAddress);
            };
            data.installation = !client.located;
            data.place = Some(installation);
            b.goto(Step::ConfirmInstallation)
        }
        ClientLookup::Unknown => {
            let data = &mut b.call.data;
            data.code = None;
            data.unknown_codes = data.unknown_codes.saturating_add(1);
            let misses = data.unknown_codes;
            b.call.step = Step::AskCode;
            if misses >= b.cfg.max_attempts {
                return b.say(Line::new("client.unknown")).give_up();
            }
            // The question is worded as a retry: the caller is told how to type it.
            b.call.attempts = misses;
            b.say(Line::new("client.unknown")).ask()
        }
        // The call goes on as it would without a directory.
        ClientLookup::Failed => b.goto(Step::AskName),
    }
}

/// The caller's yes or no to the installation address the directory holds.
pub(super) fn installation_answered(mut b: Builder<'_>, yes: bool, now_ms: u64) -> Transition {
    if !yes {
        forget_address(&mut b);
        return b.correct(Step::AskAddress, "client.other_address");
    }
    let Some(place) = b.call.data.place.clone() else {
        return b.goto(Step::AskAddress);
    };
    if !b.call.data.installation {
        return start_reserving(b, now_ms);
    }
    // No coordinates from the directory: the address is geocoded; a sure
    // result is reserved without a second read-back.
    let text = place.spoken();
    let mut t = start_geocoding(b, AddressQuery::Spoken { text }, now_ms);
    t.call.data.place = Some(place);
    t.call.data.installation = true;
    t
}

/// The geocoder is sure where the confirmed installation address is: reserve
/// it, with the directory's address and the geocoder's coordinates.
pub(super) fn installation_located(mut b: Builder<'_>, found: Place, now_ms: u64) -> Transition {
    let mut place = b.call.data.place.take().unwrap_or_else(|| found.clone());
    place.lat = found.lat;
    place.lng = found.lng;
    b.call.data.place = Some(place);
    b.call.data.installation = false;
    start_reserving(b, now_ms)
}
