//! Where the service listens, the URL the platform calls it by, and how many
//! requests it takes.

use super::{ConfigError, err, non_empty, parse_url, within};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Listening and webhooks")]
pub struct HttpArgs {
    /// Address and port to listen on.
    #[arg(long, env = "IVR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The base URL the platform uses to reach this service; action URLs and
    /// signature checks are built from it. Default: http://<IVR_BIND>. With
    /// `user:password@` in it, webhooks require that HTTP basic auth.
    #[arg(long, env = "IVR_PUBLIC_URL", hide_env_values = true)]
    pub public_url: Option<String>,
    /// New calls per caller number (`From`) per minute; 0: no limit.
    #[arg(long, env = "IVR_RATE_CALLS_PER_MINUTE", default_value_t = 3)]
    pub rate_calls_per_minute: u32,
    /// Webhook requests per source address per second (burst twice that); 0: no limit.
    /// A platform sends every call's webhooks from a few addresses of its own, so
    /// this is a guard against floods, set well above a busy ISP's peak.
    #[arg(long, env = "IVR_RATE_REQUESTS_PER_SECOND", default_value_t = 200)]
    pub rate_requests_per_second: u32,
    /// Longest a request's body may take to arrive, on every route, counted
    /// from its head (500–60000): past it, `408` and the connection is closed.
    #[arg(long, env = "IVR_BODY_TIMEOUT_MS", default_value_t = 5_000)]
    pub body_timeout_ms: u64,
}

/// HTTP basic auth the webhooks require (from `user:password@` in `IVR_PUBLIC_URL`).
#[derive(Clone, Debug)]
pub(crate) struct WebhookAuth {
    /// Decoded, as the `Authorization: Basic` header carries it.
    pub user: String,
    /// Decoded.
    pub password: SecretString,
    /// `user:password` exactly as written in the URL (percent-encoded), to rebuild
    /// the URL the platform signs.
    userinfo: SecretString,
}

#[derive(Clone, Debug)]
pub(crate) struct HttpSettings {
    pub bind: SocketAddr,
    /// Without a trailing slash and without credentials (safe to log).
    pub public_url: String,
    /// The credentials that were in `IVR_PUBLIC_URL`, if any.
    pub webhook_auth: Option<WebhookAuth>,
    pub rate_calls_per_minute: u32,
    pub rate_requests_per_second: u32,
    /// Longest a request's body may take to arrive.
    pub body_timeout: Duration,
}

impl HttpSettings {
    /// The public URL as the platform calls it, credentials included: the base of
    /// every action URL and of every signed URL (Twilio signs the URL with the
    /// `user:password@` in it). Holds the basic-auth password: never log it.
    pub(crate) fn platform_base_url(&self) -> String {
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

    /// Whether the public URL is the default one built from the bind address (it
    /// then follows the port actually bound, for `IVR_BIND=…:0`).
    pub(crate) fn public_url_is_default(&self) -> bool {
        self.public_url == format!("http://{}", self.bind)
    }
}

impl HttpArgs {
    pub(super) fn check(self) -> Result<HttpSettings, ConfigError> {
        let (public_url, webhook_auth) = match non_empty(self.public_url) {
            Some(u) => public_url(&u)?,
            None => (format!("http://{}", self.bind), None),
        };
        let body_timeout_ms = within(
            "IVR_BODY_TIMEOUT_MS",
            self.body_timeout_ms,
            500..=60_000,
            "must be between 500 and 60000 milliseconds",
        )?;
        Ok(HttpSettings {
            bind: self.bind,
            public_url,
            webhook_auth,
            rate_calls_per_minute: self.rate_calls_per_minute,
            rate_requests_per_second: self.rate_requests_per_second,
            body_timeout: Duration::from_millis(body_timeout_ms),
        })
    }
}

/// `IVR_PUBLIC_URL` without its credentials, and the credentials.
fn public_url(raw: &str) -> Result<(String, Option<WebhookAuth>), ConfigError> {
    let mut url = parse_url("IVR_PUBLIC_URL", raw)?;
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
                percent_decode(s)
                    .ok_or_else(|| err("IVR_PUBLIC_URL", "credentials are not valid UTF-8"))
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
    Ok((url.as_str().trim_end_matches('/').to_string(), auth))
}

/// `%XX` escapes into bytes (anything else kept as written); `None` when the
/// result is not UTF-8.
pub(super) fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}
