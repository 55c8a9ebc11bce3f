//! Domain values shared by the flow, the adapters and the store.
//!
//! "Parse, don't validate": a [`ClientCode`] or a [`Cep`] can only be built from
//! input that is already valid, so the flow and the adapters never re-check them.

use serde::{Deserialize, Serialize};
use std::fmt;

mod box_name;
mod spoken;
pub use box_name::{BoxName, is_object_id};
pub use spoken::{spoken_name, spoken_street};

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

/// A house number the caller gave: the number, or that the address has none.
///
/// Not knowing the number is not a `HouseNumber`: where it may be unknown the
/// field is an `Option` ([`Place::number`]), and an unknown number is read back
/// as no number at all. So "sem número" is only ever read back when the caller
/// said it (or the ISP's own record writes it), never because a number was
/// not heard.
///
/// Stored as a text: the number, or `"s/n"` for [`HouseNumber::Without`]; a
/// stored `null` (what versions before this one wrote for a typed `*`) reads
/// as `Without`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HouseNumber {
    /// The number: "900", "12A".
    Given(String),
    /// The address has no number: the caller said "sem número" or "s/n", or
    /// pressed `*` (or the ISP's record writes "S/N").
    Without,
}

impl HouseNumber {
    /// A number as a file, a geocoder or an ERP writes it: `None` when empty;
    /// "S/N", "s/nº", "SN", "0" or "sem número" are [`HouseNumber::Without`].
    pub fn parse(raw: &str) -> Option<Self> {
        let t = raw.trim();
        if t.is_empty() {
            return None;
        }
        let bare: String = t
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, '/' | '.' | ' ' | 'º' | '°'))
            .collect();
        if matches!(
            bare.as_str(),
            "sn" | "0" | "semnumero" | "semnúmero" | "snumero" | "snúmero"
        ) {
            return Some(HouseNumber::Without);
        }
        Some(HouseNumber::Given(t.to_string()))
    }

    /// The number, when there is one.
    pub fn given(&self) -> Option<&str> {
        match self {
            HouseNumber::Given(n) => Some(n),
            HouseNumber::Without => None,
        }
    }

    /// As read back: the number, or "sem número".
    pub fn spoken(&self) -> &str {
        match self {
            HouseNumber::Given(n) => n,
            HouseNumber::Without => "sem número",
        }
    }

    /// As written in an address: the number, or "s/n".
    pub fn written(&self) -> &str {
        match self {
            HouseNumber::Given(n) => n,
            HouseNumber::Without => "s/n",
        }
    }
}

impl Serialize for HouseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.written())
    }
}

impl<'de> Deserialize<'de> for HouseNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        Ok(raw
            .as_deref()
            .and_then(HouseNumber::parse)
            .unwrap_or(HouseNumber::Without))
    }
}

/// What the caller gave as an address, before geocoding.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AddressQuery {
    /// A whole address as spoken, number words already turned into digits.
    Spoken { text: String },
    /// A CEP typed on the keypad, and the house number.
    Cep { cep: Cep, number: HouseNumber },
    /// A CEP that names only a town, the house number, and the street the
    /// caller then said (numbers as digits).
    Street {
        street: String,
        number: HouseNumber,
        cep: Cep,
        town: Town,
    },
    /// The street found for a spoken address that had no house number (or a
    /// doubtful one), and the number the caller then gave: the house's own
    /// position is looked up on that street.
    Numbered { place: Place, number: HouseNumber },
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
            AddressQuery::Numbered { .. } => write!(f, "Numbered(..)"),
        }
    }
}

/// A geocoded address: what the caller hears for confirmation and what OZmap gets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub street: String,
    /// The house number, or that there is none; `None` when it is not known
    /// (not heard, or the position of a whole street): then no number is
    /// read back or written, not even "s/n".
    pub number: Option<HouseNumber>,
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
    /// The form a person recognises when it is read back: street, number,
    /// neighbourhood, city. Abbreviations are spelled out ([`spoken_street`]),
    /// so a voice reads "Rua Desembargador", not "erre dés"; no number is
    /// "sem número"; an unknown number is left out.
    pub fn spoken(&self) -> String {
        let mut parts = vec![spoken_street(&self.street)];
        if let Some(n) = &self.number {
            parts.push(n.spoken().to_string());
        }
        if let Some(c) = &self.complement {
            parts.push(c.clone());
        }
        if let Some(n) = &self.neighbourhood {
            parts.push(spoken_name(n));
        }
        parts.push(spoken_name(&self.city));
        parts.retain(|p| !p.trim().is_empty());
        parts.join(", ")
    }

    /// The street as a voice reads it: "Rua Delminda Silveira".
    pub fn spoken_street(&self) -> String {
        spoken_street(&self.street)
    }

    /// The tutorial's postal form:
    /// `R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500`
    /// ("s/n" when there is no number; nothing when it is not known).
    pub fn postal(&self) -> String {
        let mut s = self.street.clone();
        if let Some(n) = &self.number {
            s.push_str(", ");
            s.push_str(n.written());
        }
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
            number: Some(HouseNumber::Without),
            neighbourhood: None,
            ..p.clone()
        };
        assert_eq!(
            av.spoken(),
            "Avenida Beira-Mar Norte, sem número, Florianópolis"
        );
        assert!(
            av.postal()
                .starts_with("Av.Beira-Mar Norte, s/n, Florianópolis")
        );
        // A number not known is not read back, not even as "s/n".
        let unknown = Place {
            street: "R. Des. Vitor Lima".into(),
            number: None,
            ..p.clone()
        };
        assert_eq!(
            unknown.spoken(),
            "Rua Desembargador Vitor Lima, Agronômica, Florianópolis"
        );
        assert_eq!(
            unknown.postal(),
            "R. Des. Vitor Lima - Agronômica, Florianópolis - SC, 88025-500"
        );
        let plain = Place {
            street: "Rua Rui Barbosa".into(),
            ..p.clone()
        };
        assert!(plain.spoken().starts_with("Rua Rui Barbosa, 900"));
        assert_eq!(format!("{p:?}"), "Place(..)");
    }

    #[test]
    fn a_house_number_is_given_or_none_said_and_stored_as_text() {
        assert_eq!(
            HouseNumber::parse(" 900 "),
            Some(HouseNumber::Given("900".into()))
        );
        for none in ["S/N", "s/n", "SN", "s/nº", "0", "sem número", "Sem Numero"] {
            assert_eq!(
                HouseNumber::parse(none),
                Some(HouseNumber::Without),
                "{none}"
            );
        }
        assert_eq!(HouseNumber::parse("  "), None);
        assert_eq!(HouseNumber::Without.spoken(), "sem número");
        let json = |n: &HouseNumber| serde_json::to_string(n).unwrap();
        assert_eq!(json(&HouseNumber::Given("12A".into())), "\"12A\"");
        assert_eq!(json(&HouseNumber::Without), "\"s/n\"");
        let back = |s: &str| serde_json::from_str::<HouseNumber>(s).unwrap();
        assert_eq!(back("\"12A\""), HouseNumber::Given("12A".into()));
        assert_eq!(back("\"s/n\""), HouseNumber::Without);
        // What older versions stored for a typed `*`.
        assert_eq!(back("null"), HouseNumber::Without);
        // A place's unknown number stays unknown.
        let p = crate::tutorial::place();
        let mut v = serde_json::to_value(&p).unwrap();
        v["number"] = serde_json::Value::Null;
        let back: Place = serde_json::from_value(v).unwrap();
        assert_eq!(back.number, None);
        let q: AddressQuery =
            serde_json::from_str(r#"{"kind":"cep","cep":"88025500","number":null}"#).unwrap();
        assert_eq!(
            q,
            AddressQuery::Cep {
                cep: Cep::parse("88025500").unwrap(),
                number: HouseNumber::Without
            }
        );
    }
}
