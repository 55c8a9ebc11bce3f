//! The sandbox's HTTP surface: the routes of the OZmap API v2 subset, the gate
//! every request passes (fault injection, then the raw-token `Authorization`
//! check), and the handlers, which parse input and map [`World`] results to status
//! codes. Every error answers JSON `{"message": ...}` like the clients expect;
//! messages never echo a client code, a name or an address.

use super::fault::{FAULT_HEADER, PostFault, parse_fault_header};
use super::filter::{number, parse_list_request};
use super::network::valid_lat_lng;
use super::state::{ClientPatch, CreateError, NewProperty, World};
use super::{Shared, fault::HeaderFault};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Radius of `ftth-viability/radius` when the query gives none, in metres.
const DEFAULT_VIABILITY_RADIUS_M: f64 = 200.0;
/// Largest viability radius accepted, in metres.
const MAX_VIABILITY_RADIUS_M: f64 = 50_000.0;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v2")
            .route("/boxes", web::get().to(list_boxes))
            .route("/boxes/{id}", web::get().to(get_box))
            .route("/splitters", web::get().to(list_splitters))
            .route("/splitters/{id}", web::get().to(get_splitter))
            .route("/base-boxes/{id}/topology", web::get().to(topology))
            .route("/ftth-viability/radius", web::get().to(viability))
            .service(
                web::resource("/properties")
                    .route(web::get().to(list_properties))
                    .route(web::post().to(create_property)),
            )
            .route(
                "/properties/client/{code}",
                web::get().to(properties_by_client),
            )
            .service(
                web::resource("/properties/{id}")
                    .route(web::get().to(get_property))
                    .route(web::delete().to(delete_property)),
            )
            .service(
                web::resource("/ftth-clients/{id}")
                    .route(web::get().to(get_client))
                    .route(web::patch().to(patch_client)),
            )
            .service(
                web::resource("/prospects")
                    .route(web::get().to(list_prospects))
                    .route(web::post().to(create_prospect)),
            ),
    )
    .default_service(web::to(|| async {
        error(
            StatusCode::NOT_FOUND,
            "route not found in the OZmap sandbox",
        )
    }));
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "message": message.into() }))
}

fn status_or_500(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Runs before every handler: counts property POSTs, applies faults, checks the
/// token.
pub(crate) async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let Some(shared) = req.app_data::<web::Data<Shared>>().cloned() else {
        let res = error(StatusCode::INTERNAL_SERVER_ERROR, "sandbox state missing");
        return Ok(req.into_response(res));
    };
    if super::directory::is_directory_path(req.path()) {
        // The ERP's routes check their own credentials; OZmap's faults are OZmap's.
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if req.method() == Method::POST && req.path().trim_end_matches('/') == "/api/v2/properties" {
        shared.world().property_posts += 1;
    }
    let header_fault = match req.headers().get(FAULT_HEADER) {
        None => HeaderFault::default(),
        Some(v) => match v
            .to_str()
            .map_err(|_| "not ASCII".to_string())
            .and_then(parse_fault_header)
        {
            Ok(f) => f,
            Err(e) => {
                let res = error(StatusCode::BAD_REQUEST, format!("X-Sandbox-Fault: {e}"));
                return Ok(req.into_response(res));
            }
        },
    };
    let faults = &shared.faults;
    let delay = faults.delay_ms().saturating_add(header_fault.slow_ms);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(code) = header_fault.status.or(faults.fail_status()) {
        let res = error(status_or_500(code), format!("sandbox fault: status {code}"));
        return Ok(req.into_response(res));
    }
    let token_ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| shared.token_matches(v));
    if header_fault.unauthorized || faults.refuse_token() || !token_ok {
        let res = error(
            StatusCode::UNAUTHORIZED,
            "invalid or missing Authorization: send the raw API key (no Bearer prefix)",
        );
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// A list answer. The filters come from `?filter=` (the wiki's examples) and from
/// a JSON body on the GET (the SDK's), both honoured.
fn list_of(
    req: &HttpRequest,
    body: &[u8],
    rows: impl FnOnce(&World) -> Vec<Value>,
    shared: &Shared,
) -> HttpResponse {
    match parse_list_request(req.query_string(), body) {
        Ok(q) => {
            let rows = rows(&shared.world());
            HttpResponse::Ok().json(super::filter::list_envelope(rows, &q))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn list_boxes(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    list_of(
        &req,
        &body,
        |w| w.boxes.iter().map(|b| w.box_json(b)).collect(),
        &shared,
    )
}

async fn get_box(id: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let w = shared.world();
    match w.find_box(&id) {
        Some(b) => HttpResponse::Ok().json(w.box_json(b)),
        None => error(StatusCode::NOT_FOUND, "box not found"),
    }
}

async fn list_splitters(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    list_of(
        &req,
        &body,
        |w| w.splitters.iter().map(|s| w.splitter_json(s)).collect(),
        &shared,
    )
}

async fn get_splitter(id: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let w = shared.world();
    match w.splitters.iter().find(|s| s.id == *id) {
        Some(s) => HttpResponse::Ok().json(w.splitter_json(s)),
        None => error(StatusCode::NOT_FOUND, "splitter not found"),
    }
}

async fn topology(id: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let w = shared.world();
    if w.find_box(&id).is_none() {
        return error(StatusCode::NOT_FOUND, "box not found");
    }
    let splitters: Map<String, Value> = w
        .splitters
        .iter()
        .filter(|s| s.parent == *id)
        .map(|s| (s.id.clone(), w.splitter_json(s)))
        .collect();
    HttpResponse::Ok().json(json!({
        "splitters": splitters,
        "connectors": {},
        "cables": {},
        "drops": {},
    }))
}

async fn viability(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()) else {
        return error(StatusCode::BAD_REQUEST, "the query string is not valid");
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| Value::String(v.clone()))
    };
    let (Some(lat), Some(lng)) = (number(get("lat").as_ref()), number(get("lng").as_ref())) else {
        return error(StatusCode::BAD_REQUEST, "lat and lng are required numbers");
    };
    if !valid_lat_lng(lat, lng) {
        return error(StatusCode::BAD_REQUEST, "lat/lng out of range");
    }
    let radius = match get("radius") {
        None => DEFAULT_VIABILITY_RADIUS_M,
        Some(r) => match number(Some(&r)) {
            Some(r) if (0.0..=MAX_VIABILITY_RADIUS_M).contains(&r) => r,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("radius must be a number of metres up to {MAX_VIABILITY_RADIUS_M}"),
                );
            }
        },
    };
    HttpResponse::Ok().json(shared.world().viability(lat, lng, radius))
}

async fn list_properties(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    list_of(
        &req,
        &body,
        |w| {
            w.properties
                .iter()
                .map(|p| w.property_json(p, false))
                .collect()
        },
        &shared,
    )
}

async fn get_property(id: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let w = shared.world();
    match w.properties.iter().find(|p| p.id == *id) {
        Some(p) => HttpResponse::Ok().json(w.property_json(p, false)),
        None => error(StatusCode::NOT_FOUND, "property not found"),
    }
}

async fn properties_by_client(code: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let w = shared.world();
    let found: Vec<Value> = w
        .properties
        .iter()
        .filter(|p| p.client.code == *code)
        .map(|p| w.property_json(p, true))
        .collect();
    HttpResponse::Ok().json(found)
}

async fn delete_property(id: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let deleted = shared.world().delete_property(&id);
    if deleted && shared.faults.delete_hangs_after_commit() {
        std::future::pending::<()>().await;
    }
    if deleted {
        HttpResponse::NoContent().finish()
    } else {
        error(StatusCode::NOT_FOUND, "property not found")
    }
}

/// `GET /ftth-clients/{id}`: the client of a live property.
async fn get_client(id: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let w = shared.world();
    match w.client_json(&id) {
        Some(c) => HttpResponse::Ok().json(c),
        None => error(StatusCode::NOT_FOUND, "client not found"),
    }
}

/// `PATCH /ftth-clients/{id}`: updates `implanted`, `certified`, `status`
/// or `observation` (activation sets `implanted: true`); 204 as OZmap's
/// documented updates answer. Other fields are refused with 400.
async fn patch_client(
    id: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let patch = match parse_client_patch(&body) {
        Ok(p) => p,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    if shared.world().patch_client(&id, &patch) {
        HttpResponse::NoContent().finish()
    } else {
        error(StatusCode::NOT_FOUND, "client not found")
    }
}

fn parse_client_patch(body: &[u8]) -> Result<ClientPatch, String> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON".to_string())?;
    let Value::Object(obj) = v else {
        return Err("the body must be a JSON object".into());
    };
    if let Some(k) = obj.keys().find(|k| {
        !matches!(
            k.as_str(),
            "implanted" | "certified" | "status" | "observation"
        )
    }) {
        return Err(format!("{k} cannot be changed here"));
    }
    let flag = |key: &str| -> Result<Option<bool>, String> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("{key} must be a boolean")),
        }
    };
    let status = match obj.get("status") {
        None => None,
        Some(Value::Number(n)) if matches!(n.as_i64(), Some(0 | 1)) => n.as_i64(),
        Some(_) => return Err("status must be 0 or 1".into()),
    };
    Ok(ClientPatch {
        implanted: flag("implanted")?,
        certified: flag("certified")?,
        status,
        observation: opt_string(&obj, "observation")?,
    })
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str, what: &str) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{what} must be a boolean")),
    }
}

/// Reads the tutorial's body into a [`NewProperty`]; the error is the 400 message.
fn parse_new_property(body: &[u8]) -> Result<NewProperty, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "the body is not valid JSON".to_string())?;
    let Value::Object(obj) = value else {
        return Err("the body must be a JSON object".into());
    };
    let box_id = match obj.get("box") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err("box is required (the id of the box)".into()),
    };
    let Some(Value::Object(client)) = obj.get("client") else {
        return Err("client is required (an object with code and name)".into());
    };
    let client_code = match client.get("code") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("client.code is required".into()),
    };
    let (lat, lng) = match (number(obj.get("lat")), number(obj.get("lng"))) {
        (Some(lat), Some(lng)) => (lat, lng),
        _ => match obj.get("coords") {
            Some(Value::Array(c)) => match (number(c.get(1)), number(c.first())) {
                (Some(lat), Some(lng)) => (lat, lng),
                _ => return Err("coords must be [lng, lat]".into()),
            },
            _ => return Err("lat and lng (or coords) are required".into()),
        },
    };
    if !valid_lat_lng(lat, lng) {
        return Err("lat/lng out of range".into());
    }
    // The SDK's schema sends `coords` (and requires `project`); the tutorial sends
    // `lat`/`lng` without a project. Both are accepted; given together, the
    // positions must agree.
    if let (Some(_), Some(Value::Array(c))) = (obj.get("lat"), obj.get("coords")) {
        match (number(c.get(1)), number(c.first())) {
            (Some(clat), Some(clng)) if (clat - lat).abs() < 1e-9 && (clng - lng).abs() < 1e-9 => {}
            _ => return Err("coords must be [lng, lat], the same position as lat and lng".into()),
        }
    }
    opt_string(&obj, "project")?;
    let client_status = match client.get("status") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| "client.status must be a number".to_string())?,
    };
    let connector = match (opt_string(&obj, "connector")?, obj.get("port")) {
        (None, None | Some(Value::Null)) => None,
        (Some(c), Some(p)) => {
            let port = p
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| "port must be a port number from 1".to_string())?;
            Some((c, port))
        }
        _ => return Err("connector and port go together".into()),
    };
    Ok(NewProperty {
        box_id,
        client_code,
        client_name: opt_string(client, "name").map_err(|e| format!("client.{e}"))?,
        client_implanted: opt_bool(client, "implanted", "client.implanted")?,
        client_certified: opt_bool(client, "certified", "client.certified")?,
        client_status,
        client_observation: opt_string(client, "observation").map_err(|e| format!("client.{e}"))?,
        address: opt_string(&obj, "address")?,
        observation: opt_string(&obj, "observation")?,
        lat,
        lng,
        auto_connect: opt_bool(&obj, "auto_connect", "auto_connect")?,
        force: opt_bool(&obj, "force", "force")?,
        connector,
    })
}

async fn create_property(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let new = match parse_new_property(&body) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let fault = shared.faults.take_post_fault();
    match fault {
        Some(PostFault::Status(code)) => {
            return error(status_or_500(code), format!("sandbox fault: status {code}"));
        }
        Some(PostFault::Hang) => std::future::pending::<()>().await,
        Some(PostFault::CommitLate { after_ms }) => {
            return commit_late(shared, new, after_ms, None).await;
        }
        Some(PostFault::CommitTwice { after_ms, again_ms }) => {
            return commit_late(shared, new, after_ms, Some(again_ms)).await;
        }
        _ => {}
    }
    let created = shared.world().create_property(new, true);
    match created {
        Ok(property) => match fault {
            Some(PostFault::FailAfterCommit) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "sandbox fault: the property was created but the answer failed",
            ),
            Some(PostFault::HangAfterCommit) => {
                std::future::pending::<()>().await;
                HttpResponse::Created().json(property)
            }
            _ => HttpResponse::Created().json(property),
        },
        Err(CreateError::UnknownBox) => error(StatusCode::NOT_FOUND, "box not found"),
        Err(CreateError::DuplicateClient) => error(
            StatusCode::CONFLICT,
            "a client with this code already exists and holds a property",
        ),
        Err(CreateError::Unprocessable(m)) => error(StatusCode::UNPROCESSABLE_ENTITY, m),
    }
}

/// A slow tenant's POST: committed `after_ms` after it came, in a task of its
/// own (so a client that gives up does not stop it), answered then; and
/// committed again at `again_ms` when asked.
async fn commit_late(
    shared: web::Data<Shared>,
    new: NewProperty,
    after_ms: u64,
    again_ms: Option<u64>,
) -> HttpResponse {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        let created = shared.world().create_property(new.clone(), false);
        let _ = tx.send(created);
        if let Some(again) = again_ms {
            let wait = again.saturating_sub(after_ms);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let _ = shared.world().create_property(new, false);
        }
    });
    match rx.await {
        Ok(Ok(property)) => HttpResponse::Created().json(property),
        Ok(Err(CreateError::UnknownBox)) => error(StatusCode::NOT_FOUND, "box not found"),
        Ok(Err(CreateError::Unprocessable(m))) => error(StatusCode::UNPROCESSABLE_ENTITY, m),
        Ok(Err(CreateError::DuplicateClient)) | Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox fault: the late commit failed",
        ),
    }
}

async fn list_prospects(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    list_of(&req, &body, |w| w.prospects.clone(), &shared)
}

async fn create_prospect(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let Ok(Value::Object(mut prospect)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let now = super::state::now_iso();
    prospect.insert("id".into(), json!(super::state::new_object_id()));
    prospect.insert("kind".into(), json!("Prospect"));
    prospect.insert("createdAt".into(), json!(now));
    prospect.insert("updatedAt".into(), json!(now));
    let prospect = Value::Object(prospect);
    shared.world().prospects.push(prospect.clone());
    HttpResponse::Created().json(prospect)
}
