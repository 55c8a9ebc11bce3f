//! `GET /console/agenda` and `POST /console/agenda/{protocol}/{move|cancel|done}`:
//! the technicians' agenda in the console, what `ozmap-ivr visits` does. Per
//! day and period the visits booked against the capacity; each visit with its
//! protocol, box and port, the number masked, where its booking stands in the
//! ERP (a dead letter's error); forms to move, cancel (for good: the
//! reservation is to be released too) and mark done; and the requests with a
//! port reserved and no visit yet, for the team to call. Fourteen days at a
//! time, paged back and forward. Every POST carries the session's CSRF token;
//! a refused change (a full period, a bad day) shows the page again with why.

use super::{ConsoleError, console_headers, html, query, see_other, session};
use crate::admin::agenda::{self, AgendaView, Changed, OpError};
use crate::http::AppState;
use crate::http::admin_visits::{agenda_rules, capacity_of, today};
use crate::store::now_ms;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use ivr_core::agenda::Day;

use super::agenda_page::{Shown, render};

/// Days one page shows.
const PAGE_DAYS: i64 = 14;

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct AgendaQuery {
    lang: Option<String>,
    from: Option<String>,
    done: Option<String>,
    protocol: Option<String>,
    told: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AgendaForm {
    csrf: Option<String>,
    lang: Option<String>,
    from: Option<String>,
    day: Option<String>,
    period: Option<String>,
    for_good: Option<String>,
}

/// The first day of the page: `from`, else today.
fn first_day(state: &AppState, from: Option<&str>) -> Result<Day, ConsoleError> {
    match from.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today(state)),
        Some(s) => Day::parse(s).ok_or(ConsoleError::BadRequest(
            "the day must be written YYYY-MM-DD",
        )),
    }
}

async fn load(state: &AppState, from: Day) -> Result<AgendaView, ConsoleError> {
    let rules = agenda_rules(state);
    Ok(agenda::agenda(
        state.store(),
        from,
        from.plus(PAGE_DAYS - 1),
        rules.as_ref(),
    )
    .await?)
}

/// `GET /console/agenda`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    let q: AgendaQuery = query(&req)?;
    let l = super::agenda_page::labels(q.lang.as_deref(), &state.cfg.call.language);
    let from = first_day(&state, q.from.as_deref())?;
    let a = load(&state, from).await?;
    let told = q.told.as_deref() == Some("1");
    let shown = match (q.done.as_deref(), q.protocol.as_deref()) {
        (Some(what @ ("moved" | "cancelled" | "done" | "released")), Some(p)) => {
            Shown::Done(l.done_text(what, p, told))
        }
        _ => Shown::Nothing,
    };
    Ok(html(render(l, access.csrf(), from, &a, &shown)))
}

/// `POST /console/agenda/{protocol}/{move|cancel|done}`.
pub(crate) async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<AgendaForm>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    session::may_act(&req, &state, &access, form.csrf.as_deref())?;
    let l = super::agenda_page::labels(form.lang.as_deref(), &state.cfg.call.language);
    let from = first_day(&state, form.from.as_deref())?;
    let (protocol, action) = path.into_inner();
    let protocol = protocol.trim().to_string();
    let now = now_ms();
    let store = state.store();
    let result: Result<(&str, Changed), OpError> = match action.as_str() {
        "move" => {
            let to = agenda::parse_slot(
                form.day.as_deref().unwrap_or(""),
                form.period.as_deref().unwrap_or(""),
            );
            let to = match to {
                Ok(s) => s,
                Err(_) => {
                    let a = load(&state, from).await?;
                    let page = render(l, access.csrf(), from, &a, &Shown::Error(l.bad_slot.into()));
                    return Ok(status(StatusCode::BAD_REQUEST, page));
                }
            };
            let capacity = capacity_of(&state, &to);
            let at = (today(&state), now);
            agenda::move_visit(store, &state.prompts, &protocol, to, capacity, at)
                .await
                .map(|c| ("moved", c))
        }
        "cancel" => {
            let for_good = form.for_good.as_deref() == Some("yes");
            agenda::cancel_visit(store, &state.prompts, &protocol, for_good, now)
                .await
                .map(|c| (if for_good { "released" } else { "cancelled" }, c))
        }
        "done" => agenda::mark_done(store, &protocol, now)
            .await
            .map(|c| ("done", c)),
        _ => return Err(ConsoleError::NotFound),
    };
    match result {
        Ok((what, c)) => Ok(see_other(
            &format!(
                "/console/agenda?lang={}&from={from}&done={what}&protocol={}&told={}",
                l.lang,
                urlencode(&protocol),
                u8::from(c.told)
            ),
            None,
        )),
        Err(OpError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (code, text) = match &e {
                OpError::Full(_) => (StatusCode::CONFLICT, l.full.to_string()),
                OpError::Past(_) => (StatusCode::BAD_REQUEST, l.past.to_string()),
                _ => (StatusCode::NOT_FOUND, l.not_found.to_string()),
            };
            let a = load(&state, from).await?;
            let page = render(l, access.csrf(), from, &a, &Shown::Error(text));
            Ok(status(code, page))
        }
    }
}

/// The page with another status than 200 (a refused change).
fn status(code: StatusCode, body: maud::Markup) -> HttpResponse {
    let mut res = HttpResponse::build(code);
    console_headers(&mut res);
    res.content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// A protocol in a query string (digits and a few signs in practice).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
