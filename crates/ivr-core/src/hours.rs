//! When a person can take the call: the agents' weekly hours
//! (`IVR_AGENT_HOURS`, e.g. `seg-sex 08:00-18:00; sab 08:00-12:00`), Brazil's
//! national holidays, and the hours said back to a caller.
//!
//! Pure: the local time is an argument ([`LocalTime`], built by the service
//! from the clock and `IVR_TIMEZONE`), so every answer is a function of its
//! inputs.
//!
//! The written form: rules separated by `;`, each `<days> <from>-<to>[, <from>-<to>…]`.
//! Days are pt-BR abbreviations (`seg ter qua qui sex sab dom`, accents optional,
//! full names too: `sábado`, `segunda-feira`) or English (`mon`..`sun`,
//! `monday`..`sunday`), any case; `seg-sex` is a range (it may wrap the week:
//! `dom-sab` is every day, `sex-seg` is Friday to Monday), `seg,qua,sex` a list,
//! and the two mix (`seg-qua,sex`). Times are `HH:MM` (or `8:00`, `08h00`, `8h`);
//! a range ends after it starts and within its day (`24:00` is allowed as an
//! end; a night shift is two rules, `22:00-24:00` and `00:00-06:00`). Rules
//! naming the same day add up. The spoken connectors read too: `seg a sex 8h às
//! 18h; sab e dom 9h às 12h`.

use std::fmt;

mod spoken;
#[cfg(test)]
mod tests;

use spoken::{DayItem, day_items, days_en, days_pt, join, ranges_en, ranges_pt};

/// A moment as the clock on the agents' wall shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1 = January .. 12 = December.
    pub month: u8,
    /// 1 .. 31.
    pub day: u8,
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// Minutes since local midnight (0 .. 1439).
    pub minute: u16,
}

/// Minutes in a day: the one end that is not a start (`24:00`).
const DAY: u16 = 24 * 60;

/// The agents' weekly hours, normalised: per weekday (Monday first) the open
/// ranges `[from, to)` in minutes, sorted, with overlapping or touching ranges
/// merged. At least one day has a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentHours {
    week: [Vec<(u16, u16)>; 7],
}

/// Canonical abbreviations, Monday first (the [`fmt::Display`] form).
const ABBREV_PT: [&str; 7] = ["seg", "ter", "qua", "qui", "sex", "sab", "dom"];
/// Every accepted day name (lower case, accents removed, `-feira` dropped).
const DAY_NAMES: &[(&str, u8)] = &[
    ("seg", 0),
    ("segunda", 0),
    ("ter", 1),
    ("terca", 1),
    ("qua", 2),
    ("quarta", 2),
    ("qui", 3),
    ("quinta", 3),
    ("sex", 4),
    ("sexta", 4),
    ("sab", 5),
    ("sabado", 5),
    ("dom", 6),
    ("domingo", 6),
    ("mon", 0),
    ("monday", 0),
    ("tue", 1),
    ("tues", 1),
    ("tuesday", 1),
    ("wed", 2),
    ("wednesday", 2),
    ("thu", 3),
    ("thur", 3),
    ("thurs", 3),
    ("thursday", 3),
    ("fri", 4),
    ("friday", 4),
    ("sat", 5),
    ("saturday", 5),
    ("sun", 6),
    ("sunday", 6),
];

impl AgentHours {
    /// Reads the written form (see the module docs). An error says what is
    /// wrong and quotes the rule it is in.
    pub fn parse(raw: &str) -> Result<AgentHours, String> {
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        let mut any_rule = false;
        for rule in raw.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            any_rule = true;
            let (days, ranges) = parse_rule(rule).map_err(|e| format!("in \"{rule}\": {e}"))?;
            for (d, day) in week.iter_mut().enumerate() {
                if days & (1 << d) != 0 {
                    day.extend_from_slice(&ranges);
                }
            }
        }
        if !any_rule {
            return Err("no rules: write e.g. \"seg-sex 08:00-18:00; sab 08:00-12:00\"".into());
        }
        for day in &mut week {
            *day = merged(std::mem::take(day));
        }
        Ok(AgentHours { week })
    }

    /// Whether a person answers at `t`: inside a range of its weekday, and not
    /// a national holiday ([`is_national_holiday`]).
    pub fn is_open(&self, t: &LocalTime) -> bool {
        let Some(ranges) = self.week.get(usize::from(t.weekday)) else {
            return false;
        };
        ranges
            .iter()
            .any(|&(from, to)| from <= t.minute && t.minute < to)
            && !is_national_holiday(t.year, t.month, t.day)
    }

    /// The open ranges of a weekday (0 = Monday), in minutes `[from, to)`.
    pub fn day(&self, weekday: u8) -> &[(u16, u16)] {
        self.week
            .get(usize::from(weekday))
            .map_or(&[], Vec::as_slice)
    }

    /// The hours as a pt-BR fragment for the voice, e.g. "de segunda a sexta,
    /// das 8 às 18 horas, e aos sábados, das 8 às 12 horas".
    pub fn spoken_pt(&self) -> String {
        let parts: Vec<String> = self
            .groups()
            .iter()
            .map(|(days, ranges)| format!("{}, {}", days_pt(*days), ranges_pt(ranges)))
            .collect();
        join(&parts, ", ", ", e ")
    }

    /// The hours in English for the voice, e.g. "Monday to Friday, 8 a.m. to
    /// 6 p.m.; Saturday, 8 a.m. to noon".
    pub fn spoken_en(&self) -> String {
        let parts: Vec<String> = self
            .groups()
            .iter()
            .map(|(days, ranges)| format!("{}, {}", days_en(*days), ranges_en(ranges)))
            .collect();
        parts.join("; ")
    }

    /// Days sharing the same ranges, as a bit set (bit 0 = Monday), in the
    /// order of their first day, Monday first.
    fn groups(&self) -> Vec<(u8, &[(u16, u16)])> {
        let mut groups: Vec<(u8, &[(u16, u16)])> = Vec::new();
        for (d, ranges) in self.week.iter().enumerate() {
            if ranges.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(_, r)| *r == ranges.as_slice()) {
                Some((days, _)) => *days |= 1 << d,
                None => groups.push((1 << d, ranges)),
            }
        }
        groups
    }
}

/// The canonical written form (`seg-sex 08:00-18:00; sab 08:00-12:00`), which
/// [`AgentHours::parse`] reads back to the same hours.
impl fmt::Display for AgentHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (days, ranges)) in self.groups().iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            let days: Vec<String> = day_items(*days)
                .into_iter()
                .map(|item| match item {
                    DayItem::One(d) => ABBREV_PT[d].to_string(),
                    DayItem::Run(a, b) => format!("{}-{}", ABBREV_PT[a], ABBREV_PT[b]),
                    DayItem::All => "seg-dom".to_string(),
                })
                .collect();
            let ranges: Vec<String> = ranges
                .iter()
                .map(|&(a, b)| format!("{}-{}", hhmm(a), hhmm(b)))
                .collect();
            write!(f, "{} {}", days.join(","), ranges.join(", "))?;
        }
        Ok(())
    }
}

/// One rule: its days (bit set) and its ranges.
fn parse_rule(rule: &str) -> Result<(u8, Vec<(u16, u16)>), String> {
    let rule = normalise(rule);
    let Some(split) = rule.find(|c: char| c.is_ascii_digit()) else {
        return Err("no hours: write the days, then e.g. 08:00-18:00".into());
    };
    let (days, times) = rule.split_at(split);
    let days = days.trim().trim_end_matches(':').trim();
    if days.is_empty() {
        return Err("no days before the hours: start with e.g. seg-sex".into());
    }
    Ok((parse_days(days)?, parse_ranges(times)?))
}

/// Lower case, pt-BR accents removed, single spaces, the spoken connectors as
/// the written ones ("seg a sex" is `seg-sex`, "sab e dom" `sab,dom`, "8h às
/// 18h" `8h-18h`), and `-feira` dropped (`segunda-feira` is `segunda`).
fn normalise(rule: &str) -> String {
    let folded = fold(rule);
    let spaced = format!(
        " {} ",
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let mut s = spaced.replace("-feira", "");
    for (word, symbol) in [
        (" a ", "-"),
        (" as ", "-"),
        (" to ", "-"),
        (" e ", ","),
        (" and ", ","),
    ] {
        s = s.replace(word, symbol);
    }
    s.trim().to_string()
}

/// Weekdays written as in `IVR_AGENT_HOURS` ("seg-sab", "seg a sex, sab",
/// "mon-fri"), Monday first.
pub fn parse_weekdays(raw: &str) -> Result<[bool; 7], String> {
    let days = normalise(raw);
    let days = days.trim();
    if days.is_empty() {
        return Err("no days: write e.g. seg-sab".into());
    }
    let bits = parse_days(days)?;
    Ok(std::array::from_fn(|d| bits & (1 << d) != 0))
}

fn parse_days(raw: &str) -> Result<u8, String> {
    let mut days = 0u8;
    for item in raw.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("an empty day in \"{raw}\""));
        }
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_number(a.trim())?, day_number(b.trim())?);
                let mut d = a;
                loop {
                    days |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days |= 1 << day_number(item)?,
        }
    }
    Ok(days)
}

fn day_number(name: &str) -> Result<u8, String> {
    DAY_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, d)| d)
        .ok_or_else(|| {
            format!("\"{name}\" is not a day (seg ter qua qui sex sab dom, or mon..sun)")
        })
}

/// Lower case, pt-BR accents removed.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

fn parse_ranges(raw: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut ranges = Vec::new();
    for item in raw.split(',').map(str::trim) {
        let Some((a, b)) = item.split_once('-') else {
            return Err(format!(
                "\"{item}\" is not a range of hours (e.g. 08:00-18:00)"
            ));
        };
        let (from, to) = (parse_time(a.trim())?, parse_time(b.trim())?);
        if from == DAY {
            return Err(format!("\"{item}\" starts at 24:00 (24:00 is only an end)"));
        }
        if to <= from {
            return Err(format!(
                "\"{item}\" does not end after it starts (a range cannot cross midnight: \
                 write 22:00-24:00 for one day and 00:00-06:00 for the next)"
            ));
        }
        ranges.push((from, to));
    }
    Ok(ranges)
}

/// `HH:MM`, `H:MM`, `HHhMM`, `HHh` → minutes since midnight; `24:00` is 1440.
fn parse_time(raw: &str) -> Result<u16, String> {
    let bad = || format!("\"{raw}\" is not a time (HH:MM, 00:00 to 24:00)");
    let (h, m) = match raw.split_once([':', 'h', 'H']) {
        Some((h, "")) if raw.ends_with(['h', 'H']) => (h, "00"),
        Some((h, m)) => (h, m),
        None => return Err(bad()),
    };
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().ok())
            .flatten()
    };
    let (Some(h), Some(m)) = (digits(h, 1..=2), digits(m, 2..=2)) else {
        return Err(bad());
    };
    match (h, m) {
        (24, 0) => Ok(DAY),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// Sorted, with overlapping or touching ranges joined.
fn merged(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Whether Brazil's calendar closes a call centre that day: the national
/// holidays (Lei 662/1949 with Lei 10.607/2002, Lei 6.802/1980, Lei
/// 14.759/2023; Good Friday under Lei 9.093/1995) and the movable days from
/// Easter. See [`national_holiday`] for the list.
pub fn is_national_holiday(year: i32, month: u8, day: u8) -> bool {
    national_holiday(year, month, day).is_some()
}

/// The national holiday on that date, by its pt-BR name, if any.
///
/// Fixed: 1 January (Confraternização Universal), 21 April (Tiradentes),
/// 1 May (Dia do Trabalho), 7 September (Independência), 12 October (Nossa
/// Senhora Aparecida), 2 November (Finados), 15 November (Proclamação da
/// República), 20 November (Consciência Negra, national since 2024, Lei
/// 14.759/2023; earlier years only where a state or city made it one), and
/// 25 December (Natal).
///
/// Movable, from Easter Sunday ([`easter_sunday`]): Carnival Monday and
/// Tuesday (Easter − 48 and − 47), Good Friday (Sexta-feira Santa, Easter − 2)
/// and Corpus Christi (Easter + 60). Carnival and Corpus Christi are legally a
/// "ponto facultativo" (an optional day off, declared each year by the federal
/// government) rather than a holiday, but call centres close on them, so they
/// count as closed here. Ash Wednesday (a ponto facultativo until 14:00), the
/// afternoons of 24 and 31 December and state or city holidays are not included.
pub fn national_holiday(year: i32, month: u8, day: u8) -> Option<&'static str> {
    let fixed = match (month, day) {
        (1, 1) => Some("Confraternização Universal"),
        (4, 21) => Some("Tiradentes"),
        (5, 1) => Some("Dia do Trabalho"),
        (9, 7) => Some("Independência do Brasil"),
        (10, 12) => Some("Nossa Senhora Aparecida"),
        (11, 2) => Some("Finados"),
        (11, 15) => Some("Proclamação da República"),
        (11, 20) if year >= 2024 => Some("Dia Nacional de Zumbi e da Consciência Negra"),
        (12, 25) => Some("Natal"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let (em, ed) = easter_sunday(year);
    let from_easter = ordinal(year, month, day)? - ordinal(year, em, ed)?;
    match from_easter {
        -48 => Some("Carnaval (segunda-feira)"),
        -47 => Some("Carnaval (terça-feira)"),
        -2 => Some("Sexta-feira Santa"),
        60 => Some("Corpus Christi"),
        _ => None,
    }
}

/// Easter Sunday of a Gregorian year, as (month, day): the anonymous
/// Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> (u8, u8) {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    // month is 3 or 4 and day 1..=31 by construction.
    (month as u8, day as u8)
}

/// Day of the year (1 = 1 January), or `None` for a date that does not exist.
fn ordinal(year: i32, month: u8, day: u8) -> Option<i32> {
    const DAYS: [u8; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let m = usize::from(month).checked_sub(1).filter(|&m| m < 12)?;
    let len = DAYS[m] + u8::from(leap && m == 1);
    if day == 0 || day > len {
        return None;
    }
    let before: i32 = DAYS[..m].iter().map(|&d| i32::from(d)).sum();
    Some(before + i32::from(leap && m > 1) + i32::from(day))
}
