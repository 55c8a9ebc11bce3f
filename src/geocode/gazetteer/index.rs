//! Which street names are worth comparing with a text: an inverted index of
//! the trigrams of every name's phonetic key. A text's own trigrams pick the
//! names that share most of theirs; only those few are then compared window by
//! window. This keeps a lookup in a gazetteer of tens of thousands of streets
//! within a millisecond.

use super::matching::StreetName;
use std::collections::HashMap;

/// Names compared in full per lookup.
const CANDIDATES: usize = 24;
/// A name sharing fewer of its trigrams with the text is not a candidate.
const MIN_SHARED: f32 = 0.3;

type Gram = [char; 3];

fn grams(key: &str) -> Vec<Gram> {
    let c: Vec<char> = key.chars().collect();
    let mut g: Vec<Gram> = c.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
    if c.len() < 3 && !c.is_empty() {
        g.push([c[0], c.get(1).copied().unwrap_or(' '), ' ']);
    }
    g.sort_unstable();
    g.dedup();
    g
}

pub(super) struct Index {
    postings: HashMap<Gram, Vec<u32>>,
    /// Trigrams of each name.
    sizes: Vec<u16>,
}

impl Index {
    pub(super) fn new(streets: &[StreetName]) -> Self {
        let mut postings: HashMap<Gram, Vec<u32>> = HashMap::new();
        let mut sizes = Vec::with_capacity(streets.len());
        for (i, s) in streets.iter().enumerate() {
            let g = grams(&s.plain);
            sizes.push(u16::try_from(g.len()).unwrap_or(u16::MAX));
            for gram in g {
                postings.entry(gram).or_default().push(i as u32);
            }
        }
        Index { postings, sizes }
    }

    /// Indexes of the names sharing most of their trigrams with `joined`, best
    /// first: ranked by trigrams shared times the share of the name's own, so
    /// a long name nearly all there beats a short one there by chance.
    pub(super) fn candidates(&self, joined: &str) -> Vec<usize> {
        let mut counts = vec![0u16; self.sizes.len()];
        let mut touched: Vec<u32> = Vec::new();
        for g in grams(joined) {
            if let Some(list) = self.postings.get(&g) {
                for &i in list {
                    let c = &mut counts[i as usize];
                    if *c == 0 {
                        touched.push(i);
                    }
                    *c = c.saturating_add(1);
                }
            }
        }
        let mut scored: Vec<(f32, usize)> = touched
            .into_iter()
            .filter_map(|i| {
                let i = i as usize;
                let n = f32::from(counts[i]);
                let size = f32::from((*self.sizes.get(i)?).max(1));
                let share = n / size;
                (share >= MIN_SHARED).then_some((n * share, i))
            })
            .collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(CANDIDATES);
        scored.into_iter().map(|(_, i)| i).collect()
    }
}
