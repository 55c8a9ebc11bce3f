//! The cost of one webhook signature check (criterion):
//! `cargo bench --bench signature`. Figures are in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn signature(c: &mut Criterion) {
    let params: Vec<(String, String)> = [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("CallStatus", "in-progress"),
        ("Digits", "123*123"),
        ("Direction", "inbound"),
        ("From", "+5548999990000"),
        ("To", "+554833334444"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let url = "https://ivr.example.com/voice/answer?seq=2";
    let sig = webhook_signature::twilio_signature("token", url, &params);
    c.bench_function("signature: verify X-Twilio-Signature", |b| {
        b.iter(|| webhook_signature::verify_twilio("token", url, black_box(&params), &sig))
    });
}

criterion_group!(benches, signature);
criterion_main!(benches);
