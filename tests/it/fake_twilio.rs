//! A fake Twilio messaging API on loopback that counts what it accepts (or
//! answers 503, or refuses), for the tests of every binary that sends SMS.
// Each test binary uses a part of it.
#![allow(dead_code)]

use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub(crate) const SID: &str = "ACfake0000000000000000000000000000";
pub(crate) const AUTH_TOKEN: &str = "sms-test-auth-token";
pub(crate) const FROM: &str = "+5548988880000";
pub(crate) const CALLER: &str = "+5548999990000";

/// How the fake answers.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    Accept,
    Unavailable,
    Refuse,
}

#[derive(Default)]
struct Counts {
    /// 0: accept, 1: 503, 2: 400.
    mode: AtomicUsize,
    accepted: Mutex<Vec<Vec<(String, String)>>>,
    turned_away: AtomicUsize,
}

struct Answer(Arc<Counts>);

impl Respond for Answer {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        match self.0.mode.load(Ordering::SeqCst) {
            0 => {
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&req.body).expect("a form");
                let mut accepted = self.0.accepted.lock().unwrap();
                accepted.push(form);
                ResponseTemplate::new(201).set_body_json(
                    json!({"sid": format!("SM{:032}", accepted.len()), "status": "queued"}),
                )
            }
            1 => {
                self.0.turned_away.fetch_add(1, Ordering::SeqCst);
                ResponseTemplate::new(503)
            }
            _ => {
                self.0.turned_away.fetch_add(1, Ordering::SeqCst);
                ResponseTemplate::new(400).set_body_json(json!({
                    "code": 21211,
                    "message": format!("The 'To' number {CALLER} is not a valid phone number."),
                    "status": 400
                }))
            }
        }
    }
}

/// Twilio's Messages API, as far as the service uses it.
pub(crate) struct FakeTwilio {
    pub(crate) server: MockServer,
    counts: Arc<Counts>,
}

impl FakeTwilio {
    pub(crate) async fn start(mode: Mode, token: &str) -> FakeTwilio {
        let server = MockServer::start().await;
        let counts = Arc::new(Counts::default());
        let f = FakeTwilio { server, counts };
        f.set(mode);
        Mock::given(method("POST"))
            .and(path(format!("/2010-04-01/Accounts/{SID}/Messages.json")))
            .and(basic_auth(SID, token))
            .respond_with(Answer(f.counts.clone()))
            .mount(&f.server)
            .await;
        f
    }

    pub(crate) fn set(&self, mode: Mode) {
        let m = match mode {
            Mode::Accept => 0,
            Mode::Unavailable => 1,
            Mode::Refuse => 2,
        };
        self.counts.mode.store(m, Ordering::SeqCst);
    }

    pub(crate) fn accepted(&self) -> Vec<Vec<(String, String)>> {
        self.counts.accepted.lock().unwrap().clone()
    }

    /// The fake API's root, for `TWILIO_API_URL`.
    pub(crate) fn uri(&self) -> String {
        self.server.uri()
    }

    pub(crate) fn turned_away(&self) -> usize {
        self.counts.turned_away.load(Ordering::SeqCst)
    }

    /// Every request that reached the server, matched or not.
    pub(crate) async fn requests(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .len()
    }

    /// Waits for `n` accepted messages, then a while longer to catch an extra one.
    pub(crate) async fn wait_accepted(
        &self,
        n: usize,
        limit: Duration,
    ) -> Vec<Vec<(String, String)>> {
        let deadline = Instant::now() + limit;
        while self.accepted().len() < n {
            assert!(
                Instant::now() < deadline,
                "the fake API accepted {} of {n} messages",
                self.accepted().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        self.accepted()
    }

    pub(crate) fn flags(&self) -> Vec<String> {
        vec![
            "--sms-provider=twilio".into(),
            format!("--sms-from={FROM}"),
            format!("--twilio-account-sid={SID}"),
            format!("--twilio-api-url={}", self.server.uri()),
            format!("--twilio-auth-token={AUTH_TOKEN}"),
        ]
    }
}

pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {form:?}"))
}
