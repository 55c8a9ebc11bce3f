//! `GET /admin/reservations` and `GET /admin/reservations/{id}`: the ledger as
//! JSON for operators, behind their bearer token ([`Operator`]); likewise
//! `GET /admin/messages` and `GET /admin/messages/{id}` for the outboxes, SMS
//! and WhatsApp replies, by channel (numbers masked, a reply's text withheld).

use super::AppState;
use super::extract::{Operator, json_error};
use crate::admin::{ChannelArg, Found, MessageStatusArg, find_message, list_messages as views};
use crate::admin::{ReservationView, StatusArg};
use crate::store::{LedgerStatus, LifeMark, MessageStatus};
use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use clap::ValueEnum;
use serde::Serialize;

/// Most rows one `GET /admin/reservations` returns.
pub(crate) const MAX_LIST: i64 = 1_000;

fn json_ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
}

/// The query of `GET /admin/messages` (and `channel` alone for one message).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct MessagesQuery {
    status: Option<String>,
    limit: Option<String>,
    channel: Option<String>,
}

/// `channel=sms|whatsapp`: `Ok(None)` when absent (both), `Err` when unknown.
fn channel(raw: Option<&str>) -> Result<Option<ChannelArg>, &'static str> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => ChannelArg::from_str(s, true)
            .map(Some)
            .map_err(|_| "channel must be one of sms, whatsapp"),
    }
}

fn ledger_unavailable(e: crate::store::StoreError) -> HttpResponse {
    tracing::error!(error = %e, "admin: cannot read the ledger");
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the ledger cannot be read now",
    )
}

/// `GET /admin/reservations?status=pending|done|dead|cancelled&limit=N`: the
/// newest rows as a JSON array of [`ReservationView`].
pub(crate) async fn list(
    _: Operator,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(q) = web::Query::<ListQuery>::from_query(req.query_string()) else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match StatusArg::from_str(s, true) {
            Ok(v) => Some(LedgerStatus::from(v)),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "status must be one of pending, done, dead, cancelled",
                );
            }
        },
    };
    let Some(limit) = parse_limit(q.limit.as_deref()) else {
        return bad_limit();
    };
    match state.store().list_reservations(status, limit).await {
        Ok(rows) => json_ok(&rows.iter().map(ReservationView::from).collect::<Vec<_>>()),
        Err(e) => ledger_unavailable(e),
    }
}

/// `limit=N`: 1 to [`MAX_LIST`], 50 when absent; `None` when out of range.
fn parse_limit(raw: Option<&str>) -> Option<i64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(50),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIST).contains(n)),
    }
}

fn bad_limit() -> HttpResponse {
    json_error(
        StatusCode::BAD_REQUEST,
        &format!("limit must be a number between 1 and {MAX_LIST}"),
    )
}

/// `GET /admin/messages?channel=sms|whatsapp&status=pending|sending|sent|dead&limit=N`:
/// the newest messages of one channel (of both when absent) as a JSON array of
/// [`crate::admin::MessageView`], each with its `channel`.
pub(crate) async fn list_messages(
    _: Operator,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(q) = web::Query::<MessagesQuery>::from_query(req.query_string()) else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let channel = match channel(q.channel.as_deref()) {
        Ok(c) => c,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match MessageStatusArg::from_str(s, true) {
            Ok(v) => Some(MessageStatus::from(v)),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "status must be one of pending, sending, sent, dead",
                );
            }
        },
    };
    let Some(limit) = parse_limit(q.limit.as_deref()) else {
        return bad_limit();
    };
    match views(state.store(), channel, status, limit).await {
        Ok(rows) => json_ok(&rows),
        Err(e) => ledger_unavailable(e),
    }
}

/// `GET /admin/messages/{id}?channel=sms|whatsapp`: one message, or 404; 409
/// when no channel is given and both have a message with this id.
pub(crate) async fn show_message(
    _: Operator,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(id) = path.into_inner().parse::<i64>() else {
        return json_error(StatusCode::BAD_REQUEST, "the id must be a number");
    };
    let Ok(q) = web::Query::<MessagesQuery>::from_query(req.query_string()) else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let channel = match channel(q.channel.as_deref()) {
        Ok(c) => c,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    match find_message(state.store(), channel, id).await {
        Ok(Found::One(m)) => json_ok(&m),
        Ok(Found::Nothing) => json_error(StatusCode::NOT_FOUND, "no such message"),
        Ok(Found::Ambiguous) => json_error(
            StatusCode::CONFLICT,
            "both channels have a message with this id: add channel=sms or channel=whatsapp",
        ),
        Err(e) => ledger_unavailable(e),
    }
}

/// `GET /admin/reservations/{id}`: one row as a [`ReservationView`], or 404.
pub(crate) async fn show(
    _: Operator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(id) = path.into_inner().parse::<i64>() else {
        return json_error(StatusCode::BAD_REQUEST, "the id must be a number");
    };
    match state.store().reservation(id).await {
        Ok(Some(r)) => json_ok(&ReservationView::from(&r)),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such reservation"),
        Err(e) => ledger_unavailable(e),
    }
}

/// `POST /admin/reservations/{id}/installed`: the client is installed (its
/// visit done); the worker sets it `implanted` in OZmap, once.
/// `POST /admin/reservations/{id}/release`: release the port now (a visit
/// cancelled for good); the worker deletes the property and tells the client.
/// 200 with `{"result": "marked"|"already", "reservation": …}`; 404 for no
/// such row; 409 with the reason when the row cannot take it.
pub(crate) async fn life(
    _: Operator,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (id, action) = path.into_inner();
    let Ok(id) = id.parse::<i64>() else {
        return json_error(StatusCode::BAD_REQUEST, "the id must be a number");
    };
    let store = state.store();
    let now = crate::store::now_ms();
    let mark = match action.as_str() {
        "installed" => store.mark_installed(id, now).await,
        "release" => store.release_for_good(id, now).await,
        _ => return json_error(StatusCode::NOT_FOUND, "use /installed or /release"),
    };
    let mark = match mark {
        Ok(m) => m,
        Err(e) => return ledger_unavailable(e),
    };
    let row = match store.reservation(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return json_error(StatusCode::NOT_FOUND, "no such reservation"),
        Err(e) => return ledger_unavailable(e),
    };
    match mark {
        LifeMark::Marked | LifeMark::Already => {
            tracing::info!(id, action = %action, result = mark.as_str(), "admin: reservation life");
            json_ok(&serde_json::json!({
                "result": mark.as_str(),
                "reservation": ReservationView::from(&row),
            }))
        }
        other => json_error(StatusCode::CONFLICT, crate::admin::life_refusal(other)),
    }
}
