//! The reservation procedure against a mock OZmap.

use super::*;
use ivr_core::domain::ReservedPort;
use ivr_core::tutorial::{self, CLIENT_CODE, CLIENT_NAME, LAT, LNG, PHONE, POSTAL_ADDRESS};
use ozmap_client::mock::{EqFilter, NearFilter, TOKEN, client_for};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The ledger's record of a run's POSTs, in memory: the times sent and how many
/// were refused.
#[derive(Default)]
pub(super) struct Posts {
    pub(super) sent: Mutex<Vec<i64>>,
    pub(super) refused: Mutex<usize>,
}

impl PostLog for Posts {
    async fn sending(&self, at_ms: i64) -> Result<(), String> {
        self.sent.lock().unwrap().push(at_ms);
        Ok(())
    }
    async fn not_landed(&self) -> Result<(), String> {
        *self.refused.lock().unwrap() += 1;
        Ok(())
    }
}

/// A first run of the procedure (no POST sent before): its outcome.
pub(super) async fn reserve(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
) -> Result<ReservationOutcome, ReserveError> {
    let posts = Posts::default();
    let at = Attempt {
        uncertain_since: None,
        log: &posts,
    };
    super::reserve(client, s, req, &at).await.map(|f| {
        assert!(f.removed.is_empty(), "nothing to remove on a first run");
        f.outcome
    })
}

/// A box name, for the expected values.
pub(super) fn name(n: &str) -> Option<BoxName> {
    BoxName::parse(n)
}

/// The look-up of the tutorial's client code (`123|123`).
pub(super) const LOOKUP: &str = "/api/v2/properties/client/123%7C123";

/// The tutorial's reservation: Gabriel Marioto, 123|123, R. Delminda Silveira, 900.
pub(super) fn request() -> ReservationRequest {
    tutorial::request()
}

pub(super) fn settings(strategy: Feasibility) -> ReserveSettings {
    ReserveSettings {
        force: true,
        ..ReserveSettings::new(200, false, strategy)
    }
}

/// The project every test box (see [`a_box`]) belongs to.
pub(super) const PROJECT: &str = "5da61f5b493d9c0006664f4a";

/// The tutorial's body, for a given box, with the SDK's `project` and `coords`.
fn tutorial_body(box_id: &str) -> Value {
    json!({ "address": POSTAL_ADDRESS,
      "lat": LAT, "lng": LNG, "coords": [LNG, LAT], "project": PROJECT,
      "observation": "Reserva de Porta", "box": box_id,
      "auto_connect": true, "force": true,
      "client": { "certified": false, "implanted": false, "status": 0,
                  "observation": "Reserva do Novo Cliente", "code": CLIENT_CODE,
                  "name": CLIENT_NAME } })
}

pub(super) fn created(id: &str, box_id: &str, port: i64) -> Value {
    json!({"id": id, "kind": "Property", "box": box_id, "client": "c1", "drop": "d1",
        "connections": [{"id": "spl", "kind": "Splitter", "name": "SPL-1", "port": port,
                         "fiber": 1, "implanted": false}]})
}

pub(super) fn a_box(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "kind": "Box", "draft": false,
           "coords": [LNG, LAT], "lat": LAT, "lng": LNG, "project": PROJECT})
}

pub(super) fn free_drop_splitter(id: &str) -> Value {
    json!({"id": id, "isDrop": true, "connectables": {"output": ["cable", null]},
           "ports": [{"blocked": false}, {"blocked": false}]})
}

pub(super) async fn server() -> MockServer {
    MockServer::start().await
}

pub(super) async fn no_existing(s: &MockServer) {
    Mock::given(method("GET"))
        .and(path(LOOKUP))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(s)
        .await;
}

pub(super) async fn boxes(s: &MockServer, rows: Value) {
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes"))
        .and(NearFilter {
            lat: LAT,
            lng: LNG,
            radius: 200,
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": rows})))
        .expect(1)
        .mount(s)
        .await;
}

pub(super) async fn splitters(s: &MockServer, box_id: &str, rows: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v2/splitters"))
        .and(EqFilter("parent", box_id.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": rows})))
        .expect(times)
        .mount(s)
        .await;
}

pub(super) async fn post_for_box(
    s: &MockServer,
    box_id: &str,
    answer: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path("/api/v2/properties"))
        .and(body_partial_json(json!({"box": box_id})))
        .respond_with(answer)
        .expect(times)
        .mount(s)
        .await;
}

/// Any property POST not matched by a more specific mock.
pub(super) async fn no_other_post(s: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api/v2/properties"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(10)
        .expect(0)
        .mount(s)
        .await;
}

pub(super) async fn prospect(s: &MockServer, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/v2/prospects"))
        .and(header("authorization", TOKEN))
        .and(body_json(json!({
            "name": CLIENT_NAME, "code": CLIENT_CODE, "phone": PHONE,
            "address": POSTAL_ADDRESS,
            "coords": [LNG, LAT], "viable": false, "observation": "Reserva do Novo Cliente"
        })))
        .respond_with(answer)
        .expect(times)
        .mount(s)
        .await;
}

#[tokio::test]
async fn reserves_the_nearest_free_box_with_the_tutorial_body() {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([a_box("b1", "CTO-12"), a_box("b2", "CTO-13")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    splitters(&s, "b2", json!([free_drop_splitter("s2")]), 0).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/properties"))
        .and(header("authorization", TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(tutorial_body("b1")))
        .respond_with(ResponseTemplate::new(201).set_body_json(created("p1", "b1", 2)))
        .expect(1)
        .mount(&s)
        .await;
    no_other_post(&s).await;
    prospect(&s, ResponseTemplate::new(201), 0).await;

    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert_eq!(
        out,
        Ok(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p1".into(),
            box_id: "b1".into(),
            box_name: name("CTO-12"),
            port: Some(2),
        }))
    );
    s.verify().await;
}

#[tokio::test]
async fn skips_drafts_far_boxes_and_boxes_without_a_usable_drop_port() {
    let s = server().await;
    no_existing(&s).await;
    let mut draft = a_box("draft", "CTO-D");
    draft["draft"] = json!(true);
    let far = json!({"id": "far", "name": "CTO-F", "lat": LAT + 0.05, "lng": LNG});
    boxes(
        &s,
        json!([
            draft,
            far,
            a_box("full", "A"),
            a_box("blocked", "B"),
            a_box("feeder", "C"),
            a_box("good", "CTO-G")
        ]),
    )
    .await;
    splitters(&s, "draft", json!([free_drop_splitter("x")]), 0).await;
    splitters(&s, "far", json!([free_drop_splitter("x")]), 0).await;
    splitters(
        &s,
        "full",
        json!([{"id": "s", "isDrop": true, "connectables": {"output": ["a", "b"]}}]),
        1,
    )
    .await;
    splitters(
        &s,
        "blocked",
        json!([{"id": "s", "isDrop": true, "connectables": {"output": ["a", null]},
                "ports": [{"blocked": false}, {"blocked": true}]}]),
        1,
    )
    .await;
    splitters(
        &s,
        "feeder",
        json!([{"id": "s", "isDrop": false, "connectables": {"output": [null, null]}}]),
        1,
    )
    .await;
    splitters(&s, "good", json!([free_drop_splitter("s")]), 1).await;
    post_for_box(
        &s,
        "good",
        ResponseTemplate::new(201).set_body_json(created("p1", "good", 2)),
        1,
    )
    .await;
    no_other_post(&s).await;

    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    let Ok(ReservationOutcome::Reserved(port)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        (port.box_id.as_str(), port.box_name),
        ("good", name("CTO-G"))
    );
    s.verify().await;
}

#[tokio::test]
async fn a_refused_box_passes_to_the_next() {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([a_box("b1", "CTO-1"), a_box("b2", "CTO-2")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    splitters(&s, "b2", json!([free_drop_splitter("s2")]), 1).await;
    post_for_box(
        &s,
        "b1",
        ResponseTemplate::new(422).set_body_json(json!({"message": "Caixa sem portas"})),
        1,
    )
    .await;
    post_for_box(
        &s,
        "b2",
        ResponseTemplate::new(201).set_body_json(created("p2", "b2", 7)),
        1,
    )
    .await;
    no_other_post(&s).await;
    prospect(&s, ResponseTemplate::new(201), 0).await;

    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert_eq!(
        out,
        Ok(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p2".into(),
            box_id: "b2".into(),
            box_name: name("CTO-2"),
            port: Some(7),
        }))
    );
    s.verify().await;
}

/// Two free boxes; the first POST answers `first`: the second is never tried.
async fn first_post_fails_with(first: ResponseTemplate, timeout_ms: u64) -> ReserveError {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([a_box("b1", "CTO-1"), a_box("b2", "CTO-2")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    splitters(&s, "b2", json!([free_drop_splitter("s2")]), 0).await;
    post_for_box(&s, "b1", first, 1).await;
    post_for_box(&s, "b2", ResponseTemplate::new(201), 0).await;
    prospect(&s, ResponseTemplate::new(201), 0).await;
    let out = reserve(
        &client_for(&s, timeout_ms),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    s.verify().await;
    out.unwrap_err()
}

#[tokio::test]
async fn a_server_error_on_the_post_is_transient_and_not_repeated() {
    let e = first_post_fails_with(ResponseTemplate::new(503), 1000).await;
    assert!(matches!(e, ReserveError::Transient(_)), "{e:?}");
    let e = first_post_fails_with(ResponseTemplate::new(429), 1000).await;
    assert!(e.is_transient(), "{e:?}");
}

#[tokio::test]
async fn a_slow_post_is_transient_and_not_repeated() {
    let slow = ResponseTemplate::new(201)
        .set_body_json(created("p1", "b1", 1))
        .set_delay(Duration::from_millis(600));
    let e = first_post_fails_with(slow, 250).await;
    assert!(matches!(e, ReserveError::Transient(_)), "{e:?}");
}

#[tokio::test]
async fn a_bad_key_on_the_post_is_permanent() {
    let e = first_post_fails_with(ResponseTemplate::new(401), 1000).await;
    assert!(matches!(e, ReserveError::Permanent(_)), "{e:?}");
    assert!(e.to_string().contains("401"), "{e}");
}

#[tokio::test]
async fn a_bad_key_on_the_lookup_is_permanent_and_nothing_is_posted() {
    let s = server().await;
    Mock::given(path(LOOKUP))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&s)
        .await;
    no_other_post(&s).await;
    prospect(&s, ResponseTemplate::new(201), 0).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert!(matches!(out, Err(ReserveError::Permanent(_))), "{out:?}");
    s.verify().await;
}

#[tokio::test]
async fn a_failed_lookup_is_transient_and_nothing_is_posted() {
    let s = server().await;
    Mock::given(path(LOOKUP))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&s)
        .await;
    no_other_post(&s).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert!(matches!(out, Err(ReserveError::Transient(_))), "{out:?}");
    s.verify().await;
}

#[tokio::test]
async fn an_existing_reservation_is_adopted_without_a_post() {
    let s = server().await;
    Mock::given(method("GET"))
        .and(path(LOOKUP))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": "p9", "box": "b9",
            "client": {"id": "c9", "code": "123|123", "name": "Gabriel Marioto"},
            "connections": [{"id": "f", "kind": "Fusion"},
                            {"id": "s", "kind": "Splitter", "name": "SPL", "port": 5}]
        }])))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes/b9"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "b9", "name": "CTO-9"})),
        )
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": []})))
        .expect(0)
        .mount(&s)
        .await;
    no_other_post(&s).await;
    prospect(&s, ResponseTemplate::new(201), 0).await;

    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert_eq!(
        out,
        Ok(ReservationOutcome::Existing(ReservedPort {
            property_id: "p9".into(),
            box_id: "b9".into(),
            box_name: name("CTO-9"),
            port: Some(5),
        }))
    );
    s.verify().await;
}

#[tokio::test]
async fn an_existing_box_is_named_from_the_relation_or_read_and_never_by_its_id() {
    let s = server().await;
    Mock::given(path("/api/v2/properties/client/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"_id": "p1", "box": {"_id": "b1", "name": "CTO-1"}}
        ])))
        .mount(&s)
        .await;
    Mock::given(path("/api/v2/properties/client/2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "p2", "box": "b2", "connections": []}])),
        )
        .mount(&s)
        .await;
    Mock::given(path("/api/v2/boxes/b2"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(path("/api/v2/boxes/b1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&s)
        .await;
    let c = client_for(&s, 1000);
    let first = |code: &'static str| {
        let c = c.clone();
        async move {
            let p = c.properties_by_client(code).await.unwrap().remove(0);
            port_of(&c, p).await.unwrap()
        }
    };
    assert_eq!(
        first("1").await,
        ReservedPort {
            property_id: "p1".into(),
            box_id: "b1".into(),
            box_name: name("CTO-1"),
            port: None,
        }
    );
    // The box cannot be read: no name (the id stays for operators only).
    let p2 = first("2").await;
    assert_eq!((p2.box_id.as_str(), p2.box_name), ("b2", None));
    s.verify().await;
}

#[tokio::test]
async fn an_unreadable_post_answer_is_adopted_by_looking_up() {
    let s = server().await;
    // First look-up: nothing yet; the second one (after the POST) finds it.
    Mock::given(method("GET"))
        .and(path(LOOKUP))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(LOOKUP))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": "p1", "box": {"id": "b1", "name": "CTO-1"},
            "connections": [{"kind": "Splitter", "port": 8}]
        }])))
        .expect(1)
        .mount(&s)
        .await;
    boxes(&s, json!([a_box("b1", "CTO-1")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    post_for_box(
        &s,
        "b1",
        ResponseTemplate::new(201).set_body_string("OK"),
        1,
    )
    .await;
    no_other_post(&s).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert_eq!(
        out,
        Ok(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p1".into(),
            box_id: "b1".into(),
            box_name: name("CTO-1"),
            port: Some(8),
        }))
    );
    s.verify().await;
}

/// A `MakeWriter` into a shared buffer, to read what was logged.
#[derive(Clone, Default)]
pub(super) struct Captured(pub(super) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_and_errors_carry_no_personal_data() {
    use tracing::instrument::WithSubscriber;
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([a_box("b1", "CTO-1")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    post_for_box(
        &s,
        "b1",
        ResponseTemplate::new(422).set_body_json(json!({
            "message": "Cliente 123|123 Gabriel Marioto (+5548999990000) já existe"
        })),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/prospects"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "telefone +5548999990000 de Gabriel Marioto, R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500 inválido"
        })))
        .expect(1)
        .mount(&s)
        .await;

    let buf = Captured::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("ozmap_ivr=trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let client = client_for(&s, 1000);
    let out = reserve(&client, &settings(Feasibility::Boxes), &request())
        .with_subscriber(subscriber)
        .await;
    // A refused lead still ends the call as "not viable".
    assert_eq!(out, Ok(ReservationOutcome::NotViable));
    s.verify().await;

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("b1"), "box ids are logged: {logs}");
    assert!(logs.contains("[redacted]"), "{logs}");
    for secret in [
        "123|123",
        "123%7C123",
        "Gabriel",
        "Marioto",
        "99999",
        "Delminda",
        "Agronômica",
        "88025",
        TOKEN,
    ] {
        assert!(!logs.contains(secret), "`{secret}` leaked into: {logs}");
    }
}
