//! The bodies written to OZmap. Their `Debug` output hides the personal data.

use serde::Serialize;
use std::fmt;

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

/// `POST /api/v2/properties`: the documented tutorial's fields, plus what the
/// official SDK's `CreatePropertyDTOSchema` requires (`project`, and the position
/// as `coords`), so the body satisfies both.
#[derive(Clone, PartialEq, Serialize)]
pub struct NewProperty {
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    /// The same position as `lat`/`lng`, `[lng, lat]` (GeoJSON order).
    pub coords: [f64; 2],
    /// The box's project id; left out when the box named none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
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
            .field("project", &self.project)
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
