//! The client of a property: read by id, activated by a PATCH that sets
//! `implanted`, gone with its property.

use super::*;

async fn patch(fx: &Fx, path: &str, body: &Value) -> StatusCode {
    fx.http
        .patch(fx.url(path))
        .header("Authorization", TOKEN)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_patch_implants_the_client_and_a_get_shows_it() {
    let fx = spawn().await;
    let (_, p) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    let client = p["client"].as_str().unwrap().to_string();
    let (status, c) = fx.get(&format!("/ftth-clients/{client}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        c["implanted"],
        json!(false),
        "a reserved client is not implanted"
    );
    assert_eq!(c["code"], json!("123|123"));
    assert_eq!(fx.srv.client_implanted(), vec![("123|123".into(), false)]);

    let path = format!("/ftth-clients/{client}");
    assert_eq!(
        patch(&fx, &path, &json!({"implanted": true})).await,
        StatusCode::NO_CONTENT
    );
    let (_, c) = fx.get(&path, &[]).await;
    assert_eq!(c["implanted"], json!(true));
    assert_eq!(fx.srv.client_implanted(), vec![("123|123".into(), true)]);
    // The same PATCH again changes nothing and still answers 204.
    assert_eq!(
        patch(&fx, &path, &json!({"implanted": true})).await,
        StatusCode::NO_CONTENT
    );
    let (_, found) = fx.get("/properties/client/123%7C123", &[]).await;
    assert_eq!(found[0]["client"]["implanted"], json!(true));
    fx.srv.stop().await;
}

#[tokio::test]
async fn bad_patches_and_unknown_clients_are_refused() {
    let fx = spawn().await;
    let (_, p) = fx
        .post("/properties", &tutorial_body("7", TUTORIAL_BOX, true))
        .await;
    let path = format!("/ftth-clients/{}", p["client"].as_str().unwrap());
    for body in [
        json!({"implanted": "yes"}),
        json!({"code": "8"}),
        json!([true]),
        json!({"status": 7}),
    ] {
        assert_eq!(
            patch(&fx, &path, &body).await,
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }
    assert_eq!(fx.srv.client_implanted(), vec![("7".into(), false)]);
    assert_eq!(
        patch(
            &fx,
            "/ftth-clients/0123456789abcdef01234567",
            &json!({"implanted": true})
        )
        .await,
        StatusCode::NOT_FOUND
    );
    // The client goes with its property.
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        fx.delete(&format!("/properties/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(&fx, &path, &json!({"implanted": true})).await,
        StatusCode::NOT_FOUND
    );
    let (status, _) = fx.get(&path, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    fx.srv.stop().await;
}

#[tokio::test]
async fn a_hanging_delete_frees_the_port_and_never_answers() {
    let fx = spawn().await;
    let (_, p) = fx
        .post("/properties", &tutorial_body("9", TUTORIAL_BOX, true))
        .await;
    let id = p["id"].as_str().unwrap().to_string();
    fx.srv.faults().set_delete_hang_after_commit(true);
    let late = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
        .delete(fx.url(&format!("/properties/{id}")))
        .header("Authorization", TOKEN)
        .send()
        .await;
    assert!(late.is_err_and(|e| e.is_timeout()));
    assert!(fx.srv.live_properties().is_empty(), "deleted all the same");
    fx.srv.faults().reset();
    assert_eq!(
        fx.delete(&format!("/properties/{id}")).await,
        StatusCode::NOT_FOUND
    );
    fx.srv.stop().await;
}
