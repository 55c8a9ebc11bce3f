//! The one place configuration is read: flags, each also read from an environment
//! variable, checked at start with errors that name the variable.
//!
//! Secrets (`OZMAP_TOKEN`, `TWILIO_AUTH_TOKEN`, `GOOGLE_MAPS_KEY`) are wrapped in
//! [`SecretString`] as soon as they are parsed, so no `Debug`, log line or error
//! can print them.

use clap::{Args, ValueEnum};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GeocoderKind {
    Nominatim,
    Google,
    Gazetteer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Feasibility {
    /// Boxes near the address, then each box's splitters (documented API).
    Boxes,
    /// OZmap's `ftth-viability/radius` endpoint.
    Viability,
}

/// Everything `ozmap-ivr serve` reads.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "IVR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The base URL the platform uses to reach this service; action URLs and
    /// signature checks are built from it. Default: http://<IVR_BIND>.
    #[arg(long, env = "IVR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Call-state store: sqlite://FILE (created if missing) or postgres://...
    #[arg(
        long,
        env = "IVR_DATABASE_URL",
        default_value = "sqlite://ozmap-ivr.db"
    )]
    pub database_url: String,
    /// Language of the prompts (a file prompts/<language>.toml).
    #[arg(long, env = "IVR_LANGUAGE", default_value = "pt-BR")]
    pub language: String,
    /// Text-to-speech voice.
    #[arg(long, env = "IVR_VOICE", default_value = "Polly.Camila")]
    pub voice: String,
    /// Number a caller is transferred to when the IVR cannot help (E.164).
    #[arg(long, env = "IVR_AGENT_NUMBER")]
    pub agent_number: Option<String>,
    /// Silences or unusable answers per question before the transfer or goodbye.
    #[arg(long, env = "IVR_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// Longest a webhook waits on an outside service before answering with a hold.
    #[arg(long, env = "IVR_STEP_BUDGET_MS", default_value_t = 2000)]
    pub step_budget_ms: u64,
    /// Longest a caller is kept on hold for the reservation before being told the
    /// team will call back.
    #[arg(long, env = "IVR_RESERVE_HOLD_MS", default_value_t = 25_000)]
    pub reserve_hold_ms: u64,
    /// Longest a caller is kept on hold for the geocoder.
    #[arg(long, env = "IVR_GEOCODE_HOLD_MS", default_value_t = 12_000)]
    pub geocode_hold_ms: u64,
    /// Seconds of pause between two polls while the caller holds.
    #[arg(long, env = "IVR_POLL_PAUSE_S", default_value_t = 2)]
    pub poll_pause_s: u32,
    /// Folder with edited prompt files that replace the shipped ones.
    #[arg(long, env = "IVR_PROMPTS_DIR")]
    pub prompts_dir: Option<PathBuf>,
    /// OZmap base URL (e.g. https://tenant.ozmap.com.br:9994). Unset: the built-in sandbox.
    #[arg(long, env = "OZMAP_URL")]
    pub ozmap_url: Option<String>,
    /// OZmap API key (sent raw in `Authorization`). Secret.
    #[arg(long, env = "OZMAP_TOKEN", hide_env_values = true)]
    pub ozmap_token: Option<String>,
    /// Search radius around the address, in metres.
    #[arg(long, env = "OZMAP_RADIUS_M", default_value_t = 200)]
    pub ozmap_radius_m: u32,
    /// `force` on the reservation (accept a connector without a PON port).
    #[arg(long, env = "OZMAP_FORCE", default_value_t = false, action = clap::ArgAction::Set)]
    pub ozmap_force: bool,
    /// Timeout of one OZmap request.
    #[arg(long, env = "OZMAP_TIMEOUT_MS", default_value_t = 8000)]
    pub ozmap_timeout_ms: u64,
    /// How candidate boxes are found.
    #[arg(long, env = "OZMAP_FEASIBILITY", value_enum, default_value_t = Feasibility::Boxes)]
    pub ozmap_feasibility: Feasibility,
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
    /// When set, every webhook's X-Twilio-Signature is checked. Secret.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
    /// Sandbox network file (JSON) for the built-in OZmap sandbox.
    #[arg(long, env = "SANDBOX_NETWORK")]
    pub sandbox_network: Option<PathBuf>,
    /// Bearer token for `GET /admin/reservations`; unset: the admin routes are off. Secret.
    #[arg(long, env = "IVR_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Days a call's state (personal data) is kept after its last webhook.
    #[arg(long, env = "IVR_RETENTION_DAYS", default_value_t = 7)]
    pub retention_days: u32,
    /// How long a worker's claim on a ledger row lasts; the row of a crashed
    /// instance is taken over after it. One attempt is given up well before.
    #[arg(long, env = "IVR_WORKER_LEASE_MS", default_value_t = 60_000)]
    pub worker_lease_ms: u64,
    /// First retry delay of a reservation; doubles each attempt, with jitter.
    #[arg(long, env = "IVR_RETRY_BASE_MS", default_value_t = 2_000)]
    pub retry_base_ms: u64,
    /// Transient OZmap failures in a row that open the circuit breaker (0: off).
    #[arg(long, env = "IVR_BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,
    /// How long an open breaker stops the worker before one trial attempt.
    #[arg(long, env = "IVR_BREAKER_COOLDOWN_MS", default_value_t = 30_000)]
    pub breaker_cooldown_ms: u64,
    /// On SIGTERM, how long the reservation in hand may go on before the worker
    /// lets the row go (another instance, or the next start, picks it up).
    #[arg(long, env = "IVR_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// The configuration after checking: URLs parsed, secrets wrapped.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    pub database_url: String,
    pub language: String,
    pub voice: String,
    pub agent_number: Option<String>,
    pub max_attempts: u32,
    pub step_budget_ms: u64,
    pub reserve_hold_ms: u64,
    pub geocode_hold_ms: u64,
    pub poll_pause_s: u32,
    pub prompts_dir: Option<PathBuf>,
    /// `None`: the built-in sandbox.
    pub ozmap_url: Option<Url>,
    pub ozmap_token: Option<SecretString>,
    pub ozmap_radius_m: u32,
    pub ozmap_force: bool,
    pub ozmap_timeout_ms: u64,
    pub ozmap_feasibility: Feasibility,
    pub geocoder: GeocoderKind,
    pub geocoder_url: Option<Url>,
    pub google_maps_key: Option<SecretString>,
    pub gazetteer_file: Option<PathBuf>,
    pub cep_url: Option<Url>,
    pub twilio_auth_token: Option<SecretString>,
    pub sandbox_network: Option<PathBuf>,
    pub admin_token: Option<SecretString>,
    pub retention_days: u32,
    /// Lease, retries, circuit breaker and shutdown grace of the reservation worker.
    pub worker: crate::worker::WorkerSettings,
}

fn parse_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| err(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(var, "must be an http or https URL"));
    }
    Ok(url)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl ServeArgs {
    pub fn validate(self) -> Result<Config, ConfigError> {
        let worker = self.worker_settings()?;
        let public_url = match non_empty(self.public_url) {
            Some(u) => parse_url("IVR_PUBLIC_URL", &u)?
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            None => format!("http://{}", self.bind),
        };
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "IVR_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > 10 {
            return Err(err("IVR_MAX_ATTEMPTS", "must be between 1 and 10"));
        }
        if !(100..=10_000).contains(&self.step_budget_ms) {
            return Err(err(
                "IVR_STEP_BUDGET_MS",
                "must be between 100 and 10000 (the platform allows 15 s per answer)",
            ));
        }
        if self.ozmap_timeout_ms == 0 {
            return Err(err("OZMAP_TIMEOUT_MS", "must be greater than 0"));
        }
        if self.ozmap_radius_m == 0 || self.ozmap_radius_m > 5_000 {
            return Err(err("OZMAP_RADIUS_M", "must be between 1 and 5000 metres"));
        }
        if self.retention_days == 0 {
            return Err(err("IVR_RETENTION_DAYS", "must be at least 1"));
        }
        if self.poll_pause_s == 0 || self.poll_pause_s > 10 {
            return Err(err("IVR_POLL_PAUSE_S", "must be between 1 and 10"));
        }
        let agent_number = non_empty(self.agent_number);
        if let Some(n) = &agent_number {
            let digits = n.strip_prefix('+').unwrap_or(n);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 15
            {
                return Err(err(
                    "IVR_AGENT_NUMBER",
                    "must be a phone number in E.164 form, e.g. +5548999990000",
                ));
            }
        }
        let ozmap_url = non_empty(self.ozmap_url)
            .map(|u| parse_url("OZMAP_URL", &u))
            .transpose()?;
        let ozmap_token = non_empty(self.ozmap_token).map(SecretString::from);
        if ozmap_url.is_some() && ozmap_token.is_none() {
            return Err(err("OZMAP_TOKEN", "is required when OZMAP_URL is set"));
        }
        let geocoder_url = non_empty(self.geocoder_url)
            .map(|u| parse_url("GEOCODER_URL", &u))
            .transpose()?;
        let cep_url = non_empty(self.cep_url)
            .map(|u| parse_url("CEP_URL", &u))
            .transpose()?;
        let google_maps_key = non_empty(self.google_maps_key).map(SecretString::from);
        let geocoder = match self.geocoder {
            Some(g) => g,
            None if self.gazetteer_file.is_some() || ozmap_url.is_none() => GeocoderKind::Gazetteer,
            None => GeocoderKind::Nominatim,
        };
        match geocoder {
            GeocoderKind::Nominatim if geocoder_url.is_none() => {
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
        if let Some(f) = &self.prompts_dir
            && !f.is_dir()
        {
            return Err(err(
                "IVR_PROMPTS_DIR",
                format!("{} is not a folder", f.display()),
            ));
        }
        Ok(Config {
            bind: self.bind,
            public_url,
            database_url: self.database_url,
            language: self.language,
            voice: self.voice,
            agent_number,
            max_attempts: self.max_attempts,
            step_budget_ms: self.step_budget_ms,
            reserve_hold_ms: self.reserve_hold_ms,
            geocode_hold_ms: self.geocode_hold_ms,
            poll_pause_s: self.poll_pause_s,
            prompts_dir: self.prompts_dir,
            ozmap_url,
            ozmap_token,
            ozmap_radius_m: self.ozmap_radius_m,
            ozmap_force: self.ozmap_force,
            ozmap_timeout_ms: self.ozmap_timeout_ms,
            ozmap_feasibility: self.ozmap_feasibility,
            geocoder,
            geocoder_url,
            google_maps_key,
            gazetteer_file: self.gazetteer_file,
            cep_url,
            twilio_auth_token: non_empty(self.twilio_auth_token).map(SecretString::from),
            sandbox_network: self.sandbox_network,
            admin_token: non_empty(self.admin_token).map(SecretString::from),
            retention_days: self.retention_days,
            worker,
        })
    }

    fn worker_settings(&self) -> Result<crate::worker::WorkerSettings, ConfigError> {
        if !(2_000..=600_000).contains(&self.worker_lease_ms) {
            return Err(err(
                "IVR_WORKER_LEASE_MS",
                "must be between 2000 and 600000 milliseconds",
            ));
        }
        if !(10..=600_000).contains(&self.retry_base_ms) {
            return Err(err(
                "IVR_RETRY_BASE_MS",
                "must be between 10 and 600000 milliseconds",
            ));
        }
        if self.breaker_failures > 1_000 {
            return Err(err("IVR_BREAKER_FAILURES", "must be between 0 and 1000"));
        }
        if !(10..=3_600_000).contains(&self.breaker_cooldown_ms) {
            return Err(err(
                "IVR_BREAKER_COOLDOWN_MS",
                "must be between 10 and 3600000 milliseconds",
            ));
        }
        if self.shutdown_grace_ms > 60_000 {
            return Err(err(
                "IVR_SHUTDOWN_GRACE_MS",
                "must be at most 60000 milliseconds",
            ));
        }
        let defaults = crate::worker::WorkerSettings::default();
        Ok(crate::worker::WorkerSettings {
            lease_ms: self.worker_lease_ms as i64,
            backoff_base_ms: self.retry_base_ms as i64,
            backoff_max_ms: defaults.backoff_max_ms.max(self.retry_base_ms as i64),
            breaker_failures: self.breaker_failures,
            breaker_cooldown_ms: self.breaker_cooldown_ms,
            shutdown_grace_ms: self.shutdown_grace_ms,
            ..defaults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use secrecy::ExposeSecret;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut v = vec!["ozmap-ivr"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v)
            .expect("flags parse")
            .serve
            .validate()
    }

    #[test]
    fn defaults_run_on_the_sandbox_and_the_gazetteer() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(c.ozmap_url.is_none());
        assert_eq!(c.geocoder, GeocoderKind::Gazetteer);
        assert_eq!(
            (c.max_attempts, c.step_budget_ms, c.ozmap_radius_m),
            (3, 2000, 200)
        );
        assert!(!c.ozmap_force);
        assert_eq!(c.worker, crate::worker::WorkerSettings::default());
    }

    #[test]
    fn worker_settings_come_from_the_flags() {
        let c = parse(&[
            "--worker-lease-ms=3000",
            "--retry-base-ms=200",
            "--breaker-failures=0",
            "--breaker-cooldown-ms=1000",
            "--shutdown-grace-ms=0",
        ])
        .unwrap();
        assert_eq!(
            (
                c.worker.lease_ms,
                c.worker.backoff_base_ms,
                c.worker.breaker_failures,
                c.worker.breaker_cooldown_ms,
                c.worker.shutdown_grace_ms
            ),
            (3_000, 200, 0, 1_000, 0)
        );
    }

    #[test]
    fn errors_name_the_variable() {
        let cases: &[(&[&str], &str)] = &[
            (&["--ozmap-url=https://x.ozmap.com.br:9994"], "OZMAP_TOKEN"),
            (&["--ozmap-url=ftp://x", "--ozmap-token=t"], "OZMAP_URL"),
            (&["--public-url=not a url"], "IVR_PUBLIC_URL"),
            (&["--database-url=mysql://x"], "IVR_DATABASE_URL"),
            (&["--max-attempts=0"], "IVR_MAX_ATTEMPTS"),
            (&["--step-budget-ms=20000"], "IVR_STEP_BUDGET_MS"),
            (&["--agent-number=call me"], "IVR_AGENT_NUMBER"),
            (&["--geocoder=google"], "GOOGLE_MAPS_KEY"),
            (
                &["--ozmap-url=https://x", "--ozmap-token=t"],
                "GEOCODER_URL",
            ),
            (&["--gazetteer-file=/no/such/file.csv"], "GAZETTEER_FILE"),
            (&["--worker-lease-ms=500"], "IVR_WORKER_LEASE_MS"),
            (&["--retry-base-ms=0"], "IVR_RETRY_BASE_MS"),
            (&["--breaker-cooldown-ms=0"], "IVR_BREAKER_COOLDOWN_MS"),
            (&["--shutdown-grace-ms=120000"], "IVR_SHUTDOWN_GRACE_MS"),
        ];
        for (args, var) in cases {
            let e = parse(args).unwrap_err();
            assert_eq!(e.var, *var, "{args:?}: {e}");
            assert!(e.to_string().contains(var));
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = parse(&[
            "--ozmap-url=https://x.ozmap.com.br:9994",
            "--ozmap-token=s3cr3t-t0ken",
            "--geocoder=gazetteer",
        ])
        .unwrap();
        assert_eq!(
            c.ozmap_token.as_ref().unwrap().expose_secret(),
            "s3cr3t-t0ken"
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
