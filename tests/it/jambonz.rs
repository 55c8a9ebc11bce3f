//! Calls on jambonz, through the real service on loopback: each hook posted as
//! jambonz posts it (a JSON body with `call_sid`, `from`, `to`, and a gather's
//! `reason`, `speech`, `digits`), signed as jambonz's node client signs it; every
//! answer kept and, at the end of each test, validated by jambonz's own
//! validator (`@jambonz/verb-specifications`, `tests/jambonz-validator`; the test
//! says so and skips that part when node or the package is missing).

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use test_support::*;

pub(crate) const SECRET: &str = "jambonz-test-secret";
const AGENT: &str = "+5548999990000";

/// What the caller does at a gather.
pub(crate) enum Reply {
    Keys(&'static str),
    Words(&'static str),
    Silence,
}

/// jambonz, as far as the service can tell: posts hooks, runs the verbs.
pub(crate) struct Jambonz {
    http: reqwest::Client,
    base: String,
    call_sid: String,
    secret: Option<&'static str>,
    /// `Authorization: Basic` of `user:password`, when set.
    basic: Option<&'static str>,
    /// Every answer, in order.
    pub(crate) answers: Vec<String>,
    /// What the caller heard.
    pub(crate) heard: String,
    /// The signature's clock: a second per hook, as a caller takes at least
    /// that to answer (two identical bodies signed in the same second are one
    /// signature, accepted at one URL only).
    clock: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Jambonz {
    pub(crate) fn new(app: &TestApp, secret: Option<&'static str>) -> Jambonz {
        Jambonz {
            http: reqwest::Client::new(),
            base: app.base_url.clone(),
            call_sid: format!("{:08x}-5f1e-4c1b-9a7e-2b4c6d8e0f12", rand_u32()),
            secret,
            basic: None,
            answers: Vec::new(),
            heard: String::new(),
            clock: now() - 250,
        }
    }

    fn body(&self, extra: Value) -> Vec<u8> {
        let mut b = json!({
            "call_sid": self.call_sid,
            "direction": "inbound",
            "from": "+5548991234567",
            "to": "+554830000000",
            "call_id": "abc@10.0.0.1",
            "sip_status": 200,
            "call_status": "in-progress",
            "account_sid": "9351f46a-678c-43f5-b8a6-d4eb58d131af",
            "application_sid": "0e0681b0-d49f-4fb8-b973-b5a3c6758de1",
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        serde_json::to_vec(&b).unwrap()
    }

    /// Posts `body` to `url`, signed at `t` (or not); the status and the text.
    async fn raw(&self, url: &str, body: Vec<u8>, t: u64) -> (u16, String) {
        let mut req = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.clone());
        if let Some(creds) = self.basic {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(creds);
            req = req.header("Authorization", format!("Basic {b64}"));
        }
        if let Some(secret) = self.secret {
            req = req.header(
                "Jambonz-Signature",
                webhook_signature::jambonz_signature(secret, t, &body),
            );
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// Posts a hook, expects `200` and an array of verbs.
    async fn post(&mut self, url: &str, extra: Value) -> Vec<Value> {
        self.clock += 1;
        let (status, text) = self.raw(url, self.body(extra), self.clock).await;
        assert_eq!(status, 200, "{url}: {text}");
        self.answers.push(text.clone());
        let verbs: Vec<Value> = serde_json::from_str(&text).expect("an array of verbs");
        for v in &verbs {
            let said = match v["verb"].as_str() {
                Some("say") => v["text"].as_str(),
                Some("gather") => v["say"]["text"].as_str(),
                _ => None,
            };
            if let Some(s) = said {
                self.heard.push_str(s);
                self.heard.push('\n');
            }
        }
        verbs
    }

    /// Runs a call: each gather answered with the next reply (silence when
    /// none is left), holds waited out. The last document's verbs.
    async fn call(&mut self, replies: Vec<Reply>) -> Vec<Value> {
        let first = self.start().await;
        self.walk(first, replies, false).await
    }

    /// The call webhook.
    pub(crate) async fn start(&mut self) -> Vec<Value> {
        let start = format!("{}/jambonz", self.base);
        self.post(&start, json!({"call_status": "trying", "sip_status": 100}))
            .await
    }

    /// Walks on from `verbs`; with `pause_at_end`, stops at the first gather
    /// once the replies are used (its verbs returned).
    pub(crate) async fn walk(
        &mut self,
        mut verbs: Vec<Value>,
        replies: Vec<Reply>,
        pause_at_end: bool,
    ) -> Vec<Value> {
        let mut replies = replies.into_iter().peekable();
        for _ in 0..200 {
            if pause_at_end
                && replies.peek().is_none()
                && verbs.iter().any(|v| v["verb"] == "gather")
            {
                return verbs;
            }
            verbs = match self.next(&verbs, &mut replies).await {
                Some(v) => v,
                None => return verbs,
            };
        }
        panic!("the call did not end: {}", self.heard);
    }

    /// The hook the verbs lead to, posted; `None` at the end of the call.
    async fn next(
        &mut self,
        verbs: &[Value],
        replies: &mut impl Iterator<Item = Reply>,
    ) -> Option<Vec<Value>> {
        for v in verbs {
            let hook = v["actionHook"].as_str().map(str::to_string);
            match v["verb"].as_str().unwrap() {
                "gather" => {
                    let body = match replies.next().unwrap_or(Reply::Silence) {
                        Reply::Keys(k) => json!({"reason": "dtmfDetected", "digits": k}),
                        Reply::Words(w) => json!({"reason": "speechDetected", "speech": {
                            "language_code": "pt-BR", "is_final": true,
                            "alternatives": [{"transcript": w, "confidence": 0.92}]}}),
                        Reply::Silence => json!({"reason": "timeout"}),
                    };
                    return Some(self.post(&hook.unwrap(), body).await);
                }
                "pause" => {
                    let s = v["length"].as_u64().unwrap();
                    tokio::time::sleep(Duration::from_millis(200 * s)).await;
                }
                "redirect" => return Some(self.post(&hook.unwrap(), json!({})).await),
                "dial" => return None,
                "hangup" => return None,
                _ => {}
            }
        }
        panic!("verbs that neither ask, hold nor end: {verbs:?}")
    }
}

/// A call id's first group: the process spread over the range, plus a counter,
/// so no two calls of this process share one.
fn rand_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::process::id()
        .wrapping_mul(0x9E37_79B9)
        .wrapping_add(N.fetch_add(1, Ordering::Relaxed))
}

/// A name no other validation of this process (or another test process) uses:
/// the process id and a counter, side by side.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Validates every answer with `@jambonz/verb-specifications`; skipped (and
/// said so) where node or the package is missing.
pub(crate) fn validate(answers: &[String]) {
    if let Some((ok, stdout)) = run_validator(answers) {
        assert!(ok, "jambonz's validator refused an answer:\n{stdout}");
        let oks = stdout.lines().filter(|l| l.starts_with("ok ")).count();
        assert_eq!(oks, answers.len(), "{stdout}");
    }
}

/// Whether the validator accepted every document, and its output; `None`
/// (said on stderr) without node or the package.
fn run_validator(answers: &[String]) -> Option<(bool, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jambonz-validator");
    if !dir
        .join("node_modules/@jambonz/verb-specifications")
        .exists()
    {
        eprintln!(
            "SKIPPED: jambonz validation (run `npm ci` in {})",
            dir.display()
        );
        return None;
    }
    let out_dir = std::env::temp_dir().join(format!("jambonz-answers-{}", unique_name()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let files: Vec<PathBuf> = answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let p = out_dir.join(format!("{i:03}.json"));
            std::fs::write(&p, a).unwrap();
            p
        })
        .collect();
    let run = std::process::Command::new("node")
        .arg(dir.join("validate.js"))
        .args(&files)
        .current_dir(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&out_dir);
    let Ok(run) = run else {
        eprintln!("SKIPPED: jambonz validation (no node)");
        return None;
    };
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    Some((run.status.success(), out))
}

#[test]
fn the_validator_refuses_what_jambonz_would() {
    // The check above can fail: a verb jambonz does not know, a pause without
    // its length, a gather's input of the wrong type.
    for bad in [
        r#"[{"verb":"speak","text":"oi"}]"#,
        r#"[{"verb":"pause"}]"#,
        r#"[{"verb":"gather","input":"digits"}]"#,
    ] {
        if let Some((ok, out)) = run_validator(&[bad.to_string()]) {
            assert!(!ok, "accepted {bad}: {out}");
        }
    }
}

async fn spawn(extra: &[&str]) -> TestApp {
    let secret = format!("--jambonz-webhook-secret={SECRET}");
    let mut flags = vec![secret.as_str()];
    flags.extend_from_slice(extra);
    TestApp::spawn(&flags).await
}

#[tokio::test]
async fn the_tutorial_call_on_jambonz_reserves_one_port_and_every_answer_is_valid() {
    let app = spawn(&[]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    let end = j
        .call(vec![
            Reply::Keys("123*123"),
            Reply::Keys("1"),
            Reply::Words("gabriel marioto"),
            Reply::Words(tutorial::SPOKEN_ADDRESS),
            Reply::Keys("1"),
        ])
        .await;
    assert_eq!(end.last().unwrap()["verb"], "hangup", "{}", j.heard);
    assert!(j.heard.contains("Reservamos"), "{}", j.heard);
    assert!(j.heard.contains("Delminda Silveira, 900"), "{}", j.heard);
    assert_eq!(app.sandbox.property_posts(), 1);
    let first: Vec<Value> = serde_json::from_str(&j.answers[0]).unwrap();
    assert_eq!(first[0]["verb"], "config");
    assert_eq!(first[1]["verb"], "gather");
    assert_eq!(first[1]["input"], json!(["digits", "speech"]));
    assert_eq!(first[1]["recognizer"]["language"], "pt-BR");
    // The status hook ends the call as TwiML's status callback does.
    let status = format!("{}/jambonz/status", j.base);
    let (code, body) = j
        .raw(&status, j.body(json!({"call_status": "completed"})), now())
        .await;
    assert_eq!((code, body.as_str()), (200, "[]"));
    validate(&j.answers);
}

#[tokio::test]
async fn the_cep_call_with_the_house_number_on_the_keypad() {
    let app = spawn(&[]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    j.call(vec![
        Reply::Keys("777"),
        Reply::Keys("1"),
        Reply::Words("João Pereira"),
        Reply::Keys("88025500"),
        Reply::Keys("900"),
        Reply::Keys("1"),
    ])
    .await;
    assert!(j.heard.contains("Delminda Silveira, 900"), "{}", j.heard);
    assert!(j.heard.contains("Reservamos"), "{}", j.heard);
    assert_eq!(app.sandbox.property_posts(), 1);
    // The CEP question takes up to eight keys, ended by `#`, with the hints.
    let cep = j
        .answers
        .iter()
        .filter_map(|a| serde_json::from_str::<Vec<Value>>(a).ok())
        .flatten()
        .find(|v| v["maxDigits"] == 8)
        .expect("the CEP question");
    assert_eq!(cep["finishOnKey"], "#");
    assert!(
        cep["recognizer"]["hints"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
    );
    validate(&j.answers);
}

#[tokio::test]
async fn silences_go_to_a_person_by_dial_and_its_hook_ends_the_call() {
    let agent = format!("--agent-number={AGENT}");
    let app = spawn(&[&agent]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    let end = j.call(vec![]).await;
    let dial = end.iter().find(|v| v["verb"] == "dial").expect("a dial");
    assert_eq!(dial["target"], json!([{"type": "phone", "number": AGENT}]));
    assert!(j.heard.contains("Não ouvi nada"), "{}", j.heard);
    let hook = dial["actionHook"].as_str().unwrap().to_string();
    let after = j
        .post(
            &hook,
            json!({"dial_call_status": "completed", "dial_sip_status": 200}),
        )
        .await;
    assert_eq!(after.last().unwrap()["verb"], "hangup", "{after:?}");
    assert_eq!(app.sandbox.property_posts(), 0);
    validate(&j.answers);
}

#[tokio::test]
async fn a_slow_ozmap_holds_with_pause_and_redirect_then_the_outcome() {
    let app = spawn(&["--step-budget-ms=500"]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    let first = j.start().await;
    let confirm = j
        .walk(
            first,
            vec![
                Reply::Keys("123*123"),
                Reply::Keys("1"),
                Reply::Words("gabriel marioto"),
                Reply::Words(tutorial::SPOKEN_ADDRESS),
            ],
            true,
        )
        .await;
    app.sandbox.faults().set_delay_ms(1_200);
    let hook = confirm[0]["actionHook"].as_str().unwrap().to_string();
    let held = j
        .post(&hook, json!({"reason": "dtmfDetected", "digits": "1"}))
        .await;
    app.sandbox.faults().set_delay_ms(0);
    j.walk(held, vec![], false).await;
    let held = j
        .answers
        .iter()
        .filter_map(|a| serde_json::from_str::<Vec<Value>>(a).ok())
        .any(|verbs| {
            verbs.iter().any(|v| v["verb"] == "pause")
                && verbs.iter().any(|v| {
                    v["verb"] == "redirect"
                        && v["actionHook"]
                            .as_str()
                            .is_some_and(|h| h.contains("hook=poll"))
                })
        });
    assert!(held, "a hold while OZmap is slow: {:?}", j.answers);
    assert!(j.heard.contains("Reservamos"), "{}", j.heard);
    assert_eq!(app.sandbox.property_posts(), 1);
    validate(&j.answers);
}

#[tokio::test]
async fn forged_stale_and_unsigned_hooks_are_refused_and_a_retry_is_served_the_same() {
    let app = spawn(&[]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    let start = format!("{}/jambonz", j.base);
    let first = j.post(&start, json!({"call_status": "trying"})).await;
    let hook = first[1]["actionHook"].as_str().unwrap().to_string();
    let body = j.body(json!({"reason": "dtmfDetected", "digits": "123*123"}));

    let forged = Jambonz {
        secret: Some("not-the-secret"),
        ..Jambonz::new(&app, None)
    };
    let (code, _) = forged.raw(&hook, body.clone(), now()).await;
    assert_eq!(code, 403, "forged");
    let (code, _) = j.raw(&hook, body.clone(), now() - 301).await;
    assert_eq!(code, 403, "stale");
    let unsigned = Jambonz::new(&app, None);
    let (code, _) = unsigned.raw(&hook, body.clone(), now()).await;
    assert_eq!(code, 403, "unsigned");
    let refused = app
        .state
        .security
        .bad_signatures
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(refused, 3);

    // The answer, then jambonz's retry of the same hook (same signature, same
    // URL): the same answer, the call moved once.
    let t = now();
    let (code, answer) = j.raw(&hook, body.clone(), t).await;
    assert_eq!(code, 200, "{answer}");
    let (code, again) = j.raw(&hook, body.clone(), t).await;
    assert_eq!((code, &again), (200, &answer));
    // The same signed body at another step's URL is refused (jambonz does not
    // sign the URL).
    let other = hook.replace("seq=1", "seq=2");
    let (code, _) = j.raw(&other, body.clone(), t).await;
    assert_eq!(code, 403, "replayed at another URL");

    // Bad input: clear statuses.
    let res = reqwest::Client::new()
        .post(&start)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("CallSid=CA1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let (code, _) = j.raw(&start, b"not json".to_vec(), now()).await;
    assert_eq!(code, 400);
    let (code, _) = j
        .raw(&format!("{start}?hook=nope"), j.body(json!({})), now())
        .await;
    assert_eq!(code, 404);
    // Another method: 405, answered in jambonz's JSON like every refusal.
    let res = reqwest::Client::new().get(&start).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 405);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("application/json"), "{kind}");
    let refused = res.text().await.unwrap();
    assert!(refused.trim_start().starts_with('['), "{refused}");
    j.answers.push(answer);
    j.answers.push(refused);
    validate(&j.answers);
}

#[tokio::test]
async fn the_terminal_caller_plays_jambonz_signed() {
    use ivr_tools::caller::{CallEnd, Platform};
    let app = spawn(&[]).await;
    let url = format!("{}/jambonz", app.base_url);
    let report = app
        .call_with(
            |o| {
                o.url = url;
                o.platform = Platform::Jambonz {
                    secret: Some(SECRET.to_string().into()),
                };
            },
            vec![
                keys("777"),
                keys("1"),
                say("João Pereira"),
                keys("88025500"),
                keys("*"),
                keys("1"),
            ],
        )
        .await;
    assert!(matches!(report.end, CallEnd::Hangup), "{:?}", report.end);
    let text = heard(&report);
    assert!(text.contains("Reservamos"), "{text}");
    assert_eq!(app.sandbox.property_posts(), 1);
}

#[tokio::test]
async fn without_a_jambonz_secret_basic_auth_is_the_proof_and_nothing_else_passes() {
    // Another platform's key only, no credentials: a jambonz hook cannot be proven.
    let app = TestApp::spawn(&["--twilio-auth-token=tw-token"]).await;
    let j = Jambonz::new(&app, Some(SECRET));
    let start = format!("{}/jambonz", j.base);
    let (code, _) = j.raw(&start, j.body(json!({})), now()).await;
    assert_eq!(code, 403);
    app.stop().await;

    let app = TestApp::spawn(&[
        "--public-url=http://ivr:s3cr%40t@127.0.0.1:0",
        "--twilio-auth-token=tw-token",
    ])
    .await;
    let mut j = Jambonz::new(&app, None);
    let start = format!("{}/jambonz", j.base);
    let (code, _) = j.raw(&start, j.body(json!({})), now()).await;
    assert_eq!(code, 401, "no credentials");
    j.basic = Some("ivr:wrong");
    let (code, _) = j.raw(&start, j.body(json!({})), now()).await;
    assert_eq!(code, 401, "wrong credentials");
    j.basic = Some("ivr:s3cr@t");
    let verbs = j.post(&start, json!({"call_status": "trying"})).await;
    assert_eq!(verbs[1]["verb"], "gather");
    // The action hooks carry the credentials for jambonz to use.
    let hook = verbs[1]["actionHook"].as_str().unwrap();
    assert!(hook.starts_with("http://ivr:s3cr%40t@127.0.0.1:"), "{hook}");
    validate(&j.answers);
}

#[tokio::test]
async fn a_visit_is_offered_and_booked_on_jambonz_and_every_answer_is_valid() {
    let app = spawn(&["--schedule=builtin"]).await;
    let mut j = Jambonz::new(&app, Some(SECRET));
    let end = j
        .call(vec![
            Reply::Keys("123*123"),
            Reply::Keys("1"),
            Reply::Words("gabriel marioto"),
            Reply::Words(tutorial::SPOKEN_ADDRESS),
            Reply::Keys("1"),
            Reply::Words("a segunda"),
        ])
        .await;
    assert_eq!(end.last().unwrap()["verb"], "hangup", "{}", j.heard);
    assert!(
        j.heard.contains("Para agendar depois, tecle 9."),
        "{}",
        j.heard
    );
    assert!(
        j.heard.contains("A visita do técnico está agendada para"),
        "{}",
        j.heard
    );
    validate(&j.answers);
}
