//! The WhatsApp inbox, black-box, with the real binary as a child process
//! (killed with SIGKILL and restarted on the same store) and the fake Graph API
//! of [`super::whatsapp`]:
//!
//! - a conversation where the service is killed right after each message's
//!   `200` and restarted answers every message exactly once (SQLite, PostgreSQL) (the replies
//!   counted at the fake Graph API, which turns every reply away until the kill,
//!   so none can leave before it and be counted by luck);
//! - a store that cannot take the write (SQLite: another connection holds the
//!   write lock; PostgreSQL: the inbox table locked) is a `503` with a short
//!   body and one log line without the message; the redelivery, once the store
//!   is back, is answered once.

use super::whatsapp::{
    Answer, Graph, NUMBER_ID, SECRET, TOKEN, VERIFY, WA_ID, body, is_buttons, notification, text,
};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use test_support::proc::Service;
use test_support::{TestDb, tutorial};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The service as a child process, its store and the fake Graph API.
struct Rig {
    svc: Service,
    db: TestDb,
    graph: Arc<Graph>,
    _server: MockServer,
    _sandbox: ozmap_sandbox::SandboxServer,
    http: reqwest::Client,
}

impl Rig {
    async fn new(b: Backend, test: &str) -> Option<Rig> {
        let db = match b {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres(test).await?,
        };
        let server = MockServer::start().await;
        let graph = Arc::new(Graph::default());
        Mock::given(method("POST"))
            .and(path(format!("/v23.0/{NUMBER_ID}/messages")))
            .respond_with(Answer(graph.clone()))
            .mount(&server)
            .await;
        let sandbox = test_support::start_sandbox().await;
        let uri = server.uri();
        let env = [
            ("WHATSAPP_APP_SECRET", SECRET),
            ("WHATSAPP_VERIFY_TOKEN", VERIFY),
            ("WHATSAPP_TOKEN", TOKEN),
            ("WHATSAPP_PHONE_NUMBER_ID", NUMBER_ID),
            ("WHATSAPP_API_URL", uri.as_str()),
            ("IVR_RETRY_BASE_MS", "50"),
        ];
        let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), &env).await;
        Some(Rig {
            svc,
            db,
            graph,
            _server: server,
            _sandbox: sandbox,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        })
    }

    fn sent(&self) -> Vec<Value> {
        self.graph.sent.lock().unwrap().clone()
    }

    /// Posts a signed notification: its status and body.
    async fn post(&self, n: &Value) -> (u16, String) {
        let raw = n.to_string();
        let sig = ozmap_ivr::whatsapp_signature(SECRET.as_bytes(), raw.as_bytes());
        let r = self
            .http
            .post(format!("{}/whatsapp", self.svc.base))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sig)
            .body(raw)
            .send()
            .await
            .expect("the service answers");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// Waits until `before + n` replies arrived, then a while longer to catch
    /// one too many; the new ones.
    async fn replies_after(&self, before: usize, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.sent().len() < before + n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = self.sent();
        assert_eq!(
            sent.len(),
            before + n,
            "replies: {:#?}\nlog:\n{}",
            &sent[before.min(sent.len())..],
            self.svc.log_text()
        );
        sent[before..].to_vec()
    }

    /// The inbox by `(status, rows, rows with content)`.
    async fn inbox(&self) -> Vec<(String, i64, i64)> {
        let store = ozmap_ivr::Store::connect(&self.db.url).await.unwrap();
        store.chat_inbox_counts().await.unwrap()
    }
}

fn button(id: &str, reply: &str) -> Value {
    json!({"from": WA_ID, "id": id, "timestamp": "1", "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": reply, "title": reply}}})
}

/// On PostgreSQL a message claimed when the process died waits for the lease
/// to run out (6 s) after the restart.
async fn killed_after_each_200_answers_every_message_once(b: Backend) {
    let Some(mut r) = Rig::new(b, "inbox_kill").await else {
        return;
    };
    type Check = fn(&Value) -> bool;
    let script: [(Value, Check); 4] = [
        (text("wamid.k.1", "oi"), |v| {
            body(v).contains("Digite o código")
        }),
        (text("wamid.k.2", "123/123"), |v| {
            is_buttons(v) && body(v).contains("123|123")
        }),
        (button("wamid.k.3", "yes"), |v| body(v).contains("nome")),
        (text("wamid.k.4", tutorial::CLIENT_NAME), |v| {
            body(v).contains("localização")
        }),
    ];
    for (i, (message, check)) in script.iter().enumerate() {
        let before = r.sent().len();
        // No reply leaves before the kill.
        r.graph.failing.store(usize::MAX / 2, Ordering::SeqCst);
        let (status, _) = r.post(&notification(message.clone())).await;
        assert_eq!(status, 200, "message {i}");
        r.svc.kill();
        r.graph.failing.store(0, Ordering::SeqCst);
        r.svc.restart().await;
        let got = r.replies_after(before, 1).await;
        assert!(check(&got[0]), "message {i}: {got:?}");
    }
    assert_eq!(r.svc.kills, 4);
    // Delivered again after all that: still one answer each.
    let before = r.sent().len();
    let (status, _) = r.post(&notification(script[3].0.clone())).await;
    assert_eq!(status, 200);
    r.replies_after(before, 0).await;
    assert_eq!(r.inbox().await, vec![("done".to_string(), 4, 0)]);
    let log = r.svc.log_text();
    assert!(!log.contains(tutorial::CLIENT_NAME), "{log}");
    assert!(!log.contains(WA_ID), "{log}");
}

/// Another client's transaction that keeps the service from writing the inbox
/// until [`Lock::release`].
struct Lock(sqlx::AnyConnection);

impl Lock {
    async fn take(b: Backend, url: &str) -> Lock {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
        match b {
            // The write lock: the service's writer waits (its busy timeout),
            // then fails; the notification is not kept within its budget.
            Backend::Sqlite => conn.execute("BEGIN IMMEDIATE").await.expect("lock"),
            Backend::Postgres => {
                conn.execute("BEGIN").await.expect("begin");
                conn.execute("LOCK TABLE whatsapp_inbox IN ACCESS EXCLUSIVE MODE")
                    .await
                    .expect("lock")
            }
        };
        Lock(conn)
    }

    async fn release(mut self) {
        self.0.execute("ROLLBACK").await.expect("release");
    }
}

async fn a_store_that_cannot_keep_the_message_is_503_and_the_redelivery_answered_once(b: Backend) {
    let Some(r) = Rig::new(b, "inbox_503").await else {
        return;
    };
    // A conversation under way.
    r.post(&notification(text("wamid.s.1", "oi"))).await;
    r.replies_after(0, 1).await;
    let n = notification(text("wamid.s.2", "123/123"));
    let lock = Lock::take(b, &r.db.url).await;
    let started = Instant::now();
    let (status, said) = r.post(&n).await;
    let took = started.elapsed();
    lock.release().await;
    assert_eq!(status, 503, "{said}; log:\n{}", r.svc.log_text());
    assert!(said.contains("could not be kept"), "{said}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    // The log is written beside the answer: waited for.
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.svc.count_in_log("notification not kept") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Meta delivers it again, and again: one answer.
    assert_eq!(r.post(&n).await.0, 200);
    assert_eq!(r.post(&n).await.0, 200);
    let got = r.replies_after(1, 1).await;
    assert!(is_buttons(&got[0]), "{got:?}");
    assert_eq!(r.inbox().await, vec![("done".to_string(), 2, 0)]);
    let log = r.svc.log_text();
    assert_eq!(log.matches("notification not kept").count(), 1, "{log}");
    assert!(!log.contains("123/123"), "{log}");
}

mod whatsapp_killed_after_each_200_answers_every_message_once {
    #[tokio::test]
    async fn sqlite() {
        super::killed_after_each_200_answers_every_message_once(super::Backend::Sqlite).await
    }
    #[tokio::test]
    async fn postgres() {
        super::killed_after_each_200_answers_every_message_once(super::Backend::Postgres).await
    }
}

mod a_store_that_cannot_keep_the_message {
    #[tokio::test]
    async fn sqlite() {
        super::a_store_that_cannot_keep_the_message_is_503_and_the_redelivery_answered_once(
            super::Backend::Sqlite,
        )
        .await
    }
    #[tokio::test]
    async fn postgres() {
        super::a_store_that_cannot_keep_the_message_is_503_and_the_redelivery_answered_once(
            super::Backend::Postgres,
        )
        .await
    }
}
