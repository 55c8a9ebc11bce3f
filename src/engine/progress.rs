//! What a held session is waiting for, read one way for every channel: the
//! directory's answer, the geocoder's (from this instance's look-up or the
//! shared cache), or the reservation's row in the ledger.

use super::Engine;
use super::geocoding;
use crate::store::{CallOutcome, LedgerStatus, Reservation};
use ivr_core::domain::ReservationOutcome;
use ivr_core::flow::{Call, ClientLookup, Event, Progress, ReservationProgress, Step};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often a ledger row is read while waiting and no notification comes
/// (the row may be another instance's worker's).
const POLL_EVERY: Duration = Duration::from_millis(100);

impl Engine {
    /// What the background work has for the session `key`, held at its step.
    pub(crate) async fn progress(
        self: &Arc<Self>,
        key: &str,
        call: &Call,
        now: i64,
    ) -> anyhow::Result<Progress> {
        match call.step {
            Step::LookingUpClient { .. } => Ok(match &call.data.code {
                Some(code) => match self.directory.poll(key, code) {
                    Some(lookup) => Progress::Client(lookup),
                    None => Progress::Pending,
                },
                None => Progress::Client(ClientLookup::Failed),
            }),
            Step::Geocoding { .. } => {
                let Some(query) = call.data.query.clone() else {
                    return Ok(Progress::Pending);
                };
                let cache_key = geocoding::key(&query, self.locator.area());
                match self.store.geocode_get(&cache_key, now).await? {
                    Some(cached) => Ok(Progress::Geocoded(cached.into())),
                    None => {
                        // Not in the cache: make sure a lookup is running here (the
                        // one started may have been on another instance, or before a
                        // restart).
                        drop(self.geocode(query));
                        Ok(Progress::Pending)
                    }
                }
            }
            Step::Reserving { .. } => Ok(Progress::Reservation(
                self.reservation_progress(key, call).await?,
            )),
            // A poll at the agenda's hold (the step's own answer was lost: a
            // restart, another instance): asked again; a booking is
            // idempotent by the protocol.
            Step::FindingSlots { after, .. } => {
                Ok(Progress::Slots(self.find_slots(call, after, now).await))
            }
            Step::BookingVisit { slot, .. } => Ok(self.book_slot(call, slot, now).await),
            Step::AwaitingLocation { since_ms, .. } => {
                Ok(self.link_progress(key, since_ms).await?)
            }
            _ => Ok(Progress::Pending),
        }
    }

    /// Where the ledger row of the session's client code stands.
    pub(crate) async fn reservation_progress(
        &self,
        key: &str,
        call: &Call,
    ) -> anyhow::Result<ReservationProgress> {
        let Some(code) = &call.data.code else {
            return Ok(ReservationProgress::Waiting { failing: false });
        };
        let row = self.store.reservation_by_code(code).await?;
        Ok(
            row.map_or(ReservationProgress::Waiting { failing: false }, |row| {
                read_row(&row, key, call)
            }),
        )
    }

    /// The reservation's final state (done or dead) once it has one; `None` at
    /// `deadline`, or as soon as an attempt has failed (a retry waits for its
    /// backoff). This instance's worker tells the store when it settles a row;
    /// a short poll covers a row another instance settles.
    pub(crate) async fn settled(
        &self,
        key: &str,
        call: &Call,
        deadline: Instant,
    ) -> anyhow::Result<Option<ReservationProgress>> {
        let settled = self.store.ledger_settled();
        loop {
            // Registered before the read, so a row settled right after it still
            // wakes us.
            let notified = settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.reservation_progress(key, call).await? {
                p @ (ReservationProgress::Done(_) | ReservationProgress::Dead) => {
                    return Ok(Some(p));
                }
                ReservationProgress::Waiting { failing: true }
                | ReservationProgress::Confirming => {
                    return Ok(None);
                }
                ReservationProgress::Waiting { failing: false } => {}
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
}

/// A ledger row as the session `key` sees it. A reservation made by another
/// session (an earlier call or conversation of the same client code) is read
/// back as existing: the session that made it is the one with the row's
/// protocol (a conversation keeps its key across protocols), or, where a
/// protocol is missing, the row's session key.
pub(super) fn read_row(row: &Reservation, key: &str, call: &Call) -> ReservationProgress {
    let made_here = match (&row.request.protocol, &call.data.protocol) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => row.call_sid == key,
    };
    match (row.status, &row.outcome) {
        // Released in OZmap (its days past, or an operator's word) between
        // this session's request and this read: no port is held any more,
        // so none is told; the request is kept for the team.
        (LedgerStatus::Done, Some(_)) if row.life.released_at.is_some() => {
            ReservationProgress::Dead
        }
        (LedgerStatus::Done, Some(outcome)) => ReservationProgress::Done(match outcome {
            ReservationOutcome::Reserved(p) if !made_here => {
                ReservationOutcome::Existing(p.clone())
            }
            other => other.clone(),
        }),
        (LedgerStatus::Dead | LedgerStatus::Cancelled, _) => ReservationProgress::Dead,
        // A POST failed without an answer and OZmap has not shown the property
        // yet (a POST still in flight, with no failed attempt, is only waited for).
        _ if row.uncertain_since.is_some() && row.attempts > 0 => ReservationProgress::Confirming,
        _ => ReservationProgress::Waiting {
            failing: row.attempts > 0,
        },
    }
}

/// What a poll tells the session about its reservation, for the console.
pub(crate) fn told_outcome(event: &Event) -> Option<CallOutcome> {
    match event {
        Event::Poll(Progress::Reservation(r)) => match r {
            ReservationProgress::Done(ReservationOutcome::Reserved(_)) => {
                Some(CallOutcome::Reserved)
            }
            ReservationProgress::Done(ReservationOutcome::Existing(_)) => {
                Some(CallOutcome::Existing)
            }
            ReservationProgress::Done(ReservationOutcome::NotViable) => {
                Some(CallOutcome::NotViable)
            }
            ReservationProgress::Dead => Some(CallOutcome::Failed),
            ReservationProgress::Waiting { .. } | ReservationProgress::Confirming => None,
        },
        _ => None,
    }
}
