//! The backoff, the breaker, and attempts against the sandbox.

use super::*;

#[test]
fn backoff_grows_is_capped_and_jittered() {
    let s = WorkerSettings::default();
    for attempts in 0..30 {
        let d = backoff_ms(&s, attempts);
        let nominal = (2_000i64 << attempts.min(20)).min(300_000);
        assert!(
            d >= nominal - nominal / 5 && d <= nominal + nominal / 5,
            "{attempts}: {d}"
        );
    }
    assert!(backoff_ms(&s, 0) <= 2_400);
    assert!(backoff_ms(&s, 29) <= 360_000);
}

#[test]
fn an_attempt_ends_well_inside_its_lease() {
    let mut s = WorkerSettings::default();
    assert_eq!(s.attempt_deadline(), Duration::from_secs(55));
    s.lease_ms = 4_000;
    assert_eq!(s.attempt_deadline(), Duration::from_secs(3));
    s.lease_ms = 100;
    assert_eq!(s.attempt_deadline(), Duration::from_millis(500));
}

#[test]
fn breaker_opens_after_consecutive_failures_then_half_opens() {
    let t0 = Instant::now();
    let cool = Duration::from_secs(30);
    let mut b = Breaker::new(3, cool);
    assert_eq!(b.allow(t0), Ok(()));
    // failures must be consecutive: a success in between starts over
    assert!(!b.on_failure(t0));
    assert!(!b.on_failure(t0));
    b.on_success();
    assert!(!b.on_failure(t0));
    assert!(!b.on_failure(t0));
    assert_eq!(b.state(), BreakerState::Closed);
    assert!(b.on_failure(t0), "third in a row opens");
    assert_eq!(b.state(), BreakerState::Open { until: t0 + cool });
    assert_eq!(b.allow(t0), Err(cool));
    assert_eq!(
        b.allow(t0 + Duration::from_secs(10)),
        Err(Duration::from_secs(20))
    );
    // cool-down over: one trial
    let t1 = t0 + cool;
    assert_eq!(b.allow(t1), Ok(()));
    assert_eq!(b.state(), BreakerState::HalfOpen);
    // the trial fails: open again for a whole cool-down
    assert!(b.on_failure(t1));
    assert_eq!(b.state(), BreakerState::Open { until: t1 + cool });
    assert!(b.allow(t1 + Duration::from_secs(29)).is_err());
    let t2 = t1 + cool;
    assert_eq!(b.allow(t2), Ok(()));
    // the trial succeeds: closed, and the count starts over
    b.on_success();
    assert_eq!(b.state(), BreakerState::Closed);
    assert!(!b.on_failure(t2));
    assert!(!b.on_failure(t2));
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn a_breaker_with_threshold_zero_never_opens() {
    let t0 = Instant::now();
    let mut b = Breaker::new(0, Duration::from_secs(1));
    for _ in 0..100 {
        assert!(!b.on_failure(t0));
    }
    assert_eq!(b.allow(t0), Ok(()));
}

mod with_sandbox {
    use super::*;
    use crate::sms::Outbox;
    use crate::store::LedgerStatus;
    use ivr_core::domain::{ClientCode, ReservationRequest};
    use ivr_core::flow::Call;
    use ivr_core::tutorial;
    use ozmap_sandbox::{Network, PostFault, SandboxServer};
    use secrecy::SecretString;
    use test_support::TestDb;

    const TOKEN: &str = "worker-test-token";

    struct Rig {
        store: Store,
        sandbox: SandboxServer,
        _db: TestDb,
    }

    async fn rig(codes: &[&str]) -> Rig {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sandbox = ozmap_sandbox::start(Network::builtin(), TOKEN, l)
            .await
            .unwrap();
        for (i, code) in codes.iter().enumerate() {
            let sid = format!("CA{i}");
            let call = Call::new(None);
            store.create_call(&sid, &call, "x", 1).await.unwrap();
            let req = ReservationRequest {
                phone: None,
                protocol: None,
                ..tutorial::request_for(ClientCode::parse(code).unwrap())
            };
            store
                .advance_call(&sid, 1, &call, "y", Some(&req), 1 + i as i64)
                .await
                .unwrap();
        }
        Rig {
            store,
            sandbox,
            _db: db,
        }
    }

    fn worker(r: &Rig, settings: WorkerSettings, timeout: Duration) -> Worker {
        Worker {
            store: r.store.clone(),
            ozmap: OzmapClient::new(
                url::Url::parse(&r.sandbox.base_url()).unwrap(),
                SecretString::from(TOKEN.to_string()),
                timeout,
            )
            .unwrap(),
            reserve: ReserveSettings::default(),
            settings,
            wake: Arc::new(Notify::new()),
            outbox: None,
            health: Default::default(),
            chat: None,
        }
    }

    async fn attempted(store: &Store) -> Vec<i64> {
        let mut rows = store.list_reservations(None, 100).await.unwrap();
        rows.sort_by_key(|r| r.id);
        rows.iter().map(|r| r.attempts).collect()
    }

    async fn wait_until<F, Fut>(what: &str, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f().await {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A ledger row for `code` from a caller on a mobile, with a protocol.
    async fn row_from_a_mobile(store: &Store, code: &str, protocol: &str) {
        let call = Call::new(None);
        let sid = format!("CA-{code}");
        store.create_call(&sid, &call, "x", 1).await.unwrap();
        let req = ReservationRequest {
            phone: Some("+5548999990000".into()),
            protocol: Some(protocol.into()),
            ..tutorial::request_for(ClientCode::parse(code).unwrap())
        };
        store
            .advance_call(&sid, 1, &call, "y", Some(&req), 1)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_outcome_and_its_sms_are_recorded_together() {
        let r = rig(&[]).await;
        let sms_wake = Arc::new(Notify::new());
        let outbox = Outbox::new(
            ivr_core::prompts::Prompts::shipped("pt-BR").unwrap(),
            sms_wake.clone(),
        );
        row_from_a_mobile(&r.store, "123", "2025061200000001").await;
        let w = Worker {
            outbox: Some(outbox.clone()),
            health: Default::default(),
            chat: None,
            ..worker(&r, WorkerSettings::default(), Duration::from_secs(2))
        };
        let claim = r.store.claim_due(now_ms(), 60_000).await.unwrap().unwrap();
        assert_eq!(w.process(claim).await, AttemptEnd::Answered);
        let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
        let Some(ReservationOutcome::Reserved(port)) = &row.outcome else {
            panic!("{:?}", row.outcome)
        };
        let messages = r.store.list_messages(None, 10).await.unwrap();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!((m.kind.as_str(), m.reservation_id), ("reserved", row.id));
        let expected = format!(
            "porta {} da caixa {}",
            port.port.unwrap(),
            port.box_name.as_ref().unwrap()
        );
        assert!(m.body.contains(&expected), "{}", m.body);
        assert!(m.body.contains("2025061200000001"), "{}", m.body);
        // the sender was nudged
        tokio::time::timeout(Duration::from_secs(1), sms_wake.notified())
            .await
            .expect("a wake-up for the sender");
        // OZmap refuses the token: a dead letter, and the caller is told it is kept
        row_from_a_mobile(&r.store, "456", "2025061200000002").await;
        let refused = Worker {
            ozmap: OzmapClient::new(
                url::Url::parse(&r.sandbox.base_url()).unwrap(),
                SecretString::from("wrong-token".to_string()),
                Duration::from_secs(2),
            )
            .unwrap(),
            outbox: Some(outbox),
            health: Default::default(),
            chat: None,
            ..worker(&r, WorkerSettings::default(), Duration::from_secs(2))
        };
        let claim = r.store.claim_due(now_ms(), 60_000).await.unwrap().unwrap();
        refused.process(claim).await;
        let messages = r.store.list_messages(None, 10).await.unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].kind, "failed");
        assert!(messages[0].body.contains("2025061200000002"));
        assert_eq!(
            r.store
                .list_reservations(Some(LedgerStatus::Dead), 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn an_open_breaker_stops_claiming_until_a_trial_succeeds() {
        let r = rig(&["1", "2", "3", "4", "5"]).await;
        r.sandbox.faults().set_fail_status(Some(503));
        let settings = WorkerSettings {
            breaker_failures: 2,
            breaker_cooldown_ms: 800,
            // failed rows are not due again during the test
            backoff_base_ms: 3_600_000,
            backoff_max_ms: 3_600_000,
            idle_poll_ms: 20,
            ..WorkerSettings::default()
        };
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(worker(&r, settings, Duration::from_secs(2)).run(rx));
        let store = r.store.clone();
        wait_until("two failed attempts", || {
            let store = store.clone();
            async move { attempted(&store).await.iter().sum::<i64>() >= 2 }
        })
        .await;
        // open: the other rows are left alone during the cool-down
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(attempted(&r.store).await, vec![1, 1, 0, 0, 0]);
        // after the cool-down, one trial; it fails too, and the breaker opens again
        wait_until("the half-open trial", || {
            let store = store.clone();
            async move { attempted(&store).await.iter().sum::<i64>() >= 3 }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(attempted(&r.store).await, vec![1, 1, 1, 0, 0]);
        // OZmap is back: the next trial succeeds, the breaker closes, the rest run
        r.sandbox.faults().set_fail_status(None);
        wait_until("the remaining rows", || {
            let store = store.clone();
            async move {
                store
                    .list_reservations(Some(LedgerStatus::Done), 100)
                    .await
                    .unwrap()
                    .len()
                    == 2
            }
        })
        .await;
        assert_eq!(attempted(&r.store).await, vec![1, 1, 1, 1, 1]);
        assert_eq!(r.sandbox.property_posts(), 2);
        stop.send(true).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_lets_the_attempt_in_hand_finish_within_the_grace() {
        let r = rig(&["78"]).await;
        // every OZmap answer takes a while, but less than the grace
        r.sandbox.faults().set_delay_ms(300);
        let settings = WorkerSettings {
            shutdown_grace_ms: 10_000,
            idle_poll_ms: 20,
            ..WorkerSettings::default()
        };
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(worker(&r, settings, Duration::from_secs(5)).run(rx));
        let sandbox = &r.sandbox;
        wait_until("the POST", || async { sandbox.property_posts() == 1 }).await;
        stop.send(true).unwrap();
        task.await.unwrap();
        let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
        assert_eq!(row.status, LedgerStatus::Done);
        assert!(matches!(row.outcome, Some(ReservationOutcome::Reserved(_))));
        assert_eq!(r.sandbox.properties().len(), 1);
    }

    #[tokio::test]
    async fn shutdown_during_a_hanging_post_releases_the_row_and_a_restart_completes_it_once() {
        let r = rig(&["77"]).await;
        r.sandbox
            .faults()
            .set_post_fault_once(PostFault::HangAfterCommit);
        let settings = WorkerSettings {
            shutdown_grace_ms: 200,
            idle_poll_ms: 20,
            backoff_base_ms: 50,
            ..WorkerSettings::default()
        };
        let (stop, rx) = watch::channel(false);
        // OZmap's own timeout is far away: only the shutdown ends the attempt
        let task = tokio::spawn(worker(&r, settings.clone(), Duration::from_secs(60)).run(rx));
        let sandbox = &r.sandbox;
        wait_until("the POST", || async { sandbox.property_posts() == 1 }).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the worker stops after its grace")
            .unwrap();
        let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
        assert_eq!(row.status, LedgerStatus::Pending);
        assert_eq!(row.attempts, 0);
        assert_eq!(row.last_error.as_deref(), Some("interrupted by shutdown"));
        assert!(
            row.uncertain_since.is_some(),
            "the POST was recorded before it was sent"
        );
        // the next worker takes it at once (no lease to wait out) and adopts the
        // property the interrupted POST created (as the one it reserved)
        let claim = r
            .store
            .claim_due(now_ms() + 1_000, 60_000)
            .await
            .unwrap()
            .expect("released, due after a short backoff");
        let w = worker(&r, settings, Duration::from_secs(2));
        assert_eq!(w.process(claim).await, AttemptEnd::Answered);
        let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
        assert_eq!(row.status, LedgerStatus::Done);
        assert!(matches!(row.outcome, Some(ReservationOutcome::Reserved(_))));
        assert_eq!(r.sandbox.property_posts(), 1);
        assert_eq!(r.sandbox.properties().len(), 1);
        assert!(
            row.recheck_at.is_some(),
            "a copy may still come: looked at again"
        );
    }

    /// OZmap refuses the property body itself (a validation error naming a field):
    /// a dead letter whose error names the field, and the caller's SMS says the
    /// request was kept, as for a bad token; no lead.
    #[tokio::test]
    async fn a_refused_request_is_a_dead_letter_naming_the_field() {
        use serde_json::json;
        use wiremock::matchers::{method, path, path_regex};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let oz = MockServer::start().await;
        let (lat, lng) = (tutorial::LAT, tutorial::LNG);
        Mock::given(method("GET"))
            .and(path_regex("^/api/v2/properties/client/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&oz)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": [
                {"id": "b1", "name": "CTO-1", "lat": lat, "lng": lng},
                {"id": "b2", "name": "CTO-2", "lat": lat, "lng": lng}]})))
            .mount(&oz)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/splitters"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": [
                {"id": "s1", "isDrop": true, "connectables": {"output": [null]}}]})))
            .mount(&oz)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v2/properties"))
            .respond_with(ResponseTemplate::new(422).set_body_json(
                json!({"issues": [{"code": "invalid_type", "path": ["project"], "message": "Required"}]}),
            ))
            .expect(1)
            .mount(&oz)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v2/prospects"))
            .respond_with(ResponseTemplate::new(201))
            .expect(0)
            .mount(&oz)
            .await;

        let r = rig(&[]).await;
        row_from_a_mobile(&r.store, "123", "2025061200000003").await;
        let outbox = Outbox::new(
            ivr_core::prompts::Prompts::shipped("pt-BR").unwrap(),
            Arc::new(Notify::new()),
        );
        let w = Worker {
            ozmap: ozmap_client::mock::client_for(&oz, 2000),
            outbox: Some(outbox),
            health: Default::default(),
            chat: None,
            ..worker(&r, WorkerSettings::default(), Duration::from_secs(2))
        };
        let claim = r.store.claim_due(now_ms(), 60_000).await.unwrap().unwrap();
        assert_eq!(w.process(claim).await, AttemptEnd::Answered);
        let dead = r
            .store
            .list_reservations(Some(LedgerStatus::Dead), 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "a dead letter");
        let err = dead[0].last_error.as_deref().unwrap_or_default();
        assert!(err.contains("field `project`"), "{err}");
        assert_eq!(dead[0].attempts, 1, "not retried");
        let messages = r.store.list_messages(None, 10).await.unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].kind, "failed", "the caller is told it is kept");
        oz.verify().await;
    }
}
