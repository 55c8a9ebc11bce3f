//! The sandbox's client directory: the ISP's ERP as the service's client
//! directory asks it, for the clients of `data/sandbox-directory.json` (the
//! sandbox network's streets), in two dialects:
//! - `GET /directory/clients/{code}` with `Authorization: Bearer <token>`: the
//!   JSON contract of `docs/client-directory.md` (200 or 404);
//! - `POST /webservice/v1/{cliente|cliente_contrato|cidade|uf}` with HTTP Basic
//!   (any user, the token as the password) and `ixcsoft: listar`: IXC Soft's
//!   shapes (strings everywhere, `{"page","total","registros"}`). A code
//!   `A|B` is IXC client `A` with contract `B`; a code without `|` is client
//!   `A` with contract `A`.
//!
//! It is an ERP's view, not OZmap's: OZmap's faults and token do not apply.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

const BUILTIN_JSON: &str = include_str!("../../../data/sandbox-directory.json");

/// The IXC id of the sandbox's state (SC); inferred from IXC's `uf` table.
const UF_ID: &str = "24";
/// IXC ids of the cities, from this number on, in order of first appearance.
const FIRST_CITY_ID: u32 = 4500;

#[derive(Clone, Debug, Deserialize)]
pub struct DirectoryEntry {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub installation: Option<Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Directory {
    pub clients: Vec<DirectoryEntry>,
}

impl Directory {
    /// The bundled directory.
    pub fn builtin() -> Directory {
        match serde_json::from_str(BUILTIN_JSON) {
            Ok(d) => d,
            Err(e) => panic!("the built-in sandbox directory is broken: {e}"),
        }
    }

    fn by_code(&self, code: &str) -> Option<&DirectoryEntry> {
        self.clients.iter().find(|c| c.code == code)
    }

    fn cities(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.clients {
            let city = c.installation.as_ref().and_then(|i| i["city"].as_str());
            if let Some(city) = city.filter(|city| !out.iter().any(|o| o == city)) {
                out.push(city.to_string());
            }
        }
        out
    }

    fn city_id(&self, city: &str) -> String {
        let i = self.cities().iter().position(|c| c == city).unwrap_or(0);
        (FIRST_CITY_ID + i as u32).to_string()
    }

    /// (client id, contract id) of an entry.
    fn ixc_ids(entry: &DirectoryEntry) -> (String, String) {
        match entry.code.split_once('|') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (entry.code.clone(), entry.code.clone()),
        }
    }

    fn ixc_address(&self, entry: &DirectoryEntry) -> Value {
        let i = entry.installation.clone().unwrap_or(Value::Null);
        let s = |k: &str| match &i[k] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        json!({
            "endereco": s("street"),
            "numero": s("number"),
            "complemento": s("complement"),
            "bairro": s("neighbourhood"),
            "cep": s("cep"),
            "cidade": i["city"].as_str().map(|c| self.city_id(c)).unwrap_or_else(|| "0".into()),
            "latitude": s("lat"),
            "longitude": s("lng"),
        })
    }

    fn ixc_rows(&self, table: &str, field: &str, query: &str) -> Option<Vec<Value>> {
        let merge = |mut a: Value, b: Value| {
            if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
                a.extend(b);
            }
            a
        };
        Some(match (table, field) {
            ("cliente", "id") => self
                .clients
                .iter()
                .filter(|e| Self::ixc_ids(e).0 == query)
                .map(|e| {
                    // The client's record holds the address too (and its contract
                    // says so with endereco_padrao_cliente = "S").
                    merge(
                        json!({"id": Self::ixc_ids(e).0, "ativo": "S", "tipo_pessoa": "F",
                               "razao": e.name, "fantasia": ""}),
                        self.ixc_address(e),
                    )
                })
                .collect(),
            ("cliente_contrato", "id_cliente") => self
                .clients
                .iter()
                .filter(|e| Self::ixc_ids(e).0 == query)
                .map(|e| {
                    let (client, contract) = Self::ixc_ids(e);
                    json!({"id": contract, "id_cliente": client, "status": "P",
                           "contrato": "FIBRA", "endereco_padrao_cliente": "S",
                           "endereco": "", "numero": "", "bairro": "", "cep": "",
                           "cidade": "0", "latitude": "", "longitude": ""})
                })
                .collect(),
            ("cidade", "id") => self
                .cities()
                .iter()
                .filter(|c| self.city_id(c) == query)
                .map(|c| json!({"id": self.city_id(c), "nome": c, "uf": UF_ID}))
                .collect(),
            ("uf", "id") if query == UF_ID => {
                vec![json!({"id": UF_ID, "sigla": "SC", "nome": "Santa Catarina"})]
            }
            ("uf", "id") => Vec::new(),
            _ => return None,
        })
    }
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/directory/clients/{code}", web::get().to(client))
        .route("/webservice/v1/{table}", web::post().to(ixc));
}

/// Whether a path is the directory's (not OZmap's).
pub(crate) fn is_directory_path(path: &str) -> bool {
    path.starts_with("/directory/") || path.starts_with("/webservice/")
}

fn token_ok(shared: &super::Shared, given: Option<&str>) -> bool {
    given.is_some_and(|g| shared.token_matches(g))
}

async fn client(
    req: HttpRequest,
    code: web::Path<String>,
    shared: web::Data<super::Shared>,
) -> HttpResponse {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !token_ok(&shared, bearer) {
        return HttpResponse::Unauthorized()
            .json(json!({"message": "send Authorization: Bearer <token>"}));
    }
    match shared.directory.by_code(&code) {
        Some(e) => HttpResponse::Ok().json(json!({
            "code": e.code,
            "name": e.name,
            "installation": e.installation,
        })),
        None => HttpResponse::NotFound().json(json!({"message": "no such client"})),
    }
}

#[derive(Deserialize)]
struct IxcQuery {
    qtype: String,
    query: String,
    #[serde(default)]
    oper: Option<String>,
}

async fn ixc(
    req: HttpRequest,
    table: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<super::Shared>,
) -> HttpResponse {
    let password = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(_, p)| p.to_string()));
    if !token_ok(&shared, password.as_deref()) {
        return HttpResponse::build(StatusCode::UNAUTHORIZED).body("Unauthorized");
    }
    let error = |m: &str| HttpResponse::Ok().json(json!({"type": "error", "message": m}));
    if req.headers().get("ixcsoft").and_then(|v| v.to_str().ok()) != Some("listar") {
        return error("header ixcsoft: listar ausente");
    }
    let Ok(q) = serde_json::from_slice::<IxcQuery>(&body) else {
        return error("parâmetros inválidos");
    };
    let Some((t, field)) = q.qtype.split_once('.') else {
        return error("qtype inválido");
    };
    if t != table.as_str() || q.oper.as_deref().unwrap_or("=") != "=" {
        return error("consulta não suportada no sandbox");
    }
    match shared.directory.ixc_rows(t, field, q.query.trim()) {
        Some(rows) if rows.is_empty() => {
            HttpResponse::Ok().json(json!({"page": "1", "total": "0"}))
        }
        Some(rows) => HttpResponse::Ok().json(json!({
            "page": "1",
            "total": rows.len().to_string(),
            "registros": rows,
        })),
        None => error("tabela não suportada no sandbox"),
    }
}
