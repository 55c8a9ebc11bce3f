//! The operators' commands and views: the reservation ledger
//! (`ozmap-ivr reservations …`, `GET /admin/reservations`, here), both
//! message outboxes by channel (`ozmap-ivr messages …`, `GET /admin/messages`,
//! `messages`) and the console's sessions (`ozmap-ivr console logout-all`,
//! `console`). They read the configuration (the database and OZmap groups);
//! `sms` and the senders do not, so no module that carries messages out
//! depends on `config`.
//!
//! Operators see the client's code and name here on purpose: the ledger is the
//! business record of who asked for which port. Logs never carry them.
//!
//! The HTTP side is in the web layer (behind the operators' token); both show a
//! row as a [`ReservationView`]. The command reads its store and its OZmap through
//! the same configuration groups as `serve` ([`DatabaseArgs`], [`OzmapArgs`]), so
//! it keeps the same defaults, the https rule and `OZMAP_TIMEOUT_MS`.

pub(crate) mod agenda;
mod console;
mod messages;
mod privacy;
mod visits;

pub use console::{ConsoleArgs, run as console};
pub(crate) use messages::{
    ChannelArg, Found, MessageStatusArg, MessageView, find as find_message, list as list_messages,
};
pub use messages::{MessagesArgs, run as messages};
pub use privacy::{PrivacyArgs, run as privacy};
pub(crate) use privacy::{export as export_subject, subject as privacy_subject};
pub(crate) use visits::range as visit_range;
pub use visits::{VisitsArgs, run as visits};

use crate::config::{DatabaseArgs, OzmapArgs};
use crate::store::{LedgerStatus, Life, LifeMark, Reservation, now_ms};
use clap::{Args, Subcommand, ValueEnum};
use ivr_core::domain::ReservationOutcome;
use serde::Serialize;

/// A ledger status, as the command line and the admin query give it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    /// Queued: waiting to be made in OZmap (the console: "queued" / "na fila").
    Pending,
    /// Finished, see the outcome (the console: "finished" / "concluída").
    Done,
    /// Stopped, needs an operator: a dead letter (the console: "stopped (needs
    /// an operator)" / "parada (precisa de operador)").
    Dead,
    /// Cancelled by an operator (the console: "Cancelled" / "cancelada").
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
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The store the service uses.
    #[command(flatten)]
    pub database: DatabaseArgs,
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
    /// One reservation, whole: by its id, or by the call's protocol number.
    Show {
        #[arg(required_unless_present = "protocol")]
        id: Option<i64>,
        /// The protocol number the caller was given.
        #[arg(long, conflicts_with = "id")]
        protocol: Option<String>,
    },
    /// Send a dead letter back to the worker.
    Retry { id: i64 },
    /// The client is installed (the visit was done): the worker sets the
    /// client `implanted: true` in OZmap, once; the reservation is never
    /// released after.
    Installed {
        /// The client code (or give --protocol).
        #[arg(required_unless_present = "protocol")]
        code: Option<String>,
        #[arg(long, conflicts_with = "code")]
        protocol: Option<String>,
    },
    /// Release the reservation now (e.g. its visit cancelled for good): the
    /// worker deletes this request's property in OZmap, freeing the port, and
    /// tells the client, once.
    Release {
        /// The client code (or give --protocol).
        #[arg(required_unless_present = "protocol")]
        code: Option<String>,
        #[arg(long, conflicts_with = "code")]
        protocol: Option<String>,
    },
    /// Cancel: delete the property in OZmap (freeing the port), then mark the row.
    Cancel {
        id: i64,
        #[command(flatten)]
        ozmap: OzmapArgs,
    },
}

/// A ledger row as operators see it.
#[derive(Debug, Serialize)]
pub(crate) struct ReservationView {
    pub id: i64,
    /// The call's protocol number (not personal data).
    pub protocol: Option<String>,
    pub status: &'static str,
    pub outcome: Option<&'static str>,
    pub client_code: String,
    pub client_name: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub box_id: Option<String>,
    /// The box's name; `null` while it is not known (the client then reads a
    /// sentence without it; operators see `box_id`).
    pub box_name: Option<String>,
    pub port: Option<i64>,
    pub property_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub call_sid: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub next_attempt_at_ms: i64,
    /// A property POST whose answer never came, at this time: OZmap is being
    /// asked whether it made it before anything is sent again (on a finished
    /// row: it finished after one).
    pub uncertain_since_ms: Option<i64>,
    /// Copies of the property (a second property for this one request) that
    /// the worker deleted in OZmap.
    pub duplicates_removed: Vec<String>,
    /// When the worker looks at the finished row again (a copy that may still
    /// come, a box name not read yet).
    pub recheck_at_ms: Option<i64>,
    /// After the reservation: `installed`, `implanted`, `releasing`,
    /// `released`, or `null`.
    pub life_state: Option<&'static str>,
    /// The reservation's life: `reserved_at`, `installed_at`, `implanted_at`,
    /// `released_at`, `release_asked_at`, `due_at` (ms), `attempts`, `error`,
    /// `dead_at` (a dead letter: an operator must look).
    pub life: Life,
}

impl ReservationView {
    /// Pending, with an unanswered POST after a failed attempt: being confirmed.
    pub(crate) fn confirming(&self) -> bool {
        self.status == "pending" && self.uncertain_since_ms.is_some() && self.attempts > 0
    }
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
            protocol: r.request.protocol.clone(),
            status: r.status.as_str(),
            outcome,
            client_code: r.client_code.as_str().to_string(),
            client_name: r.request.client_name.clone(),
            address: r.request.place.postal(),
            lat: r.request.place.lat,
            lng: r.request.place.lng,
            box_id: port.map(|p| p.box_id.clone()),
            box_name: port
                .and_then(|p| p.box_name.as_ref())
                .map(|b| b.as_str().to_string()),
            port: port.and_then(|p| p.port),
            property_id: port.map(|p| p.property_id.clone()),
            attempts: r.attempts,
            last_error: r.last_error.clone(),
            call_sid: r.call_sid.clone(),
            created_at_ms: r.created_at,
            updated_at_ms: r.updated_at,
            next_attempt_at_ms: r.next_attempt_at,
            uncertain_since_ms: r.uncertain_since,
            duplicates_removed: r.duplicates_removed.clone(),
            recheck_at_ms: r.recheck_at,
            life_state: r.life.state(),
            life: r.life.clone(),
        }
    }
}

fn table(rows: &[ReservationView]) -> String {
    let mut out = format!(
        "{:>6}  {:<16}  {:<9}  {:<10}  {:>3}  {:<14}  {:<22}  {:<14}  {}\n",
        "ID", "PROTOCOL", "STATUS", "OUTCOME", "TRY", "CODE", "NAME", "BOX", "PORT / LAST ERROR"
    );
    for r in rows {
        let tail = match (&r.port, &r.last_error) {
            (Some(p), _) => p.to_string(),
            (None, Some(e)) => e.clone(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:>6}  {:<16}  {:<9}  {:<10}  {:>3}  {:<14}  {:<22}  {:<14}  {}\n",
            r.id,
            r.protocol.as_deref().unwrap_or("-"),
            r.life_state.unwrap_or(r.status),
            r.outcome.unwrap_or("-"),
            r.attempts,
            clip(&r.client_code, 14),
            clip(&r.client_name, 22),
            clip(
                r.box_name.as_deref().or(r.box_id.as_deref()).unwrap_or("-"),
                14
            ),
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
    let store = args.database.check()?.connect().await?;
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
        ReservationsCommand::Show { id, protocol } => {
            let r = match (id, protocol) {
                (_, Some(p)) => store
                    .reservation_by_protocol(p.trim())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no reservation with protocol {p}"))?,
                (Some(id), None) => store
                    .reservation(id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no reservation {id}"))?,
                (None, None) => anyhow::bail!("give a reservation id or --protocol"),
            };
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
        ReservationsCommand::Installed { code, protocol } => {
            let (what, mark) = match protocol {
                Some(p) => (
                    p.clone(),
                    store.mark_installed_by_protocol(p.trim(), now).await?,
                ),
                None => {
                    let r = find(&store, code).await?;
                    (r.id.to_string(), store.mark_installed(r.id, now).await?)
                }
            };
            life_answer(
                &what,
                mark,
                "marked installed: the worker sets the client implanted",
            )
        }
        ReservationsCommand::Release { code, protocol } => {
            let (what, mark) = match protocol {
                Some(p) => (
                    p.clone(),
                    store.release_for_good_by_protocol(p.trim(), now).await?,
                ),
                None => {
                    let r = find(&store, code).await?;
                    (r.id.to_string(), store.release_for_good(r.id, now).await?)
                }
            };
            life_answer(
                &what,
                mark,
                "to be released: the worker deletes the property",
            )
        }
        ReservationsCommand::Cancel { id, ozmap } => {
            let ozmap = ozmap.check()?;
            let r = store
                .reservation(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no reservation {id}"))?;
            if let Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) =
                &r.outcome
            {
                if ozmap.is_sandbox() {
                    anyhow::bail!(
                        "OZMAP_URL and OZMAP_TOKEN are needed to delete property {} in OZmap",
                        p.property_id
                    )
                }
                ozmap.client()?.delete_property(&p.property_id).await?;
            }
            store.mark_cancelled(id, now).await?;
            Ok(format!("reservation {id} cancelled\n"))
        }
    }
}

/// The ledger row of a client code.
async fn find(store: &crate::store::Store, code: Option<String>) -> anyhow::Result<Reservation> {
    let Some(c) = code else {
        anyhow::bail!("give a client code or --protocol");
    };
    let code = ivr_core::domain::ClientCode::parse(c.trim())
        .ok_or_else(|| anyhow::anyhow!("not a client code"))?;
    store
        .reservation_by_code(&code)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no reservation for this client code"))
}

/// What an operator's `installed` / `release` came to, for the terminal.
fn life_answer(which: &str, mark: LifeMark, done: &str) -> anyhow::Result<String> {
    match mark {
        LifeMark::Marked => Ok(format!("reservation {which} {done}\n")),
        LifeMark::Already => Ok(format!(
            "reservation {which}: already asked; nothing changed\n"
        )),
        other => anyhow::bail!("reservation {which}: {}", life_refusal(other)),
    }
}

/// Why an operator's word on a row changed nothing.
pub(crate) fn life_refusal(mark: LifeMark) -> &'static str {
    match mark {
        LifeMark::Released => "its port was already released",
        LifeMark::Installed => "the client is installed: it is never released",
        LifeMark::Busy => "the worker holds the row this moment; try again shortly",
        LifeMark::NoReservation => {
            "it holds no port to act on (pending, dead, no coverage, or a port this service did not reserve)"
        }
        LifeMark::Marked | LifeMark::Already => "nothing to refuse",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_ledger_prints_a_header_and_says_so() {
        let out = table(&[]);
        let mut lines = out.lines();
        assert!(lines.next().unwrap().contains("STATUS"));
        assert_eq!(lines.next(), Some("(no reservations)"));
    }

    #[test]
    fn a_row_shows_its_uncertain_post_its_removed_copies_and_an_unnamed_box_s_id() {
        use ivr_core::domain::{ClientCode, ReservedPort};
        const BOX: &str = "5da62201493d9c00066655b8";
        let mut r = Reservation {
            id: 7,
            client_code: ClientCode::parse("123").unwrap(),
            call_sid: "CA7".into(),
            request: ivr_core::tutorial::request(),
            status: LedgerStatus::Pending,
            outcome: None,
            attempts: 1,
            next_attempt_at: 0,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            uncertain_since: Some(5),
            recheck_at: None,
            duplicates_removed: Vec::new(),
            life: Default::default(),
        };
        assert!(ReservationView::from(&r).confirming());
        r.attempts = 0;
        assert!(!ReservationView::from(&r).confirming(), "a POST in flight");
        r.status = LedgerStatus::Done;
        r.attempts = 1;
        r.outcome = Some(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p1".into(),
            box_id: BOX.into(),
            box_name: None,
            port: Some(3),
        }));
        r.duplicates_removed = vec!["p2".into()];
        r.recheck_at = Some(9);
        let v = ReservationView::from(&r);
        assert!(!v.confirming());
        assert_eq!(
            (v.box_id.as_deref(), v.box_name.as_deref()),
            (Some(BOX), None)
        );
        assert_eq!(v.duplicates_removed, ["p2"]);
        assert_eq!((v.uncertain_since_ms, v.recheck_at_ms), (Some(5), Some(9)));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["duplicates_removed"][0], "p2");
        assert!(json["box_name"].is_null());
        // The command's table names the box by its id when it has no name.
        assert!(table(&[v]).contains(&BOX[..13]));
    }
}
