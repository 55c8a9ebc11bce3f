//! Benchmarks of the pure core (criterion): `cargo bench --bench core`.
//! (Signature checks have their own: `cargo bench --bench signature`.)
//! Figures and the machine they were taken on are in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use ivr_core::domain::Cep;
use ivr_core::flow::{Call, Event, FlowConfig, advance};
use ivr_core::prompts::Prompts;
use ivr_core::twiml::{Gather, Input, Response, Say, Verb};
use std::hint::black_box;

fn flow(c: &mut Criterion) {
    let cfg = FlowConfig::default();
    let mut call = Call::new(Some("+5548999990000".into()));
    for e in [
        Event::Start,
        Event::Answer {
            digits: Some("123*123".into()),
            speech: None,
            confidence: None,
        },
        Event::Answer {
            digits: Some("1".into()),
            speech: None,
            confidence: None,
        },
    ] {
        call = advance(&cfg, &call, e, 0).call;
    }
    c.bench_function("flow: name answer (one transition)", |b| {
        b.iter(|| {
            advance(
                &cfg,
                black_box(&call),
                Event::Answer {
                    digits: None,
                    speech: Some("gabriel marioto".into()),
                    confidence: None,
                },
                0,
            )
        })
    });
}

fn render(c: &mut Criterion) {
    let prompts = Prompts::shipped("pt-BR").expect("shipped prompts");
    let cfg = FlowConfig::default();
    let t = advance(&cfg, &Call::new(None), Event::Start, 0);
    let mut parts = Vec::new();
    for l in &t.reply.lines {
        parts.extend(prompts.render(l));
    }
    let say = Say {
        voice: Some("Polly.Camila".into()),
        language: Some("pt-BR".into()),
        parts,
    };
    c.bench_function("twiml: render the greeting", |b| {
        b.iter(|| {
            let mut r = Response::new();
            r.push(Verb::Gather(Gather {
                input: Input::DtmfSpeech,
                action: "https://ivr.example.com/voice/answer?seq=1".into(),
                timeout: 7,
                speech_timeout: Some(1),
                finish_on_key: Some("#".into()),
                num_digits: None,
                language: Some("pt-BR".into()),
                hints: Some(prompts.plain("hints.code")),
                speech_model: Some("phone_call".into()),
                enhanced: false,
                prompt: vec![black_box(&say).clone()],
            }))
            .push(Verb::Redirect {
                url: "https://ivr.example.com/voice/silence?seq=1".into(),
            });
            r.render()
        })
    });
}

fn speech(c: &mut Criterion) {
    c.bench_function("speech: normalise a spoken address", |b| {
        b.iter(|| {
            ivr_core::speech::address(Some(black_box(
                "Rua Delminda Silveira, novecentos e doze, Agronômica, Florianópolis",
            )))
        })
    });
    c.bench_function("speech: spoken client code", |b| {
        b.iter(|| {
            ivr_core::speech::client_code(None, Some(black_box("um dois três barra meia sete")))
        })
    });
    c.bench_function("domain: parse a CEP", |b| {
        b.iter(|| Cep::parse(black_box("88025-500")))
    });
}

criterion_group!(benches, flow, render, speech);
criterion_main!(benches);
