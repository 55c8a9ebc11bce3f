//! The technician's agenda (`SCHEDULE`): the service's own (`builtin`, the
//! default), our HTTP contract (`http`), IXC Soft's service orders (`ixc`), or
//! none (`none`: no visit is offered; the team calls to schedule).

use super::{ConfigError, err, non_empty, outbound_url, within};
use crate::visits::ixc::IxcOrder;
use crate::visits::{ScheduleSettings, VisitSettings};
use clap::{Args, ValueEnum};
use ivr_core::agenda::{AgendaRules, Period};
use secrecy::SecretString;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleKind {
    /// The service's own agenda (periods, visits per period, working days).
    Builtin,
    /// The JSON contract of docs/schedule.md in front of any ERP.
    Http,
    /// IXC Soft's service orders with their agenda date and period.
    Ixc,
    /// No visit offered: the team calls to schedule (the call before visits).
    None,
}

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Technician's visit (the agenda offered after the reservation)")]
pub struct ScheduleArgs {
    /// builtin, http, ixc or none.
    #[arg(
        long,
        env = "SCHEDULE",
        value_enum,
        ignore_case = true,
        default_value = "builtin"
    )]
    pub schedule: ScheduleKind,
    /// builtin: the periods that take visits, `manha`, `tarde` or both.
    #[arg(long, env = "SCHEDULE_PERIODS", default_value = "manha,tarde")]
    pub schedule_periods: String,
    /// builtin: visits per period (technicians × visits each).
    #[arg(long, env = "SCHEDULE_VISITS_PER_PERIOD", default_value_t = 4)]
    pub schedule_visits_per_period: u32,
    /// builtin: the weekdays that take visits, as in IVR_AGENT_HOURS (`seg-sab`,
    /// `seg-sex`); national holidays are always closed.
    #[arg(long, env = "SCHEDULE_DAYS", default_value = "seg-sab")]
    pub schedule_days: String,
    /// Whole days between the call and the first visit (1: from tomorrow).
    #[arg(long, env = "SCHEDULE_LEAD_DAYS", default_value_t = 1)]
    pub schedule_lead_days: u32,
    /// How many days ahead visits are offered.
    #[arg(long, env = "SCHEDULE_HORIZON_DAYS", default_value_t = 14)]
    pub schedule_horizon_days: u32,
    /// http: the contract's base URL; ixc: the IXC server (before /webservice/v1).
    #[arg(long, env = "SCHEDULE_URL")]
    pub schedule_url: Option<String>,
    /// http: the bearer token (optional); ixc: `user:token`, sent as HTTP Basic. Secret.
    #[arg(long, env = "SCHEDULE_TOKEN", hide_env_values = true)]
    pub schedule_token: Option<String>,
    /// http, ixc: timeout of one request to the agenda.
    #[arg(long, env = "SCHEDULE_TIMEOUT_MS", default_value_t = 3_000)]
    pub schedule_timeout_ms: u64,
    /// ixc: the subject (`id_assunto`) of the installation's service orders.
    #[arg(long, env = "SCHEDULE_IXC_SUBJECT")]
    pub schedule_ixc_subject: Option<String>,
    /// ixc: the department (`setor`) the installation's orders go to.
    #[arg(long, env = "SCHEDULE_IXC_SECTOR", default_value = "1")]
    pub schedule_ixc_sector: String,
    /// ixc: the branch (`id_filial`) of the installation's orders.
    #[arg(long, env = "SCHEDULE_IXC_BRANCH", default_value = "1")]
    pub schedule_ixc_branch: String,
    /// How long the outcome SMS of a reservation waits for the caller's choice
    /// of a visit, so one message carries both.
    #[arg(long, env = "SCHEDULE_SMS_HOLD_S", default_value_t = 300)]
    pub schedule_sms_hold_s: u64,
}

/// `SCHEDULE_PERIODS`: `manha`, `tarde` (or morning, afternoon), comma-separated.
fn periods(raw: &str) -> Result<Vec<Period>, ConfigError> {
    let mut out = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let p = Period::parse(item).ok_or_else(|| {
            err(
                "SCHEDULE_PERIODS",
                format!("\"{item}\" is not a period (manha, tarde)"),
            )
        })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(err(
            "SCHEDULE_PERIODS",
            "no period: write manha, tarde or manha,tarde",
        ));
    }
    out.sort();
    Ok(out)
}

/// An IXC record id (`SCHEDULE_IXC_SECTOR`, `SCHEDULE_IXC_BRANCH`): digits.
fn ixc_id(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(var, format!("\"{id}\" is not an IXC id (digits)")));
    }
    Ok(id.to_string())
}

impl ScheduleArgs {
    pub(super) fn check(self) -> Result<VisitSettings, ConfigError> {
        let sms_hold = Duration::from_secs(within(
            "SCHEDULE_SMS_HOLD_S",
            self.schedule_sms_hold_s,
            0..=3_600,
            "must be between 0 and 3600 seconds",
        )?);
        let lead_days = within(
            "SCHEDULE_LEAD_DAYS",
            self.schedule_lead_days,
            0..=60,
            "must be between 0 and 60 days",
        )?;
        let horizon_days = within(
            "SCHEDULE_HORIZON_DAYS",
            self.schedule_horizon_days,
            1..=90,
            "must be between 1 and 90 days",
        )?;
        if horizon_days < lead_days {
            return Err(err(
                "SCHEDULE_HORIZON_DAYS",
                format!("must not be below SCHEDULE_LEAD_DAYS ({lead_days})"),
            ));
        }
        let timeout = Duration::from_millis(within(
            "SCHEDULE_TIMEOUT_MS",
            self.schedule_timeout_ms,
            // The caller's webhook waits on the question for free periods:
            // well under a platform's webhook timeout (15 s on Twilio).
            200..=10_000,
            "must be between 200 and 10000 milliseconds (the caller's webhook waits on it)",
        )?);
        let url = || {
            outbound_url("SCHEDULE_URL", self.schedule_url.clone())?
                .ok_or_else(|| err("SCHEDULE_URL", "must be set when SCHEDULE is http or ixc"))
        };
        let token = non_empty(self.schedule_token.clone()).map(SecretString::from);
        // The service's own agenda, and IXC's periods and capacity.
        let rules = || -> Result<AgendaRules, ConfigError> {
            let rules = AgendaRules {
                periods: periods(&self.schedule_periods)?,
                per_period: within(
                    "SCHEDULE_VISITS_PER_PERIOD",
                    self.schedule_visits_per_period,
                    1..=1_000,
                    "must be between 1 and 1000",
                )?,
                working_days: ivr_core::hours::parse_weekdays(&self.schedule_days)
                    .map_err(|e| err("SCHEDULE_DAYS", e))?,
                lead_days,
                horizon_days,
            };
            if !rules.working_days.iter().any(|d| *d) {
                return Err(err("SCHEDULE_DAYS", "no working day"));
            }
            Ok(rules)
        };
        let source = match self.schedule {
            ScheduleKind::None => ScheduleSettings::None,
            ScheduleKind::Builtin => ScheduleSettings::Builtin(rules()?),
            ScheduleKind::Http => ScheduleSettings::Http {
                url: url()?,
                token,
                timeout,
                lead_days,
                horizon_days,
            },
            ScheduleKind::Ixc => ScheduleSettings::Ixc {
                url: url()?,
                token: token.ok_or_else(|| {
                    err(
                        "SCHEDULE_TOKEN",
                        "must be set when SCHEDULE=ixc (the IXC user and token, user:token)",
                    )
                })?,
                order: IxcOrder {
                    subject: non_empty(self.schedule_ixc_subject.clone()).ok_or_else(|| {
                        err(
                            "SCHEDULE_IXC_SUBJECT",
                            "must be set when SCHEDULE=ixc (the id_assunto of installation orders)",
                        )
                    })?,
                    sector: ixc_id("SCHEDULE_IXC_SECTOR", &self.schedule_ixc_sector)?,
                    branch: ixc_id("SCHEDULE_IXC_BRANCH", &self.schedule_ixc_branch)?,
                },
                timeout,
                rules: rules()?,
            },
        };
        Ok(VisitSettings { source, sms_hold })
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_for_tests as parse;
    use super::*;

    #[test]
    fn the_default_is_the_builtin_agenda_and_the_call_offers_a_visit() {
        let c = parse(&[]).unwrap();
        let ScheduleSettings::Builtin(rules) = &c.visits.source else {
            panic!("{:?}", c.visits.source)
        };
        assert_eq!(*rules, AgendaRules::default());
        assert!(c.call.flow.visits);
        assert_eq!(c.visits.sms_hold, Duration::from_secs(300));
        let none = parse(&["--schedule=none"]).unwrap();
        assert!(matches!(none.visits.source, ScheduleSettings::None));
        assert!(!none.call.flow.visits);
    }

    #[test]
    fn builtin_rules_are_read_from_their_variables() {
        let c = parse(&[
            "--schedule-periods=tarde",
            "--schedule-visits-per-period=2",
            "--schedule-days=seg a sex",
            "--schedule-lead-days=2",
            "--schedule-horizon-days=7",
        ])
        .unwrap();
        let ScheduleSettings::Builtin(rules) = &c.visits.source else {
            panic!()
        };
        assert_eq!(rules.periods, [Period::Afternoon]);
        assert_eq!(rules.per_period, 2);
        assert_eq!(
            rules.working_days,
            [true, true, true, true, true, false, false]
        );
        assert_eq!((rules.lead_days, rules.horizon_days), (2, 7));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let var = |extra: &[&str]| parse(extra).expect_err("an error").var;
        assert_eq!(var(&["--schedule-periods=noite"]), "SCHEDULE_PERIODS");
        assert_eq!(var(&["--schedule-periods=,"]), "SCHEDULE_PERIODS");
        assert_eq!(var(&["--schedule-days=feriado"]), "SCHEDULE_DAYS");
        assert_eq!(
            var(&["--schedule-visits-per-period=0"]),
            "SCHEDULE_VISITS_PER_PERIOD"
        );
        assert_eq!(
            var(&["--schedule-lead-days=5", "--schedule-horizon-days=3"]),
            "SCHEDULE_HORIZON_DAYS"
        );
        assert_eq!(var(&["--schedule=http"]), "SCHEDULE_URL");
        assert_eq!(
            var(&["--schedule=http", "--schedule-url=http://erp.example"]),
            "SCHEDULE_URL"
        );
        assert_eq!(
            var(&["--schedule=ixc", "--schedule-url=https://ixc.example"]),
            "SCHEDULE_TOKEN"
        );
        assert_eq!(
            var(&[
                "--schedule=ixc",
                "--schedule-url=https://ixc.example",
                "--schedule-token=u:t"
            ]),
            "SCHEDULE_IXC_SUBJECT"
        );
        assert_eq!(var(&["--schedule-timeout-ms=10"]), "SCHEDULE_TIMEOUT_MS");
        assert_eq!(var(&["--schedule-timeout-ms=20000"]), "SCHEDULE_TIMEOUT_MS");
        assert_eq!(var(&["--schedule-sms-hold-s=99999"]), "SCHEDULE_SMS_HOLD_S");
    }

    #[test]
    fn http_and_ixc_are_read_into_their_settings() {
        let c = parse(&[
            "--schedule=ixc",
            "--schedule-url=https://ixc.example",
            "--schedule-token=u:t",
            "--schedule-ixc-subject=17",
            "--schedule-timeout-ms=2500",
        ])
        .unwrap();
        let ScheduleSettings::Ixc {
            order,
            timeout,
            rules,
            ..
        } = &c.visits.source
        else {
            panic!()
        };
        assert_eq!(order.subject, "17");
        assert_eq!((order.sector.as_str(), order.branch.as_str()), ("1", "1"));
        assert_eq!(rules.per_period, 4);
        assert_eq!(*timeout, Duration::from_millis(2500));
        assert!(c.call.flow.visits);
        let h = parse(&["--schedule=http", "--schedule-url=http://127.0.0.1:9/"]).unwrap();
        assert!(matches!(
            h.visits.source,
            ScheduleSettings::Http { token: None, .. }
        ));
    }
}
