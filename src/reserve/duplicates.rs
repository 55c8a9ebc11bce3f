//! One property per request, even when OZmap commits late.
//!
//! A request whose POST got no answer may end up with two properties (two
//! ports) for one client code when OZmap commits the first later than
//! `OZMAP_COMMIT_WAIT_MS` after a second POST was sent, or commits one POST
//! twice. Here the look-up's answer is split into the property kept and the
//! copies: the kept one is the one recorded for the request (what the caller
//! was told), else the oldest of this request's (`createdAt`, else the first
//! listed); a copy is
//! deleted in OZmap (`DELETE /properties/{id}`, which frees its port) only when
//! this request sent a POST and the copy is the same request's: at its address
//! (within [`SAME_PLACE_M`]) with the observation this service writes. A
//! property of the client code that is not (made by hand in OZmap, say) is
//! never touched. Every removal is logged with the ids only.

use super::{
    BoxName, Finished, ReserveError, ReserveSettings, box_name, classify, distance_m, port_of,
};
use ivr_core::domain::{ReservationOutcome, ReservationRequest, ReservedPort};
use ozmap_client::{OzmapClient, OzmapError, Property};
use tracing::{info, warn};

/// How far from the request's address a property may be and still be its
/// copy, in metres (the service sends the address's own coordinates).
const SAME_PLACE_M: f64 = 25.0;

/// Adopts what the look-up found for the client code: the oldest property is
/// the reservation. `posted`: this request sent a POST whose answer never
/// came, so the property is the one it asked for (`Reserved`, not `Existing`;
/// the oldest of this request's properties), and any copy of it is deleted.
pub(super) async fn adopt(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    found: Vec<Property>,
    posted: bool,
) -> Result<Finished, ReserveError> {
    let count = found.len();
    let ours = |p: &Property| posted && same_request(p, s, req);
    let Some((kept, others)) = split(found, None, ours) else {
        return Err(ReserveError::Transient(
            "the look-up listed no usable property".into(),
        ));
    };
    let removed = if posted {
        remove_copies(client, s, req, &kept.id, others).await.0
    } else {
        if count > 1 {
            warn!(
                properties = count,
                property_id = %kept.id,
                "the client code already has several properties; the oldest is read back, none is removed (this request sent none)"
            );
        }
        Vec::new()
    };
    let port = port_of(client, kept)
        .await
        .map_err(|e| classify("reading the box of the property found", e))?;
    if posted {
        info!(
            property_id = %port.property_id,
            box_id = %port.box_id,
            "reservation: the property sent earlier is in OZmap; adopting it"
        );
        Ok(Finished {
            outcome: ReservationOutcome::Reserved(port),
            removed,
        })
    } else {
        info!(
            property_id = %port.property_id,
            box_id = %port.box_id,
            "reservation: the client already has a property; adopting it"
        );
        Ok(Finished {
            outcome: ReservationOutcome::Existing(port),
            removed,
        })
    }
}

/// What a later look at a finished request did.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Rechecked {
    /// Copies of the recorded property deleted in OZmap.
    pub removed: Vec<String>,
    /// The box's name, read now that it was missing.
    pub box_name: Option<BoxName>,
    /// Something could not be done now (a copy not deleted, the name not
    /// read): look again later.
    pub again: Option<String>,
}

/// A later look at a finished request: when `duplicates`, the client code is
/// looked up and every copy of the recorded property is deleted; when the
/// recorded box has no name yet, it is read again.
pub(crate) async fn recheck(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    recorded: &ReservedPort,
    duplicates: bool,
) -> Result<Rechecked, ReserveError> {
    let mut out = Rechecked::default();
    if duplicates {
        let found = client
            .properties_by_client(req.client_code.as_str())
            .await
            .map_err(|e| classify("looking the client code up again", e))?;
        match split(found, Some(&recorded.property_id), |_| true) {
            Some((kept, others)) => {
                let (removed, failed) = remove_copies(client, s, req, &kept.id, others).await;
                out.removed = removed;
                if failed > 0 {
                    out.again = Some(format!("{failed} copies could not be deleted yet"));
                }
            }
            None => warn!(
                property_id = %recorded.property_id,
                "reservation: the recorded property is not in OZmap any more; nothing is removed"
            ),
        }
    }
    if recorded.box_name.is_none() && !recorded.box_id.is_empty() {
        match box_name(client, &recorded.box_id).await {
            Ok(Some(name)) => {
                info!(box_id = %recorded.box_id, "reservation: the box's name is read now");
                out.box_name = Some(name);
            }
            Ok(None) => {
                out.again
                    .get_or_insert_with(|| "the box's name could not be read yet".into());
            }
            Err(e) => return Err(classify("reading the box's name", e)),
        }
    }
    Ok(out)
}

/// The property kept and the others: the recorded one (`None` when it is not
/// listed), else the oldest of those `preferred` (of all, when none is), by
/// `createdAt` (one without it counts as newer), else the first listed.
fn split(
    found: Vec<Property>,
    recorded: Option<&str>,
    preferred: impl Fn(&Property) -> bool,
) -> Option<(Property, Vec<Property>)> {
    use std::cmp::Ordering;
    let mut found: Vec<Property> = found.into_iter().filter(|p| !p.id.is_empty()).collect();
    let i = match recorded {
        Some(id) => found.iter().position(|p| p.id == id)?,
        None => {
            let any_preferred = found.iter().any(&preferred);
            found
                .iter()
                .enumerate()
                .filter(|(_, p)| !any_preferred || preferred(p))
                .min_by(|(_, a), (_, b)| match (&a.created_at, &b.created_at) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                })
                .map(|(i, _)| i)?
        }
    };
    let kept = found.remove(i);
    Some((kept, found))
}

/// Whether `p` is a property this service would have made for `req`: at its
/// address, with the observation it writes (a field OZmap leaves out does not
/// count against it).
pub(crate) fn same_request(p: &Property, s: &ReserveSettings, req: &ReservationRequest) -> bool {
    let observation = p
        .observation
        .as_deref()
        .is_none_or(|o| o.trim() == s.property_observation);
    let place = p.position.is_none_or(|(lat, lng)| {
        distance_m(lat, lng, req.place.lat, req.place.lng) <= SAME_PLACE_M
    });
    observation && place
}

/// Deletes in OZmap each of `others` that is a copy of the same request:
/// the ids deleted, and how many could not be (tried again later).
async fn remove_copies(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    kept: &str,
    others: Vec<Property>,
) -> (Vec<String>, usize) {
    let (mut removed, mut failed) = (Vec::new(), 0);
    for p in others {
        if !same_request(&p, s, req) {
            warn!(
                property_id = %p.id,
                kept_property_id = %kept,
                "reservation: the client code has another property that is not this request's; left alone"
            );
            continue;
        }
        match client.delete_property(&p.id).await {
            Ok(()) => {
                warn!(
                    kept_property_id = %kept,
                    removed_property_id = %p.id,
                    "reservation: duplicate property removed in OZmap (a second property for one request; the first is kept, the copy's port freed)"
                );
                removed.push(p.id);
            }
            Err(OzmapError::NotFound) => info!(
                property_id = %p.id,
                "reservation: the copy was already gone from OZmap"
            ),
            Err(e) => {
                warn!(
                    kept_property_id = %kept,
                    property_id = %p.id,
                    error = %e,
                    "reservation: a duplicate property could not be deleted now; tried again later"
                );
                failed += 1;
            }
        }
    }
    (removed, failed)
}
