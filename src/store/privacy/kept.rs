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
