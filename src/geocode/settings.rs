//! What the configuration says about geocoding, checked (by `config`), and the
//! locator it builds.

use super::gazetteer::Gazetteer;
use super::{GeoError, Locator, ServiceArea};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Which geocoder (`GEOCODER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GeocoderKind {
    Nominatim,
    Google,
    Gazetteer,
}

/// The geocoder and CEP source, checked; [`GeocoderSettings::locator`] builds them.
#[derive(Clone, Debug)]
pub(crate) struct GeocoderSettings {
    pub kind: GeocoderKind,
    /// The Nominatim server, or another base for Google's API.
    pub url: Option<Url>,
    pub google_maps_key: Option<SecretString>,
    /// `None`: the bundled gazetteer.
    pub gazetteer_file: Option<PathBuf>,
    pub cep_url: Option<Url>,
    /// Timeout of one request: the geocoding hold, kept within 0.5–10 s.
    pub request_timeout: Duration,
    /// `IVR_SERVICE_AREA`; `None`: see [`GeocoderSettings::resolve_area`].
    pub service_area: Option<ServiceArea>,
}

impl GeocoderSettings {
    /// The geocoder and the CEP source these settings name.
    pub(crate) fn locator(&self) -> Result<Locator, GeoError> {
        Locator::from_settings(self)
    }

    /// Whether the bundled demonstration gazetteer is the geocoder.
    pub(crate) fn uses_bundled_gazetteer(&self) -> bool {
        self.kind == GeocoderKind::Gazetteer && self.gazetteer_file.is_none()
    }

    /// The area every lookup is bounded by: `IVR_SERVICE_AREA` when set; else
    /// the cities of the gazetteer when it is the geocoder or `GAZETTEER_FILE`
    /// names the ISP's own file (`gazetteer` loads it, once); else Brazil.
    ///
    /// The cities of the OZmap boxes would be another source, but a box carries
    /// coordinates, not a city: naming their cities would take a reverse
    /// geocode of every box at start (slow for a large network, and against the
    /// public Nominatim's usage policy), and the box list is only ever asked
    /// for near an address. So they are not used.
    pub(crate) fn resolve_area(
        &self,
        gazetteer: impl FnOnce() -> Result<Arc<Gazetteer>, GeoError>,
    ) -> Result<ServiceArea, GeoError> {
        if let Some(area) = &self.service_area {
            return Ok(area.clone());
        }
        if self.kind == GeocoderKind::Gazetteer || self.gazetteer_file.is_some() {
            return Ok(ServiceArea::of_cities(gazetteer()?.cities()));
        }
        Ok(ServiceArea::Brazil)
    }
}
