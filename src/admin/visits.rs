//! `ozmap-ivr visits list|move|cancel|done|retry`: the agenda from the command line,
//! on the store the service uses (as `reservations` does). A move or a
//! cancellation writes the client's message in the same transaction; the
//! service's sender sends it. The message's words are the prompts of
//! `IVR_LANGUAGE` (an operator's copy in `IVR_PROMPTS_DIR`), and "today" is
//! `IVR_TIMEZONE`'s, as for `serve`.

use super::agenda::{self, AgendaView, Changed, MAX_DAYS};
use crate::config::{AgentSchedule, DatabaseArgs};
use crate::store::now_ms;
use clap::{Args, Subcommand};
use ivr_core::agenda::Day;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct VisitsArgs {
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The store the service uses.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The language of the client's messages (the prompts' file).
    #[arg(long, env = "IVR_LANGUAGE", default_value = "pt-BR", global = true)]
    pub language: String,
    /// A folder with an operator's copy of the prompts (`<language>.toml`).
    #[arg(long, env = "IVR_PROMPTS_DIR", global = true)]
    pub prompts_dir: Option<PathBuf>,
    /// The time zone whose "today" starts the list.
    #[arg(long, env = "IVR_TIMEZONE", global = true)]
    pub timezone: Option<String>,
    #[command(subcommand)]
    pub command: VisitsCommand,
}

#[derive(Debug, Subcommand)]
pub enum VisitsCommand {
    /// The agenda: each period's visits against its capacity, each visit, and
    /// the requests with a port reserved and no visit yet.
    List {
        /// First day (YYYY-MM-DD); default today.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD); default 13 days after the first.
        #[arg(long)]
        to: Option<String>,
    },
    /// Move a visit to another day and period (the client is told).
    Move {
        protocol: String,
        /// The day, YYYY-MM-DD.
        day: String,
        /// manha (morning) or tarde (afternoon).
        period: String,
    },
    /// Cancel a visit (the client is told); `--for-good` also releases the
    /// reservation.
    Cancel {
        protocol: String,
        #[arg(long)]
        for_good: bool,
    },
    /// Mark a visit done: the technician installed the client.
    Done { protocol: String },
    /// Send a visit whose booking the ERP refused (a dead letter) to the ERP
    /// again, after fixing what it said.
    Retry { protocol: String },
}

/// A day given on the command line.
fn day(raw: &str) -> anyhow::Result<Day> {
    Day::parse(raw.trim())
        .ok_or_else(|| anyhow::anyhow!("{:?} is not a day: write it YYYY-MM-DD", raw.trim()))
}

/// The range of a list: `from` (default today) to `to` (default 13 days on),
/// at most [`MAX_DAYS`] days, `to` not before `from`.
pub(crate) fn range(
    today: Day,
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<(Day, Day)> {
    let from = from.map(day).transpose()?.unwrap_or(today);
    let to = to.map(day).transpose()?.unwrap_or(from.plus(13));
    let span = to.days_since_epoch() - from.days_since_epoch();
    if span < 0 {
        anyhow::bail!("--to {to} is before --from {from}");
    }
    if span > MAX_DAYS {
        anyhow::bail!("at most {MAX_DAYS} days at a time");
    }
    Ok((from, to))
}

fn table(a: &AgendaView) -> String {
    let mut out = format!("AGENDA {} .. {}\n", a.from, a.to);
    out.push_str(&format!(
        "{:<10}  {:<9}  {:>6}\n",
        "DAY", "PERIOD", "BOOKED"
    ));
    for p in a
        .periods
        .iter()
        .filter(|p| p.booked > 0 || p.capacity.is_some())
    {
        let cap = p.capacity.map_or("?".to_string(), |c| c.to_string());
        out.push_str(&format!(
            "{:<10}  {:<9}  {:>6}\n",
            p.day,
            p.period,
            format!("{}/{cap}", p.booked)
        ));
    }
    out.push_str(&format!(
        "\n{:<16}  {:<10}  {:<9}  {:<9}  {:<16}  {:>4}  {:<8}  {:<8}  {}\n",
        "PROTOCOL", "DAY", "PERIOD", "STATUS", "BOX", "PORT", "PHONE", "ERP", "LAST ERROR"
    ));
    for v in &a.visits {
        out.push_str(&format!(
            "{:<16}  {:<10}  {:<9}  {:<9}  {:<16}  {:>4}  {:<8}  {:<8}  {}\n",
            v.protocol,
            v.day,
            v.period,
            v.status,
            v.box_name.as_deref().unwrap_or("-"),
            v.port.map_or("-".to_string(), |p| p.to_string()),
            v.phone,
            v.erp_status,
            v.last_error.as_deref().unwrap_or("")
        ));
    }
    if a.visits.is_empty() {
        out.push_str("(no visits)\n");
    }
    out.push_str("\nRESERVED, NO VISIT YET (call them)\n");
    for w in &a.waiting {
        out.push_str(&format!(
            "{:<16}  {:<16}  {:>4}  {}\n",
            w.protocol.as_deref().unwrap_or("-"),
            w.box_name.as_deref().unwrap_or("-"),
            w.port.map_or("-".to_string(), |p| p.to_string()),
            w.phone
        ));
    }
    if a.waiting.is_empty() {
        out.push_str("(none)\n");
    }
    out
}

fn said(what: &str, c: &Changed) -> String {
    let v = &c.visit;
    let mut out = format!(
        "visit {} {what}: {} {} ({})\n",
        v.protocol, v.day, v.period, v.status
    );
    if c.told {
        out.push_str(&format!("the client is told by {}\n", v.channel));
    }
    if let Some(r) = &c.release {
        out.push_str(&format!(
            "to release: property {} of reservation {} ({})\n",
            r.property_id, r.reservation_id, r.state
        ));
    }
    if let Some(i) = &c.implant {
        out.push_str(&format!(
            "to mark implanted: property {} of reservation {} ({})\n",
            i.property_id, i.reservation_id, i.state
        ));
    }
    out
}

/// Runs one `visits` command and returns what to print.
pub async fn run(args: VisitsArgs) -> anyhow::Result<String> {
    let schedule = AgentSchedule::new(None, args.timezone.clone())?;
    let store = args.database.check()?.connect().await?;
    let now = now_ms();
    let prompts = || crate::config::load_prompts(&args.language, args.prompts_dir.as_deref());
    let today = Day::of(&schedule.local(u64::try_from(now).unwrap_or(0)));
    let changed = match &args.command {
        VisitsCommand::List { from, to } => {
            let (from, to) = range(today, from.as_deref(), to.as_deref())?;
            let a = agenda::agenda(&store, from, to, None).await?;
            return Ok(if args.json {
                serde_json::to_string_pretty(&a)? + "\n"
            } else {
                table(&a)
            });
        }
        VisitsCommand::Move {
            protocol,
            day,
            period,
        } => {
            let to = agenda::parse_slot(day, period).map_err(anyhow::Error::msg)?;
            let at = (today, now);
            let c = agenda::move_visit(&store, &prompts()?, protocol.trim(), to, None, at).await?;
            ("moved", c)
        }
        VisitsCommand::Cancel { protocol, for_good } => {
            let c =
                agenda::cancel_visit(&store, &prompts()?, protocol.trim(), *for_good, now).await?;
            ("cancelled", c)
        }
        VisitsCommand::Done { protocol } => (
            "done",
            agenda::mark_done(&store, protocol.trim(), now).await?,
        ),
        VisitsCommand::Retry { protocol } => (
            "sent to the ERP again",
            agenda::retry_erp(&store, protocol.trim(), now).await?,
        ),
    };
    Ok(if args.json {
        serde_json::to_string_pretty(&changed.1)? + "\n"
    } else {
        said(changed.0, &changed.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_runs_from_today_for_two_weeks_and_a_bad_range_is_refused() {
        let today = Day::parse("2026-12-07").unwrap();
        let (f, t) = range(today, None, None).unwrap();
        assert_eq!(
            (f.to_string(), t.to_string()),
            ("2026-12-07".into(), "2026-12-20".into())
        );
        let (f, t) = range(today, Some("2026-12-10"), Some("2026-12-10")).unwrap();
        assert_eq!(f, t);
        assert!(range(today, Some("2026-12-10"), Some("2026-12-09")).is_err());
        assert!(range(today, Some("2026-01-01"), Some("2026-12-31")).is_err());
        assert!(
            range(today, Some("amanhã"), None)
                .unwrap_err()
                .to_string()
                .contains("YYYY-MM-DD")
        );
    }
}
