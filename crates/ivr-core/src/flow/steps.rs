//! The transitions: what each event does at each step.

use super::builder::Builder;
use super::client;
use super::location;
use super::visit;
use super::{
    Arg, Call, Effect, Event, FlowConfig, GeoResult, Line, Moment, PlaceSource, Progress,
    ReservationProgress, Step, Transition,
};
use crate::domain::{
    AddressQuery, HouseNumber, Place, ReservationOutcome, ReservationRequest, ReservedPort,
};
use crate::speech;

/// One step of the call within business hours. `now_ms` is the wall clock in
/// milliseconds, used only to bound how long a caller is kept on hold.
pub fn advance(cfg: &FlowConfig, call: &Call, event: Event, now_ms: u64) -> Transition {
    advance_at(cfg, call, event, Moment::open(now_ms))
}

/// One step of the call at `moment` (the clock, and whether a person answers).
pub fn advance_at(cfg: &FlowConfig, call: &Call, event: Event, moment: Moment) -> Transition {
    let now_ms = moment.now_ms;
    let b = Builder::new(cfg, call.clone(), moment.agent_open);
    match event {
        Event::Start => {
            if call.step == Step::AskCode && call.attempts == 0 && call.data.code.is_none() {
                greet(b)
            } else {
                // The call was already under way: ask the current question again.
                resume(b)
            }
        }
        Event::Silence => on_silence(b),
        Event::Answer {
            digits,
            speech,
            confidence,
        } => on_answer(b, digits.as_deref(), speech.as_deref(), confidence, now_ms),
        Event::Poll(progress) => on_poll(b, progress, now_ms),
        Event::Location { place, label } => on_location(b, place, label),
        Event::DialEnded { answered } => {
            if answered {
                return b.goodbye("goodbye.after_agent");
            }
            // The person did not answer: back to the question the caller was at.
            match call.data.before_transfer.as_deref().cloned() {
                Some(step) if asks_a_question(&step) => {
                    let mut b = b.say(Line::new("agent.failed"));
                    b.call.data.before_transfer = None;
                    b.goto(step)
                }
                _ => b.goodbye("agent.unavailable"),
            }
        }
    }
}

/// The greeting: the company, the protocol digit by digit, why the data is
/// asked, and how to reach a person; then the first question.
fn greet(b: Builder<'_>) -> Transition {
    let mut b = match &b.cfg.company_name {
        Some(name) => {
            let name = name.clone();
            b.say(Line::new("greeting").arg("company", Arg::Text(name)))
        }
        None => b.say(Line::new("greeting_generic")),
    };
    if let Some(p) = b.call.data.protocol.clone() {
        b = b.say(Line::new("protocol.say").arg("protocol", Arg::Digits(p)));
    }
    let privacy = if b.cfg.client_directory {
        "privacy_directory"
    } else {
        "privacy"
    };
    b = b.say(Line::new(privacy));
    if b.cfg.agent_available {
        b = b.say(Line::new("agent.anytime"));
    }
    b.ask()
}

/// Steps that wait for the caller's answer to a question of the collection.
fn asks_a_question(step: &Step) -> bool {
    matches!(
        step,
        Step::AskCode
            | Step::ConfirmCode
            | Step::ConfirmInstallation
            | Step::AskName
            | Step::AskAddress
            | Step::AskNumber
            | Step::AskStreetNumber
            | Step::ChooseAddress
            | Step::AskStreet
            | Step::ConfirmAddress
            | Step::OfferLink
            | Step::ChooseVisit
    )
}

/// Steps where the caller waits for the background work.
fn on_hold(step: &Step) -> bool {
    matches!(
        step,
        Step::LookingUpClient { .. }
            | Step::Geocoding { .. }
            | Step::Reserving { .. }
            | Step::FindingSlots { .. }
            | Step::BookingVisit { .. }
    )
}

fn resume(b: Builder<'_>) -> Transition {
    match b.call.step {
        ref s if on_hold(s) => b.hold(None),
        Step::Finished | Step::Transferred => b.goodbye("goodbye.default"),
        _ => b.ask(),
    }
}

fn on_silence(b: Builder<'_>) -> Transition {
    match b.call.step {
        ref s if on_hold(s) => b.hold(None),
        Step::Finished | Step::Transferred => b.goodbye("goodbye.default"),
        // Silence after the offer of a human means no.
        Step::OfferAgent => b.goodbye("goodbye.default"),
        Step::ChooseVisit => visit::failed(b, "no_input"),
        Step::AwaitingLocation { .. } => location::on_wait_silence(b),
        _ => b.failed("no_input"),
    }
}

pub(super) fn on_answer(
    mut b: Builder<'_>,
    digits: Option<&str>,
    speech: Option<&str>,
    confidence: Option<f32>,
    now_ms: u64,
) -> Transition {
    let digits = digits.map(str::trim).filter(|d| !d.is_empty());
    let speech = speech.map(str::trim).filter(|s| !s.is_empty());
    if digits.is_none() && speech.is_none() {
        return on_silence(b);
    }
    // A person at any question, before any data: a lone 0 or words asking for one.
    if b.cfg.agent_available
        && asks_a_question(&b.call.step)
        && speech::asks_for_person(digits, speech)
    {
        if !b.agent_open {
            let closed = b.closed_line();
            return b.say(closed).ask();
        }
        b.call.data.before_transfer = Some(Box::new(b.call.step.clone()));
        return b.transfer("transfer.requested");
    }
    match b.call.step.clone() {
        Step::AskCode => match speech::client_code(digits, speech) {
            Some(code) => {
                b.call.data.code = Some(code);
                b.goto(Step::ConfirmCode)
            }
            None => b.failed("not_understood.code"),
        },
        Step::ConfirmCode => match speech::yes_no(digits, speech) {
            Some(true) => client::code_confirmed(b, now_ms),
            Some(false) => {
                b.call.data.code = None;
                b.correct(Step::AskCode, "code.again")
            }
            None => b.failed("not_understood.yes_no"),
        },
        Step::ConfirmInstallation => match speech::yes_no(digits, speech) {
            Some(yes) => client::installation_answered(b, yes, now_ms),
            None => b.failed("not_understood.yes_no"),
        },
        Step::AskName => match digits.is_none().then(|| speech::name(speech)).flatten() {
            Some(name) => {
                b.call.data.name = Some(name);
                b.goto(Step::AskAddress)
            }
            None => b.failed("not_understood.name"),
        },
        Step::AskAddress => {
            if digits == Some(location::KEY_LINK) && location::available(&b) {
                return location::send(b, Step::AskAddress, now_ms);
            }
            if let Some(cep) = speech::cep(digits, speech) {
                b.call.data.cep = Some(cep);
                return b.goto(Step::AskNumber);
            }
            if digits.is_some() {
                return b.failed("not_understood.cep");
            }
            match speech::address(speech) {
                Some(text) => {
                    b.call.data.address_confidence = confidence.filter(|c| *c > 0.0);
                    b.call.data.number_in_doubt = speech::number_in_doubt(speech);
                    start_geocoding(b, AddressQuery::Spoken { text }, now_ms)
                }
                None => b.failed("not_understood.address"),
            }
        }
        Step::AskStreet => {
            let street = digits.is_none().then(|| speech::address(speech)).flatten();
            let typed = match b.call.data.query.clone() {
                Some(
                    AddressQuery::Cep { cep, number } | AddressQuery::Street { cep, number, .. },
                ) => Some((cep, number)),
                _ => None,
            };
            match (street, typed, b.call.data.town.clone()) {
                (Some(street), Some((cep, number)), Some(town)) => {
                    b.call.data.address_confidence = confidence.filter(|c| *c > 0.0);
                    let query = AddressQuery::Street {
                        street,
                        number,
                        cep,
                        town,
                    };
                    start_geocoding(b, query, now_ms)
                }
                (None, Some(_), Some(_)) => b.failed("not_understood.street"),
                // The CEP or the town was lost: damaged state; ask the address again.
                _ => b.goto(Step::AskAddress),
            }
        }
        Step::ChooseAddress => {
            let mut candidates = b.call.data.candidates.clone().into_iter();
            let (Some(first), Some(second)) = (candidates.next(), candidates.next()) else {
                return b.goto(Step::AskAddress);
            };
            match speech::yes_no(digits, speech) {
                Some(yes) => {
                    b.call.data.candidates.clear();
                    read_back(b, if yes { first } else { second }, false)
                }
                None => b.failed("not_understood.yes_no"),
            }
        }
        Step::AskStreetNumber => match (
            speech::house_number(digits, speech),
            b.call.data.place.clone(),
        ) {
            (Some(HouseNumber::Without), Some(_)) if location::offer_now(&b) => {
                location::offer(b, Step::AskStreetNumber)
            }
            (Some(number), Some(place)) => {
                // A number said in pieces again: the read-back is a guess.
                if digits.is_none() && speech::number_in_doubt(speech) {
                    b.call.data.unsure = true;
                }
                b.call.data.number_in_doubt = false;
                start_geocoding(b, AddressQuery::Numbered { place, number }, now_ms)
            }
            (None, Some(_)) => b.failed("not_understood.number"),
            // No street stored: damaged state; ask for the address again.
            (_, None) => b.goto(Step::AskAddress),
        },
        Step::AskNumber => match (
            speech::house_number(digits, speech),
            b.call.data.cep.clone(),
        ) {
            (Some(HouseNumber::Without), Some(_)) if location::offer_now(&b) => {
                location::offer(b, Step::AskNumber)
            }
            (Some(number), Some(cep)) => {
                start_geocoding(b, AddressQuery::Cep { cep, number }, now_ms)
            }
            (None, Some(_)) => b.failed("not_understood.number"),
            // No CEP stored: damaged state; ask for the address again.
            (_, None) => b.goto(Step::AskAddress),
        },
        Step::ConfirmAddress => match speech::yes_no(digits, speech) {
            Some(true) => start_reserving(b, now_ms),
            Some(false) => {
                // After a wrong guess the CEP is the surer way; it is offered first.
                let again = if b.call.data.unsure {
                    "address.again_cep"
                } else {
                    "address.again"
                };
                forget_address(&mut b);
                b.correct(Step::AskAddress, again)
            }
            None => b.failed("not_understood.yes_no"),
        },
        Step::OfferAgent => match speech::wants_agent(digits, speech) {
            Some(true) => b.transfer("transfer.requested"),
            _ => b.goodbye("goodbye.default"),
        },
        Step::ChooseVisit => visit::on_answer(b, digits, speech, now_ms),
        Step::OfferLink => location::on_offer_answer(b, digits, speech, now_ms),
        Step::AwaitingLocation { .. } => location::on_wait_answer(b, digits, speech),
        Step::LookingUpClient { .. }
        | Step::Geocoding { .. }
        | Step::Reserving { .. }
        | Step::FindingSlots { .. }
        | Step::BookingVisit { .. } => b.hold(None),
        Step::Finished | Step::Transferred => b.goodbye("goodbye.default"),
    }
}

/// A shared location: at a question about the address it is the place, read
/// back for confirmation as a geocoded one would be; elsewhere the current
/// question is asked again.
fn on_location(mut b: Builder<'_>, place: Place, label: Option<String>) -> Transition {
    match b.call.step {
        Step::AskAddress
        | Step::AskNumber
        | Step::AskStreetNumber
        | Step::AskStreet
        | Step::ChooseAddress
        | Step::ConfirmAddress => {
            forget_address(&mut b);
            b.call.data.address_attempts = b.call.data.address_attempts.saturating_add(1);
            b.call.data.place = Some(place);
            b.call.data.place_label = label;
            b.call.data.place_source = Some(PlaceSource::Chat);
            b.goto(Step::ConfirmAddress)
        }
        _ => resume(b),
    }
}

/// Everything the caller said about the address, before it is asked again.
pub(super) fn forget_address(b: &mut Builder<'_>) {
    let data = &mut b.call.data;
    data.place = None;
    data.query = None;
    data.cep = None;
    data.candidates.clear();
    data.unsure = false;
    data.town = None;
    data.address_confidence = None;
    data.installation = false;
    data.place_label = None;
    data.number_in_doubt = false;
    data.place_source = None;
}

pub(super) fn start_geocoding(mut b: Builder<'_>, query: AddressQuery, now_ms: u64) -> Transition {
    // The number asked for a street already found is the same address: not a
    // new attempt, and a guessed street stays a guess.
    let numbered = matches!(query, AddressQuery::Numbered { .. });
    if !numbered {
        b.call.data.address_attempts = b.call.data.address_attempts.saturating_add(1);
        b.call.data.unsure = false;
    }
    b.call.data.query = Some(query.clone());
    b.call.data.place = None;
    b.call.data.place_label = None;
    b.call.data.place_source = None;
    b.call.data.candidates.clear();
    b.call.step = Step::Geocoding { since_ms: now_ms };
    // `attempts` is kept: a failed geocode counts against the address question.
    b.with_effect(Effect::Geocode(query))
        .hold(Some("address.searching"))
}

pub(super) fn start_reserving(mut b: Builder<'_>, now_ms: u64) -> Transition {
    let (Some(code), Some(name), Some(place)) = (
        b.call.data.code.clone(),
        b.call.data.name.clone(),
        b.call.data.place.clone(),
    ) else {
        // Damaged state: start the collection again rather than reserve half a request.
        return b.goto(Step::AskCode);
    };
    if b.call.data.place_source.is_none() {
        b.call.data.place_source = Some(
            if b.call.data.from_directory && b.call.data.query.is_none() {
                PlaceSource::Directory
            } else {
                match b.call.data.query {
                    Some(AddressQuery::Cep { .. } | AddressQuery::Street { .. }) => {
                        PlaceSource::Cep
                    }
                    _ => PlaceSource::Speech,
                }
            },
        );
    }
    let request = ReservationRequest {
        client_code: code,
        client_name: name,
        place,
        phone: b.call.data.phone.clone(),
        protocol: b.call.data.protocol.clone(),
    };
    b.call.step = Step::Reserving { since_ms: now_ms };
    b.call.attempts = 0;
    b.with_effect(Effect::Reserve(request))
        .hold(Some("reserve.hold"))
}

fn on_poll(b: Builder<'_>, progress: Progress, now_ms: u64) -> Transition {
    match (b.call.step.clone(), progress) {
        (Step::LookingUpClient { since_ms }, progress) => {
            let lookup = match progress {
                Progress::Client(l) => Some(l),
                _ => None,
            };
            client::on_lookup(b, lookup, now_ms.saturating_sub(since_ms))
        }
        (Step::Geocoding { .. }, Progress::Geocoded(found)) if found_something(&found) => {
            on_geocoded(b, found, now_ms)
        }
        (Step::Geocoding { .. }, Progress::Geocoded(GeoResult::NotFound | GeoResult::Failed)) => {
            address_not_found(b)
        }
        (Step::Geocoding { since_ms }, _) => {
            if now_ms.saturating_sub(since_ms) >= b.cfg.geocode_hold_ms {
                address_not_found(b)
            } else {
                b.hold(None)
            }
        }
        (Step::Reserving { .. }, Progress::Reservation(ReservationProgress::Done(outcome))) => {
            match outcome {
                ReservationOutcome::Reserved(p) if b.cfg.visits => {
                    visit::after_outcome(b, "outcome.reserved_visit", p, now_ms)
                }
                ReservationOutcome::Existing(p) if b.cfg.visits => {
                    visit::after_outcome(b, "outcome.existing_visit", p, now_ms)
                }
                ReservationOutcome::Reserved(p) => b
                    .say(port_line("outcome.reserved", p))
                    .with_protocol()
                    .goodbye("goodbye.reserved"),
                ReservationOutcome::Existing(p) => b
                    .say(port_line("outcome.existing", p))
                    .with_protocol()
                    .goodbye("goodbye.reserved"),
                ReservationOutcome::NotViable => b
                    .say(Line::new("outcome.not_viable"))
                    .with_protocol()
                    .offer_agent(),
            }
        }
        (Step::Reserving { .. }, Progress::Reservation(ReservationProgress::Dead)) => b
            .say(Line::new("outcome.failed"))
            .with_protocol()
            .offer_agent(),
        (Step::Reserving { since_ms }, progress) => {
            if now_ms.saturating_sub(since_ms) >= b.cfg.reserve_hold_ms {
                // OZmap may have made the property: say it is being confirmed
                // (the outcome follows in writing), not that it is only kept.
                let confirming = matches!(
                    progress,
                    Progress::Reservation(ReservationProgress::Confirming)
                );
                let key = if confirming {
                    "outcome.confirming"
                } else {
                    "outcome.delayed"
                };
                b.say(Line::new(key)).with_protocol().offer_agent()
            } else {
                b.hold(None)
            }
        }
        (Step::FindingSlots { .. } | Step::BookingVisit { .. }, progress) => {
            visit::on_poll(b, progress, now_ms)
        }
        (Step::AwaitingLocation { .. }, progress) => location::on_poll(b, progress, now_ms),
        // A poll for a call that is no longer waiting (a late or repeated request):
        // say the current question again.
        _ => resume(b),
    }
}

/// The box and port read back; OZmap may leave the port out of `connections`,
/// and the box's name may not be known (then the sentence goes without it:
/// never the box's id).
fn port_line(outcome: &'static str, p: ReservedPort) -> Line {
    Line::port(outcome, p.box_name.as_ref(), p.port, |port| {
        Arg::Text(port.to_string())
    })
}

fn found_something(found: &GeoResult) -> bool {
    !matches!(found, GeoResult::NotFound | GeoResult::Failed)
}

/// What the geocoder found, as the caller hears it: a sure place is read back;
/// a guess is read back as one (a low recogniser confidence makes any place a
/// guess); two close candidates get the question that separates them; a town
/// without a street gets the street asked.
fn on_geocoded(mut b: Builder<'_>, found: GeoResult, now_ms: u64) -> Transition {
    if b.call.data.installation {
        // The directory's address, confirmed by the caller, without coordinates.
        if let GeoResult::Found(place) = found {
            return client::installation_located(b, place, now_ms);
        }
        // Not sure where it is: the caller hears what the geocoder found.
        b.call.data.installation = false;
    }
    let low_confidence = b
        .call
        .data
        .address_confidence
        .is_some_and(|c| c < b.cfg.min_speech_confidence);
    // A street whose number was then asked stays the guess it was.
    let kept =
        b.call.data.unsure && matches!(b.call.data.query, Some(AddressQuery::Numbered { .. }));
    match found {
        GeoResult::Found(place) => read_back(b, place, low_confidence || kept),
        GeoResult::Guess(place) => read_back(b, place, true),
        GeoResult::Choice { first, second } => {
            b.call.data.candidates = vec![first, second];
            b.goto(Step::ChooseAddress)
        }
        GeoResult::TownOnly(town) => {
            b.call.data.town = Some(town);
            b.goto(Step::AskStreet)
        }
        GeoResult::NotFound | GeoResult::Failed => address_not_found(b),
    }
}

/// A place found for a spoken address, on its way to the read-back: without
/// a house number (not heard, or lost by the recogniser) or with one in doubt,
/// the number is asked first; "sem número" is read back only when said. A
/// place from a CEP, a town's street or an asked number has its number.
pub(super) fn read_back(mut b: Builder<'_>, place: Place, unsure: bool) -> Transition {
    let spoken = matches!(b.call.data.query, Some(AddressQuery::Spoken { .. }));
    let doubtful =
        b.call.data.number_in_doubt && matches!(place.number, Some(HouseNumber::Given(_)));
    let ask = spoken && (place.number.is_none() || doubtful);
    b.call.data.place = Some(place);
    b.call.data.unsure = unsure;
    if ask {
        b.goto(Step::AskStreetNumber)
    } else {
        b.goto(Step::ConfirmAddress)
    }
}

fn address_not_found(mut b: Builder<'_>) -> Transition {
    if let Some(AddressQuery::Numbered { mut place, number }) = b.call.data.query.clone() {
        // The street is known: the number asked is read back at the
        // street's position rather than the address asked again.
        place.number = Some(number);
        let unsure = b.call.data.unsure;
        return read_back(b, place, unsure);
    }
    let town = b.call.data.town.is_some();
    if b.call.data.installation {
        b.call.data.installation = false;
        b.call.data.place = None;
    }
    b.call.data.candidates.clear();
    b.call.data.unsure = false;
    if town {
        // The street said for a known town was not found: ask the street again.
        b.call.step = Step::AskStreet;
        return b.failed("address.street_not_found");
    }
    b.call.step = Step::AskAddress;
    b.call.data.query = None;
    b.call.data.cep = None;
    // Not found twice: the link by SMS, where the caller marks the house.
    if b.call.data.address_attempts >= 2 && location::offer_now(&b) {
        let b = b.say(Line::new("address.not_found"));
        return location::offer(b, Step::AskAddress);
    }
    b.failed("address.not_found")
}
