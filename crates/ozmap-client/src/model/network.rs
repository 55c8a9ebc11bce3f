//! The fibre network as OZmap answers it: boxes (CTOs) and the splitters inside them.

use super::{Ref, lenient, pick_id};
use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::Value;

/// A box (CTO).
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(from = "RawBox")]
pub struct BoxInfo {
    pub id: String,
    /// The human code of the CTO (e.g. `CTO-12`); empty when OZmap sent none.
    pub name: String,
    /// "Em projeto": not built yet, never a candidate.
    pub draft: bool,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// `coords` as `[lng, lat]` (GeoJSON order).
    pub coords: Option<[f64; 2]>,
    /// The id of the box's project (an id string or a populated object); the
    /// SDK's `CreatePropertyDTOSchema` requires it on the property.
    pub project: Option<String>,
}

impl BoxInfo {
    /// `(lat, lng)` from the flat fields, else from `coords`.
    pub fn position(&self) -> Option<(f64, f64)> {
        match (self.lat, self.lng, self.coords) {
            (Some(lat), Some(lng), _) => Some((lat, lng)),
            (_, _, Some([lng, lat])) => Some((lat, lng)),
            _ => None,
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawBox {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(rename = "_id", deserialize_with = "lenient::opt_string")]
    underscore_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    draft: Option<bool>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    lat: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    lng: Option<f64>,
    #[serde(deserialize_with = "coords")]
    coords: Option<[f64; 2]>,
    #[serde(deserialize_with = "lenient::opt_ref")]
    project: Option<Ref>,
}

/// `[lng, lat]`, or a GeoJSON point `{ "type": "Point", "coordinates": [lng, lat] }`.
pub(super) fn coords<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 2]>, D::Error> {
    fn pair(v: &Value) -> Option<[f64; 2]> {
        match v.as_array()?.as_slice() {
            [lng, lat, ..] => Some([lenient::value_to_f64(lng)?, lenient::value_to_f64(lat)?]),
            _ => None,
        }
    }
    let v = Value::deserialize(d)?;
    Ok(pair(&v).or_else(|| v.get("coordinates").and_then(pair)))
}

impl From<RawBox> for BoxInfo {
    fn from(r: RawBox) -> Self {
        BoxInfo {
            id: pick_id(r.id, r.underscore_id),
            name: r.name.unwrap_or_default(),
            draft: r.draft.unwrap_or(false),
            lat: r.lat,
            lng: r.lng,
            coords: r.coords,
            project: r
                .project
                .map(|p| p.id().to_string())
                .filter(|p| !p.is_empty()),
        }
    }
}

/// One port of a splitter, by position.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SplitterPort {
    /// A blocked port must not be used.
    pub blocked: bool,
}

/// A splitter inside a box.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(from = "RawSplitter")]
pub struct Splitter {
    pub id: String,
    pub name: String,
    /// The box (or other container) the splitter sits in.
    pub parent: Option<Ref>,
    /// `isDrop`: a service splitter, whose outputs feed clients.
    pub is_drop: bool,
    /// `connectables.output`: one entry per output port, `None` (JSON `null`)
    /// where nothing is connected.
    pub outputs: Vec<Option<Value>>,
    /// `ports`, in the same order as `outputs`.
    pub ports: Vec<SplitterPort>,
}

impl Splitter {
    /// Indices of outputs that are free: nothing connected (`null`) and the port
    /// with the same index is not blocked (a missing port entry is not blocked).
    /// The meaning of `null` is inferred, not documented.
    pub fn free_outputs(&self) -> Vec<usize> {
        self.outputs
            .iter()
            .enumerate()
            .filter(|(i, o)| o.is_none() && !self.ports.get(*i).is_some_and(|p| p.blocked))
            .map(|(i, _)| i)
            .collect()
    }

    /// A service (drop) splitter with at least one free output.
    pub fn can_serve(&self) -> bool {
        self.is_drop && !self.free_outputs().is_empty()
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawSplitter {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(rename = "_id", deserialize_with = "lenient::opt_string")]
    underscore_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_ref")]
    parent: Option<Ref>,
    #[serde(rename = "isDrop", deserialize_with = "lenient::opt_bool")]
    is_drop: Option<bool>,
    #[serde(deserialize_with = "lenient::or_default")]
    connectables: Option<Value>,
    #[serde(deserialize_with = "lenient::or_default")]
    ports: Option<Value>,
}

impl From<RawSplitter> for Splitter {
    fn from(r: RawSplitter) -> Self {
        let outputs = r
            .connectables
            .as_ref()
            .and_then(|c| c.get("output"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| if v.is_null() { None } else { Some(v.clone()) })
                    .collect()
            })
            .unwrap_or_default();
        // Keep one entry per position so indices stay aligned with `outputs`.
        let ports = r
            .ports
            .as_ref()
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| SplitterPort {
                        blocked: p
                            .get("blocked")
                            .and_then(lenient::value_to_bool)
                            .unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Splitter {
            id: pick_id(r.id, r.underscore_id),
            name: r.name.unwrap_or_default(),
            parent: r.parent,
            is_drop: r.is_drop.unwrap_or(false),
            outputs,
            ports,
        }
    }
}
