//! The address corpus (`data/address-corpus.csv`): recogniser-style
//! transcripts of addresses of the bundled gazetteer, each with the street and
//! number the caller meant, run through the call's address step. At least 95%
//! must be understood (the read-back names the right street, number and
//! place), and none may be read back wrong.
//!
//! A transcript is walked as a caller would: said at the address question, the
//! geocoder's verdict taken through the flow, a separating question answered
//! truthfully, the house number typed when the flow asks it (the transcript
//! lost it, or split it so that two readings remain; `*` when the caller meant
//! none), and the read-back compared with what the caller meant. The number
//! column is what the caller meant: empty for "sem número". A read-back with
//! a number the caller did not say, "sem número" included, is wrong.

use super::gazetteer::{Gazetteer, fold, tokens};
use super::{CepSource, Geocoder, Locator};
use ivr_core::domain::{HouseNumber, Place};
use ivr_core::flow::{self, Call, Effect, Event, FlowConfig, Progress, Step};
use std::sync::Arc;

const CORPUS: &str = include_str!("../../data/address-corpus.csv");
const GAZETTEER: &str = include_str!("../../data/gazetteer.csv");

struct Line {
    transcript: String,
    street: String,
    number: Option<String>,
    complement: Option<String>,
    kind: String,
}

fn corpus() -> Vec<Line> {
    let mut r = csv::Reader::from_reader(CORPUS.as_bytes());
    r.records()
        .map(|rec| {
            let rec = rec.expect("corpus line parses");
            let f = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
            let opt = |s: String| (!s.is_empty()).then_some(s);
            Line {
                transcript: f(0),
                street: f(1),
                number: opt(f(2)),
                complement: opt(f(3)),
                kind: f(4),
            }
        })
        .collect()
}

/// The (neighbourhood, city) pairs where `street` has `number` (else where it
/// has a street-level row): where the caller lives.
fn places_of(street: &str, number: Option<&str>) -> Vec<(String, String)> {
    let mut r = csv::Reader::from_reader(GAZETTEER.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let on_street = |want_number: Option<&str>| -> Vec<(String, String)> {
        rows.iter()
            .filter(|row| row.get(1) == Some(street))
            .filter(|row| match want_number {
                Some(n) => row.get(2) == Some(n),
                None => row.get(2) == Some(""),
            })
            .map(|row| (row[3].to_string(), row[4].to_string()))
            .collect()
    };
    let exact = number.map(|n| on_street(Some(n))).unwrap_or_default();
    if exact.is_empty() {
        on_street(None)
    } else {
        exact
    }
}

fn same(a: &str, b: &str) -> bool {
    fold(a.trim()) == fold(b.trim())
}

fn meant(place: &Place, line: &Line, homes: &[(String, String)]) -> bool {
    let number = match &line.number {
        Some(n) => HouseNumber::Given(n.clone()),
        None => HouseNumber::Without,
    };
    same(&place.street, &line.street)
        && place.number == Some(number)
        && homes.iter().any(|(hood, city)| {
            same(place.neighbourhood.as_deref().unwrap_or(""), hood) && same(&place.city, city)
        })
}

enum Heard {
    /// `asked`: after a separating question; `number`: after the number was
    /// asked.
    Understood {
        asked: bool,
        number: bool,
        unsure: bool,
    },
    NotUnderstood(String),
    Wrong(String),
}

async fn walk(locator: &Locator, line: &Line) -> Heard {
    let cfg = FlowConfig::default();
    let homes = places_of(&line.street, line.number.as_deref());
    assert!(
        !homes.is_empty(),
        "corpus street not in the gazetteer: {}",
        line.street
    );
    let mut call = Call::new(None);
    call.step = Step::AskAddress;
    let said = Event::Answer {
        digits: None,
        speech: Some(line.transcript.clone()),
        confidence: None,
    };
    let t = flow::advance(&cfg, &call, said, 0);
    let Some(Effect::Geocode(query)) = t.effect else {
        return Heard::NotUnderstood(format!("no lookup ({:?})", t.call.step));
    };
    let judged = locator.locate(&query).await.expect("the gazetteer answers");
    let rule = judged.rule;
    let t = flow::advance(
        &cfg,
        &t.call,
        Event::Poll(Progress::Geocoded(judged.located.into())),
        1,
    );
    let mut call = t.call;
    let mut asked = false;
    if call.step == Step::ChooseAddress {
        asked = true;
        let first = call.data.candidates.first().is_some_and(|p| {
            same(&p.street, &line.street)
                && homes.iter().any(|(hood, city)| {
                    same(p.neighbourhood.as_deref().unwrap_or(""), hood) && same(&p.city, city)
                })
        });
        let answer = Event::Answer {
            digits: Some(if first { "1" } else { "2" }.into()),
            speech: None,
            confidence: None,
        };
        call = flow::advance(&cfg, &call, answer, 2).call;
    }
    let mut number = false;
    if call.step == Step::AskStreetNumber {
        number = true;
        let keys = line.number.clone().unwrap_or_else(|| "*".into());
        let typed = Event::Answer {
            digits: Some(keys),
            speech: None,
            confidence: None,
        };
        let t = flow::advance(&cfg, &call, typed, 3);
        let Some(Effect::Geocode(query)) = t.effect else {
            return Heard::NotUnderstood(format!("number not taken ({:?})", t.call.step));
        };
        let judged = locator.locate(&query).await.expect("the gazetteer answers");
        call = flow::advance(
            &cfg,
            &t.call,
            Event::Poll(Progress::Geocoded(judged.located.into())),
            4,
        )
        .call;
    }
    if call.step != Step::ConfirmAddress {
        return Heard::NotUnderstood(format!("{:?} ({rule})", call.step));
    }
    let place = call.data.place.as_ref().expect("a place to read back");
    if meant(place, line, &homes) {
        Heard::Understood {
            asked,
            number,
            unsure: call.data.unsure,
        }
    } else {
        Heard::Wrong(format!(
            "read back {:?}, {:?}, {:?} ({rule}{})",
            place.street,
            place.number,
            place.neighbourhood,
            if call.data.unsure { ", as a guess" } else { "" }
        ))
    }
}

#[tokio::test]
async fn the_corpus_is_understood_and_never_read_back_wrong() {
    let g = Arc::new(Gazetteer::parse(GAZETTEER).unwrap());
    let locator = Locator::new(Geocoder::Gazetteer(Arc::clone(&g)), CepSource::Gazetteer(g));
    let lines = corpus();
    assert!(lines.len() >= 100, "the corpus has {} lines", lines.len());
    let (mut understood, mut asked, mut unsure, mut complements) = (0, 0, 0, 0);
    let mut numbers_asked = 0;
    let mut misses = Vec::new();
    let mut wrong = Vec::new();
    for line in &lines {
        match walk(&locator, line).await {
            Heard::Understood {
                asked: a,
                number: n,
                unsure: u,
            } => {
                understood += 1;
                asked += usize::from(a);
                numbers_asked += usize::from(n);
                unsure += usize::from(u);
            }
            Heard::NotUnderstood(why) => {
                misses.push(format!("[{}] {:?}: {why}", line.kind, line.transcript))
            }
            Heard::Wrong(why) => {
                wrong.push(format!("[{}] {:?}: {why}", line.kind, line.transcript))
            }
        }
        if let Some(want) = &line.complement {
            let got = locator
                .locate(&ivr_core::domain::AddressQuery::Spoken {
                    text: ivr_core::speech::address(Some(&line.transcript)).unwrap_or_default(),
                })
                .await
                .ok()
                .and_then(|j| match j.located {
                    super::Located::Sure(p) | super::Located::Guess(p) => p.complement,
                    super::Located::Choice(p, _) => p.complement,
                    _ => None,
                });
            if got.as_deref().is_some_and(|g| tokens(g) == tokens(want)) {
                complements += 1;
            } else {
                misses.push(format!(
                    "[complement] {:?}: got {got:?}, want {want:?}",
                    line.transcript
                ));
            }
        }
    }
    let total = lines.len();
    let with_complement = lines.iter().filter(|l| l.complement.is_some()).count();
    println!(
        "CORPUS {total} transcripts: {understood} understood ({:.1}%), {asked} after a separating question, {numbers_asked} after the number was asked, {unsure} read back as a guess, {} not understood, {} wrong; complements kept {complements}/{with_complement}",
        100.0 * understood as f64 / total as f64,
        total - understood - wrong.len(),
        wrong.len()
    );
    for m in &misses {
        println!("  miss {m}");
    }
    for w in &wrong {
        println!("  WRONG {w}");
    }
    assert!(wrong.is_empty(), "read back wrong: {wrong:#?}");
    assert!(
        understood * 100 >= total * 95,
        "{understood} of {total} understood: {misses:#?}"
    );
    assert_eq!(complements, with_complement, "complements lost");
}
