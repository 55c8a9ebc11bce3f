//! The operators' console and `GET /admin/funnel`, black-box: the real service
//! in process, calls walked by the TwiML executor, the sandbox as OZmap. The
//! same console in a real browser is the `browser` test binary.

use crate::console_walks::{ADMIN, PHONE, app, walk_three};
use serde_json::Value;
use test_support::*;

async fn get(url: &str, auth: Option<&str>) -> (u16, String) {
    let mut rb = reqwest::Client::new().get(url);
    if let Some(a) = auth {
        rb = rb.header("Authorization", a);
    }
    let r = rb.send().await.expect("the service answers");
    (r.status().as_u16(), r.text().await.unwrap())
}

fn an_hour_ago() -> String {
    jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_funnel_as_json_counts_the_calls_walked() {
    let app = app().await;
    walk_three(&app).await;
    let bearer = format!("Bearer {ADMIN}");
    let url = format!("{}/admin/funnel?since={}", app.base_url, an_hour_ago());
    let (status, body) = get(&url, Some(&bearer)).await;
    assert_eq!(status, 200, "{body}");
    let f: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(f["calls"], 3, "{body}");
    assert_eq!(f["reserved"], 1, "{body}");
    assert_eq!(f["transferred"], 1, "{body}");
    assert_eq!(f["abandoned"], 1, "the silent caller: {body}");
    let steps = &f["steps"];
    assert_eq!(steps["ask_code"]["reached"], 3, "{body}");
    assert_eq!(steps["ask_code"]["abandoned"], 1, "{body}");
    for s in ["confirm_code", "ask_name", "ask_address", "reserving"] {
        assert_eq!(steps[s]["reached"], 1, "{s}: {body}");
        assert_eq!(steps[s]["abandoned"], 0, "{s}: {body}");
    }
    assert_eq!(steps["transferred"]["reached"], 1, "{body}");
    assert!((f["containment"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);

    // today's midnight by default (the calls were just made), nothing in the future
    let (_, body) = get(&format!("{}/admin/funnel", app.base_url), Some(&bearer)).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["calls"], 3);
    let later = format!("{}/admin/funnel?since=2999-01-01T00:00:00Z", app.base_url);
    let (_, body) = get(&later, Some(&bearer)).await;
    let f: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (f["calls"].as_u64(), f["abandoned"].as_u64()),
        (Some(0), Some(0))
    );
    for bad in ["yesterday", "2026-13-01T00:00:00Z", "%ZZ"] {
        let (status, body) = get(
            &format!("{}/admin/funnel?since={bad}", app.base_url),
            Some(&bearer),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // the same calls in the metrics
    let (status, text) = get(&format!("{}/metrics", app.base_url), Some(&bearer)).await;
    assert_eq!(status, 200);
    for line in [
        "ozmap_ivr_funnel_steps_total{step=\"ask_code\"} 3",
        "ozmap_ivr_funnel_steps_total{step=\"reserving\"} 1",
        "ozmap_ivr_call_outcomes_total{outcome=\"reserved\"} 1",
        "ozmap_ivr_call_outcomes_total{outcome=\"transferred\"} 1",
        "ozmap_ivr_ozmap_attempt_seconds_count 1",
        "ozmap_ivr_ozmap_breaker_open 0",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(text.contains("ozmap_ivr_containment_ratio 0.333"), "{text}");
}

/// Everything a request without the session may see, for every route of the
/// console and the funnel: nothing of the calls.
fn assert_no_data(body: &str, what: &str) {
    for secret in [
        ADMIN, PHONE, "91234567", "99990000", "123|123", "Gabriel", "Delminda", "CTO-AGR",
    ] {
        assert!(!body.contains(secret), "{what} shows {secret:?}: {body}");
    }
}

#[tokio::test]
async fn without_a_session_nothing_is_shown_and_no_action_is_taken() {
    let app = app().await;
    walk_three(&app).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &app.base_url;

    // no session: the login form, 401, no data
    for cookie in [None, Some("ozmap_console=forged"), Some("ozmap_console=")] {
        let mut rb = http.get(format!("{base}/console"));
        if let Some(c) = cookie {
            rb = rb.header("Cookie", c);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401, "{cookie:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains("name=\"token\""), "{body}");
        assert_no_data(&body, "GET /console");
    }
    for (path, auth) in [
        ("/admin/funnel", None),
        ("/admin/funnel", Some("Bearer wrong")),
        ("/metrics", None),
    ] {
        let mut rb = http.get(format!("{base}{path}"));
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_no_data(&r.text().await.unwrap(), path);
    }
    for path in ["/console/reservations/1/cancel", "/console/logout"] {
        let r = http
            .post(format!("{base}{path}"))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_no_data(&r.text().await.unwrap(), path);
    }
    assert_eq!(app.sandbox.live_properties().len(), 1, "nothing cancelled");

    // a wrong token is refused; the right one gives a session cookie
    let login = |token: &str, origin: Option<&str>| {
        let mut rb = http
            .post(format!("{base}/console/login"))
            .form(&[("token", token)]);
        if let Some(o) = origin {
            rb = rb.header("Origin", o);
        }
        rb.send()
    };
    let r = login("wrong", None).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let r = login(ADMIN, Some("https://evil.example")).await.unwrap();
    assert_eq!(r.status(), 403, "a login from another site's page");
    let r = login(ADMIN, Some(base)).await.unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "http public URL: {set}");
    assert!(!set.contains(ADMIN), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();

    // with the session: the data, the number masked
    let page = http
        .get(format!("{base}/console"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("id=\"today-calls\">3<"), "{body}");
    assert!(body.contains("***…67"), "the masked number: {body}");
    assert!(
        body.contains("***…00"),
        "the silent caller's number, masked"
    );
    for full in [PHONE, "91234567", "99990000"] {
        assert!(!body.contains(full), "{full}: {body}");
    }
    assert!(!body.contains(ADMIN));
    assert!(body.contains("Console de operação"));
    let en = http
        .get(format!("{base}/console?lang=en-US"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Operators&#39; console") || en.contains("Operators' console"));

    // the ledger's filter and search
    let page = |query: &'static str| {
        http.get(format!("{base}/console?{query}"))
            .header("Cookie", &cookie)
            .send()
    };
    let found = page("q=123%7C123").await.unwrap().text().await.unwrap();
    assert!(found.contains("data-status=\"done\""), "{found}");
    let none = page("status=dead").await.unwrap().text().await.unwrap();
    assert!(!none.contains("data-status="), "{none}");
    let none = page("q=20260101").await.unwrap().text().await.unwrap();
    assert!(!none.contains("data-status="), "{none}");
    assert_eq!(page("status=lost").await.unwrap().status(), 400);
    assert_eq!(page("reservation=abc").await.unwrap().status(), 400);
    assert_eq!(page("reservation=999").await.unwrap().status(), 404);

    // an action without the CSRF token, or from another site, is refused
    let id = {
        let (_, rows) = get(
            &format!("{base}/admin/reservations"),
            Some(&format!("Bearer {ADMIN}")),
        )
        .await;
        serde_json::from_str::<Vec<Value>>(&rows).unwrap()[0]["id"]
            .as_i64()
            .unwrap()
    };
    let cancel = format!("{base}/console/reservations/{id}/cancel");
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page's CSRF token")
        .to_string();
    for (form_csrf, origin) in [
        ("", None),
        ("forged", None),
        (csrf.as_str(), Some("https://evil.example")),
    ] {
        let mut rb = http
            .post(&cancel)
            .header("Cookie", &cookie)
            .form(&[("csrf", form_csrf)]);
        if let Some(o) = origin {
            rb = rb.header("Origin", o);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 403, "{form_csrf:?} {origin:?}");
    }
    assert_eq!(app.sandbox.live_properties().len(), 1, "nothing cancelled");

    // a retry of a row that is not a dead letter is refused, plainly
    let r = http
        .post(format!("{base}/console/reservations/{id}/retry"))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // logged out: the cookie no longer opens anything
    let r = http
        .post(format!("{base}/console/logout"))
        .header("Cookie", &cookie)
        .header("Origin", base)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = http
        .get(format!("{base}/console"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_no_data(&r.text().await.unwrap(), "after logout");

    // a script with the bearer token reads the page without a session
    let (status, body) = get(&format!("{base}/console"), Some(&format!("Bearer {ADMIN}"))).await;
    assert_eq!(status, 200);
    assert!(body.contains("id=\"today-calls\">3<"));

    // guessing the token is slowed down: ten wrong tries a minute per
    // address, bearer tokens and the login form together; past them even the
    // right token from that address waits
    let mut refused = 0;
    for _ in 0..12 {
        let r = login("guess", None).await.unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            refused += 1;
        }
    }
    assert!(refused >= 4, "{refused} of 12 guesses refused");
    let (status, _) = get(&format!("{base}/console"), Some(&format!("Bearer {ADMIN}"))).await;
    assert_eq!(status, 429);
    assert_eq!(login(ADMIN, Some(base)).await.unwrap().status(), 429);

    // without IVR_ADMIN_TOKEN the console does not exist
    let off = TestApp::spawn(&[]).await;
    let (status, _) = get(&format!("{}/console", off.base_url), None).await;
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{}/admin/funnel", off.base_url), None).await;
    assert_eq!(status, 404);
}
