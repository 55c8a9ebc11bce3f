//! The WhatsApp outbox as operators see it, black-box: a reply is listed by
//! channel in `GET /admin/messages` and `ozmap-ivr messages list`, its number
//! masked and its text withheld; a reply the Graph API refused is a dead
//! letter an operator sends back with `ozmap-ivr messages retry`, and it is
//! then sent.

use super::whatsapp::{Chat, WA_ID, body, is_buttons, notification, text};
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use test_support::TestDb;

/// The operators' token `Chat::start_with(_, true)` configures.
const ADMIN: &str = "wa-admin-token-0123456789";

async fn admin(c: &Chat, path: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{}{path}", c.app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// `ozmap-ivr messages …` on the service's store; its output (it must succeed).
fn cli(c: &Chat, args: &[&str]) -> String {
    let out = std::process::Command::new(crate::BIN)
        .arg("messages")
        .args(args)
        .env("IVR_DATABASE_URL", &c.app.db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Nothing of the client in clear: not the number, not the reply's text.
fn assert_nothing_in_clear(what: &str, reply_text: &str) {
    assert!(!what.contains("99990000"), "the number leaks: {what}");
    assert!(!what.contains(WA_ID), "the number leaks: {what}");
    assert!(!what.contains(reply_text), "the text leaks: {what}");
}

#[tokio::test]
async fn whatsapp_replies_are_listed_by_channel_and_a_dead_one_is_retried_by_an_operator() {
    let c = Chat::start_with(TestDb::sqlite(), true).await;
    let r = c.text("oi", 1).await;
    let greeting = body(&r[0]);
    assert!(greeting.contains("consultar o seu cadastro"), "{r:?}");
    let sample: String = greeting.chars().take(24).collect();

    // The JSON, by channel.
    let (status, rows) = admin(&c, "/admin/messages?channel=whatsapp").await;
    assert_eq!(status, 200);
    let rows = rows.as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let m = &rows[0];
    assert_eq!(m["channel"], "whatsapp");
    assert_eq!(m["status"], "sent");
    assert_eq!(m["attempts"], 1);
    assert_eq!(m["provider_id"], "wamid.out.1");
    assert_eq!(m["phone"], "***…00");
    assert_eq!(m["kind"], "text");
    assert_nothing_in_clear(&serde_json::to_string(&rows).unwrap(), &sample);
    let (_, sms) = admin(&c, "/admin/messages?channel=sms").await;
    assert_eq!(sms, serde_json::json!([]), "no SMS in a chat");
    let (_, both) = admin(&c, "/admin/messages").await;
    assert_eq!(both.as_array().unwrap().len(), 1, "{both}");
    assert_eq!(both[0]["channel"], "whatsapp");
    let (status, one) = admin(&c, &format!("/admin/messages/{}", m["id"])).await;
    assert_eq!((status, &one["channel"]), (200, &"whatsapp".into()));
    let (status, _) = admin(&c, "/admin/messages/1?channel=sms").await;
    assert_eq!(status, 404);
    let (status, err) = admin(&c, "/admin/messages?channel=fax").await;
    assert_eq!(status, 400, "{err}");
    assert!(err.to_string().contains("sms, whatsapp"), "{err}");

    // The command line, by channel.
    let table = cli(&c, &["list", "--channel", "whatsapp"]);
    assert!(table.contains("CHANNEL"), "{table}");
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains("whatsapp") && row.contains("sent") && row.contains("wamid.out.1"),
        "{table}"
    );
    assert_nothing_in_clear(&table, &sample);
    assert!(
        cli(&c, &["list", "--channel", "sms"]).contains("(no messages)"),
        "no SMS in a chat"
    );
    let json = cli(&c, &["list", "--json"]);
    assert!(json.contains("\"channel\": \"whatsapp\""), "{json}");
    assert_nothing_in_clear(&json, &sample);

    // The console lists it with its channel.
    let page = reqwest::Client::new()
        .get(format!("{}/console", c.app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let section = page
        .split("id=\"messages-table\"")
        .nth(1)
        .expect("the messages section");
    assert!(
        section.contains("data-channel=\"whatsapp\"") && section.contains("***…00"),
        "{section}"
    );
    assert_nothing_in_clear(section, &sample);

    // The Graph API refuses the next reply: a dead letter, not retried.
    c.graph.refusing.store(true, Ordering::SeqCst);
    assert_eq!(c.post(&notification(text(&c.id(), "123/123"))).await, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    let dead = loop {
        let (_, rows) = admin(&c, "/admin/messages?channel=whatsapp&status=dead").await;
        if let Some(m) = rows.as_array().and_then(|a| a.first()) {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead["attempts"], 1);
    let error = dead["last_error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 400") && error.contains("131030"),
        "{error}"
    );
    let id = dead["id"].to_string();
    // Operators' metrics count the replies by channel, beside the SMS.
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", c.app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ozmap_ivr_messages{channel=\"whatsapp\",status=\"dead\"} 1"),
        "{metrics}"
    );
    let shown = cli(&c, &["show", &id, "--channel", "whatsapp"]);
    assert!(shown.contains("\"status\": \"dead\""), "{shown}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.graph.turned_away.load(Ordering::SeqCst), 1);
    assert_eq!(c.sent().len(), 1);

    // An operator sends it back once the Graph API takes it: it is sent, once.
    c.graph.refusing.store(false, Ordering::SeqCst);
    let said = cli(&c, &["retry", &id, "--channel", "whatsapp"]);
    assert!(said.contains("sent back to the WhatsApp sender"), "{said}");
    let r = c.replies_after(1, 1).await;
    assert!(is_buttons(&r[0]), "the reply to 123/123: {r:?}");
    let (_, one) = admin(&c, &format!("/admin/messages/{id}?channel=whatsapp")).await;
    assert_eq!(one["status"], "sent");
    assert_eq!(one["attempts"], 2);
    assert_eq!(one["provider_id"], "wamid.out.2");
    // only a dead letter can be retried
    let out = std::process::Command::new(crate::BIN)
        .args(["messages", "retry", &id, "--channel", "whatsapp"])
        .env("IVR_DATABASE_URL", &c.app.db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a dead letter"));
}
