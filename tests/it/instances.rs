//! Several instances on one PostgreSQL: two `ozmap-ivr serve` processes on
//! different ports share one (fresh) database, behind a small round-robin load
//! balancer written here, exactly as the README recommends deploying them: both
//! instances have `IVR_PUBLIC_URL` set to the balancer's URL, so every action URL
//! and every signature is about the balancer, and consecutive webhooks of one call
//! land on alternate instances. The OZmap sandbox runs in the test and counts
//! POSTs.
//!
//! - one call whose webhooks alternate between the instances completes normally;
//! - many calls at once: both workers take rows, no row is processed twice (one
//!   attempt and one POST per reservation, one "reservation finished" line per row
//!   across both logs);
//! - one instance killed with SIGKILL in the middle of many calls: the balancer
//!   sends its traffic to the other, which also takes over the rows the dead one
//!   had claimed once their lease runs out; nothing is lost, nothing doubled.
//!
//! Skipped, with a message on stderr, when no PostgreSQL answers at
//! `IVR_TEST_POSTGRES_URL`. Each test prints a `FIGURES` line:
//! `cargo test --test instances -- --nocapture 2>&1 | grep FIGURES`.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use ozmap_sandbox::SandboxServer;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use test_support::TestDb;
use test_support::driver::{Phone, clients};
use test_support::proc::{Service, tally};

/// A round-robin HTTP load balancer that fails over when a backend is down.
struct Balancer {
    backends: Mutex<Vec<String>>,
    next: AtomicUsize,
    /// Requests answered by each backend.
    served: Mutex<Vec<usize>>,
    /// Requests sent to another backend because the chosen one did not answer.
    failovers: AtomicUsize,
    http: reqwest::Client,
}

async fn forward(req: HttpRequest, body: web::Bytes, lb: web::Data<Balancer>) -> HttpResponse {
    let backends = lb.backends.lock().unwrap().clone();
    let n = lb.next.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .unwrap_or(reqwest::Method::GET);
    for i in 0..backends.len() {
        let k = (n + i) % backends.len();
        let mut rb = lb
            .http
            .request(method.clone(), format!("{}{path}", backends[k]))
            .body(body.clone());
        for name in ["content-type", "x-twilio-signature", "authorization"] {
            if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
                rb = rb.header(name, v);
            }
        }
        match rb.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let ct = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("text/plain")
                    .to_string();
                let Ok(bytes) = resp.bytes().await else {
                    lb.failovers.fetch_add(1, Ordering::SeqCst);
                    continue;
                };
                lb.served.lock().unwrap()[k] += 1;
                return HttpResponse::build(
                    actix_web::http::StatusCode::from_u16(status)
                        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY),
                )
                .content_type(ct)
                .body(bytes.to_vec());
            }
            Err(_) => {
                lb.failovers.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    HttpResponse::BadGateway().body("no backend answered")
}

async fn start_balancer() -> (String, web::Data<Balancer>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let lb = web::Data::new(Balancer {
        backends: Mutex::new(Vec::new()),
        next: AtomicUsize::new(0),
        served: Mutex::new(Vec::new()),
        failovers: AtomicUsize::new(0),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(1))
            .build()
            .unwrap(),
    });
    let data = lb.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(forward))
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .run();
    tokio::spawn(server);
    (url, lb)
}

/// Two instances on one fresh PostgreSQL database behind the balancer.
struct Cluster {
    sandbox: SandboxServer,
    a: Service,
    b: Service,
    lb_url: String,
    lb: web::Data<Balancer>,
    _db: TestDb,
}

impl Cluster {
    async fn new(test: &str) -> Option<Cluster> {
        Self::with_env(test, &[]).await
    }

    async fn with_env(test: &str, extra: &[(&str, &str)]) -> Option<Cluster> {
        let db = TestDb::postgres(test).await?;
        let sandbox = test_support::start_sandbox().await;
        let (lb_url, lb) = start_balancer().await;
        let mut env = vec![("IVR_PUBLIC_URL", lb_url.as_str())];
        env.extend_from_slice(extra);
        // started together: both run the migrations; one waits for the other
        let ozmap = sandbox.base_url();
        let (a, b) = tokio::join!(
            Service::start(crate::BIN, &db.url, &ozmap, &env),
            Service::start(crate::BIN, &db.url, &ozmap, &env)
        );
        *lb.backends.lock().unwrap() = vec![a.base.clone(), b.base.clone()];
        *lb.served.lock().unwrap() = vec![0, 0];
        Some(Cluster {
            sandbox,
            a,
            b,
            lb_url,
            lb,
            _db: db,
        })
    }

    fn phone(&self) -> Phone {
        Phone::new(std::slice::from_ref(&self.lb_url))
    }

    fn served(&self) -> Vec<usize> {
        self.lb.served.lock().unwrap().clone()
    }
}

const FINISHED: &str = "reservation finished";

#[tokio::test]
async fn a_thousand_calls_on_two_instances_get_a_thousand_protocols() {
    let Some(c) = Cluster::with_env(
        "a_thousand_calls_on_two_instances_get_a_thousand_protocols",
        &[("IVR_RATE_REQUESTS_PER_SECOND", "0")],
    )
    .await
    else {
        return;
    };
    let http = reqwest::Client::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..1000u32 {
        let form = vec![
            ("CallSid".to_string(), format!("CA{i:032}")),
            ("From".to_string(), format!("+55489{i:08}")),
        ];
        let url = format!("{}/voice", c.lb_url);
        let sig =
            webhook_signature::twilio_signature(test_support::driver::PLATFORM_TOKEN, &url, &form);
        let xml = http
            .post(&url)
            .header("X-Twilio-Signature", sig)
            .form(&form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let p = doc
            .descendants()
            .find(|n| n.has_tag_name("say-as") && n.attribute("interpret-as") == Some("digits"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_string();
        assert!(
            p.len() == 16 && p.bytes().all(|b| b.is_ascii_digit()),
            "{p:?}: {xml}"
        );
        assert!(seen.insert(p.clone()), "protocol {p} given twice");
    }
    let served = c.served();
    assert!(served[0] >= 400 && served[1] >= 400, "{served:?}");
    println!(
        "FIGURES instances/protocols: 1000 calls, {} distinct protocols, served {served:?}",
        seen.len()
    );
}

#[tokio::test]
async fn a_call_alternating_between_two_instances_completes() {
    let Some(c) = Cluster::new("a_call_alternating_between_two_instances_completes").await else {
        return;
    };
    let client = &clients(20, 1)[0];
    let mut phone = c.phone();
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let end = phone.confirm_and_wait(&confirm).await.unwrap();
    assert!(end.hangup, "{}", phone.heard_text());
    assert!(
        phone.heard_text().contains("Reservamos"),
        "{}",
        phone.heard_text()
    );
    // strictly alternating: the two counts differ by at most one
    let served = c.served();
    assert!(
        served[0] >= 4 && served[0].abs_diff(served[1]) <= 1,
        "{served:?}"
    );
    let ledger = c.a.wait_ledger_done(1, Duration::from_secs(20)).await;
    let mut t = tally(&c.sandbox, &ledger, std::slice::from_ref(&client.code)).await;
    t.calls = 1;
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    t.print("instances/one_call_alternating");
}

#[tokio::test]
async fn many_calls_on_two_instances_are_each_reserved_once() {
    let Some(c) = Cluster::new("many_calls_on_two_instances_are_each_reserved_once").await else {
        return;
    };
    let cs = clients(21, 24);
    let mut calls = Vec::new();
    for (i, client) in cs.iter().cloned().enumerate() {
        let mut phone = c.phone();
        calls.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40 * i as u64)).await;
            let confirm = phone.walk_to_confirmation(&client).await.expect("walk");
            let end = phone.confirm_and_wait(&confirm).await.expect("outcome");
            (phone, end)
        }));
    }
    for call in calls {
        let (phone, end) = call.await.unwrap();
        assert!(end.hangup, "{}", phone.heard_text());
        assert!(
            phone.heard_text().contains("Reservamos"),
            "{}",
            phone.heard_text()
        );
    }
    let codes: Vec<String> = cs.iter().map(|c| c.code.clone()).collect();
    let ledger =
        c.a.wait_ledger_done(cs.len(), Duration::from_secs(30))
            .await;
    let mut t = tally(&c.sandbox, &ledger, &codes).await;
    t.calls = cs.len();
    assert_eq!(
        (t.reservations, t.posts, t.duplicates, t.lost),
        (cs.len(), cs.len(), 0, 0),
        "{t:?}"
    );
    // no row processed twice: one attempt each, one "finished" across both logs
    assert!(ledger.iter().all(|r| r["attempts"] == 1), "{ledger:#?}");
    let (fa, fb) = (c.a.count_in_log(FINISHED), c.b.count_in_log(FINISHED));
    assert_eq!(fa + fb, cs.len(), "finished lines: {fa} + {fb}");
    assert!(fa > 0 && fb > 0, "both workers took rows: {fa} + {fb}");
    eprintln!(
        "instances/many_calls: webhooks served {:?}, rows finished by A {fa}, by B {fb}",
        c.served()
    );
    t.print("instances/many_calls");
}

#[tokio::test]
async fn killing_one_instance_mid_call_loses_nothing() {
    let Some(db) = TestDb::postgres("killing_one_instance_mid_call_loses_nothing").await else {
        return;
    };
    let sandbox = test_support::start_sandbox().await;
    let (lb_url, lb) = start_balancer().await;
    let env = [("IVR_PUBLIC_URL", lb_url.as_str())];
    let ozmap = sandbox.base_url();
    // A alone at first, so that it certainly holds a row when it dies: its worker
    // is stuck on a POST that OZmap carried out but never answered.
    let mut a = Service::start(crate::BIN, &db.url, &ozmap, &env).await;
    *lb.backends.lock().unwrap() = vec![a.base.clone()];
    *lb.served.lock().unwrap() = vec![0, 0];
    sandbox
        .faults()
        .set_post_fault_once(ozmap_sandbox::PostFault::HangAfterCommit);
    let cs = clients(22, 16);
    let first = cs[0].clone();
    let mut first_phone = Phone::new(std::slice::from_ref(&lb_url));
    let confirm = first_phone.walk_to_confirmation(&first).await.unwrap();
    let held = first_phone
        .answer(&confirm, test_support::driver::keys("1"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sandbox.property_posts() < 1 {
        assert!(Instant::now() < deadline, "A never POSTed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // B joins; more calls start, spread over both.
    let b = Service::start(crate::BIN, &db.url, &ozmap, &env).await;
    *lb.backends.lock().unwrap() = vec![a.base.clone(), b.base.clone()];
    sandbox.faults().set_delay_ms(30);
    let mut calls = Vec::new();
    calls.push(tokio::spawn(async move {
        let end = first_phone.settle(held).await.expect("outcome");
        (first_phone, end)
    }));
    for (i, client) in cs.iter().skip(1).cloned().enumerate() {
        let mut phone = Phone::new(std::slice::from_ref(&lb_url));
        calls.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(60 * i as u64)).await;
            let confirm = phone.walk_to_confirmation(&client).await.expect("walk");
            let end = phone.confirm_and_wait(&confirm).await.expect("outcome");
            (phone, end)
        }));
    }
    // Calls are in every phase now: A dies for good.
    let deadline = Instant::now() + Duration::from_secs(20);
    while b.ledger().await.len() < cs.len() / 3 {
        assert!(Instant::now() < deadline, "the calls did not get going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    for call in calls {
        let (phone, end) = call.await.unwrap();
        assert!(end.hangup, "{}", phone.heard_text());
        let said = phone.heard_text();
        assert!(
            said.contains("Reservamos") || said.contains("Você já tem uma reserva"),
            "{said}"
        );
    }
    let codes: Vec<String> = cs.iter().map(|c| c.code.clone()).collect();
    let ledger = b.wait_ledger_done(cs.len(), Duration::from_secs(30)).await;
    let mut t = tally(&sandbox, &ledger, &codes).await;
    t.calls = cs.len();
    t.kills = a.kills;
    assert_eq!(
        (t.reservations, t.posts, t.duplicates, t.lost),
        (cs.len(), cs.len(), 0, 0),
        "{t:?}"
    );
    // The row A held was taken over by B and adopted (as the property its own
    // POST made), not POSTed again.
    let taken_over = ledger
        .iter()
        .find(|r| r["client_code"] == first.code.as_str())
        .unwrap();
    assert_eq!(taken_over["outcome"], "reserved", "{taken_over:#}");
    let lb_failovers = lb.failovers.load(Ordering::SeqCst);
    assert!(lb_failovers > 0, "the balancer sent A's traffic to B");
    eprintln!(
        "instances/kill_one: webhooks served {:?}, balancer failovers {lb_failovers}, rows finished by A {} and by B {}",
        lb.served.lock().unwrap(),
        a.count_in_log(FINISHED),
        b.count_in_log(FINISHED)
    );
    t.print("instances/kill_one_mid_call");
    drop((a, b));
    drop(db);
}
