//! Matching one spoken address against a 50,000-row gazetteer of generated,
//! realistic Brazilian streets (`test_support::gazetteer`), and loading it.
//!
//! `cargo bench -p ozmap-ivr --bench gazetteer`. Besides criterion's own
//! report, the run prints the load time and the p50/p99/max of one lookup over
//! 2,000 spoken queries (each timed once, after a warm-up pass), since the
//! target is a percentile.

use criterion::{Criterion, criterion_group, criterion_main};
use ozmap_ivr::AddressBook;
use std::hint::black_box;
use std::time::{Duration, Instant};
use test_support::gazetteer::{generated_csv, sample_transcripts};

const ROWS: usize = 50_000;

fn percentiles(csv: &str, book: &AddressBook) {
    let queries = sample_transcripts(csv, 2_000, 7);
    for q in &queries {
        black_box(book.verdict(q));
    }
    let mut times: Vec<Duration> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            black_box(book.verdict(q));
            t.elapsed()
        })
        .collect();
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let found = queries
        .iter()
        .filter(|q| book.verdict(q) != "not_found")
        .count();
    println!(
        "GAZETTEER {} rows, {} streets: lookup p50 {:?}, p99 {:?}, max {:?}; {found}/{} queries found",
        book.rows(),
        book.streets(),
        at(0.50),
        at(0.99),
        times[times.len() - 1],
        queries.len()
    );
}

fn bench(c: &mut Criterion) {
    let csv = generated_csv(ROWS, 42);
    let started = Instant::now();
    let book = AddressBook::parse(&csv).expect("the generated gazetteer parses");
    println!("GAZETTEER load of {ROWS} rows: {:?}", started.elapsed());
    percentiles(&csv, &book);

    let queries = sample_transcripts(&csv, 500, 11);
    let mut i = 0;
    c.bench_function("gazetteer_50k/locate_spoken", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(book.verdict(&queries[i]))
        })
    });
    let mut g = c.benchmark_group("gazetteer_50k_load");
    g.sample_size(10);
    g.bench_function("parse", |b| {
        b.iter(|| black_box(AddressBook::parse(&csv).map(|b| b.rows())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
