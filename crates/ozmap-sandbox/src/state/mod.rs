//! The sandbox's mutable world: the network's boxes and splitters with the state of
//! every port, the properties created through the API, the prospects, and the
//! counters tests read.
//!
//! It is plain data behind one mutex (held only for short, non-async sections), and
//! it renders itself in the API's JSON shapes, so the HTTP layer only parses input
//! and picks status codes. The allocator ([`World::find_port`]) is the single rule
//! used both by `POST /properties` and by [`super::Network::plan_reservation`].

use super::network::{Network, PlannedPort};
use ozmap_client::distance_m;
use serde_json::{Value, json};

mod clients;
pub(crate) use clients::ClientPatch;
mod ids;
use ids::derived_id;
#[cfg(test)]
use ids::iso_from_unix_millis;
pub(crate) use ids::{new_object_id, now_iso};

/// Fibre of the drop cable reported in `connections[].fiber`.
/// Tag of the drop fibre's derived id (the SDK documents `fiber` as an id string).
const DROP_FIBER_TAG: u32 = 0x0d_0001;

#[derive(Clone, Debug)]
pub(crate) struct Port {
    pub blocked: bool,
    /// What the output port is connected to (a property id, or a synthetic id for
    /// the ports the network file marks as used).
    pub occupant: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct SplitterState {
    pub id: String,
    pub name: String,
    pub parent: String,
    pub is_drop: bool,
    pub pon: bool,
    pub implanted: bool,
    pub ports: Vec<Port>,
}

impl SplitterState {
    /// Output ports (1-based) that a client may take.
    fn usable_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ports
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.blocked && p.occupant.is_none())
            .filter_map(|(i, _)| u16::try_from(i + 1).ok())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct BoxState {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
    pub draft: bool,
    pub implanted: bool,
    pub observation: Option<String>,
}

/// Holds personal data: no `Debug`.
#[derive(Clone)]
pub(crate) struct ClientState {
    pub id: String,
    pub code: String,
    pub name: Option<String>,
    pub implanted: bool,
    pub certified: bool,
    pub status: i64,
    pub observation: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub splitter_id: String,
    pub splitter_name: String,
    pub port: u16,
}

/// Holds personal data: no `Debug`.
#[derive(Clone)]
pub(crate) struct PropertyState {
    pub id: String,
    pub box_id: String,
    pub client: ClientState,
    pub address: Option<String>,
    pub observation: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub connection: Option<Connection>,
    pub created_at: String,
}

/// A property to create, already validated for shape by the HTTP layer.
/// Holds personal data: no `Debug`.
#[derive(Clone)]
pub(crate) struct NewProperty {
    pub box_id: String,
    pub client_code: String,
    pub client_name: Option<String>,
    pub client_implanted: bool,
    pub client_certified: bool,
    pub client_status: i64,
    pub client_observation: Option<String>,
    pub address: Option<String>,
    pub observation: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub auto_connect: bool,
    pub force: bool,
    /// A port chosen by the caller instead of `auto_connect`: (splitter id, port).
    pub connector: Option<(String, u16)>,
}

/// Why a property was not created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CreateError {
    UnknownBox,
    DuplicateClient,
    /// 422 with this message.
    Unprocessable(String),
}

/// Why a box cannot give a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NoPort {
    Draft,
    /// No drop splitter has a free unblocked port.
    Full,
    /// Free ports exist, but only on drop splitters without a PON connection.
    OnlyWithoutPon,
}

/// Holds personal data: no `Debug`.
pub(crate) struct World {
    pub project_id: String,
    pub boxes: Vec<BoxState>,
    pub splitters: Vec<SplitterState>,
    /// Live properties, in creation order.
    pub properties: Vec<PropertyState>,
    /// Every property created, as answered, in order (deleted ones stay).
    pub created: Vec<Value>,
    pub prospects: Vec<Value>,
    /// `POST /properties` requests received.
    pub property_posts: usize,
}

impl World {
    pub(crate) fn new(network: &Network) -> World {
        let boxes = network
            .boxes
            .iter()
            .map(|b| BoxState {
                id: b.id.clone(),
                name: b.name.clone(),
                lat: b.lat,
                lng: b.lng,
                draft: b.draft,
                implanted: b.implanted,
                observation: b.observation.clone(),
            })
            .collect::<Vec<_>>();
        let splitters = network
            .splitters
            .iter()
            .map(|s| {
                let implanted = boxes
                    .iter()
                    .find(|b| b.id == s.parent)
                    .is_some_and(|b| b.implanted);
                let ports = (1..=s.ports)
                    .map(|n| Port {
                        blocked: s.blocked.contains(&n),
                        occupant: s
                            .used
                            .contains(&n)
                            .then(|| derived_id(&s.id, 0x0d_0000 + u32::from(n))),
                    })
                    .collect();
                SplitterState {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    parent: s.parent.clone(),
                    is_drop: s.is_drop,
                    pon: s.pon,
                    implanted,
                    ports,
                }
            })
            .collect();
        World {
            project_id: network.project.id.clone(),
            boxes,
            splitters,
            properties: Vec::new(),
            created: Vec::new(),
            prospects: Vec::new(),
            property_posts: 0,
        }
    }

    pub(crate) fn find_box(&self, id: &str) -> Option<&BoxState> {
        self.boxes.iter().find(|b| b.id == id)
    }

    /// The first free, unblocked output port of a drop splitter of the box, in file
    /// order, lowest port first; the splitter must have a PON connection unless
    /// `force`. Returns (splitter index, port).
    pub(crate) fn find_port(&self, box_id: &str, force: bool) -> Result<(usize, u16), NoPort> {
        if self.find_box(box_id).is_some_and(|b| b.draft) {
            return Err(NoPort::Draft);
        }
        let mut without_pon = false;
        for (i, s) in self.splitters.iter().enumerate() {
            if s.parent != box_id || !s.is_drop {
                continue;
            }
            if let Some(port) = s.usable_ports().next() {
                if s.pon || force {
                    return Ok((i, port));
                }
                without_pon = true;
            }
        }
        Err(if without_pon {
            NoPort::OnlyWithoutPon
        } else {
            NoPort::Full
        })
    }

    /// Boxes within `radius_m` of the point, nearest first, with their distance.
    pub(crate) fn boxes_near(&self, lat: f64, lng: f64, radius_m: f64) -> Vec<(f64, &BoxState)> {
        let mut near: Vec<(f64, &BoxState)> = self
            .boxes
            .iter()
            .map(|b| (distance_m(lat, lng, b.lat, b.lng), b))
            .filter(|(d, _)| *d <= radius_m)
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        near
    }

    /// See [`Network::plan_reservation`].
    pub(crate) fn plan(
        &self,
        lat: f64,
        lng: f64,
        radius_m: f64,
        force: bool,
    ) -> Option<PlannedPort> {
        self.boxes_near(lat, lng, radius_m)
            .into_iter()
            .find_map(|(_, b)| {
                let (si, port) = self.find_port(&b.id, force).ok()?;
                let s = &self.splitters[si];
                Some(PlannedPort {
                    box_id: b.id.clone(),
                    box_name: b.name.clone(),
                    splitter_id: s.id.clone(),
                    splitter_name: s.name.clone(),
                    port,
                })
            })
    }

    /// Free ports on drop splitters of a box: (all, only those with PON).
    fn free_drop_ports(&self, box_id: &str) -> (usize, usize) {
        self.splitters
            .iter()
            .filter(|s| s.parent == box_id && s.is_drop)
            .fold((0, 0), |(all, pon), s| {
                let n = s.usable_ports().count();
                (all + n, pon + if s.pon { n } else { 0 })
            })
    }

    /// Creates a property, taking a port when asked to. `unique`: refuse a
    /// client code that already holds a property (a late commit does not check).
    pub(crate) fn create_property(
        &mut self,
        new: NewProperty,
        unique: bool,
    ) -> Result<Value, CreateError> {
        let Some(b) = self.find_box(&new.box_id).cloned() else {
            return Err(CreateError::UnknownBox);
        };
        if unique
            && self
                .properties
                .iter()
                .any(|p| p.client.code == new.client_code)
        {
            return Err(CreateError::DuplicateClient);
        }
        if b.draft {
            return Err(CreateError::Unprocessable(no_port_message(
                &b.name,
                &NoPort::Draft,
            )));
        }
        let chosen = if let Some((splitter_id, port)) = &new.connector {
            Some(self.check_connector(&b.id, splitter_id, *port)?)
        } else if new.auto_connect {
            let found = self
                .find_port(&b.id, new.force)
                .map_err(|e| CreateError::Unprocessable(no_port_message(&b.name, &e)))?;
            Some(found)
        } else {
            None
        };
        let id = new_object_id();
        let now = now_iso();
        let connection = chosen.map(|(si, port)| {
            let s = &mut self.splitters[si];
            if let Some(p) = s.ports.get_mut(usize::from(port) - 1) {
                p.occupant = Some(id.clone());
            }
            Connection {
                splitter_id: s.id.clone(),
                splitter_name: s.name.clone(),
                port,
            }
        });
        let property = PropertyState {
            id,
            box_id: b.id.clone(),
            client: ClientState {
                id: new_object_id(),
                code: new.client_code,
                name: new.client_name,
                implanted: new.client_implanted,
                certified: new.client_certified,
                status: new.client_status,
                observation: new.client_observation,
            },
            address: new.address,
            observation: new.observation,
            lat: new.lat,
            lng: new.lng,
            connection,
            created_at: now,
        };
        let rendered = self.property_json(&property, false);
        self.properties.push(property);
        self.created.push(rendered.clone());
        Ok(rendered)
    }

    fn check_connector(
        &self,
        box_id: &str,
        splitter_id: &str,
        port: u16,
    ) -> Result<(usize, u16), CreateError> {
        let unprocessable = |m: &str| Err(CreateError::Unprocessable(m.to_string()));
        let Some(si) = self
            .splitters
            .iter()
            .position(|s| s.id == splitter_id && s.parent == box_id)
        else {
            return unprocessable("connector is not a splitter of this box");
        };
        let s = &self.splitters[si];
        if !s.is_drop {
            return unprocessable(
                "connector is not a drop splitter (it does not allow client connection)",
            );
        }
        match port
            .checked_sub(1)
            .and_then(|i| s.ports.get(usize::from(i)))
        {
            None => unprocessable("port does not exist on this connector"),
            Some(p) if p.blocked => unprocessable("port is blocked"),
            Some(p) if p.occupant.is_some() => unprocessable("port is already in use"),
            Some(_) => Ok((si, port)),
        }
    }

    /// Deletes a property (its client goes with it) and frees its port.
    pub(crate) fn delete_property(&mut self, id: &str) -> bool {
        let Some(i) = self.properties.iter().position(|p| p.id == id) else {
            return false;
        };
        let p = self.properties.remove(i);
        for s in &mut self.splitters {
            for port in &mut s.ports {
                if port.occupant.as_deref() == Some(p.id.as_str()) {
                    port.occupant = None;
                }
            }
        }
        true
    }

    pub(crate) fn box_json(&self, b: &BoxState) -> Value {
        json!({
            "id": b.id,
            "kind": "Box",
            "name": b.name,
            "coords": [b.lng, b.lat],
            "lat": b.lat,
            "lng": b.lng,
            "project": self.project_id,
            "pole": derived_id(&b.id, 0x0a_0000),
            "boxType": null,
            "hierarchyLevel": 1,
            "implanted": b.implanted,
            "draft": b.draft,
            "certified": false,
            "observation": b.observation,
        })
    }

    pub(crate) fn splitter_json(&self, s: &SplitterState) -> Value {
        let input = if s.pon {
            json!([derived_id(&s.id, 0x0f_0000)])
        } else {
            json!([null])
        };
        let output: Vec<Value> = s
            .ports
            .iter()
            .map(|p| p.occupant.clone().map_or(Value::Null, Value::String))
            .collect();
        let ports: Vec<Value> = s
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({"id": derived_id(&s.id, 0x0e_0000 + i as u32), "index": i, "blocked": p.blocked})
            })
            .collect();
        json!({
            "id": s.id,
            "kind": "Splitter",
            "name": s.name,
            "parent": s.parent,
            "project": self.project_id,
            "isDrop": s.is_drop,
            "implanted": s.implanted,
            "connectables": {"input": input, "output": output},
            "ports": ports,
        })
    }

    /// The Property shape; `populate_client` puts the client object in `client`.
    pub(crate) fn property_json(&self, p: &PropertyState, populate_client: bool) -> Value {
        let client = if populate_client {
            json!({
                "id": p.client.id,
                "kind": "FTTHClient",
                "code": p.client.code,
                "name": p.client.name,
                "implanted": p.client.implanted,
                "certified": p.client.certified,
                "status": p.client.status,
                "observation": p.client.observation,
            })
        } else {
            json!(p.client.id)
        };
        let connections: Vec<Value> = p
            .connection
            .iter()
            .map(|c| {
                json!({
                    "id": c.splitter_id,
                    "kind": "Splitter",
                    "name": c.splitter_name,
                    "port": c.port,
                    "fiber": derived_id(&p.id, DROP_FIBER_TAG),
                    "implanted": false,
                })
            })
            .collect();
        json!({
            "id": p.id,
            "kind": "Property",
            "box": p.box_id,
            "client": client,
            "drop": null,
            "pole": derived_id(&p.box_id, 0x0a_0000),
            "project": self.project_id,
            "address": p.address,
            "observation": p.observation,
            "coords": [p.lng, p.lat],
            "lat": p.lat,
            "lng": p.lng,
            "connections": connections,
            "history": {"clients": [{
                "id": p.client.id,
                "code": p.client.code,
                "enter_date": p.created_at,
                "exit_date": null,
            }]},
            "creatorData": {"name": "OZmap sandbox"},
            "createdAt": p.created_at,
            "updatedAt": p.created_at,
        })
    }

    /// `ftth-viability/radius`: boxes in range split into viable and not.
    pub(crate) fn viability(&self, lat: f64, lng: f64, radius_m: f64) -> Value {
        let mut viable = Vec::new();
        let mut not_viable = Vec::new();
        for (d, b) in self.boxes_near(lat, lng, radius_m) {
            let (free, free_pon) = self.free_drop_ports(&b.id);
            let reason = if b.draft {
                Some("draft")
            } else if free == 0 {
                Some("no_free_port")
            } else {
                None
            };
            let mut entry = json!({
                "id": b.id,
                "name": b.name,
                "distance": (d * 10.0).round() / 10.0,
                "lat": b.lat,
                "lng": b.lng,
                "draft": b.draft,
                "free_ports": free,
                "free_ports_with_pon": free_pon,
            });
            match reason {
                None => viable.push(entry),
                Some(r) => {
                    entry["reason"] = json!(r);
                    not_viable.push(entry);
                }
            }
        }
        json!({
            "viable": !viable.is_empty(),
            "boxes": viable,
            "not_viable_boxes": not_viable,
        })
    }
}

/// The 422 message for a box that cannot give a port.
fn no_port_message(box_name: &str, why: &NoPort) -> String {
    match why {
        NoPort::Draft => format!("box {box_name} is a draft (Em projeto) and cannot take clients"),
        NoPort::Full => format!(
            "box {box_name} has no available connector: every port of its drop splitters is used or blocked"
        ),
        NoPort::OnlyWithoutPon => format!(
            "box {box_name} has no available connector attached to a PON port (force: true accepts one without)"
        ),
    }
}

#[cfg(test)]
mod tests;
