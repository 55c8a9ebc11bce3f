//! The texts, each provider's request against a fake API on loopback, how
//! answers are judged, and the sender over a real store: 4xx → dead, 5xx →
//! retried then sent.

use super::*;
use crate::store::{MessageStatus, Store, now_ms};
use ivr_core::domain::{ClientCode, ReservationRequest, ReservedPort};
use ivr_core::flow::Call;
use ivr_core::tutorial;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use test_support::TestDb;
use wiremock::matchers::{basic_auth, bearer_token, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLER: &str = "+5548999990000";
const PROTOCOL: &str = "2025061200000042";

fn request(phone: Option<&str>) -> ReservationRequest {
    ReservationRequest {
        phone: phone.map(str::to_string),
        protocol: Some(PROTOCOL.into()),
        ..tutorial::request_for(ClientCode::parse("123|123").unwrap())
    }
}

fn port(n: Option<i64>) -> ReservedPort {
    ReservedPort {
        property_id: "prop-1".into(),
        box_id: "box-1".into(),
        box_name: ivr_core::domain::BoxName::parse("CTO-AGR-01"),
        port: n,
    }
}

fn outbox(lang: &str) -> Outbox {
    Outbox::new(
        Prompts::shipped(lang).unwrap(),
        Arc::new(tokio::sync::Notify::new()),
    )
}

#[test]
fn each_outcome_has_its_text_with_the_protocol() {
    let o = outbox("pt-BR");
    let req = request(Some(CALLER));
    let m = o
        .outcome(&req, &ReservationOutcome::Reserved(port(Some(3))))
        .unwrap();
    assert_eq!((m.kind, m.phone.as_str()), (KIND_RESERVED, CALLER));
    assert!(
        m.body.starts_with(&format!("Protocolo {PROTOCOL}:")),
        "{}",
        m.body
    );
    assert!(m.body.contains("porta 3 da caixa CTO-AGR-01"), "{}", m.body);
    let m = o
        .outcome(&req, &ReservationOutcome::Reserved(port(None)))
        .unwrap();
    assert!(
        m.body.contains("uma porta na caixa CTO-AGR-01"),
        "{}",
        m.body
    );
    let m = o
        .outcome(&req, &ReservationOutcome::Existing(port(Some(5))))
        .unwrap();
    assert_eq!(m.kind, KIND_EXISTING);
    assert!(m.body.contains("já tem a porta 5"), "{}", m.body);
    let m = o.outcome(&req, &ReservationOutcome::NotViable).unwrap();
    assert_eq!(m.kind, KIND_NOT_VIABLE);
    assert!(m.body.contains("interesse") && m.body.contains(PROTOCOL));
    let m = o.failure(&req).unwrap();
    assert_eq!(m.kind, KIND_FAILED);
    assert!(m.body.contains("retornar a ligação") && m.body.contains(PROTOCOL));
    let en = outbox("en-US")
        .outcome(&req, &ReservationOutcome::Existing(port(None)))
        .unwrap();
    assert!(
        en.body.starts_with(&format!("Protocol {PROTOCOL}:")),
        "{}",
        en.body
    );
}

#[test]
fn the_texts_fit_in_three_sms_parts_with_a_long_box_name() {
    let o = outbox("pt-BR");
    let req = request(Some(CALLER));
    let long = ReservedPort {
        box_name: ivr_core::domain::BoxName::parse("CTO-AGR-01-SPL-B"),
        ..port(Some(16))
    };
    for outcome in [
        ReservationOutcome::Reserved(long.clone()),
        ReservationOutcome::Existing(long),
        ReservationOutcome::NotViable,
    ] {
        let body = o.outcome(&req, &outcome).unwrap().body;
        // UCS-2 (accents): 67 characters per part of a long message
        assert!(
            body.chars().count() <= 3 * 67,
            "{} chars: {body}",
            body.len()
        );
    }
}

#[test]
fn no_message_for_a_number_that_takes_no_sms() {
    let o = outbox("pt-BR");
    let outcome = ReservationOutcome::Reserved(port(Some(3)));
    for phone in [
        None,
        Some("anonymous"),
        Some("sip:someone@pbx.example.com"),
        Some("+554833334444"),
        Some("+266696687"),
    ] {
        assert!(o.outcome(&request(phone), &outcome).is_none(), "{phone:?}");
        assert!(o.failure(&request(phone)).is_none(), "{phone:?}");
    }
}

fn twilio(server: &MockServer, timeout: Duration) -> Provider {
    let s = ProviderSettings::Twilio {
        api: url::Url::parse(&server.uri()).unwrap(),
        account_sid: "AC0123".into(),
        auth_token: SecretString::from("tw-token"),
        from: "+5548988880000".into(),
    };
    Provider::build(&s, timeout).unwrap().unwrap()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap()
}

#[tokio::test]
async fn twilio_gets_a_form_with_basic_auth_and_its_sid_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0123/Messages.json"))
        .and(basic_auth("AC0123", "tw-token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": "SM42", "status": "queued"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let id = twilio(&server, Duration::from_secs(2))
        .send(CALLER, "Protocolo 1: olá")
        .await;
    assert_eq!(id, Ok(Some("SM42".into())));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        form(&reqs[0].body),
        vec![
            ("To".into(), CALLER.into()),
            ("From".into(), "+5548988880000".into()),
            ("Body".into(), "Protocolo 1: olá".into()),
        ]
    );
}

#[tokio::test]
async fn signalwire_gets_the_laml_path_with_project_and_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/laml/2010-04-01/Accounts/proj-1/Messages.json"))
        .and(basic_auth("proj-1", "sw-token"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "sw-msg-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let s = ProviderSettings::SignalWire {
        space: url::Url::parse(&format!("{}/", server.uri())).unwrap(),
        project_id: "proj-1".into(),
        api_token: SecretString::from("sw-token"),
        from: "+5548988880000".into(),
    };
    let p = Provider::build(&s, Duration::from_secs(2))
        .unwrap()
        .unwrap();
    assert_eq!(p.send(CALLER, "oi").await, Ok(Some("sw-msg-1".into())));
    let reqs = server.received_requests().await.unwrap();
    let f = form(&reqs[0].body);
    assert!(f.contains(&("To".into(), CALLER.into())), "{f:?}");
    assert!(f.contains(&("Body".into(), "oi".into())), "{f:?}");
}

#[tokio::test]
async fn telnyx_gets_json_with_a_bearer_key_and_its_id_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/messages"))
        .and(bearer_token("KEY-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"id": "40385f64-5717", "type": "SMS"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = ProviderSettings::Telnyx {
        api: url::Url::parse(&server.uri()).unwrap(),
        api_key: SecretString::from("KEY-1"),
        from: "+5548988880000".into(),
    };
    let p = Provider::build(&s, Duration::from_secs(2))
        .unwrap()
        .unwrap();
    assert_eq!(p.send(CALLER, "oi").await, Ok(Some("40385f64-5717".into())));
    let reqs = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        body,
        json!({"from": "+5548988880000", "to": CALLER, "text": "oi"})
    );
}

/// What a send's result should be.
type Judge = fn(&Result<Option<String>, SendError>) -> bool;

#[tokio::test]
async fn answers_are_judged_refused_retried_or_sent() {
    let server = MockServer::start().await;
    let p = twilio(&server, Duration::from_millis(300));
    let answer = |status: u16, body: serde_json::Value| {
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(status).set_body_json(body))
    };
    let cases: Vec<(u16, serde_json::Value, Judge)> = vec![
        (
            400,
            json!({"code": 21211, "message": "The 'To' number +5548999990000 is not a valid phone number.", "status": 400}),
            |r| matches!(r, Err(SendError::Refused(e)) if e.contains("HTTP 400: 21211") && !e.contains("99990000") && e.contains("***…00")),
        ),
        (
            401,
            json!({"code": 20003, "message": "Authenticate"}),
            |r| matches!(r, Err(SendError::Refused(_))),
        ),
        (
            429,
            json!({}),
            |r| matches!(r, Err(SendError::Retry(e)) if e.contains("429")),
        ),
        (500, json!({}), |r| matches!(r, Err(SendError::Retry(_)))),
        (503, json!({}), |r| matches!(r, Err(SendError::Retry(_)))),
        (201, json!("not an object"), |r| *r == Ok(None)),
    ];
    for (status, body, ok) in cases {
        server.reset().await;
        answer(status, body).mount(&server).await;
        let r = p.send(CALLER, "x").await;
        assert!(ok(&r), "{status}: {r:?}");
    }
    // too slow: a timeout is retried
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    assert!(
        matches!(p.send(CALLER, "x").await, Err(SendError::Retry(e)) if e.contains("timed out"))
    );
    // nobody listening: retried
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = ProviderSettings::Telnyx {
        api: url::Url::parse(&format!("http://{closed}")).unwrap(),
        api_key: SecretString::from("k"),
        from: "+5548988880000".into(),
    };
    let p = Provider::build(&s, Duration::from_secs(1))
        .unwrap()
        .unwrap();
    assert!(matches!(
        p.send(CALLER, "x").await,
        Err(SendError::Retry(_))
    ));
    assert!(matches!(
        provider::refusal("telnyx", StatusCode::UNPROCESSABLE_ENTITY, r#"{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"+5548999990000"}]}"#),
        SendError::Refused(e) if e.contains("40310 Invalid 'to' address ***…00")
    ));
}

#[test]
fn scrub_masks_long_digit_runs_only() {
    assert_eq!(
        provider::scrub("to +5548999990000 (code 21211)"),
        "to ***…00 (code 21211)"
    );
    assert_eq!(provider::scrub("id 123456 x"), "id ***…56 x");
    assert_eq!(provider::scrub("a + b 12345"), "a + b 12345");
}

mod with_a_store {
    use super::*;

    struct Rig {
        store: Store,
        server: MockServer,
        _db: TestDb,
    }

    /// A store with one finished ledger row and its message, and a fake Twilio.
    async fn rig() -> Rig {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let call = Call::new(None);
        store.create_call("CA1", &call, "x", 1).await.unwrap();
        let req = request(Some(CALLER));
        store
            .advance_call("CA1", 1, &call, "y", Some(&req), 1)
            .await
            .unwrap();
        let claim = store.claim_due(now_ms(), 60_000).await.unwrap().unwrap();
        let outcome = ReservationOutcome::Reserved(port(Some(3)));
        let msg = outbox("pt-BR").outcome(&req, &outcome);
        assert!(
            store
                .settle_reservation(
                    &claim,
                    crate::outbox::Settle::Done(outcome.clone()),
                    msg,
                    now_ms()
                )
                .await
                .unwrap()
        );
        Rig {
            store,
            server: MockServer::start().await,
            _db: db,
        }
    }

    fn settings() -> SenderSettings {
        SenderSettings {
            lease_ms: 10_000,
            max_attempts: 3,
            backoff_base_ms: 10,
            backoff_max_ms: 40,
            idle_poll_ms: 10,
            shutdown_grace_ms: 1_000,
        }
    }

    fn sender(r: &Rig, settings: SenderSettings) -> Sender {
        Sender {
            store: r.store.clone(),
            provider: twilio(&r.server, Duration::from_secs(2)),
            settings,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    async fn only_message(store: &Store) -> crate::store::Message {
        let all = store.list_messages(None, 10).await.unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn a_4xx_is_a_dead_letter_at_once() {
        let r = rig().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient"}),
            ))
            .expect(1)
            .mount(&r.server)
            .await;
        let claim = r
            .store
            .claim_message(now_ms(), 10_000)
            .await
            .unwrap()
            .unwrap();
        sender(&r, settings()).deliver(claim).await;
        let m = only_message(&r.store).await;
        assert_eq!((m.status, m.attempts), (MessageStatus::Dead, 1));
        assert!(
            m.last_error.as_deref().unwrap().contains("21610"),
            "{:?}",
            m.last_error
        );
        assert_eq!(m.protocol.as_deref(), Some(PROTOCOL));
        // nothing is due any more
        assert!(
            r.store
                .claim_message(now_ms() + 60_000, 10_000)
                .await
                .unwrap()
                .is_none()
        );
        // an operator sends it back
        assert!(r.store.requeue_message(m.id, now_ms()).await.unwrap());
        assert!(!r.store.requeue_message(m.id, now_ms()).await.unwrap());
        assert!(
            r.store
                .claim_message(now_ms(), 10_000)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_5xx_is_retried_with_backoff_then_sent_once() {
        let r = rig().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&r.server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM9"})))
            .mount(&r.server)
            .await;
        let (stop, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(sender(&r, settings()).run(rx));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while only_message(&r.store).await.status != MessageStatus::Sent {
            assert!(std::time::Instant::now() < deadline, "never sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        task.await.unwrap();
        let m = only_message(&r.store).await;
        assert_eq!(m.attempts, 3);
        assert_eq!(m.provider_id.as_deref(), Some("SM9"));
        assert_eq!(m.last_error, None);
        assert_eq!(r.server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn out_of_attempts_is_a_dead_letter() {
        let r = rig().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&r.server)
            .await;
        let s = sender(&r, settings());
        for _ in 0..3 {
            let claim = r
                .store
                .claim_message(now_ms() + 1_000, 10_000)
                .await
                .unwrap()
                .expect("due again after the backoff");
            s.deliver(claim).await;
        }
        let m = only_message(&r.store).await;
        assert_eq!((m.status, m.attempts), (MessageStatus::Dead, 3));
        assert!(m.last_error.unwrap().contains("after 3 attempts"));
    }

    #[tokio::test]
    async fn a_sender_whose_lease_ran_out_cannot_record_over_the_next_one() {
        let r = rig().await;
        let now = now_ms();
        let first = r.store.claim_message(now, 1_000).await.unwrap().unwrap();
        assert!(
            r.store
                .claim_message(now + 500, 1_000)
                .await
                .unwrap()
                .is_none()
        );
        // the first sender crashed in the request: taken over after the lease
        let second = r
            .store
            .claim_message(now + 1_001, 1_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.message.id, first.message.id);
        assert!(
            !r.store
                .settle_message(&first, crate::outbox::Settle::Done(Some("SM1".into())), now)
                .await
                .unwrap()
        );
        assert!(
            r.store
                .settle_message(
                    &second,
                    crate::outbox::Settle::Done(Some("SM2".into())),
                    now
                )
                .await
                .unwrap()
        );
        let m = only_message(&r.store).await;
        assert_eq!(m.provider_id.as_deref(), Some("SM2"));
        let counts = r.store.message_counts().await.unwrap();
        assert!(counts.contains(&(MessageStatus::Sent, 1)), "{counts:?}");
        assert!(counts.contains(&(MessageStatus::Pending, 0)), "{counts:?}");
    }
}
