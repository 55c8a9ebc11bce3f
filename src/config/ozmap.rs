//! The two stores of record: the service's database, and OZmap.

use super::{ConfigError, err, non_empty, outbound_url, within};
use crate::reserve::{Feasibility, ReserveSettings};
use crate::store::{Store, StoreError};
use clap::Args;
use ozmap_client::{OzmapClient, OzmapError};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Store")]
pub struct DatabaseArgs {
    /// Call-state store and reservation ledger: sqlite://FILE (created if
    /// missing) or postgres://...
    #[arg(
        long,
        env = "IVR_DATABASE_URL",
        default_value = "sqlite://ozmap-ivr.db",
        global = true
    )]
    pub database_url: String,
}

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    pub url: String,
}

impl DatabaseArgs {
    pub fn check(self) -> Result<DatabaseSettings, ConfigError> {
        let url = self.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(err(
                "IVR_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        Ok(DatabaseSettings { url })
    }
}

impl DatabaseSettings {
    /// Opens the store (and migrates it).
    pub async fn connect(&self) -> Result<Store, StoreError> {
        Store::connect(&self.url).await
    }
}

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OZmap")]
pub struct OzmapArgs {
    /// OZmap base URL (e.g. https://tenant.ozmap.com.br:9994). Unset: the built-in sandbox.
    #[arg(long, env = "OZMAP_URL")]
    pub ozmap_url: Option<String>,
    /// OZmap API key (sent raw in `Authorization`). Secret.
    #[arg(long, env = "OZMAP_TOKEN", hide_env_values = true)]
    pub ozmap_token: Option<String>,
    /// Timeout of one OZmap request.
    #[arg(long, env = "OZMAP_TIMEOUT_MS", default_value_t = 8000)]
    pub ozmap_timeout_ms: u64,
}

/// Where OZmap is, and how long one request may take.
#[derive(Clone, Debug)]
pub struct OzmapSettings {
    /// `None`: no OZmap is configured; `serve` starts the built-in sandbox and
    /// points here at it ([`OzmapSettings::use_sandbox`]).
    pub api: Option<(Url, SecretString)>,
    pub timeout: Duration,
}

impl OzmapArgs {
    pub fn check(self) -> Result<OzmapSettings, ConfigError> {
        let timeout_ms = within(
            "OZMAP_TIMEOUT_MS",
            self.ozmap_timeout_ms,
            1..=u64::MAX,
            "must be greater than 0",
        )?;
        let url = outbound_url("OZMAP_URL", self.ozmap_url)?;
        let token = non_empty(self.ozmap_token).map(SecretString::from);
        let api = match (url, token) {
            (Some(url), Some(token)) => Some((url, token)),
            (Some(_), None) => {
                return Err(err("OZMAP_TOKEN", "is required when OZMAP_URL is set"));
            }
            (None, _) => None,
        };
        Ok(OzmapSettings {
            api,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

impl OzmapSettings {
    /// No OZmap configured: the built-in sandbox stands in.
    pub fn is_sandbox(&self) -> bool {
        self.api.is_none()
    }

    /// Points at a sandbox started for this process.
    pub fn use_sandbox(&mut self, url: Url, token: SecretString) {
        self.api = Some((url, token));
    }

    /// The client of the configured OZmap.
    pub fn client(&self) -> Result<OzmapClient, OzmapError> {
        let Some((url, token)) = &self.api else {
            return Err(OzmapError::InvalidConfig(
                "no OZmap configured (OZMAP_URL and OZMAP_TOKEN)".into(),
            ));
        };
        OzmapClient::new(url.clone(), token.clone(), self.timeout)
    }
}

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OZmap")]
pub struct ReserveArgs {
    /// Search radius around the address, in metres.
    #[arg(long, env = "OZMAP_RADIUS_M", default_value_t = 200)]
    pub ozmap_radius_m: u32,
    /// `force` on the reservation (accept a connector without a PON port).
    #[arg(long, env = "OZMAP_FORCE", default_value_t = false, action = clap::ArgAction::Set)]
    pub ozmap_force: bool,
    /// How candidate boxes are found.
    #[arg(long, env = "OZMAP_FEASIBILITY", value_enum, default_value_t = Feasibility::Boxes)]
    pub ozmap_feasibility: Feasibility,
}

impl ReserveArgs {
    pub(super) fn check(self) -> Result<ReserveSettings, ConfigError> {
        let radius_m = within(
            "OZMAP_RADIUS_M",
            self.ozmap_radius_m,
            1..=5_000,
            "must be between 1 and 5000 metres",
        )?;
        Ok(ReserveSettings::new(
            radius_m,
            self.ozmap_force,
            self.ozmap_feasibility,
        ))
    }
}
