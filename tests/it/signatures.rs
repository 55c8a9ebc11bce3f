//! Where the platforms' signing differs, over real HTTP: a Telnyx signature is
//! accepted at one URL only (Telnyx does not sign the URL), where the
//! platform's retry gets the same answer, and its timestamp is digits only.

use super::security::{
    Answer, assert_empty_response, call_state, gather_action, p, params, post, refused,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use std::time::{SystemTime, UNIX_EPOCH};
use test_support::*;

fn telnyx_headers(
    key: &SigningKey,
    form: &[(String, String)],
    ts: &str,
) -> Vec<(&'static str, String)> {
    let body = serde_urlencoded::to_string(form).unwrap();
    let sig = key.sign(format!("{ts}|{body}").as_bytes());
    vec![
        ("telnyx-signature-ed25519", STANDARD.encode(sig.to_bytes())),
        ("telnyx-timestamp", ts.to_string()),
    ]
}

async fn telnyx_app(key: &SigningKey) -> TestApp {
    let public = STANDARD.encode(key.verifying_key().to_bytes());
    TestApp::spawn(&[&format!("--telnyx-public-key={public}")]).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn assert_refused(a: &Answer, what: &str) {
    assert_eq!(a.status, 403, "{what}: {}", a.body);
    assert_empty_response(&a.body);
}

#[tokio::test]
async fn a_telnyx_retry_at_the_same_url_gets_the_same_answer_and_another_url_is_refused() {
    let key = SigningKey::from_bytes(&[43u8; 32]);
    let app = telnyx_app(&key).await;
    let sid = "v2:T0J-replay-call_1";
    let form = params(sid);
    let headers = telnyx_headers(&key, &form, &now().to_string());
    let first = post(&app.voice_url, &form, &headers).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The greeting stores nothing; the call is held in memory until it answers.
    assert!(app.state.greeted_unstored(sid));
    // The platform retries the greeting (its answer was lost): the same
    // document again.
    let again = post(&app.voice_url, &form, &headers).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert!(app.state.greeted_unstored(sid));
    assert!(call_state(&app, sid).await.is_none());

    // The caller answers the greeting; the platform posts it twice.
    let answer_url = gather_action(&first.body);
    let mut answer = form.clone();
    answer.push(p("Digits", "321"));
    let signed = telnyx_headers(&key, &answer, &(now() + 1).to_string());
    let step = post(&answer_url, &answer, &signed).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("321"), "{}", step.body);
    let moved = call_state(&app, sid)
        .await
        .expect("stored at its first answer");
    let retried = post(&answer_url, &answer, &signed).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body, step.body);
    assert_eq!(
        call_state(&app, sid).await.as_ref(),
        Some(&moved),
        "moved once"
    );
    assert_eq!(refused(&app), 0);

    // The same signed bodies at another URL (Telnyx does not sign the URL, so
    // only the record of where each signature was used refuses them).
    let other_step = format!("{}/voice/answer?seq=2", app.base_url);
    for (what, url, form, headers) in [
        (
            "greeting at another step",
            other_step.as_str(),
            &form,
            &headers,
        ),
        (
            "answer at another step",
            other_step.as_str(),
            &answer,
            &signed,
        ),
        (
            "answer with a query added",
            &format!("{answer_url}&x=1"),
            &answer,
            &signed,
        ),
        (
            "answer at the greeting URL",
            &app.voice_url,
            &answer,
            &signed,
        ),
    ] {
        let a = post(url, form, headers).await;
        assert_refused(&a, what);
        assert_eq!(call_state(&app, sid).await.as_ref(), Some(&moved), "{what}");
    }
    assert_eq!(refused(&app), 4);
    // Still the platform's retry at the first URL, after those refusals.
    let retried = post(&answer_url, &answer, &signed).await;
    assert_eq!((retried.status, &retried.body), (200, &step.body));
    // A new signature over the same body (another timestamp) is a new request.
    let fresh = telnyx_headers(&key, &form, &(now() + 2).to_string());
    let a = post(&other_step, &form, &fresh).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn a_telnyx_timestamp_with_a_sign_is_refused() {
    let key = SigningKey::from_bytes(&[44u8; 32]);
    let app = telnyx_app(&key).await;
    let form = params("v2:T0J-plus-call_1");
    let a = post(
        &app.voice_url,
        &form,
        &telnyx_headers(&key, &form, &format!("+{}", now())),
    )
    .await;
    assert_refused(&a, "+timestamp");
    assert_eq!(refused(&app), 1);
    assert!(call_state(&app, "v2:T0J-plus-call_1").await.is_none());
}
