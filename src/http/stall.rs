//! A slow database never holds a webhook past `IVR_STORE_BUDGET_MS`.
//!
//! Why: a webhook reads the call, moves it and writes it before it answers, so
//! that the caller never hears the next question before the answer is durable.
//! When the database stalls (a PostgreSQL checkpoint, a pool queue, a SQLite
//! `fsync` of seconds on a shared disk) the platform used to wait with it, up to
//! its own 15 s limit, and then hang up on the caller.
//!
//! How: each webhook's work runs as a task of its own, which goes on whatever
//! the answer. The webhook waits for it up to the budget (plus the step budget
//! while it waits on an outside service within that budget: the geocoder, the
//! directory, the reservation). Past it, the caller hears "Só um momento" (the
//! first time only), a one-second pause, and the platform is sent to
//! `/voice/resume`; the unfinished work is kept here under the CallSid. The
//! resume waits for that same work (the same budget again) and answers what it
//! answered: the next question, said once the state is durable. Nothing is
//! answered twice and nothing is lost: the caller's digits or words are in the
//! work already, not in a URL.
//!
//! When the resume comes to an instance that has no such work (another
//! instance, or this one restarted), the call is taken up from the store as it
//! is: the current question is asked again (the answer was lost only if its
//! write was). After [`MAX_HOLDS`] holds in a row the caller hears the apology:
//! a database that slow is down.

use super::deadline::Deadline;
use super::steps;
use super::{AppState, Hook};
use crate::http::gate::Admitted;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use ivr_core::render::{Dialect, RenderCtx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// Holds in a row before the apology (about 12 s of holding with the pauses).
const MAX_HOLDS: u32 = 8;
/// The pause of each hold, in seconds.
const PAUSE_S: u32 = 1;
/// Unfinished works kept before the oldest are dropped (their calls, if they
/// come back, are taken up from the store).
const MAX_KEPT: usize = 10_000;
/// A work nobody came back for is dropped after this long.
const KEEP_FOR: Duration = Duration::from_secs(120);

/// What a webhook's work ends with: the answer, or why it failed (logged once,
/// by whoever answers).
type Work = Shared<BoxFuture<'static, Result<String, String>>>;

/// Works that outlived their webhook, by CallSid.
#[derive(Default)]
pub(crate) struct Stalls {
    kept: Mutex<HashMap<String, (Work, Instant)>>,
}

impl Stalls {
    fn keep(&self, call_sid: &str, work: Work) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        let now = Instant::now();
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, (_, at)| now.duration_since(*at) < KEEP_FOR);
        }
        if kept.len() < MAX_KEPT {
            kept.insert(call_sid.to_string(), (work, now));
        }
    }

    fn take(&self, call_sid: &str) -> Option<Work> {
        self.kept.lock().ok()?.remove(call_sid).map(|(w, _)| w)
    }
}

/// The answer to one admitted webhook, within the budget.
pub(super) async fn answer(state: &Arc<AppState>, hook: Hook, admitted: Admitted) -> String {
    let deadline = Deadline::new(state.cfg.call.store_budget);
    let holds = admitted.holds.unwrap_or(0);
    let dialect = admitted.dialect;
    let call_sid = admitted.call_sid.clone();
    let kept = if hook == Hook::Resume {
        state.stalls.take(&call_sid)
    } else {
        None
    };
    let work = match kept {
        Some(work) => work,
        None => {
            if hook == Hook::Resume {
                tracing::info!("resume with no work here: the call as stored");
            }
            let mut work = start(state, hook, admitted, deadline.clone());
            // Most answers need no wait at all (a greeting from memory): no task.
            if let Poll::Ready(result) = futures_util::poll!(&mut work) {
                return finish(state, dialect, result);
            }
            spawn(work)
        }
    };
    loop {
        let until = deadline.get();
        match tokio::time::timeout_at(until, work.clone()).await {
            Ok(result) => return finish(state, dialect, result),
            // The work waits on an outside service within its budget.
            Err(_) if deadline.get() > until => {}
            Err(_) => break,
        }
    }
    state.webhooks.held_for_store();
    state.stalls.keep(&call_sid, work);
    if hook == Hook::Status {
        // Nobody listens to a status callback's answer; its write goes on.
        tracing::warn!("the store is slow: status callback answered, its write goes on");
        return RenderCtx::empty_in(dialect);
    }
    if holds >= MAX_HOLDS {
        tracing::error!(
            holds,
            "the store is still slow after every hold; apologised to the caller"
        );
        state.webhooks.apologised();
        return state.render_ctx().apology_in(dialect, "error.apology");
    }
    tracing::warn!(
        budget_ms = state.cfg.call.store_budget.as_millis() as u64,
        holds = holds + 1,
        "the store is slow: the caller holds, the work goes on"
    );
    let key = (holds == 0).then_some("wait.moment");
    let route = match dialect {
        Dialect::Twiml => format!("{}?n={}", ivr_core::webhook::paths::RESUME, holds + 1),
        Dialect::Jambonz => ivr_core::jambonz::resume_route(holds + 1),
    };
    state.render_ctx().hold_in(dialect, key, PAUSE_S, &route)
}

/// The answer, or the apology when the work failed.
fn finish(state: &AppState, dialect: Dialect, result: Result<String, String>) -> String {
    match result {
        Ok(body) => body,
        Err(why) => {
            tracing::error!(error = %why, "webhook failed; apologised to the caller");
            state.webhooks.apologised();
            state.render_ctx().apology_in(dialect, "error.apology")
        }
    }
}

/// The webhook's work, in the webhook's span.
fn start(
    state: &Arc<AppState>,
    hook: Hook,
    admitted: Admitted,
    deadline: Deadline,
) -> BoxFuture<'static, Result<String, String>> {
    let state = state.clone();
    // A resume without work here takes the call up as stored (a `POST /voice`
    // of a call in progress asks its current question).
    let as_hook = if hook == Hook::Resume {
        Hook::Start
    } else {
        hook
    };
    async move {
        let req = steps::Request {
            hook: as_hook,
            dialect: admitted.dialect,
            call_sid: &admitted.call_sid,
            seq: admitted.seq,
            protocol: admitted.protocol.as_deref(),
            form: &admitted.form,
        };
        steps::handle(&state, req, &deadline)
            .await
            .map_err(|e| format!("{e:#}"))
    }
    .instrument(tracing::Span::current())
    .boxed()
}

/// The rest of the work as a task of its own, so that it finishes whether or
/// not the webhook waits for it.
fn spawn(work: BoxFuture<'static, Result<String, String>>) -> Work {
    let task = tokio::spawn(work);
    async move {
        match task.await {
            Ok(result) => result,
            // A panic inside: the message may hold caller data.
            Err(_) => Err("the webhook's work panicked (message withheld)".to_string()),
        }
    }
    .boxed()
    .shared()
}
