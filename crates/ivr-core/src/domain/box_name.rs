//! A box's name as a caller hears and reads it, never its OZmap id.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A box's human name (e.g. `CTO-12`), as a caller may hear and read it.
///
/// Why a type: a box's OZmap id (24 hex digits) once reached an outcome SMS
/// when the name could not be read. A [`BoxName`] is only made by
/// [`BoxName::parse`], which refuses an empty text and anything shaped like an
/// OZmap id, so an id cannot be spoken or written as a name; where the name is
/// not known the sentence goes without it (`Option<BoxName>`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BoxName(String);

impl BoxName {
    /// Longest name kept, in characters (longer ones are cut).
    pub const MAX_CHARS: usize = 60;

    /// The name as OZmap gives it: trimmed, control characters dropped, cut
    /// at [`BoxName::MAX_CHARS`]. `None` when nothing is left, or when it is an
    /// OZmap id (24 hex digits), which is never a name.
    pub fn parse(raw: &str) -> Option<Self> {
        let clean: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .chars()
            .take(Self::MAX_CHARS)
            .collect();
        let clean = clean.trim_end().to_string();
        if clean.is_empty() || is_object_id(&clean) {
            return None;
        }
        Some(Self(clean))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An OZmap id: 24 hexadecimal digits (a MongoDB ObjectId).
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl TryFrom<String> for BoxName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "not a box name".to_string())
    }
}

impl From<BoxName> for String {
    fn from(b: BoxName) -> String {
        b.0
    }
}

impl fmt::Debug for BoxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoxName({:?})", self.0)
    }
}

impl fmt::Display for BoxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
