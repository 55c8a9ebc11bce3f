//! The answer of `ftth-viability/radius`, whose box lists are not documented.

use super::{Ref, lenient};
use serde_json::Value;

/// A box that `ftth-viability/radius` offers.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ViableBox {
    pub id: String,
    pub name: Option<String>,
    /// Distance from the address in metres, when the answer gives one.
    pub distance_m: Option<f64>,
    /// The box's project id, when the answer carries it (on the item or on a
    /// populated `box`); otherwise the procedure reads the box.
    pub project: Option<String>,
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
        let project = m
            .get("project")
            .or_else(|| m.get("box").and_then(|b| b.get("project")))
            .and_then(Ref::from_value)
            .map(|r| r.id().to_string());
        out.push(ViableBox {
            id,
            name,
            distance_m,
            project,
        });
    }
    if skipped > 0 {
        notes.push(format!(
            "skipped {skipped} items of `{field}` without an id"
        ));
    }
}
