//! `ozmap-ivr bench` run in process for a handful of whole calls: the report's
//! counts must add up, and every call must end with a reservation in OZmap.

use ivr_tools::bench::{self, BenchArgs};

fn args(flags: &[&str]) -> BenchArgs {
    let mut v = vec!["bench", "--server=in-process", "--warmup=0s"];
    v.extend_from_slice(flags);
    BenchArgs::parse_from(v).expect("bench flags")
}

#[tokio::test]
async fn a_handful_of_whole_calls_are_counted_and_reserved() {
    let report = bench::run(
        args(&[
            "--calls=5",
            "--concurrency=2",
            "--seed-calls=3",
            "--hold=2",
            "--ceiling",
        ]),
        &ozmap_ivr::InProcessService,
    )
    .await
    .expect("the bench runs");
    let s = &report.service;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!((s.started, s.completed, s.reserved), (5, 5, 5));
    assert_eq!(report.seeded_calls, 3);
    // Every call: greeting, code, confirmation, name, address, confirmation
    // (answered with the outcome: the sandbox is quick, so no poll), and the
    // status callback.
    let count = |route: &str| {
        s.routes
            .iter()
            .find(|r| r.route == route)
            .map_or(0, |r| r.count)
    };
    assert_eq!(count("/voice"), 5);
    assert_eq!(count("/voice/answer"), 25);
    assert_eq!(count("/voice/status"), 5);
    let to_outcome = s
        .to_outcome
        .as_ref()
        .expect("confirmation to outcome measured");
    assert_eq!(to_outcome.calls, 5);
    assert!(to_outcome.p50_s <= to_outcome.max_s);
    assert_eq!(s.routes.iter().map(|r| r.count).sum::<u64>(), s.webhooks);
    assert_eq!(s.all.as_ref().map(|a| a.count), Some(s.webhooks));
    assert!(s.calls_per_s > 0.0 && s.webhooks_per_s > s.calls_per_s);
    let all = s.all.as_ref().unwrap();
    assert!(all.p50_ms <= all.p90_ms && all.p90_ms <= all.p99_ms && all.p99_ms <= all.max_ms);
    // The ceiling ran with the same generator; the ratio is reported.
    let c = report.ceiling.as_ref().expect("ceiling measured");
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.completed > 0 && report.ratio_to_ceiling.is_some());
    // Held calls were in progress, then all finished with a reservation.
    let h = report.hold.as_ref().expect("hold measured");
    assert_eq!(
        (h.calls, h.held, h.finished),
        (2, 2, 2),
        "{:?} {:?}",
        h.errors,
        h.finish.as_ref().map(|f| &f.errors)
    );
    assert!(report.startup_ms.is_some_and(|ms| ms > 0.0));
    let text = report.text();
    assert!(
        text.contains("/voice/answer") && text.contains("ratio to the ceiling"),
        "{text}"
    );
}

#[tokio::test]
async fn cep_on_the_keypad_also_reserves() {
    let report = bench::run(
        args(&[
            "--calls=2",
            "--concurrency=2",
            "--address=cep",
            "--database-url=sqlite::memory:",
        ]),
        &ozmap_ivr::InProcessService,
    )
    .await
    .expect("the bench runs");
    let s = &report.service;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!((s.completed, s.reserved), (2, 2));
    // Greeting, code, confirmation, name, CEP, number, confirmation: 6 answers.
    let answers = s.routes.iter().find(|r| r.route == "/voice/answer");
    assert_eq!(answers.map(|r| r.count), Some(12));
}

#[tokio::test]
async fn greeting_and_step_modes_count_single_requests() {
    for mode in ["greeting", "step"] {
        let report = bench::run(
            args(&[
                &format!("--mode={mode}"),
                "--calls=6",
                "--concurrency=3",
                "--database-url=sqlite::memory:",
                "--no-ceiling",
            ]),
            &ozmap_ivr::InProcessService,
        )
        .await
        .expect("the bench runs");
        let s = &report.service;
        assert!(s.errors.is_empty(), "{mode}: {:?}", s.errors);
        assert_eq!((s.started, s.completed, s.webhooks), (6, 6, 6), "{mode}");
        let route = if mode == "greeting" {
            "/voice"
        } else {
            "/voice/answer"
        };
        assert_eq!(s.routes.len(), 1, "{mode}: {:?}", s.routes);
        assert_eq!(s.routes[0].route, route);
    }
}
