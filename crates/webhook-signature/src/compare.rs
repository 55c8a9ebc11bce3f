//! The one constant-time compare of secrets.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether two secrets are equal. Both are hashed with SHA-256 first and the
/// digests compared in constant time, so neither the content nor the length of
/// the expected secret shows in the timing.
pub fn secret_eq(expected: &[u8], given: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(expected), Sha256::digest(given));
    a.as_slice().ct_eq(b.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::secret_eq;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(secret_eq(b"abc", b"abc"));
        assert!(secret_eq(b"", b""));
        assert!(!secret_eq(b"abc", b"abd"));
        assert!(!secret_eq(b"abc", b"ab"));
        assert!(!secret_eq(b"abc", b"abcd"));
        assert!(!secret_eq(b"abc", b""));
        // An operator's token: a prefix, a trailing space or nothing is not it.
        assert!(secret_eq(b"s3cret", b"s3cret"));
        assert!(!secret_eq(b"s3cret", b"s3cre"));
        assert!(!secret_eq(b"s3cret", b"s3cret "));
        assert!(!secret_eq(b"s3cret", b""));
    }
}
