//! The WhatsApp channel (WhatsApp Business Cloud API): on when
//! `WHATSAPP_APP_SECRET` is set, and then every other value it needs must be
//! set too, so a half-configured channel stops the start rather than dropping
//! messages.

use super::{ConfigError, err, non_empty, outbound_url, within};
use clap::Args;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// The Graph API version used unless `WHATSAPP_API_VERSION` says otherwise.
pub(crate) const DEFAULT_API_VERSION: &str = "v23.0";

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "WhatsApp (the same flow in a chat)")]
pub struct WhatsAppArgs {
    /// The Meta app secret: every notification's X-Hub-Signature-256 is
    /// checked with it. Set: the channel is on. Secret.
    #[arg(long, env = "WHATSAPP_APP_SECRET", hide_env_values = true)]
    pub whatsapp_app_secret: Option<String>,
    /// The token the subscription check (GET /whatsapp) must present. Secret.
    #[arg(long, env = "WHATSAPP_VERIFY_TOKEN", hide_env_values = true)]
    pub whatsapp_verify_token: Option<String>,
    /// The access token replies are sent with (Bearer). Secret.
    #[arg(long, env = "WHATSAPP_TOKEN", hide_env_values = true)]
    pub whatsapp_token: Option<String>,
    /// The business phone number id notifications are for and replies come from.
    #[arg(long, env = "WHATSAPP_PHONE_NUMBER_ID")]
    pub whatsapp_phone_number_id: Option<String>,
    /// The Graph API base URL.
    #[arg(
        long,
        env = "WHATSAPP_API_URL",
        default_value = "https://graph.facebook.com"
    )]
    pub whatsapp_api_url: String,
    /// The Graph API version.
    #[arg(long, env = "WHATSAPP_API_VERSION", default_value = DEFAULT_API_VERSION)]
    pub whatsapp_api_version: String,
    /// Where a client reaches a person after "falar com atendente" (a number or
    /// a link); unset: the handover says no contact.
    #[arg(long, env = "WHATSAPP_AGENT_CONTACT")]
    pub whatsapp_agent_contact: Option<String>,
    /// Timeout of one request to the Graph API.
    #[arg(long, env = "WHATSAPP_TIMEOUT_MS", default_value_t = 10_000)]
    pub whatsapp_timeout_ms: u64,
}

/// The channel's settings, checked.
#[derive(Clone, Debug)]
pub(crate) struct WhatsAppSettings {
    pub app_secret: SecretString,
    pub verify_token: SecretString,
    pub token: SecretString,
    pub phone_number_id: String,
    pub api_url: Url,
    pub api_version: String,
    pub agent_contact: Option<String>,
    pub timeout: Duration,
}

impl WhatsAppArgs {
    /// `None`: the channel is off (no app secret).
    pub(crate) fn check(self) -> Result<Option<WhatsAppSettings>, ConfigError> {
        let Some(app_secret) = non_empty(self.whatsapp_app_secret) else {
            return Ok(None);
        };
        let needed = |var: &'static str, v: Option<String>| {
            non_empty(v).ok_or_else(|| err(var, "must be set when WHATSAPP_APP_SECRET is set"))
        };
        let verify_token = needed("WHATSAPP_VERIFY_TOKEN", self.whatsapp_verify_token)?;
        let token = needed("WHATSAPP_TOKEN", self.whatsapp_token)?;
        let phone_number_id = needed("WHATSAPP_PHONE_NUMBER_ID", self.whatsapp_phone_number_id)?;
        if !phone_number_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(err(
                "WHATSAPP_PHONE_NUMBER_ID",
                "must be the number's id (digits)",
            ));
        }
        let api_url = outbound_url("WHATSAPP_API_URL", Some(self.whatsapp_api_url))?
            .ok_or_else(|| err("WHATSAPP_API_URL", "must be set"))?;
        let api_version = self.whatsapp_api_version.trim().to_string();
        if !api_version.starts_with('v')
            || api_version.len() < 2
            || !api_version[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
        {
            return Err(err("WHATSAPP_API_VERSION", "must look like v23.0"));
        }
        let timeout_ms = within(
            "WHATSAPP_TIMEOUT_MS",
            self.whatsapp_timeout_ms,
            100..=60_000,
            "must be between 100 and 60000",
        )?;
        Ok(Some(WhatsAppSettings {
            app_secret: SecretString::from(app_secret),
            verify_token: SecretString::from(verify_token),
            token: SecretString::from(token),
            phone_number_id,
            api_url,
            api_version,
            agent_contact: non_empty(self.whatsapp_agent_contact),
            timeout: Duration::from_millis(timeout_ms),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse_for_tests;

    #[test]
    fn off_without_the_app_secret_and_whole_with_it() {
        let cfg = parse_for_tests(&[]).unwrap();
        assert!(cfg.whatsapp.is_none());
        let err = parse_for_tests(&["--whatsapp-app-secret=s"]).unwrap_err();
        assert_eq!(err.var, "WHATSAPP_VERIFY_TOKEN");
        let full = [
            "--whatsapp-app-secret=s",
            "--whatsapp-verify-token=v",
            "--whatsapp-token=t",
            "--whatsapp-phone-number-id=123",
        ];
        let w = parse_for_tests(&full).unwrap().whatsapp.unwrap();
        assert_eq!(w.api_url.as_str(), "https://graph.facebook.com/");
        assert_eq!(w.api_version, super::DEFAULT_API_VERSION);
        assert!(
            !format!("{w:?}").contains("\"t\""),
            "secrets are not printed"
        );
        let mut plain = full.to_vec();
        plain.push("--whatsapp-api-url=http://graph.example.com");
        assert_eq!(parse_for_tests(&plain).unwrap_err().var, "WHATSAPP_API_URL");
        let mut bad = full.to_vec();
        bad.push("--whatsapp-api-version=latest");
        assert_eq!(
            parse_for_tests(&bad).unwrap_err().var,
            "WHATSAPP_API_VERSION"
        );
    }
}
