//! The reservation body against the official SDK's `CreatePropertyDTOSchema`, and
//! how a refused request is told from a box that cannot take the client.

use super::tests::reserve;
use super::tests::*;
use super::*;
use ivr_core::tutorial::{CLIENT_CODE, CLIENT_NAME, LAT, LNG, POSTAL_ADDRESS};
use ozmap_client::mock::client_for;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// The fields `CreatePropertyDTOSchema` (`@ozmap/ozmap-sdk` 1.1.8) requires, as
/// listed in `shared/reference/ozmap-api.md` ("What the official SDK does on the
/// wire"): it **requires `project`** and models the position as `coords`
/// (`[lng, lat]`). The page names no other required field; the tutorial's own
/// fields (below) are the rest of what the body must carry.
const SDK_REQUIRED: &[&str] = &["project", "coords"];

/// The documented tutorial's fields (`POST /api/v2/properties`).
const TUTORIAL_FIELDS: &[&str] = &[
    "address",
    "lat",
    "lng",
    "observation",
    "box",
    "auto_connect",
    "force",
    "client",
];
const TUTORIAL_CLIENT_FIELDS: &[&str] = &[
    "certified",
    "implanted",
    "status",
    "observation",
    "code",
    "name",
];

/// The one property POST the server received.
async fn the_post(s: &wiremock::MockServer) -> Value {
    let posts: Vec<_> = s
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/api/v2/properties")
        .collect();
    assert_eq!(posts.len(), 1);
    serde_json::from_slice(&posts[0].body).unwrap()
}

#[tokio::test]
async fn the_body_carries_every_field_the_sdk_schema_requires_and_the_tutorials() {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([a_box("b1", "CTO-12")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    post_for_box(
        &s,
        "b1",
        ResponseTemplate::new(201).set_body_json(created("p1", "b1", 2)),
        1,
    )
    .await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert!(
        matches!(out, Ok(ReservationOutcome::Reserved(_))),
        "{out:?}"
    );
    let body = the_post(&s).await;
    let obj = body.as_object().unwrap();

    for field in SDK_REQUIRED.iter().chain(TUTORIAL_FIELDS) {
        assert!(
            obj.get(*field).is_some_and(|v| !v.is_null()),
            "missing {field}: {body}"
        );
    }
    // `project`: the id of the project of the box the procedure picked.
    assert_eq!(body["project"], json!(PROJECT));
    // `coords`: `[lng, lat]`, two numbers, the same position as `lat`/`lng`.
    let coords = body["coords"].as_array().unwrap();
    assert_eq!(coords.len(), 2);
    assert_eq!(coords[0].as_f64(), Some(LNG));
    assert_eq!(coords[1].as_f64(), Some(LAT));
    assert_eq!(body["lat"].as_f64(), Some(LAT));
    assert_eq!(body["lng"].as_f64(), Some(LNG));
    // The tutorial's values, unchanged.
    assert_eq!(body["address"], json!(POSTAL_ADDRESS));
    assert_eq!(body["box"], json!("b1"));
    assert_eq!(body["auto_connect"], json!(true));
    assert_eq!(body["observation"], json!("Reserva de Porta"));
    let client = body["client"].as_object().unwrap();
    for field in TUTORIAL_CLIENT_FIELDS {
        assert!(client.contains_key(*field), "missing client.{field}");
    }
    assert_eq!(client["code"], json!(CLIENT_CODE));
    assert_eq!(client["name"], json!(CLIENT_NAME));
    assert_eq!(client["implanted"], json!(false));
    // Nothing else.
    let expected: Vec<&str> = SDK_REQUIRED
        .iter()
        .chain(TUTORIAL_FIELDS)
        .copied()
        .collect();
    let mut sent: Vec<&str> = obj.keys().map(String::as_str).collect();
    sent.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(sent, want);
    s.verify().await;
}

#[tokio::test]
async fn the_viability_strategy_reads_the_project_from_the_box() {
    let s = server().await;
    no_existing(&s).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/ftth-viability/radius"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"viable": true, "boxes": [{"id": "b3", "name": "CTO-3"}]})),
        )
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes/b3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "b3", "name": "CTO-3", "project": {"id": PROJECT}})),
        )
        .expect(1)
        .mount(&s)
        .await;
    post_for_box(
        &s,
        "b3",
        ResponseTemplate::new(201).set_body_json(created("p3", "b3", 1)),
        1,
    )
    .await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Viability),
        &request(),
    )
    .await;
    assert!(
        matches!(out, Ok(ReservationOutcome::Reserved(_))),
        "{out:?}"
    );
    let body = the_post(&s).await;
    assert_eq!(body["project"], json!(PROJECT));
    assert_eq!(body["coords"], json!([LNG, LAT]));
    s.verify().await;
}

/// Two free boxes; each POST answers its template. Returns the run's result.
async fn two_boxes_answering(
    s: &wiremock::MockServer,
    first: ResponseTemplate,
    second: Option<ResponseTemplate>,
    leads: u64,
) -> Result<ReservationOutcome, ReserveError> {
    no_existing(s).await;
    boxes(s, json!([a_box("b1", "CTO-1"), a_box("b2", "CTO-2")])).await;
    splitters(s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    splitters(
        s,
        "b2",
        json!([free_drop_splitter("s2")]),
        u64::from(second.is_some()),
    )
    .await;
    post_for_box(s, "b1", first, 1).await;
    if let Some(second) = second {
        post_for_box(s, "b2", second, 1).await;
    }
    no_other_post(s).await;
    prospect(s, ResponseTemplate::new(201), leads).await;
    reserve(
        &client_for(s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await
}

#[tokio::test]
async fn a_validation_error_naming_a_field_is_permanent_and_no_other_box_is_tried() {
    for body in [
        // zod, as the SDK's schema would answer.
        json!({"issues": [{"code": "invalid_type", "path": ["project"], "message": "Required"}]}),
        json!({"message": "Path `project` is required."}),
        json!({"errors": {"project": {"kind": "required"}}}),
    ] {
        for status in [400, 422] {
            let s = server().await;
            let out = two_boxes_answering(
                &s,
                ResponseTemplate::new(status).set_body_json(body.clone()),
                None,
                0,
            )
            .await;
            let Err(ReserveError::Permanent(msg)) = &out else {
                panic!("{body} {status}: {out:?}")
            };
            assert!(msg.contains("field `project`"), "{msg}");
            assert!(msg.contains(&status.to_string()), "{msg}");
            for secret in [CLIENT_CODE, CLIENT_NAME, "Delminda"] {
                assert!(!msg.contains(secret), "{msg}");
            }
            s.verify().await;
        }
    }
}

#[tokio::test]
async fn the_same_validation_error_from_every_box_is_permanent_and_no_lead() {
    let s = server().await;
    let same = || ResponseTemplate::new(400).set_body_json(json!({"message": "Bad Request"}));
    let out = two_boxes_answering(&s, same(), Some(same()), 0).await;
    let Err(ReserveError::Permanent(msg)) = &out else {
        panic!("{out:?}")
    };
    assert!(
        msg.contains("all 2 boxes") && msg.contains("Bad Request"),
        "{msg}"
    );
    s.verify().await;
}

#[tokio::test]
async fn full_boxes_still_mean_no_coverage_and_a_lead() {
    // Different refusals, a conflict, or one box alone: the boxes, not the request.
    for (first, second) in [
        (
            ResponseTemplate::new(422).set_body_json(json!({"message": "Caixa cheia"})),
            ResponseTemplate::new(422).set_body_json(json!({"message": "Porta bloqueada"})),
        ),
        (
            ResponseTemplate::new(409).set_body_json(json!({"message": "Sem portas"})),
            ResponseTemplate::new(409).set_body_json(json!({"message": "Sem portas"})),
        ),
    ] {
        let s = server().await;
        let out = two_boxes_answering(&s, first, Some(second), 1).await;
        assert_eq!(out, Ok(ReservationOutcome::NotViable));
        s.verify().await;
    }
}

#[tokio::test]
async fn a_refused_request_is_logged_at_error_naming_the_field_and_nothing_personal() {
    use tracing::instrument::WithSubscriber;
    // A scoped subscriber can miss events while other tests (without one) race on
    // the same callsites' interest cache: try the scenario up to three times.
    let mut seen = String::new();
    for _ in 0..3 {
        let s = server().await;
        let buf = Captured::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("ozmap_ivr=trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let refused = ResponseTemplate::new(422).set_body_json(json!({
            "message": "Gabriel Marioto 123|123: invalid",
            "issues": [{"path": ["project"], "message": "Required"}]
        }));
        let out = async {
            tracing::callsite::rebuild_interest_cache();
            two_boxes_answering(&s, refused, None, 0).await
        }
        .with_subscriber(subscriber)
        .await;
        assert!(matches!(out, Err(ReserveError::Permanent(_))), "{out:?}");
        let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        for secret in ["123|123", "Gabriel", "Marioto", "Delminda"] {
            assert!(!logs.contains(secret), "`{secret}` leaked into: {logs}");
        }
        if let Some(line) = logs
            .lines()
            .find(|l| l.contains("ERROR") && l.contains("field=project"))
        {
            assert!(line.contains("status=422"), "{line}");
            return;
        }
        seen = logs;
    }
    panic!("no ERROR line naming the field: {seen}");
}
