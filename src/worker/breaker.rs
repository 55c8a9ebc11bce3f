//! The circuit breaker in front of OZmap: after a run of transient failures the
//! worker stops claiming rows for a cool-down, then lets one trial through.

use std::time::{Duration, Instant};

/// Where the breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BreakerState {
    /// Rows are claimed as usual.
    Closed,
    /// OZmap failed too often in a row: nothing is claimed until `until`.
    Open { until: Instant },
    /// The cool-down is over: one attempt decides between closed and open.
    HalfOpen,
}

/// A consecutive-failure circuit breaker around OZmap.
///
/// Why: when OZmap is down, every due row would otherwise be claimed, fail and be
/// pushed back, one after the other, hammering a struggling OZmap and burning the
/// rows' attempts toward the dead letter. After `threshold` transient failures in a
/// row the breaker opens and the worker claims nothing for the cool-down; then one
/// trial attempt (half-open) closes it on success or opens it again on failure.
/// Time is passed in, so the breaker is a pure state machine.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    state: BreakerState,
}

impl Breaker {
    /// `threshold` 0: never opens.
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold,
            cooldown,
            failures: 0,
            state: BreakerState::Closed,
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        self.state
    }

    /// `Ok` when a row may be claimed at `now` (an open breaker whose cool-down is
    /// over turns half-open); otherwise how long to wait.
    pub(crate) fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => Ok(()),
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen;
                Ok(())
            }
            BreakerState::Open { until } => Err(until - now),
        }
    }

    /// OZmap answered: the breaker closes.
    pub(crate) fn on_success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
    }

    /// A transient failure at `now`. `true` when this opened the breaker.
    pub(crate) fn on_failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let open = match self.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => self.threshold > 0 && self.failures >= self.threshold,
            BreakerState::Open { .. } => false,
        };
        if open {
            self.state = BreakerState::Open {
                until: now + self.cooldown,
            };
        }
        open
    }
}
