//! The session engine: one step of a session, for every channel.
//!
//! A session is a phone call or a chat conversation: a [`Call`] of the pure
//! core ([`ivr_core::flow`]) stored under a key (the `CallSid`, or `wa:<id>`).
//! Every channel moves it the same way, here:
//! 1. the adapter loads the session and turns the platform's request into a
//!    flow [`Event`];
//! 2. [`Engine::advance`] advances the core and runs the effects it asks for
//!    (the client directory, the geocoder, the link by SMS) under the channel's [`Wait`]: a
//!    webhook waits within its step budget and otherwise holds the caller (a
//!    poll takes the answer later, [`Engine::progress`]); a chat waits;
//! 3. [`Engine::commit`] writes the session once, with what goes with it (the
//!    ledger row when the client confirmed; the answer kept for a platform's
//!    retry, or the messages for the outbox), and wakes whoever carries it out;
//! 4. the adapter renders the reply in its platform's dialect.
//!
//! What a held session is waiting for is read by one reader
//! ([`Engine::progress`]), and a reservation's final state waited on by one
//! ([`Engine::settled`]): voice polls, the chat's pushed outcomes and the
//! in-place outcome of a quick OZmap all see the same thing.
//!
//! Adding a channel means writing an adapter (parse, verify, call these,
//! render): nothing here knows a platform. The engine depends on the store,
//! the geocoder, the directory and the agents' hours, never on `http` or a
//! channel.

mod commit;
mod geocoding;
mod location;
mod progress;
#[cfg(test)]
mod tests;
mod visits;

pub(crate) use commit::{Answer, Base, Commit, Committed};
pub(crate) use location::located;
pub(crate) use progress::told_outcome;

use crate::config::AgentSchedule;
use crate::directory::Lookups;
use crate::geocode::Locator;
use crate::store::{CallOutcome, Store};
use crate::visits::Visits;
use geocoding::GeoLookup;
use ivr_core::flow::Step;
use ivr_core::flow::{self, Call, ClientLookup, Effect, Event, FlowConfig, Moment, Progress};
use ivr_core::flow::{GeoResult, Transition};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Effects run one after another in one step, at most (a look-up may lead to
/// a geocoding; nothing leads further).
const MAX_EFFECTS: usize = 4;

/// What every channel shares: the session's store and the services a step
/// may ask. Built once at start (`app`).
pub(crate) struct Engine {
    pub(crate) store: Store,
    pub(crate) locator: Locator,
    /// The client directory's look-ups and the known clients kept in memory.
    pub(crate) directory: Arc<Lookups>,
    /// The agents' hours: whether a person answers now, and today's date for
    /// protocols.
    pub(crate) schedule: AgentSchedule,
    /// Nudged when a ledger row is written (the worker carries it out).
    pub(crate) wake_worker: Arc<Notify>,
    /// The technician's agenda (`SCHEDULE`) and the visit in writing.
    pub(crate) visits: Visits,
    /// How long one geocoder look-up may take before it counts as failed.
    geocode_hold: Duration,
    /// Geocoder look-ups running on this instance, by cache key.
    geo_inflight: Mutex<HashMap<String, GeoLookup>>,
    /// The links by SMS where a caller marks the house (none in some tests).
    location: Option<Arc<crate::location::Links>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// How long a channel waits for an effect's answer within one step.
#[derive(Clone, Copy)]
pub(crate) enum Wait<'a> {
    /// A webhook: each effect gets `budget`; past it the session holds (the
    /// flow's hold step) and a later poll takes the answer. `allow` is told
    /// how long the step may now take (a slow-database guard extends its
    /// deadline by it).
    Within {
        budget: Duration,
        allow: &'a (dyn Fn(Duration) + Send + Sync),
    },
    /// A chat: the answer is awaited, however long it takes.
    Done,
}

/// The channel's rules for one step: its flow settings and how it waits.
#[derive(Clone, Copy)]
pub(crate) struct Policy<'a> {
    pub flow: &'a FlowConfig,
    pub wait: Wait<'a>,
}

/// One advanced step: the core's transition after its effects, and the
/// reservation outcome the event told the session, for the console.
#[derive(Debug)]
pub(crate) struct Advanced {
    pub t: Transition,
    pub told: Option<CallOutcome>,
}

impl Engine {
    pub(crate) fn new(
        store: Store,
        locator: Locator,
        directory: Arc<Lookups>,
        schedule: AgentSchedule,
        geocode_hold: Duration,
        wake_worker: Arc<Notify>,
        visits: Visits,
    ) -> Self {
        Engine {
            store,
            locator,
            directory,
            schedule,
            wake_worker,
            visits,
            geocode_hold,
            geo_inflight: Mutex::new(HashMap::new()),
            location: None,
        }
    }

    /// With the links by SMS (`Effect::SendLocationLink`, the held call's poll).
    pub(crate) fn with_location(mut self, links: Arc<crate::location::Links>) -> Self {
        self.location = Some(links);
        self
    }

    /// The clock for the flow, and whether a person answers now
    /// (`IVR_AGENT_HOURS`).
    pub(crate) fn moment(&self, now: i64) -> Moment {
        let now_ms = u64::try_from(now).unwrap_or(0);
        Moment {
            now_ms,
            agent_open: self.schedule.open_at(now_ms),
        }
    }

    /// A new protocol number for a session that starts now.
    pub(crate) async fn new_protocol(&self, now: i64) -> Result<String, crate::store::StoreError> {
        let today = self.schedule.today(u64::try_from(now).unwrap_or(0));
        self.store.next_protocol(&today).await
    }

    /// Advances the session `key` with `event`, then runs the effects the core
    /// asks for (directory look-up, geocoding) under `policy`, each answer fed
    /// back as a poll event. A reservation is not run here: it is written with
    /// the session ([`Engine::commit`]) and carried out by the worker.
    pub(crate) async fn advance(
        self: &Arc<Self>,
        key: &str,
        call: &Call,
        event: Event,
        now: i64,
        policy: Policy<'_>,
    ) -> Advanced {
        let told = told_outcome(&event);
        let at = self.moment(now);
        let mut t = flow::advance_at(policy.flow, call, event, at);
        let mut visited = in_visit_step(&call.step);
        for _ in 0..MAX_EFFECTS {
            visited |= in_visit_step(&t.call.step);
            let answer = match t.effect.clone() {
                Some(Effect::LookUpClient(code)) => {
                    let task = self.directory.start(key, code);
                    match waited(policy.wait, task, ClientLookup::Failed).await {
                        Some(lookup) => {
                            self.directory.take(key);
                            Progress::Client(lookup)
                        }
                        None => break,
                    }
                }
                Some(Effect::Geocode(query)) => {
                    let task = self.geocode(query);
                    match waited(policy.wait, task, GeoResult::Failed).await {
                        Some(found) => Progress::Geocoded(found),
                        None => break,
                    }
                }
                // The agenda is the store's (or answers within its own
                // timeout): read and booked within the step, and what was
                // said before (the outcome) is kept before the offer.
                Some(Effect::FindSlots { after }) => {
                    let offer = self.find_slots(&t.call, after, now).await;
                    let said = std::mem::take(&mut t.reply.lines);
                    t = flow::advance_at(
                        policy.flow,
                        &t.call,
                        Event::Poll(Progress::Slots(offer)),
                        at,
                    );
                    t.reply.lines.splice(0..0, said);
                    continue;
                }
                Some(Effect::BookVisit(slot)) => {
                    let booked = self.book_slot(&t.call, slot, now).await;
                    let said = std::mem::take(&mut t.reply.lines);
                    t = flow::advance_at(policy.flow, &t.call, Event::Poll(booked), at);
                    t.reply.lines.splice(0..0, said);
                    continue;
                }
                // The caller is waiting for the SMS: sent within the step.
                Some(Effect::SendLocationLink) => {
                    if let Wait::Within { budget, allow } = policy.wait {
                        allow(budget);
                    }
                    let sent = self.send_link(key, &t.call, now).await;
                    let said = std::mem::take(&mut t.reply.lines);
                    t = flow::advance_at(policy.flow, &t.call, Event::Poll(sent), at);
                    t.reply.lines.splice(0..0, said);
                    continue;
                }
                Some(Effect::Reserve(_)) | None => break,
            };
            t = flow::advance_at(policy.flow, &t.call, Event::Poll(answer), at);
        }
        if visited && !in_visit_step(&t.call.step) {
            // The caller heard the team will call: the SMS says the same.
            let team_calls = t
                .reply
                .lines
                .iter()
                .any(|l| matches!(l.key, "visit.none" | "visit.failed"));
            self.visit_step_ended(&t.call, t.call.data.visit, team_calls, now)
                .await;
        }
        Advanced { t, told }
    }
}

/// The steps of the visit: the held outcome SMS waits while a call is in them.
fn in_visit_step(step: &Step) -> bool {
    matches!(
        step,
        Step::FindingSlots { .. } | Step::ChooseVisit | Step::BookingVisit { .. }
    )
}

/// A task's answer under the channel's wait: `None` when a webhook's budget
/// ran out (the task goes on); a chat takes `failed` if the task died.
async fn waited<T>(wait: Wait<'_>, task: JoinHandle<T>, failed: T) -> Option<T> {
    match wait {
        Wait::Within { budget, allow } => {
            allow(budget);
            match tokio::time::timeout(budget, task).await {
                Ok(Ok(answer)) => Some(answer),
                _ => None,
            }
        }
        Wait::Done => Some(task.await.unwrap_or(failed)),
    }
}
