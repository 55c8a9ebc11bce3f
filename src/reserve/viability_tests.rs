//! No box can take the client (the lead), and the `ftth-viability/radius`
//! strategy, against a mock OZmap.

use super::tests::reserve;
use super::tests::*;
use super::*;
use ivr_core::domain::ReservedPort;
use ozmap_client::mock::client_for;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn no_box_in_range_records_the_lead() {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([])).await;
    no_other_post(&s).await;
    prospect(
        &s,
        ResponseTemplate::new(201).set_body_json(json!({"id": "l1"})),
        1,
    )
    .await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert_eq!(out, Ok(ReservationOutcome::NotViable));
    s.verify().await;
}

#[tokio::test]
async fn all_boxes_refusing_records_the_lead() {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([a_box("b1", "CTO-1")])).await;
    splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
    post_for_box(&s, "b1", ResponseTemplate::new(400), 1).await;
    prospect(&s, ResponseTemplate::new(201), 1).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert_eq!(out, Ok(ReservationOutcome::NotViable));
    s.verify().await;
}

#[tokio::test]
async fn a_transient_lead_failure_is_transient() {
    let s = server().await;
    no_existing(&s).await;
    boxes(&s, json!([])).await;
    prospect(&s, ResponseTemplate::new(503), 1).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Boxes),
        &request(),
    )
    .await;
    assert!(matches!(out, Err(ReserveError::Transient(_))), "{out:?}");
    s.verify().await;
}

async fn viability_answer(s: &MockServer, body: Value) {
    Mock::given(method("GET"))
        .and(path("/api/v2/ftth-viability/radius"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(s)
        .await;
}

#[tokio::test]
async fn viability_strategy_tries_the_nearest_candidate_first() {
    let s = server().await;
    no_existing(&s).await;
    viability_answer(
        &s,
        json!({"viable": true, "boxes": [
            {"id": "far", "name": "CTO-F", "distance": 150.0},
            {"id": "near", "name": "CTO-N", "distance": 20.0}
        ], "not_viable": [{"id": "nv"}]}),
    )
    .await;
    post_for_box(&s, "near", ResponseTemplate::new(409), 1).await;
    post_for_box(
        &s,
        "far",
        ResponseTemplate::new(201).set_body_json(created("p1", "far", 4)),
        1,
    )
    .await;
    no_other_post(&s).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Viability),
        &request(),
    )
    .await;
    assert_eq!(
        out,
        Ok(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p1".into(),
            box_id: "far".into(),
            box_name: name("CTO-F"),
            port: Some(4),
        }))
    );
    s.verify().await;
}

#[tokio::test]
async fn viability_strategy_reads_a_wrapped_answer_and_asks_for_the_box_name() {
    let s = server().await;
    no_existing(&s).await;
    viability_answer(
        &s,
        json!({"data": {"viable": true, "viableBoxes": [{"box": {"_id": "b7"}, "dist": 40}]}}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes/b7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"_id": "b7", "name": "CTO-7"})),
        )
        .expect(1)
        .mount(&s)
        .await;
    // The answer names the box only by id: the property's own `box` wins.
    post_for_box(
        &s,
        "b7",
        ResponseTemplate::new(201).set_body_json(json!({
            "_id": "p7", "box": "b7", "connections": [{"kind": "Splitter", "port": "6"}]
        })),
        1,
    )
    .await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Viability),
        &request(),
    )
    .await;
    assert_eq!(
        out,
        Ok(ReservationOutcome::Reserved(ReservedPort {
            property_id: "p7".into(),
            box_id: "b7".into(),
            box_name: name("CTO-7"),
            port: Some(6),
        }))
    );
    s.verify().await;
}

#[tokio::test]
async fn viability_strategy_not_viable_records_the_lead() {
    let s = server().await;
    no_existing(&s).await;
    viability_answer(&s, json!({"viable": false, "boxes": [{"id": "b1"}]})).await;
    no_other_post(&s).await;
    prospect(&s, ResponseTemplate::new(201), 1).await;
    let out = reserve(
        &client_for(&s, 1000),
        &settings(Feasibility::Viability),
        &request(),
    )
    .await;
    assert_eq!(out, Ok(ReservationOutcome::NotViable));
    s.verify().await;
}
