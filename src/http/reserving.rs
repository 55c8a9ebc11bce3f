//! The reservation behind the confirmation, waited on within the step budget.
//!
//! Why: OZmap usually answers in milliseconds, and a caller who has just said
//! "yes" should hear the box and port at once, not a hold message and a pause
//! followed by a poll. So once the confirmation and its ledger row are
//! committed, the webhook waits for the row's final state, as the geocoder is
//! waited on, for what is left of `IVR_STEP_BUDGET_MS`. The worker of this
//! instance tells the store when it settles a row (a notification, no polling);
//! a short poll of the row covers a row settled by another instance. When the
//! outcome comes in time, the stored answer (the hold) is replaced, at the same
//! `seq`, by the outcome, so a repeated confirmation hears the outcome too; past
//! the budget, or when OZmap has already failed once, the hold goes out as before.
//!
//! Nothing here can fail the webhook: the confirmation is already durable, so a
//! store error while waiting only means the caller hears the hold.

use super::steps::{moment, progress};
use super::{AppState, Hook};
use crate::store::{StoredCall, now_ms};
use ivr_core::flow::{self, Call, Event, Progress, ReservationProgress, Step};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often the ledger row is read while no notification comes (the row may be
/// another instance's worker's).
const POLL_EVERY: Duration = Duration::from_millis(100);

/// A poll at the stored `seq` of a call no longer on hold: a copy of the
/// confirmation (a platform retry) got the hold while the first one waited and
/// stored the outcome in its place. The poll hears that outcome.
pub(super) fn answered_in_place(hook: Hook, stored: &StoredCall) -> bool {
    hook == Hook::Poll
        && stored.last_reply.is_some()
        && !matches!(
            stored.call.step,
            Step::Reserving { .. } | Step::Geocoding { .. } | Step::LookingUpClient { .. }
        )
}

/// The outcome's answer when the reservation settles before `deadline`, stored
/// in place of the hold at `seq`; `None`: answer the hold.
pub(super) async fn outcome_within(
    state: &Arc<AppState>,
    call_sid: &str,
    seq: i64,
    call: &Call,
    deadline: Instant,
) -> Option<String> {
    let waited = Instant::now();
    let found = match settled_progress(state, call_sid, call, deadline).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            tracing::info!(
                waited_ms = waited.elapsed().as_millis() as u64,
                "reservation not settled within the step budget: hold"
            );
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the reservation while waiting: hold");
            return None;
        }
    };
    let now = now_ms();
    let event = Event::Poll(found);
    let outcome = super::steps::told_outcome(&event);
    let t = flow::advance_at(&state.cfg.call.flow, call, event, moment(state, now));
    let body = state.render_ctx().render(&t.reply, seq);
    match state
        .store
        .rewrite_call(call_sid, seq, &t.call, &body, outcome, now)
        .await
    {
        Ok(true) => {
            // The console's counters: the step the call came to, and the outcome.
            let before = format!(",{},", call.step.name());
            state.webhooks.moved(&before, &t.call, outcome);
            tracing::info!(
                waited_ms = waited.elapsed().as_millis() as u64,
                "reservation settled within the step budget: outcome without a hold"
            );
            Some(body)
        }
        Ok(false) => {
            tracing::info!("the call moved while waiting for the reservation: hold");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot store the outcome answer: hold");
            None
        }
    }
}

/// The row's final state (done or dead) once it has one, `None` at the deadline
/// or as soon as an attempt has failed (a retry waits for its backoff).
async fn settled_progress(
    state: &Arc<AppState>,
    call_sid: &str,
    call: &Call,
    deadline: Instant,
) -> anyhow::Result<Option<Progress>> {
    let settled = state.store.ledger_settled();
    loop {
        // Registered before the read, so a row settled right after it still wakes us.
        let notified = settled.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match progress(state, call_sid, call, now_ms()).await? {
            p @ Progress::Reservation(ReservationProgress::Done(_) | ReservationProgress::Dead) => {
                return Ok(Some(p));
            }
            Progress::Reservation(ReservationProgress::Waiting { failing: true }) => {
                return Ok(None);
            }
            _ => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(POLL_EVERY.min(left)) => {}
        }
    }
}
