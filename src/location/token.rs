//! A link's token: 128 random bits from the operating system, base64url
//! without padding (22 characters); stored only as its SHA-256, in hex.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use sha2::Digest;

/// Random bytes in a token (128 bits; the issue asks for at least 96).
const BYTES: usize = 16;
/// Characters of a token.
pub(crate) const CHARS: usize = 22;

/// A new token; `Err` when the operating system gives no random bytes.
pub(crate) fn new() -> Result<String, String> {
    let mut bytes = [0u8; BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a token: its SHA-256, in hex.
pub(crate) fn hash(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `token` has a token's shape (anything else is not looked up).
pub(crate) fn plausible(token: &str) -> bool {
    token.len() == CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_22_url_safe_characters_distinct_and_stored_hashed() {
        let a = new().unwrap();
        let b = new().unwrap();
        assert_ne!(a, b);
        assert!(plausible(&a) && plausible(&b), "{a} {b}");
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
        let h = hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert_eq!(h, hash(&a));
        assert_ne!(h, hash(&b));
        assert!(!plausible("short"));
        assert!(!plausible("aaaaaaaaaaaaaaaaaaaaa/"));
        assert!(!plausible(&"a".repeat(23)));
    }
}
