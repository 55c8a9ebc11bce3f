//! Exactly once whatever OZmap's speed, black-box: the `ozmap-ivr` binary (its
//! webhooks and its worker) on SQLite and on PostgreSQL, the OZmap sandbox as
//! a slow tenant, a platform walking the call.
//!
//! Times scaled down by ten from a real tenant's, same order: OZmap's timeout
//! 800 ms (8 s by default), a commit 1.2 s after the POST (12 s seen on a slow
//! tenant), a commit wait of 3 s (60 s by default).
//! - OZmap commits 1.2 s after the POST, after the service gave up on the
//!   answer: one property, one POST, and the caller hears the port while on
//!   hold.
//! - OZmap commits the POST twice (a second property, another port, a little
//!   later): the worker keeps the first, deletes the copy, says so in its log
//!   (ids only) and on the console, and the caller was told the one kept.

use ozmap_sandbox::{PostFault, SandboxServer};
use serde_json::Value;
use std::time::{Duration, Instant};
use test_support::TestDb;
use test_support::driver::{Phone, clients};
use test_support::proc::{ADMIN_TOKEN, Service, properties_of};

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

const ENV: &[(&str, &str)] = &[
    ("OZMAP_TIMEOUT_MS", "800"),
    ("OZMAP_COMMIT_WAIT_MS", "3000"),
    ("IVR_RETRY_BASE_MS", "200"),
];

struct Rig {
    sandbox: SandboxServer,
    svc: Service,
    _db: TestDb,
}

async fn rig(backend: Backend, test: &str) -> Option<Rig> {
    let db = match backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres(test).await?,
    };
    let sandbox = test_support::start_sandbox().await;
    let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), ENV).await;
    Some(Rig {
        sandbox,
        svc,
        _db: db,
    })
}

/// The caller confirms and holds until the outcome; what they heard.
async fn call(r: &Rig, client: &test_support::driver::Client) -> String {
    let mut phone = Phone::new(std::slice::from_ref(&r.svc.base));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let end = phone.confirm_and_wait(&confirm).await.unwrap();
    assert!(end.hangup, "{}", phone.heard_text());
    phone.heard_text()
}

/// The ledger row of `code`, once it satisfies `done`.
async fn row_when(r: &Rig, code: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = r.svc.ledger().await;
        if let Some(row) = rows.into_iter().find(|row| row["client_code"] == code)
            && done(&row)
        {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "never {what}; log:\n{}",
            r.svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn told(row: &Value) -> String {
    format!(
        "porta {} da caixa {}",
        row["port"].as_i64().expect("a port"),
        row["box_name"].as_str().expect("a box name")
    )
}

async fn a_slow_commit_ends_with_one_property(b: Backend) {
    let Some(r) = rig(b, "a_slow_commit_ends_with_one_property").await else {
        return;
    };
    let c = &clients(93, 1)[0];
    r.sandbox
        .faults()
        .set_post_fault_once(PostFault::CommitLate { after_ms: 1_200 });
    let confirmed = Instant::now();
    let heard = call(&r, c).await;
    let took = confirmed.elapsed();
    let row = row_when(&r, &c.code, "done", |row| row["status"] == "done").await;
    assert_eq!(row["outcome"], "reserved", "{row:#}");
    assert!(heard.contains(&told(&row)), "{heard}");
    // Within the hold (25 s), well before the commit wait would send it again.
    assert!(took < Duration::from_secs(3), "heard after {took:?}");
    // Hold on past the commit wait: still one POST, one property.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(r.sandbox.property_posts(), 1, "{}", r.svc.log_text());
    let found = properties_of(&r.sandbox, &c.code).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["id"], row["property_id"]);
    assert!(r.svc.log_text().contains("OZmap did not answer in time"));
    eprintln!("late_commit/{b:?}: the caller heard the outcome {took:?} after confirming");
}

async fn a_post_committed_twice_ends_with_one_property(b: Backend) {
    let Some(r) = rig(b, "a_post_committed_twice_ends_with_one_property").await else {
        return;
    };
    let c = &clients(94, 1)[0];
    r.sandbox
        .faults()
        .set_post_fault_once(PostFault::CommitTwice {
            after_ms: 1_200,
            again_ms: 2_500,
        });
    let heard = call(&r, c).await;
    let done = row_when(&r, &c.code, "done", |row| row["status"] == "done").await;
    assert!(heard.contains(&told(&done)), "{heard}");
    // The copy comes, and the worker's second look deletes it.
    let row = row_when(&r, &c.code, "cleaned up", |row| {
        row["duplicates_removed"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    })
    .await;
    let found = properties_of(&r.sandbox, &c.code).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    // The first is kept: the one the caller was told.
    assert_eq!(found[0]["id"], done["property_id"]);
    assert_eq!(row["property_id"], done["property_id"]);
    assert_eq!(r.sandbox.property_posts(), 1);
    assert_eq!(r.sandbox.properties().len(), 2, "OZmap did commit twice");
    let removed = row["duplicates_removed"][0].as_str().unwrap().to_string();
    assert_ne!(removed, done["property_id"].as_str().unwrap());
    // The log says so, by ids only.
    let log = r
        .svc
        .log_when("duplicate property removed", Duration::from_secs(5))
        .await;
    let line = log
        .lines()
        .find(|l| l.contains("duplicate property removed"))
        .unwrap_or_else(|| panic!("no removal in the log:\n{log}"));
    assert!(line.contains(&removed), "{line}");
    for personal in [c.code.as_str(), c.name, "Maria", c.cep] {
        assert!(!line.contains(personal), "{personal:?} in {line}");
    }
    // And the console: the row and its detail.
    let page = reqwest::Client::new()
        .get(format!(
            "{}/console?lang=en-US&reservation={}",
            r.svc.base, row["id"]
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("duplicate removed"), "{page}");
    assert!(page.contains("Duplicates removed in OZmap"), "{page}");
    assert!(page.contains(&removed), "{page}");
}

/// One test per backend: `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    )*};
}

on_both_backends!(
    a_slow_commit_ends_with_one_property,
    a_post_committed_twice_ends_with_one_property,
);
