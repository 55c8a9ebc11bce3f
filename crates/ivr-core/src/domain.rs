//! Domain values shared by the flow, the adapters and the store.
//!
//! "Parse, don't validate": a [`ClientCode`] or a [`Cep`] can only be built from
//! input that is already valid, so the flow and the adapters never re-check them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ERP client code: digits, optionally split by `|` (the tutorial's `123|123`).
/// On the keypad `*` stands for `|`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientCode(String);

impl ClientCode {
    /// Longest code accepted, separators included.
    pub const MAX_LEN: usize = 24;

    /// Accepts digits and `|` separators (no leading, trailing or doubled separator).
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return None;
        }
        if !s.chars().all(|c| c.is_ascii_digit() || c == '|') {
            return None;
        }
        if s.split('|').any(|part| part.is_empty()) {
            return None;
        }
        Some(Self(s.to_string()))
    }

    /// Keypad entry: `*` is the separator.
    pub fn from_keypad(digits: &str) -> Option<Self> {
        Self::parse(&digits.replace('*', "|"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The groups of digits between separators, for a digit-by-digit read-back.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.0.split('|')
    }
}

impl TryFrom<String> for ClientCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "invalid client code".to_string())
    }
}

impl From<ClientCode> for String {
    fn from(c: ClientCode) -> String {
        c.0
    }
}

/// Personal data: never printed in clear by `Debug`.
impl fmt::Debug for ClientCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientCode(len={})", self.0.len())
    }
}

/// A Brazilian postal code: exactly eight digits, kept without the dash.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cep(String);

impl Cep {
    /// Accepts `88025500` or `88025-500` (surrounding spaces ignored).
    pub fn parse(raw: &str) -> Option<Self> {
        let digits: String = raw.trim().chars().filter(|c| *c != '-').collect();
        if digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit()) {
            Some(Self(digits))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `88025-500`
    pub fn formatted(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl TryFrom<String> for Cep {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "invalid CEP".to_string())
    }
}

impl From<Cep> for String {
    fn from(c: Cep) -> String {
        c.0
    }
}

impl fmt::Debug for Cep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cep(..)")
    }
}

/// What the caller gave as an address, before geocoding.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AddressQuery {
    /// A whole address as spoken, number words already turned into digits.
    Spoken { text: String },
    /// A CEP typed on the keypad, and the house number (`None`: no number, "s/n").
    Cep { cep: Cep, number: Option<String> },
    /// A CEP that names only a town, the house number, and the street the
    /// caller then said (numbers as digits).
    Street {
        street: String,
        number: Option<String>,
        cep: Cep,
        town: Town,
    },
}

/// A town a CEP names when it names no street (thousands of small towns have
/// one CEP for the whole town).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Town {
    pub city: String,
    /// Two-letter state (UF).
    pub state: Option<String>,
}

impl fmt::Debug for AddressQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressQuery::Spoken { text } => write!(f, "Spoken(len={})", text.len()),
            AddressQuery::Cep { .. } => write!(f, "Cep(..)"),
            AddressQuery::Street { street, .. } => write!(f, "Street(len={})", street.len()),
        }
    }
}

/// A geocoded address: what the caller hears for confirmation and what OZmap gets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub street: String,
    /// House number; `None` when the address has none ("s/n").
    pub number: Option<String>,
    /// What the caller said after the number: "apartamento 12", "bloco B".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complement: Option<String>,
    pub neighbourhood: Option<String>,
    pub city: String,
    /// Two-letter state (UF), e.g. `SC`.
    pub state: Option<String>,
    pub cep: Option<Cep>,
    pub lat: f64,
    pub lng: f64,
}

impl Place {
    /// The form a person recognises when it is read back:
    /// street, number, neighbourhood, city.
    /// Street-type abbreviations are spelled out, so a voice reads "Rua", not "erre".
    pub fn spoken(&self) -> String {
        let mut parts = vec![spell_out_street_type(&self.street)];
        parts.push(self.number.clone().unwrap_or_else(|| "s/n".into()));
        if let Some(c) = &self.complement {
            parts.push(c.clone());
        }
        if let Some(n) = &self.neighbourhood {
            parts.push(n.clone());
        }
        parts.push(self.city.clone());
        parts.join(", ")
    }

    /// The street as a voice reads it: "Rua Delminda Silveira".
    pub fn spoken_street(&self) -> String {
        spell_out_street_type(&self.street)
    }

    /// The tutorial's postal form:
    /// `R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500`.
    pub fn postal(&self) -> String {
        let mut s = format!(
            "{}, {}",
            self.street,
            self.number.as_deref().unwrap_or("s/n")
        );
        if let Some(c) = &self.complement {
            s.push_str(", ");
            s.push_str(c);
        }
        if let Some(n) = &self.neighbourhood {
            s.push_str(" - ");
            s.push_str(n);
        }
        s.push_str(", ");
        s.push_str(&self.city);
        if let Some(uf) = &self.state {
            s.push_str(" - ");
            s.push_str(uf);
        }
        if let Some(cep) = &self.cep {
            s.push_str(", ");
            s.push_str(&cep.formatted());
        }
        s
    }
}

/// `R. Delminda Silveira` → `Rua Delminda Silveira`.
fn spell_out_street_type(street: &str) -> String {
    const TYPES: &[(&str, &str)] = &[
        ("R.", "Rua"),
        ("Av.", "Avenida"),
        ("Trav.", "Travessa"),
        ("Tv.", "Travessa"),
        ("Rod.", "Rodovia"),
        ("Al.", "Alameda"),
        ("Pça.", "Praça"),
        ("Pç.", "Praça"),
        ("Serv.", "Servidão"),
        ("Est.", "Estrada"),
        ("Estr.", "Estrada"),
        ("Lgo.", "Largo"),
    ];
    let trimmed = street.trim();
    for (abbr, full) in TYPES {
        if let Some(rest) = trimmed.strip_prefix(abbr) {
            return format!("{full} {}", rest.trim_start());
        }
    }
    trimmed.to_string()
}

impl fmt::Debug for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Place(..)")
    }
}

/// A client the ISP's system (the client directory) knows: the name as the ERP
/// spells it and the installation address of the sale, when it holds a usable
/// one. `located` is false when the directory gave no coordinates: `lat`/`lng`
/// of the place are then 0 and the address is geocoded before it is reserved.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownClient {
    pub name: String,
    pub installation: Option<Place>,
    pub located: bool,
}

impl fmt::Debug for KnownClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnownClient(located={})", self.located)
    }
}

/// Everything the worker needs to reserve a port, written to the ledger when the
/// caller confirms the address.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationRequest {
    pub client_code: ClientCode,
    pub client_name: String,
    pub place: Place,
    /// The caller's number, for the lead when there is no coverage.
    pub phone: Option<String>,
    /// The call's protocol number (digits; not personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl fmt::Debug for ReservationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReservationRequest(..)")
    }
}

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

/// The port that OZmap reserved (or that the client already had).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedPort {
    pub property_id: String,
    /// The box's OZmap id: for operators (the console, the admin JSON), never
    /// said or written to the client.
    pub box_id: String,
    /// The box's name, when OZmap gave one; `None` until it can be read (the
    /// client then hears and reads a sentence without it). Rows written before
    /// this was optional held the id here when the name was missing: such a
    /// value reads as `None`.
    #[serde(
        default,
        deserialize_with = "lenient_box_name",
        skip_serializing_if = "Option::is_none"
    )]
    pub box_name: Option<BoxName>,
    /// Port number as OZmap reports it in `connections[].port`.
    pub port: Option<i64>,
}

/// A stored box name: a name, or `None` for an empty text, an id, or null.
fn lenient_box_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BoxName>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(raw.as_deref().and_then(BoxName::parse))
}

/// How a reservation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReservationOutcome {
    /// A new property was created in OZmap.
    Reserved(ReservedPort),
    /// The client already had a property: it is read back, no second one is made.
    Existing(ReservedPort),
    /// No box within the radius has a usable port; the lead was recorded.
    NotViable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_code_accepts_digits_and_separator() {
        assert_eq!(ClientCode::parse("123|123").unwrap().as_str(), "123|123");
        assert_eq!(
            ClientCode::from_keypad("123*123").unwrap().as_str(),
            "123|123"
        );
        assert!(ClientCode::parse("").is_none());
        assert!(ClientCode::parse("|12").is_none());
        assert!(ClientCode::parse("12||3").is_none());
        assert!(ClientCode::parse("12a").is_none());
        assert!(ClientCode::parse(&"1".repeat(25)).is_none());
    }

    #[test]
    fn a_box_name_is_never_an_id_nor_empty() {
        assert_eq!(BoxName::parse(" CTO-12 ").unwrap().as_str(), "CTO-12");
        assert_eq!(
            BoxName::parse("CTO\u{1b}[31m-1\n").unwrap().as_str(),
            "CTO[31m-1"
        );
        assert!(BoxName::parse("").is_none());
        assert!(BoxName::parse("  \t ").is_none());
        assert!(BoxName::parse("5da62201493d9c00066655b8").is_none());
        assert!(BoxName::parse("5DA62201493D9C00066655B8").is_none());
        assert!(
            BoxName::parse("5da62201493d9c00066655b").is_some(),
            "23 digits"
        );
        assert_eq!(
            BoxName::parse(&"x".repeat(200)).unwrap().as_str().len(),
            BoxName::MAX_CHARS
        );
        // An old row that held the id in place of the name reads as no name;
        // no name is left out of what is written.
        let old: ReservedPort = serde_json::from_str(
            r#"{"property_id":"p","box_id":"5da62201493d9c00066655b8","box_name":"5da62201493d9c00066655b8","port":3}"#,
        )
        .unwrap();
        assert_eq!(old.box_name, None);
        assert!(!serde_json::to_string(&old).unwrap().contains("box_name"));
        let named: ReservedPort =
            serde_json::from_str(r#"{"property_id":"p","box_id":"b","box_name":"CTO-1","port":3}"#)
                .unwrap();
        assert_eq!(named.box_name, BoxName::parse("CTO-1"));
        let none: ReservedPort =
            serde_json::from_str(r#"{"property_id":"p","box_id":"b","port":null}"#).unwrap();
        assert_eq!(none.box_name, None);
    }

    #[test]
    fn cep_parses_with_or_without_dash() {
        assert_eq!(Cep::parse("88025-500").unwrap().as_str(), "88025500");
        assert_eq!(Cep::parse("88025500").unwrap().formatted(), "88025-500");
        assert!(Cep::parse("8802550").is_none());
        assert!(Cep::parse("8802550a").is_none());
    }

    #[test]
    fn place_reads_back_and_formats_like_the_tutorial() {
        let p = crate::tutorial::place();
        assert_eq!(
            p.postal(),
            "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
        );
        assert_eq!(
            p.spoken(),
            "Rua Delminda Silveira, 900, Agronômica, Florianópolis"
        );
        let av = Place {
            street: "Av.Beira-Mar Norte".into(),
            number: None,
            neighbourhood: None,
            ..p.clone()
        };
        assert_eq!(av.spoken(), "Avenida Beira-Mar Norte, s/n, Florianópolis");
        let plain = Place {
            street: "Rua Rui Barbosa".into(),
            ..p.clone()
        };
        assert!(plain.spoken().starts_with("Rua Rui Barbosa, 900"));
        assert_eq!(format!("{p:?}"), "Place(..)");
    }
}
