//! Twilio's scheme (also SignalWire's cXML one): Base64(HMAC(key, URL + sorted
//! `name + value` pairs)), with the URL variants; the body is a form or empty.

use super::HmacSha1;
use super::{
    Alg, STANDARD, STANDARD_PAD_INDIFFERENT, SigError, SignatureSettings, SignedRequest,
    TWILIO_SIGNATURE_HEADER, TWILIO_SIGNATURE_SETTINGS_HEADER, header, mac_matches, url_variants,
};
use base64::Engine;
use hmac::{KeyInit, Mac};
use secrecy::ExposeSecret;

/// The string that is signed: the URL, then `name + value` for every distinct
/// parameter pair, sorted by name then value (byte order). Repeated identical pairs
/// count once, as in Twilio's official validators (the repeated-`Digits` vector).
pub fn signed_payload(url: &str, params: &[(String, String)]) -> String {
    let mut s = String::with_capacity(url.len() + 64 * params.len());
    s.push_str(url);
    s.push_str(&params_concat(params));
    s
}

/// How a scheme orders and counts repeated parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamOrder {
    /// Twilio: the distinct pairs, sorted by name then value (twilio-node's
    /// `Array.from(new Set(values)).sort()`, twilio-python's `sorted(set(values))`).
    SortedDistinct,
    /// SignalWire (`@signalwire/compatibility-api` 3.2 `toFormUrlEncodedParam`): the
    /// names sorted, each name's values in submission order, repeats kept.
    Submission,
}

impl ParamOrder {
    pub(crate) fn concat(self, params: &[(String, String)]) -> String {
        match self {
            ParamOrder::SortedDistinct => params_concat(params),
            ParamOrder::Submission => params_concat_submission(params),
        }
    }
}

/// `name + value` of every pair, names sorted (byte order, a stable sort), each
/// name's values in the order they were submitted, repeats kept: SignalWire's string.
pub(crate) fn params_concat_submission(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = String::with_capacity(64 * sorted.len());
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// The `X-SignalWire-Signature` of SignalWire's cXML scheme for this URL and form
/// (repeated parameters kept in submission order, see [`ParamOrder::Submission`]).
pub fn signalwire_signature(key: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = HmacSha1::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    mac.update(params_concat_submission(params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
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
            check_form_scheme(
                alg,
                key.1.expose_secret().as_bytes(),
                signature,
                r,
                &[ParamOrder::SortedDistinct],
            )
        }));
    }
    let token = s.twilio_auth_token.as_ref()?;
    Some(check_form_scheme(
        Alg::Sha1,
        token.expose_secret().as_bytes(),
        signature,
        r,
        &[ParamOrder::SortedDistinct],
    ))
}

/// The Twilio scheme: Base64(HMAC(key, URL + params)) with the URL variants and
/// the body rules; the parameters are concatenated in each of `orders` in turn.
pub(crate) fn check_form_scheme(
    alg: Alg,
    key: &[u8],
    signature_b64: &str,
    r: &SignedRequest,
    orders: &[ParamOrder],
) -> Result<(), SigError> {
    let tag = STANDARD_PAD_INDIFFERENT
        .decode(signature_b64)
        .map_err(|_| SigError::Malformed("signature is not Base64"))?;
    // A body is signed as a form, or not at all (an empty one). Twilio's
    // `bodySHA256` scheme for JSON bodies is not supported: voice webhooks are
    // forms on every platform (see the crate documentation).
    let params: &[(String, String)] = match r.form {
        Some(form) => form,
        None if r.body.is_empty() => &[],
        None => return Err(SigError::Malformed("body is not a form")),
    };
    let mut concats: Vec<String> = Vec::with_capacity(orders.len());
    for order in orders {
        let c = order.concat(params);
        if !concats.contains(&c) {
            concats.push(c);
        }
    }
    let urls = url_variants(r.url);
    let signed = concats.iter().any(|c| {
        urls.iter()
            .any(|u| mac_matches(alg, key, &[u.as_bytes(), c.as_bytes()], &tag))
    });
    if signed {
        Ok(())
    } else {
        Err(SigError::Mismatch)
    }
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
