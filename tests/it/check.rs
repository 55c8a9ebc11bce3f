//! `ozmap-ivr check`, the real binary against the built-in sandbox, a sandbox
//! on its own port (a "real" OZmap) and fakes: every line passes against the
//! sandbox; a wrong OZmap token, a directory answering 500, a slow directory
//! and a missing signing secret each fail under their own name; an ERP agenda
//! (`SCHEDULE=http|ixc`) is asked for its free periods, booking nothing, and a
//! wrong token there is named; `--json` parses; nothing is created or changed
//! in the database.

use crate::BIN;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const NAMES: [&str; 11] = [
    "configuration",
    "database",
    "ozmap",
    "geocoder",
    "cep",
    "directory",
    "schedule",
    "sms",
    "whatsapp",
    "signing",
    "public-url",
];

fn fresh_db() -> (PathBuf, String) {
    let path =
        std::env::temp_dir().join(format!("ozmap-ivr-check-{:016x}.db", rand::random::<u64>()));
    let url = format!("sqlite://{}", path.display());
    (path, url)
}

/// `ozmap-ivr check --json` with only `env` set: (exit success, report).
async fn check_json(env: &[(&str, &str)], args: &[&str]) -> (bool, Value) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().arg("check").arg("--json").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("check finishes")
        .expect("check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "--json is JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// The line named `name`: (status, detail).
fn line(report: &Value, name: &str) -> (String, String) {
    let l = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no line {name}: {report:#}"));
    (
        l["status"].as_str().unwrap().to_string(),
        l["detail"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn every_line_passes_against_the_sandbox_and_no_database_is_created() {
    let (path, url) = fresh_db();
    let (ok, report) = check_json(&[("IVR_DATABASE_URL", &url)], &[]).await;
    assert!(ok, "{report:#}");
    assert_eq!(report["ok"], true);
    for name in NAMES {
        let (status, detail) = line(&report, name);
        assert!(
            status == "ok" || status == "skip",
            "{name}: {status} {detail}"
        );
    }
    assert_eq!(line(&report, "ozmap").0, "ok");
    assert!(line(&report, "ozmap").1.contains("token accepted"));
    assert_eq!(
        line(&report, "directory").0,
        "ok",
        "the sandbox's directory"
    );
    assert!(line(&report, "database").1.contains("no database file yet"));
    assert!(!path.exists(), "check created {}", path.display());

    // The plain lines: one per check, and the summary.
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("IVR_DATABASE_URL", &url)
        .args([
            "check",
            "--near",
            "-27.5782337,-48.5282545",
            "--client",
            "123|123",
        ])
        .output()
        .expect("check runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for name in NAMES {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(name)),
            "no line {name}: {text}"
        );
    }
    assert!(text.contains("--near -27.5782337,-48.5282545"), "{text}");
    assert!(text.ends_with("all checks passed\n"), "{text}");
    assert!(text.contains("the --client code is known"), "{text}");

    // A code the directory does not know fails its line.
    let (ok, report) = check_json(&[("IVR_DATABASE_URL", &url)], &["--client", "987654"]).await;
    assert!(!ok);
    assert_eq!(line(&report, "directory").0, "fail");
    assert!(!path.exists());
}

#[tokio::test]
async fn a_migrated_database_is_read_not_changed() {
    let (path, url) = fresh_db();
    // `reservations list` opens and migrates the store, as `serve` does.
    let made = std::process::Command::new(BIN)
        .env_clear()
        .env("IVR_DATABASE_URL", &url)
        .args(["reservations", "list"])
        .output()
        .expect("reservations list");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let before = std::fs::read(&path).expect("the database");
    let (ok, report) = check_json(&[("IVR_DATABASE_URL", &url)], &[]).await;
    assert!(ok, "{report:#}");
    let (status, detail) = line(&report, "database");
    assert_eq!(status, "ok");
    assert!(detail.contains("schema current"), "{detail}");
    assert_eq!(
        std::fs::read(&path).expect("the database"),
        before,
        "check changed the file"
    );
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        let _ = std::fs::remove_file(side);
    }
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ozmap_token_is_named_and_the_other_checks_go_on() {
    let sandbox = test_support::start_sandbox().await;
    let (_, db) = fresh_db();
    let base = sandbox.base_url();
    let env = [
        ("IVR_DATABASE_URL", db.as_str()),
        ("OZMAP_URL", base.as_str()),
        ("OZMAP_TOKEN", "not-the-token"),
        ("TWILIO_AUTH_TOKEN", "a-signing-secret"),
        ("GEOCODER", "gazetteer"),
    ];
    let (ok, report) = check_json(&env, &[]).await;
    assert!(!ok, "exit status");
    assert_eq!(report["ok"], false);
    let (status, detail) = line(&report, "ozmap");
    assert_eq!(status, "fail");
    assert!(
        detail.contains("wrong token") && detail.contains("OZMAP_TOKEN"),
        "{detail}"
    );
    assert!(!detail.contains("unreachable"), "{detail}");
    assert_eq!(line(&report, "signing").0, "ok");
    assert_eq!(line(&report, "geocoder").0, "ok");
    let text = report.to_string();
    assert!(
        !text.contains("not-the-token") && !text.contains("a-signing-secret"),
        "a secret printed: {text}"
    );

    // The right token: the same OZmap passes.
    let mut env_ok = env;
    env_ok[2] = ("OZMAP_TOKEN", test_support::TOKEN);
    let (_, report) = check_json(&env_ok, &["--near", "-27.5782337,-48.5282545"]).await;
    assert_eq!(line(&report, "ozmap").0, "ok", "{report:#}");
    sandbox.stop().await;
}

#[tokio::test]
async fn a_directory_answering_500_is_named() {
    let directory = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&directory)
        .await;
    let (_, db) = fresh_db();
    let uri = directory.uri();
    let env = [
        ("IVR_DATABASE_URL", db.as_str()),
        ("CLIENT_DIRECTORY", "http"),
        ("CLIENT_DIRECTORY_URL", uri.as_str()),
    ];
    let (ok, report) = check_json(&env, &["--client", "1001"]).await;
    assert!(!ok);
    let (status, detail) = line(&report, "directory");
    assert_eq!(status, "fail");
    assert!(detail.contains("500"), "{detail}");
    assert_eq!(line(&report, "ozmap").0, "ok", "the others still pass");
}

#[tokio::test]
async fn a_slow_directory_fails_within_its_timeout_and_the_next_checks_run() {
    let directory = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_delay(Duration::from_secs(20)))
        .mount(&directory)
        .await;
    let (_, db) = fresh_db();
    let uri = directory.uri();
    let env = [
        ("IVR_DATABASE_URL", db.as_str()),
        ("CLIENT_DIRECTORY", "http"),
        ("CLIENT_DIRECTORY_URL", uri.as_str()),
        ("CLIENT_DIRECTORY_TIMEOUT_MS", "15000"),
    ];
    let started = std::time::Instant::now();
    let (ok, report) = check_json(&env, &["--timeout-ms", "800"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(!ok);
    let (status, detail) = line(&report, "directory");
    assert_eq!(status, "fail");
    assert!(detail.contains("800 ms"), "{detail}");
    for after in ["sms", "whatsapp", "signing", "public-url"] {
        assert_ne!(line(&report, after).0, "fail", "{after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_signing_secret_is_named() {
    let sandbox = test_support::start_sandbox().await;
    let (_, db) = fresh_db();
    let base = sandbox.base_url();
    let env = [
        ("IVR_DATABASE_URL", db.as_str()),
        ("OZMAP_URL", base.as_str()),
        ("OZMAP_TOKEN", test_support::TOKEN),
        ("GEOCODER", "gazetteer"),
    ];
    // As `serve` would refuse to start: the configuration line names it.
    let (ok, report) = check_json(&env, &[]).await;
    assert!(!ok);
    let (status, detail) = line(&report, "configuration");
    assert_eq!(status, "fail");
    assert!(detail.contains("TWILIO_AUTH_TOKEN"), "{detail}");

    // Unsigned on purpose: `serve` starts, `check` still fails the line.
    let mut unsigned = env.to_vec();
    unsigned.push(("IVR_ALLOW_UNSIGNED", "true"));
    let (ok, report) = check_json(&unsigned, &[]).await;
    assert!(!ok);
    let (status, detail) = line(&report, "signing");
    assert_eq!(status, "fail");
    assert!(detail.contains("TWILIO_AUTH_TOKEN"), "{detail}");
    assert_eq!(line(&report, "ozmap").0, "ok", "{report:#}");
    // A real OZmap on plain http: IVR_PUBLIC_URL must be https.
    assert_eq!(line(&report, "public-url").0, "fail");
    sandbox.stop().await;
}

#[tokio::test]
async fn on_postgresql_pending_migrations_are_counted_not_run() {
    let Some(db) = test_support::TestDb::postgres("check: pending migrations").await else {
        return;
    };
    // An empty database: every migration pending, and none run by check.
    for _ in 0..2 {
        let (ok, report) = check_json(&[("IVR_DATABASE_URL", &db.url)], &[]).await;
        assert!(!ok);
        let (status, detail) = line(&report, "database");
        assert_eq!(status, "fail");
        assert!(
            detail.contains("migration(s) pending (version 0 of"),
            "{detail}"
        );
    }
    let made = std::process::Command::new(BIN)
        .env_clear()
        .env("IVR_DATABASE_URL", &db.url)
        .args(["reservations", "list"])
        .output()
        .expect("reservations list");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (ok, report) = check_json(&[("IVR_DATABASE_URL", &db.url)], &[]).await;
    assert!(ok, "{report:#}");
    assert!(
        line(&report, "database")
            .1
            .contains("PostgreSQL: reachable, schema current")
    );
}

/// SMS and WhatsApp credentials are read, never used to send: a refused
/// account read is a wrong credential, an accepted one passes.
#[tokio::test]
async fn sms_and_whatsapp_credentials_are_checked_by_a_read() {
    use wiremock::matchers::{method, path};
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef.json",
        ))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v23.0/1234567890"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"1234567890"}"#))
        .expect(1)
        .mount(&api)
        .await;
    let (_, db) = fresh_db();
    let uri = api.uri();
    let env = [
        ("IVR_DATABASE_URL", db.as_str()),
        ("SMS_PROVIDER", "twilio"),
        ("SMS_FROM", "+5548999990000"),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "twilio-secret-token"),
        ("TWILIO_API_URL", uri.as_str()),
        ("WHATSAPP_APP_SECRET", "app-secret-value"),
        ("WHATSAPP_VERIFY_TOKEN", "verify-token-value"),
        ("WHATSAPP_TOKEN", "graph-token-value"),
        ("WHATSAPP_PHONE_NUMBER_ID", "1234567890"),
        ("WHATSAPP_API_URL", uri.as_str()),
    ];
    let (ok, report) = check_json(&env, &[]).await;
    assert!(!ok);
    let (status, detail) = line(&report, "sms");
    assert_eq!(status, "fail");
    assert!(
        detail.contains("wrong credentials (HTTP 401)") && detail.contains("TWILIO_AUTH_TOKEN"),
        "{detail}"
    );
    assert_eq!(line(&report, "whatsapp").0, "ok", "{report:#}");
    let text = report.to_string();
    for secret in [
        "twilio-secret-token",
        "graph-token-value",
        "app-secret-value",
    ] {
        assert!(!text.contains(secret), "{secret} printed");
    }
    let posts = api.received_requests().await.unwrap_or_default();
    assert!(
        posts.iter().all(|r| r.method.as_str() == "GET"),
        "nothing sent"
    );
}

#[tokio::test]
async fn an_erp_agenda_is_asked_for_its_free_periods_and_nothing_is_booked() {
    use crate::erp_fakes::{ContractErp, IXC_TOKEN, IxcErp, contract_env, period};
    let (server, erp) = ContractErp::start(vec![period(0, "morning", 4, 1)]).await;
    let (_, db) = fresh_db();
    let vars = contract_env(&server);
    let mut env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("IVR_DATABASE_URL", db.as_str()));
    let (ok, report) = check_json(&env, &[]).await;
    assert!(ok, "{report:#}");
    let (status, detail) = line(&report, "schedule");
    assert_eq!(status, "ok", "{detail}");
    assert!(
        detail.contains("http: reachable, answered 1 free period(s)"),
        "{detail}"
    );
    assert!(detail.contains(&erp.day(0).to_string()), "{detail}");

    // A wrong token is named; the other checks go on.
    env.retain(|(k, _)| *k != "SCHEDULE_TOKEN");
    env.push(("SCHEDULE_TOKEN", "not-the-token"));
    let (ok, report) = check_json(&env, &[]).await;
    assert!(!ok);
    let (status, detail) = line(&report, "schedule");
    assert_eq!(status, "fail");
    assert!(
        detail.contains("401") && detail.contains("SCHEDULE_TOKEN"),
        "{detail}"
    );
    assert!(!detail.contains("not-the-token"), "{detail}");
    assert_ne!(line(&report, "sms").0, "fail", "the next checks run");
    assert_eq!(line(&report, "ozmap").0, "ok");
    {
        let s = erp.state();
        assert!(s.puts.is_empty() && s.visits.is_empty(), "nothing booked");
    }

    // IXC: a listing of its service orders, nothing inserted.
    let (server, ixc) = IxcErp::start().await;
    let uri = server.uri();
    let env = [
        ("IVR_DATABASE_URL", db.as_str()),
        ("SCHEDULE", "ixc"),
        ("SCHEDULE_URL", uri.as_str()),
        ("SCHEDULE_TOKEN", IXC_TOKEN),
        ("SCHEDULE_IXC_SUBJECT", "17"),
    ];
    let (ok, report) = check_json(&env, &[]).await;
    assert!(ok, "{report:#}");
    let (status, detail) = line(&report, "schedule");
    assert_eq!(status, "ok", "{detail}");
    assert!(detail.starts_with("ixc: reachable"), "{detail}");
    let s = ixc.state();
    assert!(s.listings >= 1, "asked");
    assert!(s.inserts.is_empty() && s.updates == 0, "nothing written");
}
