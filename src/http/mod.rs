//! The web side: actix handlers around the pure call flow.
//!
//! - [`routes`]: every route, in one place.
//! - `webhook`: the entry point of every webhook, its span and its apology.
//! - `guard`: what every route gets first (a middleware): the per-address limit
//!   on the routes the gate does not limit, and a deadline on reading the body.
//! - `gate`: who may post a webhook (limits, basic auth, body, signature).
//! - `error`: every refusal, with its status, body, log line and counter.
//! - `steps`: the voice adapter on the session engine ([`crate::engine`]): a
//!   webhook's request as a flow event, the platform's retries and stale URLs,
//!   the reply rendered as TwiML.
//! - `jambonz`: jambonz's adapter (`POST /jambonz`, `/jambonz/status`): its
//!   gate (signature or basic auth, JSON body) and its body read into the same
//!   steps, answered in jambonz's JSON verbs.
//! - `deadline`: how long a webhook waits for its work (a leaf).
//! - `stall`: a slow database never holds a webhook past its budget (a short
//!   hold, then `/voice/resume` for the answer).
//! - `greeting`: the greeting, which writes nothing (protocol blocks, the call
//!   stored at its first answer or status callback).
//! - `reserving`: the reservation behind the confirmation, waited on (through
//!   the engine) within the step budget so a quick OZmap is heard without a hold.
//! - `admin`, `extract`: the ledger as JSON, behind the operators' token.
//! - `metrics`: Prometheus (OpenMetrics) text for operators.
//! - `console`: the operators' console in the browser, and `GET /admin/funnel`.
//! - `location`: the link where a caller marks the house (`GET`/`POST
//!   /l/{token}`, its page and files) and `POST /admin/location-links`.
//! - `state`: what every handler shares ([`AppState`]).

mod admin;
pub(crate) mod admin_visits;
mod console;
mod deadline;
mod error;
mod extract;
mod gate;
mod greeting;
mod guard;
mod jambonz;
mod location;
pub(crate) mod location_call;
mod metrics;
mod reserving;
pub(crate) mod routes;
mod stall;
mod state;
mod steps;
mod webhook;

pub(crate) use console::end_other_tokens_sessions;
pub use gate::SecurityCounters;
pub(crate) use greeting::Greetings;
pub(crate) use guard::guard;
pub use metrics::WebhookCounters;
pub(crate) use stall::Stalls;
pub use state::AppState;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use error::Refusal;

/// Which webhook was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Start,
    Answer,
    Silence,
    Poll,
    Dial,
    Status,
    /// Back from a hold given because the database was slow (`stall`).
    Resume,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Start => "start",
            Hook::Answer => "answer",
            Hook::Silence => "silence",
            Hook::Poll => "poll",
            Hook::Dial => "dial",
            Hook::Status => "status",
            Hook::Resume => "resume",
        }
    }
}

/// A TwiML answer, never cached.
fn xml(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(ivr_core::webhook::TWIML_CONTENT_TYPE),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}

/// An answer in `dialect` (TwiML or jambonz's JSON), never cached.
fn document(dialect: ivr_core::render::Dialect, status: StatusCode, body: String) -> HttpResponse {
    match dialect {
        ivr_core::render::Dialect::Twiml => xml(status, body),
        ivr_core::render::Dialect::Jambonz => HttpResponse::build(status)
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static(ivr_core::jambonz::CONTENT_TYPE),
            ))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .body(body),
    }
}

/// The usual protective headers on every answer.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    ivr_core::webhook::SECURITY_HEADERS
        .into_iter()
        .fold(actix_web::middleware::DefaultHeaders::new(), |h, kv| {
            h.add(kv)
        })
}

/// `GET /healthz`: the store answers.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.store().ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unavailable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("store unavailable\n")
        }
    }
}
