//! The outcome in writing: an SMS to the caller with the protocol and what came
//! of the request (Anatel, Resolução 765/2023 art. 9: the protocol is also sent
//! electronically).
//!
//! How a message is made and sent, and why it goes out once:
//! - The worker, when it records a ledger row's final outcome (reserved, an
//!   existing reservation, no coverage, or given up), writes the message in the
//!   same transaction ([`Outbox`] composes it from the `[sms]` prompts; the store
//!   writes it with `settle_reservation`). One row per outcome
//!   (`UNIQUE (reservation_id, kind)`), so a crash after the reservation and
//!   before the SMS still sends it once, after the restart. This covers the
//!   deferred outcome too: a caller told "the request is kept" gets the SMS when
//!   the worker finally reserves or gives up.
//! - The [`Sender`] claims due rows as leased jobs (the claim loop of
//!   [`crate::outbox`], the worker's), sends through the configured [`Provider`], and records
//!   the provider's message id; 5xx, 429, timeouts and connection errors are
//!   retried with backoff and jitter, any other 4xx is a dead letter for
//!   operators (`ozmap-ivr messages`, `GET /admin/messages`, which show the
//!   WhatsApp replies too, by channel). It never runs in a
//!   webhook: nothing about an SMS can delay or break a call.
//! - The one window left: a sender killed inside the provider's HTTP request,
//!   after the provider accepted the message and before `sent` is stored, sends
//!   it again after the lease (messaging APIs take no idempotency key). The
//!   window is one request; the shutdown grace lets a request in hand finish.
//! - Only a mobile number in E.164 gets a message ([`phone::mobile_number`]):
//!   `anonymous`, SIP URIs, landlines and Twilio's placeholders get none, and no
//!   error.

mod phone;
mod provider;
mod sender;
#[cfg(test)]
mod tests;

pub(crate) use phone::mobile_number;
pub(crate) use provider::{Provider, ProviderSettings, SendError};
pub(crate) use sender::{Sender, SenderSettings};

use crate::store::NewMessage;
use crate::visits::VisitTexts;
use ivr_core::domain::{ReservationOutcome, ReservationRequest, ReservedPort};
use ivr_core::flow::{Arg, Line};
use ivr_core::prompts::Prompts;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How SMS are sent: the provider and one request's timeout.
#[derive(Clone, Debug)]
pub(crate) struct SmsSettings {
    pub provider: ProviderSettings,
    pub timeout: Duration,
}

impl SmsSettings {
    /// The provider to send with; `None` when SMS are off (`SMS_PROVIDER=none`).
    pub(crate) fn provider(&self) -> anyhow::Result<Option<Provider>> {
        Provider::build(&self.provider, self.timeout)
    }
}

/// The message kinds: one per outcome of a ledger row.
pub(crate) const KIND_RESERVED: &str = "reserved";
pub(crate) const KIND_EXISTING: &str = "existing";
pub(crate) const KIND_NOT_VIABLE: &str = "not_viable";
pub(crate) const KIND_FAILED: &str = "failed";
/// The reservation was released (its port freed after `IVR_RESERVATION_DAYS`,
/// or at an operator's word).
pub(crate) const KIND_RELEASED: &str = "released";

/// What the worker writes with an outcome: the message for the caller (from
/// the `[sms]` prompts), and a nudge to the sender once it is committed.
#[derive(Clone)]
pub(crate) struct Outbox {
    prompts: Arc<Prompts>,
    wake: Arc<Notify>,
    /// With visits offered (`SCHEDULE`): how long a reservation's outcome
    /// waits for the caller's choice (see [`VisitTexts`]).
    visit_hold: Option<Duration>,
}

impl Outbox {
    pub(crate) fn new(prompts: Prompts, wake: Arc<Notify>) -> Self {
        Self {
            prompts: Arc::new(prompts),
            wake,
            visit_hold: None,
        }
    }

    /// A reservation's outcome (reserved, existing) is written held for
    /// `hold`, saying how to book a visit, until the call books one.
    pub(crate) fn with_visit_hold(mut self, hold: Option<Duration>) -> Self {
        self.visit_hold = hold;
        self
    }

    /// The message telling the caller of `request` its outcome; `None` when
    /// their number takes no SMS.
    pub(crate) fn outcome(
        &self,
        request: &ReservationRequest,
        outcome: &ReservationOutcome,
    ) -> Option<NewMessage> {
        // The box by its name, or not at all (never its id: `BoxName`).
        let with_port = |kind, key, p: &ReservedPort| {
            let line = Line::port(key, p.box_name.as_ref(), p.port, |n| {
                Arg::Digits(n.to_string())
            });
            (kind, line)
        };
        if let (Some(hold), ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) =
            (self.visit_hold, outcome)
        {
            let (kind, key) = match outcome {
                ReservationOutcome::Existing(_) => (KIND_EXISTING, "sms.existing_visit"),
                _ => (KIND_RESERVED, "sms.reserved_visit"),
            };
            let (kind, line) = with_port(kind, key, p);
            let mut m = self.compose(request, kind, line)?;
            let how = VisitTexts::new(self.prompts.clone()).how();
            m.body = format!("{} {how}", m.body);
            m.hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
            return Some(m);
        }
        let (kind, line) = match outcome {
            ReservationOutcome::Reserved(p) => with_port(KIND_RESERVED, "sms.reserved", p),
            ReservationOutcome::Existing(p) => with_port(KIND_EXISTING, "sms.existing", p),
            ReservationOutcome::NotViable => (KIND_NOT_VIABLE, Line::new("sms.not_viable")),
        };
        self.compose(request, kind, line)
    }

    /// The message for a request given up on (a dead letter): it is kept, and
    /// the team will call back.
    pub(crate) fn failure(&self, request: &ReservationRequest) -> Option<NewMessage> {
        self.compose(request, KIND_FAILED, Line::new("sms.failed"))
    }

    /// The message telling the client that the reservation was released.
    pub(crate) fn released(&self, request: &ReservationRequest) -> Option<NewMessage> {
        self.compose(request, KIND_RELEASED, Line::new("sms.released"))
    }

    /// The sender has a new message to send.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    fn compose(
        &self,
        request: &ReservationRequest,
        kind: &'static str,
        line: Line,
    ) -> Option<NewMessage> {
        let phone = mobile_number(request.phone.as_deref()?)?;
        let protocol = request.protocol.clone().unwrap_or_default();
        let body = self
            .prompts
            .text(&line.arg("protocol", Arg::Digits(protocol)));
        Some(NewMessage {
            kind,
            phone,
            body,
            hold_ms: 0,
        })
    }
}
