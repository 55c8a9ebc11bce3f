//! Telnyx's scheme: Ed25519 over `"{timestamp}|{raw body}"`.

use super::{
    STANDARD_PAD_INDIFFERENT, SigError, SignedRequest, TELNYX_SIGNATURE_HEADER,
    TELNYX_TIMESTAMP_HEADER, TELNYX_TOLERANCE_SECS, header,
};
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};

pub(crate) fn verify_telnyx(key: &[u8; 32], r: &SignedRequest) -> Result<(), SigError> {
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
