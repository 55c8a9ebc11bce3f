//! The link by SMS on a call (issue 26): sent at once when the flow asks
//! ([`ivr_core::flow::Effect::SendLocationLink`]), its position read by a
//! held call's poll, and the position of a call that hung up first advanced
//! to the reservation here.

use super::Engine;
use crate::location::{OfferError, Position};
use crate::store::StoreError;
use ivr_core::domain::Place;
use ivr_core::flow::{Call, Progress};

impl Engine {
    /// Sends the session's caller a link by SMS, now: what the flow hears.
    /// A number that takes no SMS, or SMS off, are not told to the caller; a
    /// provider's failure is.
    pub(super) async fn send_link(&self, key: &str, call: &Call, now: i64) -> Progress {
        let (Some(links), Some(phone)) = (&self.location, call.data.phone.as_deref()) else {
            return Progress::LinkFailed { sms: false };
        };
        match links.offer(key, phone, now).await {
            Ok(_) => Progress::LinkSent,
            Err(OfferError::NotMobile | OfferError::NoProvider) => {
                Progress::LinkFailed { sms: false }
            }
            // The provider's failure was logged where it happened (no number).
            Err(OfferError::Sms(_)) => Progress::LinkFailed { sms: true },
            Err(e) => {
                tracing::warn!(error = %e, "location link not made");
                Progress::LinkFailed { sms: true }
            }
        }
    }

    /// The position a link of the session brought since `since_ms`, as the
    /// flow reads it.
    pub(super) async fn link_progress(
        &self,
        key: &str,
        since_ms: u64,
    ) -> Result<Progress, StoreError> {
        let Some(links) = &self.location else {
            return Ok(Progress::Pending);
        };
        let since = i64::try_from(since_ms).unwrap_or(i64::MAX);
        Ok(match links.position_for(key).await? {
            Some(p) if p.at >= since => located(p),
            _ => Progress::Pending,
        })
    }
}

/// A link's position as the flow reads it: the nearest address, or the
/// coordinates read back by their label (as a shared location without one).
pub(crate) fn located(p: Position) -> Progress {
    match p.place {
        Some(place) => Progress::Located { place, label: None },
        None => {
            let label = format!("{:.6}, {:.6}", p.lat, p.lng);
            Progress::Located {
                place: Place {
                    street: label.clone(),
                    number: None,
                    complement: None,
                    neighbourhood: None,
                    city: String::new(),
                    state: None,
                    cep: None,
                    lat: p.lat,
                    lng: p.lng,
                },
                label: Some(label),
            }
        }
    }
}
