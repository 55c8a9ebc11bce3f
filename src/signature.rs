//! Webhook request signatures: is this request really from the telephony platform?
//!
//! Pure functions only (no actix types), so every rule is unit-tested against the
//! official vectors; the web layer gathers a [`SignedRequest`] and calls [`verify`].
//!
//! Schemes (see `shared/reference/twiml.md`):
//! - **Twilio** `X-Twilio-Signature` = Base64(HMAC-SHA1(auth token, URL + for each
//!   parameter name in byte order, each of its distinct values in byte order:
//!   name + value)). Validators accept the URL as given, with its port removed and
//!   with the default port (`:443`/`:80`) added, so all three are tried.
//!   A JSON body is not a form: the platform adds `bodySHA256=<hex sha256 of the raw
//!   body>` to the query and signs the URL alone; the hash is then checked too. A
//!   non-empty body that is neither a form nor covered by `bodySHA256` is refused.
//! - **Twilio webhook rules**: `X-Twilio-Webhooks-Signature-Settings: key=<id>,
//!   algorithm=HMAC_SHA256` announces that `X-Twilio-Signature` was made with the
//!   shared key `<id>` and that algorithm (same payload, Base64).
//! - **SignalWire** (its official SDK, `signalwire-typescript` `WebhookValidator.ts`
//!   and `docs/security.md`): the cXML scheme above with the project signing key,
//!   in `X-SignalWire-Signature` (or `X-Twilio-Signature` for compatibility); the
//!   RELAY/SWML scheme hex(HMAC-SHA1(key, URL + raw body)) in the same header; and
//!   hex(HMAC-SHA256(key, URL + raw body)) in `X-SignalWire-Sha256-Signature`,
//!   checked first when present.
//! - **Telnyx**: Ed25519 over `"{telnyx-timestamp}|{raw body}"`, signature Base64 in
//!   `telnyx-signature-ed25519`; a timestamp more than 300 s from now is refused.
//!
//! Every MAC is compared with `Mac::verify_slice` (constant time). Errors name the
//! rule that failed, never a key, a signature or a parameter.

use base64::Engine;
use base64::engine::general_purpose::{
    STANDARD, STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT,
};
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};

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
    /// `IVR_PUBLIC_URL` by the caller (never from `Host`/`X-Forwarded-*`).
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
    #[error("request body does not match its signed hash")]
    BodyHashMismatch,
    #[error("no signature key is configured")]
    NotConfigured,
}

/// The string that is signed: the URL, then `name + value` for every distinct
/// parameter pair, sorted by name then value (byte order). Repeated identical pairs
/// count once, as in Twilio's official validators (the repeated-`Digits` vector).
pub fn signed_payload(url: &str, params: &[(String, String)]) -> String {
    let mut s = String::with_capacity(url.len() + 64 * params.len());
    s.push_str(url);
    s.push_str(&params_concat(params));
    s
}

/// `name + value` of the distinct pairs, sorted by name then value (byte order).
fn params_concat(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| {
        a.0.as_bytes()
            .cmp(b.0.as_bytes())
            .then(a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    sorted.dedup();
    let mut s = String::with_capacity(64 * sorted.len());
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// The `X-Twilio-Signature` a platform would send for this URL and form.
pub fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac =
        HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(signed_payload(url, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `signature` for exactly this URL in constant time (no port variants,
/// no body rules: [`verify`] is the full check).
pub fn verify_twilio(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac_matches(
        Alg::Sha1,
        token.as_bytes(),
        &[url.as_bytes(), params_concat(params).as_bytes()],
        &expected,
    )
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

/// `None` when the request carries no Twilio signature or no Twilio key is set.
fn attempt_twilio(s: &SignatureSettings, r: &SignedRequest) -> Option<Result<(), SigError>> {
    let signature = header(r.headers, TWILIO_SIGNATURE_HEADER)?;
    if let Some(settings) = header(r.headers, TWILIO_SIGNATURE_SETTINGS_HEADER) {
        if s.twilio_shared_keys.is_empty() && s.twilio_auth_token.is_none() {
            return None;
        }
        return Some(parse_signature_settings(settings).and_then(|(id, alg)| {
            let key =
                s.twilio_shared_keys
                    .iter()
                    .find(|(k, _)| k == id)
                    .ok_or(SigError::Malformed(
                        "signature settings name an unknown key",
                    ))?;
            check_form_scheme(alg, key.1.expose_secret().as_bytes(), signature, r)
        }));
    }
    let token = s.twilio_auth_token.as_ref()?;
    Some(check_form_scheme(
        Alg::Sha1,
        token.expose_secret().as_bytes(),
        signature,
        r,
    ))
}

/// `None` when no SignalWire key is set or the request carries none of its headers.
fn attempt_signalwire(s: &SignatureSettings, r: &SignedRequest) -> Option<Result<(), SigError>> {
    let key = s
        .signalwire_signing_key
        .as_ref()?
        .expose_secret()
        .as_bytes();
    let sha256 = header(r.headers, SIGNALWIRE_SHA256_SIGNATURE_HEADER);
    let sha1 = header(r.headers, SIGNALWIRE_SIGNATURE_HEADER)
        .or_else(|| header(r.headers, TWILIO_SIGNATURE_HEADER));
    if sha256.is_none() && sha1.is_none() {
        return None;
    }
    // Preferred: hex HMAC-SHA256 of URL + raw body; a failure falls back to SHA-1.
    if let Some(tag) = sha256.and_then(from_hex)
        && raw_body_scheme_matches(Alg::Sha256, key, &tag, r)
    {
        return Some(Ok(()));
    }
    let Some(signature) = sha1 else {
        return Some(Err(SigError::Mismatch));
    };
    // RELAY/SWML: hex HMAC-SHA1 of URL + raw body (40 hex digits; Base64 of a
    // SHA-1 MAC is 28 characters, so the two cannot be confused).
    if signature.len() == 40
        && let Some(tag) = from_hex(signature)
    {
        return Some(if raw_body_scheme_matches(Alg::Sha1, key, &tag, r) {
            Ok(())
        } else {
            Err(SigError::Mismatch)
        });
    }
    Some(check_form_scheme(Alg::Sha1, key, signature, r))
}

/// `hex(HMAC(key, URL + raw body))`, trying the URL variants.
fn raw_body_scheme_matches(alg: Alg, key: &[u8], tag: &[u8], r: &SignedRequest) -> bool {
    url_variants(r.url)
        .iter()
        .any(|u| mac_matches(alg, key, &[u.as_bytes(), r.body], tag))
}

/// The Twilio scheme: Base64(HMAC(key, URL + sorted params)) with the URL variants
/// and the body rules.
fn check_form_scheme(
    alg: Alg,
    key: &[u8],
    signature_b64: &str,
    r: &SignedRequest,
) -> Result<(), SigError> {
    let tag = STANDARD_PAD_INDIFFERENT
        .decode(signature_b64)
        .map_err(|_| SigError::Malformed("signature is not Base64"))?;
    let (params, body_hash): (&[(String, String)], Option<String>) = match r.form {
        Some(form) => (form, None),
        None => match query_param(r.url, "bodySHA256") {
            Some(hash) => (&[], Some(hash)),
            None if r.body.is_empty() => (&[], None),
            None => {
                return Err(SigError::Malformed(
                    "body is neither a form nor covered by bodySHA256",
                ));
            }
        },
    };
    let concat = params_concat(params);
    let signed = url_variants(r.url)
        .iter()
        .any(|u| mac_matches(alg, key, &[u.as_bytes(), concat.as_bytes()], &tag));
    if !signed {
        return Err(SigError::Mismatch);
    }
    if let Some(expected) = body_hash {
        let actual = Sha256::digest(r.body);
        if from_hex(&expected).as_deref() != Some(actual.as_slice()) {
            return Err(SigError::BodyHashMismatch);
        }
    }
    Ok(())
}

fn verify_telnyx(key: &[u8; 32], r: &SignedRequest) -> Result<(), SigError> {
    let signature = header(r.headers, TELNYX_SIGNATURE_HEADER).ok_or(SigError::Missing)?;
    let timestamp = header(r.headers, TELNYX_TIMESTAMP_HEADER).ok_or(SigError::Missing)?;
    let ts: u64 = timestamp
        .parse()
        .map_err(|_| SigError::Malformed("timestamp is not unix seconds"))?;
    if r.now_unix.abs_diff(ts) > TELNYX_TOLERANCE_SECS {
        return Err(SigError::Expired);
    }
    let sig_bytes = STANDARD_PAD_INDIFFERENT
        .decode(signature)
        .map_err(|_| SigError::Malformed("signature is not Base64"))?;
    let sig = Signature::from_slice(&sig_bytes)
        .map_err(|_| SigError::Malformed("signature is not 64 bytes"))?;
    let vk = VerifyingKey::from_bytes(key).map_err(|_| SigError::NotConfigured)?;
    let mut message = Vec::with_capacity(timestamp.len() + 1 + r.body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'|');
    message.extend_from_slice(r.body);
    vk.verify_strict(&message, &sig)
        .map_err(|_| SigError::Mismatch)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alg {
    Sha1,
    Sha256,
}

/// HMAC over the concatenated `parts`, compared with `tag` in constant time.
fn mac_matches(alg: Alg, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
            return false;
        };
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(tag).is_ok()
    }
    match alg {
        Alg::Sha1 => run::<HmacSha1>(key, parts, tag),
        Alg::Sha256 => run::<HmacSha256>(key, parts, tag),
    }
}

/// `key=<id>,algorithm=HMAC_SHA256` → (id, algorithm).
fn parse_signature_settings(value: &str) -> Result<(&str, Alg), SigError> {
    let mut key = None;
    let mut alg = None;
    for part in value.split([',', ';']) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "key" => key = Some(v),
            "algorithm" => {
                alg = Some(match v.to_ascii_uppercase().as_str() {
                    "HMAC_SHA256" | "HMAC-SHA256" => Alg::Sha256,
                    "HMAC_SHA1" | "HMAC-SHA1" => Alg::Sha1,
                    _ => return Err(SigError::Malformed("unsupported signature algorithm")),
                })
            }
            _ => {}
        }
    }
    match (key, alg) {
        (Some(k), Some(a)) if !k.is_empty() => Ok((k, a)),
        _ => Err(SigError::Malformed(
            "signature settings lack key or algorithm",
        )),
    }
}

/// First header with this name (case-insensitive), trimmed; `None` if empty.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A decoded query parameter of `url`.
fn query_param(url: &str, name: &str) -> Option<String> {
    let after = url.split_once('?')?.1;
    let query = after.split('#').next().unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URL as given, then with its port removed, or with the scheme's default port
/// added (`:443` for https, `:80` for http). Built by hand: a URL parser would
/// normalise the string and change the bytes that were signed.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(close) => {
                let (h, after) = hostport.split_at(close + 1);
                (h, after.strip_prefix(':'))
            }
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
            _ => (hostport, None),
        }
    };
    if host.is_empty() {
        return out;
    }
    let variant = match port {
        Some(_) => Some(format!("{scheme}://{userinfo}{host}{tail}")),
        None => match scheme.to_ascii_lowercase().as_str() {
            "https" => Some(format!("{scheme}://{userinfo}{host}:443{tail}")),
            "http" => Some(format!("{scheme}://{userinfo}{host}:80{tail}")),
            _ => None,
        },
    };
    if let Some(v) = variant
        && v != url
    {
        out.push(v);
    }
    out
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use proptest::prelude::*;

    const TOKEN: &str = "12345";
    const U: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const NOW: u64 = 1_800_000_000;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn p() -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    fn twilio_settings() -> SignatureSettings {
        SignatureSettings {
            twilio_auth_token: Some(SecretString::from(TOKEN)),
            ..Default::default()
        }
    }

    fn twilio_headers(sig: &str) -> Vec<(String, String)> {
        pairs(&[
            ("content-type", "application/x-www-form-urlencoded"),
            (TWILIO_SIGNATURE_HEADER, sig),
        ])
    }

    /// Runs the full check on a form request.
    fn check_form(
        s: &SignatureSettings,
        url: &str,
        form: &[(String, String)],
        headers: &[(String, String)],
    ) -> Result<Platform, SigError> {
        let body = serde_urlencoded::to_string(form).unwrap_or_default();
        verify(
            s,
            &SignedRequest {
                url,
                headers,
                body: body.as_bytes(),
                form: Some(form),
                now_unix: NOW,
            },
        )
    }

    fn twilio_form(url: &str, form: &[(String, String)], sig: &str) -> Result<Platform, SigError> {
        check_form(&twilio_settings(), url, form, &twilio_headers(sig))
    }

    // ---- the table in twiml.md, one test per row ----

    #[test]
    fn vector_plain_url() {
        assert_eq!(
            twilio_signature(TOKEN, U, &p()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify_twilio(
            TOKEN,
            U,
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert_eq!(
            twilio_form(U, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn vector_port_removed() {
        let url = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_form(url, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn vector_https_default_port_added() {
        assert_eq!(
            twilio_form(U, &p(), "kvajT1Ptam85bY51eRf/AJRuM3w="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn vector_http_default_port_added() {
        let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_form(url, &p(), "0ZXoZLH/DfblKGATFgpif+LLRf4="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn vector_http_explicit_port() {
        let url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_form(url, &p(), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn vector_repeated_params() {
        let form = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            twilio_signature(TOKEN, U, &form),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        assert_eq!(
            twilio_form(U, &form, "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn vector_credentials_in_url() {
        let url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_form(url, &p(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
            Ok(Platform::Twilio)
        );
        // The credentials are part of what was signed.
        assert_eq!(
            twilio_form(U, &p(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
            Err(SigError::Mismatch)
        );
    }

    const JSON_BODY: &str = r#"{"property": "value", "boolean": true}"#;
    const JSON_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

    fn json(url: &str, body: &str, sig: &str) -> Result<Platform, SigError> {
        let headers = pairs(&[
            ("content-type", "application/json"),
            (TWILIO_SIGNATURE_HEADER, sig),
        ]);
        verify(
            &twilio_settings(),
            &SignedRequest {
                url,
                headers: &headers,
                body: body.as_bytes(),
                form: None,
                now_unix: NOW,
            },
        )
    }

    #[test]
    fn vector_json_body_with_body_sha256() {
        assert_eq!(
            json(JSON_URL, JSON_BODY, "a9nBmqA0ju/hNViExpshrM61xv4="),
            Ok(Platform::Twilio)
        );
    }

    #[test]
    fn json_body_changed_is_a_body_hash_mismatch() {
        let changed = JSON_BODY.replace("value", "other");
        assert_eq!(
            json(JSON_URL, &changed, "a9nBmqA0ju/hNViExpshrM61xv4="),
            Err(SigError::BodyHashMismatch)
        );
    }

    #[test]
    fn must_fail_body_without_body_sha256() {
        let sig = twilio_signature(TOKEN, U, &[]);
        assert!(matches!(
            json(U, JSON_BODY, &sig),
            Err(SigError::Malformed(_))
        ));
    }

    #[test]
    fn vector_changed_caller_and_from() {
        let mut form = p();
        for (k, v) in form.iter_mut() {
            if k == "Caller" || k == "From" {
                *v = "+12349013030".into();
            }
        }
        assert_eq!(
            twilio_form(U, &form, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            Ok(Platform::Twilio)
        );
        // ...and the original signature no longer fits the changed values.
        assert_eq!(
            twilio_form(U, &form, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Err(SigError::Mismatch)
        );
    }

    #[test]
    fn vector_hmac_sha256_shared_key() {
        let s = SignatureSettings {
            twilio_shared_keys: vec![("KS1".into(), SecretString::from(TOKEN))],
            ..Default::default()
        };
        let mut headers = twilio_headers("033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=");
        headers.push((
            TWILIO_SIGNATURE_SETTINGS_HEADER.into(),
            "key=KS1,algorithm=HMAC_SHA256".into(),
        ));
        assert_eq!(check_form(&s, U, &p(), &headers), Ok(Platform::Twilio));

        // Unknown key id, unknown algorithm, and a SHA-1 signature under the header.
        let mut other = headers.clone();
        other[2].1 = "key=KS2,algorithm=HMAC_SHA256".into();
        assert!(matches!(
            check_form(&s, U, &p(), &other),
            Err(SigError::Malformed(_))
        ));
        other[2].1 = "key=KS1,algorithm=HMAC_MD5".into();
        assert!(matches!(
            check_form(&s, U, &p(), &other),
            Err(SigError::Malformed(_))
        ));
        let mut sha1 = twilio_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        sha1.push(headers[2].clone());
        assert_eq!(check_form(&s, U, &p(), &sha1), Err(SigError::Mismatch));
    }

    // ---- must fail ----

    #[test]
    fn must_fail_missing_header() {
        let headers = pairs(&[("content-type", "application/x-www-form-urlencoded")]);
        assert_eq!(
            check_form(&twilio_settings(), U, &p(), &headers),
            Err(SigError::Missing)
        );
        // An empty header is no signature either.
        assert_eq!(twilio_form(U, &p(), " "), Err(SigError::Missing));
    }

    #[test]
    fn must_fail_changed_parameter_value() {
        let mut form = p();
        form[2].1 = "1235".into();
        assert_eq!(
            twilio_form(U, &form, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Err(SigError::Mismatch)
        );
    }

    #[test]
    fn must_fail_another_token() {
        let s = SignatureSettings {
            twilio_auth_token: Some(SecretString::from("54321")),
            ..Default::default()
        };
        assert_eq!(
            check_form(&s, U, &p(), &twilio_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
            Err(SigError::Mismatch)
        );
        assert!(!verify_twilio(
            "54321",
            U,
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn bad_base64_is_malformed() {
        assert!(matches!(
            twilio_form(U, &p(), "not base64!"),
            Err(SigError::Malformed(_))
        ));
    }

    #[test]
    fn nothing_configured() {
        let headers = twilio_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(
            check_form(&SignatureSettings::default(), U, &p(), &headers),
            Err(SigError::NotConfigured)
        );
        assert!(!SignatureSettings::default().any());
        assert!(twilio_settings().any());
    }

    #[test]
    fn header_of_an_unconfigured_platform_is_not_accepted() {
        // Only SignalWire is configured; a Twilio signature made with some token is
        // checked with the SignalWire key (compat header), and fails.
        let s = SignatureSettings {
            signalwire_signing_key: Some(SecretString::from("PSKsecret")),
            ..Default::default()
        };
        let sig = twilio_signature(TOKEN, U, &p());
        assert_eq!(
            check_form(&s, U, &p(), &twilio_headers(&sig)),
            Err(SigError::Mismatch)
        );
        // A Telnyx header while Telnyx is not configured: no usable signature.
        let headers = pairs(&[
            (TELNYX_SIGNATURE_HEADER, "AAAA"),
            (TELNYX_TIMESTAMP_HEADER, "1"),
        ]);
        assert_eq!(check_form(&s, U, &p(), &headers), Err(SigError::Missing));
    }

    #[test]
    fn debug_shows_no_secret() {
        let s = SignatureSettings {
            twilio_auth_token: Some(SecretString::from("tok-abc-123")),
            twilio_shared_keys: vec![("KS1".into(), SecretString::from("shared-xyz"))],
            signalwire_signing_key: Some(SecretString::from("PSK-sw-789")),
            telnyx_public_key: None,
        };
        let d = format!("{s:?}");
        assert!(!d.contains("tok-abc-123") && !d.contains("shared-xyz") && !d.contains("PSK-sw"));
        let e = SigError::Malformed("signature is not Base64").to_string();
        assert!(e.contains("Base64"));
    }

    #[test]
    fn url_variants_cover_ports_and_brackets() {
        assert_eq!(
            url_variants("https://h.example/p?q=1"),
            vec!["https://h.example/p?q=1", "https://h.example:443/p?q=1"]
        );
        assert_eq!(
            url_variants("http://u:p@h.example:8080"),
            vec!["http://u:p@h.example:8080", "http://u:p@h.example"]
        );
        assert_eq!(
            url_variants("https://[::1]:8443/x"),
            vec!["https://[::1]:8443/x", "https://[::1]/x"]
        );
        assert_eq!(url_variants("not a url"), vec!["not a url"]);
    }

    // ---- SignalWire ----

    const SW_KEY: &str = "PSKa1b2c3d4e5f6";

    fn sw_settings() -> SignatureSettings {
        SignatureSettings {
            signalwire_signing_key: Some(SecretString::from(SW_KEY)),
            ..Default::default()
        }
    }

    #[test]
    fn signalwire_cxml_header_accepted() {
        let sig = twilio_signature(SW_KEY, U, &p());
        let headers = pairs(&[(SIGNALWIRE_SIGNATURE_HEADER, &sig)]);
        assert_eq!(
            check_form(&sw_settings(), U, &p(), &headers),
            Ok(Platform::SignalWire)
        );
        // The compat header X-Twilio-Signature also works with the signing key.
        assert_eq!(
            check_form(&sw_settings(), U, &p(), &twilio_headers(&sig)),
            Ok(Platform::SignalWire)
        );
        // Not with another key, not with a changed value.
        let other = twilio_signature("PSKother", U, &p());
        let headers = pairs(&[(SIGNALWIRE_SIGNATURE_HEADER, &other)]);
        assert_eq!(
            check_form(&sw_settings(), U, &p(), &headers),
            Err(SigError::Mismatch)
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn sw_raw(headers: &[(String, String)], body: &str) -> Result<Platform, SigError> {
        verify(
            &sw_settings(),
            &SignedRequest {
                url: U,
                headers,
                body: body.as_bytes(),
                form: None,
                now_unix: NOW,
            },
        )
    }

    #[test]
    fn signalwire_raw_body_schemes() {
        let body = r#"{"call":{"call_id":"x"}}"#;
        let mut m1 = HmacSha1::new_from_slice(SW_KEY.as_bytes()).unwrap();
        m1.update(format!("{U}{body}").as_bytes());
        let sha1_hex = hex(&m1.finalize().into_bytes());
        let mut m2 = HmacSha256::new_from_slice(SW_KEY.as_bytes()).unwrap();
        m2.update(format!("{U}{body}").as_bytes());
        let sha256_hex = hex(&m2.finalize().into_bytes());

        let h1 = pairs(&[(SIGNALWIRE_SIGNATURE_HEADER, &sha1_hex)]);
        assert_eq!(sw_raw(&h1, body), Ok(Platform::SignalWire));
        assert_eq!(sw_raw(&h1, "{}"), Err(SigError::Mismatch));

        let h2 = pairs(&[(SIGNALWIRE_SHA256_SIGNATURE_HEADER, &sha256_hex)]);
        assert_eq!(sw_raw(&h2, body), Ok(Platform::SignalWire));
        assert_eq!(sw_raw(&h2, "{}"), Err(SigError::Mismatch));

        // A bad SHA-256 header falls back to a good SHA-1 one.
        let both = pairs(&[
            (SIGNALWIRE_SHA256_SIGNATURE_HEADER, &"00".repeat(32)),
            (SIGNALWIRE_SIGNATURE_HEADER, &sha1_hex),
        ]);
        assert_eq!(sw_raw(&both, body), Ok(Platform::SignalWire));
    }

    // ---- Telnyx ----

    fn telnyx_key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn telnyx_settings() -> SignatureSettings {
        SignatureSettings {
            telnyx_public_key: Some(telnyx_key().verifying_key().to_bytes()),
            ..Default::default()
        }
    }

    fn telnyx(ts: &str, sig: &str, body: &str, now: u64) -> Result<Platform, SigError> {
        let headers = pairs(&[
            (TELNYX_SIGNATURE_HEADER, sig),
            (TELNYX_TIMESTAMP_HEADER, ts),
        ]);
        verify(
            &telnyx_settings(),
            &SignedRequest {
                url: U,
                headers: &headers,
                body: body.as_bytes(),
                form: None,
                now_unix: now,
            },
        )
    }

    fn telnyx_sign(ts: u64, body: &str) -> String {
        STANDARD.encode(
            telnyx_key()
                .sign(format!("{ts}|{body}").as_bytes())
                .to_bytes(),
        )
    }

    #[test]
    fn telnyx_signature_verifies() {
        let body = r#"{"data":{"event_type":"call.initiated"}}"#;
        let sig = telnyx_sign(NOW, body);
        assert_eq!(
            telnyx(&NOW.to_string(), &sig, body, NOW + 10),
            Ok(Platform::Telnyx)
        );
        assert_eq!(
            telnyx(&NOW.to_string(), &sig, body, NOW + 300),
            Ok(Platform::Telnyx)
        );
    }

    #[test]
    fn telnyx_failures() {
        let body = r#"{"data":{}}"#;
        let sig = telnyx_sign(NOW, body);
        let ts = NOW.to_string();
        assert_eq!(telnyx(&ts, &sig, body, NOW + 301), Err(SigError::Expired));
        assert_eq!(telnyx(&ts, &sig, body, NOW - 301), Err(SigError::Expired));
        assert_eq!(
            telnyx(&ts, &sig, r#"{"data":{"x":1}}"#, NOW),
            Err(SigError::Mismatch)
        );
        // The timestamp is signed: another one (still in the window) fails.
        assert_eq!(
            telnyx(&(NOW + 1).to_string(), &sig, body, NOW),
            Err(SigError::Mismatch)
        );
        assert!(matches!(
            telnyx(&ts, "%%%not-b64", body, NOW),
            Err(SigError::Malformed(_))
        ));
        assert!(matches!(
            telnyx(&ts, "AAAA", body, NOW),
            Err(SigError::Malformed(_))
        ));
        assert!(matches!(
            telnyx("soon", &sig, body, NOW),
            Err(SigError::Malformed(_))
        ));
        let headers = pairs(&[(TELNYX_SIGNATURE_HEADER, &sig)]);
        let r = SignedRequest {
            url: U,
            headers: &headers,
            body: body.as_bytes(),
            form: None,
            now_unix: NOW,
        };
        assert_eq!(verify(&telnyx_settings(), &r), Err(SigError::Missing));
    }

    #[test]
    fn telnyx_key_parsing() {
        let raw = telnyx_key().verifying_key().to_bytes();
        let b64 = STANDARD.encode(raw);
        assert_eq!(SignatureSettings::parse_telnyx_key(&b64), Ok(raw));
        assert_eq!(
            SignatureSettings::parse_telnyx_key(b64.trim_end_matches('=')),
            Ok(raw)
        );
        assert_eq!(SignatureSettings::parse_telnyx_key(&hex(&raw)), Ok(raw));
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&raw);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(&der)
        );
        assert_eq!(SignatureSettings::parse_telnyx_key(&pem), Ok(raw));
        for bad in ["", "abc", "%%%%", &STANDARD.encode([1u8; 31])] {
            assert!(SignatureSettings::parse_telnyx_key(bad).is_err(), "{bad}");
        }
        // The identity point is a weak (small-order) key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(SignatureSettings::parse_telnyx_key(&hex(&identity)).is_err());
    }

    proptest! {
        #[test]
        fn accepts_exactly_what_was_signed(
            form in prop::collection::btree_map("[A-Za-z]{1,12}", "\\PC{0,24}", 1..10),
            idx in any::<prop::sample::Index>(),
            replacement in "\\PC{0,24}",
            path in "[a-z/]{0,12}",
        ) {
            let url = format!("https://ivr.example.com/{path}?step=1");
            let form: Vec<(String, String)> = form.into_iter().collect();
            let sig = twilio_signature(TOKEN, &url, &form);
            prop_assert_eq!(twilio_form(&url, &form, &sig), Ok(Platform::Twilio));

            let i = idx.index(form.len());
            prop_assume!(form[i].1 != replacement);
            let mut changed = form.clone();
            changed[i].1 = replacement;
            prop_assert_eq!(twilio_form(&url, &changed, &sig), Err(SigError::Mismatch));
        }
    }
}
