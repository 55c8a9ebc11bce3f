//! The visit's sentences in writing (the `[sms]` prompts), for the outcome
//! message the worker writes held and the booking that rewrites it (see
//! `store::visit_messages`).

use crate::store::VisitMessage;
use ivr_core::agenda::Slot;
use ivr_core::flow::{Arg, Line};
use ivr_core::prompts::Prompts;
use std::sync::Arc;

/// The visit's sentences in writing (`[sms]` prompts): how to book one (in
/// the held outcome message), the booked visit that replaces it, and the
/// message of its own when the outcome's had already gone.
#[derive(Clone)]
pub(crate) struct VisitTexts {
    prompts: Arc<Prompts>,
}

impl std::fmt::Debug for VisitTexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitTexts")
    }
}

impl VisitTexts {
    pub(crate) fn new(prompts: Arc<Prompts>) -> Self {
        Self { prompts }
    }

    pub(crate) fn how(&self) -> String {
        self.prompts.text(&Line::new("sms.visit_how"))
    }

    /// In place of [`VisitTexts::how`] when the caller was told the team
    /// will call (no period to offer, or the agenda could not be asked).
    pub(crate) fn team(&self) -> String {
        self.prompts.text(&Line::new("sms.visit_team"))
    }

    pub(crate) fn visit(&self, slot: Slot) -> String {
        self.prompts
            .text(&Line::new("sms.visit").arg("slot", Arg::Slot(slot)))
    }

    /// What a booked visit does to the reservation's messages.
    pub(crate) fn message(&self, protocol: &str, slot: Slot) -> VisitMessage {
        VisitMessage {
            how: self.how(),
            visit: self.visit(slot),
            separate: self.prompts.text(
                &Line::new("sms.visit_booked")
                    .arg("protocol", Arg::Digits(protocol.to_string()))
                    .arg("slot", Arg::Slot(slot)),
            ),
        }
    }
}
