//! The operators' view of the reservation ledger: `ozmap-ivr reservations …` on the
//! command line and `GET /admin/reservations` (JSON, behind `IVR_ADMIN_TOKEN`).
//!
//! Operators see the client's code and name here on purpose: the ledger is the
//! business record of who asked for which port. Logs never carry them.

use crate::domain::ReservationOutcome;
use crate::ozmap::OzmapClient;
use crate::store::{LedgerStatus, Reservation, Store, now_ms};
use clap::{Args, Subcommand, ValueEnum};
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
