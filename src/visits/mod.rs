#![allow(dead_code)] // Wired by the visit step (issue 25).
//! The technician's visit: where free periods come from and where a booking
//! goes (`SCHEDULE`).
//!
//! - `builtin`: the service's own agenda ([`ivr_core::agenda::AgendaRules`]):
//!   every period the rules open, with the capacity they give, booked in the
//!   store's `visits` (`store::visits` keeps each period's capacity).
//! - `http`: a JSON contract of ours in front of any ERP
//!   (`docs/schedule.md`): free periods near a point, a booking idempotent by
//!   the protocol.
//! - `ixc`: IXC Soft's service orders (`su_oss_chamado`) with their agenda
//!   date and period.
//! - `none`: no visit is offered; the team calls to schedule.
//!
//! With an ERP the booking is made in the store first (durable before the
//! caller hears it, the period's capacity held there) and reaches the ERP
//! through the outbox (the visit's `erp_*` columns), retried, idempotent by
//! the protocol, a dead letter for an operator on a refusal.

// The ERP agendas and their outbox: wired by the lead when SCHEDULE is http
// or ixc (issue 25).
#[allow(dead_code)]
pub(crate) mod erp;
#[allow(dead_code)]
pub(crate) mod erp_job;
#[cfg(test)]
mod erp_job_tests;
#[cfg(test)]
mod erp_tests;
#[cfg(test)]
mod example_tests;
#[cfg(test)]
mod fakes;
#[allow(dead_code)]
pub(crate) mod http;
#[allow(dead_code)]
pub(crate) mod ixc;

use ivr_core::agenda::{Day, Slot};

/// What a source is asked for: the free periods for an installation at a
/// point (and in a box, when known) between two days (both included).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SlotQuery {
    pub lat: f64,
    pub lng: f64,
    /// The OZmap box the port was reserved in (its id), when known.
    pub box_id: Option<String>,
    pub from: Day,
    pub to: Day,
}

/// A period with room, as a source sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FreeSlot {
    pub slot: Slot,
    /// Visits the period takes in all.
    pub capacity: u32,
    /// Visits it can still take.
    pub free: u32,
}

/// A visit as sent to an ERP: what its work order needs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VisitBooking {
    /// The request's protocol: the booking's idempotency key.
    pub protocol: String,
    pub client_code: String,
    pub client_name: String,
    /// The client's number in E.164, when known.
    pub phone: Option<String>,
    /// The installation address, as one line.
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    /// The box and port reserved, by name (never an id) when known.
    pub box_name: Option<String>,
    pub port: Option<i64>,
    pub slot: Slot,
    /// The ERP's reference from an earlier booking of this protocol (a move).
    pub erp_ref: Option<String>,
}

/// Why a source could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AgendaError {
    /// Worth retrying: a timeout, a lost connection, a 5xx or 429.
    #[error("schedule unavailable: {0}")]
    Unavailable(String),
    /// Refused (another 4xx, or an answer that cannot be read): not worth
    /// retrying; an operator must look.
    #[error("schedule refused: {0}")]
    Refused(String),
}

/// Where a booked visit stands in the ERP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ErpVisit {
    /// Still to be done.
    Open,
    /// The technician finished it: the client is installed.
    Done,
    /// Cancelled in the ERP.
    Cancelled,
}
