//! The clients of the properties: read by id, changed by a PATCH (activation
//! sets `implanted: true`).

use super::World;
use serde_json::{Value, json};

/// The fields of a client a `PATCH /ftth-clients/{id}` may change.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientPatch {
    pub implanted: Option<bool>,
    pub certified: Option<bool>,
    pub status: Option<i64>,
    pub observation: Option<String>,
}

impl World {
    /// Applies `patch` to the client `id` of a live property; `false` when
    /// no live property has that client.
    pub(crate) fn patch_client(&mut self, id: &str, patch: &ClientPatch) -> bool {
        let Some(p) = self.properties.iter_mut().find(|p| p.client.id == id) else {
            return false;
        };
        let c = &mut p.client;
        if let Some(v) = patch.implanted {
            c.implanted = v;
        }
        if let Some(v) = patch.certified {
            c.certified = v;
        }
        if let Some(v) = patch.status {
            c.status = v;
        }
        if let Some(v) = &patch.observation {
            c.observation = Some(v.clone());
        }
        true
    }

    /// The FTTHClient of a live property, by the client's id.
    pub(crate) fn client_json(&self, id: &str) -> Option<Value> {
        let p = self.properties.iter().find(|p| p.client.id == id)?;
        Some(json!({
            "id": p.client.id,
            "kind": "FTTHClient",
            "code": p.client.code,
            "name": p.client.name,
            "implanted": p.client.implanted,
            "certified": p.client.certified,
            "status": p.client.status,
            "observation": p.client.observation,
            "property": p.id,
        }))
    }
}
