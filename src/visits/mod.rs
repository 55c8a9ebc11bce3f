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

mod builtin;
pub(crate) mod erp;
pub(crate) mod erp_job;
#[cfg(test)]
mod erp_job_tests;
mod erp_offer;
#[cfg(test)]
mod erp_tests;
#[cfg(test)]
mod example_tests;
#[cfg(test)]
mod fakes;
pub(crate) mod http;
pub(crate) mod ixc;
mod texts;

pub(crate) use texts::VisitTexts;

use crate::store::Store;
use erp::ErpAgenda;
use ivr_core::agenda::{AgendaRules, Day, Slot};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use url::Url;

/// Where the agenda comes from, as configured (`SCHEDULE`, see
/// `config::schedule`): plain data; [`Agenda::build`] makes the source.
#[derive(Clone, Debug)]
pub(crate) enum ScheduleSettings {
    /// No visit is offered.
    None,
    /// The service's own agenda.
    Builtin(AgendaRules),
    /// Our JSON contract (`docs/schedule.md`).
    Http {
        url: Url,
        token: Option<SecretString>,
        timeout: Duration,
        lead_days: u32,
        horizon_days: u32,
    },
    /// IXC Soft's service orders, counted per period against the rules'
    /// capacity (IXC keeps no capacity of its own).
    Ixc {
        url: Url,
        /// `user:token`, sent as HTTP Basic.
        token: SecretString,
        /// The orders' subject, department and branch.
        order: ixc::IxcOrder,
        timeout: Duration,
        rules: AgendaRules,
    },
}

/// The agenda's settings and how the outcome SMS waits for a visit.
#[derive(Clone, Debug)]
pub(crate) struct VisitSettings {
    pub source: ScheduleSettings,
    /// How long the outcome SMS of a reservation is held for the caller's
    /// choice (`SCHEDULE_SMS_HOLD_S`), so one message carries both.
    pub sms_hold: Duration,
}

impl VisitSettings {
    /// Whether the call offers a visit.
    pub(crate) fn offered(&self) -> bool {
        !matches!(self.source, ScheduleSettings::None)
    }

    /// How long one question to the agenda may take.
    pub(crate) fn timeout(&self) -> Duration {
        match &self.source {
            ScheduleSettings::Http { timeout, .. } | ScheduleSettings::Ixc { timeout, .. } => {
                *timeout
            }
            // The store: a read and a write, fast.
            ScheduleSettings::None | ScheduleSettings::Builtin(_) => Duration::from_secs(2),
        }
    }
}

/// What the session engine needs for the visit step.
#[derive(Clone, Debug)]
pub(crate) struct Visits {
    pub agenda: Agenda,
    /// The visit's sentences in the outcome SMS; `None` when SMS are off.
    pub texts: Option<VisitTexts>,
    /// Nudged when a booking for the ERP is written (its outbox sends it).
    pub wake_erp: Arc<Notify>,
}

/// The agenda the engine asks (built once at start from [`ScheduleSettings`]).
#[derive(Clone, Debug)]
pub(crate) enum Agenda {
    /// No visit offered.
    None,
    /// The service's own agenda: periods from the rules, capacity in the store.
    Builtin(AgendaRules),
    /// An ERP's agenda (`http`, `ixc`): its free periods, each recorded in the
    /// store with the capacity a booking here is held to (see `erp_offer`);
    /// a booking reaches the ERP through the visit's outbox columns.
    Erp {
        erp: Arc<ErpAgenda>,
        lead_days: u32,
        horizon_days: u32,
        /// The longest a question for free periods may take in all (IXC's
        /// may take several requests): the caller waits on it.
        timeout: Duration,
    },
}

impl Agenda {
    /// The agenda of `settings`.
    pub(crate) fn build(settings: &ScheduleSettings) -> anyhow::Result<Agenda> {
        Ok(match settings {
            ScheduleSettings::None => Agenda::None,
            ScheduleSettings::Builtin(rules) => Agenda::Builtin(rules.clone()),
            ScheduleSettings::Http {
                url,
                token,
                timeout,
                lead_days,
                horizon_days,
            } => Agenda::Erp {
                erp: Arc::new(ErpAgenda::Http(http::HttpAgenda::new(
                    url.clone(),
                    token.clone(),
                    *timeout,
                )?)),
                lead_days: *lead_days,
                horizon_days: *horizon_days,
                timeout: *timeout,
            },
            ScheduleSettings::Ixc {
                url,
                token,
                order,
                timeout,
                rules,
            } => Agenda::Erp {
                erp: Arc::new(ErpAgenda::Ixc(ixc::IxcAgenda::new(
                    url.clone(),
                    token.clone(),
                    *timeout,
                    rules.clone(),
                    order.clone(),
                )?)),
                lead_days: rules.lead_days,
                horizon_days: rules.horizon_days,
                timeout: *timeout,
            },
        })
    }

    /// The ERP behind the agenda, when there is one.
    pub(crate) fn erp(&self) -> Option<&Arc<ErpAgenda>> {
        match self {
            Agenda::Erp { erp, .. } => Some(erp),
            Agenda::None | Agenda::Builtin(_) => None,
        }
    }

    /// Whether a booking goes on to an ERP (through the visit's outbox).
    pub(crate) fn to_erp(&self) -> bool {
        self.erp().is_some()
    }

    /// The visits a period takes, booking against it; `None`: the capacity
    /// the store recorded for it when it was offered (an ERP's).
    pub(crate) fn capacity(&self, _slot: &Slot) -> Option<u32> {
        match self {
            Agenda::None => Some(0),
            Agenda::Builtin(rules) => Some(rules.per_period),
            Agenda::Erp { .. } => None,
        }
    }

    /// The first day and the last that can take a visit, seen from `today`.
    pub(crate) fn window(&self, today: Day) -> Option<(Day, Day)> {
        let (lead, horizon) = match self {
            Agenda::None => return None,
            Agenda::Builtin(rules) => (rules.lead_days, rules.horizon_days),
            Agenda::Erp {
                lead_days,
                horizon_days,
                ..
            } => (*lead_days, *horizon_days),
        };
        Some((
            today.plus(i64::from(lead)),
            today.plus(i64::from(horizon.max(lead))),
        ))
    }

    /// The periods with room for a visit for `query`, in order, seen from
    /// `today` (the agents' local date).
    pub(crate) async fn free_slots(
        &self,
        store: &Store,
        query: &SlotQuery,
        today: Day,
    ) -> Result<Vec<Slot>, AgendaError> {
        match self {
            Agenda::None => Ok(Vec::new()),
            Agenda::Builtin(rules) => builtin::free_slots(rules, store, query, today).await,
            // Bounded in all, not only each request: the offer is asked
            // within the caller's webhook.
            Agenda::Erp { erp, timeout, .. } => {
                tokio::time::timeout(*timeout, erp_offer::free_slots(erp, store, query))
                    .await
                    .unwrap_or_else(|_| {
                        Err(AgendaError::Unavailable(format!(
                            "free periods: no answer within {} ms",
                            timeout.as_millis()
                        )))
                    })
            }
        }
    }
}

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
