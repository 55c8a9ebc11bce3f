//! The SMS with the outcome: which provider sends it, from which number, and the
//! provider's credentials. Twilio's auth token is `TWILIO_AUTH_TOKEN`, the one
//! that signs its webhooks (one account, one token), read by the signing group.

use super::{ConfigError, err, non_empty, outbound_url, within};
use crate::sms::{ProviderSettings, SmsSettings};
use clap::{Args, ValueEnum};
use secrecy::SecretString;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SmsProviderArg {
    Twilio,
    Signalwire,
    Telnyx,
    /// To the log, the number masked.
    Log,
    /// No SMS.
    None,
}

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "SMS (the outcome and the protocol, in writing)")]
pub struct SmsArgs {
    /// Who sends the SMS: twilio, signalwire, telnyx, log (to the log, number
    /// masked) or none. Unset: log with the built-in sandbox, none with a real OZmap.
    #[arg(long, env = "SMS_PROVIDER", value_enum, ignore_case = true)]
    pub sms_provider: Option<SmsProviderArg>,
    /// The sender: a number in E.164 (+55…) or a sender ID the provider allows.
    #[arg(long, env = "SMS_FROM")]
    pub sms_from: Option<String>,
    /// Timeout of one request to the messaging API.
    #[arg(long, env = "SMS_TIMEOUT_MS", default_value_t = 10_000)]
    pub sms_timeout_ms: u64,
    /// Twilio's REST API base URL.
    #[arg(long, env = "TWILIO_API_URL", default_value = "https://api.twilio.com")]
    pub twilio_api_url: String,
    /// Twilio account SID (AC…); its auth token is TWILIO_AUTH_TOKEN.
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// SignalWire space URL (https://example.signalwire.com).
    #[arg(long, env = "SIGNALWIRE_SPACE_URL")]
    pub signalwire_space_url: Option<String>,
    /// SignalWire project id.
    #[arg(long, env = "SIGNALWIRE_PROJECT_ID")]
    pub signalwire_project_id: Option<String>,
    /// SignalWire API token (for its REST API; not the signing key). Secret.
    #[arg(long, env = "SIGNALWIRE_API_TOKEN", hide_env_values = true)]
    pub signalwire_api_token: Option<String>,
    /// Telnyx's API base URL.
    #[arg(long, env = "TELNYX_API_URL", default_value = "https://api.telnyx.com")]
    pub telnyx_api_url: String,
    /// Telnyx API key (v2). Secret.
    #[arg(long, env = "TELNYX_API_KEY", hide_env_values = true)]
    pub telnyx_api_key: Option<String>,
}

/// A value that must be set for the chosen provider.
fn needed(var: &'static str, v: Option<String>, provider: &str) -> Result<String, ConfigError> {
    non_empty(v).ok_or_else(|| err(var, format!("must be set when SMS_PROVIDER={provider}")))
}

/// An account or project id, put into a URL path: letters, digits and `-`.
fn id(var: &'static str, v: Option<String>, provider: &str) -> Result<String, ConfigError> {
    let v = needed(var, v, provider)?;
    if v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(err(var, "must be letters, digits and '-' only"));
    }
    Ok(v)
}

impl SmsArgs {
    /// `sandbox`: no OZmap configured (the default provider is then the log).
    /// `twilio_auth_token`: `TWILIO_AUTH_TOKEN`, from the signing group.
    pub(super) fn check(
        self,
        sandbox: bool,
        twilio_auth_token: Option<SecretString>,
    ) -> Result<SmsSettings, ConfigError> {
        let timeout_ms = within(
            "SMS_TIMEOUT_MS",
            self.sms_timeout_ms,
            500..=60_000,
            "must be between 500 and 60000 milliseconds",
        )?;
        let choice = self.sms_provider.unwrap_or(if sandbox {
            SmsProviderArg::Log
        } else {
            SmsProviderArg::None
        });
        let name = match choice {
            SmsProviderArg::Twilio => "twilio",
            SmsProviderArg::Signalwire => "signalwire",
            SmsProviderArg::Telnyx => "telnyx",
            SmsProviderArg::Log => "log",
            SmsProviderArg::None => "none",
        };
        let from = || -> Result<String, ConfigError> {
            let from = needed("SMS_FROM", self.sms_from.clone(), name)?;
            if from.chars().count() > 32
                || !from
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == ' ')
            {
                return Err(err(
                    "SMS_FROM",
                    "must be a number in E.164 (+5548…) or a sender ID of letters and digits",
                ));
            }
            Ok(from)
        };
        let provider = match choice {
            SmsProviderArg::None => ProviderSettings::Off,
            SmsProviderArg::Log => ProviderSettings::Log,
            SmsProviderArg::Twilio => ProviderSettings::Twilio {
                api: outbound_url("TWILIO_API_URL", Some(self.twilio_api_url.clone()))?
                    .ok_or_else(|| err("TWILIO_API_URL", "must be set"))?,
                account_sid: id("TWILIO_ACCOUNT_SID", self.twilio_account_sid.clone(), name)?,
                auth_token: twilio_auth_token.ok_or_else(|| {
                    err(
                        "TWILIO_AUTH_TOKEN",
                        "must be set when SMS_PROVIDER=twilio (it also checks the webhooks)",
                    )
                })?,
                from: from()?,
            },
            SmsProviderArg::Signalwire => ProviderSettings::SignalWire {
                space: outbound_url("SIGNALWIRE_SPACE_URL", self.signalwire_space_url.clone())?
                    .ok_or_else(|| {
                        err(
                            "SIGNALWIRE_SPACE_URL",
                            "must be set when SMS_PROVIDER=signalwire",
                        )
                    })?,
                project_id: id(
                    "SIGNALWIRE_PROJECT_ID",
                    self.signalwire_project_id.clone(),
                    name,
                )?,
                api_token: SecretString::from(needed(
                    "SIGNALWIRE_API_TOKEN",
                    self.signalwire_api_token.clone(),
                    name,
                )?),
                from: from()?,
            },
            SmsProviderArg::Telnyx => ProviderSettings::Telnyx {
                api: outbound_url("TELNYX_API_URL", Some(self.telnyx_api_url.clone()))?
                    .ok_or_else(|| err("TELNYX_API_URL", "must be set"))?,
                api_key: SecretString::from(needed(
                    "TELNYX_API_KEY",
                    self.telnyx_api_key.clone(),
                    name,
                )?),
                from: from()?,
            },
        };
        Ok(SmsSettings {
            provider,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_for_tests, parse_with_real_ozmap as parse};
    use super::*;

    fn var_of(extra: &[&str]) -> &'static str {
        parse(extra).expect_err("a configuration error").var
    }

    #[test]
    fn the_default_is_the_log_with_the_sandbox_and_none_with_a_real_ozmap() {
        let sandbox = parse_for_tests(&[]).unwrap();
        assert!(matches!(sandbox.sms.provider, ProviderSettings::Log));
        let real = parse(&[]).unwrap();
        assert!(matches!(real.sms.provider, ProviderSettings::Off));
    }

    #[test]
    fn twilio_needs_its_sid_token_and_sender_and_names_the_missing_one() {
        let sid = "--twilio-account-sid=AC0123456789abcdef0123456789abcdef";
        let token = "--twilio-auth-token=tok";
        let from = "--sms-from=+5548999991111";
        assert_eq!(
            var_of(&["--sms-provider=twilio", token, from]),
            "TWILIO_ACCOUNT_SID"
        );
        assert_eq!(
            var_of(&["--sms-provider=twilio", sid, from]),
            "TWILIO_AUTH_TOKEN"
        );
        assert_eq!(var_of(&["--sms-provider=twilio", sid, token]), "SMS_FROM");
        assert_eq!(
            var_of(&[
                "--sms-provider=twilio",
                sid,
                token,
                from,
                "--twilio-api-url=http://api.example.com"
            ]),
            "TWILIO_API_URL",
            "plain http off loopback is refused"
        );
        let c = parse(&["--sms-provider=TWILIO", sid, token, from]).unwrap();
        let ProviderSettings::Twilio { api, from, .. } = &c.sms.provider else {
            panic!("{:?}", c.sms.provider)
        };
        assert_eq!(api.as_str(), "https://api.twilio.com/");
        assert_eq!(from, "+5548999991111");
        assert!(!format!("{:?}", c.sms).contains("tok\""), "{:?}", c.sms);
    }

    #[test]
    fn signalwire_and_telnyx_name_what_they_miss() {
        let from = "--sms-from=+5548999991111";
        assert_eq!(
            var_of(&[
                "--sms-provider=signalwire",
                from,
                "--signalwire-project-id=p-1",
                "--signalwire-api-token=t"
            ]),
            "SIGNALWIRE_SPACE_URL"
        );
        assert_eq!(
            var_of(&[
                "--sms-provider=signalwire",
                from,
                "--signalwire-space-url=https://x.signalwire.com",
                "--signalwire-api-token=t"
            ]),
            "SIGNALWIRE_PROJECT_ID"
        );
        assert_eq!(
            var_of(&[
                "--sms-provider=signalwire",
                from,
                "--signalwire-space-url=https://x.signalwire.com",
                "--signalwire-project-id=p-1"
            ]),
            "SIGNALWIRE_API_TOKEN"
        );
        assert_eq!(var_of(&["--sms-provider=telnyx", from]), "TELNYX_API_KEY");
        assert_eq!(
            var_of(&["--sms-provider=telnyx", "--telnyx-api-key=k"]),
            "SMS_FROM"
        );
        assert_eq!(
            var_of(&[
                "--sms-provider=telnyx",
                "--telnyx-api-key=k",
                "--sms-from=<script>"
            ]),
            "SMS_FROM"
        );
        assert_eq!(var_of(&["--sms-timeout-ms=10"]), "SMS_TIMEOUT_MS");
        assert!(
            parse(&[
                "--sms-provider=telnyx",
                "--telnyx-api-key=k",
                "--sms-from=OZFibra"
            ])
            .is_ok()
        );
    }
}
