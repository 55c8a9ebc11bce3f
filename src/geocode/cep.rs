//! A client for a ViaCEP-compatible server: `GET {base}/ws/{cep}/json/`.
//!
//! ViaCEP answers `{cep, logradouro, bairro, localidade, uf}` for a known CEP,
//! `{"erro": true}` (older servers: `"erro": "true"`) for an unknown one, and
//! HTTP 400 for a malformed one; a compatible server may say 404. All three mean
//! "not found". A CEP that covers a whole town (a small town's single CEP) has
//! an empty `logradouro`: it is found, as a [`CepAddress`] with an empty
//! street, which the locator answers as a town (the caller is asked for the
//! street in that town), as for any CEP source.

use super::{CepAddress, GeoError, endpoint, fetch, http_client};
use ivr_core::domain::Cep;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use url::Url;

const SERVICE: &str = "viacep";

#[derive(Debug, Clone)]
pub(crate) struct ViaCep {
    client: reqwest::Client,
    base: Url,
}

/// A field of the answer, bounded and clean ([`ivr_core::text::clean`]);
/// blank is none.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| ivr_core::text::clean_non_empty(s, ivr_core::text::MAX_FIELD_CHARS))
}

impl ViaCep {
    /// `base`: e.g. `https://viacep.com.br` (a path prefix is kept).
    pub(crate) fn new(base: &Url, timeout: Duration) -> Result<Self, GeoError> {
        Ok(ViaCep {
            client: http_client(timeout)?,
            base: base.clone(),
        })
    }

    pub(crate) async fn lookup(&self, cep: &Cep) -> Result<Option<CepAddress>, GeoError> {
        let url = endpoint(&self.base, &format!("ws/{}/json/", cep.as_str()))?;
        let (status, body) = fetch(SERVICE, self.client.get(url)).await?;
        if status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(GeoError::Unavailable(format!(
                "{SERVICE}: HTTP {}",
                status.as_u16()
            )));
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| GeoError::BadResponse(format!("{SERVICE}: not the expected JSON")))?;
        if !v.is_object() {
            return Err(GeoError::BadResponse(format!("{SERVICE}: not an object")));
        }
        let erro = match v.get("erro") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        };
        if erro {
            return Ok(None);
        }
        let Some(city) = text(&v, "localidade") else {
            return Err(GeoError::BadResponse(format!("{SERVICE}: no localidade")));
        };
        Ok(Some(CepAddress {
            // Empty for a town-wide CEP: the locator asks for the street.
            street: text(&v, "logradouro").unwrap_or_default(),
            neighbourhood: text(&v, "bairro"),
            city,
            state: text(&v, "uf").map(|s| s.to_ascii_uppercase()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer, timeout_ms: u64) -> ViaCep {
        ViaCep::new(
            &Url::parse(&server.uri()).unwrap(),
            Duration::from_millis(timeout_ms),
        )
        .unwrap()
    }

    fn cep() -> Cep {
        Cep::parse("88025-500").unwrap()
    }

    #[tokio::test]
    async fn known_cep_gives_the_street() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ws/88025500/json/"))
            .and(header("user-agent", super::super::USER_AGENT))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "cep": "88025-500",
                "logradouro": "Rua Delminda Silveira",
                "complemento": "",
                "bairro": "Agronômica",
                "localidade": "Florianópolis",
                "uf": "SC",
                "ibge": "4205407"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let a = client(&server, 2000).lookup(&cep()).await.unwrap().unwrap();
        assert_eq!(a.street, "Rua Delminda Silveira");
        assert_eq!(a.neighbourhood.as_deref(), Some("Agronômica"));
        assert_eq!(a.city, "Florianópolis");
        assert_eq!(a.state.as_deref(), Some("SC"));
    }

    #[tokio::test]
    async fn erro_true_in_either_form_is_none() {
        for body in [json!({"erro": true}), json!({"erro": "true"})] {
            let server = MockServer::start().await;
            Mock::given(path("/ws/88025500/json/"))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
            assert_eq!(client(&server, 2000).lookup(&cep()).await, Ok(None));
        }
    }

    #[tokio::test]
    async fn bad_request_and_not_found_are_none() {
        for code in [400, 404] {
            let server = MockServer::start().await;
            Mock::given(path("/ws/88025500/json/"))
                .respond_with(ResponseTemplate::new(code))
                .mount(&server)
                .await;
            assert_eq!(client(&server, 2000).lookup(&cep()).await, Ok(None));
        }
    }

    #[tokio::test]
    async fn a_town_wide_cep_is_the_town_without_a_street() {
        let server = MockServer::start().await;
        // As ViaCEP answers a small town's single CEP.
        Mock::given(path("/ws/88160000/json/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "cep": "88160-000", "logradouro": "", "complemento": "", "unidade": "",
                "bairro": "", "localidade": "Biguaçu", "uf": "sc", "estado": "Santa Catarina",
                "regiao": "Sul", "ibge": "4202305", "gia": "", "ddd": "48", "siafi": "8045"
            })))
            .mount(&server)
            .await;
        let town = Cep::parse("88160-000").unwrap();
        let a = client(&server, 2000).lookup(&town).await.unwrap().unwrap();
        assert_eq!(a.street, "");
        assert_eq!(a.neighbourhood, None);
        assert_eq!(a.city, "Biguaçu");
        assert_eq!(a.state.as_deref(), Some("SC"));

        // A blank street (spaces only) is no street either; a missing city
        // is still a bad answer.
        let server = MockServer::start().await;
        Mock::given(path("/ws/88160000/json/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "cep": "88160-000", "logradouro": "  ", "localidade": "Biguaçu", "uf": "SC"
            })))
            .mount(&server)
            .await;
        let a = client(&server, 2000).lookup(&town).await.unwrap().unwrap();
        assert_eq!((a.street.as_str(), a.city.as_str()), ("", "Biguaçu"));
        let server = MockServer::start().await;
        Mock::given(path("/ws/88160000/json/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "cep": "88160-000", "logradouro": "", "localidade": "", "uf": "SC"
            })))
            .mount(&server)
            .await;
        assert!(matches!(
            client(&server, 2000).lookup(&town).await,
            Err(GeoError::BadResponse(_))
        ));
    }

    #[tokio::test]
    async fn server_error_garbage_and_delay_are_errors() {
        let server = MockServer::start().await;
        Mock::given(path("/ws/88025500/json/"))
            .respond_with(ResponseTemplate::new(502))
            .mount(&server)
            .await;
        assert_eq!(
            client(&server, 2000).lookup(&cep()).await,
            Err(GeoError::Unavailable("viacep: HTTP 502".into()))
        );

        let server = MockServer::start().await;
        Mock::given(path("/ws/88025500/json/"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[1,2]"))
            .mount(&server)
            .await;
        assert!(matches!(
            client(&server, 2000).lookup(&cep()).await,
            Err(GeoError::BadResponse(_))
        ));

        let server = MockServer::start().await;
        Mock::given(path("/ws/88025500/json/"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"erro": true}))
                    .set_delay(Duration::from_millis(1500)),
            )
            .mount(&server)
            .await;
        assert_eq!(
            client(&server, 200).lookup(&cep()).await,
            Err(GeoError::Timeout)
        );
    }
}
