//! jambonz's scheme, as `@jambonz/node-client` makes and checks it:
//! `Jambonz-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
//! the timestamp within [`JAMBONZ_TOLERANCE_SECS`] of now, every `v1` tried (a
//! secret being rotated), each compared in constant time. jambonz does not sign
//! the URL: the caller accepts each signature at one URL only
//! ([`jambonz_replay_key`]), as for Telnyx.

use super::util::{Alg, from_hex, mac_matches};
use super::{HmacSha256, SigError};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The header jambonz signs its webhooks in.
pub const JAMBONZ_SIGNATURE_HEADER: &str = "jambonz-signature";
/// How far from now a signature's timestamp may be, in seconds.
pub const JAMBONZ_TOLERANCE_SECS: u64 = 300;
/// How long a jambonz signature is remembered with its URL (the window on both
/// sides, and a minute for clocks).
pub const JAMBONZ_REPLAY_TTL_MS: i64 = (2 * JAMBONZ_TOLERANCE_SECS as i64 + 60) * 1000;

/// The header value jambonz sends for `body` at `t` (what its node client's
/// `generateSignature` writes).
pub fn jambonz_signature(secret: &str, t: u64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// The timestamp and every `v1` of a header value.
fn parse(value: &str) -> Result<(u64, Vec<&str>), SigError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", ts)) => {
                if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SigError::Malformed("timestamp is not unix seconds"));
                }
                t = Some(
                    ts.parse::<u64>()
                        .map_err(|_| SigError::Malformed("timestamp is not unix seconds"))?,
                );
            }
            Some(("v1", sig)) => v1.push(sig),
            // Other schemes (a future `v2`) are not ours to check.
            _ => {}
        }
    }
    match t {
        Some(t) if !v1.is_empty() => Ok((t, v1)),
        _ => Err(SigError::Malformed("no t= or no v1=")),
    }
}

/// Checks `Jambonz-Signature` (`header`, its value) over `body` with `secret`.
pub fn verify_jambonz(
    secret: &SecretString,
    header: Option<&str>,
    body: &[u8],
    now_unix: u64,
) -> Result<(), SigError> {
    let (t, v1) = parse(header.ok_or(SigError::Missing)?)?;
    if now_unix.abs_diff(t) > JAMBONZ_TOLERANCE_SECS {
        return Err(SigError::Expired);
    }
    let key = secret.expose_secret().as_bytes();
    let ts = t.to_string();
    let matched = v1.iter().any(|sig| {
        from_hex(sig)
            .is_some_and(|tag| mac_matches(Alg::Sha256, key, &[ts.as_bytes(), b".", body], &tag))
    });
    if matched {
        Ok(())
    } else {
        Err(SigError::Mismatch)
    }
}

/// The key under which a jambonz request's signature is remembered with the URL
/// it came to: `jambonz:` + hex SHA-256 of the header value. `None` without one.
pub fn jambonz_replay_key(header: Option<&str>) -> Option<String> {
    let digest = Sha256::digest(header?.trim().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("jambonz:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"call_sid":"b6f4","from":"+5548991234567"}"#;
    const NOW: u64 = 1_796_155_324;

    fn key(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn the_node_clients_signature_passes_and_any_change_fails() {
        let h = jambonz_signature("s3cr3t", NOW, BODY);
        assert!(h.starts_with(&format!("t={NOW},v1=")) && h.len() == 2 + 10 + 4 + 64);
        assert_eq!(verify_jambonz(&key("s3cr3t"), Some(&h), BODY, NOW), Ok(()));
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&h), BODY, NOW + 300),
            Ok(())
        );
        assert_eq!(
            verify_jambonz(&key("other"), Some(&h), BODY, NOW),
            Err(SigError::Mismatch)
        );
        let mut tampered = BODY.to_vec();
        tampered[5] ^= 1;
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&h), &tampered, NOW),
            Err(SigError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the MAC.
        let moved = h.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&moved), BODY, NOW),
            Err(SigError::Mismatch)
        );
    }

    #[test]
    fn a_known_vector() {
        // HMAC-SHA256("key", "1.{}"), computed with Python's hmac.
        assert_eq!(
            jambonz_signature("key", 1, b"{}"),
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }

    #[test]
    fn stale_missing_malformed_and_rotated() {
        let h = jambonz_signature("s3cr3t", NOW, BODY);
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&h), BODY, NOW + 301),
            Err(SigError::Expired)
        );
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&h), BODY, NOW - 301),
            Err(SigError::Expired)
        );
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), None, BODY, NOW),
            Err(SigError::Missing)
        );
        for bad in ["", "v1=ab", "t=12", "t=+12,v1=ab", "t=x,v1=ab"] {
            assert!(
                matches!(
                    verify_jambonz(&key("s3cr3t"), Some(bad), BODY, NOW),
                    Err(SigError::Malformed(_))
                ),
                "{bad}"
            );
        }
        // Rotation: an old secret's v1 first, then the one configured here.
        let old = jambonz_signature("old", NOW, BODY);
        let old_v1 = old.split_once(",v1=").unwrap().1;
        let both = format!("{h},v1={old_v1}");
        let both_rev = format!("t={NOW},v1={old_v1},{}", h.split_once(',').unwrap().1);
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&both), BODY, NOW),
            Ok(())
        );
        assert_eq!(
            verify_jambonz(&key("s3cr3t"), Some(&both_rev), BODY, NOW),
            Ok(())
        );
        assert_eq!(
            verify_jambonz(
                &key("s3cr3t"),
                Some(&format!("t={NOW},v1={old_v1},v1=zz")),
                BODY,
                NOW
            ),
            Err(SigError::Mismatch)
        );
    }

    #[test]
    fn the_replay_key_names_the_signature_not_the_body() {
        let a = jambonz_signature("s", NOW, BODY);
        let b = jambonz_signature("s", NOW + 1, BODY);
        assert_ne!(jambonz_replay_key(Some(&a)), jambonz_replay_key(Some(&b)));
        assert!(
            jambonz_replay_key(Some(&a))
                .unwrap()
                .starts_with("jambonz:")
        );
        assert_eq!(jambonz_replay_key(None), None);
    }
}
