//! The numbers of the console and of `GET /admin/funnel`, from the calls'
//! traces ([`CallTrace`]), pure so that the page, the JSON and the metrics
//! count alike.
//!
//! - **reserved / existing / not_viable**: what the caller was told about the
//!   reservation (a new port, the one they had, no coverage).
//! - **transferred**: the call reached a person (`<Dial>`), whatever came before.
//! - **abandoned**: the call is over without a reservation asked for and without
//!   a person: the caller hung up, or stopped answering, at a question. It is
//!   counted at that question (the step "abandoned there"). A call is over when
//!   the flow ended it, when the platform's status callback said so, or after
//!   [`IDLE_MS`] without a webhook.
//! - **containment**: the calls that ended with a port (new or existing) and no
//!   person, over all calls.

use crate::store::{CallOutcome, CallTrace};
use ivr_core::flow::Step;
use serde::Serialize;
use std::collections::BTreeMap;

/// A call with no webhook for this long is over (the caller hung up).
pub(crate) const IDLE_MS: i64 = 15 * 60 * 1000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct StepCount {
    /// Calls that reached the step.
    pub reached: u64,
    /// Calls abandoned at it.
    pub abandoned: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Funnel {
    pub calls: u64,
    pub reserved: u64,
    pub existing: u64,
    pub not_viable: u64,
    /// The ledger gave up on the reservation (a dead letter).
    pub failed: u64,
    pub transferred: u64,
    pub abandoned: u64,
    /// Calls with a port (new or existing) and no person.
    pub contained: u64,
    /// By step name, every step of the flow listed.
    pub steps: BTreeMap<&'static str, StepCount>,
    /// Confirmed places by how they were given (`speech`, `cep`,
    /// `directory`, `link`, `chat`).
    pub places: BTreeMap<&'static str, u64>,
}

/// Whether the call is over at `now`.
pub(crate) fn is_over(t: &CallTrace, now: i64) -> bool {
    matches!(t.step.as_deref(), Some("finished" | "transferred"))
        || t.ended_at.is_some()
        || now - t.updated_at >= IDLE_MS
}

/// The step a call was abandoned at, when it was.
pub(crate) fn abandoned_at(t: &CallTrace, now: i64) -> Option<&str> {
    let asked = t.reached("reserving") || t.outcome.is_some();
    if asked || t.reached("transferred") || !is_over(t, now) {
        return None;
    }
    Some(
        t.last_question
            .as_deref()
            .or(t.step.as_deref())
            .unwrap_or("ask_code"),
    )
}

impl Funnel {
    pub(crate) fn of(traces: &[CallTrace], now: i64) -> Funnel {
        let mut f = Funnel {
            steps: Step::NAMES
                .iter()
                .map(|s| (*s, StepCount::default()))
                .collect(),
            ..Funnel::default()
        };
        for t in traces {
            f.calls += 1;
            for s in &t.steps {
                if let Some(c) = f.steps.get_mut(s.as_str()) {
                    c.reached += 1;
                }
            }
            let transferred = t.reached("transferred");
            match t.outcome {
                Some(CallOutcome::Reserved) => f.reserved += 1,
                Some(CallOutcome::Existing) => f.existing += 1,
                Some(CallOutcome::NotViable) => f.not_viable += 1,
                Some(CallOutcome::Failed) => f.failed += 1,
                None => {}
            }
            if matches!(
                t.outcome,
                Some(CallOutcome::Reserved | CallOutcome::Existing)
            ) && !transferred
            {
                f.contained += 1;
            }
            if transferred {
                f.transferred += 1;
            }
            if let Some(source) = t.place_source {
                *f.places.entry(source.name()).or_default() += 1;
            }
            if let Some(step) = abandoned_at(t, now) {
                f.abandoned += 1;
                if let Some(c) = f.steps.get_mut(step) {
                    c.abandoned += 1;
                }
            }
        }
        f
    }

    /// Contained calls over all calls; 0 with no call.
    pub(crate) fn containment(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.contained as f64 / self.calls as f64
        }
    }

    /// The steps that any call reached, in the flow's order.
    pub(crate) fn reached_steps(&self) -> Vec<(&'static str, StepCount)> {
        Step::NAMES
            .iter()
            .filter_map(|s| self.steps.get(s).map(|c| (*s, *c)))
            .filter(|(_, c)| c.reached > 0)
            .collect()
    }

    /// The JSON of `GET /admin/funnel`.
    pub(crate) fn json(&self, since_ms: i64) -> serde_json::Value {
        serde_json::json!({
            "since_ms": since_ms,
            "calls": self.calls,
            "reserved": self.reserved,
            "existing": self.existing,
            "not_viable": self.not_viable,
            "failed": self.failed,
            "transferred": self.transferred,
            "abandoned": self.abandoned,
            "containment": self.containment(),
            "steps": self.steps,
            "places": self.places,
        })
    }
}

/// Calls per local hour (0–23).
pub(crate) fn per_hour(traces: &[CallTrace], hour_of: impl Fn(i64) -> usize) -> [u64; 24] {
    let mut hours = [0u64; 24];
    for t in traces {
        if let Some(h) = hours.get_mut(hour_of(t.created_at)) {
            *h += 1;
        }
    }
    hours
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(steps: &[&str], outcome: Option<CallOutcome>, updated_at: i64) -> CallTrace {
        let step = steps.last().map(|s| s.to_string());
        CallTrace {
            call_sid: "CA1".into(),
            steps: steps.iter().map(|s| s.to_string()).collect(),
            last_question: steps
                .iter()
                .rev()
                .find(|s| !matches!(**s, "finished" | "transferred"))
                .map(|s| s.to_string()),
            step,
            outcome,
            created_at: 0,
            updated_at,
            ended_at: None,
            call: None,
            place_source: None,
        }
    }

    #[test]
    fn places_are_counted_by_how_they_were_given() {
        let mut by_link = trace(&["ask_code", "awaiting_location", "reserving"], None, 0);
        by_link.place_source = Some(ivr_core::flow::PlaceSource::Link);
        let mut by_cep = trace(&["ask_code", "reserving"], None, 0);
        by_cep.place_source = Some(ivr_core::flow::PlaceSource::Cep);
        let none = trace(&["ask_code"], None, 0);
        let f = Funnel::of(&[by_link.clone(), by_link, by_cep, none], 0);
        assert_eq!(f.places.get("link"), Some(&2));
        assert_eq!(f.places.get("cep"), Some(&1));
        assert_eq!(f.places.len(), 2);
        assert_eq!(f.json(0)["places"]["link"], 2);
    }

    #[test]
    fn a_reserved_call_a_silent_caller_and_a_transfer() {
        let now = 1_000;
        let traces = [
            trace(
                &[
                    "ask_code",
                    "confirm_code",
                    "ask_name",
                    "ask_address",
                    "confirm_address",
                    "reserving",
                    "finished",
                ],
                Some(CallOutcome::Reserved),
                now,
            ),
            trace(&["ask_code", "finished"], None, now),
            trace(&["ask_code", "transferred"], None, now),
            // still on the line: neither abandoned nor anything else
            trace(&["ask_code", "confirm_code"], None, now),
        ];
        let f = Funnel::of(&traces, now);
        assert_eq!(
            (f.calls, f.reserved, f.transferred, f.abandoned, f.contained),
            (4, 1, 1, 1, 1)
        );
        assert_eq!(
            f.steps["ask_code"],
            StepCount {
                reached: 4,
                abandoned: 1
            }
        );
        assert_eq!(f.steps["reserving"].reached, 1);
        assert_eq!(f.containment(), 0.25);
        // an hour later, the quiet call is over too, abandoned where it stood
        let later = Funnel::of(&traces, now + IDLE_MS);
        assert_eq!(later.abandoned, 2);
        assert_eq!(later.steps["confirm_code"].abandoned, 1);
        let json = f.json(0);
        assert_eq!(json["steps"]["ask_code"]["reached"], 4);
        assert_eq!(json["transferred"], 1);
    }

    #[test]
    fn every_step_is_in_the_funnel_by_its_stored_name() {
        let every = [
            Step::AskCode,
            Step::ConfirmCode,
            Step::LookingUpClient { since_ms: 0 },
            Step::ConfirmInstallation,
            Step::AskName,
            Step::AskAddress,
            Step::AskNumber,
            Step::AskStreetNumber,
            Step::Geocoding { since_ms: 0 },
            Step::ChooseAddress,
            Step::AskStreet,
            Step::ConfirmAddress,
            Step::OfferLink,
            Step::AwaitingLocation {
                since_ms: 0,
                until_ms: 1,
            },
            Step::Reserving { since_ms: 0 },
            Step::FindingSlots {
                since_ms: 0,
                after: None,
            },
            Step::ChooseVisit,
            Step::BookingVisit {
                since_ms: 0,
                slot: ivr_core::agenda::Slot::parse("2026-12-10/morning").unwrap(),
            },
            Step::OfferAgent,
            Step::Transferred,
            Step::Finished,
        ];
        assert_eq!(every.len(), Step::NAMES.len());
        for (step, name) in every.iter().zip(Step::NAMES) {
            assert_eq!(step.name(), name);
            assert_eq!(serde_json::to_value(step).unwrap()["step"], name);
        }
        assert_eq!(Funnel::of(&[], 0).steps.len(), Step::NAMES.len());
    }

    #[test]
    fn no_call_is_no_containment_and_hours_are_counted_locally() {
        let f = Funnel::of(&[], 0);
        assert_eq!(f.containment(), 0.0);
        assert!(f.reached_steps().is_empty());
        let t = trace(&["ask_code"], None, 0);
        let hours = per_hour(&[t.clone(), t], |_| 23);
        assert_eq!(hours[23], 2);
        // a bad hour is not counted, and nothing panics
        assert_eq!(per_hour(&[trace(&[], None, 0)], |_| 99), [0; 24]);
    }
}
