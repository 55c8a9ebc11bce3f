//! Crashes, restarts and races, for real: the `ozmap-ivr` binary runs as a child
//! process (`serve`, on a SQLite file or a fresh PostgreSQL database), the OZmap
//! sandbox runs in the test and counts every `POST /properties`, and a
//! step-by-step platform ([`test_support::driver::Phone`]) walks the calls so that the
//! service can be killed with SIGKILL between two chosen webhooks:
//!
//! - before the outbox commit (the caller has not confirmed yet),
//! - racing the confirmation webhook (killed at a random moment while it runs),
//! - right after the commit (the confirmation was answered; OZmap not reached),
//! - while OZmap is answering (`PostFault::Hang`: nothing created),
//! - after OZmap answered but before the result was stored
//!   (`PostFault::HangAfterCommit`, `PostFault::FailAfterCommit`),
//! - at random moments during many calls, several times.
//!
//! After each restart on the same store the same call goes on, and every
//! confirmed reservation completes exactly once: one property per client code in
//! OZmap, one `done` ledger row pointing at it, and the POST count expected for
//! the scenario. Also here: two calls for one client code at the same moment and
//! a platform retry of the confirmation (one row, one POST), SIGTERM during a
//! hanging POST (the process exits within the shutdown timeout, the row is taken
//! up at once after the restart), and the ledger commands on a fresh database.
//!
//! Each test prints a `FIGURES` line (calls, kills, reservations, POSTs,
//! duplicates, lost): `cargo test --test crash -- --nocapture 2>&1 | grep FIGURES`.

use ozmap_sandbox::{PostFault, SandboxServer};
use rand::Rng;
use serde_json::Value;
use std::time::{Duration, Instant};
use test_support::TestDb;
use test_support::driver::{Client, Doc, Phone, clients, keys};
use test_support::proc::{Service, Tally, properties_of, tally};

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One service process, its store and its OZmap.
struct Rig {
    sandbox: SandboxServer,
    svc: Service,
    db: TestDb,
}

impl Rig {
    /// `None` when the backend is PostgreSQL and no server answers (said on stderr).
    async fn new(backend: Backend, test: &str, env: &[(&str, &str)]) -> Option<Rig> {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres(test).await?,
        };
        let sandbox = test_support::start_sandbox().await;
        let svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), env).await;
        Some(Rig { sandbox, svc, db })
    }

    fn phone(&self) -> Phone {
        Phone::new(std::slice::from_ref(&self.svc.base))
    }

    async fn wait_posts(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.sandbox.property_posts() < n {
            assert!(
                Instant::now() < deadline,
                "OZmap never got POST number {n}; log:\n{}",
                self.svc.log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for the ledger to finish and checks exactly-once for `codes`.
    async fn tally(&self, codes: &[String], calls: usize) -> (Tally, Vec<Value>) {
        let ledger = self
            .svc
            .wait_ledger_done(codes.len(), Duration::from_secs(30))
            .await;
        let mut t = tally(&self.sandbox, &ledger, codes).await;
        t.calls = calls;
        t.kills = self.svc.kills;
        (t, ledger)
    }
}

/// The caller was told the box and port that OZmap holds for them.
fn assert_told_the_port(phone: &Phone, row: &Value) {
    let said = phone.heard_text();
    let expected = format!(
        "porta {} da caixa {}",
        row["port"].as_i64().expect("a port in the ledger"),
        row["box_name"].as_str().expect("a box in the ledger")
    );
    assert!(
        said.contains(&expected),
        "expected {expected:?}; heard: {said}"
    );
}

fn assert_ended(doc: &Doc, phone: &Phone) {
    assert!(
        doc.hangup,
        "the call should end with a goodbye; heard: {}",
        phone.heard_text()
    );
}

fn codes(cs: &[Client]) -> Vec<String> {
    cs.iter().map(|c| c.code.clone()).collect()
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
    kill_before_the_outbox_commit,
    kill_racing_the_confirmation,
    kill_right_after_the_outbox_commit,
    kill_while_ozmap_is_answering,
    kill_after_ozmap_answered_before_the_result_is_stored,
    kill_after_a_failed_answer_to_a_post_that_landed,
    repeated_kills_during_many_calls,
    sigterm_during_a_hanging_post,
    two_calls_for_one_client_at_the_same_moment,
    a_platform_retry_of_the_confirmation,
);

async fn kill_before_the_outbox_commit(b: Backend) {
    let Some(mut r) = Rig::new(b, "kill_before_the_outbox_commit", &[]).await else {
        return;
    };
    let c = &clients(1, 1)[0];
    let mut phone = r.phone();
    phone.walk_to_confirmation(c).await.unwrap();
    r.svc.kill();
    r.svc.restart().await;
    assert!(
        r.svc.ledger().await.is_empty(),
        "nothing was confirmed, so nothing is in the ledger"
    );
    assert_eq!(r.sandbox.property_posts(), 0);
    // The platform restarts the call: it is resumed at the read-back, not lost
    // and not started over.
    let again = phone.dial_in().await.unwrap();
    assert!(
        again.text().contains("O endereço é"),
        "resumed at the read-back: {}",
        again.text()
    );
    let end = phone.confirm_and_wait(&again).await.unwrap();
    assert_ended(&end, &phone);
    assert!(
        phone.heard_text().contains("Reservamos"),
        "{}",
        phone.heard_text()
    );
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    assert_told_the_port(&phone, &ledger[0]);
    assert_eq!(ledger[0]["outcome"], "reserved");
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    // The operators' command sees it too, on the same store.
    let out = std::process::Command::new(crate::BIN)
        .args(["reservations", "list", "--status", "done"])
        .env("IVR_DATABASE_URL", &r.db.url)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(
        table.contains(&c.code) && table.contains("reserved"),
        "{table}"
    );
    t.print(&format!("kill_before_the_outbox_commit/{b:?}"));
}

async fn kill_racing_the_confirmation(b: Backend) {
    let Some(mut r) = Rig::new(b, "kill_racing_the_confirmation", &[]).await else {
        return;
    };
    let cs = clients(2, 3);
    let mut committed = 0;
    for c in &cs {
        let mut phone = r.phone();
        let confirm = phone.walk_to_confirmation(c).await.unwrap();
        let action = confirm.gather.clone().unwrap();
        let form = Phone::gathered(&keys("1"));
        // The confirmation is on its way when the process dies, at a random moment.
        let mut racer = phone.twin();
        let (a, f) = (action.clone(), form.clone());
        let first = tokio::spawn(async move { racer.post_to(&a, &f).await.is_ok() });
        let delay = rand::rng().random_range(0..6);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        r.svc.kill();
        committed += usize::from(first.await.unwrap());
        r.svc.restart().await;
        // The platform sends the confirmation again: replayed if it was stored,
        // carried out if not; either way once.
        let held = phone
            .post_patiently(&action, &form, phone.patience)
            .await
            .unwrap();
        let end = phone.settle(held).await.unwrap();
        assert_ended(&end, &phone);
        let said = phone.heard_text();
        assert!(
            said.contains("Reservamos") || said.contains("Você já tem uma reserva"),
            "{said}"
        );
    }
    let (t, _) = r.tally(&codes(&cs), cs.len()).await;
    assert_eq!((t.duplicates, t.lost), (0, 0), "{t:?}");
    // A POST cut by the kill before OZmap created anything is sent again.
    assert!(t.posts >= cs.len() && t.posts <= 2 * cs.len(), "{t:?}");
    eprintln!("kill_racing_the_confirmation/{b:?}: {committed} of 3 answered before the kill");
    t.print(&format!("kill_racing_the_confirmation/{b:?}"));
}

async fn kill_right_after_the_outbox_commit(b: Backend) {
    let Some(mut r) = Rig::new(b, "kill_right_after_the_outbox_commit", &[]).await else {
        return;
    };
    let c = &clients(3, 1)[0];
    let mut phone = r.phone();
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    // OZmap is slow, so the worker's first look-up is still out when the
    // process dies.
    r.sandbox.faults().set_delay_ms(3_000);
    let held = phone.answer(&confirm, keys("1")).await.unwrap();
    assert!(held.is_hold(), "the confirmation puts the caller on hold");
    r.svc.kill();
    r.sandbox.faults().set_delay_ms(0);
    assert_eq!(r.sandbox.property_posts(), 0);
    r.svc.restart().await;
    // The caller on hold keeps polling; the new process takes the row over once
    // the dead one's lease has run out.
    let end = phone.settle(held).await.unwrap();
    assert_ended(&end, &phone);
    assert!(
        phone.heard_text().contains("Reservamos"),
        "{}",
        phone.heard_text()
    );
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    assert_told_the_port(&phone, &ledger[0]);
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    t.print(&format!("kill_right_after_the_outbox_commit/{b:?}"));
}

async fn kill_while_ozmap_is_answering(b: Backend) {
    let Some(mut r) = Rig::new(b, "kill_while_ozmap_is_answering", &[]).await else {
        return;
    };
    let c = &clients(4, 1)[0];
    let mut phone = r.phone();
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    r.sandbox.faults().set_post_fault_once(PostFault::Hang);
    let held = phone.answer(&confirm, keys("1")).await.unwrap();
    r.wait_posts(1).await;
    r.svc.kill();
    assert!(properties_of(&r.sandbox, &c.code).await.is_empty());
    r.svc.restart().await;
    let end = phone.settle(held).await.unwrap();
    assert_ended(&end, &phone);
    assert!(
        phone.heard_text().contains("Reservamos"),
        "{}",
        phone.heard_text()
    );
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    assert_told_the_port(&phone, &ledger[0]);
    // the POST that hung created nothing; the one after the restart did
    assert_eq!((t.posts, t.duplicates, t.lost), (2, 0, 0), "{t:?}");
    t.print(&format!("kill_while_ozmap_is_answering/{b:?}"));
}

async fn kill_after_ozmap_answered_before_the_result_is_stored(b: Backend) {
    let Some(mut r) = Rig::new(
        b,
        "kill_after_ozmap_answered_before_the_result_is_stored",
        &[],
    )
    .await
    else {
        return;
    };
    let c = &clients(5, 1)[0];
    let mut phone = r.phone();
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    r.sandbox
        .faults()
        .set_post_fault_once(PostFault::HangAfterCommit);
    let held = phone.answer(&confirm, keys("1")).await.unwrap();
    r.wait_posts(1).await;
    // OZmap has made the property; its answer never reaches the service.
    assert_eq!(properties_of(&r.sandbox, &c.code).await.len(), 1);
    r.svc.kill();
    r.svc.restart().await;
    let end = phone.settle(held).await.unwrap();
    assert_ended(&end, &phone);
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    // adopted by the look-up as the property this request made, never POSTed again
    assert_eq!(ledger[0]["outcome"], "reserved");
    assert_told_the_port(&phone, &ledger[0]);
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    t.print(&format!(
        "kill_after_ozmap_answered_before_the_result_is_stored/{b:?}"
    ));
}

async fn kill_after_a_failed_answer_to_a_post_that_landed(b: Backend) {
    let Some(mut r) = Rig::new(
        b,
        "kill_after_a_failed_answer_to_a_post_that_landed",
        &[("IVR_RETRY_BASE_MS", "1500")],
    )
    .await
    else {
        return;
    };
    let c = &clients(6, 1)[0];
    let mut phone = r.phone();
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    r.sandbox
        .faults()
        .set_post_fault_once(PostFault::FailAfterCommit);
    let held = phone.answer(&confirm, keys("1")).await.unwrap();
    r.wait_posts(1).await;
    // The 500 arrives and the retry is scheduled (or about to be): kill now.
    tokio::time::sleep(Duration::from_millis(50)).await;
    r.svc.kill();
    r.svc.restart().await;
    let end = phone.settle(held).await.unwrap();
    assert_ended(&end, &phone);
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    assert_eq!(ledger[0]["outcome"], "reserved");
    assert_told_the_port(&phone, &ledger[0]);
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    t.print(&format!(
        "kill_after_a_failed_answer_to_a_post_that_landed/{b:?}"
    ));
}

async fn repeated_kills_during_many_calls(b: Backend) {
    let Some(mut r) = Rig::new(b, "repeated_kills_during_many_calls", &[]).await else {
        return;
    };
    let cs = clients(7, 12);
    // OZmap a little slow, so that kills also land while it is answering.
    r.sandbox.faults().set_delay_ms(40);
    let mut calls = Vec::new();
    for (i, c) in cs.iter().cloned().enumerate() {
        let mut phone = r.phone();
        calls.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150 * i as u64)).await;
            let confirm = phone.walk_to_confirmation(&c).await.expect("walk");
            let end = phone.confirm_and_wait(&confirm).await.expect("outcome");
            (phone, end)
        }));
    }
    for _ in 0..4 {
        let wait = rand::rng().random_range(200..700);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        r.svc.kill();
        tokio::time::sleep(Duration::from_millis(100)).await;
        r.svc.restart().await;
    }
    for call in calls {
        let (phone, end) = call.await.unwrap();
        assert_ended(&end, &phone);
        let said = phone.heard_text();
        assert!(
            said.contains("Reservamos") || said.contains("Você já tem uma reserva"),
            "{said}"
        );
    }
    let (t, _) = r.tally(&codes(&cs), cs.len()).await;
    assert_eq!((t.duplicates, t.lost), (0, 0), "{t:?}");
    assert!(
        t.posts >= cs.len() && t.posts <= cs.len() + t.kills,
        "{t:?}"
    );
    t.print(&format!("repeated_kills_during_many_calls/{b:?}"));
}

async fn sigterm_during_a_hanging_post(b: Backend) {
    // The lease is the default minute: only a released row is taken up at once.
    let Some(mut r) = Rig::new(
        b,
        "sigterm_during_a_hanging_post",
        &[
            ("IVR_WORKER_LEASE_MS", "60000"),
            // Longer than SIGTERM and the grace: only the shutdown ends the POST.
            ("OZMAP_TIMEOUT_MS", "8000"),
            ("OZMAP_COMMIT_WAIT_MS", "9000"),
            ("IVR_SHUTDOWN_GRACE_MS", "1000"),
        ],
    )
    .await
    else {
        return;
    };
    let c = &clients(8, 1)[0];
    let mut phone = r.phone();
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    r.sandbox.faults().set_post_fault_once(PostFault::Hang);
    let held = phone.answer(&confirm, keys("1")).await.unwrap();
    r.wait_posts(1).await;
    let asked = Instant::now();
    r.svc.terminate();
    let status = r
        .svc
        .wait_exit(Duration::from_secs(12))
        .await
        .expect("the process exits within the shutdown timeout");
    let took = asked.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let log = r.svc.log_text();
    assert!(
        log.contains("the row is released for another worker"),
        "{log}"
    );
    // What the store holds while nothing runs: the row waits, unattempted.
    {
        let store = ozmap_ivr::Store::connect(&r.db.url).await.unwrap();
        let rows = store.list_reservations(None, 10).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, ozmap_ivr::LedgerStatus::Pending);
        assert_eq!(rows[0].attempts, 0);
        assert_eq!(
            rows[0].last_error.as_deref(),
            Some("interrupted by shutdown")
        );
    }
    r.svc.restart().await;
    let restarted = Instant::now();
    let end = phone.settle(held).await.unwrap();
    assert_ended(&end, &phone);
    assert!(
        phone.heard_text().contains("Reservamos"),
        "{}",
        phone.heard_text()
    );
    assert!(
        restarted.elapsed() < Duration::from_secs(30),
        "taken up without waiting for the minute-long lease"
    );
    let (t, _) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    assert_eq!((t.posts, t.duplicates, t.lost), (2, 0, 0), "{t:?}");
    eprintln!("sigterm_during_a_hanging_post/{b:?}: exited {took:?} after SIGTERM");
    t.print(&format!("sigterm_during_a_hanging_post/{b:?}"));
}

async fn two_calls_for_one_client_at_the_same_moment(b: Backend) {
    let Some(r) = Rig::new(b, "two_calls_for_one_client_at_the_same_moment", &[]).await else {
        return;
    };
    let c = &clients(9, 1)[0];
    let (mut p1, mut p2) = (r.phone(), r.phone());
    let (c1, c2) = tokio::join!(p1.walk_to_confirmation(c), p2.walk_to_confirmation(c));
    let (c1, c2) = (c1.unwrap(), c2.unwrap());
    let (e1, e2) = tokio::join!(p1.confirm_and_wait(&c1), p2.confirm_and_wait(&c2));
    assert_ended(&e1.unwrap(), &p1);
    assert_ended(&e2.unwrap(), &p2);
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 2).await;
    assert_eq!(ledger.len(), 1, "one ledger row for one client code");
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    // one caller made the reservation, the other is told about it
    let said = [p1.heard_text(), p2.heard_text()];
    assert_eq!(said.iter().filter(|s| s.contains("Reservamos")).count(), 1);
    assert_eq!(
        said.iter()
            .filter(|s| s.contains("Você já tem uma reserva"))
            .count(),
        1
    );
    assert_told_the_port(&p1, &ledger[0]);
    assert_told_the_port(&p2, &ledger[0]);
    t.print(&format!(
        "two_calls_for_one_client_at_the_same_moment/{b:?}"
    ));
}

async fn a_platform_retry_of_the_confirmation(b: Backend) {
    let Some(r) = Rig::new(b, "a_platform_retry_of_the_confirmation", &[]).await else {
        return;
    };
    let c = &clients(10, 1)[0];
    let mut phone = r.phone();
    let confirm = phone.walk_to_confirmation(c).await.unwrap();
    let action = confirm.gather.clone().unwrap();
    let form = Phone::gathered(&keys("1"));
    let mut twin = phone.twin();
    let (a, b2) = tokio::join!(phone.post_to(&action, &form), twin.post_to(&action, &form));
    let (a, b2) = (a.unwrap(), b2.unwrap());
    // The copy that moved the call answers with the outcome when OZmap is quick;
    // the other gets what is stored when it reads (the hold, or the outcome).
    // Either way both lead to the same end.
    let end_b = twin.settle(b2).await.unwrap();
    assert_ended(&end_b, &twin);
    let end = phone.settle(a).await.unwrap();
    assert_ended(&end, &phone);
    assert!(
        phone.heard_text().contains("Reservamos"),
        "{}",
        phone.heard_text()
    );
    // and once more, late, after everything is over
    let late = phone.post_to(&action, &form).await.unwrap();
    assert!(!late.said.is_empty());
    let (t, ledger) = r.tally(&codes(std::slice::from_ref(c)), 1).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!((t.posts, t.duplicates, t.lost), (1, 0, 0), "{t:?}");
    t.print(&format!("a_platform_retry_of_the_confirmation/{b:?}"));
}

// ---- the ledger commands on a fresh machine ---------------------------------

fn ledger_command(dir: &std::path::Path, db: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(crate::BIN);
    cmd.arg("reservations")
        .args(args)
        .current_dir(dir)
        .env_remove("IVR_DATABASE_URL");
    if let Some(db) = db {
        cmd.env("IVR_DATABASE_URL", db);
    }
    cmd.output().expect("run ozmap-ivr reservations")
}

#[test]
fn the_ledger_commands_work_on_a_fresh_machine() {
    // A new, empty folder: no database yet, nothing configured.
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-fresh-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = ledger_command(&dir, None, &["list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    for column in ["ID", "STATUS", "OUTCOME", "CODE", "NAME", "BOX"] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(lines.next(), Some("(no reservations)"));
    assert!(
        dir.join("ozmap-ivr.db").is_file(),
        "the default store is created"
    );

    let out = ledger_command(&dir, None, &["list", "--json"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");

    let out = ledger_command(&dir, None, &["list", "--status", "dead"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("(no reservations)"));

    for (args, message) in [
        (&["show", "1"][..], "no reservation 1"),
        (&["retry", "1"][..], "not a dead letter"),
        (&["cancel", "1"][..], "no reservation 1"),
    ] {
        let out = ledger_command(&dir, None, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = ledger_command(&dir, None, &["list", "--status", "lost"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));

    // A store that cannot be opened says so, without a panic.
    let out = ledger_command(&dir, Some("sqlite:///no/such/folder/ledger.db"), &["list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("ozmap-ivr: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_ledger_commands_work_on_a_fresh_postgres_database() {
    let Some(db) = TestDb::postgres("the_ledger_commands_work_on_a_fresh_postgres_database").await
    else {
        return;
    };
    let dir = std::env::temp_dir();
    let out = ledger_command(&dir, Some(&db.url), &["list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.lines().next().unwrap_or_default().contains("STATUS"));
    assert!(stdout.contains("(no reservations)"), "{stdout}");
}
