//! Telnyx's scheme: Ed25519 over `"{timestamp}|{raw body}"`.

use super::{
    STANDARD_PAD_INDIFFERENT, SigError, SignedRequest, TELNYX_SIGNATURE_HEADER,
    TELNYX_TIMESTAMP_HEADER, TELNYX_TOLERANCE_SECS, header,
};
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// How long a Telnyx signature must be remembered to be accepted at one URL: its
/// timestamp is accepted from [`TELNYX_TOLERANCE_SECS`] before now to as much
/// after, so twice that, plus a minute for clocks.
pub const TELNYX_REPLAY_TTL_MS: i64 = (2 * TELNYX_TOLERANCE_SECS as i64 + 60) * 1000;

/// The key under which a Telnyx request's signature is remembered with the URL
/// it came to, so that each signature is accepted at one URL only (the
/// platform's retry there included): Telnyx signs `timestamp|body` but not the
/// URL, so a captured request could otherwise be replayed to another step within
/// the window. `telnyx:` + hex SHA-256 of the decoded signature (the same bytes
/// however the Base64 is padded). `None` when the request carries no decodable
/// Telnyx signature. Call it only after [`crate::verify`] accepted the request.
pub fn telnyx_replay_key(headers: &[(String, String)]) -> Option<String> {
    let signature = header(headers, TELNYX_SIGNATURE_HEADER)?;
    let bytes = STANDARD_PAD_INDIFFERENT.decode(signature).ok()?;
    let digest = Sha256::digest(&bytes);
    let mut key = String::with_capacity(7 + 64);
    key.push_str("telnyx:");
    for b in digest {
        key.push_str(&format!("{b:02x}"));
    }
    Some(key)
}

pub(crate) fn verify_telnyx(key: &[u8; 32], r: &SignedRequest) -> Result<(), SigError> {
    let signature = header(r.headers, TELNYX_SIGNATURE_HEADER).ok_or(SigError::Missing)?;
    let timestamp = header(r.headers, TELNYX_TIMESTAMP_HEADER).ok_or(SigError::Missing)?;
    // Digits only, as Telnyx's verifier: `u64::from_str` would take `+1796155324`.
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SigError::Malformed("timestamp is not unix seconds"));
    }
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
