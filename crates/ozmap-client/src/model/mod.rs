//! OZmap API v2 entities as this service reads and writes them.
//!
//! Most of what we know about OZmap's answers is documented, but some of it is only
//! inferred (see `ozmap-api.md`), and nobody has checked it against a live tenant.
//! So every model that is *read* is tolerant:
//! - unknown fields are ignored and missing fields take a default;
//! - a field of an unexpected type (a number sent as a string, a `null`) is read as
//!   well as possible and otherwise defaulted, instead of failing the whole answer;
//! - an id may come as `id` or `_id` (Mongo style);
//! - a relation (`box`, `client`, `parent`) may be an id string or, when populated,
//!   an object: [`Ref`] reads both.
//!
//! Each read model is deserialised through a private `Raw*` struct whose fields are
//! all lenient, then turned into the public type. The bodies that are *written*
//! ([`NewProperty`], [`NewProspect`]) serialise exactly like the documented tutorial.
//!
//! Personal data: a populated `client` carries the client's name, and the bodies
//! carry name, code, phone and address; the `Debug` output of these types never
//! prints them.

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

// ---------------------------------------------------------------------------
// Lenient field readers
// ---------------------------------------------------------------------------

/// Field deserialisers that never fail: they read the field as a JSON value and
/// take what they can from it.
pub(crate) mod lenient {
    use super::*;

    /// A string, or a number written as a string; anything else is `None`.
    pub(crate) fn value_to_string(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub(crate) fn value_to_f64(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite())
    }

    pub(crate) fn value_to_i64(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }

    pub(crate) fn value_to_bool(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_i64().map(|i| i != 0),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// `id`, else `_id`, of an object.
    pub(crate) fn object_id(m: &Map<String, Value>) -> Option<String> {
        m.get("id")
            .and_then(value_to_string)
            .filter(|s| !s.is_empty())
            .or_else(|| m.get("_id").and_then(value_to_string))
            .filter(|s| !s.is_empty())
    }

    pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(value_to_string(&Value::deserialize(d)?))
    }

    pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(value_to_f64(&Value::deserialize(d)?))
    }

    pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(value_to_i64(&Value::deserialize(d)?))
    }

    pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(value_to_bool(&Value::deserialize(d)?))
    }

    pub(crate) fn opt_ref<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ref>, D::Error> {
        Ok(Ref::from_value(&Value::deserialize(d)?))
    }

    /// An array whose elements are read one by one; elements that cannot be read
    /// are dropped (a non-array is an empty list).
    pub(crate) fn vec_of<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Any value that reads as `T`, else `T::default()`.
    pub(crate) fn or_default<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------
// Ref
// ---------------------------------------------------------------------------

/// A relation: OZmap sends an id string, or the related object when it is
/// populated. Either way we keep its id and, when there is one, its name.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Ref {
    id: String,
    name: Option<String>,
}

impl Ref {
    pub fn new(id: impl Into<String>, name: Option<String>) -> Self {
        Self {
            id: id.into(),
            name,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name of a populated relation (`None` when OZmap sent only an id).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.trim().is_empty())
    }

    /// An id string (or number), or an object with `id`/`_id`; `None` otherwise.
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) if !s.is_empty() => Some(Self::new(s.clone(), None)),
            Value::Number(n) => Some(Self::new(n.to_string(), None)),
            Value::Object(m) => lenient::object_id(m).map(|id| Ref {
                id,
                name: m.get("name").and_then(lenient::value_to_string),
            }),
            _ => None,
        }
    }
}

/// A populated `client` carries the client's name: only say whether there is one.
impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ref")
            .field("id", &self.id)
            .field("named", &self.name.is_some())
            .finish()
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ref::from_value(&v)
            .ok_or_else(|| serde::de::Error::custom("expected an id or an object with an id"))
    }
}

// ---------------------------------------------------------------------------
// Property
// ---------------------------------------------------------------------------

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

fn pick_id(id: Option<String>, underscore: Option<String>) -> String {
    id.filter(|s| !s.is_empty())
        .or(underscore)
        .unwrap_or_default()
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

// ---------------------------------------------------------------------------
// Box
// ---------------------------------------------------------------------------

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
}

/// `[lng, lat]`, or a GeoJSON point `{ "type": "Point", "coordinates": [lng, lat] }`.
fn coords<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 2]>, D::Error> {
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
        }
    }
}

// ---------------------------------------------------------------------------
// Splitter
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Viability
// ---------------------------------------------------------------------------

/// A box that `ftth-viability/radius` offers.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ViableBox {
    pub id: String,
    pub name: Option<String>,
    /// Distance from the address in metres, when the answer gives one.
    pub distance_m: Option<f64>,
}

/// What `ftth-viability/radius` answered, as far as it was understood.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Viability {
    /// The documented top-level boolean (inferred from the boxes when missing).
    pub viable: bool,
    /// Candidate boxes, nearest first when distances were given.
    pub boxes: Vec<ViableBox>,
}

/// Array fields tried first, in this order, for the candidate boxes. Their names
/// are not public: these are guesses.
const VIABLE_LIST_FIELDS: &[&str] = &[
    "viable_boxes",
    "viableBoxes",
    "boxes",
    "ctos",
    "rows",
    "data",
    "results",
    "items",
];

/// Wrapper objects that may hold the real answer.
const WRAPPER_FIELDS: &[&str] = &["data", "result", "results"];

/// A field name that says its boxes are *not* viable.
fn names_unviable(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    [
        "not",
        "non",
        "unviable",
        "inviab",
        "nao",
        "invalid",
        "unavailable",
    ]
    .iter()
    .any(|w| f.contains(w))
}

impl Viability {
    /// Reads the answer tolerantly. Returns what was understood and a list of
    /// notes about what was not (field names only, never values), to be logged.
    pub fn from_json(v: &Value) -> (Viability, Vec<String>) {
        let mut notes = Vec::new();
        let mut root = v;
        // Unwrap `{data: {...}}`-style envelopes that hide the real answer.
        for _ in 0..2 {
            let Some(obj) = root.as_object() else { break };
            if obj.contains_key("viable") {
                break;
            }
            match WRAPPER_FIELDS
                .iter()
                .find_map(|k| obj.get(*k).filter(|w| w.is_object()))
            {
                Some(inner) => root = inner,
                None => break,
            }
        }

        let mut boxes: Vec<ViableBox> = Vec::new();
        let mut viable_flag = None;
        match root {
            Value::Array(items) => {
                notes.push("answer is a bare array; read it as the candidate boxes".into());
                read_boxes(items, &mut boxes, "(root)", &mut notes);
            }
            Value::Object(obj) => {
                viable_flag = obj.get("viable").and_then(lenient::value_to_bool);
                if obj.contains_key("viable") && viable_flag.is_none() {
                    notes.push("field `viable` is not a boolean".into());
                }
                let mut used = Vec::new();
                for key in VIABLE_LIST_FIELDS {
                    if let Some(Value::Array(items)) = obj.get(*key) {
                        read_boxes(items, &mut boxes, key, &mut notes);
                        used.push((*key).to_string());
                    }
                }
                for (key, val) in obj {
                    if key == "viable" || used.contains(key) {
                        continue;
                    }
                    match val {
                        Value::Array(items) if names_unviable(key) => {
                            notes.push(format!(
                                "ignored array `{key}` ({} items): named as not viable",
                                items.len()
                            ));
                        }
                        Value::Array(items) if items.iter().any(is_identified) => {
                            notes.push(format!("read boxes from unexpected array `{key}`"));
                            read_boxes(items, &mut boxes, key, &mut notes);
                        }
                        _ => notes.push(format!("ignored field `{key}`")),
                    }
                }
            }
            _ => notes.push("answer is neither an object nor an array".into()),
        }

        let viable = match viable_flag {
            Some(b) => b,
            None => {
                notes.push(format!(
                    "no boolean `viable`; inferred {} from {} candidate boxes",
                    !boxes.is_empty(),
                    boxes.len()
                ));
                !boxes.is_empty()
            }
        };
        // Nearest first; boxes without a distance keep their order, after the others.
        boxes.sort_by(|a, b| match (a.distance_m, b.distance_m) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        (Viability { viable, boxes }, notes)
    }
}

fn is_identified(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        lenient::object_id(m).is_some() || m.get("box").and_then(Ref::from_value).is_some()
    })
}

/// Appends the usable boxes of one array, skipping duplicates, drafts and items
/// that say they are not viable.
fn read_boxes(items: &[Value], out: &mut Vec<ViableBox>, field: &str, notes: &mut Vec<String>) {
    let mut skipped = 0usize;
    for item in items {
        let Some(m) = item.as_object() else {
            skipped += 1;
            continue;
        };
        // The item is the box itself, or wraps it as `box` (id or populated).
        let nested = m.get("box").and_then(Ref::from_value);
        let (id, nested_name) = match lenient::object_id(m) {
            Some(id) if nested.is_none() => (id, None),
            _ => match &nested {
                Some(r) => (r.id().to_string(), r.name().map(str::to_string)),
                None => {
                    skipped += 1;
                    continue;
                }
            },
        };
        let flag = |k: &str| m.get(k).and_then(lenient::value_to_bool);
        if flag("viable") == Some(false) || flag("draft") == Some(true) {
            continue;
        }
        if out.iter().any(|b| b.id == id) {
            continue;
        }
        let name = m
            .get("name")
            .and_then(lenient::value_to_string)
            .filter(|n| !n.trim().is_empty())
            .or(nested_name);
        let distance_m = ["distance", "dist", "distance_m", "distanceMeters", "meters"]
            .iter()
            .find_map(|k| m.get(*k).and_then(lenient::value_to_f64));
        out.push(ViableBox {
            id,
            name,
            distance_m,
        });
    }
    if skipped > 0 {
        notes.push(format!(
            "skipped {skipped} items of `{field}` without an id"
        ));
    }
}

// ---------------------------------------------------------------------------
// Bodies written to OZmap
// ---------------------------------------------------------------------------

/// The client created together with the property (`implanted: false` = reserved).
#[derive(Clone, PartialEq, Serialize)]
pub struct NewClient {
    pub certified: bool,
    pub implanted: bool,
    /// 0 = OK, 1 = ERROR.
    pub status: u8,
    pub observation: String,
    pub code: String,
    pub name: String,
}

/// `POST /api/v2/properties`, shaped exactly like the documented tutorial.
#[derive(Clone, PartialEq, Serialize)]
pub struct NewProperty {
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub observation: String,
    /// The box id.
    #[serde(rename = "box")]
    pub box_id: String,
    pub auto_connect: bool,
    pub force: bool,
    pub client: NewClient,
}

impl fmt::Debug for NewProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewProperty")
            .field("box", &self.box_id)
            .field("auto_connect", &self.auto_connect)
            .field("force", &self.force)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v2/prospects`: the lead recorded when there is no coverage.
#[derive(Clone, PartialEq, Serialize)]
pub struct NewProspect {
    pub name: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub address: String,
    /// `[lng, lat]`.
    pub coords: [f64; 2],
    pub viable: bool,
    pub observation: String,
}

impl fmt::Debug for NewProspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewProspect")
            .field("viable", &self.viable)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ref_reads_id_string_and_populated_object() {
        let r: Ref = serde_json::from_value(json!("5da62201493d9c00066655b8")).unwrap();
        assert_eq!(r.id(), "5da62201493d9c00066655b8");
        assert_eq!(r.name(), None);
        let r: Ref = serde_json::from_value(json!({"_id": "abc", "name": "CTO-12"})).unwrap();
        assert_eq!(r.id(), "abc");
        assert_eq!(r.name(), Some("CTO-12"));
        let r: Ref = serde_json::from_value(json!({"id": "x", "_id": "y"})).unwrap();
        assert_eq!(r.id(), "x");
        assert!(serde_json::from_value::<Ref>(json!({"name": "no id"})).is_err());
        assert!(serde_json::from_value::<Ref>(json!(null)).is_err());
    }

    #[test]
    fn ref_debug_hides_the_name() {
        let r = Ref::new("c1", Some("Gabriel Marioto".into()));
        let d = format!("{r:?}");
        assert!(!d.contains("Gabriel"), "{d}");
        assert!(d.contains("c1"));
    }

    #[test]
    fn property_reads_the_documented_answer() {
        let p: Property = serde_json::from_value(json!({
            "id": "p1", "kind": "Property", "box": "b1", "client": "c1", "drop": "d1",
            "address": "x", "coords": [-48.5, -27.5], "lat": -27.5, "lng": -48.5,
            "history": {"clients": [{"id": "c1", "code": "123|123"}]},
            "connections": [
                {"id": "f1", "kind": "Fusion", "name": "F", "port": 9},
                {"id": "s1", "kind": "Splitter", "name": "SPL-1", "port": 3, "fiber": 1, "implanted": false}
            ]
        }))
        .unwrap();
        assert_eq!(p.id, "p1");
        assert_eq!(p.box_ref.as_ref().map(Ref::id), Some("b1"));
        assert_eq!(p.client.as_ref().map(Ref::id), Some("c1"));
        assert_eq!(p.connections.len(), 2);
        assert_eq!(p.reserved_port(), Some(3));
        assert_eq!(p.connections[1].name.as_deref(), Some("SPL-1"));
    }

    #[test]
    fn property_tolerates_underscore_ids_populated_refs_and_odd_types() {
        let p: Property = serde_json::from_value(json!({
            "_id": "p2",
            "box": {"_id": "b2", "name": "CTO-7", "lat": "-27.1"},
            "client": {"id": "c2", "code": "1|2", "name": "Fulano"},
            "connections": [{"_id": "s2", "kind": "Splitter", "port": "4"}, 17, null]
        }))
        .unwrap();
        assert_eq!(p.id, "p2");
        let b = p.box_ref.unwrap();
        assert_eq!((b.id(), b.name()), ("b2", Some("CTO-7")));
        assert_eq!(p.client.unwrap().id(), "c2");
        assert_eq!(p.connections.len(), 1, "non-objects are dropped");
        assert_eq!(p.connections[0].id, "s2");
        assert_eq!(p.connections[0].port, Some(4));
    }

    #[test]
    fn property_with_missing_fields_defaults() {
        let p: Property =
            serde_json::from_value(json!({"box": null, "connections": "??"})).unwrap();
        assert_eq!(p, Property::default());
        assert_eq!(p.reserved_port(), None);
        // A connection without a splitter kind still gives its port.
        let p: Property =
            serde_json::from_value(json!({"id": "p", "connections": [{"port": 2}]})).unwrap();
        assert_eq!(p.reserved_port(), Some(2));
    }

    #[test]
    fn box_reads_flags_and_positions() {
        let b: BoxInfo = serde_json::from_value(json!({
            "id": "b1", "name": "CTO-12", "kind": "Box", "draft": true,
            "coords": [-48.52, -27.57], "lat": null, "lng": null, "project": {"id": "pr"}
        }))
        .unwrap();
        assert_eq!(b.id, "b1");
        assert!(b.draft);
        assert_eq!(b.position(), Some((-27.57, -48.52)));
        let b: BoxInfo = serde_json::from_value(json!({"_id": "b2", "draft": "false",
            "coords": {"type": "Point", "coordinates": [1.0, 2.0]}}))
        .unwrap();
        assert_eq!((b.id.as_str(), b.name.as_str(), b.draft), ("b2", "", false));
        assert_eq!(b.position(), Some((2.0, 1.0)));
        let b: BoxInfo = serde_json::from_value(json!({})).unwrap();
        assert_eq!(b, BoxInfo::default());
    }

    #[test]
    fn splitter_free_outputs_respect_nulls_and_blocked_ports() {
        let s: Splitter = serde_json::from_value(json!({
            "id": "s1", "name": "SPL", "parent": {"id": "b1"}, "isDrop": true,
            "connectables": {"input": ["x"], "output": ["cable1", null, null, null]},
            "ports": [{"blocked": false}, {"blocked": true}, null, {}]
        }))
        .unwrap();
        assert_eq!(s.parent.as_ref().map(Ref::id), Some("b1"));
        assert_eq!(s.free_outputs(), vec![2, 3]);
        assert!(s.can_serve());

        let feeder = Splitter {
            is_drop: false,
            ..s.clone()
        };
        assert!(!feeder.can_serve());

        let s: Splitter = serde_json::from_value(json!({"_id": "s2", "isDrop": true})).unwrap();
        assert_eq!(s.id, "s2");
        assert!(
            s.free_outputs().is_empty(),
            "no outputs: no evidence of a free port"
        );
        assert!(!s.can_serve());
    }

    #[test]
    fn viability_reads_named_lists_and_sorts_by_distance() {
        let (v, notes) = Viability::from_json(&json!({
            "viable": true,
            "boxes": [
                {"id": "far", "name": "CTO-2", "distance": 120.5},
                {"_id": "near", "name": "CTO-1", "distance": "30"},
                {"id": "nodist"},
                {"id": "bad", "viable": false},
                {"name": "no id"}
            ],
            "not_viable_boxes": [{"id": "x"}],
            "settings": {"radius": 200}
        }));
        assert!(v.viable);
        let ids: Vec<_> = v.boxes.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["near", "far", "nodist"]);
        assert_eq!(v.boxes[0].name.as_deref(), Some("CTO-1"));
        assert_eq!(v.boxes[0].distance_m, Some(30.0));
        assert!(notes.iter().any(|n| n.contains("not_viable_boxes")));
        assert!(notes.iter().any(|n| n.contains("settings")));
        assert!(notes.iter().any(|n| n.contains("without an id")));
    }

    #[test]
    fn viability_reads_other_shapes() {
        // Wrapped, camelCase list, nested box refs.
        let (v, _) = Viability::from_json(&json!({"data": {
            "viable": "true",
            "viableBoxes": [{"box": {"_id": "b1", "name": "CTO-9"}, "dist": 10}]
        }}));
        assert!(v.viable);
        assert_eq!(
            v.boxes,
            vec![ViableBox {
                id: "b1".into(),
                name: Some("CTO-9".into()),
                distance_m: Some(10.0)
            }]
        );
        // Unknown list name with identified objects, no `viable`.
        let (v, notes) = Viability::from_json(&json!({"caixas": [{"id": "b2"}]}));
        assert!(v.viable);
        assert_eq!(v.boxes[0].id, "b2");
        assert!(notes.iter().any(|n| n.contains("caixas")));
        // A bare array.
        let (v, _) = Viability::from_json(&json!([{"id": "b3"}]));
        assert_eq!(v.boxes.len(), 1);
        // Not viable, nothing else.
        let (v, _) = Viability::from_json(&json!({"viable": false}));
        assert!(!v.viable);
        assert!(v.boxes.is_empty());
        // Garbage.
        let (v, notes) = Viability::from_json(&json!("???"));
        assert_eq!(v, Viability::default());
        assert!(!notes.is_empty());
    }

    #[test]
    fn new_property_serialises_like_the_tutorial() {
        let p = NewProperty {
            address: "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500".into(),
            lat: -27.5782336721312,
            lng: -48.527442812919624,
            observation: "Reserva de Porta".into(),
            box_id: "5da62201493d9c00066655b8".into(),
            auto_connect: true,
            force: true,
            client: NewClient {
                certified: false,
                implanted: false,
                status: 0,
                observation: "Reserva do Novo Cliente".into(),
                code: "123|123".into(),
                name: "Gabriel Marioto".into(),
            },
        };
        let tutorial = json!({ "address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
          "lat": -27.5782336721312, "lng": -48.527442812919624,
          "observation": "Reserva de Porta", "box": "5da62201493d9c00066655b8",
          "auto_connect": true, "force": true,
          "client": { "certified": false, "implanted": false, "status": 0,
                      "observation": "Reserva do Novo Cliente", "code": "123|123",
                      "name": "Gabriel Marioto" } });
        assert_eq!(serde_json::to_value(&p).unwrap(), tutorial);
        let d = format!("{p:?}");
        assert!(!d.contains("Gabriel") && !d.contains("123|123") && !d.contains("Delminda"));
    }
}
