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
}

impl From<RawProperty> for Property {
    fn from(r: RawProperty) -> Self {
        Property {
            id: pick_id(r.id, r.underscore_id),
            box_ref: r.box_ref,
            client: r.client,
            connections: r.connections,
        }
    }
}
