//! The hours as said to a caller, in pt-BR and in English.

use super::DAY;

const NAMES_PT: [&str; 7] = [
    "segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo",
];
const NAMES_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A day set as said: every day, runs of three or more days, or single days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DayItem {
    All,
    One(usize),
    /// From, to (inclusive; may wrap past Sunday).
    Run(usize, usize),
}

/// The days of a bit set as items, in week order from the first run's start
/// (Monday first); a run across Sunday stays one run (`sex-seg`).
pub(super) fn day_items(days: u8) -> Vec<DayItem> {
    let days = days & 0x7f;
    if days == 0x7f {
        return vec![DayItem::All];
    }
    let has = |d: usize| days & (1 << (d % 7)) != 0;
    let mut items = Vec::new();
    for start in (0..7).filter(|&d| has(d) && !has(d + 6)) {
        let mut len = 1;
        while has(start + len) {
            len += 1;
        }
        if len >= 3 {
            items.push(DayItem::Run(start, (start + len - 1) % 7));
        } else {
            items.extend((0..len).map(|i| DayItem::One((start + i) % 7)));
        }
    }
    items
}

/// `a, b e c` (pt) or `a, b and c` (en): `sep` between, `last` before the last.
pub(super) fn join(parts: &[String], sep: &str, last: &str) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., end] => format!("{}{last}{end}", init.join(sep)),
    }
}

/// "de segunda a sexta", "às segundas, quartas e aos sábados", "todos os dias".
pub(super) fn days_pt(days: u8) -> String {
    let feminine = |d: usize| d < 5;
    let mut parts = Vec::new();
    // The previous single day: its article is shared ("às segundas, quartas").
    let mut previous: Option<usize> = None;
    for item in day_items(days) {
        let part = match item {
            DayItem::All => "todos os dias".to_string(),
            DayItem::Run(a, b) => format!("de {} a {}", NAMES_PT[a], NAMES_PT[b]),
            DayItem::One(d) => {
                let plural = format!("{}s", NAMES_PT[d]);
                match (
                    previous.is_some_and(|p| feminine(p) == feminine(d)),
                    feminine(d),
                ) {
                    (true, _) => plural,
                    (false, true) => format!("às {plural}"),
                    (false, false) => format!("aos {plural}"),
                }
            }
        };
        previous = match item {
            DayItem::One(d) => Some(d),
            _ => None,
        };
        parts.push(part);
    }
    join(&parts, ", ", " e ")
}

/// "das 8 às 12 e das 14 e 30 às 18 horas", or "24 horas".
pub(super) fn ranges_pt(ranges: &[(u16, u16)]) -> String {
    if ranges == [(0, DAY)] {
        return "24 horas".into();
    }
    let clock = |m: u16| match m % 60 {
        0 => format!("{}", m / 60),
        min => format!("{} e {min}", m / 60),
    };
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(from, to)| {
            let da = if from / 60 == 1 { "da" } else { "das" };
            let a = if to / 60 == 1 { "à" } else { "às" };
            format!("{da} {} {a} {}", clock(from), clock(to))
        })
        .collect();
    let unit = match ranges.last() {
        Some(&(_, 60)) => "hora",
        _ => "horas",
    };
    format!("{} {unit}", join(&parts, ", ", " e "))
}

/// "Monday to Friday", "Monday, Wednesday and Saturday", "every day".
pub(super) fn days_en(days: u8) -> String {
    let parts: Vec<String> = day_items(days)
        .into_iter()
        .map(|item| match item {
            DayItem::All => "every day".to_string(),
            DayItem::One(d) => NAMES_EN[d].to_string(),
            DayItem::Run(a, b) => format!("{} to {}", NAMES_EN[a], NAMES_EN[b]),
        })
        .collect();
    join(&parts, ", ", " and ")
}

/// "8 a.m. to noon and 2 p.m. to 6:30 p.m.", or "24 hours".
pub(super) fn ranges_en(ranges: &[(u16, u16)]) -> String {
    if ranges == [(0, DAY)] {
        return "24 hours".into();
    }
    let clock = |m: u16| {
        let (h, min) = (m / 60 % 24, m % 60);
        match (h, min) {
            (0, 0) => "midnight".to_string(),
            (12, 0) => "noon".to_string(),
            _ => {
                let suffix = if h < 12 { "a.m." } else { "p.m." };
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                match min {
                    0 => format!("{h12} {suffix}"),
                    _ => format!("{h12}:{min:02} {suffix}"),
                }
            }
        }
    };
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(from, to)| format!("{} to {}", clock(from), clock(to)))
        .collect();
    join(&parts, ", ", " and ")
}
