//! The agenda's check (`SCHEDULE`): an ERP's agenda (`http`, `ixc`) asked
//! once for its free periods near the point, over the window a caller would
//! be offered: a read (`GET /slots` of the contract; an IXC listing of
//! `su_oss_chamado`), nothing booked or changed. The built-in agenda and
//! `none` need no question.

use super::Line;
use crate::config::Config;
use crate::store::now_ms;
use crate::visits::{Agenda, AgendaError, ScheduleSettings, SlotQuery};
use ivr_core::agenda::Day;

const NAME: &str = "schedule";

pub(super) async fn schedule(cfg: &Config, near: Option<&str>) -> Line {
    let (kind, token_var) = match &cfg.visits.source {
        ScheduleSettings::None => {
            return Line::skip(
                NAME,
                "no visit offered (SCHEDULE=none): the team calls to schedule",
            );
        }
        ScheduleSettings::Builtin(rules) => {
            return Line::ok(
                NAME,
                format!(
                    "builtin: the service's own agenda, {} visit(s) per period (nothing to ask)",
                    rules.per_period
                ),
            );
        }
        ScheduleSettings::Http { token: None, .. } => {
            ("http", "SCHEDULE_URL (no SCHEDULE_TOKEN is set)")
        }
        ScheduleSettings::Http { .. } => ("http", "SCHEDULE_TOKEN"),
        ScheduleSettings::Ixc { .. } => ("ixc", "SCHEDULE_TOKEN (the IXC user:token)"),
    };
    let agenda = match Agenda::build(&cfg.visits.source) {
        Ok(a) => a,
        Err(e) => {
            return Line::fail(
                NAME,
                format!("{kind}: cannot be built: {e}: check SCHEDULE_URL"),
            );
        }
    };
    let (Some(erp), Ok((lat, lng, _))) = (agenda.erp(), super::probes::point(cfg, near)) else {
        return Line::fail(
            NAME,
            format!("{kind}: no point to ask about: pass --near LAT,LNG"),
        );
    };
    let now = u64::try_from(now_ms()).unwrap_or(0);
    let today = Day::of(&cfg.call.schedule.local(now));
    let Some((from, to)) = agenda.window(today) else {
        return Line::skip(NAME, format!("{kind}: no window to ask about"));
    };
    let query = SlotQuery {
        lat,
        lng,
        box_id: None,
        from,
        to,
    };
    match erp.free_slots(&query).await {
        Ok(slots) => match slots.first() {
            Some(first) => Line::ok(
                NAME,
                format!(
                    "{kind}: reachable, answered {} free period(s) from {from} to {to} (the first: {})",
                    slots.len(),
                    first.slot
                ),
            ),
            None => Line::ok(
                NAME,
                format!(
                    "{kind}: reachable, but no free period from {from} to {to}: callers are told \
                     the team will call to schedule"
                ),
            ),
        },
        Err(AgendaError::Refused(e)) => Line::fail(
            NAME,
            format!("{kind}: {e}: check {token_var} and SCHEDULE_URL"),
        ),
        Err(AgendaError::Unavailable(e)) => Line::fail(
            NAME,
            format!("{kind}: {e}: check SCHEDULE_URL and the network"),
        ),
    }
}
