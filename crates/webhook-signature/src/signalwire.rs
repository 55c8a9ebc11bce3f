//! SignalWire's schemes: the cXML one (Twilio's, with the project signing key),
//! and hex HMAC-SHA1 or HMAC-SHA256 of URL + raw body (RELAY/SWML).

use super::twilio::{ParamOrder, check_form_scheme};
use super::{
    Alg, SIGNALWIRE_SHA256_SIGNATURE_HEADER, SIGNALWIRE_SIGNATURE_HEADER, SigError,
    SignatureSettings, SignedRequest, TWILIO_SIGNATURE_HEADER, from_hex, header, mac_matches,
    url_variants,
};
use secrecy::ExposeSecret;

/// `None` when no SignalWire key is set or the request carries none of its headers.
pub(crate) fn attempt_signalwire(
    s: &SignatureSettings,
    r: &SignedRequest,
) -> Option<Result<(), SigError>> {
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
    // SignalWire's libraries keep repeated parameters in submission order; the
    // Twilio form (distinct, sorted) is accepted too, as before.
    Some(check_form_scheme(
        Alg::Sha1,
        key,
        signature,
        r,
        &[ParamOrder::Submission, ParamOrder::SortedDistinct],
    ))
}

/// `hex(HMAC(key, URL + raw body))`, trying the URL variants.
pub(crate) fn raw_body_scheme_matches(alg: Alg, key: &[u8], tag: &[u8], r: &SignedRequest) -> bool {
    url_variants(r.url)
        .iter()
        .any(|u| mac_matches(alg, key, &[u.as_bytes(), r.body], tag))
}
