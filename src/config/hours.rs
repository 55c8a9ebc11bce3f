//! When a person answers: `IVR_AGENT_HOURS` on the clock of `IVR_TIMEZONE`.
//!
//! The rules (the syntax, the holidays, the spoken form) are
//! [`ivr_core::hours`]; this is the adapter that turns the service's clock, in
//! milliseconds since the Unix epoch, into the agents' local time. The time zone
//! database is compiled in (jiff's bundled IANA copy), so the answer is the same
//! on a machine without `/usr/share/zoneinfo`.

use super::{ConfigError, err, non_empty};
use ivr_core::hours::{AgentHours, LocalTime};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `IVR_TIMEZONE` when unset: the agents' clock is São Paulo's (Brasília time).
pub(crate) const DEFAULT_TIMEZONE: &str = "America/Sao_Paulo";

/// The agents' hours in their time zone. Without hours, always open.
#[derive(Clone, Debug)]
pub(crate) struct AgentSchedule {
    hours: Option<AgentHours>,
    tz: TimeZone,
    tz_name: String,
}
impl AgentSchedule {
    /// Checks `IVR_AGENT_HOURS` and `IVR_TIMEZONE` (blank is unset); the error
    /// names the variable.
    pub(crate) fn new(hours: Option<String>, tz: Option<String>) -> Result<Self, ConfigError> {
        let hours = non_empty(hours)
            .map(|h| AgentHours::parse(&h))
            .transpose()
            .map_err(|e| err("IVR_AGENT_HOURS", e))?;
        let name = non_empty(tz).unwrap_or_else(|| DEFAULT_TIMEZONE.to_string());
        let tz = jiff::tz::db().get(&name).map_err(|_| {
            err(
                "IVR_TIMEZONE",
                format!(
                    "\"{name}\" is not in the IANA time zone database \
                     (e.g. {DEFAULT_TIMEZONE}, America/Manaus, America/Noronha)"
                ),
            )
        })?;
        // The database's spelling (the lookup ignores case).
        let tz_name = tz.iana_name().unwrap_or(&name).to_string();
        Ok(Self { hours, tz, tz_name })
    }

    /// The agents' local time at `now_ms` (milliseconds since the Unix epoch).
    pub(crate) fn local(&self, now_ms: u64) -> LocalTime {
        let ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX);
        let dt = self.tz.to_datetime(ts);
        // jiff's ranges: month 1..=12, day 1..=31, hour 0..=23, minute 0..=59,
        // weekday 0..=6 from Monday; the year is -9999..=9999.
        LocalTime {
            year: i32::from(dt.year()),
            month: dt.month().unsigned_abs(),
            day: dt.day().unsigned_abs(),
            weekday: dt.weekday().to_monday_zero_offset().unsigned_abs(),
            minute: u16::from(dt.hour().unsigned_abs()) * 60
                + u16::from(dt.minute().unsigned_abs()),
        }
    }

    /// Whether a person answers at `now_ms`: always, when no hours are set.
    pub(crate) fn open_at(&self, now_ms: u64) -> bool {
        self.hours
            .as_ref()
            .is_none_or(|h| h.is_open(&self.local(now_ms)))
    }

    /// The hours as a fragment for the voice in the call's language (`en…`:
    /// English, else pt-BR); `None` when no hours are set.
    pub(crate) fn spoken(&self, language: &str) -> Option<String> {
        let hours = self.hours.as_ref()?;
        let english = language
            .get(..2)
            .is_some_and(|l| l.eq_ignore_ascii_case("en"));
        Some(if english {
            hours.spoken_en()
        } else {
            hours.spoken_pt()
        })
    }

    /// The local date at `now_ms` as `YYYYMMDD` (a protocol number's prefix).
    pub(crate) fn today(&self, now_ms: u64) -> String {
        let t = self.local(now_ms);
        format!("{:04}{:02}{:02}", t.year, t.month, t.day)
    }

    /// The local midnight that starts the day of `now_ms` (the console's "today").
    pub(crate) fn start_of_day_ms(&self, now_ms: i64) -> i64 {
        let fallback = now_ms - now_ms.rem_euclid(86_400_000);
        Timestamp::from_millisecond(now_ms)
            .ok()
            .and_then(|ts| ts.to_zoned(self.tz.clone()).start_of_day().ok())
            .map_or(fallback, |z| z.timestamp().as_millisecond())
    }

    /// The local hour (0–23) at `at_ms`.
    pub(crate) fn hour_at(&self, at_ms: i64) -> usize {
        usize::from(self.local(u64::try_from(at_ms).unwrap_or(0)).minute / 60)
    }

    /// The hours, when set.
    pub(crate) fn hours(&self) -> Option<&AgentHours> {
        self.hours.as_ref()
    }

    /// The time zone's IANA name (`America/Sao_Paulo`).
    pub(crate) fn tz_name(&self) -> &str {
        &self.tz_name
    }
}
