//! The console speaks the operator's language: every status, outcome, step,
//! message kind and channel and breaker state, rendered on the page in pt-BR
//! and en-US, shows a word of that language and never an internal name.

use super::charts;
use super::funnel::{Funnel, StepCount};
use super::labels::{EN, Labels, PT, TERM_KEYS};
use super::page::{Dashboard, RecentRow, dashboard};
use crate::admin::{MessageView, ReservationView};
use crate::store::MessageStatus;
use crate::worker::HealthView;
use ivr_core::flow::Step;

fn row(id: i64, status: &'static str, outcome: Option<&'static str>) -> ReservationView {
    ReservationView {
        id,
        protocol: Some("20261207000001".into()),
        status,
        outcome,
        client_code: "123|123".into(),
        client_name: "Maria".into(),
        address: "Rua A, 1".into(),
        lat: 0.0,
        lng: 0.0,
        box_id: None,
        box_name: Some("CTO-1".into()),
        port: Some(1),
        property_id: None,
        attempts: 0,
        last_error: None,
        call_sid: "CA1".into(),
        created_at_ms: 0,
        updated_at_ms: 0,
        next_attempt_at_ms: 0,
        uncertain_since_ms: None,
        duplicates_removed: vec![],
        recheck_at_ms: None,
        life_state: None,
        life: Default::default(),
    }
}

fn message(id: i64, channel: &'static str, kind: &str, status: &'static str) -> MessageView {
    MessageView {
        id,
        channel,
        reservation_id: None,
        protocol: None,
        kind: kind.into(),
        phone: "***…00".into(),
        body: String::new(),
        status,
        attempts: 0,
        last_error: None,
        provider_id: None,
        created_at_ms: 0,
        updated_at_ms: 0,
        next_attempt_at_ms: 0,
    }
}

/// The page's text: what is between tags (attributes and values are not
/// read by the operator).
fn text_of(html: &str) -> String {
    // the style sheet is not text
    let html = match (html.find("<style>"), html.find("</style>")) {
        (Some(a), Some(b)) => format!("{}{}", &html[..a], &html[b..]),
        _ => html.to_string(),
    };
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn pages(l: &'static Labels) -> Vec<String> {
    let statuses = ["pending", "done", "dead", "cancelled"];
    let outcomes = [None, Some("reserved"), Some("existing"), Some("not_viable")];
    let mut ledger = Vec::new();
    for (i, s) in statuses.iter().enumerate() {
        for (j, o) in outcomes.iter().enumerate() {
            ledger.push(row((i * 4 + j) as i64, s, *o));
        }
    }
    let mut messages = Vec::new();
    for s in MessageStatus::ALL {
        for kind in ["reserved", "existing", "not_viable"] {
            messages.push(message(1, "sms", kind, s.as_str()));
        }
        for kind in ["text", "interactive", "unknown"] {
            messages.push(message(2, "whatsapp", kind, s.as_str()));
        }
    }
    let mut out = Vec::new();
    for (breaker, detail) in [("closed", 0), ("open", 5), ("half_open", 15)] {
        for status in [None, Some("dead")] {
            let d = Dashboard {
                l,
                csrf: "x",
                today: Funnel::of(&[], 0),
                week: Funnel::of(&[], 0),
                hours: [0; 24],
                health: HealthView {
                    breaker,
                    samples: 0,
                    p50_ms: None,
                    p99_ms: None,
                    last_error: None,
                    last_error_at_ms: None,
                    last_success_at_ms: None,
                },
                ledger: ledger.clone_rows(),
                status,
                q: "",
                detail: Some(row(detail, statuses[detail as usize / 4], None)),
                flash: Some(format!("{} 1: {}", l.detail, l.retried)),
                recent: vec![RecentRow {
                    started: "07/12 10:00".into(),
                    protocol: "1".into(),
                    steps: Step::NAMES.iter().map(|s| s.to_string()).collect(),
                    outcome: l.reserved,
                    duration: "1 min 00 s".into(),
                    phone: "***…00".into(),
                    place: Some("place_link".into()),
                }],
                messages: messages.clone_rows(),
            };
            out.push(dashboard(&d).into_string());
        }
    }
    let steps: Vec<(&'static str, StepCount)> = Step::NAMES
        .iter()
        .map(|s| {
            (
                *s,
                StepCount {
                    reached: 3,
                    abandoned: 1,
                },
            )
        })
        .collect();
    out.push(charts::funnel(&steps, l).into_string());
    out
}

/// Cloning the views the page takes by value.
trait CloneRows {
    fn clone_rows(&self) -> Self;
}

impl CloneRows for Vec<ReservationView> {
    fn clone_rows(&self) -> Self {
        self.iter()
            .map(|r| row(r.id, r.status, r.outcome))
            .collect()
    }
}

impl CloneRows for Vec<MessageView> {
    fn clone_rows(&self) -> Self {
        self.iter()
            .map(|m| message(m.id, m.channel, &m.kind, m.status))
            .collect()
    }
}

/// The words of `text`, split at anything but letters, digits and `_`.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn every_internal_name_has_a_word_in_both_languages() {
    for l in [&PT, &EN] {
        for key in TERM_KEYS {
            let word = l.term(key);
            assert_ne!(word, "—", "{key} has no word in {}", l.lang);
            assert!(!word.contains('_'), "{key}: {word:?} in {}", l.lang);
            if !matches!(key, "sms") {
                assert_ne!(word, key, "{key} is shown as itself in {}", l.lang);
            }
        }
    }
    for step in Step::NAMES {
        assert!(TERM_KEYS.contains(&step), "step {step} has no word");
    }
    for s in MessageStatus::ALL {
        assert!(TERM_KEYS.contains(&s.as_str()), "{s:?} has no word");
    }
}

#[test]
fn the_pages_show_no_internal_name_in_either_language() {
    for l in [&PT, &EN] {
        for page in pages(l) {
            let text = text_of(&page);
            for w in words(&text) {
                assert!(
                    !(w.contains('_') && w.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                    "snake_case {w:?} on the {} page",
                    l.lang
                );
                assert!(
                    !w.eq_ignore_ascii_case("worker"),
                    "\"worker\" on the {} page",
                    l.lang
                );
                if l.lang == "pt-BR" {
                    // English internal names read as such on a Portuguese page.
                    assert!(
                        !TERM_KEYS.contains(&w) || w == "sms",
                        "internal name {w:?} on the pt-BR page"
                    );
                }
            }
            for step in Step::NAMES {
                assert!(
                    !text.contains(step) || !step.contains('_'),
                    "{step} on the {} page",
                    l.lang
                );
            }
        }
    }
    // and the words are there: a step and a status in each language
    let pt = pages(&PT).iter().map(|p| text_of(p)).collect::<String>();
    assert!(
        pt.contains("Confirma endereço") && pt.contains("concluída"),
        "{pt}"
    );
    let en = pages(&EN).iter().map(|p| text_of(p)).collect::<String>();
    assert!(
        en.contains("Address read back") && en.contains("queued"),
        "{en}"
    );
}
