//! The time from the caller's confirmation of the address to the answer that
//! speaks the outcome, read from the TwiML executor's events of one call.

use crate::caller::CallEvent;
use std::time::Instant;

/// Times one call from its confirmation to the outcome, from the caller's events.
#[derive(Default)]
pub(super) struct OutcomeClock {
    answers: usize,
    confirmed: Option<Instant>,
    outcome: Option<Instant>,
    pause_s: u32,
}

impl OutcomeClock {
    pub(super) fn see(&mut self, e: &CallEvent, confirmation: usize) {
        match e {
            CallEvent::Answered(_) => {
                self.answers += 1;
                if self.answers == confirmation {
                    self.confirmed = Some(Instant::now());
                }
            }
            CallEvent::Pause(s) if self.confirmed.is_some() && self.outcome.is_none() => {
                self.pause_s += s;
            }
            CallEvent::Hangup | CallEvent::Dial(_)
                if self.confirmed.is_some() && self.outcome.is_none() =>
            {
                self.outcome = Some(Instant::now());
            }
            _ => {}
        }
    }

    pub(super) fn took(&self) -> Option<(f64, u32)> {
        let (a, b) = (self.confirmed?, self.outcome?);
        Some((b.duration_since(a).as_secs_f64(), self.pause_s))
    }
}
