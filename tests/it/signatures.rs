//! Where the platforms' signing differs, over real HTTP: a Telnyx signature is
//! accepted once (Telnyx does not sign the URL) and its timestamp is digits only.

use super::security::{Answer, assert_empty_response, call_state, params, post, refused};
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
async fn a_telnyx_signature_is_accepted_once_even_on_another_step() {
    let key = SigningKey::from_bytes(&[43u8; 32]);
    let app = telnyx_app(&key).await;
    let form = params("v2:T0J-replay-call_1");
    let headers = telnyx_headers(&key, &form, &now().to_string());
    let first = post(&app.voice_url, &form, &headers).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The greeting stores nothing; the call is held in memory until it answers.
    assert!(app.state.greeted_unstored("v2:T0J-replay-call_1"));
    let before = call_state(&app, "v2:T0J-replay-call_1").await;
    assert_eq!(refused(&app), 0);
    // The same signed body again: to the same URL, and to another step (the URL
    // is not signed by Telnyx, so only the record of the signature refuses it).
    let again = post(&app.voice_url, &form, &headers).await;
    assert_refused(&again, "same URL");
    let other_step = format!("{}?seq=1", app.voice_url);
    let again = post(&other_step, &form, &headers).await;
    assert_refused(&again, "another step");
    assert_eq!(refused(&app), 2);
    assert_eq!(call_state(&app, "v2:T0J-replay-call_1").await, before);
    // A new signature over the same body (another timestamp) is a new request.
    let fresh = telnyx_headers(&key, &form, &(now() + 1).to_string());
    let a = post(&app.voice_url, &form, &fresh).await;
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
