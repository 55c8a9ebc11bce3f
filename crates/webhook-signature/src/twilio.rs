//! Twilio's scheme (also SignalWire's cXML one): Base64(HMAC(key, URL + sorted
//! `name + value` pairs)), with the URL variants and the body rules.

use super::HmacSha1;
use super::{
    Alg, STANDARD, STANDARD_PAD_INDIFFERENT, SigError, SignatureSettings, SignedRequest,
    TWILIO_SIGNATURE_HEADER, TWILIO_SIGNATURE_SETTINGS_HEADER, from_hex, header, mac_matches,
    query_param, url_variants,
};
use base64::Engine;
use hmac::{KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

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
pub(crate) fn params_concat(params: &[(String, String)]) -> String {
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
/// no body rules: [`crate::verify`] is the full check).
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

/// `None` when the request carries no Twilio signature or no Twilio key is set.
pub(crate) fn attempt_twilio(
    s: &SignatureSettings,
    r: &SignedRequest,
) -> Option<Result<(), SigError>> {
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

/// The Twilio scheme: Base64(HMAC(key, URL + sorted params)) with the URL variants
/// and the body rules.
pub(crate) fn check_form_scheme(
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

/// `key=<id>,algorithm=HMAC_SHA256` → (id, algorithm).
pub(crate) fn parse_signature_settings(value: &str) -> Result<(&str, Alg), SigError> {
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
