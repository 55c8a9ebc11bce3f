//! What the client is told of a reservation: the box and the port, the box by
//! its name ([`BoxName`]) or not at all. A name OZmap does not give, or that
//! cannot be read now, stays unknown (`None`): the client then hears and
//! reads a sentence without it, the worker reads it again later, and only
//! operators see the box's id.

use super::{BoxName, Candidate};
use ivr_core::domain::ReservedPort;
use ozmap_client::{OzmapClient, OzmapError, Property};
use tracing::warn;

/// The reserved port from the POST answer; the box from the answer, else the
/// candidate; its name from the answer or the candidate, else OZmap. A name
/// that cannot be read stays unknown (`None`), never the id.
pub(super) async fn reserved_from(
    client: &OzmapClient,
    p: Property,
    c: &Candidate,
) -> ReservedPort {
    let port = p.reserved_port();
    let (box_id, answer_name) = match &p.box_ref {
        Some(r) if !r.id().is_empty() => (r.id().to_string(), r.name().and_then(BoxName::parse)),
        _ => (c.id.clone(), None),
    };
    let known = answer_name.or_else(|| {
        (box_id == c.id)
            .then(|| c.name.as_deref().and_then(BoxName::parse))
            .flatten()
    });
    let name = match known {
        Some(n) => Some(n),
        // The POST has landed: never fail from here on.
        None => box_name(client, &box_id).await.unwrap_or(None),
    };
    ReservedPort {
        property_id: p.id,
        box_id,
        box_name: name,
        port,
    }
}

/// A box's name from `GET /boxes/{id}`; `None` when OZmap gives none or the
/// read fails for any reason but a bad key (the caller is then told the port
/// without the box, and the name is read again later).
pub(crate) async fn box_name(
    client: &OzmapClient,
    id: &str,
) -> Result<Option<BoxName>, OzmapError> {
    if id.is_empty() {
        return Ok(None);
    }
    match client.get_box(id).await {
        Ok(b) => {
            let name = BoxName::parse(&b.name);
            if name.is_none() {
                warn!(box_id = %id, "the box has no usable name in OZmap");
            }
            Ok(name)
        }
        Err(e @ OzmapError::Unauthorized(_)) => Err(e),
        Err(e) => {
            warn!(box_id = %id, error = %e, "box name not available now; the outcome goes without it until it is read again");
            Ok(None)
        }
    }
}

/// A property as the client's reservation: its box (its name from the
/// populated relation, else OZmap) and port.
pub(super) async fn port_of(client: &OzmapClient, p: Property) -> Result<ReservedPort, OzmapError> {
    let port = p.reserved_port();
    let (box_id, name) = match &p.box_ref {
        Some(r) => {
            let id = r.id().to_string();
            let name = match r.name().and_then(BoxName::parse) {
                Some(n) => Some(n),
                None => box_name(client, &id).await?,
            };
            (id, name)
        }
        None => {
            warn!(property_id = %p.id, "existing property has no box");
            (String::new(), None)
        }
    };
    Ok(ReservedPort {
        property_id: p.id,
        box_id,
        box_name: name,
        port,
    })
}
