//! The one place configuration is read: flags, each also read from an environment
//! variable, checked once at start with errors that name the variable.
//!
//! The flags are grouped by concern ([`ServeArgs`] flattens one `Args` struct per
//! concern), and each group checks itself into a settings value: plain data,
//! of a type its own module defines when that module uses it (the store's
//! `DatabaseSettings`, `reserve`'s `OzmapSettings`, `geocode`'s
//! `GeocoderSettings`, ...). Configuration builds nothing: `app` builds the
//! clients from these values and wires them. So the arrows point one way:
//! `config` names those modules' settings types, and no module but the
//! composition (`app`, `in_process`, the operators' commands) and the web side's
//! handlers reads `config`. No other code reads the environment;
//! `ozmap-ivr reservations` flattens the same database and OZmap groups, so it
//! follows the same rules and defaults.
//!
//! Secrets (`OZMAP_TOKEN`, `TWILIO_AUTH_TOKEN`, `TWILIO_WEBHOOK_KEYS`,
//! `SIGNALWIRE_SIGNING_KEY`, `SIGNALWIRE_API_TOKEN`, `TELNYX_API_KEY`,
//! `GOOGLE_MAPS_KEY`, `IVR_ADMIN_TOKEN`, `WHATSAPP_APP_SECRET`, `WHATSAPP_VERIFY_TOKEN`,
//! `WHATSAPP_TOKEN`, the password in `IVR_PUBLIC_URL`) are wrapped in [`SecretString`] as soon as they are parsed, so
//! no `Debug`, log line or error can print them.
//!
//! Security policy checked here, at start, rather than discovered on the first call:
//! - with a real OZmap (`OZMAP_URL` set) the service refuses to start without a
//!   webhook signing secret, unless `--allow-unsigned` says so on purpose (the web
//!   layer then warns on every request); the built-in sandbox accepts unsigned
//!   requests (one warning at start);
//! - outbound URLs (`OZMAP_URL`, `GEOCODER_URL`, which is also the Google base, and
//!   `CEP_URL`, and the messaging APIs' `TWILIO_API_URL`, `SIGNALWIRE_SPACE_URL`,
//!   `TELNYX_API_URL`) must be `https` unless they point at loopback, so a token or an
//!   address never crosses a network in clear.

mod call;
mod directory;
mod geocoder;
mod hours;
mod http;
mod location;
mod ozmap;
mod prompts;
mod schedule;
mod signing;
mod sms;
#[cfg(test)]
mod tests;
mod whatsapp;
mod worker;

pub(crate) use call::{CallArgs, CallSettings};
pub(crate) use directory::DirectoryArgs;
pub(crate) use geocoder::GeocoderArgs;
pub(crate) use hours::AgentSchedule;
pub(crate) use http::{HttpArgs, HttpSettings, WebhookAuth};
pub(crate) use location::LocationArgs;
pub(crate) use ozmap::{DatabaseArgs, OzmapArgs, ReserveArgs};
pub(crate) use prompts::load as load_prompts;
pub(crate) use schedule::ScheduleArgs;
pub(crate) use signing::{SigningArgs, SigningSettings};
pub(crate) use sms::SmsArgs;
pub(crate) use whatsapp::{WhatsAppArgs, WhatsAppSettings};
pub(crate) use worker::WorkerArgs;

use crate::directory::DirectorySettings;
use crate::geocode::GeocoderSettings;
use crate::location::LocationSettings;
use crate::reserve::{OzmapSettings, ReserveSettings};
use crate::sms::SmsSettings;
use crate::store::DatabaseSettings;
use crate::visits::VisitSettings;
use crate::worker::WorkerSettings;
use clap::Args;
use secrecy::SecretString;
use std::net::IpAddr;
use std::path::PathBuf;
use url::Url;

/// Everything `ozmap-ivr serve` reads.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub call: CallArgs,
    #[command(flatten)]
    pub ozmap: OzmapArgs,
    #[command(flatten)]
    pub reserve: ReserveArgs,
    /// Sandbox network file (JSON) for the built-in OZmap sandbox.
    #[arg(long, env = "SANDBOX_NETWORK", help_heading = "OZmap")]
    pub sandbox_network: Option<PathBuf>,
    #[command(flatten)]
    pub geocoder: GeocoderArgs,
    #[command(flatten)]
    pub signing: SigningArgs,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub sms: SmsArgs,
    #[command(flatten)]
    pub directory: DirectoryArgs,
    #[command(flatten)]
    pub whatsapp: WhatsAppArgs,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    #[command(flatten)]
    pub location: LocationArgs,
    /// Bearer token for `/admin/…`, `/metrics` and the console's login, at least
    /// 24 characters; unset: those routes are off. Secret.
    #[arg(
        long,
        env = "IVR_ADMIN_TOKEN",
        hide_env_values = true,
        help_heading = "Operators"
    )]
    pub admin_token: Option<String>,
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

/// The configuration after checking: URLs parsed, secrets wrapped, each concern
/// ready to build what it configures.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) http: HttpSettings,
    pub(crate) database: DatabaseSettings,
    pub(crate) call: CallSettings,
    pub(crate) ozmap: OzmapSettings,
    /// How the reservation procedure looks for a box.
    pub(crate) reserve: ReserveSettings,
    /// The network of the built-in sandbox, when no OZmap is configured.
    pub(crate) sandbox_network: Option<PathBuf>,
    pub(crate) geocoder: GeocoderSettings,
    pub(crate) signing: SigningSettings,
    /// `None`: the admin routes are off.
    pub(crate) admin_token: Option<SecretString>,
    /// Lease, retries, circuit breaker and shutdown grace of the reservation worker.
    pub(crate) worker: WorkerSettings,
    /// Who sends the SMS with the outcome.
    pub(crate) sms: SmsSettings,
    /// The ISP's system, asked about each client code.
    pub(crate) directory: DirectorySettings,
    /// The WhatsApp channel; `None` when it is off.
    pub(crate) whatsapp: Option<WhatsAppSettings>,
    /// The technician's agenda (`SCHEDULE`).
    pub(crate) visits: VisitSettings,
    /// The links by SMS where a caller marks the house.
    pub(crate) location: LocationSettings,
}

impl Config {
    /// No OZmap is configured: the caller starts the built-in sandbox (on the
    /// network [`Config::sandbox_network`]) and hands it to [`Config::use_sandbox`].
    pub fn wants_sandbox(&self) -> bool {
        self.ozmap.is_sandbox()
    }

    /// The sandbox's network file; `None`: the bundled network.
    pub fn sandbox_network(&self) -> Option<&std::path::Path> {
        self.sandbox_network.as_deref()
    }

    /// Points OZmap at a sandbox started for this process.
    pub fn use_sandbox(&mut self, url: Url, token: SecretString) {
        self.directory.use_sandbox(&url, &token);
        self.ozmap.use_sandbox(url, token);
    }

    /// Whether webhooks are checked against a platform signing key.
    pub fn signatures_enforced(&self) -> bool {
        self.signing.enforced()
    }

    /// Checks every request with this Twilio auth token (the load generator
    /// signs its requests with it).
    pub(crate) fn check_twilio_signatures(&mut self, auth_token: secrecy::SecretString) {
        self.signing.keys.twilio_auth_token = Some(auth_token);
    }
}

impl ServeArgs {
    pub fn validate(self) -> Result<Config, ConfigError> {
        let mut worker = self.worker.check()?;
        let http = self.http.check()?;
        let database = self.database.check()?;
        let signing = self.signing.check()?;
        let mut call = self.call.check(signing.platform())?;
        // A visit's day ends at midnight on the agents' clock.
        worker.timezone = call.schedule.tz_name().to_string();
        let ozmap = self.ozmap.check()?;
        let reserve = self.reserve.check(ozmap.timeout)?;
        let geocoder = self
            .geocoder
            .check(ozmap.is_sandbox(), call.geocode_hold())?;
        let whatsapp = self.whatsapp.check()?;
        let location = self.location.check()?;
        let sms = self
            .sms
            .check(ozmap.is_sandbox(), signing.keys.twilio_auth_token.clone())?;
        let directory_timeout_ms = self.directory.client_directory_timeout_ms;
        let directory = self.directory.check(ozmap.is_sandbox())?;
        call.flow.client_directory = directory.enabled();
        // Held past the step budget at most the look-up's own timeout, and a poll.
        call.flow.directory_hold_ms =
            directory_timeout_ms + u64::from(call.flow.poll_pause_s) * 1_000;
        // The link by SMS (issue 26): offered on a call when SMS really go out
        // (with `log` nobody could open it) and links live; the call waits for
        // its position as long as the link lives.
        call.flow.location_link = !matches!(
            sms.provider,
            crate::sms::ProviderSettings::Off | crate::sms::ProviderSettings::Log
        ) && location.link_min > 0;
        call.flow.location_wait_ms = u64::from(location.link_min) * 60_000;
        let visits = self.schedule.check()?;
        call.flow.visits = visits.offered();
        // Held at most one request to the agenda, and a poll.
        call.flow.visit_hold_ms =
            visits.timeout().as_millis() as u64 + u64::from(call.flow.poll_pause_s) * 1_000;
        if !ozmap.is_sandbox() && !signing.enforced() && !signing.allow_unsigned {
            return Err(err(
                "TWILIO_AUTH_TOKEN",
                "a real OZmap is configured (OZMAP_URL) but no webhook signing secret: set \
                 TWILIO_AUTH_TOKEN, TWILIO_WEBHOOK_KEYS, SIGNALWIRE_SIGNING_KEY, \
                 TELNYX_PUBLIC_KEY or JAMBONZ_WEBHOOK_SECRET, or pass --allow-unsigned (IVR_ALLOW_UNSIGNED=true) on purpose",
            ));
        }
        Ok(Config {
            http,
            database,
            call,
            ozmap,
            reserve,
            sandbox_network: self.sandbox_network,
            geocoder,
            signing,
            admin_token: admin_token(self.admin_token)?,
            worker,
            sms,
            directory,
            whatsapp,
            visits,
            location,
        })
    }
}

/// Shortest `IVR_ADMIN_TOKEN` taken: guessing one is slow (ten wrong tries a
/// minute per address), a long one makes it hopeless too.
pub(crate) const MIN_ADMIN_TOKEN_CHARS: usize = 24;

/// `IVR_ADMIN_TOKEN`: unset or blank is off; a short one stops the start.
fn admin_token(raw: Option<String>) -> Result<Option<SecretString>, ConfigError> {
    let Some(token) = non_empty(raw) else {
        return Ok(None);
    };
    let chars = token.chars().count();
    if chars < MIN_ADMIN_TOKEN_CHARS {
        return Err(err(
            "IVR_ADMIN_TOKEN",
            format!(
                "too short ({chars} characters): use at least {MIN_ADMIN_TOKEN_CHARS}, e.g. \
                 `openssl rand -base64 32`"
            ),
        ));
    }
    Ok(Some(SecretString::from(token)))
}

fn parse_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| err(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(var, "must be an http or https URL"));
    }
    Ok(url)
}

/// An optional outbound URL: parsed, and `https` unless it points at loopback.
fn outbound_url(var: &'static str, raw: Option<String>) -> Result<Option<Url>, ConfigError> {
    let Some(url) = non_empty(raw).map(|u| parse_url(var, &u)).transpose()? else {
        return Ok(None);
    };
    require_tls_unless_loopback(var, &url)?;
    Ok(Some(url))
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

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A value that must lie in `range`, or the error naming `var`.
fn within<T: PartialOrd>(
    var: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
    message: &str,
) -> Result<T, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(err(var, message))
    }
}

/// [`parse_for_tests`] with a real OZmap configured (not the built-in sandbox),
/// unsigned webhooks allowed on purpose, and `extra` on top (unit tests only).
#[cfg(test)]
pub(crate) fn parse_with_real_ozmap(extra: &[&str]) -> Result<Config, ConfigError> {
    let mut args = vec![
        "--ozmap-url=https://tenant.ozmap.com.br",
        "--ozmap-token=t",
        "--geocoder=gazetteer",
        "--allow-unsigned",
    ];
    args.extend_from_slice(extra);
    parse_for_tests(&args)
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
