//! What the configuration says about geocoding, checked (by `config`), and the
//! locator it builds.

use super::{GeoError, Locator};
use secrecy::SecretString;
use std::path::PathBuf;
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
}
