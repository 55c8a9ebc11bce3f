//! How long a webhook waits for its work before it holds the caller (see
//! `stall`): the store's budget, moved later while the work waits on an
//! outside service within the step budget (the directory, the geocoder, the
//! reservation). A leaf: `stall` keeps it, `steps` and the engine move it.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// When the webhook stops waiting for its work; moved later while the work
/// waits on an outside service within the step budget.
#[derive(Clone)]
pub(crate) struct Deadline {
    at: Arc<Mutex<Instant>>,
    store_budget: Duration,
}

impl Deadline {
    pub(super) fn new(store_budget: Duration) -> Self {
        Self {
            at: Arc::new(Mutex::new(Instant::now() + store_budget)),
            store_budget,
        }
    }

    /// The work is about to wait up to `budget` on an outside service: the
    /// webhook waits that long, and the store's budget again after it.
    pub(crate) fn allow(&self, budget: Duration) {
        if let Ok(mut at) = self.at.lock() {
            *at = (*at).max(Instant::now() + budget + self.store_budget);
        }
    }

    pub(super) fn get(&self) -> Instant {
        self.at
            .lock()
            .map(|at| *at)
            .unwrap_or_else(|_| Instant::now())
    }
}
