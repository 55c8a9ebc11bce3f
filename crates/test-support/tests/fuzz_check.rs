//! The fuzz target's property (`test_support::fuzz`) on stable, in the normal
//! suite: every input of the seed corpus, then random bodies (raw bytes, and
//! form-shaped ones that drive the call flow with hostile text). The real
//! fuzzing run needs nightly; see `fuzz/README.md`.

use test_support::fuzz as check;

use proptest::prelude::*;

#[test]
fn the_seed_corpus_passes() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/webhook_input");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the seed corpus") {
        let path = entry.unwrap().path();
        check::check(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 3, "seed corpus in {}", dir.display());
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9*#]{0,12}",
        "[<>&\"'\\]\\[\u{0}-\u{1f}a-zç ]{0,80}",
        Just("Rua Delminda Silveira, novecentos".to_string()),
        Just("sim".to_string()),
        Just("123*123".to_string()),
    ]
}

fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(vec![
        "Digits",
        "SpeechResult",
        "Both",
        "Silence",
        "Poll",
        "Dial",
        "From",
        "CallSid",
    ]);
    proptest::collection::vec((key, value()), 0..24).prop_map(|pairs| {
        serde_urlencoded::to_string(pairs)
            .expect("encodes")
            .into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_pass(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check::check(&data);
    }

    #[test]
    fn form_shaped_bodies_pass(data in form_body()) {
        check::check(&data);
    }
}
