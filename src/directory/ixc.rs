//! IXC Soft's webservice (`{CLIENT_DIRECTORY_URL}/webservice/v1/…`).
//!
//! Documented by IXC (and seen in public integrations):
//! - every query is a `POST` to `/webservice/v1/<table>` with the header
//!   `ixcsoft: listar`, HTTP Basic with the API token (`user:token`, as IXC
//!   issues it), and a JSON body `{"qtype","query","oper","page","rp"}`;
//! - the answer is `{"page","total","registros":[…]}`, numbers and ids as strings;
//! - `cliente` carries `id`, `razao` (the name), `endereco`, `numero`,
//!   `complemento`, `bairro`, `cep`, `cidade` (an id), `latitude`, `longitude`;
//! - `cliente_contrato` carries `id`, `id_cliente`, `status`, and may carry its
//!   own installation address in the same fields; `endereco_padrao_cliente = "S"`
//!   says the contract uses the client's address;
//! - `cidade` carries `id`, `nome` and `uf`.
//!
//! Inferred, not documented (and so parsed with care):
//! - the client code is the client's `id`, or `client|contract` (`123*456` on
//!   the keypad) naming the contract; a code of more groups cannot be an IXC one
//!   and is unknown;
//! - without a named contract the newest (highest `id`) contract that is not
//!   cancelled or given up (`status` other than `C`, `D`, `I`) is the sale's;
//! - `uf` of a city is an id of the `uf` table, whose `sigla` is the two-letter
//!   state; a two-letter `uf` is taken as it is;
//! - an error may come as HTTP 200 with `{"type":"error","message"}`: it is an
//!   error, not an unknown client;
//! - coordinates of `0`, blank, or written with a decimal comma.

use super::{DirectoryError, Fields, coordinates, known, text};
use ivr_core::domain::{ClientCode, KnownClient};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

const MAX_BODY: usize = 512 * 1024;

#[derive(Clone, Debug)]
pub(super) struct IxcDirectory {
    client: reqwest::Client,
    base: Url,
    /// `user:token`.
    token: SecretString,
}

/// A table's rows, as IXC lists them.
pub(super) struct Rows(pub(super) Vec<Value>);

impl IxcDirectory {
    pub(super) fn new(client: reqwest::Client, base: Url, token: SecretString) -> Self {
        Self {
            client,
            base,
            token,
        }
    }

    async fn list(&self, table: &str, field: &str, id: &str) -> Result<Rows, DirectoryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| DirectoryError::Malformed("CLIENT_DIRECTORY_URL cannot hold a path"))?
            .pop_if_empty()
            .extend(["webservice", "v1", table]);
        let (user, password) = self
            .token
            .expose_secret()
            .split_once(':')
            .map_or((self.token.expose_secret(), None), |(u, p)| (u, Some(p)));
        let res = self
            .client
            .post(url)
            .basic_auth(user, password)
            .header("ixcsoft", "listar")
            .json(&json!({
                "qtype": format!("{table}.{field}"),
                "query": id,
                "oper": "=",
                "page": "1",
                "rp": "50",
                "sortname": format!("{table}.id"),
                "sortorder": "desc",
            }))
            .send()
            .await;
        let body = super::body(res, false, MAX_BODY)
            .await?
            .ok_or(DirectoryError::Status(404))?;
        rows(&body)
    }

    pub(super) async fn look_up(
        &self,
        code: &ClientCode,
    ) -> Result<Option<KnownClient>, DirectoryError> {
        let groups: Vec<&str> = code.groups().collect();
        let (client_id, contract_id) = match groups.as_slice() {
            [c] => (*c, None),
            [c, k] => (*c, Some(*k)),
            _ => return Ok(None),
        };
        let Some(client) = self
            .list("cliente", "id", client_id)
            .await?
            .0
            .into_iter()
            .find(|r| text(r.get("id")).as_deref() == Some(client_id))
        else {
            return Ok(None);
        };
        let contracts = self
            .list("cliente_contrato", "id_cliente", client_id)
            .await?;
        let Some(address) = installation_of(&client, &contracts.0, contract_id) else {
            // The named contract is not this client's: not a code of the ERP.
            return Ok(None);
        };
        let city = match text(address.get("cidade")) {
            Some(id) if id.chars().all(|c| c.is_ascii_digit()) => {
                self.list("cidade", "id", &id).await?.0.into_iter().next()
            }
            _ => None,
        };
        let state = match city.as_ref().and_then(|c| text(c.get("uf"))) {
            Some(uf) if uf.chars().all(|c| c.is_ascii_digit()) => self
                .list("uf", "id", &uf)
                .await
                .ok()
                .and_then(|r| r.0.into_iter().next())
                .and_then(|u| text(u.get("sigla"))),
            other => other,
        };
        client_record(&client, address, city.as_ref(), state).map(Some)
    }
}

/// An answer's rows; an error in a 200 is an error.
pub(super) fn rows(body: &[u8]) -> Result<Rows, DirectoryError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| DirectoryError::Malformed("not JSON"))?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(DirectoryError::Malformed("an error in the answer"));
    }
    match v.get("registros") {
        Some(Value::Array(rows)) => Ok(Rows(rows.clone())),
        // `{"total":"0"}` without rows: nothing found.
        None | Some(Value::Null) => match v.get("total") {
            Some(_) => Ok(Rows(Vec::new())),
            None => Err(DirectoryError::Malformed("no registros and no total")),
        },
        Some(_) => Err(DirectoryError::Malformed("registros is not a list")),
    }
}

/// The row that holds the installation address: the named contract's, or the
/// newest live contract's, or the client's own when the contract says so or
/// holds none. `None` when a named contract is not among the client's.
pub(super) fn installation_of<'a>(
    client: &'a Value,
    contracts: &'a [Value],
    named: Option<&str>,
) -> Option<&'a Value> {
    let id = |r: &Value| text(r.get("id")).and_then(|s| s.parse::<u64>().ok());
    let contract = match named {
        Some(k) => Some(
            contracts
                .iter()
                .find(|c| text(c.get("id")).as_deref() == Some(k))?,
        ),
        None => contracts
            .iter()
            .filter(|c| !matches!(text(c.get("status")).as_deref(), Some("C" | "D" | "I")))
            .max_by_key(|c| id(c)),
    };
    Some(match contract {
        Some(c)
            if text(c.get("endereco_padrao_cliente")).as_deref() != Some("S")
                && text(c.get("endereco")).is_some() =>
        {
            c
        }
        _ => client,
    })
}

/// The client's name and the chosen row's address.
pub(super) fn client_record(
    client: &Value,
    address: &Value,
    city: Option<&Value>,
    state: Option<String>,
) -> Result<KnownClient, DirectoryError> {
    let name = text(client.get("razao"))
        .or_else(|| text(client.get("fantasia")))
        .ok_or(DirectoryError::Malformed("a client without razao"))?;
    let field = |k: &str| text(address.get(k));
    let fields = Fields {
        street: field("endereco"),
        number: field("numero"),
        complement: field("complemento"),
        neighbourhood: field("bairro"),
        // The city's name; an id the city table did not resolve is no city.
        city: city
            .and_then(|c| text(c.get("nome")))
            .or_else(|| field("cidade").filter(|c| !c.chars().all(|ch| ch.is_ascii_digit()))),
        state,
        cep: field("cep"),
        coordinates: coordinates(address.get("latitude"), address.get("longitude")),
    };
    Ok(known(name, fields))
}
