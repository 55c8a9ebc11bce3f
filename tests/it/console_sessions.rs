//! A console session belongs to the token that opened it: after a restart
//! with a new `IVR_ADMIN_TOKEN`, the old cookie gets the login form and cannot
//! Cancel (not even when the old token comes back), while a login with the
//! new token works; `ozmap-ivr console logout-all` ends an open session.

use crate::console_walks::{tutorial, walk};
use test_support::TestApp;

const OLD: &str = "console-old-admin-token-0001";
const NEW: &str = "console-new-admin-token-0002";

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in with `token`: the session cookie (`ozmap_console=…`).
pub(crate) async fn login(app: &TestApp, token: &str) -> String {
    let r = http()
        .post(format!("{}/console/login", app.base_url))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login with {token}");
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// `GET /console` with the cookie: its status and page.
async fn console(app: &TestApp, cookie: &str) -> (u16, String) {
    let r = http()
        .get(format!("{}/console", app.base_url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub(crate) fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page's CSRF token")
        .to_string()
}

async fn restart(app: TestApp, token: &str) -> TestApp {
    let (sandbox, db) = app.stop().await;
    TestApp::spawn_with(sandbox, db, &[&format!("--admin-token={token}")]).await
}

#[tokio::test]
async fn a_session_from_an_old_token_gets_the_login_page_and_cannot_cancel() {
    let app = TestApp::spawn(&[&format!("--admin-token={OLD}")]).await;
    walk(&app, tutorial("123*123")).await;
    assert_eq!(app.sandbox.live_properties().len(), 1);
    let cookie = login(&app, OLD).await;
    let (status, page) = console(&app, &cookie).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&page);
    let ledger: Vec<serde_json::Value> = http()
        .get(format!("{}/admin/reservations", app.base_url))
        .bearer_auth(OLD)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ledger[0]["id"].as_i64().expect("the reservation");

    // IVR_ADMIN_TOKEN changed, the service restarted.
    let app = restart(app, NEW).await;
    let (status, page) = console(&app, &cookie).await;
    assert_eq!(status, 401);
    assert!(page.contains("name=\"token\""), "the login form: {page}");
    assert!(
        !page.contains("123|123") && !page.contains("CTO-AGR"),
        "{page}"
    );
    let r = http()
        .post(format!("{}/console/reservations/{id}/cancel", app.base_url))
        .header("Cookie", &cookie)
        .header("Origin", &app.base_url)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.sandbox.live_properties().len(), 1, "nothing cancelled");
    // The new token opens a session of its own.
    let fresh = login(&app, NEW).await;
    assert_eq!(console(&app, &fresh).await.0, 200);

    // The old token back: the old session stayed ended, the new one ends.
    let app = restart(app, OLD).await;
    assert_eq!(console(&app, &cookie).await.0, 401);
    assert_eq!(console(&app, &fresh).await.0, 401);
    assert_eq!(app.sandbox.live_properties().len(), 1);
    // The same Cancel from a session of the current token does cancel.
    let current = login(&app, OLD).await;
    let csrf = csrf_of(&console(&app, &current).await.1);
    let r = http()
        .post(format!("{}/console/reservations/{id}/cancel", app.base_url))
        .header("Cookie", &current)
        .header("Origin", &app.base_url)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.sandbox.live_properties().len(), 0, "cancelled");
}

#[tokio::test]
async fn logout_all_ends_an_open_session() {
    let app = TestApp::spawn(&[&format!("--admin-token={OLD}")]).await;
    let (first, second) = (login(&app, OLD).await, login(&app, OLD).await);
    assert_eq!(console(&app, &first).await.0, 200);
    assert_eq!(console(&app, &second).await.0, 200);
    let out = std::process::Command::new(crate::BIN)
        .args(["console", "logout-all"])
        .env_clear()
        .env("IVR_DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "2 console sessions ended\n");
    for cookie in [&first, &second] {
        let (status, page) = console(&app, cookie).await;
        assert_eq!(status, 401);
        assert!(page.contains("name=\"token\""), "{page}");
    }
    // The token still logs in.
    let again = login(&app, OLD).await;
    assert_eq!(console(&app, &again).await.0, 200);
}
