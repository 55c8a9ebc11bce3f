//! A slow tenant: a property committed seconds after its POST, invisible to
//! look-ups until then, its answer too late for the client; and committed twice.

use super::*;

/// A client that gives up after 300 ms, as the service's would after its timeout.
fn impatient() -> Client {
    Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

async fn post_impatiently(fx: &Fx, code: &str) -> reqwest::Error {
    impatient()
        .post(fx.url("/properties"))
        .header("Authorization", TOKEN)
        .json(&tutorial_body(code, TUTORIAL_BOX, true))
        .send()
        .await
        .expect_err("the answer comes after the client gave up")
}

async fn listed(fx: &Fx, code: &str) -> Vec<Value> {
    let (status, found) = fx.get(&format!("/properties/client/{code}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    found.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_late_commit_is_invisible_until_it_happens_and_answered_too_late() {
    let fx = spawn().await;
    fx.srv
        .faults()
        .set_post_fault_once(PostFault::CommitLate { after_ms: 800 });
    let started = Instant::now();
    assert!(post_impatiently(&fx, "71").await.is_timeout());
    // The client has given up; nothing is there yet.
    assert!(listed(&fx, "71").await.is_empty());
    assert!(fx.srv.live_properties().is_empty());
    while fx.srv.live_properties().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never committed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(800));
    let found = listed(&fx, "71").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["connections"][0]["port"], 3);
    // A patient client gets the answer once it commits.
    fx.srv
        .faults()
        .set_post_fault_once(PostFault::CommitLate { after_ms: 200 });
    let (status, answer) = fx
        .post("/properties", &tutorial_body("72", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(listed(&fx, "72").await.len(), 1);
    assert_eq!(fx.srv.property_posts(), 2);
    fx.srv.stop().await;
}

#[tokio::test]
async fn a_late_commit_is_not_refused_for_a_code_committed_meanwhile() {
    let fx = spawn().await;
    fx.srv
        .faults()
        .set_post_fault_once(PostFault::CommitLate { after_ms: 600 });
    assert!(post_impatiently(&fx, "73").await.is_timeout());
    // A second POST for the same code, answered at once.
    let (status, _) = fx
        .post("/properties", &tutorial_body("73", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let found = listed(&fx, "73").await;
    assert_eq!(found.len(), 2, "two properties, two ports, for one client");
    assert_ne!(
        found[0]["connections"][0]["port"],
        found[1]["connections"][0]["port"]
    );
    fx.srv.stop().await;
}

#[tokio::test]
async fn a_post_committed_twice_leaves_two_properties() {
    let fx = spawn().await;
    fx.srv.faults().set_post_fault_once(PostFault::CommitTwice {
        after_ms: 400,
        again_ms: 2_000,
    });
    // The client gives up at 300 ms; looked at about 800 ms after the POST
    // (well between the two commits), then past 2,600 ms.
    assert!(post_impatiently(&fx, "74").await.is_timeout());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(listed(&fx, "74").await.len(), 1, "the first commit");
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let found = listed(&fx, "74").await;
    assert_eq!(found.len(), 2, "and the second");
    assert_ne!(found[0]["id"], found[1]["id"]);
    assert!(found[0]["createdAt"].as_str() <= found[1]["createdAt"].as_str());
    assert_eq!(fx.srv.property_posts(), 1);
    // Deleting the copy frees its port.
    let copy = found[1]["id"].as_str().unwrap();
    assert_eq!(
        fx.delete(&format!("/properties/{copy}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(listed(&fx, "74").await.len(), 1);
    fx.srv.stop().await;
}
