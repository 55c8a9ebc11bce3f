//! A property (the client's premises) and the connections that hold its port.

use super::{Ref, lenient, pick_id};
use serde::Deserialize;

/// One connection of a property: the splitter (and its port) it is attached to.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(from = "RawConnection")]
pub struct Connection {
    pub id: String,
    /// `Splitter` for the reserved port, per the documentation.
    pub kind: String,
    pub name: Option<String>,
    pub port: Option<i64>,
    pub fiber: Option<i64>,
    pub implanted: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawConnection {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(rename = "_id", deserialize_with = "lenient::opt_string")]
    underscore_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    kind: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    port: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    fiber: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    implanted: Option<bool>,
}

impl From<RawConnection> for Connection {
    fn from(r: RawConnection) -> Self {
        Connection {
            id: pick_id(r.id, r.underscore_id),
            kind: r.kind.unwrap_or_default(),
            name: r.name,
            port: r.port,
            fiber: r.fiber,
            implanted: r.implanted,
        }
    }
}

/// A property (the client's premises) as OZmap answers it.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(from = "RawProperty")]
pub struct Property {
    /// Empty when OZmap sent none (such a property is not usable).
    pub id: String,
    /// The `box` relation (the CTO the property hangs on).
    pub box_ref: Option<Ref>,
    /// The `client` relation (populated by `properties/client/{code}`).
    pub client: Option<Ref>,
    pub connections: Vec<Connection>,
    /// `(lat, lng)` from the flat fields, else from `coords`.
    pub position: Option<(f64, f64)>,
    /// The property's `observation` (what the creator wrote on it).
    pub observation: Option<String>,
    /// `createdAt` as OZmap wrote it (ISO 8601), to tell the older of two.
    pub created_at: Option<String>,
}

impl Property {
    /// The reserved port: the first `Splitter` connection with a port, else the
    /// first connection of any kind with a port.
    pub fn reserved_port(&self) -> Option<i64> {
        self.connections
            .iter()
            .find(|c| c.kind.eq_ignore_ascii_case("splitter") && c.port.is_some())
            .or_else(|| self.connections.iter().find(|c| c.port.is_some()))
            .and_then(|c| c.port)
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawProperty {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(rename = "_id", deserialize_with = "lenient::opt_string")]
    underscore_id: Option<String>,
    #[serde(rename = "box", deserialize_with = "lenient::opt_ref")]
    box_ref: Option<Ref>,
    #[serde(deserialize_with = "lenient::opt_ref")]
    client: Option<Ref>,
    #[serde(deserialize_with = "lenient::vec_of")]
    connections: Vec<Connection>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    lat: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    lng: Option<f64>,
    #[serde(deserialize_with = "super::network::coords")]
    coords: Option<[f64; 2]>,
    #[serde(deserialize_with = "lenient::opt_string")]
    observation: Option<String>,
    #[serde(rename = "createdAt", deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
}

impl From<RawProperty> for Property {
    fn from(r: RawProperty) -> Self {
        let position = match (r.lat, r.lng, r.coords) {
            (Some(lat), Some(lng), _) => Some((lat, lng)),
            (_, _, Some([lng, lat])) => Some((lat, lng)),
            _ => None,
        };
        Property {
            id: pick_id(r.id, r.underscore_id),
            box_ref: r.box_ref,
            client: r.client,
            connections: r.connections,
            position,
            observation: r.observation,
            created_at: r.created_at,
        }
    }
}
