//! The reservation body against the official SDK's `CreatePropertyDTOSchema`, and
//! how a refused request is told from a box that cannot take the client.

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
