//! The voice adapter on the session engine: one webhook's request found
//! against the stored call (greeting, retry, stale URL), turned into a flow
//! event, advanced and written once by the engine (with the ledger row, when
//! the caller confirmed), and answered as TwiML.
//!
//! A repeated request (same call, same `seq`) gets the same answer and does not
//! move the call twice: the last answer is stored with the state and replayed.

use super::AppState;
use super::deadline::Deadline;
use super::greeting;
use super::reserving;
use super::{Hook, SecurityCounters};
use crate::engine::{Advanced, Answer, Base, Commit, Committed};
use crate::store::{StoredCall, now_ms};
use ivr_core::flow::{self, Call, Effect, Event, Step};
use ivr_core::render::{Dialect, RenderCtx};
use ivr_core::webhook::Form;
use std::sync::Arc;

/// One webhook's request, as `stall` hands it over.
pub(super) struct Request<'a> {
    pub hook: Hook,
    /// The dialect the call's platform reads (and writes its form in, once
    /// its adapter has read the request into the TwiML names).
    pub dialect: Dialect,
    pub call_sid: &'a str,
    /// The step of the call the request answers (its URL's `seq`).
    pub seq: Option<i64>,
    /// The protocol the greeting's URLs carry (the greeting writes nothing).
    pub protocol: Option<&'a str>,
    pub form: &'a Form,
}

/// Where a request stands against the stored call (one per request: its size
/// does not matter).
#[allow(clippy::large_enum_variant)]
enum Found {
    /// Answered already (a greeting, a repeat, a stale URL, a status).
    Answered(String),
    /// A step to take: the call as stored (`fresh`: greeted, not stored yet).
    Step { stored: StoredCall, fresh: bool },
}

/// The body of the answer for one webhook.
pub(super) async fn handle(
    state: &Arc<AppState>,
    req: Request<'_>,
    deadline: &Deadline,
) -> anyhow::Result<String> {
    let started = tokio::time::Instant::now();
    let now = now_ms();
    if req.hook == Hook::Status {
        return status(state, &req, now).await;
    }
    match find(state, &req, now).await? {
        Found::Answered(body) => Ok(body),
        Found::Step { stored, fresh } => {
            step(state, &req, stored, fresh, deadline, started, now).await
        }
    }
}

/// `CallStatus` callback: stores a greeted call, ends a finished one.
async fn status(state: &Arc<AppState>, req: &Request<'_>, now: i64) -> anyhow::Result<String> {
    // Only the statuses TwiML defines are logged as given.
    let status = match req.form.get("CallStatus") {
        Some(
            s @ ("queued" | "ringing" | "in-progress" | "completed" | "busy" | "failed"
            | "no-answer" | "canceled"),
        ) => s,
        Some(_) => "other",
        None => "?",
    };
    tracing::info!(status, "call status");
    greeting::store_on_status(state, req.call_sid, now).await?;
    if matches!(
        status,
        "completed" | "busy" | "failed" | "no-answer" | "canceled"
    ) {
        // The console counts a call that ends at a question as abandoned there.
        state.store().end_call(req.call_sid, now).await?;
    }
    Ok(RenderCtx::empty_in(req.dialect))
}

/// The stored call the request is a step of, or the answer it gets without
/// one: the greeting of a new call, the same answer again for a platform's
/// retry, the current question again for a stale URL.
async fn find(state: &Arc<AppState>, req: &Request<'_>, now: i64) -> anyhow::Result<Found> {
    let (hook, call_sid, seq) = (req.hook, req.call_sid, req.seq);
    if hook == Hook::Start
        && let Some(body) = state.greetings.repeated(state, call_sid)
    {
        tracing::info!("repeated greeting: same answer again");
        return Ok(Found::Answered(body));
    }
    let from = req.form.get("From").unwrap_or("");
    // A platform's first request for a call (`CallStatus=ringing`) cannot be for
    // a stored call: a call is stored at its first answer or its status
    // callback, both of which come after the platform heard this request's
    // answer, and a platform retries only a request it got no answer to (a retry
    // on this instance is answered from memory above). So it is greeted without
    // reading the store, the greeting's costliest part.
    let first_request = hook == Hook::Start && req.form.get("CallStatus") == Some("ringing");
    let loaded = if first_request {
        None
    } else {
        state.store().load_call(call_sid).await?
    };
    // The first answer to a greeting (a Gather's answer or silence at `seq` 1)
    // stores the call as that answer leaves it, in one write (see `greeting`).
    let defer = matches!(hook, Hook::Answer | Hook::Silence) && seq == Some(1);
    let (stored, fresh) = match loaded {
        None if hook != Hook::Start => {
            match greeting::store_greeted(
                state,
                req.dialect,
                call_sid,
                seq,
                req.protocol,
                from,
                now,
                defer,
            )
            .await?
            {
                Some((s, fresh)) => (Some(s), fresh),
                None => (None, false),
            }
        }
        found => (found, false),
    };
    let Some(stored) = stored else {
        // A new call, or a step of a call this service does not know (its state
        // expired or another deployment started it): greet and start over.
        if hook != Hook::Start {
            tracing::info!("unknown call: starting over");
        }
        // A new call state: the caller's number must still have new calls left.
        if !state.limits.allow_new_call(from) {
            SecurityCounters::bump(&state.security.limited_calls);
            tracing::warn!(
                caller = %crate::redact::phone(from),
                "refused: too many new calls from this number"
            );
            return Ok(Found::Answered(
                state.render_ctx().apology_in(req.dialect, "error.busy"),
            ));
        }
        // Nothing stored: see `greeting`.
        return Ok(Found::Answered(
            greeting::greet(state, req.dialect, call_sid, from, now).await?,
        ));
    };
    if hook == Hook::Start {
        // The platform repeated the first request, or the caller was sent to the
        // start again: say the current question again, without moving.
        return Ok(Found::Answered(replay_or_resume(
            state,
            req.dialect,
            &stored,
            now,
        )));
    }
    let again = |body: &Option<String>| Found::Answered(body.clone().unwrap_or_default());
    Ok(match seq {
        Some(s) if s == stored.seq && reserving::answered_in_place(hook, &stored) => {
            tracing::info!("poll of a hold whose outcome came meanwhile: the outcome");
            again(&stored.last_reply)
        }
        Some(s) if s == stored.seq => Found::Step { stored, fresh },
        Some(s) if s == stored.seq - 1 && stored.last_reply.is_some() => {
            tracing::info!("repeated request: same answer again");
            again(&stored.last_reply)
        }
        _ => {
            tracing::info!("stale step URL: asking the current question again");
            Found::Answered(replay_or_resume(state, req.dialect, &stored, now))
        }
    })
}

/// The request as a flow event.
async fn event(
    state: &Arc<AppState>,
    req: &Request<'_>,
    stored: &StoredCall,
    now: i64,
) -> anyhow::Result<Event> {
    let form = req.form;
    Ok(match req.hook {
        Hook::Answer => Event::Answer {
            digits: form.get("Digits").map(str::to_string),
            speech: form.get("SpeechResult").map(str::to_string),
            confidence: form
                .get("Confidence")
                .and_then(|c| c.trim().parse::<f32>().ok())
                .filter(|c| c.is_finite() && (0.0..=1.0).contains(c)),
        },
        // The wait for a link's position is a quiet `<Gather>`: its silence
        // is the poll.
        Hook::Silence if matches!(stored.call.step, Step::AwaitingLocation { .. }) => Event::Poll(
            state
                .engine
                .progress(req.call_sid, &stored.call, now)
                .await?,
        ),
        Hook::Silence => Event::Silence,
        Hook::Poll => Event::Poll(
            state
                .engine
                .progress(req.call_sid, &stored.call, now)
                .await?,
        ),
        Hook::Dial => Event::DialEnded {
            answered: matches!(form.get("DialCallStatus"), Some("completed" | "answered")),
        },
        // Start and Status are answered before a step; a resume is handled as a
        // Start (`stall`).
        Hook::Start | Hook::Status | Hook::Resume => Event::Silence,
    })
}

/// One step through the engine: advance (the directory and the geocoder get
/// the step budget; past it the caller hears the hold and the poll takes the
/// answer), write once, and answer the reply as TwiML (the reservation's
/// outcome itself when OZmap is quick).
async fn step(
    state: &Arc<AppState>,
    req: &Request<'_>,
    stored: StoredCall,
    fresh: bool,
    deadline: &Deadline,
    started: tokio::time::Instant,
    now: i64,
) -> anyhow::Result<String> {
    let (engine, call_sid) = (&state.engine, req.call_sid);
    let event = event(state, req, &stored, now).await?;
    let allow = |budget| deadline.allow(budget);
    let Advanced { t, told: outcome } = engine
        .advance(
            call_sid,
            &stored.call,
            event,
            now,
            state.voice_policy(&allow),
        )
        .await;
    tracing::info!(
        from = stored.call.step.name(),
        to = t.call.step.name(),
        attempts = t.call.attempts,
        protocol = t.call.data.protocol.as_deref().unwrap_or("-"),
        "step"
    );
    let render = state.render_ctx();
    if t.call == stored.call {
        // Nothing moved (a hold poll): no write, same seq.
        if fresh {
            greeting::store_now(state, call_sid, &stored, now).await?;
        }
        return Ok(render.render_in(req.dialect, &t.reply, stored.seq, None));
    }
    let body = render.render_in(req.dialect, &t.reply, stored.seq + 1, None);
    let reserve = match &t.effect {
        Some(Effect::Reserve(r)) => Some(r),
        _ => None,
    };
    let base = if fresh && reserve.is_none() && outcome.is_none() {
        Base::Greeted(&stored.call)
    } else {
        if fresh {
            greeting::store_now(state, call_sid, &stored, now).await?;
        }
        Base::Seq(stored.seq)
    };
    let commit = Commit {
        key: call_sid,
        base,
        call: &t.call,
        reserve,
        outcome,
        answer: Answer::Document(&body),
    };
    if engine.commit(commit, now).await? != Committed::Moved {
        // Another copy of this request moved the call first: answer what it did.
        let again = state.store().load_call(call_sid).await?;
        return Ok(again.and_then(|s| s.last_reply).unwrap_or(body));
    }
    count_address_attempts(state, &stored.call, &t);
    state.webhooks.moved(&stored.steps, &t.call, outcome);
    if reserve.is_some() {
        // OZmap is usually quick: speak the outcome now rather than the hold.
        let until = started + state.cfg.call.step_budget;
        deadline.allow(until.saturating_duration_since(tokio::time::Instant::now()));
        if let Some(outcome) =
            reserving::outcome_within(state, req.dialect, call_sid, stored.seq + 1, &t.call, until)
                .await
        {
            return Ok(outcome);
        }
    }
    Ok(body)
}

/// The address attempts of a call, once: when the address is confirmed (the
/// reservation goes to the ledger), or when the call ends before that.
fn count_address_attempts(state: &AppState, before: &Call, t: &flow::Transition) {
    let attempts = t.call.data.address_attempts;
    if matches!(t.effect, Some(Effect::Reserve(_))) {
        state.webhooks.address_settled(attempts, true);
    } else if attempts > 0
        && t.call.is_over()
        && !before.is_over()
        && !matches!(
            before.step,
            Step::Reserving { .. }
                | Step::OfferAgent
                | Step::FindingSlots { .. }
                | Step::ChooseVisit
                | Step::BookingVisit { .. }
        )
    {
        state.webhooks.address_settled(attempts, false);
    }
}

fn replay_or_resume(state: &AppState, dialect: Dialect, stored: &StoredCall, now: i64) -> String {
    let t = flow::advance_at(
        &state.cfg.call.flow,
        &stored.call,
        Event::Start,
        state.engine.moment(now),
    );
    state
        .render_ctx()
        .render_in(dialect, &t.reply, stored.seq, None)
}
