//! The agenda as JSON for operators and an ERP's integration, behind the
//! operators' bearer token ([`Operator`]), what `ozmap-ivr visits` does:
//!
//! - `GET /admin/visits?from=YYYY-MM-DD&to=YYYY-MM-DD`: an
//!   [`crate::admin::agenda::AgendaView`] (default: today and 13 days on).
//! - `POST /admin/visits/{protocol}/move` `{"day": "2026-12-10", "period":
//!   "morning"}`: 200 with the moved visit, 409 when the period is full.
//! - `POST /admin/visits/{protocol}/cancel` `{"for_good": false}`.
//! - `POST /admin/visits/{protocol}/done`: how an ERP reports a visit done.
//!
//! 404 when there is no booked visit with that protocol; 400 with what is
//! wrong for a bad day, period or body.

use super::AppState;
use super::extract::{Operator, json_error};
use crate::admin::agenda::{self, OpError};
use crate::store::now_ms;
use crate::visits::ScheduleSettings;
use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use ivr_core::agenda::{AgendaRules, Day, Slot};
use serde::Serialize;

/// The rules of the agenda the service books against (the service's own,
/// or IXC's periods and capacity), so the agenda lists every working period
/// with its capacity; `None` with an HTTP agenda (its capacity is the ERP's,
/// recorded per period when offered) or none.
pub(crate) fn agenda_rules(state: &AppState) -> Option<AgendaRules> {
    match &state.cfg.visits.source {
        ScheduleSettings::Builtin(rules) | ScheduleSettings::Ixc { rules, .. } => {
            Some(rules.clone())
        }
        ScheduleSettings::None | ScheduleSettings::Http { .. } => None,
    }
}

/// The capacity of `slot` for a move, by the rules. `None`: the
/// capacity the period was booked against, else the visit's current period's
/// (see `Store::move_visit`).
pub(crate) fn capacity_of(state: &AppState, slot: &Slot) -> Option<u32> {
    agenda_rules(state)
        .filter(|r| r.is_working_day(slot.day) && r.periods.contains(&slot.period))
        .map(|r| r.per_period)
}

/// Today on the agents' clock (`IVR_TIMEZONE`).
pub(crate) fn today(state: &AppState) -> Day {
    Day::of(
        &state
            .cfg
            .call
            .schedule
            .local(u64::try_from(now_ms()).unwrap_or(0)),
    )
}

fn json_ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}

fn refused(e: OpError) -> HttpResponse {
    match e {
        OpError::NotFound(_) => json_error(StatusCode::NOT_FOUND, &e.to_string()),
        OpError::Full(_) => json_error(StatusCode::CONFLICT, &e.to_string()),
        OpError::Past(_) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
        OpError::NotDead(_) => json_error(StatusCode::CONFLICT, &e.to_string()),
        OpError::Store(e) => {
            tracing::error!(error = %e, "admin: cannot change the agenda");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the agenda cannot be changed now",
            )
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /admin/visits`.
pub(crate) async fn list(
    _: Operator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(q) = web::Query::<RangeQuery>::from_query(req.query_string()) else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    fn blank(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let (from, to) = match crate::admin::visit_range(today(&state), blank(&q.from), blank(&q.to)) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let rules = agenda_rules(&state);
    match agenda::agenda(state.store(), from, to, rules.as_ref()).await {
        Ok(a) => json_ok(&a),
        Err(e) => refused(OpError::Store(e)),
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct MoveBody {
    day: String,
    period: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct CancelBody {
    #[serde(default)]
    for_good: bool,
}

/// A JSON body, or what is wrong with it (for a 400); an empty body is the
/// default, where there is one.
fn body<T: serde::de::DeserializeOwned>(raw: &[u8], default: Option<T>) -> Result<T, String> {
    if raw.iter().all(u8::is_ascii_whitespace)
        && let Some(d) = default
    {
        return Ok(d);
    }
    serde_json::from_slice(raw).map_err(|e| format!("bad JSON body: {e}"))
}

/// `POST /admin/visits/{protocol}/{move|cancel|done|retry}`.
pub(crate) async fn act(
    _: Operator,
    path: web::Path<(String, String)>,
    raw: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (protocol, action) = path.into_inner();
    let protocol = protocol.trim();
    let now = now_ms();
    let store = state.store();
    let done = match action.as_str() {
        "move" => {
            let b: MoveBody = match body(&raw, None) {
                Ok(b) => b,
                Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
            };
            let to = match agenda::parse_slot(&b.day, &b.period) {
                Ok(s) => s,
                Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
            };
            let capacity = capacity_of(&state, &to);
            let at = (today(&state), now);
            agenda::move_visit(store, &state.prompts, protocol, to, capacity, at).await
        }
        "cancel" => {
            let b: CancelBody = match body(&raw, Some(CancelBody::default())) {
                Ok(b) => b,
                Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
            };
            agenda::cancel_visit(store, &state.prompts, protocol, b.for_good, now).await
        }
        "done" => agenda::mark_done(store, protocol, now).await,
        "retry" => agenda::retry_erp(store, protocol, now).await,
        _ => {
            return json_error(
                StatusCode::NOT_FOUND,
                "the action must be one of move, cancel, done, retry",
            );
        }
    };
    match done {
        Ok(c) => json_ok(&c),
        Err(e) => refused(e),
    }
}
