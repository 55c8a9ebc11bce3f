//! The two stores of record: the service's database, and OZmap.

use super::{ConfigError, err, non_empty, outbound_url, within};
use crate::reserve::{Feasibility, OzmapSettings, ReserveSettings};
use crate::store::DatabaseSettings;
use clap::Args;
use secrecy::SecretString;
use std::time::Duration;

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

impl DatabaseArgs {
    pub(crate) fn check(self) -> Result<DatabaseSettings, ConfigError> {
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

impl OzmapArgs {
    pub(crate) fn check(self) -> Result<OzmapSettings, ConfigError> {
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
    /// The longest OZmap may take to commit a property after its POST: after a
    /// POST whose answer never came, nothing is sent again until the client
    /// code has been looked up this long after it and found nothing.
    #[arg(long, env = "OZMAP_COMMIT_WAIT_MS", default_value_t = 60_000)]
    pub ozmap_commit_wait_ms: u64,
}

impl ReserveArgs {
    /// `timeout`: one OZmap request's (`OZMAP_TIMEOUT_MS`); the commit wait
    /// must be longer, since a POST may still be on its way until then.
    pub(super) fn check(self, timeout: Duration) -> Result<ReserveSettings, ConfigError> {
        let radius_m = within(
            "OZMAP_RADIUS_M",
            self.ozmap_radius_m,
            1..=5_000,
            "must be between 1 and 5000 metres",
        )?;
        let commit_wait_ms = within(
            "OZMAP_COMMIT_WAIT_MS",
            self.ozmap_commit_wait_ms,
            1..=3_600_000,
            "must be between 1 and 3600000 milliseconds",
        )?;
        if u128::from(commit_wait_ms) <= timeout.as_millis() {
            return Err(err(
                "OZMAP_COMMIT_WAIT_MS",
                format!(
                    "must be longer than OZMAP_TIMEOUT_MS ({} ms): OZmap may commit a property until its POST's answer is due, and after",
                    timeout.as_millis()
                ),
            ));
        }
        Ok(ReserveSettings {
            commit_wait: Duration::from_millis(commit_wait_ms),
            ..ReserveSettings::new(radius_m, self.ozmap_force, self.ozmap_feasibility)
        })
    }
}
