//! How webhooks prove they come from the platform.

use super::{ConfigError, err, non_empty};
use clap::Args;
use ivr_core::twiml::Platform;
use secrecy::SecretString;
use webhook_signature::SignatureSettings;

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Webhook signatures")]
pub struct SigningArgs {
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
    /// jambonz application's webhook secret: every `POST /jambonz` must carry a
    /// valid `Jambonz-Signature`. Secret.
    #[arg(long, env = "JAMBONZ_WEBHOOK_SECRET", hide_env_values = true)]
    pub jambonz_webhook_secret: Option<String>,
    /// Accept unsigned webhooks with a real OZmap (no signing secret configured).
    /// Meant for a first try behind a private network; warns on every request.
    #[arg(long, env = "IVR_ALLOW_UNSIGNED")]
    pub allow_unsigned: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct SigningSettings {
    /// Every webhook signing key; none: unsigned requests (see `allow_unsigned`).
    pub keys: SignatureSettings,
    /// jambonz's webhook secret (`JAMBONZ_WEBHOOK_SECRET`), checked on `/jambonz`.
    pub jambonz_secret: Option<SecretString>,
    /// Unsigned webhooks accepted with a real OZmap (`--allow-unsigned`).
    pub allow_unsigned: bool,
}

impl SigningSettings {
    /// The platform whose signing secret is configured, the default of
    /// `IVR_PLATFORM`: Twilio's auth token or shared keys, else SignalWire's
    /// key, else Telnyx's; none: Twilio.
    pub(crate) fn platform(&self) -> Platform {
        let k = &self.keys;
        if k.twilio_auth_token.is_some() || !k.twilio_shared_keys.is_empty() {
            Platform::Twilio
        } else if k.signalwire_signing_key.is_some() {
            Platform::SignalWire
        } else if k.telnyx_public_key.is_some() {
            Platform::Telnyx
        } else {
            Platform::Twilio
        }
    }

    /// Whether webhooks are checked against a signing key.
    pub(crate) fn enforced(&self) -> bool {
        self.keys.any() || self.jambonz_secret.is_some()
    }
}

impl SigningArgs {
    pub(super) fn check(self) -> Result<SigningSettings, ConfigError> {
        let keys = SignatureSettings {
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
        Ok(SigningSettings {
            keys,
            jambonz_secret: non_empty(self.jambonz_webhook_secret).map(SecretString::from),
            allow_unsigned: self.allow_unsigned,
        })
    }
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
