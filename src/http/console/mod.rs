//! The operators' console, `GET /console`, and its JSON twin `GET /admin/funnel`.
//!
//! - `session`: who may see it (a login form's session cookie, or the bearer
//!   token) and who may act (same origin, CSRF token).
//! - `funnel`: the numbers, counted from the calls' traces the store keeps.
//! - `page`, `charts`, `labels`: the HTML (maud), inline SVG, pt-BR and en-US.
//!
//! Every refusal is a [`ConsoleError`], answered in one place; a request
//! without a session gets the login form (401) and nothing else. Refusals a
//! stranger can repeat at will (a wrong token, another site's request, a
//! forged form) are logged once per source and interval, with a count.

mod agenda;
mod agenda_page;
mod charts;
mod funnel;
mod labels;
#[cfg(test)]
mod labels_tests;
mod page;
mod privacy;
mod session;

pub(crate) use agenda::{act as agenda_act, show as agenda_show};
pub(crate) use funnel::Funnel;
pub(crate) use privacy::{act as privacy_act, show as privacy_show};
pub(crate) use session::end_other_tokens_sessions;

use super::AppState;
use super::extract::{Operator, json_error};
use crate::admin::ReservationView;
use crate::store::{CallOutcome, CallTrace, LedgerStatus, StoreError, now_ms};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use ivr_core::domain::{ClientCode, ReservationOutcome};

/// Why a console request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    #[error("not found")]
    Off,
    #[error("log in first")]
    LoginRequired,
    #[error("wrong token")]
    BadLogin,
    /// Too many wrong tokens from this address: try again after the wait.
    #[error("too many wrong tokens from this address; wait a minute")]
    TooManyLogins(std::time::Duration),
    #[error("refused: the request comes from another site")]
    CrossSite,
    #[error("refused: the form is stale or forged (CSRF token); reload the page")]
    BadCsrf,
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("no such reservation")]
    NotFound,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("the store cannot be read now")]
    Store(#[from] StoreError),
    #[error("OZmap refused or failed; nothing was changed")]
    Ozmap(String),
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::Off | ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::LoginRequired | ConsoleError::BadLogin => StatusCode::UNAUTHORIZED,
            ConsoleError::CrossSite | ConsoleError::BadCsrf => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::TooManyLogins(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Ozmap(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::Store(e) => tracing::error!(error = %e, "console: store unavailable"),
            ConsoleError::Ozmap(e) => tracing::error!(error = %e, "console: OZmap failed"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        console_headers(&mut res);
        if let ConsoleError::TooManyLogins(wait) = self {
            res.insert_header((header::RETRY_AFTER, super::extract::retry_after(*wait)));
        }
        match self {
            ConsoleError::LoginRequired | ConsoleError::BadLogin => res
                .content_type("text/html; charset=utf-8")
                .body(page::login(matches!(self, ConsoleError::BadLogin)).into_string()),
            _ => res
                .content_type("text/plain; charset=utf-8")
                .body(format!("{self}\n")),
        }
    }
}

/// The console's own headers, set before the service's defaults (which do not
/// replace them): its inline style sheet allowed by its hash and nothing else,
/// forms only to itself, and the origin sent with its own POSTs (with the
/// default `no-referrer` a browser sends `Origin: null`, which is refused).
fn console_headers(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, page::csp()))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
}

fn html(body: maud::Markup) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    console_headers(&mut res);
    res.content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// 303 to `to` (after a POST), optionally setting a cookie.
fn see_other(to: &str, cookie: Option<String>) -> HttpResponse {
    let mut res = HttpResponse::SeeOther();
    console_headers(&mut res);
    res.insert_header((header::LOCATION, to.to_string()));
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.insert_header((header::SET_COOKIE, c));
    }
    res.finish()
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    lang: Option<String>,
    status: Option<String>,
    q: Option<String>,
    reservation: Option<String>,
    done: Option<String>,
}

fn query<T: Default + serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ConsoleError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| ConsoleError::BadRequest("malformed query string"))
}

fn lang_of(req: &HttpRequest) -> String {
    query::<PageQuery>(req)
        .ok()
        .and_then(|q| q.lang)
        .filter(|l| l == "en-US" || l == "pt-BR")
        .unwrap_or_default()
}

/// `GET /console`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    let q: PageQuery = query(&req)?;
    let l = labels::pick(q.lang.as_deref(), &state.cfg.call.language);
    let now = now_ms();
    let schedule = &state.cfg.call.schedule;
    let today_ms = schedule.start_of_day_ms(now);
    let week = state.store().call_traces(now - 7 * 24 * 3_600_000).await?;
    let today: Vec<CallTrace> = week
        .iter()
        .filter(|t| t.created_at >= today_ms)
        .cloned()
        .collect();
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("pending" | "done" | "dead" | "cancelled")) => Some(s),
        Some(_) => return Err(ConsoleError::BadRequest("unknown status")),
    };
    let search = q.q.as_deref().map(str::trim).unwrap_or("");
    let rows = state
        .store()
        .list_reservations(status.and_then(ledger_status), 1000)
        .await?;
    let mut ledger: Vec<ReservationView> = rows
        .iter()
        .map(ReservationView::from)
        .filter(|r| {
            search.is_empty()
                || r.protocol.as_deref().is_some_and(|p| p.contains(search))
                || r.client_code.contains(search)
        })
        .take(100)
        .collect();
    if ledger.is_empty() && !search.is_empty() {
        // Older than the newest rows: an exact protocol or client code.
        let by_code = match ClientCode::parse(search) {
            Some(code) => state.store().reservation_by_code(&code).await?,
            None => None,
        };
        let found = match by_code {
            Some(r) => Some(r),
            None => state.store().reservation_by_protocol(search).await?,
        };
        ledger.extend(found.as_ref().map(ReservationView::from));
    }
    let detail = match q.reservation.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => {
            let id = id
                .parse::<i64>()
                .map_err(|_| ConsoleError::BadRequest("the id must be a number"))?;
            let r = state.store().reservation(id).await?;
            Some(ReservationView::from(&r.ok_or(ConsoleError::NotFound)?))
        }
    };
    let flash = match (q.done.as_deref(), &detail) {
        (Some("retried"), Some(r)) => Some(format!("{} {}: {}", l.detail, r.id, l.retried)),
        (Some("cancelled"), Some(r)) => Some(format!("{} {}: {}", l.detail, r.id, l.cancelled)),
        _ => None,
    };
    let recent = state
        .store()
        .recent_calls(30)
        .await?
        .iter()
        .map(|t| recent_row(t, l, &state, now))
        .collect();
    let messages = crate::admin::list_messages(state.store(), None, None, 30).await?;
    let d = page::Dashboard {
        l,
        csrf: access.csrf(),
        today: Funnel::of(&today, now),
        week: Funnel::of(&week, now),
        hours: funnel::per_hour(&today, |ms| schedule.hour_at(ms)),
        health: state.ozmap.view(),
        ledger,
        status,
        q: search,
        detail,
        flash,
        recent,
        messages,
    };
    Ok(html(page::dashboard(&d)))
}

fn ledger_status(s: &str) -> Option<LedgerStatus> {
    Some(match s {
        "pending" => LedgerStatus::Pending,
        "done" => LedgerStatus::Done,
        "dead" => LedgerStatus::Dead,
        "cancelled" => LedgerStatus::Cancelled,
        _ => return None,
    })
}

fn recent_row(t: &CallTrace, l: &labels::Labels, state: &AppState, now: i64) -> page::RecentRow {
    let outcome = match t.outcome {
        Some(CallOutcome::Reserved) => l.reserved,
        Some(CallOutcome::Existing) => l.existing,
        Some(CallOutcome::NotViable) => l.not_viable,
        Some(CallOutcome::Failed) => l.failed,
        None if t.reached("transferred") => l.transferred,
        None if funnel::abandoned_at(t, now).is_some() => l.abandoned,
        None if funnel::is_over(t, now) => "—",
        None => l.in_progress,
    };
    let data = t.call.as_ref().map(|c| &c.data);
    let local = state
        .cfg
        .call
        .schedule
        .local(u64::try_from(t.created_at).unwrap_or(0));
    let secs = (t.ended_at.unwrap_or(t.updated_at) - t.created_at).max(0) / 1000;
    page::RecentRow {
        started: format!(
            "{:02}/{:02} {:02}:{:02}",
            local.day,
            local.month,
            local.minute / 60,
            local.minute % 60
        ),
        protocol: data
            .and_then(|d| d.protocol.clone())
            .unwrap_or_else(|| "—".into()),
        steps: t.steps.clone(),
        outcome,
        duration: format!("{} min {:02} s", secs / 60, secs % 60),
        phone: crate::redact::phone(data.and_then(|d| d.phone.as_deref()).unwrap_or("")),
        place: t.place_source.map(|p| format!("place_{}", p.name())),
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct LoginForm {
    token: String,
}

/// `POST /console/login`.
pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    session::same_origin(&req, &state)?;
    let cookie = session::login(&req, &state, &form.token).await?;
    Ok(see_other("/console", Some(cookie)))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ActionForm {
    csrf: Option<String>,
}

/// `POST /console/logout`.
pub(crate) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    session::may_act(&req, &state, &access, form.csrf.as_deref())?;
    let cookie = session::logout(&state, &access).await?;
    Ok(see_other("/console", Some(cookie)))
}

/// `POST /console/reservations/{id}/{retry|cancel}`: what `ozmap-ivr
/// reservations retry|cancel` does.
pub(crate) async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    session::may_act(&req, &state, &access, form.csrf.as_deref())?;
    let (id, what) = path.into_inner();
    let id = id
        .parse::<i64>()
        .map_err(|_| ConsoleError::BadRequest("the id must be a number"))?;
    let now = now_ms();
    let done = match what.as_str() {
        "retry" => {
            if !state.store().requeue(id, now).await? {
                return Err(ConsoleError::Conflict("only a dead letter can be retried"));
            }
            state.engine.wake_worker.notify_one();
            tracing::info!(id, "console: dead letter sent back to the worker");
            "retried"
        }
        "cancel" => {
            let r = state
                .store()
                .reservation(id)
                .await?
                .ok_or(ConsoleError::NotFound)?;
            if let Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) =
                &r.outcome
            {
                let client = state
                    .cfg
                    .ozmap
                    .client()
                    .map_err(|e| ConsoleError::Ozmap(e.to_string()))?;
                client
                    .delete_property(&p.property_id)
                    .await
                    .map_err(|e| ConsoleError::Ozmap(e.to_string()))?;
            }
            state.store().mark_cancelled(id, now).await?;
            tracing::info!(id, "console: reservation cancelled");
            "cancelled"
        }
        _ => return Err(ConsoleError::NotFound),
    };
    let lang = lang_of(&req);
    Ok(see_other(
        &format!("/console?lang={lang}&reservation={id}&done={done}"),
        None,
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct FunnelQuery {
    since: Option<String>,
}

/// `GET /admin/funnel?since=<RFC 3339>` (bearer token): the page's numbers as
/// JSON; `since` defaults to today's local midnight.
pub(crate) async fn funnel_json(
    _: Operator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(q) = query::<FunnelQuery>(&req) else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let now = now_ms();
    let since = match q.since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => state.cfg.call.schedule.start_of_day_ms(now),
        Some(s) => match s.parse::<jiff::Timestamp>() {
            Ok(ts) => ts.as_millisecond(),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "since must be an RFC 3339 time, e.g. 2026-12-01T00:00:00-03:00",
                );
            }
        },
    };
    match state.store().call_traces(since).await {
        Ok(traces) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(Funnel::of(&traces, now).json(since)),
        Err(e) => {
            tracing::error!(error = %e, "admin: cannot read the calls");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the calls cannot be read now",
            )
        }
    }
}
