//! A link's position whose call hung up first (issue 26): the caller marked
//! the house themselves, so the position is taken as confirmed and the
//! reservation starts from it, through the engine's one commit (the ledger's
//! UNIQUE client code and the session's `seq` fence keep it to one); the
//! outcome goes by SMS as for any call that hung up while held.
//!
//! A call still on the line is left alone: it polls while it waits (a short
//! `<Gather>` every few seconds) and reads the address back itself. Only a
//! call the platform told ended, or one no poll came for in
//! [`HUNG_UP_AFTER`], is advanced here; a live call that polls later finds
//! its session moved to the reservation and hears the hold, then the outcome.
//!
//! The task is in memory: a restart while it waits would lose it. So a sweep
//! ([`sweep_positions`], at start and every [`SWEEP_EVERY`]) reads the
//! positions stored in the last hours from the database and does the same for
//! any session still waiting whose call is gone: the position is durable, and
//! so is what follows from it.

use super::AppState;
use crate::engine::{Advanced, Answer, Base, Commit, Committed, Policy, Wait};
use crate::location::Taken;
use crate::store::now_ms;
use actix_web::web;
use ivr_core::flow::{Effect, Event, Step};
use ivr_core::render::Dialect;
use std::sync::Arc;
use std::time::Duration;

/// A waiting call answers a `<Gather>` of 5 s and a pause at most this often
/// several times over: no request for this long and the call is gone.
const HUNG_UP_AFTER: Duration = Duration::from_secs(20);
/// Commits lost to a concurrent request before giving up (each reloads).
const MAX_CONFLICTS: u32 = 3;
/// How often the stored positions are swept (see the module docs).
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// How far back the sweep looks: past a link's longest life (240 min).
const SWEEP_BACK_MS: i64 = 5 * 3_600_000;

/// Sets the links' hook: each position taken on this instance is looked at
/// in a task of its own (the page's POST is answered at once).
pub(crate) fn watch_positions(state: &web::Data<AppState>) {
    let weak = Arc::downgrade(&state.clone().into_inner());
    state.location.on_position(Arc::new(move |taken: &Taken| {
        let Some(state) = weak.upgrade() else {
            return;
        };
        let taken = taken.clone();
        tokio::spawn(async move {
            if let Err(e) = after_position(&state, &taken).await {
                tracing::warn!(error = %e, "a link's position could not start the reservation");
            }
        });
    }));
}

/// Reserves for every session a stored position is waiting on whose call is
/// gone (ended, or quiet for [`HUNG_UP_AFTER`]); a live call is left to read
/// its position back itself. Returns how many reservations it wrote.
pub(crate) async fn sweep_positions(state: &Arc<AppState>) -> anyhow::Result<usize> {
    let now = now_ms();
    let grace = i64::try_from(HUNG_UP_AFTER.as_millis()).unwrap_or(i64::MAX);
    let mut written = 0;
    for key in state
        .store()
        .sessions_with_positions(now.saturating_sub(SWEEP_BACK_MS))
        .await?
    {
        let Some(stored) = state.store().load_call(&key).await? else {
            continue;
        };
        if !matches!(stored.call.step, Step::AwaitingLocation { .. }) {
            continue;
        }
        let quiet = now.saturating_sub(stored.updated_at);
        if quiet < grace && !state.store().call_ended(&key).await? {
            continue;
        }
        let Some(position) = state.store().location_position(&key).await? else {
            continue;
        };
        let taken = Taken {
            session_key: key.clone(),
            position,
        };
        if reserve(state, &key, &stored, &taken, now).await? == Committed::Moved {
            written += 1;
        }
    }
    Ok(written)
}

/// Runs [`sweep_positions`] at start and every [`SWEEP_EVERY`] until
/// `shutdown`.
pub(crate) async fn run_sweep(
    state: web::Data<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let state = state.into_inner();
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        match sweep_positions(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                n,
                "stored positions of calls that hung up: reservations written"
            ),
            Err(e) => tracing::warn!(error = %e, "the stored positions could not be swept"),
        }
    }
}

/// Waits until the session's call is gone (or moved on), then reserves.
async fn after_position(state: &Arc<AppState>, taken: &Taken) -> anyhow::Result<()> {
    let key = taken.session_key.as_str();
    let grace = i64::try_from(HUNG_UP_AFTER.as_millis()).unwrap_or(i64::MAX);
    let mut conflicts = 0;
    loop {
        let Some(stored) = state.store().load_call(key).await? else {
            return Ok(());
        };
        // Moved on: a live call read the position back, or the caller chose
        // to say the address.
        let Step::AwaitingLocation { until_ms, .. } = stored.call.step else {
            return Ok(());
        };
        let now = now_ms();
        let quiet = now.saturating_sub(stored.updated_at);
        if !state.store().call_ended(key).await? && quiet < grace {
            // Past the wait, a live call goes back to the address itself.
            if now
                > i64::try_from(until_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_add(grace)
            {
                return Ok(());
            }
            let left = u64::try_from(grace - quiet).unwrap_or(0) + 100;
            tokio::time::sleep(Duration::from_millis(left)).await;
            continue;
        }
        match reserve(state, key, &stored, taken, now).await? {
            Committed::Conflict if conflicts < MAX_CONFLICTS => conflicts += 1,
            _ => return Ok(()),
        }
    }
}

/// The position read back and confirmed in one write, with the ledger row.
async fn reserve(
    state: &Arc<AppState>,
    key: &str,
    stored: &crate::store::StoredCall,
    taken: &Taken,
    now: i64,
) -> anyhow::Result<Committed> {
    let engine = &state.engine;
    let policy = Policy {
        flow: &state.cfg.call.flow,
        wait: Wait::Done,
    };
    let located = Event::Poll(crate::engine::located(taken.position.clone()));
    let Advanced { t, .. } = engine
        .advance(key, &stored.call, located, now, policy)
        .await;
    if t.call.step != Step::ConfirmAddress {
        return Ok(Committed::Moved);
    }
    let yes = Event::Answer {
        digits: Some("1".into()),
        speech: None,
        confidence: None,
    };
    let Advanced { t, .. } = engine.advance(key, &t.call, yes, now, policy).await;
    let Some(Effect::Reserve(request)) = &t.effect else {
        return Ok(Committed::Moved);
    };
    // Kept for a request at the old step (none is expected: the call is gone).
    let body = state
        .render_ctx()
        .render_in(Dialect::Twiml, &t.reply, stored.seq + 1, None);
    let commit = Commit {
        key,
        base: Base::Seq(stored.seq),
        call: &t.call,
        reserve: Some(request),
        outcome: None,
        answer: Answer::Document(&body),
    };
    let done = engine.commit(commit, now).await?;
    if done == Committed::Moved {
        tracing::info!("a link's position after the call: reservation written");
        state.webhooks.moved(&stored.steps, &t.call, None);
        state
            .webhooks
            .address_settled(t.call.data.address_attempts, true);
    }
    Ok(done)
}
