//! The verdict on a spoken address: every candidate street, in every
//! neighbourhood and city it runs through, gets a score; the best is sure, a
//! guess, or one of two the caller must choose between.
//!
//! The score is the name's similarity (0 to 1) adjusted by what else was said:
//! the street's own type word (+), another type word (−), its neighbourhood
//! (+), its city (+), another city of the file (− −), its CEP (+) or another
//! (−), and its house number listed (+, small). The thresholds below were set
//! on the corpus in `data/address-corpus.csv` (see its test), not on single
//! examples: a name one letter off scores about 0.93, two letters about 0.87,
//! and different names sharing a title ("Frei Caneca", "Frei Evaristo") below
//! 0.5.
//!
//! A text that names two different streets, each clearly and in its own words
//! ("Rua Lauro Linhares, Rua Delminda Silveira 900", a corner, or a
//! recogniser's jumble) is a choice between them whatever their scores, each
//! with the number said with it; three or more are not found (the address is
//! asked again): the first or best-scoring one is never read back as sure.

use super::matching::{Query, Said, StreetMatch, mentions, said_within};
use super::words::{is_digits, number_key};
use super::{Gazetteer, choose};
use crate::geocode::{Judged, Located};
use ivr_core::domain::{Cep, HouseNumber, Place};

/// Below this similarity a street name was not said.
pub(crate) const MIN_SIMILARITY: f32 = 0.74;
/// At or above this score (and not close to another) the match is sure.
pub(crate) const SURE: f32 = 0.86;
/// Two candidates whose scores are this close are a choice.
const CLOSE: f32 = 0.05;

const TYPE_SAID: f32 = 0.02;
const OTHER_TYPE_SAID: f32 = -0.02;
const HOOD_SAID: f32 = 0.06;
const CITY_SAID: f32 = 0.06;
const OTHER_CITY_SAID: f32 = -0.2;
const CEP_SAID: f32 = 0.08;
const OTHER_CEP_SAID: f32 = -0.08;
const NUMBER_LISTED: f32 = 0.01;

struct Scored {
    score: f32,
    group: usize,
    street: usize,
    said: Said,
}

/// A CEP said in the text: 8 digits, or 5 and 3 ("88025-500").
fn cep_said(toks: &[String]) -> Option<Cep> {
    toks.iter().enumerate().find_map(|(i, t)| {
        if t.len() == 8 && is_digits(t) {
            return Cep::parse(t);
        }
        let next = toks.get(i + 1)?;
        (t.len() == 5 && next.len() == 3 && is_digits(t) && is_digits(next))
            .then(|| Cep::parse(&format!("{t}{next}")))
            .flatten()
    })
}

pub(super) fn locate(g: &Gazetteer, text: &str) -> Judged {
    let q = Query::new(text);
    if q.toks.is_empty() {
        return Judged::not_found("no_words");
    }
    let cep = cep_said(&q.toks);
    let mut candidates = g.index.candidates(&q.joined);
    candidates.extend(
        g.numbered
            .iter()
            .filter(|i| !candidates.contains(i))
            .copied()
            .collect::<Vec<_>>(),
    );
    let mut found: Vec<(usize, StreetMatch)> = Vec::new();
    for si in candidates {
        let Some(street) = g.streets.get(si) else {
            continue;
        };
        let Some(m) = street.find_in(&q) else {
            continue;
        };
        if m.similarity >= MIN_SIMILARITY {
            found.push((si, m));
        }
    }
    let named = named_streets(g, &found);
    if named.len() > 2 {
        return Judged::not_found("several_streets");
    }
    let mut scored: Vec<Scored> = Vec::new();
    for &(si, m) in &found {
        let span = (m.start, m.end);
        // Another street named apart bounds where this one's number is.
        let lo = named
            .iter()
            .map(|&(_, s, e)| (s, e))
            .filter(|&(_, e)| e < m.start)
            .map(|(_, e)| e + 1)
            .max()
            .unwrap_or(0);
        let hi = named
            .iter()
            .map(|&(_, s, e)| (s, e))
            .filter(|&(s, _)| s > m.end)
            .map(|(s, _)| s)
            .min()
            .unwrap_or(q.toks.len());
        let said = said_within(&q.toks, m.start, m.end, (lo, hi));
        let base = m.similarity
            + match m.type_said {
                Some(true) => TYPE_SAID,
                Some(false) => OTHER_TYPE_SAID,
                None => 0.0,
            };
        let other_cities: Vec<usize> = (0..g.cities.len())
            .filter(|&c| mentions(&q, &g.cities[c], span))
            .collect();
        for &gi in g.street_groups.get(si).map(Vec::as_slice).unwrap_or(&[]) {
            let group = &g.groups[gi];
            let mut score = base;
            if mentions(&q, &group.hood_key, span) {
                score += HOOD_SAID;
            }
            if other_cities.contains(&group.city) {
                score += CITY_SAID;
            } else if !other_cities.is_empty() {
                score += OTHER_CITY_SAID;
            }
            match (&cep, &group.cep) {
                (Some(said), Some(own)) if said == own => score += CEP_SAID,
                (Some(_), Some(_)) => score += OTHER_CEP_SAID,
                _ => {}
            }
            if let Some(n) = &said.number {
                let key = number_key(n);
                if group
                    .rows
                    .iter()
                    .any(|&r| g.rows[r].number_key.as_deref() == Some(key.as_str()))
                {
                    score += NUMBER_LISTED;
                }
            }
            scored.push(Scored {
                score,
                group: gi,
                street: si,
                said: said.clone(),
            });
        }
    }
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.group.cmp(&b.group)));
    let mut best = scored.into_iter();
    let Some(first) = best.next() else {
        return Judged::not_found("no_street");
    };
    let second = best.next();
    let Some(place) = place_of(g, &first) else {
        return Judged::not_found("no_street");
    };
    if let [a, b] = named.as_slice() {
        // Two streets named: the best of the other one is the alternative.
        let other = if first.street == a.0 { b.0 } else { a.0 };
        let alternative = second.into_iter().chain(best).find(|s| s.street == other);
        return match alternative.and_then(|s| place_of(g, &s)) {
            Some(other) => Judged::new(
                Located::Choice(place, other),
                "several_streets",
                Some(first.score),
            ),
            None => Judged::not_found("several_streets"),
        };
    }
    if let Some(second) = second.filter(|s| s.score >= first.score - CLOSE)
        && let Some(other) = place_of(g, &second)
    {
        return Judged::new(
            Located::Choice(place, other),
            "close_candidates",
            Some(first.score),
        );
    }
    // Every candidate already reached MIN_SIMILARITY; the score decides.
    if first.score >= SURE {
        Judged::new(Located::Sure(place), "sure", Some(first.score))
    } else {
        Judged::new(Located::Guess(place), "weak_match", Some(first.score))
    }
}

/// The streets the text names clearly, each in its own words: a sure
/// similarity, and the name's type word said before it or a name of two words
/// or more (a one-word name alone is too easily a word of something else).
/// Streets whose spans overlap, or that are one street written two ways, are
/// one; the better-named is kept. As `(street, start, end)`, best first.
fn named_streets(g: &Gazetteer, found: &[(usize, StreetMatch)]) -> Vec<(usize, usize, usize)> {
    let mut clear: Vec<&(usize, StreetMatch)> = found
        .iter()
        .filter(|(si, m)| {
            m.similarity >= SURE
                && (m.type_said.is_some() || g.streets.get(*si).is_some_and(|s| s.words() >= 2))
        })
        .collect();
    clear.sort_by(|a, b| {
        b.1.similarity
            .total_cmp(&a.1.similarity)
            .then(a.0.cmp(&b.0))
    });
    let mut named: Vec<(usize, usize, usize)> = Vec::new();
    for (si, m) in clear {
        let apart = named.iter().all(|&(other, s, e)| {
            (m.end < s || m.start > e)
                && !matches!(
                    (g.streets.get(*si), g.streets.get(other)),
                    (Some(a), Some(b)) if a.same_as(b)
                )
        });
        if apart {
            named.push((*si, m.start, m.end));
        }
    }
    named
}

/// The place for a scored group: the row of the caller's number, else the
/// street-level one, with the caller's number and complement.
fn place_of(g: &Gazetteer, s: &Scored) -> Option<Place> {
    let group = g.groups.get(s.group)?;
    let rows: Vec<&super::Row> = group.rows.iter().filter_map(|&r| g.rows.get(r)).collect();
    let mut place = choose(&rows, s.said.number.clone(), |_| false)?;
    if s.said.no_number {
        place.number = Some(HouseNumber::Without);
    }
    place.complement = s.said.complement.clone();
    Some(place)
}
