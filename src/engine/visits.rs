//! The technician's visit in a session: the free periods the agenda has for
//! the session's reservation (`Effect::FindSlots`) and the booking of the one
//! chosen (`Effect::BookVisit`), both read and written in the store within the
//! step (a store read and one transaction: fast), so a booking is durable
//! before the caller hears it.
//!
//! The reservation is the ledger row of the session's client code: its
//! protocol is the visit's (for an existing reservation, the earlier call's),
//! its point and box are what the agenda is asked about.

use super::Engine;
use crate::store::{Booking, NewVisit, Reservation, VisitStatus};
use crate::visits::SlotQuery;
use ivr_core::agenda::{Day, Slot};
use ivr_core::domain::ReservationOutcome;
use ivr_core::flow::{Call, OFFER_SIZE, Progress, SlotOffer};

impl Engine {
    /// The reservation the session's visit is for, with its protocol.
    async fn visit_reservation(&self, call: &Call) -> Option<(Reservation, String)> {
        let code = call.data.code.as_ref()?;
        let row = match self.store.reservation_by_code(code).await {
            Ok(row) => row?,
            Err(e) => {
                tracing::warn!(error = %e, "visit: the reservation could not be read");
                return None;
            }
        };
        let protocol = row.request.protocol.clone()?;
        Some((row, protocol))
    }

    /// The agents' local date at `now` (the agenda's today).
    fn agenda_today(&self, now: i64) -> Day {
        Day::of(&self.schedule.local(u64::try_from(now).unwrap_or(0)))
    }

    /// What the agenda offers the session after `after` (the first periods
    /// when `None`): at most [`OFFER_SIZE`], or the visit already booked for
    /// the reservation.
    pub(crate) async fn find_slots(&self, call: &Call, after: Option<Slot>, now: i64) -> SlotOffer {
        let Some((row, protocol)) = self.visit_reservation(call).await else {
            return SlotOffer::Failed;
        };
        match self.store.visit_by_protocol(&protocol).await {
            Ok(Some(v)) if v.status != VisitStatus::Cancelled => {
                return SlotOffer::AlreadyBooked(v.slot);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "visit: the agenda could not be read");
                return SlotOffer::Failed;
            }
        }
        self.offer(&row, after, now).await
    }

    /// The next free periods after `after` for the reservation `row`.
    async fn offer(&self, row: &Reservation, after: Option<Slot>, now: i64) -> SlotOffer {
        let today = self.agenda_today(now);
        let Some((from, to)) = self.visits.agenda.window(today) else {
            return SlotOffer::None;
        };
        let box_id = match &row.outcome {
            Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) => {
                Some(p.box_id.clone())
            }
            _ => None,
        };
        let query = SlotQuery {
            lat: row.request.place.lat,
            lng: row.request.place.lng,
            box_id,
            from,
            to,
        };
        match self
            .visits
            .agenda
            .free_slots(&self.store, &query, today)
            .await
        {
            Ok(slots) => {
                let next: Vec<Slot> = slots
                    .into_iter()
                    .filter(|s| after.is_none_or(|a| *s > a))
                    .take(OFFER_SIZE)
                    .collect();
                if next.is_empty() {
                    SlotOffer::None
                } else {
                    SlotOffer::Offered(next)
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "visit: the agenda did not answer");
                SlotOffer::Failed
            }
        }
    }

    /// Books `slot` for the session's reservation: once per protocol, never
    /// past the period's capacity. A period that filled meanwhile answers the
    /// next free ones; a failure, `Slots(Failed)`.
    pub(crate) async fn book_slot(&self, call: &Call, slot: Slot, now: i64) -> Progress {
        let Some((row, protocol)) = self.visit_reservation(call).await else {
            return Progress::Slots(SlotOffer::Failed);
        };
        let message = self
            .visits
            .texts
            .as_ref()
            .map(|t| t.message(&protocol, slot));
        let capacity = match self.visits.agenda.capacity(&slot) {
            Some(c) => c,
            // An ERP's period: the capacity recorded when it was offered.
            None => match self.store.period_capacity(&slot).await {
                Ok(c) => c.unwrap_or(0),
                Err(e) => {
                    tracing::warn!(error = %e, "visit: the period's capacity could not be read");
                    return Progress::Slots(SlotOffer::Failed);
                }
            },
        };
        let to_erp = self.visits.agenda.to_erp();
        let visit = NewVisit {
            message,
            protocol,
            reservation_id: Some(row.id),
            client_code: row.client_code.as_str().to_string(),
            slot,
            capacity,
            to_erp,
        };
        match self.store.book_visit(visit, now).await {
            Ok(Booking::Booked(v)) => {
                tracing::info!(slot = %v.slot, "visit booked");
                if to_erp {
                    self.visits.wake_erp.notify_one();
                }
                Progress::Booked(v.slot)
            }
            // The same choice again (a retry): the visit it booked.
            Ok(Booking::Already(v)) => Progress::Booked(v.slot),
            Ok(Booking::Full) => Progress::SlotTaken(self.offer(&row, None, now).await),
            Err(e) => {
                tracing::warn!(error = %e, "visit: the booking could not be written");
                Progress::Slots(SlotOffer::Failed)
            }
        }
    }

    /// The visit step ended (`visit`: the period booked, in this call or
    /// before): the reservation's held outcome SMS is due now, with the visit
    /// in place of how to book one, or (`team_calls`: the caller was told so,
    /// no period or no agenda) that the team will call. A booking in this
    /// step already did it in its transaction; doing it again changes nothing.
    pub(crate) async fn visit_step_ended(
        &self,
        call: &Call,
        visit: Option<Slot>,
        team_calls: bool,
        now: i64,
    ) {
        let Some(texts) = &self.visits.texts else {
            return;
        };
        let Some((row, _)) = self.visit_reservation(call).await else {
            return;
        };
        let replace = match (visit, team_calls) {
            (Some(slot), _) => Some((texts.how(), texts.visit(slot))),
            (None, true) => Some((texts.how(), texts.team())),
            (None, false) => None,
        };
        if let Err(e) = self.store.release_visit_message(row.id, replace, now).await {
            tracing::warn!(error = %e, "visit: the held SMS could not be released");
        }
    }
}
