//! The example of OZmap's port-reservation tutorial, as this product uses it: the
//! client, the address and the place the README, the built-in sandbox demo, the
//! load generator and the tests all speak of. One copy, so they cannot drift.

use crate::domain::{Cep, ClientCode, HouseNumber, Place, ReservationRequest};

/// The client code, as stored (`*` on the keypad stands for `|`).
pub const CLIENT_CODE: &str = "123|123";
/// The client code as typed on the keypad.
pub const CLIENT_CODE_KEYS: &str = "123*123";
pub const CLIENT_NAME: &str = "Gabriel Marioto";
/// The address as a caller says it.
pub const SPOKEN_ADDRESS: &str = "Rua Delminda Silveira, novecentos, Agronômica, Florianópolis";
pub const CEP: &str = "88025500";
pub const HOUSE_NUMBER: &str = "900";
/// The tutorial's coordinates of R. Delminda Silveira, 900.
pub const LAT: f64 = -27.578_233_672_131_2;
pub const LNG: f64 = -48.527_442_812_919_624;
/// The caller's number in examples.
pub const PHONE: &str = "+5548999990000";
/// The postal form OZmap gets, as the tutorial writes it.
pub const POSTAL_ADDRESS: &str =
    "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500";

/// The tutorial's place: R. Delminda Silveira, 900, Agronômica, Florianópolis.
pub fn place() -> Place {
    Place {
        street: "R. Delminda Silveira".into(),
        number: Some(HouseNumber::Given(HOUSE_NUMBER.into())),
        complement: None,
        neighbourhood: Some("Agronômica".into()),
        city: "Florianópolis".into(),
        state: Some("SC".into()),
        cep: Cep::parse(CEP),
        lat: LAT,
        lng: LNG,
    }
}

/// The tutorial's client code.
pub fn client_code() -> ClientCode {
    ClientCode::parse(CLIENT_CODE).expect("the tutorial's code is valid")
}

/// The reservation the tutorial makes, for `code`.
pub fn request_for(code: ClientCode) -> ReservationRequest {
    ReservationRequest {
        client_code: code,
        client_name: CLIENT_NAME.into(),
        place: place(),
        phone: Some(PHONE.into()),
        protocol: None,
    }
}

/// The reservation the tutorial makes.
pub fn request() -> ReservationRequest {
    request_for(client_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_place_is_the_tutorials_postal_address() {
        assert_eq!(place().postal(), POSTAL_ADDRESS);
        assert_eq!(
            ClientCode::from_keypad(CLIENT_CODE_KEYS),
            Some(client_code())
        );
    }
}
