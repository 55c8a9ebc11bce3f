//! The WhatsApp channel, black-box: the real service with the OZmap sandbox and
//! a fake Graph API on loopback that records every reply. A client writes (the
//! notifications signed as Meta signs them) and reads what the service sends
//! back: a text-only conversation and a shared location each end with one
//! reservation and a message with the box, the port and the protocol; a
//! notification delivered twice moves the conversation once; a forged or
//! missing signature changes nothing; statuses and media are handled; and a
//! Graph API that fails and recovers still delivers each reply once.

use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use test_support::tutorial;
use test_support::{TestApp, TestDb};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub(crate) const SECRET: &str = "wa-test-app-secret";
pub(crate) const VERIFY: &str = "wa-test-verify";
pub(crate) const TOKEN: &str = "wa-test-token";
pub(crate) const NUMBER_ID: &str = "1234567890";
pub(crate) const WA_ID: &str = "5548999990000";

#[derive(Default)]
pub(crate) struct Graph {
    /// Requests still to be answered 503.
    pub(crate) failing: AtomicUsize,
    pub(crate) turned_away: AtomicUsize,
    /// Answer 400 to everything (a dead letter).
    pub(crate) refusing: std::sync::atomic::AtomicBool,
    pub(crate) sent: Mutex<Vec<Value>>,
}

pub(super) struct Answer(pub(super) Arc<Graph>);

impl Respond for Answer {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if self.0.refusing.load(Ordering::SeqCst) {
            self.0.turned_away.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": 131030, "message": "not allowed"}}));
        }
        let left = self.0.failing.load(Ordering::SeqCst);
        if left > 0 {
            self.0.failing.store(left - 1, Ordering::SeqCst);
            self.0.turned_away.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(503).set_body_json(json!({"error": {"code": 2}}));
        }
        let body: Value = serde_json::from_slice(&req.body).expect("JSON");
        let mut sent = self.0.sent.lock().unwrap();
        sent.push(body);
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
            "messages": [{"id": format!("wamid.out.{}", sent.len())}],
        }))
    }
}

pub(crate) struct Chat {
    pub(crate) app: TestApp,
    pub(crate) graph: Arc<Graph>,
    _server: MockServer,
    http: reqwest::Client,
    next_id: AtomicUsize,
}

impl Chat {
    pub(super) async fn start() -> Chat {
        Self::start_on(TestDb::sqlite()).await
    }

    async fn start_on(db: TestDb) -> Chat {
        Self::start_with(db, false).await
    }

    /// `directory`: the sandbox's client directory is asked about each code.
    pub(crate) async fn start_with(db: TestDb, directory: bool) -> Chat {
        Self::start_with_flags(db, directory, &[]).await
    }

    /// `extra`: more flags for the service (they come last, so they win).
    pub(crate) async fn start_with_flags(db: TestDb, directory: bool, extra: &[&str]) -> Chat {
        let server = MockServer::start().await;
        let graph = Arc::new(Graph::default());
        Mock::given(method("POST"))
            .and(path(format!("/v23.0/{NUMBER_ID}/messages")))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(Answer(graph.clone()))
            .mount(&server)
            .await;
        let url = format!("--whatsapp-api-url={}", server.uri());
        let sandbox = test_support::start_sandbox().await;
        let directory_url = format!("--client-directory-url={}/directory", sandbox.base_url());
        let directory_token = format!("--client-directory-token={}", test_support::TOKEN);
        let owned = [
            format!("--whatsapp-app-secret={SECRET}"),
            format!("--whatsapp-verify-token={VERIFY}"),
            format!("--whatsapp-token={TOKEN}"),
            format!("--whatsapp-phone-number-id={NUMBER_ID}"),
            url,
        ];
        let mut flags: Vec<&str> = owned.iter().map(String::as_str).collect();
        flags.extend([
            "--whatsapp-agent-contact=(48) 3000-0000",
            "--retry-base-ms=50",
        ]);
        if directory {
            flags.extend([
                "--sms-provider=log",
                "--admin-token=wa-admin-token-0123456789",
                "--client-directory=http",
                directory_url.as_str(),
                directory_token.as_str(),
            ]);
        }
        flags.extend_from_slice(extra);
        let app = TestApp::spawn_with(sandbox, db, &flags).await;
        Chat {
            app,
            graph,
            _server: server,
            http: reqwest::Client::new(),
            next_id: AtomicUsize::new(0),
        }
    }

    pub(crate) fn sent(&self) -> Vec<Value> {
        self.graph.sent.lock().unwrap().clone()
    }

    /// Posts a signed notification; its status.
    pub(crate) async fn post(&self, body: &Value) -> u16 {
        let raw = body.to_string();
        let sig = ozmap_ivr::whatsapp_signature(SECRET.as_bytes(), raw.as_bytes());
        self.post_raw(raw, Some(sig)).await
    }

    async fn post_raw(&self, raw: String, signature: Option<String>) -> u16 {
        let mut req = self
            .http
            .post(format!("{}/whatsapp", self.app.base_url))
            .header("content-type", "application/json")
            .body(raw);
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
            .await
            .expect("the service answers")
            .status()
            .as_u16()
    }

    pub(crate) fn id(&self) -> String {
        format!("wamid.in.{}", self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    /// Sends one message and waits for the replies it causes (`n` of them).
    pub(crate) async fn say(&self, message: Value, n: usize) -> Vec<Value> {
        let before = self.sent().len();
        assert_eq!(self.post(&notification(message)).await, 200);
        self.replies_after(before, n).await
    }

    pub(crate) async fn text(&self, body: &str, n: usize) -> Vec<Value> {
        self.say(text(&self.id(), body), n).await
    }

    pub(super) async fn button(&self, id: &str, n: usize) -> Vec<Value> {
        let m = json!({"from": WA_ID, "id": self.id(), "timestamp": "1", "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": id, "title": id}}});
        self.say(m, n).await
    }

    /// Waits until `n` replies arrived after the first `before`, then a little
    /// longer to catch an extra one.
    pub(crate) async fn replies_after(&self, before: usize, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.sent().len() < before + n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let sent = self.sent();
        assert_eq!(
            sent.len(),
            before + n,
            "replies: {:#?}",
            &sent[before.min(sent.len())..]
        );
        sent[before..].to_vec()
    }
}

pub(crate) fn notification(message: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
    "field": "messages",
    "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "554830000000", "phone_number_id": NUMBER_ID},
        "contacts": [{"profile": {"name": "Gabriel"}, "wa_id": WA_ID}],
        "messages": [message],
    }}]}]})
}

pub(crate) fn text(id: &str, body: &str) -> Value {
    json!({"from": WA_ID, "id": id, "timestamp": "1", "type": "text", "text": {"body": body}})
}

/// The text of a reply, text or interactive.
pub(crate) fn body(v: &Value) -> String {
    v["text"]["body"]
        .as_str()
        .or_else(|| v["interactive"]["body"]["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn is_buttons(v: &Value) -> bool {
    v["type"] == "interactive"
        && v["interactive"]["action"]["buttons"][0]["reply"]["id"] == "yes"
        && v["interactive"]["action"]["buttons"][1]["reply"]["id"] == "no"
}

/// Greeting to the address question.
pub(crate) async fn up_to_the_address(c: &Chat) {
    let r = c.text("oi", 1).await;
    assert_eq!(r[0]["to"], WA_ID);
    assert!(body(&r[0]).contains("Digite o código"), "{r:?}");
    assert!(!body(&r[0]).contains("tecle"), "{r:?}");
    let r = c.text("123/123", 1).await;
    assert!(
        is_buttons(&r[0]) && body(&r[0]).contains("123|123"),
        "{r:?}"
    );
    let r = c.button("yes", 1).await;
    assert!(body(&r[0]).contains("nome"), "{r:?}");
    let r = c.text(tutorial::CLIENT_NAME, 1).await;
    assert!(body(&r[0]).contains("localização"), "{r:?}");
}

/// The box, port and protocol in the pushed outcome.
fn assert_outcome(c: &Chat, outcome: &Value) {
    let props = c.app.sandbox.properties();
    assert_eq!(props.len(), 1, "{props:?}");
    assert_eq!(c.app.sandbox.property_posts(), 1);
    let port = props[0]["connections"][0]["port"].as_i64().expect("a port");
    let text = body(outcome);
    assert!(
        text.contains(&format!("porta {port} da caixa CTO-")),
        "{text}"
    );
    assert!(text.contains("protocolo"), "{text}");
}

#[tokio::test]
async fn whatsapp_a_text_conversation_reserves_one_port_and_sends_it_back() {
    let c = Chat::start().await;
    up_to_the_address(&c).await;
    let r = c
        .text("Rua Delminda Silveira, 900, Agronômica, Florianópolis", 1)
        .await;
    assert!(is_buttons(&r[0]), "{r:?}");
    assert!(body(&r[0]).contains("Delminda Silveira, 900"), "{r:?}");
    // Yes: the hold, then (pushed, nobody asks) the outcome.
    let r = c.button("yes", 2).await;
    assert!(body(&r[0]).contains("Eu aviso aqui"), "{r:?}");
    assert_outcome(&c, &r[1]);
    // A new message to the finished conversation: the reservation read back,
    // and a new conversation.
    let r = c.text("oi", 2).await;
    assert!(body(&r[0]).contains("A sua reserva do protocolo"), "{r:?}");
    assert!(body(&r[1]).contains("Digite o código"), "{r:?}");
    assert_eq!(c.app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn whatsapp_a_client_the_directory_knows_confirms_the_installation_and_is_reserved() {
    let c = Chat::start_with(TestDb::sqlite(), true).await;
    let r = c.text("oi", 1).await;
    assert!(body(&r[0]).contains("consultar o seu cadastro"), "{r:?}");
    let r = c.text("123/123", 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    // no name question: the address the directory holds, with buttons
    let r = c.button("yes", 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    let text = body(&r[0]);
    assert!(
        text.contains("A instalação é na Rua Delminda Silveira, 900"),
        "{text}"
    );
    assert!(!text.contains("nome") && !text.contains("Tecle"), "{text}");
    let r = c.button("yes", 2).await;
    assert_outcome(&c, &r[1]);
    assert_eq!(
        c.app.sandbox.clients(),
        vec![("123|123".to_string(), Some("Gabriel Marioto".to_string()))]
    );
    // the outcome went back in the chat, not also by SMS
    let sms: Vec<Value> = reqwest::Client::new()
        .get(format!("{}/admin/messages?channel=sms", c.app.base_url))
        .bearer_auth("wa-admin-token-0123456789")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(sms.is_empty(), "{sms:?}");
    // a code the directory does not know: told, and asked again
    let c = Chat::start_with(TestDb::sqlite(), true).await;
    c.text("oi", 1).await;
    c.text("555", 1).await;
    let r = c.button("yes", 1).await;
    assert!(body(&r[0]).contains("Não encontrei este código"), "{r:?}");
}

#[tokio::test]
async fn whatsapp_on_postgres_a_location_conversation_reserves_once_and_is_idempotent() {
    let Some(db) = TestDb::postgres("whatsapp_on_postgres").await else {
        return;
    };
    let c = Chat::start_on(db).await;
    up_to_the_address(&c).await;
    let m = json!({"from": WA_ID, "id": "wamid.pg.loc", "timestamp": "1", "type": "location",
        "location": {"latitude": tutorial::LAT, "longitude": tutorial::LNG}});
    let r = c.say(m.clone(), 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    // The same location delivered again: nothing moves.
    assert_eq!(c.post(&notification(m)).await, 200);
    let before = c.sent().len();
    c.replies_after(before, 0).await;
    let r = c.button("yes", 2).await;
    assert_outcome(&c, &r[1]);
}

#[tokio::test]
async fn whatsapp_a_conversation_idle_for_a_day_starts_over() {
    let c = Chat::start().await;
    let r = c.text("oi", 1).await;
    let first = body(&r[0]);
    c.text("123/123", 1).await;
    // A day and a minute pass.
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&c.app.db.url)
        .await
        .unwrap();
    let day = 24 * 60 * 60 * 1000 + 60_000_i64;
    sqlx::query("UPDATE calls SET updated_at = updated_at - $1 WHERE call_sid = $2")
        .bind(day)
        .bind(format!("wa:{WA_ID}"))
        .execute(&mut conn)
        .await
        .unwrap();
    // "yes" would have confirmed the code: the conversation starts over instead,
    // with a new protocol.
    let r = c.button("yes", 1).await;
    let again = body(&r[0]);
    assert!(again.contains("Digite o código"), "{r:?}");
    let protocol = |t: &str| t.split("protocolo é ").nth(1).map(|p| p[..16].to_string());
    assert_ne!(protocol(&first), protocol(&again), "{first} / {again}");
}

#[tokio::test]
async fn whatsapp_a_location_far_from_every_box_is_no_coverage() {
    let c = Chat::start().await;
    up_to_the_address(&c).await;
    let m = json!({"from": WA_ID, "id": c.id(), "timestamp": "1", "type": "location",
        "location": {"latitude": -27.70, "longitude": -48.70, "name": "Sítio"}});
    let r = c.say(m, 1).await;
    // No address there: read back by the location's own name.
    assert!(body(&r[0]).contains("O endereço é Sítio"), "{r:?}");
    let r = c.button("yes", 2).await;
    assert!(body(&r[1]).contains("ainda não temos"), "{r:?}");
    // A person is offered (a contact is configured).
    assert!(is_buttons(&r[1]), "{r:?}");
    assert_eq!(c.app.sandbox.property_posts(), 0);
}

#[tokio::test]
async fn whatsapp_falar_com_atendente_hands_over_with_the_contact() {
    let c = Chat::start().await;
    let r = c.text("oi", 1).await;
    assert!(body(&r[0]).contains("digite atendente"), "{r:?}");
    let r = c.text("falar com atendente", 1).await;
    assert!(body(&r[0]).contains("(48) 3000-0000"), "{r:?}");
    assert!(!body(&r[0]).contains("linha"), "{r:?}");
}

#[tokio::test]
async fn whatsapp_a_refused_reply_is_a_dead_letter_and_is_not_retried() {
    let c = Chat::start().await;
    c.graph.refusing.store(true, Ordering::SeqCst);
    assert_eq!(c.post(&notification(text("wamid.r", "oi"))).await, 200);
    let store = ozmap_ivr::Store::connect(&c.app.db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let dead = || async {
        store
            .chat_reply_counts()
            .await
            .unwrap()
            .into_iter()
            .any(|(s, n)| s == "dead" && n == 1)
    };
    while !dead().await && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dead().await, "{:?}", store.chat_reply_counts().await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.graph.turned_away.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn whatsapp_a_shared_location_is_reserved_at_its_coordinates() {
    let c = Chat::start().await;
    up_to_the_address(&c).await;
    // A few metres from the tutorial's house.
    let (lat, lng) = (tutorial::LAT + 0.000_05, tutorial::LNG - 0.000_05);
    let m = json!({"from": WA_ID, "id": c.id(), "timestamp": "1", "type": "location",
        "location": {"latitude": lat, "longitude": lng, "name": "Casa"}});
    let r = c.say(m, 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    // Read back by the reverse geocode (the gazetteer's nearest address).
    assert!(body(&r[0]).contains("Delminda Silveira"), "{r:?}");
    let r = c.button("yes", 2).await;
    assert_outcome(&c, &r[1]);
    let p = &c.app.sandbox.properties()[0];
    let coords = &p["coords"];
    let (plng, plat) = (coords[0].as_f64().unwrap(), coords[1].as_f64().unwrap());
    assert!(
        (plat - lat).abs() < 1e-9 && (plng - lng).abs() < 1e-9,
        "{p}"
    );
}

#[tokio::test]
async fn whatsapp_the_same_notification_twice_moves_the_conversation_once() {
    let c = Chat::start().await;
    c.text("oi", 1).await;
    let m = notification(text("wamid.twice", "123/123"));
    assert_eq!(c.post(&m).await, 200);
    assert_eq!(c.post(&m).await, 200);
    let r = c.replies_after(1, 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    // Once more, later: still nothing.
    assert_eq!(c.post(&m).await, 200);
    c.replies_after(2, 0).await;
}

#[tokio::test]
async fn whatsapp_a_forged_or_missing_signature_changes_nothing() {
    let c = Chat::start().await;
    let raw = notification(text("wamid.forged", "oi")).to_string();
    let forged = ozmap_ivr::whatsapp_signature(b"not-the-secret", raw.as_bytes());
    assert_eq!(c.post_raw(raw.clone(), Some(forged)).await, 403);
    assert_eq!(c.post_raw(raw.clone(), None).await, 401);
    assert_eq!(c.post_raw(raw, Some("sha256=00".into())).await, 401);
    // Malformed JSON, signed: 400.
    let bad = "{not json".to_string();
    let sig = ozmap_ivr::whatsapp_signature(SECRET.as_bytes(), bad.as_bytes());
    assert_eq!(c.post_raw(bad, Some(sig)).await, 400);
    c.replies_after(0, 0).await;
    // The subscription check.
    let get = |token: &str| {
        c.http.get(format!(
            "{}/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            c.app.base_url
        ))
    };
    let ok = get(VERIFY).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(get("wrong").send().await.unwrap().status().as_u16(), 403);
}

#[tokio::test]
async fn whatsapp_statuses_other_numbers_and_media() {
    let c = Chat::start().await;
    let status = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": NUMBER_ID},
        "statuses": [{"id": "wamid.out.1", "status": "read", "recipient_id": WA_ID}]}}]}]});
    assert_eq!(c.post(&status).await, 200);
    let mut other = notification(text("wamid.other", "oi"));
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    assert_eq!(c.post(&other).await, 200);
    assert_eq!(
        c.post(&json!({"object": "whatsapp_business_account"}))
            .await,
        200
    );
    c.replies_after(0, 0).await;
    // Media in a conversation: asked for text or the location, nothing moves.
    c.text("oi", 1).await;
    let audio = json!({"from": WA_ID, "id": c.id(), "timestamp": "1", "type": "audio",
        "audio": {"id": "media.1", "mime_type": "audio/ogg"}});
    let r = c.say(audio, 1).await;
    assert!(
        body(&r[0]).contains("digite o texto ou envie a sua localização"),
        "{r:?}"
    );
    let r = c.text("123/123", 1).await;
    assert!(is_buttons(&r[0]), "the code question was still open: {r:?}");
}

#[tokio::test]
async fn whatsapp_a_failing_graph_api_recovers_and_each_reply_arrives_once() {
    let c = Chat::start().await;
    c.graph.failing.store(3, Ordering::SeqCst);
    let r = c.text("oi", 1).await;
    assert!(body(&r[0]).contains("Digite o código"), "{r:?}");
    assert_eq!(c.graph.turned_away.load(Ordering::SeqCst), 3);
    // The next reply is not held back by the earlier failure.
    let r = c.text("123/123", 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
}
