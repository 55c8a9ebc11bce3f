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
//! ([`NewProperty`], [`NewProspect`]) serialise like the documented tutorial
//! (the property adds the SDK schema's `project` and `coords`).
//!
//! Personal data: a populated `client` carries the client's name, and the bodies
//! carry name, code, phone and address; the `Debug` output of these types never
//! prints them.

mod bodies;
mod network;
mod property;
mod viability;

pub use bodies::{NewClient, NewProperty, NewProspect};
pub use network::{BoxInfo, Splitter, SplitterPort};
pub use property::{Connection, Property};
pub use viability::{Viability, ViableBox};

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
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

/// `id`, else `_id`: the id of a read entity (empty when it has neither).
fn pick_id(id: Option<String>, underscore: Option<String>) -> String {
    id.filter(|s| !s.is_empty())
        .or(underscore)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
