//! The sandbox's network description: a project, its boxes (CTOs) and their
//! splitters, read from JSON (`data/sandbox-network.json` is compiled in; another
//! file can be given by path).
//!
//! The file is data, not code, so it is checked when loaded: ids are 24-hex and
//! unique, every splitter names an existing box, port numbers are in range. A
//! mistake is reported with the file's name and the offending entry, never a panic.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The built-in network, compiled into the binary.
const BUILTIN_JSON: &str = include_str!("../../../data/sandbox-network.json");

/// Largest splitter the file may describe (1x128 is already unusual).
const MAX_PORTS: u16 = 128;

/// Why a network could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox network {}: cannot read the file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sandbox network {origin}: not a valid network file: {source}")]
    Parse {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("sandbox network {origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// The project every box belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkProject {
    pub id: String,
    pub name: String,
}

/// A box (CTO).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkBox {
    /// 24-hex id.
    pub id: String,
    /// Human code, e.g. `CTO-AGR-01`.
    pub name: String,
    pub lat: f64,
    pub lng: f64,
    /// "Em projeto": never takes a client.
    #[serde(default)]
    pub draft: bool,
    #[serde(default = "yes")]
    pub implanted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<String>,
}

fn yes() -> bool {
    true
}

/// A splitter inside a box.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSplitter {
    /// 24-hex id.
    pub id: String,
    pub name: String,
    /// Id of the box that holds it.
    pub parent: String,
    /// A service (drop) splitter: its output ports feed clients. A feeder
    /// (`false`) must never be given to a client.
    #[serde(rename = "isDrop")]
    pub is_drop: bool,
    /// Its input is connected to a PON port. Without it, only `force: true`
    /// reservations may use it.
    pub pon: bool,
    /// Number of output ports.
    pub ports: u16,
    /// Output ports already taken (1-based).
    #[serde(default)]
    pub used: Vec<u16>,
    /// Output ports that must not be used (1-based).
    #[serde(default)]
    pub blocked: Vec<u16>,
}

/// A whole sandbox network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Free text for the people who edit the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub project: NetworkProject,
    pub boxes: Vec<NetworkBox>,
    pub splitters: Vec<NetworkSplitter>,
}

/// The port a reservation would get: see [`Network::plan_reservation`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPort {
    pub box_id: String,
    pub box_name: String,
    pub splitter_id: String,
    pub splitter_name: String,
    /// 1-based.
    pub port: u16,
}

impl Network {
    /// The network shipped in `data/sandbox-network.json`.
    ///
    /// # Panics
    /// Only if the file compiled into the binary is broken, which the module's
    /// tests rule out.
    pub fn builtin() -> Network {
        match Self::from_json("built-in", BUILTIN_JSON) {
            Ok(n) => n,
            Err(e) => panic!("the built-in sandbox network is broken: {e}"),
        }
    }

    /// Reads and checks a network file.
    pub fn from_file(path: &Path) -> Result<Network, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&path.display().to_string(), &text)
    }

    /// Parses and checks a network given as JSON text; `origin` names it in errors.
    pub fn from_json(origin: &str, text: &str) -> Result<Network, SandboxError> {
        let network: Network =
            serde_json::from_str(text).map_err(|source| SandboxError::Parse {
                origin: origin.to_string(),
                source,
            })?;
        network
            .validate()
            .map_err(|message| SandboxError::Invalid {
                origin: origin.to_string(),
                message,
            })?;
        Ok(network)
    }

    /// Checks ids, references, coordinates and port numbers.
    pub fn validate(&self) -> Result<(), String> {
        if !is_object_id(&self.project.id) {
            return Err(format!(
                "project id {:?} is not 24 hex digits",
                self.project.id
            ));
        }
        let mut ids = HashSet::new();
        ids.insert(self.project.id.as_str());
        let mut box_ids = HashSet::new();
        for b in &self.boxes {
            if !is_object_id(&b.id) {
                return Err(format!("box {:?}: id is not 24 hex digits", b.id));
            }
            if !ids.insert(b.id.as_str()) {
                return Err(format!("box {:?}: id used twice", b.id));
            }
            box_ids.insert(b.id.as_str());
            if b.name.trim().is_empty() {
                return Err(format!("box {:?}: name is empty", b.id));
            }
            if !valid_lat_lng(b.lat, b.lng) {
                return Err(format!("box {:?}: lat/lng out of range", b.id));
            }
        }
        for s in &self.splitters {
            if !is_object_id(&s.id) {
                return Err(format!("splitter {:?}: id is not 24 hex digits", s.id));
            }
            if !ids.insert(s.id.as_str()) {
                return Err(format!("splitter {:?}: id used twice", s.id));
            }
            if s.name.trim().is_empty() {
                return Err(format!("splitter {:?}: name is empty", s.id));
            }
            if !box_ids.contains(s.parent.as_str()) {
                return Err(format!(
                    "splitter {:?}: parent {:?} is not a box of this file",
                    s.id, s.parent
                ));
            }
            if s.ports == 0 || s.ports > MAX_PORTS {
                return Err(format!(
                    "splitter {:?}: ports must be between 1 and {MAX_PORTS}",
                    s.id
                ));
            }
            for (what, list) in [("used", &s.used), ("blocked", &s.blocked)] {
                if let Some(p) = list.iter().find(|p| **p == 0 || **p > s.ports) {
                    return Err(format!(
                        "splitter {:?}: {what} port {p} is not between 1 and {}",
                        s.id, s.ports
                    ));
                }
            }
        }
        Ok(())
    }

    /// What a well-behaved client would get for an address at `lat`/`lng`:
    /// boxes within `radius_m` (haversine), nearest first, drafts skipped, and the
    /// first box whose drop splitters have a free, unblocked port connected to a
    /// PON (or any drop splitter when `force`), lowest port first. `None`: no
    /// coverage. This is the same allocator that `POST /properties` uses.
    pub fn plan_reservation(
        &self,
        lat: f64,
        lng: f64,
        radius_m: f64,
        force: bool,
    ) -> Option<PlannedPort> {
        super::state::World::new(self).plan(lat, lng, radius_m, force)
    }
}

/// 24 lowercase or uppercase hex digits (a Mongo ObjectId).
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn valid_lat_lng(lat: f64, lng: f64) -> bool {
    lat.is_finite()
        && lng.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lng)
}
