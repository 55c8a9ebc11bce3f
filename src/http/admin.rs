//! `GET /admin/reservations` and `GET /admin/reservations/{id}`: the ledger as
//! JSON for operators, behind their bearer token ([`Operator`]); likewise
//! `GET /admin/messages` and `GET /admin/messages/{id}` for the SMS outbox
//! (numbers masked).

use super::AppState;
use super::extract::{Operator, json_error};
use crate::admin::{ReservationView, StatusArg};
use crate::sms::{MessageStatusArg, MessageView};
use crate::store::{LedgerStatus, MessageStatus};
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
    let Some(limit) = limit(&q) else {
        return bad_limit();
    };
    match state.store.list_reservations(status, limit).await {
        Ok(rows) => json_ok(&rows.iter().map(ReservationView::from).collect::<Vec<_>>()),
        Err(e) => ledger_unavailable(e),
    }
}

/// `limit=N`: 1 to [`MAX_LIST`], 50 when absent; `None` when out of range.
fn limit(q: &ListQuery) -> Option<i64> {
    match q.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
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

/// `GET /admin/messages?status=pending|sending|sent|dead&limit=N`: the newest
/// SMS as a JSON array of [`MessageView`].
pub(crate) async fn list_messages(
    _: Operator,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(q) = web::Query::<ListQuery>::from_query(req.query_string()) else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
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
    let Some(limit) = limit(&q) else {
        return bad_limit();
    };
    match state.store.list_messages(status, limit).await {
        Ok(rows) => json_ok(&rows.iter().map(MessageView::from).collect::<Vec<_>>()),
        Err(e) => ledger_unavailable(e),
    }
}

/// `GET /admin/messages/{id}`: one message as a [`MessageView`], or 404.
pub(crate) async fn show_message(
    _: Operator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(id) = path.into_inner().parse::<i64>() else {
        return json_error(StatusCode::BAD_REQUEST, "the id must be a number");
    };
    match state.store.message(id).await {
        Ok(Some(m)) => json_ok(&MessageView::from(&m)),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such message"),
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
    match state.store.reservation(id).await {
        Ok(Some(r)) => json_ok(&ReservationView::from(&r)),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such reservation"),
        Err(e) => ledger_unavailable(e),
    }
}
