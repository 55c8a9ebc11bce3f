//! The directory contract (`docs/client-directory.md`):
//! `GET {CLIENT_DIRECTORY_URL}/clients/{code, percent-encoded}` with
//! `Authorization: Bearer {CLIENT_DIRECTORY_TOKEN}` answers
//! `200 {"code","name","installation":{"street","number","complement",
//! "neighbourhood","city","state","cep","lat","lng"}}` or `404`.
//!
//! Read tolerantly: numbers may come as strings and coordinates as "-27,5";
//! `complement`, `lat` and `lng` may be missing or null. A 200 without a name is
//! malformed (the call goes on without the directory), never a known client.

use super::{DirectoryError, Fields, coordinates, known, text};
use ivr_core::domain::{ClientCode, KnownClient};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

/// Longest answer read: a client record is a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub(super) struct HttpDirectory {
    client: reqwest::Client,
    base: Url,
    token: Option<SecretString>,
}

impl HttpDirectory {
    pub(super) fn new(client: reqwest::Client, base: Url, token: Option<SecretString>) -> Self {
        Self {
            client,
            base,
            token,
        }
    }

    /// `{base}/clients/{code}`, the code percent-encoded (`|` is `%7C`: the
    /// URL crate leaves it as it is, and not every server takes it raw).
    pub(super) fn url(&self, code: &ClientCode) -> Url {
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let mut url = self.base.clone();
        let path = format!(
            "{}/clients/{}",
            url.path().trim_end_matches('/'),
            percent_encoding::utf8_percent_encode(code.as_str(), SEGMENT)
        );
        url.set_path(&path);
        url
    }

    pub(super) async fn look_up(
        &self,
        code: &ClientCode,
    ) -> Result<Option<KnownClient>, DirectoryError> {
        let mut req = self
            .client
            .get(self.url(code))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose_secret());
        }
        let Some(body) = super::body(req.send().await, true, MAX_BODY).await? else {
            return Ok(None);
        };
        parse(&body).map(Some)
    }
}

/// A 200's body into a known client.
pub(super) fn parse(body: &[u8]) -> Result<KnownClient, DirectoryError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| DirectoryError::Malformed("not JSON"))?;
    let name = text(v.get("name")).ok_or(DirectoryError::Malformed("no name"))?;
    let a = v.get("installation").filter(|a| a.is_object());
    let field = |k: &str| a.and_then(|a| text(a.get(k)));
    let fields = Fields {
        street: field("street"),
        number: field("number"),
        complement: field("complement"),
        neighbourhood: field("neighbourhood"),
        city: field("city"),
        state: field("state"),
        cep: field("cep"),
        coordinates: a.and_then(|a| coordinates(a.get("lat"), a.get("lng"))),
    };
    Ok(known(name, fields))
}
