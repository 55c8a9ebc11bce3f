//! The worker's jobs on a reservation after it was made (`store::life`):
//! set the client implanted in OZmap once it is installed, or release the
//! port (delete the property) after `IVR_RESERVATION_DAYS` or at an
//! operator's word, and tell the client.
//!
//! A release deletes only this request's property, guarded like the
//! duplicates (`reserve::same_request`: at the request's address, with this
//! service's observation); any other is left alone and the row becomes a dead
//! letter for an operator. A property already gone counts as released, so a
//! crash between the DELETE and the record re-runs the DELETE, finds nothing,
//! and records it with the message (one transaction): the client is told once.

use super::{Attempted, Reservations};
use crate::outbox::Failure;
use crate::outbox::Settle;
use crate::reserve::same_request;
use crate::store::{Claim, LifeDone, LifeJob, StoreError, VisitStatus, now_ms};
use ivr_core::chat::ChatMessage;
use ivr_core::domain::{ReservationOutcome, ReservedPort};
use ivr_core::flow::{Arg, Line};
use ivr_core::prompts::Prompts;
use ozmap_client::{OzmapError, Property};

/// How a release is told in a chat: the prompts its text comes from, and the
/// channel's message body for a `wa_id` (the WhatsApp adapter's, wired by
/// `app`: the worker knows no channel).
#[derive(Clone)]
pub(crate) struct ChatNotice {
    pub prompts: Prompts,
    pub payload: fn(&str, &ChatMessage) -> String,
}

/// Hours behind UTC of Brazil's westernmost time zone (Acre, UTC−5): where
/// the ISP's time zone is unknown, a visit day's end there is the latest it
/// ends anywhere in the country, so a hold until then is never early.
const WESTMOST_OFFSET_MS: i64 = 5 * 3_600_000;

/// The end of `day` (Unix ms): the next midnight in the time zone `tz` (an
/// IANA name), or in Brazil's westernmost one when `tz` is unknown.
pub(crate) fn end_of_day_ms(day: ivr_core::agenda::Day, tz: &str) -> i64 {
    let westmost = (day.days_since_epoch() + 1) * crate::store::DAY_MS + WESTMOST_OFFSET_MS;
    if tz.trim().is_empty() {
        return westmost;
    }
    let Ok(tz) = jiff::tz::db().get(tz) else {
        return westmost;
    };
    let next = day.plus(1);
    let Ok(year) = i16::try_from(next.year) else {
        return westmost;
    };
    jiff::civil::Date::new(year, next.month as i8, next.day as i8)
        .and_then(|d| d.to_zoned(tz))
        .map_or(westmost, |z| z.timestamp().as_millisecond())
}

fn failure(stage: &str, e: OzmapError) -> Failure {
    if e.is_transient() {
        Failure::Retry(format!("{stage}: {e}"))
    } else {
        Failure::Refused(format!("{stage}: {e}"))
    }
}

/// The port a finished row holds.
fn port_of(claim: &Claim) -> Option<&ReservedPort> {
    match &claim.reservation.outcome {
        Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) => Some(p),
        _ => None,
    }
}

impl Reservations {
    /// One life job at a claimed row.
    pub(super) async fn life(&self, claim: &Claim, job: LifeJob) -> Result<Attempted, Failure> {
        let done = match job {
            LifeJob::Implant => self.implant(claim).await?,
            LifeJob::Release { for_good } => self.release(claim, for_good).await?,
        };
        Ok(Attempted::Life(done))
    }

    /// Finds the client of the row's property and PATCHes it `implanted`.
    async fn implant(&self, claim: &Claim) -> Result<LifeDone, Failure> {
        let ozmap = &self.worker.ozmap;
        let Some(port) = port_of(claim) else {
            return Err(Failure::Refused("the row holds no port to implant".into()));
        };
        let property = ozmap
            .get_property(&port.property_id)
            .await
            .map_err(|e| failure("reading the property to implant", e))?;
        let Some(client) = property.client.as_ref().filter(|c| !c.id().is_empty()) else {
            return Err(Failure::Refused(
                "the property in OZmap names no client to implant".into(),
            ));
        };
        ozmap
            .implant_client(client.id())
            .await
            .map_err(|e| failure("setting the client implanted", e))?;
        tracing::info!(
            property_id = %port.property_id,
            client_id = %client.id(),
            "reservation: the client is implanted in OZmap"
        );
        Ok(LifeDone::Implanted)
    }

    /// Deletes the row's property (unless a visit still booked holds it) and
    /// composes the client's message.
    async fn release(&self, claim: &Claim, for_good: bool) -> Result<LifeDone, Failure> {
        let w = &self.worker;
        let row = &claim.reservation;
        let Some(ReservationOutcome::Reserved(port)) = &row.outcome else {
            return Err(Failure::Refused(
                "only a port this service reserved is released".into(),
            ));
        };
        if !for_good && let Some(protocol) = &row.request.protocol {
            let visit = w
                .store
                .visit_by_protocol(protocol)
                .await
                .map_err(|e| Failure::Retry(format!("reading the visit: {e}")))?;
            if let Some(v) = visit.filter(|v| v.status == VisitStatus::Booked) {
                let until = end_of_day_ms(v.slot.day, &w.settings.timezone);
                if until > now_ms() {
                    tracing::info!(
                        visit_day = %v.slot.day,
                        "reservation: past its days, held until the end of its visit's day"
                    );
                    return Ok(LifeDone::Held {
                        until,
                        note: format!("held until the end of its visit's day ({})", v.slot.day),
                    });
                }
            }
        }
        match w.ozmap.get_property(&port.property_id).await {
            Err(OzmapError::NotFound) => tracing::info!(
                property_id = %port.property_id,
                "reservation release: the property is already gone from OZmap"
            ),
            Err(e) => return Err(failure("reading the property to release", e)),
            Ok(p) if !self.is_ours(&p, claim).await? => {
                return Err(Failure::Refused(
                    "the property in OZmap is not this request's (another place or observation): left alone".into(),
                ));
            }
            Ok(_) => match w.ozmap.delete_property(&port.property_id).await {
                Ok(()) | Err(OzmapError::NotFound) => tracing::info!(
                    property_id = %port.property_id,
                    box_id = %port.box_id,
                    for_good,
                    "reservation released: the property is deleted in OZmap, its port freed"
                ),
                Err(e) => return Err(failure("deleting the property", e)),
            },
        }
        Ok(self.released_message(claim))
    }

    /// Whether `p` is this request's property: at its address with the
    /// service's observation (the duplicates' guard). A row whose personal
    /// data was erased keeps no address: there the property must be listed
    /// under the row's client code, with the service's observation.
    async fn is_ours(&self, p: &Property, claim: &Claim) -> Result<bool, Failure> {
        let w = &self.worker;
        let req = &claim.reservation.request;
        let erased = req.place.lat == 0.0 && req.place.lng == 0.0;
        if !erased {
            return Ok(same_request(p, &w.reserve, req));
        }
        let observation = p
            .observation
            .as_deref()
            .is_none_or(|o| o.trim() == w.reserve.property_observation);
        let listed = w
            .ozmap
            .properties_by_client(req.client_code.as_str())
            .await
            .map_err(|e| failure("looking the client code up", e))?
            .iter()
            .any(|q| q.id == p.id);
        Ok(observation && listed)
    }

    /// Records a life job, fenced by its claim; a release with its message.
    pub(super) async fn settle_life(
        &self,
        claim: &Claim,
        how: Settle<Attempted>,
    ) -> Result<bool, StoreError> {
        let w = &self.worker;
        let how = match how {
            Settle::Done(Attempted::Life(done)) => Settle::Done(done),
            Settle::Done(_) => Settle::Released {
                at: now_ms(),
                note: "a ledger result on a life job".into(),
            },
            Settle::RetryLater { at, error } => Settle::RetryLater { at, error },
            Settle::DeadLetter { error } => Settle::DeadLetter { error },
            Settle::Released { at, note } => Settle::Released { at, note },
        };
        let sms = matches!(
            &how,
            Settle::Done(LifeDone::Released {
                message: Some(_),
                ..
            })
        );
        if let Settle::DeadLetter { error } = &how {
            tracing::warn!(%error, "reservation life job given up: an operator must look");
        }
        let recorded = w.store.settle_life(claim, how, now_ms()).await;
        if let (Ok(true), true, Some(outbox)) = (&recorded, sms, &w.outbox) {
            tracing::info!(kind = "released", "SMS with the release queued");
            outbox.wake();
        }
        recorded
    }

    /// The client's message about a release: an SMS, or a WhatsApp message
    /// for a row made in a chat.
    fn released_message(&self, claim: &Claim) -> LifeDone {
        let w = &self.worker;
        let row = &claim.reservation;
        if row.made_in_chat() {
            let chat = w.chat.as_ref().and_then(|notice| {
                let wa_id = row.call_sid.strip_prefix(crate::store::CHAT_KEY_PREFIX)?;
                let protocol = row.request.protocol.clone().unwrap_or_default();
                let line = Line::new("sms.released").arg("protocol", Arg::Digits(protocol));
                let text = notice.prompts.text(&line);
                Some((
                    wa_id.to_string(),
                    (notice.payload)(wa_id, &ChatMessage::Text(text)),
                ))
            });
            return LifeDone::Released {
                message: None,
                chat,
            };
        }
        LifeDone::Released {
            message: w.outbox.as_ref().and_then(|o| o.released(&row.request)),
            chat: None,
        }
    }
}

#[cfg(test)]
#[path = "life_tests.rs"]
mod tests;
