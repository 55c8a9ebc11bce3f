//! What an erasure leaves of a call and of a ledger request: the protocol, the
//! counters, and the client code (the ISP's key of the contract).

use ivr_core::domain::{Place, ReservationRequest};
use ivr_core::flow::{Call, CallData, Step};

/// A call state with nothing of the caller: the step (ended, unless it was
/// handed to a person), the counters and the protocol.
pub(super) fn emptied(call: &Call) -> Call {
    Call {
        step: match call.step {
            Step::Transferred => Step::Transferred,
            _ => Step::Finished,
        },
        attempts: call.attempts,
        corrections: call.corrections,
        data: CallData {
            protocol: call.data.protocol.clone(),
            ..CallData::default()
        },
    }
}

/// A ledger request with nothing of the person but the client code (the
/// ISP's key of the contract) and the protocol.
pub(super) fn anonymised(req: &ReservationRequest) -> ReservationRequest {
    ReservationRequest {
        client_code: req.client_code.clone(),
        client_name: String::new(),
        place: Place {
            street: String::new(),
            number: None,
            complement: None,
            neighbourhood: None,
            city: String::new(),
            state: None,
            cep: None,
            lat: 0.0,
            lng: 0.0,
        },
        phone: None,
        protocol: req.protocol.clone(),
    }
}

/// The places a person's data names (to find cached geocoding answers).
pub(super) fn places_of(call: &Call) -> Vec<Place> {
    let mut v: Vec<Place> = call.data.place.iter().cloned().collect();
    v.extend(call.data.candidates.iter().cloned());
    v
}

/// Whether two places are the same street in the same city.
pub(super) fn same_place(a: &Place, b: &Place) -> bool {
    !a.street.is_empty()
        && a.street.eq_ignore_ascii_case(&b.street)
        && a.city.eq_ignore_ascii_case(&b.city)
}
