//! Webhook security over real HTTP: the service on a loopback port with a signing
//! secret, the OZmap sandbox behind it.
//!
//! A signed call goes through; unsigned, forged, replayed-with-changed-parameters,
//! re-targeted and wrong-token requests get 403 with an empty `<Response/>`, leave
//! no trace in call state and send nothing to OZmap. The same for each platform's
//! scheme (Twilio, Twilio shared key, SignalWire, Telnyx), basic auth in the public
//! URL, and the rate limits.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use ivr_tools::caller::CallEnd;
use ozmap_ivr::Store;
use secrecy::SecretString;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};
use test_support::*;
use webhook_signature::twilio_signature;

pub(crate) const AUTH_TOKEN: &str = "twilio-test-auth-token";

pub(crate) fn happy() -> Vec<ivr_tools::caller::Answer> {
    vec![
        keys("123*123"),
        keys("1"),
        say("gabriel marioto"),
        say("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        keys("1"),
    ]
}

pub(crate) fn p(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

pub(crate) fn params(sid: &str) -> Vec<(String, String)> {
    vec![
        p("CallSid", sid),
        p("AccountSid", "AC00000000000000000000000000000000"),
        p("From", "+5548991234567"),
        p("To", "+554833334444"),
        p("CallStatus", "ringing"),
    ]
}

pub(crate) fn sid(n: u32) -> String {
    format!("CA{n:032x}")
}

type Headers = Vec<(&'static str, String)>;

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

pub(crate) async fn post(
    url: &str,
    form: &[(String, String)],
    headers: &[(&str, String)],
) -> Answer {
    let mut rb = reqwest::Client::new().post(url).form(form);
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let res = rb.send().await.expect("the service answers");
    Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

/// `<Response/>` with nothing in it.
pub(crate) fn assert_empty_response(body: &str) {
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(doc.root_element().tag_name().name(), "Response");
    assert_eq!(doc.root_element().children().count(), 0, "{body}");
}

/// The `<Gather action>` of a TwiML answer.
pub(crate) fn gather_action(body: &str) -> String {
    let doc = roxmltree::Document::parse(body).expect("TwiML");
    doc.descendants()
        .find(|n| n.has_tag_name("Gather"))
        .and_then(|g| g.attribute("action"))
        .expect("a Gather with an action")
        .to_string()
}

pub(crate) async fn call_state(app: &TestApp, sid: &str) -> Option<(i64, String)> {
    let store = Store::connect(&app.db.url).await.unwrap();
    store
        .load_call(sid)
        .await
        .unwrap()
        .map(|c| (c.seq, serde_json::to_string(&c.call).unwrap()))
}

pub(crate) fn refused(app: &TestApp) -> u64 {
    app.state.security.bad_signatures.load(Ordering::Relaxed)
}

#[tokio::test]
async fn a_signed_call_goes_through() {
    let app = TestApp::spawn(&[&format!("--twilio-auth-token={AUTH_TOKEN}")]).await;
    let report = app
        .call_with(
            |o| o.auth_token = Some(SecretString::from(AUTH_TOKEN)),
            happy(),
        )
        .await;
    assert!(matches!(report.end, CallEnd::Hangup), "{:?}", report.end);
    assert!(heard(&report).contains("Reservamos"), "{}", heard(&report));
    assert_eq!(app.sandbox.property_posts(), 1);
    assert_eq!(refused(&app), 0);
}

#[tokio::test]
async fn unsigned_forged_wrong_token_and_retargeted_requests_get_403_and_leave_no_trace() {
    let app = TestApp::spawn(&[&format!("--twilio-auth-token={AUTH_TOKEN}")]).await;
    let url = app.voice_url.clone();
    let good = |sid: &str| twilio_signature(AUTH_TOKEN, &url, &params(sid));
    let cases: Vec<(&str, String, Headers)> = vec![
        ("unsigned", sid(1), vec![]),
        (
            "empty signature",
            sid(2),
            vec![("X-Twilio-Signature", String::new())],
        ),
        (
            "forged",
            sid(3),
            vec![("X-Twilio-Signature", STANDARD.encode([7u8; 20]))],
        ),
        (
            "not base64",
            sid(4),
            vec![("X-Twilio-Signature", "%%%not-base64%%%".into())],
        ),
        (
            "wrong token",
            sid(5),
            vec![(
                "X-Twilio-Signature",
                twilio_signature("another-token", &url, &params(&sid(5))),
            )],
        ),
        (
            "signature of another call",
            sid(6),
            vec![("X-Twilio-Signature", good(&sid(99)))],
        ),
        (
            // Signed for a host the sender controls, sent with that Host header:
            // the URL is rebuilt from IVR_PUBLIC_URL, never from Host.
            "signed for another host",
            sid(7),
            vec![
                (
                    "X-Twilio-Signature",
                    twilio_signature(AUTH_TOKEN, "http://evil.example/voice", &params(&sid(7))),
                ),
                ("Host", "evil.example".into()),
                ("X-Forwarded-Host", "evil.example".into()),
                ("X-Forwarded-Proto", "http".into()),
            ],
        ),
        (
            "signed for another route",
            sid(8),
            vec![(
                "X-Twilio-Signature",
                twilio_signature(
                    AUTH_TOKEN,
                    &format!("{}/voice/status", app.base_url),
                    &params(&sid(8)),
                ),
            )],
        ),
    ];
    for (name, sid, headers) in &cases {
        let a = post(&url, &params(sid), headers).await;
        assert_eq!(a.status, 403, "{name}: {}", a.body);
        assert_empty_response(&a.body);
        assert!(
            call_state(&app, sid).await.is_none(),
            "{name}: state written"
        );
    }
    assert_eq!(refused(&app), cases.len() as u64);
    assert_eq!(app.sandbox.property_posts(), 0);
    // A good signature passes even with a lying Host header.
    let a = post(
        &url,
        &params(&sid(9)),
        &[
            ("X-Twilio-Signature", good(&sid(9))),
            ("Host", "evil.example".into()),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(app.state.greeted_unstored(&sid(9)));
}

#[tokio::test]
async fn a_replay_with_changed_parameters_gets_403_and_the_call_does_not_move() {
    let app = TestApp::spawn(&[&format!("--twilio-auth-token={AUTH_TOKEN}")]).await;
    let sid = sid(20);
    let start = params(&sid);
    let sign = |url: &str, form: &[(String, String)]| {
        vec![(
            "X-Twilio-Signature",
            twilio_signature(AUTH_TOKEN, url, form),
        )]
    };
    let a = post(&app.voice_url, &start, &sign(&app.voice_url, &start)).await;
    assert_eq!(a.status, 200);
    // The greeting stores nothing: the call is stored at its first answer.
    let before = call_state(&app, &sid).await;
    assert!(before.is_none());
    assert!(app.state.greeted_unstored(&sid), "the call started");
    // The platform's request for the answer step, as captured by an eavesdropper
    // (the greeting's action URL, with the call's protocol).
    let answer_url = gather_action(&a.body);
    let mut genuine = start.clone();
    genuine.push(p("Digits", "123*123"));
    let signature = sign(&answer_url, &genuine);
    let mut changed = start.clone();
    changed.push(p("Digits", "999*999"));
    let mut added = genuine.clone();
    added.push(p("SpeechResult", "cancelar"));
    let mut dropped = genuine.clone();
    dropped.retain(|(k, _)| k != "From");
    for (name, url, form) in [
        ("changed Digits", answer_url.clone(), &changed),
        ("added parameter", answer_url.clone(), &added),
        ("dropped parameter", answer_url.clone(), &dropped),
        (
            "other step URL",
            format!("{}/voice/answer?seq=2", app.base_url),
            &genuine,
        ),
        ("query added", format!("{answer_url}&x=1"), &genuine),
    ] {
        let a = post(&url, form, &signature).await;
        assert_eq!(a.status, 403, "{name}");
        assert_empty_response(&a.body);
        assert_eq!(
            call_state(&app, &sid).await.as_ref(),
            before.as_ref(),
            "{name}"
        );
    }
    // The genuine request still works once.
    let a = post(&answer_url, &genuine, &signature).await;
    assert_eq!(a.status, 200);
    let after = call_state(&app, &sid).await.unwrap();
    assert_eq!(after.0, 2, "stored at its first answer, moved once");
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn a_signature_over_a_value_longer_than_the_kept_length_is_checked_on_the_whole_value() {
    let app = TestApp::spawn(&[&format!("--twilio-auth-token={AUTH_TOKEN}")]).await;
    let mut form = params(&sid(30));
    form.push(p("SpeechResult", &"palavra ".repeat(600))); // 4800 bytes, kept: 2048
    let sig = twilio_signature(AUTH_TOKEN, &app.voice_url, &form);
    let a = post(&app.voice_url, &form, &[("X-Twilio-Signature", sig)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn twilio_shared_key_signalwire_and_telnyx_signatures_over_http() {
    // Twilio webhook rules: HMAC-SHA256 with a shared key named in a header.
    let app = TestApp::spawn(&["--twilio-webhook-keys=rule1=shared-secret-1"]).await;
    let sign256 = |key: &str, url: &str, form: &[(String, String)]| {
        let payload = webhook_signature::signed_payload(url, form);
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(payload.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    };
    let settings = "key=rule1,algorithm=HMAC_SHA256".to_string();
    let form = params(&sid(40));
    let ok = post(
        &app.voice_url,
        &form,
        &[
            (
                "X-Twilio-Signature",
                sign256("shared-secret-1", &app.voice_url, &form),
            ),
            ("X-Twilio-Webhooks-Signature-Settings", settings.clone()),
        ],
    )
    .await;
    assert_eq!(ok.status, 200);
    let form = params(&sid(41));
    for (sig, settings) in [
        (sign256("other", &app.voice_url, &form), settings.clone()),
        (
            sign256("shared-secret-1", &app.voice_url, &form),
            "key=rule2,algorithm=HMAC_SHA256".to_string(),
        ),
        (
            twilio_signature("shared-secret-1", &app.voice_url, &form),
            settings.clone(),
        ),
    ] {
        let a = post(
            &app.voice_url,
            &form,
            &[
                ("X-Twilio-Signature", sig),
                ("X-Twilio-Webhooks-Signature-Settings", settings),
            ],
        )
        .await;
        assert_eq!(a.status, 403);
    }
    assert!(call_state(&app, &sid(41)).await.is_none());
    drop(app);

    // SignalWire: the Twilio scheme with the project signing key.
    let app = TestApp::spawn(&["--signalwire-signing-key=PSK_test_key"]).await;
    let form = params(&sid(50));
    let a = post(
        &app.voice_url,
        &form,
        &[(
            "X-SignalWire-Signature",
            twilio_signature("PSK_test_key", &app.voice_url, &form),
        )],
    )
    .await;
    assert_eq!(a.status, 200);
    let form = params(&sid(51));
    let a = post(
        &app.voice_url,
        &form,
        &[(
            "X-SignalWire-Signature",
            twilio_signature("PSK_other", &app.voice_url, &form),
        )],
    )
    .await;
    assert_eq!(a.status, 403);
    // A Twilio signature is not accepted for a platform without a configured key.
    let a = post(
        &app.voice_url,
        &form,
        &[(
            "X-Twilio-Signature",
            twilio_signature(AUTH_TOKEN, &app.voice_url, &form),
        )],
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(call_state(&app, &sid(51)).await.is_none());
    drop(app);

    // Telnyx: Ed25519 over "timestamp|raw body", five minutes of tolerance.
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let public = STANDARD.encode(key.verifying_key().to_bytes());
    let app = TestApp::spawn(&[&format!("--telnyx-public-key={public}")]).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let telnyx = |form: &[(String, String)], ts: u64, key: &SigningKey| {
        let body = serde_urlencoded::to_string(form).unwrap();
        let sig = key.sign(format!("{ts}|{body}").as_bytes());
        vec![
            ("telnyx-signature-ed25519", STANDARD.encode(sig.to_bytes())),
            ("telnyx-timestamp", ts.to_string()),
        ]
    };
    let mut form = params("v2:T0J-telnyx-call_1");
    let a = post(&app.voice_url, &form, &telnyx(&form, now, &key)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    form[0].1 = "v2:T0J-telnyx-call_2".into();
    for (name, headers) in [
        ("too old", telnyx(&form, now - 600, &key)),
        ("too new", telnyx(&form, now + 600, &key)),
        (
            "other key",
            telnyx(&form, now, &SigningKey::from_bytes(&[1u8; 32])),
        ),
        ("other body", telnyx(&params("v2:other"), now, &key)),
    ] {
        let a = post(&app.voice_url, &form, &headers).await;
        assert_eq!(a.status, 403, "{name}");
    }
    assert!(call_state(&app, "v2:T0J-telnyx-call_2").await.is_none());
    assert_eq!(app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn basic_auth_in_the_public_url_is_required_and_signed_with_or_without_it() {
    let app = TestApp::spawn(&[
        "--public-url=http://ivr:s3cr%40t@127.0.0.1:0",
        &format!("--twilio-auth-token={AUTH_TOKEN}"),
    ])
    .await;
    assert!(!app.base_url.contains("s3cr"), "{}", app.base_url);
    let with_creds = app.voice_url.replacen("http://", "http://ivr:s3cr%40t@", 1);
    let form = params(&sid(60));
    // Right signature (over the URL with the credentials), no credentials: 401.
    let sig = twilio_signature(AUTH_TOKEN, &with_creds, &form);
    for auth in [
        None,
        Some(format!("Basic {}", STANDARD.encode("ivr:wrong"))),
        Some(format!("Basic {}", STANDARD.encode("ivr:s3cr%40t"))),
    ] {
        let mut headers = vec![("X-Twilio-Signature", sig.clone())];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let a = post(&app.voice_url, &form, &headers).await;
        assert_eq!(a.status, 401);
        let challenge = a.headers.get("www-authenticate").unwrap().to_str().unwrap();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
        assert_empty_response(&a.body);
    }
    assert!(call_state(&app, &sid(60)).await.is_none());
    assert_eq!(
        app.state.security.bad_credentials.load(Ordering::Relaxed),
        3
    );
    // Credentials right, signature over another URL: 403.
    let elsewhere = with_creds.replace("/voice", "/voice/answer");
    let a = post(
        &with_creds,
        &form,
        &[(
            "X-Twilio-Signature",
            twilio_signature(AUTH_TOKEN, &elsewhere, &form),
        )],
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(call_state(&app, &sid(60)).await.is_none());
    // Credentials right, signature over the URL without them (what Twilio's
    // security notes say it signs): accepted too.
    let a = post(
        &with_creds,
        &form,
        &[(
            "X-Twilio-Signature",
            twilio_signature(AUTH_TOKEN, &app.voice_url, &form),
        )],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(app.state.greeted_unstored(&sid(60)));
    // A whole call: the action URLs carry the credentials, every request is
    // authenticated and signed over the URL with them, as Twilio does.
    let report = app
        .call_with(
            |o| {
                o.url = with_creds.clone();
                o.auth_token = Some(SecretString::from(AUTH_TOKEN));
            },
            happy(),
        )
        .await;
    assert!(heard(&report).contains("Reservamos"), "{}", heard(&report));
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn a_flood_of_new_calls_from_one_number_hears_a_refusal_others_go_on() {
    let app = TestApp::spawn(&["--rate-calls-per-minute=2"]).await;
    let flood = "+5548990000001";
    for i in 0..2 {
        let report = app
            .call_with(
                |o| {
                    o.from = flood.into();
                    o.call_sid = Some(sid(70 + i));
                },
                vec![],
            )
            .await;
        assert!(
            heard(&report).contains("Olá"),
            "call {i}: {}",
            heard(&report)
        );
    }
    let refused = app
        .call_with(
            |o| {
                o.from = flood.into();
                o.call_sid = Some(sid(79));
            },
            vec![],
        )
        .await;
    assert!(matches!(refused.end, CallEnd::Hangup));
    let text = heard(&refused);
    assert!(text.contains("muitas ligações"), "{text}");
    assert!(!text.contains("Olá"), "{text}");
    assert!(call_state(&app, &sid(79)).await.is_none());
    assert_eq!(app.state.security.limited_calls.load(Ordering::Relaxed), 1);
    // Another number is not slowed down.
    let other = app
        .call_with(|o| o.from = "+5548990000002".into(), happy())
        .await;
    assert!(heard(&other).contains("Reservamos"), "{}", heard(&other));
}

#[tokio::test]
async fn too_many_requests_from_one_address_get_429_without_touching_state() {
    let app = TestApp::spawn(&["--rate-requests-per-second=1"]).await;
    let mut limited = Vec::new();
    for i in 0..10 {
        let a = post(&app.voice_url, &params(&sid(80 + i)), &[]).await;
        match a.status {
            200 => {}
            429 => {
                assert_eq!(a.headers.get("retry-after").unwrap(), "1");
                let doc = roxmltree::Document::parse(&a.body).unwrap();
                assert_eq!(doc.root_element().tag_name().name(), "Response");
                limited.push(sid(80 + i));
            }
            other => panic!("status {other}: {}", a.body),
        }
    }
    assert!(limited.len() >= 5, "only {} refused", limited.len());
    for sid in &limited {
        assert!(call_state(&app, sid).await.is_none());
    }
    assert_eq!(
        app.state.security.limited_requests.load(Ordering::Relaxed),
        limited.len() as u64
    );
}
