//! The one place configuration is read: flags, each also read from an environment
//! variable, checked at start with errors that name the variable.
//!
//! Secrets (`OZMAP_TOKEN`, `TWILIO_AUTH_TOKEN`, `TWILIO_WEBHOOK_KEYS`,
//! `SIGNALWIRE_SIGNING_KEY`, `GOOGLE_MAPS_KEY`, `IVR_ADMIN_TOKEN`, the password in
//! `IVR_PUBLIC_URL`) are wrapped in [`SecretString`] as soon as they are parsed, so
//! no `Debug`, log line or error can print them.
//!
//! Security policy checked here, at start, rather than discovered on the first call:
//! - with a real OZmap (`OZMAP_URL` set) the service refuses to start without a
//!   webhook signing secret, unless `--allow-unsigned` says so on purpose (the web
//!   layer then warns on every request); the built-in sandbox accepts unsigned
//!   requests (one warning at start);
//! - outbound URLs (`OZMAP_URL`, `GEOCODER_URL`, which is also the Google base, and
//!   `CEP_URL`) must be `https` unless they point at loopback, so a token or an
//!   address never crosses a network in clear.

pub mod prompts;

pub use crate::reserve::Feasibility;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use url::Url;
use webhook_signature::SignatureSettings;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GeocoderKind {
    Nominatim,
    Google,
    Gazetteer,
}

/// Everything `ozmap-ivr serve` reads.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "IVR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The base URL the platform uses to reach this service; action URLs and
    /// signature checks are built from it. Default: http://<IVR_BIND>. With
    /// `user:password@` in it, webhooks require that HTTP basic auth.
    #[arg(long, env = "IVR_PUBLIC_URL", hide_env_values = true)]
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
    /// Twilio webhook-rule shared keys (HMAC-SHA256 variant) as `id=key,id2=key2`. Secret.
    #[arg(long, env = "TWILIO_WEBHOOK_KEYS", hide_env_values = true)]
    pub twilio_webhook_keys: Option<String>,
    /// SignalWire project signing key (X-SignalWire-Signature). Secret.
    #[arg(long, env = "SIGNALWIRE_SIGNING_KEY", hide_env_values = true)]
    pub signalwire_signing_key: Option<String>,
    /// Telnyx account public key (Ed25519; Base64, hex or PEM).
    #[arg(long, env = "TELNYX_PUBLIC_KEY")]
    pub telnyx_public_key: Option<String>,
    /// Accept unsigned webhooks with a real OZmap (no signing secret configured).
    /// Meant for a first try behind a private network; warns on every request.
    #[arg(long, env = "IVR_ALLOW_UNSIGNED")]
    pub allow_unsigned: bool,
    /// New calls per caller number (`From`) per minute; 0: no limit.
    #[arg(long, env = "IVR_RATE_CALLS_PER_MINUTE", default_value_t = 3)]
    pub rate_calls_per_minute: u32,
    /// Webhook requests per source address per second (burst twice that); 0: no limit.
    /// A platform sends every call's webhooks from a few addresses of its own, so
    /// this is a guard against floods, set well above a busy ISP's peak.
    #[arg(long, env = "IVR_RATE_REQUESTS_PER_SECOND", default_value_t = 200)]
    pub rate_requests_per_second: u32,
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

/// HTTP basic auth the webhooks require (from `user:password@` in `IVR_PUBLIC_URL`).
#[derive(Clone, Debug)]
pub struct WebhookAuth {
    /// Decoded, as the `Authorization: Basic` header carries it.
    pub user: String,
    /// Decoded.
    pub password: SecretString,
    /// `user:password` exactly as written in the URL (percent-encoded), to rebuild
    /// the URL the platform signs.
    userinfo: SecretString,
}

/// The configuration after checking: URLs parsed, secrets wrapped.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    /// Without a trailing slash and without credentials (safe to log).
    pub public_url: String,
    /// The credentials that were in `IVR_PUBLIC_URL`, if any.
    pub webhook_auth: Option<WebhookAuth>,
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
    /// Every webhook signing key; none: unsigned requests (see `allow_unsigned`).
    pub signatures: SignatureSettings,
    /// Unsigned webhooks accepted with a real OZmap (`--allow-unsigned`).
    pub allow_unsigned: bool,
    pub rate_calls_per_minute: u32,
    pub rate_requests_per_second: u32,
    pub sandbox_network: Option<PathBuf>,
    pub admin_token: Option<SecretString>,
    pub retention_days: u32,
    /// Lease, retries, circuit breaker and shutdown grace of the reservation worker.
    pub worker: crate::worker::WorkerSettings,
}

impl Config {
    /// The public URL as the platform calls it, credentials included: the base of
    /// every action URL and of every signed URL (Twilio signs the URL with the
    /// `user:password@` in it). Holds the basic-auth password: never log it.
    pub fn platform_base_url(&self) -> String {
        match &self.webhook_auth {
            None => self.public_url.clone(),
            Some(auth) => match self.public_url.split_once("://") {
                Some((scheme, rest)) => {
                    format!("{scheme}://{}@{rest}", auth.userinfo.expose_secret())
                }
                None => self.public_url.clone(),
            },
        }
    }

    /// Whether webhooks are checked against a signing key.
    pub fn signatures_enforced(&self) -> bool {
        self.signatures.any()
    }
}

fn parse_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| err(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(var, "must be an http or https URL"));
    }
    Ok(url)
}

/// `https`, or `http` to a loopback host (127.0.0.0/8, ::1, localhost): a token or
/// a caller's address must not cross a network in clear.
fn require_tls_unless_loopback(var: &'static str, url: &Url) -> Result<(), ConfigError> {
    if url.scheme() == "https" || is_loopback(url) {
        return Ok(());
    }
    Err(err(
        var,
        "must be an https URL (plain http is allowed only to loopback: 127.0.0.1, ::1, localhost)",
    ))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).to_canonical().is_loopback(),
        None => false,
    }
}

/// `%XX` escapes into bytes; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `id=key,id2=key2` → the Twilio shared keys.
fn parse_webhook_keys(raw: &str) -> Result<Vec<(String, SecretString)>, ConfigError> {
    let mut keys = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((id, key)) = part.split_once('=') else {
            return Err(err(
                "TWILIO_WEBHOOK_KEYS",
                "must be a list of id=key pairs separated by commas",
            ));
        };
        let (id, key) = (id.trim(), key.trim());
        if id.is_empty() || key.is_empty() {
            return Err(err(
                "TWILIO_WEBHOOK_KEYS",
                "every entry needs a key id and a key (id=key)",
            ));
        }
        if keys.iter().any(|(k, _): &(String, SecretString)| k == id) {
            return Err(err("TWILIO_WEBHOOK_KEYS", "a key id appears twice"));
        }
        keys.push((id.to_string(), SecretString::from(key.to_string())));
    }
    Ok(keys)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl ServeArgs {
    pub fn validate(self) -> Result<Config, ConfigError> {
        let worker = self.worker_settings()?;
        let (public_url, webhook_auth) = match non_empty(self.public_url) {
            Some(u) => {
                let mut url = parse_url("IVR_PUBLIC_URL", &u)?;
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(err(
                        "IVR_PUBLIC_URL",
                        "must not carry a query or a fragment",
                    ));
                }
                let auth = match (url.username(), url.password()) {
                    ("", None) => None,
                    (user, Some(pass)) if !user.is_empty() && !pass.is_empty() => {
                        let decode = |s: &str| {
                            percent_decode(s).ok_or_else(|| {
                                err("IVR_PUBLIC_URL", "credentials are not valid UTF-8")
                            })
                        };
                        Some(WebhookAuth {
                            user: decode(user)?,
                            password: SecretString::from(decode(pass)?),
                            userinfo: SecretString::from(format!("{user}:{pass}")),
                        })
                    }
                    _ => {
                        return Err(err(
                            "IVR_PUBLIC_URL",
                            "credentials must be given as user:password@ (both non-empty)",
                        ));
                    }
                };
                // Cannot fail on an http(s) URL.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                (url.as_str().trim_end_matches('/').to_string(), auth)
            }
            None => (format!("http://{}", self.bind), None),
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
        if let Some(u) = &ozmap_url {
            require_tls_unless_loopback("OZMAP_URL", u)?;
        }
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
        if let Some(u) = &geocoder_url {
            require_tls_unless_loopback("GEOCODER_URL", u)?;
        }
        if let Some(u) = &cep_url {
            require_tls_unless_loopback("CEP_URL", u)?;
        }
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
        let signatures = SignatureSettings {
            twilio_auth_token: non_empty(self.twilio_auth_token).map(SecretString::from),
            twilio_shared_keys: match non_empty(self.twilio_webhook_keys) {
                Some(raw) => parse_webhook_keys(&raw)?,
                None => Vec::new(),
            },
            signalwire_signing_key: non_empty(self.signalwire_signing_key).map(SecretString::from),
            telnyx_public_key: non_empty(self.telnyx_public_key)
                .map(|k| {
                    SignatureSettings::parse_telnyx_key(&k)
                        .map_err(|e| err("TELNYX_PUBLIC_KEY", e.to_string()))
                })
                .transpose()?,
        };
        if ozmap_url.is_some() && !signatures.any() && !self.allow_unsigned {
            return Err(err(
                "TWILIO_AUTH_TOKEN",
                "a real OZmap is configured (OZMAP_URL) but no webhook signing secret: set \
                 TWILIO_AUTH_TOKEN, TWILIO_WEBHOOK_KEYS, SIGNALWIRE_SIGNING_KEY or \
                 TELNYX_PUBLIC_KEY, or pass --allow-unsigned (IVR_ALLOW_UNSIGNED=true) on purpose",
            ));
        }
        Ok(Config {
            bind: self.bind,
            public_url,
            webhook_auth,
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
            signatures,
            allow_unsigned: self.allow_unsigned,
            rate_calls_per_minute: self.rate_calls_per_minute,
            rate_requests_per_second: self.rate_requests_per_second,
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

/// Flags as on the command line → a checked configuration (unit tests only).
#[cfg(test)]
pub(crate) fn parse_for_tests(args: &[&str]) -> Result<Config, ConfigError> {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let mut v = vec!["ozmap-ivr"];
    v.extend_from_slice(args);
    Cli::try_parse_from(v)
        .expect("flags parse")
        .serve
        .validate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        parse_for_tests(args)
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
            "--twilio-auth-token=s3cr3t-twilio",
            "--twilio-webhook-keys=k1=s3cr3t-shared",
            "--signalwire-signing-key=s3cr3t-sw",
            "--admin-token=s3cr3t-admin",
            "--public-url=https://ivr:s3cr3t-pass@ivr.example.com",
        ])
        .unwrap();
        assert_eq!(
            c.ozmap_token.as_ref().unwrap().expose_secret(),
            "s3cr3t-t0ken"
        );
        assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
        assert!(!c.public_url.contains("s3cr3t"));
    }

    #[test]
    fn a_real_ozmap_needs_a_signing_secret_or_allow_unsigned() {
        let real = [
            "--ozmap-url=https://x.ozmap.com.br:9994",
            "--ozmap-token=t",
            "--geocoder=gazetteer",
        ];
        let e = parse(&real).unwrap_err();
        assert_eq!(e.var, "TWILIO_AUTH_TOKEN");
        for var in [
            "TWILIO_AUTH_TOKEN",
            "TWILIO_WEBHOOK_KEYS",
            "SIGNALWIRE_SIGNING_KEY",
            "TELNYX_PUBLIC_KEY",
            "--allow-unsigned",
        ] {
            assert!(e.to_string().contains(var), "{var} not named in: {e}");
        }
        let with = |extra: &str| {
            let mut v = real.to_vec();
            v.push(extra);
            parse(&v)
        };
        let c = with("--allow-unsigned").unwrap();
        assert!(c.allow_unsigned && !c.signatures_enforced());
        let telnyx = format!(
            "--telnyx-public-key={}",
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
        );
        for secret in [
            "--twilio-auth-token=tok",
            "--twilio-webhook-keys=k1=abc",
            "--signalwire-signing-key=PSK_x",
            telnyx.as_str(),
        ] {
            let c = with(secret).unwrap_or_else(|e| panic!("{secret}: {e}"));
            assert!(c.signatures_enforced(), "{secret}");
        }
        // The sandbox takes unsigned requests without being told.
        let c = parse(&[]).unwrap();
        assert!(!c.signatures_enforced() && !c.allow_unsigned);
    }

    #[test]
    fn outbound_urls_must_be_https_unless_loopback() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--ozmap-url=http://x.ozmap.com.br:9994", "--ozmap-token=t"],
                "OZMAP_URL",
            ),
            (
                &["--ozmap-url=http://10.0.0.5", "--ozmap-token=t"],
                "OZMAP_URL",
            ),
            (
                &[
                    "--geocoder=nominatim",
                    "--geocoder-url=http://nominatim.example.org",
                ],
                "GEOCODER_URL",
            ),
            (
                &[
                    "--geocoder=google",
                    "--google-maps-key=k",
                    "--geocoder-url=http://maps.example.com",
                ],
                "GEOCODER_URL",
            ),
            (&["--cep-url=http://viacep.com.br"], "CEP_URL"),
            (&["--cep-url=http://127.0.0.1.nip.io"], "CEP_URL"),
        ];
        for (args, var) in cases {
            let e = parse(args).unwrap_err();
            assert_eq!(e.var, *var, "{args:?}: {e}");
            assert!(e.to_string().contains("https"), "{e}");
        }
        for ok in [
            "http://127.0.0.1:9994",
            "http://127.10.0.1",
            "http://localhost:8080",
            "http://[::1]:9994",
            "https://x.ozmap.com.br:9994",
        ] {
            let arg = format!("--ozmap-url={ok}");
            let c = parse(&[
                &arg,
                "--ozmap-token=t",
                "--allow-unsigned",
                "--geocoder=gazetteer",
            ])
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(c.ozmap_url.is_some());
            let arg = format!("--cep-url={ok}");
            parse(&[&arg]).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn signing_keys_parse_and_errors_name_their_variable() {
        let c = parse(&["--twilio-webhook-keys= k1=abc , k2=d=ef ,"]).unwrap();
        let keys: Vec<(&str, &str)> = c
            .signatures
            .twilio_shared_keys
            .iter()
            .map(|(id, k)| (id.as_str(), k.expose_secret()))
            .collect();
        assert_eq!(keys, [("k1", "abc"), ("k2", "d=ef")]);
        for bad in ["k1", "=abc", "k1=", "k1=a,k1=b"] {
            let arg = format!("--twilio-webhook-keys={bad}");
            let e = parse(&[&arg]).unwrap_err();
            assert_eq!(e.var, "TWILIO_WEBHOOK_KEYS", "{bad}");
            assert!(!e.to_string().contains("abc"), "{e}");
        }
        let e = parse(&["--telnyx-public-key=not-a-key"]).unwrap_err();
        assert_eq!(e.var, "TELNYX_PUBLIC_KEY");
    }

    #[test]
    fn credentials_in_the_public_url_become_basic_auth() {
        let c = parse(&["--public-url=https://ivr:p%40ss@ivr.example.com/base/"]).unwrap();
        assert_eq!(c.public_url, "https://ivr.example.com/base");
        let auth = c.webhook_auth.as_ref().unwrap();
        assert_eq!(auth.user, "ivr");
        assert_eq!(auth.password.expose_secret(), "p@ss");
        // Signed and action URLs keep the credentials as written.
        assert_eq!(
            c.platform_base_url(),
            "https://ivr:p%40ss@ivr.example.com/base"
        );
        let plain = parse(&["--public-url=https://ivr.example.com"]).unwrap();
        assert!(plain.webhook_auth.is_none());
        assert_eq!(plain.platform_base_url(), "https://ivr.example.com");
        for bad in [
            "https://ivr@ivr.example.com",
            "https://:s3cr3t@ivr.example.com",
            "https://ivr.example.com/?x=1",
        ] {
            let arg = format!("--public-url={bad}");
            let e = parse(&[&arg]).unwrap_err();
            assert_eq!(e.var, "IVR_PUBLIC_URL", "{bad}");
            assert!(!e.to_string().contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn rate_limits_default_to_three_calls_a_minute_and_two_hundred_requests_a_second() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            (c.rate_calls_per_minute, c.rate_requests_per_second),
            (3, 200)
        );
        let c = parse(&["--rate-calls-per-minute=0", "--rate-requests-per-second=7"]).unwrap();
        assert_eq!(
            (c.rate_calls_per_minute, c.rate_requests_per_second),
            (0, 7)
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%3a").as_deref(), Some("a@b:"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(percent_decode("%ff"), None);
    }
}
