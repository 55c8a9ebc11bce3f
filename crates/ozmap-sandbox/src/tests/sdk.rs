//! What the official SDK (`@ozmap/ozmap-sdk`) sends, as opposed to the wiki's curl
//! examples: the property body of its `CreatePropertyDTOSchema` and list filters
//! as a JSON body on the GET.

use super::*;

const PROJECT: &str = "5da62201493d9c0006665500";

#[tokio::test]
async fn the_property_body_with_project_and_coords_is_accepted() {
    let fx = spawn().await;
    // The service's body: the tutorial's fields plus `project` and `coords`.
    let mut body = tutorial_body("1|1", TUTORIAL_BOX, true);
    body["project"] = json!(PROJECT);
    body["coords"] = json!([T_LNG, T_LAT]);
    let (status, answer) = fx.post("/properties", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // What the SDK's schema leaves after zod strips `lat`/`lng`.
    let mut sdk = tutorial_body("2|2", TUTORIAL_BOX, true);
    let o = sdk.as_object_mut().unwrap();
    o.remove("lat");
    o.remove("lng");
    o.insert("project".into(), json!(PROJECT));
    o.insert("coords".into(), json!([T_LNG, T_LAT]));
    let (status, answer) = fx.post("/properties", &sdk).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(fx.srv.properties().len(), 2);
    fx.srv.stop().await;
}

#[tokio::test]
async fn a_project_that_is_not_an_id_or_coords_elsewhere_is_refused() {
    let fx = spawn().await;
    let mut body = tutorial_body("1|1", TUTORIAL_BOX, true);
    body["project"] = json!(12);
    let (status, answer) = fx.post("/properties", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["message"].as_str().unwrap().contains("project"));

    let mut body = tutorial_body("1|1", TUTORIAL_BOX, true);
    body["coords"] = json!([T_LAT, T_LNG]); // swapped
    let (status, answer) = fx.post("/properties", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["message"].as_str().unwrap().contains("coords"));
    assert!(fx.srv.properties().is_empty());
    fx.srv.stop().await;
}
