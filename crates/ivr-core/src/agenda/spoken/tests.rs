use super::*;
use crate::agenda::{AgendaRules, Day};

fn slot(s: &str) -> Slot {
    Slot::parse(s).unwrap()
}

fn said(offered: &[Slot], speech: &str) -> Option<Choice> {
    choice(offered, None, Some(speech))
}

#[test]
fn slots_are_said_as_people_say_them() {
    // 2026-12-10 is a Thursday.
    assert_eq!(
        say(&slot("2026-12-10/morning"), "pt-BR"),
        "quinta-feira, dia 10, de manhã"
    );
    assert_eq!(
        say(&slot("2026-12-12/afternoon"), "pt-BR"),
        "sábado, dia 12, à tarde"
    );
    assert_eq!(
        say(&slot("2026-12-10/morning"), "en-US"),
        "Thursday the 10th, in the morning"
    );
    assert_eq!(
        say(&slot("2026-12-01/afternoon"), "en-US"),
        "Tuesday the 1st, in the afternoon"
    );
    assert_eq!(
        say(&slot("2026-12-11/morning"), "en-US"),
        "Friday the 11th, in the morning"
    );
    assert_eq!(
        say(&slot("2026-12-22/morning"), "en-US"),
        "Tuesday the 22nd, in the morning"
    );
}

#[test]
fn keys_choose_an_offered_slot_more_or_later() {
    let offered = [slot("2026-12-10/morning"), slot("2026-12-10/afternoon")];
    assert_eq!(
        choice(&offered, Some("2"), None),
        Some(Choice::Slot(offered[1]))
    );
    assert_eq!(choice(&offered, Some("3"), None), None, "not offered");
    assert_eq!(choice(&offered, Some("0"), None), None);
    assert_eq!(choice(&offered, Some("4"), None), Some(Choice::More));
    assert_eq!(choice(&offered, Some("9"), None), Some(Choice::Later));
    assert_eq!(choice(&offered, Some("12"), None), None);
}

#[test]
fn every_offered_slot_parses_back_from_what_is_said_across_months() {
    let rules = AgendaRules::default();
    // From late January into February and March, and across a year.
    for today in ["2026-01-26", "2026-02-25", "2026-12-28", "2027-03-29"] {
        let all = rules.periods_from(Day::parse(today).unwrap());
        for offered in all.chunks(3) {
            for (i, s) in offered.iter().enumerate() {
                let full = say(s, "pt-BR");
                assert_eq!(said(offered, &full), Some(Choice::Slot(*s)), "{full}");
                let en = say(s, "en-US");
                assert_eq!(said(offered, &en), Some(Choice::Slot(*s)), "{en}");
                assert_eq!(
                    choice(offered, Some(&(i + 1).to_string()), None),
                    Some(Choice::Slot(*s))
                );
                let ordinal = ["a primeira", "a segunda", "a terceira"][i];
                assert_eq!(said(offered, ordinal), Some(Choice::Slot(*s)), "{ordinal}");
            }
            let last = offered.last().unwrap();
            assert_eq!(said(offered, "a última"), Some(Choice::Slot(*last)));
        }
    }
}

#[test]
fn short_forms_name_one_offered_slot() {
    // Thursday 10 morning and afternoon, Friday 11 afternoon.
    let offered = [
        slot("2026-12-10/morning"),
        slot("2026-12-10/afternoon"),
        slot("2026-12-11/afternoon"),
    ];
    let cases = [
        ("quinta de manhã", Some(0)),
        ("quinta à tarde", Some(1)),
        ("sexta à tarde", Some(2)),
        ("a de sexta", Some(2)),
        ("dia dez à tarde", Some(1)),
        ("dia 10 de manhã", Some(0)),
        ("dia onze", Some(2)),
        ("pode ser a primeira", Some(0)),
        ("a segunda opção", Some(1)),
        ("opção três", Some(2)),
        ("dois", Some(1)),
        ("Thursday afternoon", Some(1)),
        // Ambiguous: two periods on Thursday.
        ("a de quinta", None),
        ("quinta", None),
        // Naming nothing offered.
        ("sábado de manhã", None),
        ("dia doze", None),
        ("sexta de manhã", None),
        ("a primeira à tarde", None),
        ("banana", None),
        ("", None),
    ];
    for (speech, want) in cases {
        assert_eq!(
            said(&offered, speech),
            want.map(|i: usize| Choice::Slot(offered[i])),
            "{speech:?}"
        );
    }
}

#[test]
fn segunda_is_monday_with_feira_or_a_period_else_the_second() {
    // Monday 14 morning, Monday 14 afternoon, Tuesday 15 morning.
    let offered = [
        slot("2026-12-14/morning"),
        slot("2026-12-14/afternoon"),
        slot("2026-12-15/morning"),
    ];
    assert_eq!(
        said(&offered, "segunda-feira à tarde"),
        Some(Choice::Slot(offered[1]))
    );
    assert_eq!(
        said(&offered, "segunda de manhã"),
        Some(Choice::Slot(offered[0]))
    );
    assert_eq!(said(&offered, "a segunda"), Some(Choice::Slot(offered[1])));
    assert_eq!(said(&offered, "terça"), Some(Choice::Slot(offered[2])));
}

#[test]
fn more_and_later_are_understood_in_words() {
    let offered = [slot("2026-12-10/morning")];
    for s in ["outras datas", "outro dia", "mais opções", "other dates"] {
        assert_eq!(said(&offered, s), Some(Choice::More), "{s}");
    }
    for s in ["depois", "agendar mais tarde", "agora não", "later", "nove"] {
        assert_eq!(said(&offered, s), Some(Choice::Later), "{s}");
    }
}
