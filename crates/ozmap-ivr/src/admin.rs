//! The operators' view of the reservation ledger: `ozmap-ivr reservations …` on the
//! command line and `GET /admin/reservations` (JSON, behind `IVR_ADMIN_TOKEN`).
//!
//! Operators see the client's code and name here on purpose: the ledger is the
//! business record of who asked for which port. Logs never carry them.
//!
//! The HTTP side ([`http_list`], [`http_show`]) is off unless `IVR_ADMIN_TOKEN` is
//! set (404, as if the routes did not exist); with it, every request must carry
//! `Authorization: Bearer <token>`, compared in constant time (401 otherwise).

use crate::store::{LedgerStatus, Reservation, Store, now_ms};
use clap::{Args, Subcommand, ValueEnum};
use ivr_core::domain::ReservationOutcome;
use ozmap_client::OzmapClient;
use secrecy::SecretString;
use serde::Serialize;
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    Pending,
    Done,
    Dead,
    Cancelled,
}

impl From<StatusArg> for LedgerStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => LedgerStatus::Pending,
            StatusArg::Done => LedgerStatus::Done,
            StatusArg::Dead => LedgerStatus::Dead,
            StatusArg::Cancelled => LedgerStatus::Cancelled,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReservationsArgs {
    /// The store the service uses.
    #[arg(
        long,
        env = "IVR_DATABASE_URL",
        default_value = "sqlite://ozmap-ivr.db",
        global = true
    )]
    pub database_url: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: ReservationsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReservationsCommand {
    /// The newest reservations.
    List {
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One reservation, whole.
    Show { id: i64 },
    /// Send a dead letter back to the worker.
    Retry { id: i64 },
    /// Cancel: delete the property in OZmap (freeing the port), then mark the row.
    Cancel {
        id: i64,
        #[arg(long, env = "OZMAP_URL")]
        ozmap_url: Option<String>,
        #[arg(long, env = "OZMAP_TOKEN", hide_env_values = true)]
        ozmap_token: Option<String>,
    },
}

/// A ledger row as operators see it.
#[derive(Debug, Serialize)]
pub struct ReservationView {
    pub id: i64,
    pub status: &'static str,
    pub outcome: Option<&'static str>,
    pub client_code: String,
    pub client_name: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub box_id: Option<String>,
    pub box_name: Option<String>,
    pub port: Option<i64>,
    pub property_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub call_sid: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub next_attempt_at_ms: i64,
}

impl From<&Reservation> for ReservationView {
    fn from(r: &Reservation) -> Self {
        let (outcome, port) = match &r.outcome {
            Some(ReservationOutcome::Reserved(p)) => (Some("reserved"), Some(p)),
            Some(ReservationOutcome::Existing(p)) => (Some("existing"), Some(p)),
            Some(ReservationOutcome::NotViable) => (Some("not_viable"), None),
            None => (None, None),
        };
        Self {
            id: r.id,
            status: r.status.as_str(),
            outcome,
            client_code: r.client_code.as_str().to_string(),
            client_name: r.request.client_name.clone(),
            address: r.request.place.postal(),
            lat: r.request.place.lat,
            lng: r.request.place.lng,
            box_id: port.map(|p| p.box_id.clone()),
            box_name: port.map(|p| p.box_name.clone()),
            port: port.and_then(|p| p.port),
            property_id: port.map(|p| p.property_id.clone()),
            attempts: r.attempts,
            last_error: r.last_error.clone(),
            call_sid: r.call_sid.clone(),
            created_at_ms: r.created_at,
            updated_at_ms: r.updated_at,
            next_attempt_at_ms: r.next_attempt_at,
        }
    }
}

fn table(rows: &[ReservationView]) -> String {
    let mut out = format!(
        "{:>6}  {:<9}  {:<10}  {:>3}  {:<14}  {:<22}  {:<14}  {}\n",
        "ID", "STATUS", "OUTCOME", "TRY", "CODE", "NAME", "BOX", "PORT / LAST ERROR"
    );
    for r in rows {
        let tail = match (&r.port, &r.last_error) {
            (Some(p), _) => p.to_string(),
            (None, Some(e)) => e.clone(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:>6}  {:<9}  {:<10}  {:>3}  {:<14}  {:<22}  {:<14}  {}\n",
            r.id,
            r.status,
            r.outcome.unwrap_or("-"),
            r.attempts,
            clip(&r.client_code, 14),
            clip(&r.client_name, 22),
            clip(r.box_name.as_deref().unwrap_or("-"), 14),
            tail
        ));
    }
    if rows.is_empty() {
        out.push_str("(no reservations)\n");
    }
    out
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Runs one `reservations` command and returns what to print.
pub async fn run(args: ReservationsArgs) -> anyhow::Result<String> {
    let store = Store::connect(&args.database_url).await?;
    let now = now_ms();
    match args.command {
        ReservationsCommand::List { status, limit } => {
            let rows = store
                .list_reservations(status.map(Into::into), limit.clamp(1, 10_000))
                .await?;
            let views: Vec<ReservationView> = rows.iter().map(Into::into).collect();
            Ok(if args.json {
                serde_json::to_string_pretty(&views)? + "\n"
            } else {
                table(&views)
            })
        }
        ReservationsCommand::Show { id } => {
            let r = store
                .reservation(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no reservation {id}"))?;
            Ok(serde_json::to_string_pretty(&ReservationView::from(&r))? + "\n")
        }
        ReservationsCommand::Retry { id } => {
            if store.requeue(id, now).await? {
                Ok(format!("reservation {id} sent back to the worker\n"))
            } else {
                anyhow::bail!(
                    "reservation {id} is not a dead letter (only dead ones can be retried)"
                )
            }
        }
        ReservationsCommand::Cancel {
            id,
            ozmap_url,
            ozmap_token,
        } => {
            let r = store
                .reservation(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no reservation {id}"))?;
            if let Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) =
                &r.outcome
            {
                let (Some(url), Some(token)) = (ozmap_url, ozmap_token) else {
                    anyhow::bail!(
                        "OZMAP_URL and OZMAP_TOKEN are needed to delete property {} in OZmap",
                        p.property_id
                    )
                };
                let client = OzmapClient::new(
                    url::Url::parse(&url).map_err(|e| anyhow::anyhow!("OZMAP_URL: {e}"))?,
                    SecretString::from(token),
                    Duration::from_secs(10),
                )?;
                client.delete_property(&p.property_id).await?;
            }
            store.mark_cancelled(id, now).await?;
            Ok(format!("reservation {id} cancelled\n"))
        }
    }
}

// ---- GET /admin/reservations -------------------------------------------------

/// Most rows one `GET /admin/reservations` returns.
pub const MAX_LIST: i64 = 1_000;

fn json_error(status: actix_web::http::StatusCode, message: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": message }))
}

fn json_ok<T: Serialize>(body: &T) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// Equal in constant time: both sides are hashed first, so neither the content
/// nor the length of the expected token shows in the timing.
fn token_matches(expected: &str, given: &str) -> bool {
    use sha2::{Digest, Sha256};
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The answer to send instead of the data: 404 when the admin routes are off,
/// 401 when the bearer token is missing or wrong; `None` when authorised.
pub(crate) fn refusal(
    req: &actix_web::HttpRequest,
    state: &crate::app::AppState,
) -> Option<actix_web::HttpResponse> {
    use actix_web::http::StatusCode;
    use secrecy::ExposeSecret;
    let Some(expected) = &state.cfg.admin_token else {
        return Some(json_error(StatusCode::NOT_FOUND, "not found"));
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    match given {
        Some(token) if token_matches(expected.expose_secret(), &token) => None,
        _ => {
            tracing::warn!(
                path = req.path(),
                "admin: refused (bad or missing bearer token)"
            );
            let mut res = json_error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            res.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static(
                    "Bearer realm=\"ozmap-ivr admin\"",
                ),
            );
            Some(res)
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
}

/// `GET /admin/reservations?status=pending|done|dead|cancelled&limit=N`: the
/// newest rows as a JSON array of [`ReservationView`].
pub async fn http_list(
    req: actix_web::HttpRequest,
    state: actix_web::web::Data<crate::app::AppState>,
) -> actix_web::HttpResponse {
    use actix_web::http::StatusCode;
    if let Some(res) = refusal(&req, &state) {
        return res;
    }
    let Ok(q) = actix_web::web::Query::<ListQuery>::from_query(req.query_string()) else {
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
    let limit = match q.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 50,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_LIST).contains(&n) => n,
            _ => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    &format!("limit must be a number between 1 and {MAX_LIST}"),
                );
            }
        },
    };
    match state.store.list_reservations(status, limit).await {
        Ok(rows) => json_ok(&rows.iter().map(ReservationView::from).collect::<Vec<_>>()),
        Err(e) => {
            tracing::error!(error = %e, "admin: cannot read the ledger");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the ledger cannot be read now",
            )
        }
    }
}

/// `GET /admin/reservations/{id}`: one row as a [`ReservationView`], or 404.
pub async fn http_show(
    req: actix_web::HttpRequest,
    path: actix_web::web::Path<String>,
    state: actix_web::web::Data<crate::app::AppState>,
) -> actix_web::HttpResponse {
    use actix_web::http::StatusCode;
    if let Some(res) = refusal(&req, &state) {
        return res;
    }
    let Ok(id) = path.into_inner().parse::<i64>() else {
        return json_error(StatusCode::BAD_REQUEST, "the id must be a number");
    };
    match state.store.reservation(id).await {
        Ok(Some(r)) => json_ok(&ReservationView::from(&r)),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such reservation"),
        Err(e) => {
            tracing::error!(error = %e, "admin: cannot read the ledger");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the ledger cannot be read now",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", "s3cret "));
        assert!(!token_matches("s3cret", ""));
    }

    #[test]
    fn an_empty_ledger_prints_a_header_and_says_so() {
        let out = table(&[]);
        let mut lines = out.lines();
        assert!(lines.next().unwrap().contains("STATUS"));
        assert_eq!(lines.next(), Some("(no reservations)"));
    }
}
