//! The link where a caller marks the house, over real HTTP (`serve`): made by
//! an operator (`POST /admin/location-links`), opened, posted once, then gone;
//! expired, used and unknown links are one answer; a coarse position or one
//! outside the area is refused and the link stays usable; a body that is not a
//! position is `400`; posts are limited; five posts at once take the link
//! once; the SMS goes to a fake Twilio; and
//! the real binary's log holds no token, position or number.

use crate::sms::{CALLER, FakeTwilio, Mode};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use test_support::proc::{ADMIN_TOKEN, Service};
use test_support::*;

const ADMIN: &str = "location-admin-token-55120";
/// Beside the sandbox's boxes: R. Delminda Silveira, 900 (`data/SANDBOX.md`).
pub(crate) const HOUSE: (f64, f64) = (-27.578_233_672_131_2, -48.527_442_812_919_624);
/// Praça da Sé, São Paulo: in Brazil, far from the ISP's streets.
const SAO_PAULO: (f64, f64) = (-23.5503, -46.6339);
/// A token no link ever had (the right shape).
const UNKNOWN: &str = "Zm9vYmFyYmF6cXV4cXV1eA";

async fn app(extra: &[&str]) -> TestApp {
    let mut flags = vec![format!("--admin-token={ADMIN}")];
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestApp::spawn(&flags).await
}

/// A link for `session_key`, made by an operator: its URL.
pub(crate) async fn make_link(base: &str, admin: &str, session_key: &str) -> String {
    let r = Client::new()
        .post(format!("{base}/admin/location-links"))
        .bearer_auth(admin)
        .json(&json!({ "session_key": session_key }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sms_sent"], false);
    v["url"].as_str().expect("a url").to_string()
}

async fn post(url: &str, body: Value) -> (StatusCode, Value) {
    let r = Client::new().post(url).json(&body).send().await.unwrap();
    let status = r.status();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.expect("a JSON answer"))
}

fn at((lat, lng): (f64, f64), accuracy: f64) -> Value {
    json!({ "lat": lat, "lng": lng, "accuracy": accuracy })
}

async fn page(url: &str) -> (StatusCode, String) {
    let r: Response = Client::new().get(url).send().await.unwrap();
    let h = r.headers().clone();
    assert_eq!(h["cache-control"], "no-store", "{url}");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-robots-tag"], "noindex, nofollow");
    let csp = h["content-security-policy"].to_str().unwrap();
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    (r.status(), r.text().await.unwrap())
}

async fn admin_position(base: &str, session_key: &str) -> Value {
    let r = Client::new()
        .get(format!("{base}/admin/location-links/{session_key}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["position"].clone()
}

#[tokio::test]
async fn a_link_takes_one_position_then_is_gone_like_an_unknown_one() {
    let app = app(&[]).await;
    let url = make_link(&app.base_url, ADMIN, "CAloc1").await;
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 22, "{url}");
    assert!(url.starts_with(&format!("{}/l/", app.base_url)));
    let (status, html) = page(&url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Estou aqui") && html.contains("lang=\"pt-BR\""));
    assert!(html.contains("/l/static/page.js") && html.contains("/l/static/page.css"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for (file, kind) in [("page.js", "javascript"), ("page.css", "css")] {
        let r = reqwest::get(format!("{}/l/static/{file}", app.base_url))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().contains(kind));
    }
    // Too coarse, then outside the area: refused, the link still usable.
    let (s, v) = post(&url, at(HOUSE, 250.0)).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("inaccurate"))
    );
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("250 m") && msg.contains("aproxime-se da casa"),
        "{msg}"
    );
    let (s, v) = post(&url, at(SAO_PAULO, 8.0)).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("outside"))
    );
    assert_eq!(page(&url).await.0, 200);
    assert_eq!(admin_position(&app.base_url, "CAloc1").await, Value::Null);
    // At the house: taken, with the nearest address, and stored.
    let (s, v) = post(&url, at(HOUSE, 12.0)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["message"],
        "Recebemos a localização. Volte para a ligação."
    );
    assert!(
        v["address"].as_str().unwrap().contains("Delminda Silveira"),
        "{v}"
    );
    let stored = admin_position(&app.base_url, "CAloc1").await;
    assert_eq!(
        (stored["lat"].as_f64(), stored["lng"].as_f64()),
        (Some(HOUSE.0), Some(HOUSE.1))
    );
    assert_eq!(stored["accuracy_m"], 12.0);
    // Used: the page and the post say "gone", exactly as for a token that never was.
    let (s, again) = post(&url, at(HOUSE, 5.0)).await;
    assert_eq!(
        (s, again["status"].as_str()),
        (StatusCode::NOT_FOUND, Some("gone"))
    );
    let unknown = format!("{}/l/{UNKNOWN}", app.base_url);
    assert_eq!(post(&unknown, at(HOUSE, 5.0)).await, (s, again));
    let used = page(&url).await;
    assert_eq!(used.0, 404);
    assert!(used.1.contains("não é mais válido"), "{}", used.1);
    assert_eq!(page(&unknown).await, used);
    assert_eq!(page(&format!("{}/l/short", app.base_url)).await, used);
    // The position stays the first one.
    assert_eq!(admin_position(&app.base_url, "CAloc1").await, stored);
}

#[tokio::test]
async fn an_expired_link_is_the_same_404_as_an_unknown_one() {
    let app = app(&["--location-link-min=0"]).await;
    let url = make_link(&app.base_url, ADMIN, "CAloc2").await;
    let unknown = format!("{}/l/{UNKNOWN}", app.base_url);
    let expired = page(&url).await;
    assert_eq!(expired.0, 404);
    assert_eq!(expired, page(&unknown).await);
    let posted = post(&url, at(HOUSE, 10.0)).await;
    assert_eq!(posted.0, 404);
    assert_eq!(posted, post(&unknown, at(HOUSE, 10.0)).await);
}

#[tokio::test]
async fn what_is_not_a_position_is_400_and_posts_are_limited_per_link() {
    let app = app(&[]).await;
    let url = make_link(&app.base_url, ADMIN, "CAloc3").await;
    let c = Client::new();
    let bodies: [(&str, String); 5] = [
        ("text/plain", at(HOUSE, 10.0).to_string()),
        (
            "application/json",
            "{\"lat\": \"-27.5\", \"lng\": -48.5, \"accuracy\": 5}".into(),
        ),
        (
            "application/json",
            json!({"lat": -27.5, "lng": -48.5}).to_string(),
        ),
        (
            "application/json",
            json!({"lat": -27.5, "lng": -48.5, "accuracy": 5, "phone": CALLER}).to_string(),
        ),
        (
            "application/json",
            json!({"lat": 91.0, "lng": -48.5, "accuracy": 5}).to_string(),
        ),
    ];
    for (kind, body) in bodies {
        let r = c
            .post(&url)
            .header("content-type", kind)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{kind} {body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "not_a_position");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    // Six posts a minute per link: the five above and one more, then 429.
    let (s, _) = post(&url, at(HOUSE, 400.0)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.post(&url).json(&at(HOUSE, 10.0)).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "too_many");
    // Another link is not limited by this one's posts.
    let other = make_link(&app.base_url, ADMIN, "CAloc4").await;
    assert_eq!(post(&other, at(HOUSE, 10.0)).await.0, 200);
}

#[tokio::test]
async fn operators_make_links_and_send_them_by_sms() {
    let fake = FakeTwilio::start(Mode::Accept, crate::sms::AUTH_TOKEN).await;
    let app = crate::sms::spawn(&fake, &[&format!("--admin-token={ADMIN}")]).await;
    let c = Client::new();
    let admin = format!("{}/admin/location-links", app.base_url);
    let r = c
        .post(&admin)
        .json(&json!({"session_key": "CAloc5"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for bad in [
        json!({"session_key": ""}),
        json!({"phone": CALLER}),
        json!({"session_key": "CA", "x": 1}),
    ] {
        let r = c
            .post(&admin)
            .bearer_auth(ADMIN)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = c
        .post(&admin)
        .bearer_auth(ADMIN)
        .json(&json!({"session_key": "CAloc5", "phone": "+554833334444"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a landline gets no link");
    let r = c
        .post(&admin)
        .bearer_auth(ADMIN)
        .json(&json!({"session_key": "CAloc5", "phone": CALLER}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sms_sent"], true);
    let url = v["url"].as_str().unwrap();
    let sent = fake.wait_accepted(1, Duration::from_secs(5)).await;
    assert_eq!(sent.len(), 1, "one SMS, at once");
    let field = |k: &str| sent[0].iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(field("To"), CALLER);
    assert_eq!(
        field("Body"),
        format!("Abra em frente à casa e toque em Estou aqui: {url}")
    );
    assert_eq!(post(url, at(HOUSE, 10.0)).await.0, 200);
}

#[tokio::test]
async fn the_log_holds_no_token_position_or_number() {
    let db = TestDb::sqlite();
    let sandbox = start_sandbox().await;
    let svc = Service::start(
        crate::BIN,
        &db.url,
        &sandbox.base_url(),
        &[
            ("SMS_PROVIDER", "log"),
            (
                "RUST_LOG",
                "trace,sqlx=warn,actix_server=warn,h2=warn,hyper=warn,reqwest=warn",
            ),
        ],
    )
    .await;
    let c = Client::new();
    let r = c
        .post(format!("{}/admin/location-links", svc.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"session_key": "CAlog1", "phone": CALLER}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    assert_eq!(page(&url).await.0, 200);
    assert_eq!(post(&url, at(HOUSE, 250.0)).await.0, 422);
    assert_eq!(post(&url, json!({"lat": "x"})).await.0, 400);
    assert_eq!(post(&url, at(HOUSE, 12.0)).await.0, 200);
    assert_eq!(post(&url, at(HOUSE, 12.0)).await.0, 404);
    let log = svc
        .log_when("location link: position", Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = log + &svc.log_text();
    assert!(log.contains("location link"), "{log}");
    for secret in [
        token.as_str(),
        &token[..11],
        CALLER,
        &CALLER[3..],
        "-27.578",
        "48.527",
        "Delminda",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[tokio::test]
async fn the_page_speaks_english_with_english_prompts() {
    let app = app(&["--language=en-US"]).await;
    let url = make_link(&app.base_url, ADMIN, "CAloc6").await;
    let (status, html) = page(&url).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("lang=\"en-US\"")
            && (html.contains("I&#39;m here") || html.contains("I'm here")),
        "{html}"
    );
    let (s, v) = post(&url, at(HOUSE, 300.0)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["message"],
        "Accuracy 300 m: move closer to the house and try again."
    );
    let (s, v) = post(&url, at(HOUSE, 10.0)).await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            StatusCode::OK,
            Some("We received your location. Go back to the call.")
        )
    );
    let (status, html) = page(&url).await;
    assert_eq!(status, 404);
    assert!(html.contains("This link is no longer valid"), "{html}");
}

#[tokio::test]
async fn five_posts_at_once_one_is_taken() {
    let app = app(&[]).await;
    let url = make_link(&app.base_url, ADMIN, "CAloc7").await;
    let posts: Vec<_> = (0..5)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move { post(&url, at(HOUSE, 10.0 + f64::from(i))).await })
        })
        .collect();
    let mut codes = Vec::new();
    for p in posts {
        codes.push(p.await.unwrap().0);
    }
    codes.sort();
    assert_eq!(
        codes,
        [
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND
        ]
    );
}
