//! The written form, its errors, the open/closed answer, the holidays and the
//! spoken hours.

use super::*;
use proptest::prelude::*;

fn hours(s: &str) -> AgentHours {
    AgentHours::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A time in 2026; `weekday` is that of the date (checked against a calendar).
fn at(month: u8, day: u8, weekday: u8, hh: u16, mm: u16) -> LocalTime {
    LocalTime {
        year: 2026,
        month,
        day,
        weekday,
        minute: hh * 60 + mm,
    }
}

// 2026-03-09 is a Monday, 2026-03-14 a Saturday, 2026-03-15 a Sunday.
const MON: (u8, u8, u8) = (3, 9, 0);
const WED: (u8, u8, u8) = (3, 11, 2);
const SAT: (u8, u8, u8) = (3, 14, 5);
const SUN: (u8, u8, u8) = (3, 15, 6);

fn on(d: (u8, u8, u8), hh: u16, mm: u16) -> LocalTime {
    at(d.0, d.1, d.2, hh, mm)
}

#[test]
fn the_issue_example_reads_as_two_rules() {
    let h = hours("seg-sex 08:00-18:00; sab 08:00-12:00");
    for d in 0..5 {
        assert_eq!(h.day(d), &[(480, 1080)]);
    }
    assert_eq!(h.day(5), &[(480, 720)]);
    assert_eq!(h.day(6), &[]);
    assert_eq!(h.to_string(), "seg-sex 08:00-18:00; sab 08:00-12:00");
}

#[test]
fn day_names_lists_ranges_and_case() {
    let same = [
        "seg,qua,sex 09:00-17:00",
        "SEG, QUA, SEX 9:00-17:00",
        "mon,wed,fri 09:00-17:00",
        "Monday, Wednesday, Friday 09h00-17h",
        "segunda-feira, quarta-feira e sexta-feira 9h às 17h",
    ];
    for s in same {
        assert_eq!(hours(s), hours(same[0]), "{s}");
    }
    assert_eq!(hours("sáb 08:00-12:00"), hours("sab 08:00-12:00"));
    assert_eq!(hours("Sábado 08:00-12:00"), hours("sat 08:00-12:00"));
    assert_eq!(hours("seg a sex 08:00-18:00"), hours("seg-sex 08:00-18:00"));
    assert_eq!(hours("mon-fri 08:00-18:00"), hours("seg-sex 08:00-18:00"));
    assert_eq!(
        hours("seg-qua,sex 08:00-18:00").to_string(),
        "seg-qua,sex 08:00-18:00"
    );
    assert_eq!(
        hours("ter - qui 08:00 - 18:00").to_string(),
        "ter-qui 08:00-18:00"
    );
    // A range may wrap the week: the Brazilian week starts on Sunday.
    assert_eq!(
        hours("dom-sab 08:00-18:00").to_string(),
        "seg-dom 08:00-18:00"
    );
    assert_eq!(
        hours("sex-seg 08:00-18:00").to_string(),
        "sex-seg 08:00-18:00"
    );
    assert_eq!(hours("qua-qua 08:00-18:00").to_string(), "qua 08:00-18:00");
}

#[test]
fn ranges_add_up_and_merge() {
    let h = hours("seg 08:00-12:00, 13:30-18:00; seg 17:00-19:00; ter 08:00-12:00, 12:00-18:00;");
    assert_eq!(h.day(0), &[(480, 720), (810, 1140)]);
    assert_eq!(h.day(1), &[(480, 1080)]);
    assert_eq!(hours("dom 00:00-24:00").day(6), &[(0, 1440)]);
}

#[test]
fn errors_say_what_and_where() {
    let cases = [
        ("", "no rules"),
        (" ; ", "no rules"),
        ("seg-sex", "no hours"),
        ("08:00-18:00", "no days"),
        ("sgx 08:00-18:00", "\"sgx\" is not a day"),
        ("seg-sxt 08:00-18:00", "\"sxt\" is not a day"),
        ("seg,,sex 08:00-18:00", "an empty day"),
        ("seg 08:00", "not a range"),
        ("seg 0800-1800", "\"0800\" is not a time"),
        ("seg 08:00-25:00", "\"25:00\" is not a time"),
        ("seg 08:60-18:00", "\"08:60\" is not a time"),
        ("seg 08:00-24:01", "\"24:01\" is not a time"),
        ("seg 24:00-24:00", "starts at 24:00"),
        ("seg 18:00-08:00", "does not end after it starts"),
        ("seg 08:00-08:00", "does not end after it starts"),
        ("seg 22:00-06:00", "cannot cross midnight"),
        ("seg 08:00-12:00,", "not a range"),
    ];
    for (raw, want) in cases {
        let e = AgentHours::parse(raw).expect_err(raw);
        assert!(e.contains(want), "{raw}: {e}");
    }
    // The rule is quoted, as written, so the operator finds it.
    let e = AgentHours::parse("seg-sex 08:00-18:00; Sáb 08:00-1200").unwrap_err();
    assert!(e.starts_with("in \"Sáb 08:00-1200\": "), "{e}");
}

#[test]
fn open_inside_the_hours_of_the_day() {
    let h = hours("seg-sex 08:00-18:00; sab 08:00-12:00");
    assert!(h.is_open(&on(MON, 8, 0)));
    assert!(h.is_open(&on(MON, 10, 0)));
    assert!(h.is_open(&on(WED, 17, 59)));
    assert!(!h.is_open(&on(MON, 7, 59)));
    assert!(!h.is_open(&on(MON, 18, 0)), "the end is not inside");
    assert!(h.is_open(&on(SAT, 11, 59)));
    assert!(!h.is_open(&on(SAT, 12, 0)));
    assert!(!h.is_open(&on(SUN, 10, 0)));
    let t = LocalTime {
        weekday: 7,
        ..on(MON, 10, 0)
    };
    assert!(!h.is_open(&t), "no eighth weekday");
    let all = hours("seg-dom 00:00-24:00");
    assert!(all.is_open(&on(SUN, 23, 59)));
    assert!(all.is_open(&on(MON, 0, 0)));
}

#[test]
fn closed_on_national_holidays() {
    let h = hours("seg-dom 00:00-24:00");
    // 2026: Christmas (Friday), Tiradentes (Tuesday), Carnival Monday and
    // Tuesday, Good Friday, Corpus Christi (Thursday), Consciência Negra (Friday).
    for (m, d, wd) in [
        (12, 25, 4),
        (4, 21, 1),
        (2, 16, 0),
        (2, 17, 1),
        (4, 3, 4),
        (6, 4, 3),
        (11, 20, 4),
    ] {
        assert!(!h.is_open(&at(m, d, wd, 10, 0)), "2026-{m:02}-{d:02}");
    }
    // Ash Wednesday and the day after Christmas are working days.
    assert!(h.is_open(&at(2, 18, 2, 10, 0)));
    assert!(h.is_open(&at(12, 26, 5, 10, 0)));
}

#[test]
fn easter_sunday_known_dates() {
    let known = [
        (2000, (4, 23)),
        (2008, (3, 23)),
        (2011, (4, 24)),
        (2019, (4, 21)),
        (2024, (3, 31)),
        (2025, (4, 20)),
        (2026, (4, 5)),
        (2027, (3, 28)),
        (2038, (4, 25)),
    ];
    for (year, date) in known {
        assert_eq!(easter_sunday(year), date, "{year}");
    }
}

#[test]
fn the_movable_holidays_follow_easter() {
    // 2026: Easter 5 April.
    assert_eq!(
        national_holiday(2026, 2, 16),
        Some("Carnaval (segunda-feira)")
    );
    assert_eq!(
        national_holiday(2026, 2, 17),
        Some("Carnaval (terça-feira)")
    );
    assert_eq!(national_holiday(2026, 4, 3), Some("Sexta-feira Santa"));
    assert_eq!(national_holiday(2026, 6, 4), Some("Corpus Christi"));
    assert!(
        !is_national_holiday(2026, 4, 5),
        "Easter is a Sunday anyway"
    );
    assert!(!is_national_holiday(2026, 2, 18));
    // 2025: Easter 20 April; Carnival 3-4 March, Good Friday 18 April, Corpus Christi 19 June.
    for (m, d) in [(3, 3), (3, 4), (4, 18), (6, 19)] {
        assert!(is_national_holiday(2025, m, d), "2025-{m:02}-{d:02}");
    }
    // 2027: Easter 28 March; Carnival 8-9 February, Good Friday 26 March, Corpus Christi 27 May.
    for (m, d) in [(2, 8), (2, 9), (3, 26), (5, 27)] {
        assert!(is_national_holiday(2027, m, d), "2027-{m:02}-{d:02}");
    }
    // 2024 is a leap year: Easter 31 March, Carnival 12-13 February, Corpus Christi 30 May.
    for (m, d) in [(2, 12), (2, 13), (3, 29), (5, 30)] {
        assert!(is_national_holiday(2024, m, d), "2024-{m:02}-{d:02}");
    }
}

#[test]
fn the_fixed_holidays() {
    for (m, d) in [
        (1, 1),
        (4, 21),
        (5, 1),
        (9, 7),
        (10, 12),
        (11, 2),
        (11, 15),
        (11, 20),
        (12, 25),
    ] {
        assert!(is_national_holiday(2026, m, d), "{m:02}-{d:02}");
    }
    assert!(is_national_holiday(2024, 11, 20));
    assert!(
        !is_national_holiday(2023, 11, 20),
        "national only from 2024"
    );
    assert!(!is_national_holiday(2026, 12, 24));
    assert!(!is_national_holiday(2026, 2, 30), "no such date");
    assert!(!is_national_holiday(2026, 13, 1));
    assert!(!is_national_holiday(2026, 0, 0));
}

#[test]
fn spoken_in_portuguese() {
    let cases = [
        (
            "seg-sex 08:00-18:00; sab 08:00-12:00",
            "de segunda a sexta, das 8 às 18 horas, e aos sábados, das 8 às 12 horas",
        ),
        (
            "seg-sex 08:30-18:00",
            "de segunda a sexta, das 8 e 30 às 18 horas",
        ),
        (
            "seg,qua,sex 08:00-12:00, 14:00-18:00",
            "às segundas, quartas e sextas, das 8 às 12 e das 14 às 18 horas",
        ),
        (
            "seg-qua,sab 09:00-17:00",
            "de segunda a quarta e aos sábados, das 9 às 17 horas",
        ),
        (
            "sab,dom 10:00-14:00",
            "aos sábados e domingos, das 10 às 14 horas",
        ),
        (
            "sex,sab 10:00-14:00",
            "às sextas e aos sábados, das 10 às 14 horas",
        ),
        ("dom-sab 00:00-24:00", "todos os dias, 24 horas"),
        (
            "sex-seg 13:00-24:00",
            "de sexta a segunda, das 13 às 24 horas",
        ),
        ("ter 00:00-01:00", "às terças, das 0 à 1 hora"),
        ("ter 01:00-02:00", "às terças, da 1 às 2 horas"),
        (
            "seg-sex 08:00-18:00; sab 08:00-12:00; dom 09:00-11:00",
            "de segunda a sexta, das 8 às 18 horas, aos sábados, das 8 às 12 horas, \
             e aos domingos, das 9 às 11 horas",
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(hours(raw).spoken_pt(), want, "{raw}");
    }
}

#[test]
fn spoken_in_english() {
    let cases = [
        (
            "seg-sex 08:00-18:00; sab 08:00-12:00",
            "Monday to Friday, 8 a.m. to 6 p.m.; Saturday, 8 a.m. to noon",
        ),
        (
            "mon-fri 08:30-17:45",
            "Monday to Friday, 8:30 a.m. to 5:45 p.m.",
        ),
        (
            "mon,wed 00:00-12:00, 13:00-24:00",
            "Monday and Wednesday, midnight to noon and 1 p.m. to midnight",
        ),
        ("sun-sat 00:00-24:00", "every day, 24 hours"),
        ("sat 00:30-12:30", "Saturday, 12:30 a.m. to 12:30 p.m."),
    ];
    for (raw, want) in cases {
        assert_eq!(hours(raw).spoken_en(), want, "{raw}");
    }
}

/// Any week of merged ranges (at least one day open).
fn weeks() -> impl Strategy<Value = AgentHours> {
    let day = prop::collection::vec((0u16..=1439, 1u16..=600), 0..4).prop_map(|raw| {
        merged(
            raw.into_iter()
                .map(|(from, len)| (from, (from + len).min(DAY)))
                .collect(),
        )
    });
    prop::array::uniform7(day)
        .prop_filter("one day open", |w| w.iter().any(|d| !d.is_empty()))
        .prop_map(|week| AgentHours { week })
}

proptest! {
    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = AgentHours::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_near_misses(
        s in "[segtrquaixbdomnfwhSÁá ,;:0-9hH-]{0,40}"
    ) {
        if let Ok(h) = AgentHours::parse(&s) {
            prop_assert!(!h.spoken_pt().is_empty());
            prop_assert!(!h.spoken_en().is_empty());
        }
    }

    #[test]
    fn the_written_form_reads_back(h in weeks()) {
        prop_assert_eq!(AgentHours::parse(&h.to_string()), Ok(h.clone()));
        prop_assert!(!h.spoken_pt().is_empty());
    }

    #[test]
    fn open_means_inside_a_range(h in weeks(), weekday in 0u8..7, minute in 0u16..1440) {
        // 2026-03-09..15 holds no holiday.
        let t = LocalTime { year: 2026, month: 3, day: 9 + weekday, weekday, minute };
        let inside = h.day(weekday).iter().any(|&(a, b)| a <= minute && minute < b);
        prop_assert_eq!(h.is_open(&t), inside);
    }

    #[test]
    fn easter_is_a_march_or_april_sunday(year in 1583i32..=4099) {
        let (m, d) = easter_sunday(year);
        prop_assert!((m == 3 && (22..=31).contains(&d)) || (m == 4 && (1..=25).contains(&d)));
        prop_assert!(is_sunday(year, m, d));
    }
}

/// Sakamoto's method: 0 = Sunday.
fn is_sunday(year: i32, month: u8, day: u8) -> bool {
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    (y + y / 4 - y / 100 + y / 400 + T[usize::from(month) - 1] + i32::from(day)) % 7 == 0
}

#[test]
fn weekdays_alone_parse_as_in_the_hours() {
    let all = |s| parse_weekdays(s).unwrap();
    assert_eq!(all("seg-sab"), [true, true, true, true, true, true, false]);
    assert_eq!(
        all("seg a sex"),
        [true, true, true, true, true, false, false]
    );
    assert_eq!(
        all("sáb, dom"),
        [false, false, false, false, false, true, true]
    );
    assert_eq!(all("mon-fri"), [true, true, true, true, true, false, false]);
    assert_eq!(
        all("sex-seg"),
        [true, false, false, false, true, true, true]
    );
    assert!(parse_weekdays("").is_err());
    assert!(parse_weekdays("feriado").is_err());
}
