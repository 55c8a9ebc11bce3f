//! The calls the console tests walk, shared by `tests/it` (`console`) and the
//! browser test's own binary (`tests/browser.rs`).

use test_support::*;

pub(crate) const ADMIN: &str = "console-admin-token-7781";
pub(crate) const AGENT: &str = "+554830000000";
/// The callers' number; only its last two digits may ever be shown.
pub(crate) const PHONE: &str = "+5548991234567";

/// The service with the console on and a person to transfer to.
pub(crate) async fn app() -> TestApp {
    TestApp::spawn(&[
        &format!("--admin-token={ADMIN}"),
        &format!("--agent-number={AGENT}"),
        // every call comes from one number here
        "--rate-calls-per-minute=0",
    ])
    .await
}

/// The tutorial's call: a port reserved.
pub(crate) fn tutorial(code: &str) -> Vec<ivr_tools::caller::Answer> {
    vec![
        keys(code),
        keys("1"),
        say("gabriel marioto"),
        say("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        keys("1"),
    ]
}

/// Walks one call from [`PHONE`], its end posted to the status callback.
pub(crate) async fn walk(app: &TestApp, answers: Vec<ivr_tools::caller::Answer>) {
    let status = format!("{}/voice/status", app.base_url);
    app.call_with(
        |o| {
            o.from = PHONE.into();
            o.status_callback = Some(status);
        },
        answers,
    )
    .await;
}

/// A reserved call, a silent caller who hangs up, and a transfer to a person.
pub(crate) async fn walk_three(app: &TestApp) {
    walk(app, tutorial("123*123")).await;
    silent_caller(app).await;
    walk(app, vec![keys("0")]).await;
}

/// Greeted, says nothing once, hangs up: the platform posts the call's end.
async fn silent_caller(app: &TestApp) {
    let mut phone = driver::Phone::new(std::slice::from_ref(&app.base_url));
    let greeting = phone.dial_in().await.expect("greeted");
    let silence = greeting
        .redirect
        .expect("a question falls through to a redirect");
    phone.post(&silence, &[]).await.expect("asked again");
    let r = reqwest::Client::new()
        .post(format!("{}/voice/status", app.base_url))
        .form(&[
            ("CallSid", phone.call_sid.as_str()),
            ("CallStatus", "completed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
