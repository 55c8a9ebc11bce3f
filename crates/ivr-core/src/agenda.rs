//! The technician's visit: days, periods, and the slots a caller is offered.
//!
//! Pure, like [`crate::hours`]: the local date is an argument. A [`Slot`] is a
//! day and a [`Period`] (morning or afternoon); its stored form is
//! `YYYY-MM-DD/morning`. [`AgendaRules`] are the service's own agenda
//! (`SCHEDULE=builtin`): which weekdays and periods take visits, how many per
//! period, how many days ahead the first one may be; Brazil's national
//! holidays are closed ([`crate::hours::is_national_holiday`], the same
//! calendar as the agents' hours). [`AgendaRules::periods_from`] lists the
//! periods that could take a visit; which of them still have room is the
//! store's to say.

pub mod spoken;

use crate::hours::{LocalTime, is_national_holiday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Half a working day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Morning,
    Afternoon,
}

impl Period {
    pub const ALL: [Period; 2] = [Period::Morning, Period::Afternoon];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Morning => "morning",
            Period::Afternoon => "afternoon",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        match s.trim().to_ascii_lowercase().as_str() {
            "morning" | "manha" | "manhã" | "m" => Some(Period::Morning),
            "afternoon" | "tarde" | "t" => Some(Period::Afternoon),
            _ => None,
        }
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    pub year: i32,
    /// 1 ..= 12.
    pub month: u8,
    /// 1 ..= 31.
    pub day: u8,
}

impl Day {
    /// A date that exists, or `None`.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Day> {
        let d = Day { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(d)
    }

    /// The local date of a moment.
    pub fn of(t: &LocalTime) -> Day {
        Day {
            year: t.year,
            month: t.month,
            day: t.day,
        }
    }

    /// `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Day> {
        let mut it = s.trim().splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        Day::new(y, m, d)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after the epoch.
    pub fn from_days_since_epoch(days: i64) -> Day {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Day { year, month, day }
    }

    /// The date `n` days later.
    pub fn plus(self, n: i64) -> Day {
        Day::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// 0 = Monday .. 6 = Sunday.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        (self.days_since_epoch() + 3).rem_euclid(7) as u8
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    const DAYS: [u8; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        1..=12 => DAYS[usize::from(month - 1)],
        _ => 0,
    }
}

/// One period of one day: what a visit is booked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub day: Day,
    pub period: Period,
}

impl Slot {
    /// The stored form, `YYYY-MM-DD/morning`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.day, self.period.as_str())
    }

    pub fn parse(s: &str) -> Option<Slot> {
        let (day, period) = s.split_once('/')?;
        Some(Slot {
            day: Day::parse(day)?,
            period: Period::parse(period)?,
        })
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for Slot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slot::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a slot: {s:?}")))
    }
}

/// The service's own agenda (`SCHEDULE=builtin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaRules {
    /// The periods that take visits, in the day's order.
    pub periods: Vec<Period>,
    /// Visits per period (technicians × visits each).
    pub per_period: u32,
    /// Weekdays that take visits, Monday first.
    pub working_days: [bool; 7],
    /// Whole days between the call and the first visit (1: from tomorrow).
    pub lead_days: u32,
    /// How far ahead visits are offered, in days.
    pub horizon_days: u32,
}

impl Default for AgendaRules {
    fn default() -> Self {
        AgendaRules {
            periods: Period::ALL.to_vec(),
            per_period: 4,
            working_days: [true, true, true, true, true, true, false],
            lead_days: 1,
            horizon_days: 14,
        }
    }
}

impl AgendaRules {
    /// Whether `day` takes visits: a working weekday and not a national holiday.
    pub fn is_working_day(&self, day: Day) -> bool {
        self.working_days[usize::from(day.weekday())]
            && !is_national_holiday(day.year, day.month, day.day)
    }

    /// Every period that could take a visit, from the first day the lead time
    /// allows after `today` up to the horizon, in order.
    pub fn periods_from(&self, today: Day) -> Vec<Slot> {
        let first = i64::from(self.lead_days);
        let last = i64::from(self.horizon_days);
        (first..=last.max(first))
            .map(|n| today.plus(n))
            .filter(|d| self.is_working_day(*d))
            .flat_map(|day| self.periods.iter().map(move |&period| Slot { day, period }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_days_since_epoch() {
        for n in -800_000..800_000 {
            if n % 97 != 0 {
                continue;
            }
            let d = Day::from_days_since_epoch(n);
            assert_eq!(d.days_since_epoch(), n, "{d}");
            assert!(Day::new(d.year, d.month, d.day).is_some(), "{d}");
        }
        assert_eq!(Day::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Day::new(2026, 12, 10).unwrap().weekday(), 3, "a Thursday");
        assert_eq!(
            Day::new(2024, 2, 29).unwrap().plus(1).to_string(),
            "2024-03-01"
        );
        assert!(Day::new(2025, 2, 29).is_none());
    }

    #[test]
    fn slots_have_a_stored_form() {
        let s = Slot::parse("2026-12-10/morning").unwrap();
        assert_eq!(s.period, Period::Morning);
        assert_eq!(s.key(), "2026-12-10/morning");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"2026-12-10/morning\"");
        assert!(Slot::parse("2026-13-10/morning").is_none());
        assert!(Slot::parse("2026-12-10/night").is_none());
    }

    #[test]
    fn the_builtin_agenda_skips_sundays_holidays_and_the_lead_time() {
        let rules = AgendaRules::default();
        // Monday 2026-12-21: Christmas (Friday 25) and Sunday 27 are closed.
        let today = Day::new(2026, 12, 21).unwrap();
        let slots = rules.periods_from(today);
        assert_eq!(slots[0].key(), "2026-12-22/morning");
        assert_eq!(slots[1].key(), "2026-12-22/afternoon");
        let days: Vec<String> = slots.iter().map(|s| s.day.to_string()).collect();
        assert!(!days.iter().any(|d| d == "2026-12-21"), "not today");
        assert!(!days.iter().any(|d| d == "2026-12-25"), "Christmas");
        assert!(!days.iter().any(|d| d == "2026-12-27"), "a Sunday");
        assert!(days.iter().any(|d| d == "2026-12-26"), "a Saturday works");
        assert!(
            days.iter().all(|d| d.as_str() <= "2027-01-04"),
            "14 days at most"
        );
    }
}
