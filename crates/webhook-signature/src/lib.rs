//! Webhook request signatures: is this request really from the telephony platform?
//!
//! Pure functions only (no actix types), so every rule is unit-tested against the
//! official vectors; the web layer gathers a [`SignedRequest`] and calls [`verify`].
//!
//! A crate of its own rather than a module of the service: the terminal caller and
//! the load generator (`ivr-tools`) sign their requests as a platform would, and
//! the OZmap sandbox compares its token with [`secret_eq`]; neither may depend on
//! the service.
//!
//! Schemes (see `shared/reference/twiml.md`):
//! - **Twilio** `X-Twilio-Signature` = Base64(HMAC-SHA1(auth token, URL + for each
//!   parameter name in byte order, each of its distinct values in byte order:
//!   name + value)). Validators accept the URL as given, with its port removed and
//!   with the default port (`:443`/`:80`) added, so all three are tried; with
//!   `user:password@` in the URL, the same three without the credentials too
//!   (Twilio leaves them out of the URL it signs).
//!   The body must be a form (or empty). Twilio's `bodySHA256` scheme (a JSON body,
//!   its hex SHA-256 in the query, the URL alone signed) is deliberately not
//!   supported: voice webhooks are `application/x-www-form-urlencoded` on Twilio,
//!   SignalWire cXML and Telnyx TeXML alike, the service refuses any other content
//!   type with 415 before the signature check, so that path could never run; a
//!   non-empty body without a form is refused here too.
//! - **Twilio webhook rules**: `X-Twilio-Webhooks-Signature-Settings: key=<id>,
//!   algorithm=HMAC_SHA256` announces that `X-Twilio-Signature` was made with the
//!   shared key `<id>` and that algorithm (same payload, Base64).
//! - **SignalWire** (its official SDK, `signalwire-typescript` `WebhookValidator.ts`
//!   and `docs/security.md`): the cXML scheme above with the project signing key,
//!   in `X-SignalWire-Signature` (or `X-Twilio-Signature` for compatibility), except
//!   that a repeated parameter's values are kept in submission order, repeats
//!   included (`@signalwire/compatibility-api` 3.2; Twilio's distinct sorted form is
//!   accepted too); the
//!   RELAY/SWML scheme hex(HMAC-SHA1(key, URL + raw body)) in the same header; and
//!   hex(HMAC-SHA256(key, URL + raw body)) in `X-SignalWire-Sha256-Signature`,
//!   checked first when present.
//! - **Telnyx**: Ed25519 over `"{telnyx-timestamp}|{raw body}"`, signature Base64 in
//!   `telnyx-signature-ed25519`; a timestamp of anything but digits, or more than
//!   300 s from now, is refused. Telnyx does not sign the URL, so the caller must
//!   accept each signature at one URL only ([`telnyx_replay_key`]; the service
//!   remembers it with the URL in its store, shared by every instance, and takes
//!   the platform's retry at that URL).
//!
//! - **jambonz**: `Jambonz-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." +
//!   raw body)>` ([`verify_jambonz`]), within 300 s, every `v1` tried; jambonz
//!   does not sign the URL either ([`jambonz_replay_key`]). Checked on its own
//!   route only, not by [`verify`].
//!
//! Every MAC is compared with `Mac::verify_slice` (constant time); any other secret
//! (a bearer token, a basic-auth password) with [`secret_eq`], the one compare of
//! the workspace. Errors name the rule that failed, never a key, a signature or a
//! parameter.

mod compare;
mod jambonz;
mod signalwire;
mod telnyx;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_compat;
#[cfg(test)]
mod tests_libraries;
mod twilio;
mod util;

pub use compare::secret_eq;
pub use jambonz::{
    JAMBONZ_REPLAY_TTL_MS, JAMBONZ_SIGNATURE_HEADER, JAMBONZ_TOLERANCE_SECS, jambonz_replay_key,
    jambonz_signature, verify_jambonz,
};
pub use telnyx::{TELNYX_REPLAY_TTL_MS, telnyx_replay_key};
pub use twilio::{signalwire_signature, signed_payload, twilio_signature, verify_twilio};

use base64::Engine;
use base64::engine::general_purpose::{
    STANDARD, STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT,
};
use ed25519_dalek::VerifyingKey;
use hmac::Hmac;
use secrecy::SecretString;
use sha1::Sha1;
use sha2::Sha256;
use signalwire::attempt_signalwire;
use telnyx::verify_telnyx;
use twilio::attempt_twilio;
use util::{Alg, from_hex, header, mac_matches, url_variants};

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<Sha256>;

/// `X-Twilio-Signature` (header names are compared case-insensitively).
pub const TWILIO_SIGNATURE_HEADER: &str = "x-twilio-signature";
/// `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256`.
pub const TWILIO_SIGNATURE_SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";
/// SignalWire's SHA-1 signature (cXML Base64 or RELAY hex).
pub const SIGNALWIRE_SIGNATURE_HEADER: &str = "x-signalwire-signature";
/// SignalWire's hex HMAC-SHA256 of URL + raw body.
pub const SIGNALWIRE_SHA256_SIGNATURE_HEADER: &str = "x-signalwire-sha256-signature";
/// Telnyx's Base64 Ed25519 signature.
pub const TELNYX_SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// Telnyx's signing time, unix seconds.
pub const TELNYX_TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// Largest distance between a Telnyx timestamp and now.
pub const TELNYX_TOLERANCE_SECS: u64 = 300;

/// The platform whose signature a request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Twilio,
    SignalWire,
    Telnyx,
}

/// The keys requests are checked with. `Debug` shows no secret.
#[derive(Clone, Debug, Default)]
pub struct SignatureSettings {
    /// Twilio auth token: `X-Twilio-Signature`, HMAC-SHA1.
    pub twilio_auth_token: Option<SecretString>,
    /// Twilio webhook-rule shared keys, by key id (`key=<id>` in the settings header).
    pub twilio_shared_keys: Vec<(String, SecretString)>,
    /// SignalWire project signing key.
    pub signalwire_signing_key: Option<SecretString>,
    /// Telnyx account public key (Ed25519).
    pub telnyx_public_key: Option<[u8; 32]>,
}

impl SignatureSettings {
    /// True when at least one key is configured.
    pub fn any(&self) -> bool {
        self.twilio_auth_token.is_some()
            || !self.twilio_shared_keys.is_empty()
            || self.signalwire_signing_key.is_some()
            || self.telnyx_public_key.is_some()
    }

    /// Reads a Telnyx public key given as Base64 (standard or URL-safe, padded or
    /// not; the portal's form), 64 hex digits, or a PEM/DER `SubjectPublicKeyInfo`.
    pub fn parse_telnyx_key(b64_or_hex: &str) -> Result<[u8; 32], SigError> {
        let s = b64_or_hex.trim();
        let bytes = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            from_hex(s).ok_or(SigError::Malformed("Telnyx key is not hex"))?
        } else {
            // PEM: keep the body lines only.
            let body: String = if s.contains("-----BEGIN") {
                s.lines()
                    .filter(|l| !l.trim_start().starts_with("-----"))
                    .flat_map(|l| l.trim().chars())
                    .collect()
            } else {
                s.to_string()
            };
            STANDARD_PAD_INDIFFERENT
                .decode(&body)
                .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode(&body))
                .map_err(|_| SigError::Malformed("Telnyx key is neither Base64 nor hex"))?
        };
        let raw: [u8; 32] = match bytes.len() {
            32 => bytes.as_slice().try_into().ok(),
            44 if bytes.starts_with(&ED25519_SPKI_PREFIX) => bytes[12..].try_into().ok(),
            _ => None,
        }
        .ok_or(SigError::Malformed("Telnyx key is not 32 bytes"))?;
        match VerifyingKey::from_bytes(&raw) {
            Ok(vk) if !vk.is_weak() => Ok(raw),
            _ => Err(SigError::Malformed(
                "Telnyx key is not a valid Ed25519 public key",
            )),
        }
    }
}

/// DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// What a webhook request brings to the check. No `Debug`: the form holds
/// personal data.
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    /// Public URL + path + query exactly as the platform requested it, rebuilt from
    /// the configured public URL by the caller (never from `Host`/`X-Forwarded-*`).
    pub url: &'a str,
    /// Request headers; names lower-case (compared case-insensitively anyway).
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
    /// The parsed form when the body is `application/x-www-form-urlencoded`. The
    /// signature covers these pairs, so the handler must read its parameters from
    /// this same parse of the body.
    pub form: Option<&'a [(String, String)]>,
    /// Now, unix seconds (for Telnyx's timestamp window).
    pub now_unix: u64,
}

/// Why a request was refused. Messages carry no key, signature or parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("request carries no signature that a configured key can check")]
    Missing,
    #[error("malformed signature data: {0}")]
    Malformed(&'static str),
    #[error("request signature does not match")]
    Mismatch,
    #[error("request signature timestamp is outside the allowed window")]
    Expired,
    #[error("no signature key is configured")]
    NotConfigured,
}

/// Checks the request against every configured platform whose signature header it
/// carries, and names the platform that signed it.
///
/// [`SigError::NotConfigured`] is returned only when no key at all is configured;
/// a header for a platform without a key is ignored (so it ends in
/// [`SigError::Missing`]), never accepted.
pub fn verify(s: &SignatureSettings, r: &SignedRequest) -> Result<Platform, SigError> {
    if !s.any() {
        return Err(SigError::NotConfigured);
    }
    if let Some(key) = &s.telnyx_public_key
        && header(r.headers, TELNYX_SIGNATURE_HEADER).is_some()
    {
        return verify_telnyx(key, r).map(|()| Platform::Telnyx);
    }
    let signalwire_first = header(r.headers, SIGNALWIRE_SIGNATURE_HEADER).is_some()
        || header(r.headers, SIGNALWIRE_SHA256_SIGNATURE_HEADER).is_some();
    let order = if signalwire_first {
        [Platform::SignalWire, Platform::Twilio]
    } else {
        [Platform::Twilio, Platform::SignalWire]
    };
    let mut first_error = None;
    for platform in order {
        let attempt = match platform {
            Platform::Twilio => attempt_twilio(s, r),
            Platform::SignalWire => attempt_signalwire(s, r),
            Platform::Telnyx => None,
        };
        match attempt {
            Some(Ok(())) => return Ok(platform),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => {}
        }
    }
    Err(first_error.unwrap_or(SigError::Missing))
}
