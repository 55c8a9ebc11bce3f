//! `GET /admin/reservations` and `GET /admin/reservations/{id}`: the ledger as
//! JSON for operators, off without `IVR_ADMIN_TOKEN` (404), and behind
//! `Authorization: Bearer <token>` with it (401 otherwise). Black-box: the real
//! service in process, a call walked by the TwiML executor, the sandbox as OZmap.

use serde_json::Value;
use test_support::*;

const ADMIN: &str = "s3cret-admin-token-0123456";

async fn get(url: &str, token: Option<&str>) -> (u16, String, reqwest::header::HeaderMap) {
    let mut rb = reqwest::Client::new().get(url);
    if let Some(t) = token {
        rb = rb.header("Authorization", t);
    }
    let r = rb.send().await.expect("the service answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

#[tokio::test]
async fn without_a_token_configured_the_admin_routes_do_not_exist() {
    let app = TestApp::spawn(&[]).await;
    for path in ["/admin/reservations", "/admin/reservations/1"] {
        let url = format!("{}{path}", app.base_url);
        let (status, _, _) = get(&url, None).await;
        assert_eq!(status, 404, "{path}");
        let (status, _, _) = get(&url, Some("Bearer anything")).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn the_ledger_as_json_behind_a_bearer_token() {
    let app = TestApp::spawn(&[&format!("--admin-token={ADMIN}")]).await;
    let list = format!("{}/admin/reservations", app.base_url);
    let bearer = format!("Bearer {ADMIN}");

    // refused without the right token, and the refusal leaks nothing
    for wrong in [
        None,
        Some("Bearer wrong"),
        Some(ADMIN),
        Some("Basic czNjcmV0"),
        Some("Bearer "),
    ] {
        let (status, body, headers) = get(&list, wrong).await;
        assert_eq!(status, 401, "{wrong:?}");
        assert!(headers.contains_key("www-authenticate"));
        assert!(!body.contains(ADMIN));
    }
    // an empty ledger is an empty array
    let (status, body, headers) = get(&list, Some(&bearer)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim(), "[]");
    assert_eq!(headers["cache-control"], "no-store");

    // one call, one reservation
    app.call(vec![
        keys("123*123"),
        keys("1"),
        say("gabriel marioto"),
        say("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        keys("1"),
    ])
    .await;
    let (status, body, _) = get(&list, Some(&bearer)).await;
    assert_eq!(status, 200);
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    let row = &rows[0];
    assert_eq!(row["status"], "done");
    assert_eq!(row["outcome"], "reserved");
    assert_eq!(row["client_code"], "123|123");
    assert_eq!(row["client_name"], "Gabriel Marioto");
    assert_eq!(row["box_name"], "CTO-AGR-01");
    assert_eq!(row["port"], 3);
    assert_eq!(row["attempts"], 1);
    let property = &app.sandbox.properties()[0];
    assert_eq!(row["property_id"], property["id"]);

    // filters
    let (_, body, _) = get(&format!("{list}?status=done&limit=5"), Some(&bearer)).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap().len(), 1);
    let (_, body, _) = get(&format!("{list}?status=dead"), Some(&bearer)).await;
    assert_eq!(body.trim(), "[]");
    let (status, _, _) = get(&format!("{list}?status="), Some(&bearer)).await;
    assert_eq!(status, 200, "an empty status is no filter");
    for bad in ["?status=lost", "?limit=0", "?limit=100000", "?limit=ten"] {
        let (status, body, _) = get(&format!("{list}{bad}"), Some(&bearer)).await;
        assert_eq!(status, 400, "{bad}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].is_string(), "{bad}: {body}");
    }

    // one row
    let id = row["id"].as_i64().unwrap();
    let (status, body, _) = get(&format!("{list}/{id}"), Some(&bearer)).await;
    assert_eq!(status, 200);
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(&one, row);
    let (status, _, _) = get(&format!("{list}/{}", id + 1000), Some(&bearer)).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&format!("{list}/abc"), Some(&bearer)).await;
    assert_eq!(status, 400);
    let (status, _, _) = get(&format!("{list}/{id}"), Some("Bearer nope")).await;
    assert_eq!(status, 401);
}
