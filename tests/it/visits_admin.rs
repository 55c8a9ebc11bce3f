//! The agenda for operators, black-box: `GET|POST /admin/visits…`, the
//! console's agenda page (`/console/agenda`), `ozmap-ivr visits …` and the
//! privacy commands over visits. The real service in process, the tutorial's
//! call walked by the TwiML executor (a port reserved in the sandbox), and the
//! visit written into the store as the booking step writes it (a `visits` row
//! and its period's place in `visit_periods`).

use crate::BIN;
use crate::visit_seed::book;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use test_support::*;

const ADMIN: &str = "visits-admin-token-55210";
/// A Wednesday, Thursday and Friday without holidays.
const D1: &str = "2027-03-10";
const D2: &str = "2027-03-11";
const D3: &str = "2027-03-12";
/// The tutorial caller's number (the executor's default): shown masked only.
const CALLER: &str = "+5548999990000";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The service with the admin token, after the tutorial's call: its ledger
/// row's id and protocol.
async fn reserved() -> (TestApp, i64, String) {
    let app = TestApp::spawn(&[&format!("--admin-token={ADMIN}")]).await;
    app.call(vec![
        keys("123*123"),
        keys("1"),
        say("gabriel marioto"),
        say("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        keys("1"),
    ])
    .await;
    let (status, body) = admin_get(&app, "/admin/reservations").await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows[0]["outcome"], "reserved", "{body}");
    let id = rows[0]["id"].as_i64().unwrap();
    let protocol = rows[0]["protocol"].as_str().unwrap().to_string();
    (app, id, protocol)
}

async fn admin_get(app: &TestApp, path: &str) -> (u16, String) {
    let r = http()
        .get(format!("{}{path}", app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = http()
        .post(format!("{}{path}", app.base_url))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn period<'a>(agenda: &'a Value, day: &str, period: &str) -> &'a Value {
    agenda["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["day"] == day && p["period"] == period)
        .unwrap_or_else(|| panic!("no {day} {period} in {agenda}"))
}

/// The SMS of the operators' changes, oldest first: (kind, body).
async fn change_messages(app: &TestApp) -> Vec<(String, String)> {
    let (status, body) = admin_get(app, "/admin/messages?channel=sms").await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    let mut out: Vec<(String, String)> = rows
        .iter()
        .filter(|m| m["kind"].as_str().unwrap().starts_with("visit_"))
        .map(|m| {
            (
                m["kind"].as_str().unwrap().into(),
                m["body"].as_str().unwrap().into(),
            )
        })
        .collect();
    out.reverse();
    out
}

#[tokio::test]
async fn operators_list_move_and_cancel_visits_and_the_client_is_told_once_per_change() {
    let (app, id, protocol) = reserved().await;
    book(&app, &protocol, Some(id), (D1, "morning"), 2).await;
    // Another request fills D1's afternoon.
    book(&app, "20270310-0009", None, (D1, "afternoon"), 1).await;

    // Behind the token.
    let r = http()
        .get(format!("{}/admin/visits", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, body) = admin_get(&app, "/admin/visits?from=10/03/2027").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("YYYY-MM-DD"), "{body}");

    let (status, body) = admin_get(&app, &format!("/admin/visits?from={D1}&to={D2}")).await;
    assert_eq!(status, 200, "{body}");
    let a: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(period(&a, D1, "morning")["booked"], 1);
    assert_eq!(period(&a, D1, "morning")["capacity"], 2);
    assert_eq!(period(&a, D1, "afternoon")["capacity"], 1);
    assert_eq!(
        period(&a, D2, "morning")["booked"],
        0,
        "an empty period is listed"
    );
    let v = a["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["protocol"] == protocol.as_str());
    let v = v.unwrap_or_else(|| panic!("{body}"));
    assert_eq!(v["box_name"], "CTO-AGR-01");
    assert_eq!(v["port"], 3);
    assert_eq!(v["phone"], "***…00");
    assert_eq!(v["channel"], "sms");
    assert_eq!(v["erp_status"], "none");
    assert!(!body.contains(CALLER) && !body.contains("99999"), "{body}");
    assert!(a["waiting"].as_array().unwrap().is_empty(), "{body}");

    // A full period is refused, and nothing changes.
    let mv = format!("/admin/visits/{protocol}/move");
    let (status, body) = admin_post(&app, &mv, json!({"day": D1, "period": "tarde"})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("full"), "{body}");
    let (status, body) = admin_post(&app, &mv, json!({"day": D1, "period": "noite"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = admin_post(&app, &mv, json!({"day": D1})).await;
    assert_eq!(status, 400);
    let (status, body) =
        admin_post(&app, &mv, json!({"day": "2020-03-10", "period": "manha"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("has passed"),
        "{body}"
    );
    assert!(change_messages(&app).await.is_empty());

    // Two moves: two messages, each with the new day and period.
    let (status, body) = admin_post(&app, &mv, json!({"day": D2, "period": "morning"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visit"]["day"], D2);
    assert_eq!(body["told"], true);
    let (status, body) = admin_post(&app, &mv, json!({"day": D3, "period": "tarde"})).await;
    assert_eq!(status, 200, "{body}");
    // The same period again changes nothing and tells nobody.
    let (status, body) = admin_post(&app, &mv, json!({"day": D3, "period": "afternoon"})).await;
    assert_eq!((status, &body["told"]), (200, &json!(false)), "{body}");
    let told = change_messages(&app).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[0].0.starts_with("visit_moved:"), "{told:?}");
    assert_ne!(told[0].0, told[1].0);
    assert!(
        told[0].1.contains("quinta-feira, 11/03, de manhã"),
        "{told:?}"
    );
    assert!(
        told[1].1.contains("sexta-feira, 12/03, à tarde"),
        "{told:?}"
    );
    assert!(told[1].1.contains(&protocol), "{told:?}");

    // The places followed the visit.
    let (_, body) = admin_get(&app, &format!("/admin/visits?from={D1}&to={D3}")).await;
    let a: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(period(&a, D1, "morning")["booked"], 0);
    assert_eq!(period(&a, D2, "morning")["booked"], 0);
    assert_eq!(period(&a, D3, "afternoon")["booked"], 1);

    // Cancelled for good: one message more, the place back, the reservation
    // to release named, and the request waits for a call.
    let cancel = format!("/admin/visits/{protocol}/cancel");
    let (status, body) = admin_post(&app, &cancel, json!({"for_good": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visit"]["status"], "cancelled");
    let property = app.sandbox.properties()[0]["id"].clone();
    assert_eq!(body["release"]["property_id"], property, "{body}");
    assert_eq!(body["release"]["queued"], true, "{body}");
    let told = change_messages(&app).await;
    assert_eq!(told.len(), 3, "{told:?}");
    assert!(told[2].0.starts_with("visit_cancelled:"), "{told:?}");
    assert!(told[2].1.contains("cancelada"), "{told:?}");
    let (status, _) = admin_post(&app, &cancel, json!({})).await;
    assert_eq!(status, 404, "a cancelled visit is not cancelled twice");
    assert_eq!(change_messages(&app).await.len(), 3);
    let (_, body) = admin_get(&app, &format!("/admin/visits?from={D3}&to={D3}")).await;
    let a: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(period(&a, D3, "afternoon")["booked"], 0);
    assert_eq!(a["waiting"][0]["protocol"], protocol.as_str(), "{body}");
    assert_eq!(a["waiting"][0]["phone"], "***…00");
    // The worker releases it in OZmap: the property goes, and the request
    // leaves the list of those waiting for a call.
    let gone = Instant::now() + Duration::from_secs(20);
    while !app.sandbox.live_properties().is_empty() {
        if Instant::now() > gone {
            let (_, rows) = admin_get(&app, "/admin/reservations").await;
            panic!("the reservation was not released: {rows}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, body) = admin_get(&app, &format!("/admin/visits?from={D3}&to={D3}")).await;
    let a: Value = serde_json::from_str(&body).unwrap();
    assert!(a["waiting"].as_array().unwrap().is_empty(), "{body}");

    let (status, _) = admin_post(&app, "/admin/visits/nope/done", json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = admin_post(&app, &format!("/admin/visits/{protocol}/fly"), json!({})).await;
    assert_eq!(status, 404);
}

fn cli(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env("IVR_DATABASE_URL", db)
        .env_remove("IVR_LANGUAGE")
        .env_remove("IVR_PROMPTS_DIR")
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_moves_lists_and_marks_done_and_the_erp_reports_done_over_json() {
    let (app, id, protocol) = reserved().await;
    book(&app, &protocol, Some(id), (D1, "morning"), 2).await;
    let db = app.db.url.clone();

    let (ok, out, err) = cli(&db, &["visits", "move", &protocol, D2, "tarde"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("moved") && out.contains(D2), "{out}");
    assert!(out.contains("told by sms"), "{out}");
    let (ok, _, err) = cli(&db, &["visits", "move", &protocol, D2, "noite"]);
    assert!(!ok && err.contains("tarde"), "{err}");
    let (ok, out, err) = cli(&db, &["visits", "list", "--from", D1, "--to", D3, "--json"]);
    assert!(ok, "{err}");
    let a: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(a["visits"][0]["day"], D2, "{out}");
    assert_eq!(a["visits"][0]["box_name"], "CTO-AGR-01");
    assert_eq!(period(&a, D2, "afternoon")["booked"], 1);
    let (ok, out, _) = cli(&db, &["visits", "list", "--from", D1, "--to", D3]);
    assert!(
        ok && out.contains(&protocol) && out.contains("***…00"),
        "{out}"
    );
    assert!(!out.contains(CALLER), "{out}");
    assert_eq!(change_messages(&app).await.len(), 1);

    // The ERP's integration reports the visit done.
    let (status, body) =
        admin_post(&app, &format!("/admin/visits/{protocol}/done"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visit"]["status"], "done");
    assert_eq!(
        body["implant"]["property_id"],
        app.sandbox.properties()[0]["id"]
    );
    assert_eq!(body["implant"]["queued"], true, "{body}");
    let (ok, _, err) = cli(&db, &["visits", "done", &protocol]);
    assert!(!ok && err.contains("no booked visit"), "{err}");
    let (ok, _, err) = cli(&db, &["visits", "cancel", &protocol]);
    assert!(!ok, "a visit done is not cancelled: {err}");
    // Done: the request no longer waits for a call.
    let (_, body) = admin_get(&app, &format!("/admin/visits?from={D1}&to={D3}")).await;
    let a: Value = serde_json::from_str(&body).unwrap();
    assert!(a["waiting"].as_array().unwrap().is_empty(), "{body}");
}

#[tokio::test]
async fn the_privacy_export_lists_the_visits_and_the_erasure_gives_their_places_back() {
    let (app, id, protocol) = reserved().await;
    book(&app, &protocol, Some(id), (D1, "morning"), 2).await;
    let db = app.db.url.clone();
    let (ok, out, err) = cli(&db, &["privacy", "export", "--phone", CALLER]);
    assert!(ok, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["visits"][0]["protocol"], protocol.as_str(), "{out}");
    assert_eq!(e["visits"][0]["day"], D1);
    let (ok, out, err) = cli(&db, &["privacy", "erase", "--phone", CALLER]);
    assert!(ok, "{err}");
    assert!(out.contains("1 visit(s)"), "{out}");
    let (_, body) = admin_get(&app, &format!("/admin/visits?from={D1}&to={D1}")).await;
    let a: Value = serde_json::from_str(&body).unwrap();
    assert!(a["visits"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(period(&a, D1, "morning")["booked"], 0, "{body}");
}

// ---- the console's agenda page ------------------------------------------

async fn login(app: &TestApp) -> String {
    let r = http()
        .post(format!("{}/console/login", app.base_url))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn page(app: &TestApp, cookie: Option<&str>, path: &str) -> (u16, String) {
    let mut rb = http().get(format!("{}{path}", app.base_url));
    if let Some(c) = cookie {
        rb = rb.header("Cookie", c);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let r = http()
        .post(format!("{}{path}", app.base_url))
        .header("Cookie", cookie)
        .header("Origin", &app.base_url)
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to, r.text().await.unwrap())
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page's CSRF token")
        .to_string()
}

#[tokio::test]
async fn the_console_agenda_shows_moves_and_cancels_behind_a_session_and_its_csrf_token() {
    let (app, id, protocol) = reserved().await;
    book(&app, &protocol, Some(id), (D1, "morning"), 2).await;
    book(&app, "20270310-0009", None, (D1, "afternoon"), 1).await;
    let agenda = format!("/console/agenda?from={D1}");

    let (status, body) = page(&app, None, &agenda).await;
    assert_eq!(status, 401);
    assert!(!body.contains(&protocol));
    let cookie = login(&app).await;
    let (status, dash) = page(&app, Some(&cookie), "/console").await;
    assert_eq!(status, 200);
    assert!(
        dash.contains("href=\"/console/agenda?lang="),
        "the dashboard links the agenda"
    );
    let (status, body) = page(&app, Some(&cookie), &agenda).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Agenda de visitas"), "pt-BR by default");
    assert!(
        body.contains(&protocol) && body.contains("CTO-AGR-01 / 3"),
        "{body}"
    );
    assert!(
        body.contains("***…00") && !body.contains(CALLER),
        "the number masked"
    );
    assert!(
        body.contains(&format!(
            "id=\"use-{D1}-afternoon\"><span class=\"dead\">1 / 1"
        )),
        "{body}"
    );
    let csrf = csrf_of(&body);
    let mv = format!("/console/agenda/{protocol}/move");

    // No CSRF token, or another site: refused, nothing changes.
    let (status, _, _) = form(&app, &cookie, &mv, &[("day", D2), ("period", "manha")]).await;
    assert_eq!(status, 403);
    let r = http()
        .post(format!("{}{mv}", app.base_url))
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("day", D2), ("period", "manha")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A full period: the page again, with why.
    let (status, _, body) = form(
        &app,
        &cookie,
        &mv,
        &[
            ("csrf", &csrf),
            ("from", D1),
            ("day", D1),
            ("period", "tarde"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        body.contains("agenda-error") && body.contains("lotado"),
        "{body}"
    );
    let (status, _, body) = form(
        &app,
        &cookie,
        &mv,
        &[("csrf", &csrf), ("day", "amanhã"), ("period", "tarde")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("AAAA-MM-DD"), "{body}");

    // Moved, then cancelled: each said on the page, each told to the client.
    let (status, to, _) = form(
        &app,
        &cookie,
        &mv,
        &[
            ("csrf", &csrf),
            ("from", D1),
            ("day", D2),
            ("period", "manha"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, body) = page(&app, Some(&cookie), &to).await;
    assert!(
        body.contains(&format!(
            "Visita {protocol} remarcada. O cliente será avisado."
        )),
        "{body}"
    );
    let cancel = format!("/console/agenda/{protocol}/cancel");
    let (status, to, _) = form(&app, &cookie, &cancel, &[("csrf", &csrf), ("from", D1)]).await;
    assert_eq!(status, 303);
    let (_, body) = page(&app, Some(&cookie), &to).await;
    assert!(body.contains("cancelada"), "{body}");
    assert!(
        body.contains("Porta reservada, sem visita agendada (1)"),
        "{body}"
    );
    let told = change_messages(&app).await;
    assert_eq!(told.len(), 2, "{told:?}");
    let (status, _, body) = form(&app, &cookie, &cancel, &[("csrf", &csrf)]).await;
    assert_eq!(status, 404, "{body}");

    // In English on request.
    let (_, body) = page(&app, Some(&cookie), &format!("{agenda}&lang=en-US")).await;
    assert!(body.contains("Visits agenda"), "{body}");
}

#[tokio::test]
async fn the_client_gets_one_sms_per_change_from_the_provider() {
    use crate::sms::{AUTH_TOKEN, FakeTwilio, Mode, call, spawn, wait_done};
    use std::time::Duration;
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    let app = spawn(&fake, &[&format!("--admin-token={ADMIN}")]).await;
    call(&app, CALLER, "123*123").await;
    let store = ozmap_ivr::Store::connect(&app.db.url).await.unwrap();
    let row = wait_done(&store, 1).await.remove(0);
    let protocol = row.request.protocol.clone().unwrap();
    book(&app, &protocol, Some(row.id), (D1, "morning"), 2).await;
    let base = format!("/admin/visits/{protocol}");
    let to = |day: &str| json!({"day": day, "period": "manha"});
    assert_eq!(
        admin_post(&app, &format!("{base}/move"), to(D2)).await.0,
        200
    );
    assert_eq!(
        admin_post(&app, &format!("{base}/move"), to(D3)).await.0,
        200
    );
    assert_eq!(
        admin_post(&app, &format!("{base}/cancel"), json!({}))
            .await
            .0,
        200
    );
    // The reservation's SMS, then one per change, each once.
    let sent = fake.wait_accepted(4, Duration::from_secs(20)).await;
    assert_eq!(sent.len(), 4, "{sent:?}");
    let body = |form: &Vec<(String, String)>, name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let bodies: Vec<String> = sent.iter().map(|f| body(f, "Body")).collect();
    assert!(sent.iter().all(|f| body(f, "To") == CALLER));
    let moved: Vec<&String> = bodies.iter().filter(|b| b.contains("remarcada")).collect();
    assert_eq!(moved.len(), 2, "{bodies:?}");
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("quinta-feira, 11/03, de manhã")),
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("sexta-feira, 12/03, de manhã")),
        "{bodies:?}"
    );
    let cancelled = bodies.iter().filter(|b| b.contains("cancelada")).count();
    assert_eq!(cancelled, 1, "{bodies:?}");
    assert!(bodies.iter().all(|b| b.contains(&protocol)), "{bodies:?}");
}
