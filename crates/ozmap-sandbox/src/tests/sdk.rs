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

impl Fx {
    /// A GET carrying a JSON body, as the SDK sends its list filters.
    async fn get_with_body(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> (StatusCode, Value) {
        let res = self
            .http
            .get(self.url(path))
            .query(query)
            .header("Authorization", TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        body_of(res).await
    }
}

fn near_value(radius: f64) -> Value {
    serde_json::from_str(&near(T_LAT, T_LNG, radius)).unwrap()
}

#[tokio::test]
async fn box_find_with_a_near_filter_in_the_body_is_filtered_like_the_query() {
    let fx = spawn().await;
    let all = fx.box_names(&[("limit", "100")]).await;
    let by_query = fx
        .box_names(&[("filter", &near(T_LAT, T_LNG, 300.0)), ("limit", "100")])
        .await;
    assert!(
        !by_query.is_empty() && by_query.len() < all.len(),
        "{by_query:?}"
    );
    // The SDK: `{"filter": [...]}` in the body, page and limit in the query, and
    // the coordinates as numbers.
    let (status, body) = fx
        .get_with_body(
            "/boxes",
            &[("page", "1"), ("limit", "100")],
            &json!({"filter": near_value(300.0)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body["rows"]), by_query, "nearest first, same boxes");
    assert_eq!(body["total"], json!(by_query.len()));
    // A body with an empty filter list, or none, filters nothing.
    let (_, body) = fx
        .get_with_body("/boxes", &[("limit", "100")], &json!({"filter": []}))
        .await;
    assert_eq!(names(&body["rows"]).len(), all.len());
    fx.srv.stop().await;
}

#[tokio::test]
async fn splitter_find_by_parent_in_the_body_lists_only_that_box() {
    let fx = spawn().await;
    let (_, every) = fx.get("/splitters", &[("limit", "100")]).await;
    let total = every["rows"].as_array().unwrap().len();
    let filter = json!([{"property": "parent", "operator": "=", "value": TUTORIAL_BOX}]);
    let (status, body) = fx
        .get_with_body("/splitters", &[("page", "1")], &json!({ "filter": filter }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() < total, "{body}");
    assert!(
        rows.iter().all(|r| r["parent"] == json!(TUTORIAL_BOX)),
        "{body}"
    );
    // The same as the query string.
    let (_, by_query) = fx
        .get("/splitters", &[("filter", &filter.to_string())])
        .await;
    assert_eq!(by_query["rows"], body["rows"]);
    fx.srv.stop().await;
}

#[tokio::test]
async fn body_and_query_filters_both_apply_and_a_bad_body_is_refused() {
    let fx = spawn().await;
    // Near in the query, a name in the body: both hold.
    let (status, body) = fx
        .get_with_body(
            "/boxes",
            &[("filter", &near(T_LAT, T_LNG, 300.0))],
            &json!({"filter": [{"property": "id", "operator": "=", "value": TUTORIAL_BOX}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    assert_eq!(body["rows"][0]["id"], json!(TUTORIAL_BOX));
    // `limit` and `page` may come in the body when the query has none.
    let (_, body) = fx
        .get_with_body("/boxes", &[], &json!({"limit": 2, "page": 2}))
        .await;
    assert_eq!(
        (body["limit"].clone(), body["start"].clone()),
        (json!(2), json!(2))
    );
    for bad in [
        json!("filter"),
        json!({"filter": [{"property": "coords", "operator": "within", "value": 1}]}),
        json!({"filter": 3}),
        json!({"limit": 0}),
    ] {
        let (status, body) = fx.get_with_body("/boxes", &[], &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let res = fx
        .http
        .get(fx.url("/boxes"))
        .header("Authorization", TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    fx.srv.stop().await;
}

#[tokio::test]
async fn answers_follow_the_sdk_documented_shapes() {
    let fx = spawn().await;
    let (_, b) = fx.get(&format!("/boxes/{TUTORIAL_BOX}"), &[]).await;
    assert!(b["pole"].as_str().is_some_and(|p| p.len() == 24), "{b}");
    let filter = json!([{"property": "parent", "operator": "=", "value": TUTORIAL_BOX}]);
    let (_, sp) = fx
        .get("/splitters", &[("filter", &filter.to_string())])
        .await;
    for s in sp["rows"].as_array().unwrap() {
        for (i, port) in s["ports"].as_array().unwrap().iter().enumerate() {
            assert!(port["id"].as_str().is_some_and(|p| p.len() == 24), "{port}");
            assert_eq!(port["index"], json!(i));
            assert!(port["blocked"].is_boolean());
        }
    }
    let (status, _) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = fx.get("/properties/client/123%7C123", &[]).await;
    let p = &list[0];
    assert_eq!(p["client"]["kind"], "FTTHClient");
    assert!(p["pole"].is_string());
    assert!(p["connections"][0]["fiber"].is_string());
    fx.srv.stop().await;
}
