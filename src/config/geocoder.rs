//! Which geocoder turns what the caller said into coordinates, and where CEPs
//! are looked up.

use super::{ConfigError, err, non_empty, outbound_url};
use crate::geocode::{GeocoderKind, GeocoderSettings, ServiceArea};
use clap::Args;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// Shortest and longest timeout of one geocoder request.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Geocoding")]
pub struct GeocoderArgs {
    /// Geocoder. Default: gazetteer when GAZETTEER_FILE is set or OZmap is the
    /// sandbox, else nominatim.
    #[arg(long, env = "GEOCODER", value_enum)]
    pub geocoder: Option<GeocoderKind>,
    /// A Nominatim-compatible server (`/search?q=…&format=jsonv2`).
    #[arg(long, env = "GEOCODER_URL")]
    pub geocoder_url: Option<String>,
    /// Google Geocoding API key. Secret.
    #[arg(long, env = "GOOGLE_MAPS_KEY", hide_env_values = true)]
    pub google_maps_key: Option<String>,
    /// CSV of the ISP's own addresses with coordinates. Default: the bundled one.
    #[arg(long, env = "GAZETTEER_FILE")]
    pub gazetteer_file: Option<PathBuf>,
    /// A ViaCEP-compatible server (`/ws/{cep}/json/`). Unset: CEPs from the gazetteer.
    #[arg(long, env = "CEP_URL")]
    pub cep_url: Option<String>,
    /// The ISP's service area, which bounds every lookup: cities
    /// (`Florianópolis-SC,São José-SC`, the `-UF` optional) or a box
    /// (`lat1,lng1,lat2,lng2`). Default: the gazetteer's cities when it is the
    /// geocoder or GAZETTEER_FILE is set, else Brazil.
    #[arg(long, env = "IVR_SERVICE_AREA", allow_hyphen_values = true)]
    pub service_area: Option<String>,
}

impl GeocoderArgs {
    /// `sandbox`: OZmap is the built-in sandbox (the gazetteer is then the
    /// default geocoder); `hold`: how long a caller holds for the geocoder.
    pub(super) fn check(
        self,
        sandbox: bool,
        hold: Duration,
    ) -> Result<GeocoderSettings, ConfigError> {
        let url = outbound_url("GEOCODER_URL", self.geocoder_url)?;
        let cep_url = outbound_url("CEP_URL", self.cep_url)?;
        let google_maps_key = non_empty(self.google_maps_key).map(SecretString::from);
        let kind = match self.geocoder {
            Some(g) => g,
            None if self.gazetteer_file.is_some() || sandbox => GeocoderKind::Gazetteer,
            None => GeocoderKind::Nominatim,
        };
        match kind {
            GeocoderKind::Nominatim if url.is_none() => {
                return Err(err(
                    "GEOCODER_URL",
                    "is required with GEOCODER=nominatim (a Nominatim-compatible server)",
                ));
            }
            GeocoderKind::Google if google_maps_key.is_none() => {
                return Err(err("GOOGLE_MAPS_KEY", "is required with GEOCODER=google"));
            }
            _ => {}
        }
        if let Some(f) = &self.gazetteer_file
            && !f.is_file()
        {
            return Err(err(
                "GAZETTEER_FILE",
                format!("{} is not a readable file", f.display()),
            ));
        }
        let service_area = non_empty(self.service_area)
            .map(|raw| ServiceArea::parse(&raw).map_err(|why| err("IVR_SERVICE_AREA", why)))
            .transpose()?;
        Ok(GeocoderSettings {
            kind,
            url,
            google_maps_key,
            gazetteer_file: self.gazetteer_file,
            cep_url,
            request_timeout: hold.clamp(MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT),
            service_area,
        })
    }
}
