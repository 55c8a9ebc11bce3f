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

use super::{AppState, Hook};
use crate::engine::{Advanced, Answer, Base, Commit, Committed};
use crate::store::{StoredCall, now_ms};
use ivr_core::flow::{Call, Event, Progress, Step};
use ivr_core::render::Dialect;
use std::sync::Arc;
use tokio::time::Instant;

/// A poll at the stored `seq` of a call no longer on hold: a copy of the
/// confirmation (a platform retry) got the hold while the first one waited and
/// stored the outcome in its place. The poll hears that outcome.
pub(super) fn answered_in_place(hook: Hook, stored: &StoredCall) -> bool {
    hook == Hook::Poll
        && stored.last_reply.is_some()
        && !matches!(
            stored.call.step,
            Step::Reserving { .. }
                | Step::Geocoding { .. }
                | Step::LookingUpClient { .. }
                | Step::FindingSlots { .. }
                | Step::BookingVisit { .. }
        )
}

/// The outcome's answer when the reservation settles before `deadline`, stored
/// in place of the hold at `seq`; `None`: answer the hold.
pub(super) async fn outcome_within(
    state: &Arc<AppState>,
    dialect: Dialect,
    call_sid: &str,
    seq: i64,
    call: &Call,
    deadline: Instant,
) -> Option<String> {
    let waited = Instant::now();
    let engine = &state.engine;
    let found = match engine.settled(call_sid, call, deadline).await {
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
    let never = |_| {};
    let Advanced { t, told: outcome } = engine
        .advance(
            call_sid,
            call,
            Event::Poll(Progress::Reservation(found)),
            now,
            state.voice_policy(&never),
        )
        .await;
    let body = state.render_ctx().render_in(dialect, &t.reply, seq, None);
    let commit = Commit {
        key: call_sid,
        base: Base::InPlace(seq),
        call: &t.call,
        reserve: None,
        outcome,
        answer: Answer::Document(&body),
    };
    match engine.commit(commit, now).await {
        Ok(Committed::Moved) => {
            // The console's counters: the step the call came to, and the outcome.
            let before = format!(",{},", call.step.name());
            state.webhooks.moved(&before, &t.call, outcome);
            tracing::info!(
                waited_ms = waited.elapsed().as_millis() as u64,
                "reservation settled within the step budget: outcome without a hold"
            );
            Some(body)
        }
        Ok(_) => {
            tracing::info!("the call moved while waiting for the reservation: hold");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot store the outcome answer: hold");
            None
        }
    }
}
