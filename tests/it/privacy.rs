//! A data subject's request (LGPD art. 18) on a call walked through the real
//! service, with its SMS (and a WhatsApp conversation that reserved): `ozmap-ivr privacy export` shows the caller's call,
//! reservation and SMS; `privacy erase` leaves nothing of the caller (number,
//! name, address, SMS text) in any table of the store, keeps the ledger's
//! protocol and OZmap ids, says the property stays in OZmap, and a second
//! erase (or one of an unknown number) finds nothing.

use crate::sms::{AUTH_TOKEN, CALLER, FakeTwilio, Mode, call, spawn, wait_done};
use ivr_core::domain::ReservationOutcome;
use ozmap_ivr::Store;
use serde_json::Value;
use sqlx::Row;
use std::time::Duration;
use test_support::tutorial;

fn cli(db: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(crate::BIN)
        .arg("privacy")
        .args(args)
        .env("IVR_DATABASE_URL", db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every text of every column of every table (SQLite), as `table.column: text`.
async fn every_text(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
    assert!(tables.len() >= 10, "{tables:?}");
    let mut texts = Vec::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{t}')"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
        for c in cols {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT CAST({c} AS TEXT) AS v FROM {t}"
            )))
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for r in rows {
                if let Some(v) = r.get::<Option<String>, _>("v") {
                    texts.push(format!("{t}.{c}: {v}"));
                }
            }
        }
    }
    texts
}

#[tokio::test]
async fn export_then_erase_leaves_nothing_of_the_caller_but_keeps_the_ozmap_ids() {
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    let app = spawn(&fake, &[]).await;
    call(&app, CALLER, "123*123").await;
    let store = Store::connect(&app.db.url).await.unwrap();
    let before = wait_done(&store, 1).await;
    fake.wait_accepted(1, Duration::from_secs(15)).await;
    let Some(ReservationOutcome::Reserved(port)) = &before[0].outcome else {
        panic!("not reserved: {:?}", before[0].outcome)
    };
    let protocol = before[0].request.protocol.clone().expect("a protocol");
    let db = app.db.url.clone();

    // the export: found by the number as a person writes it
    let export: Value =
        serde_json::from_str(&cli(&db, &["export", "--phone", "48 99999-0000"])).expect("JSON");
    assert_eq!(export["calls"].as_array().unwrap().len(), 1, "{export:#}");
    assert_eq!(export["reservations"].as_array().unwrap().len(), 1);
    assert_eq!(export["messages"].as_array().unwrap().len(), 1);
    let res = &export["reservations"][0];
    assert_eq!(res["protocol"], protocol.as_str());
    assert_eq!(res["ozmap_property_id"], port.property_id.as_str());
    let street = res["request"]["place"]["street"]
        .as_str()
        .unwrap()
        .to_string();
    let name = res["request"]["client_name"].as_str().unwrap().to_string();
    let body = export["messages"][0]["body"].as_str().unwrap().to_string();
    assert!(!street.is_empty() && !name.is_empty() && !body.is_empty());
    // the same person by their client code
    let by_code: Value =
        serde_json::from_str(&cli(&db, &["export", "--client", "123|123"])).unwrap();
    assert_eq!(by_code["reservations"], export["reservations"]);
    assert_eq!(by_code["calls"], export["calls"]);

    // before: the caller is in the store
    let needles = [
        "99990000".to_string(),
        name.to_lowercase(),
        street.to_lowercase(),
        body.to_lowercase(),
    ];
    let held = every_text(&db).await.join("\n").to_lowercase();
    for n in &needles {
        assert!(
            held.contains(n.as_str()),
            "{n:?} not held before the erasure"
        );
    }

    let erased = cli(&db, &["erase", "--phone", "+5548999990000"]);
    assert!(erased.contains("1 reservation(s) anonymised"), "{erased}");
    assert!(
        erased.contains(&format!("kept in OZmap: property {}", port.property_id)),
        "{erased}"
    );
    assert!(!erased.contains("99990000"), "{erased}");

    // after: nothing of the caller in any table
    for t in every_text(&db).await {
        let low = t.to_lowercase();
        for n in &needles {
            assert!(!low.contains(n.as_str()), "{n:?} is left in {t}");
        }
    }
    // the ledger keeps the protocol and the OZmap ids
    let after = store.list_reservations(None, 10).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].request.protocol.as_deref(),
        Some(protocol.as_str())
    );
    assert_eq!(after[0].outcome, before[0].outcome);
    assert_eq!(after[0].status, before[0].status);
    // the audit holds no number
    let audit = store.privacy_audit().await.unwrap();
    assert_eq!(audit.len(), 1);
    assert!(!audit[0].to_string().contains("99990000"), "{audit:?}");

    // idempotent; an unknown number finds nothing
    for args in [
        ["erase", "--phone", "(48) 99999-0000"],
        ["erase", "--client", "123|123"],
        ["erase", "--phone", "+5511912345678"],
    ] {
        assert!(cli(&db, &args).contains("nothing was found"), "{args:?}");
    }
    let empty: Value =
        serde_json::from_str(&cli(&db, &["export", "--phone", "48999990000"])).unwrap();
    for table in [
        "calls",
        "reservations",
        "messages",
        "chat_replies",
        "geocodes",
    ] {
        assert_eq!(empty[table], Value::Array(vec![]), "{table}: {empty:#}");
    }
    assert_eq!(store.privacy_audit().await.unwrap().len(), 1);
}

/// The console's page: export downloads the JSON, erase asks first, refuses a
/// forged form, then erases, and a second erase finds nothing.
#[tokio::test]
async fn the_console_exports_and_erases_after_a_confirmation() {
    use crate::console_sessions::{csrf_of, http, login};
    use crate::console_walks::{ADMIN, app, tutorial, walk};
    let app = app().await;
    walk(&app, tutorial("123*123")).await;
    let store = Store::connect(&app.db.url).await.unwrap();
    wait_done(&store, 1).await;
    let cookie = login(&app, ADMIN).await;
    let page = http()
        .get(format!("{}/console/privacy?lang=en-US", app.base_url))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Download data (JSON)"), "{page}");
    let csrf = csrf_of(&page);
    let post = |form: Vec<(&'static str, String)>| {
        let req = http()
            .post(format!("{}/console/privacy", app.base_url))
            .header("Cookie", &cookie)
            .header("Origin", &app.base_url)
            .form(&form);
        async move { req.send().await.unwrap() }
    };
    let phone = ("phone", "48 99123-4567".to_string());
    let r = post(vec![
        ("csrf", csrf.clone()),
        phone.clone(),
        ("action", "export".into()),
    ])
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: Value = r.json().await.unwrap();
    assert_eq!(
        export["reservations"].as_array().unwrap().len(),
        1,
        "{export:#}"
    );
    // erase: first a confirmation, nothing erased yet
    let r = post(vec![
        ("csrf", csrf.clone()),
        phone.clone(),
        ("action", "erase".into()),
    ])
    .await;
    let text = r.text().await.unwrap();
    assert!(text.contains("id=\"erase-confirm\""), "{text}");
    assert!(store.privacy_audit().await.unwrap().is_empty());
    // a forged form erases nothing
    let forged = post(vec![
        ("csrf", "forged".into()),
        phone.clone(),
        ("action", "erase".into()),
        ("confirm", "yes".into()),
    ])
    .await;
    assert_eq!(forged.status(), 403);
    assert!(store.privacy_audit().await.unwrap().is_empty());
    let confirm = || {
        vec![
            ("csrf", csrf.clone()),
            phone.clone(),
            ("action", "erase".into()),
            ("confirm", "yes".into()),
        ]
    };
    let done = post(confirm()).await.text().await.unwrap();
    assert!(done.contains("Continua no OZmap"), "{done}");
    assert!(done.contains("Reservas (anonimizadas): 1"), "{done}");
    assert!(!done.contains("91234567"), "{done}");
    assert_eq!(store.privacy_audit().await.unwrap().len(), 1);
    let again = post(confirm()).await.text().await.unwrap();
    assert!(again.contains("Nada encontrado"), "{again}");
}

/// A WhatsApp conversation that reserved: its number is its key, its replies
/// and the messages received carry the name and the address. After `privacy
/// erase --phone`, none of them is left in any table; the property stays.
#[tokio::test]
async fn a_whatsapp_conversation_is_erased_by_its_number() {
    use crate::whatsapp::{Chat, up_to_the_address};
    let c = Chat::start().await;
    up_to_the_address(&c).await;
    c.text("Rua Delminda Silveira, 900, Agronômica, Florianópolis", 1)
        .await;
    c.button("yes", 2).await;
    let db = c.app.db.url.clone();
    let store = Store::connect(&db).await.unwrap();
    let before = wait_done(&store, 1).await;
    let export: Value =
        serde_json::from_str(&cli(&db, &["export", "--phone", "(48) 99999-0000"])).unwrap();
    assert_eq!(export["calls"].as_array().unwrap().len(), 1, "{export:#}");
    assert_eq!(export["reservations"].as_array().unwrap().len(), 1);
    assert!(!export["chat_replies"].as_array().unwrap().is_empty());
    let name = tutorial::CLIENT_NAME.to_lowercase();
    let needles = ["99990000", name.as_str(), "delminda"];
    let held = every_text(&db).await.join("\n").to_lowercase();
    for n in needles {
        assert!(held.contains(n), "{n:?} not held before the erasure");
    }
    let erased = cli(&db, &["erase", "--phone", "5548999990000"]);
    assert!(erased.contains("kept in OZmap: property"), "{erased}");
    for t in every_text(&db).await {
        let low = t.to_lowercase();
        for n in needles {
            assert!(!low.contains(n), "{n:?} is left in {t}");
        }
    }
    let after = store.list_reservations(None, 10).await.unwrap();
    assert_eq!(after[0].outcome, before[0].outcome);
    assert_eq!(after[0].request.protocol, before[0].request.protocol);
    assert!(
        after[0].call_sid.starts_with("wa:"),
        "still a chat's reservation"
    );
    assert_eq!(
        c.app.sandbox.properties().len(),
        1,
        "the property stays in OZmap"
    );
    assert!(cli(&db, &["erase", "--phone", "48999990000"]).contains("nothing was found"));
}
