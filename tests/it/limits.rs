//! Guessing is slow and every route is limited, over real HTTP:
//! - 300 wrong bearer tokens from one address on `/metrics` and `/admin/…`
//!   get 429s past the first ten (with `Retry-After`), the right token from
//!   that address too, while the right token from another address works;
//! - `/whatsapp` and `/admin` have the voice webhooks' per-address limit;
//! - a short `IVR_ADMIN_TOKEN` stops the start, naming the variable, and
//!   `serve` with nothing configured still starts.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use test_support::TestApp;

const ADMIN: &str = "limits-admin-token-0123456789";

fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

#[tokio::test]
async fn three_hundred_wrong_bearer_tokens_from_one_address_get_429s() {
    let app = TestApp::spawn(&[&format!("--admin-token={ADMIN}")]).await;
    let guesser = client_from(Ipv4Addr::LOCALHOST);
    let paths = [
        "/metrics",
        "/admin/reservations",
        "/admin/messages",
        "/admin/funnel",
    ];
    let (mut unauthorized, mut limited) = (0, 0);
    let started = Instant::now();
    for i in 0..300 {
        let r = guesser
            .get(format!("{}{}", app.base_url, paths[i % paths.len()]))
            .bearer_auth(format!("guess-{i:05}-xxxxxxxxxxxxxxxxxx"))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            401 => unauthorized += 1,
            429 => {
                let wait: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "Retry-After: {wait}");
                limited += 1;
            }
            other => panic!("try {i}: {other}"),
        }
    }
    // Ten tries a minute (one back every six seconds while this runs).
    let back = started.elapsed().as_secs() / 6;
    assert!(
        (10..=10 + back).contains(&unauthorized),
        "{unauthorized} answered 401"
    );
    assert_eq!(unauthorized + limited, 300);
    // The right token from the guessing address waits too: no guess is
    // answered, right or wrong.
    let r = guesser
        .get(format!("{}/metrics", app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // From another address it works.
    let operator = client_from(Ipv4Addr::new(127, 0, 0, 2));
    for path in paths {
        let r = operator
            .get(format!("{}{path}", app.base_url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // A script with the right token is never limited by its own tries.
    for _ in 0..30 {
        let r = operator
            .get(format!("{}/metrics", app.base_url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn whatsapp_and_admin_have_the_webhooks_per_address_limit() {
    let app = TestApp::spawn(&[
        &format!("--admin-token={ADMIN}"),
        "--rate-requests-per-second=1",
        "--whatsapp-app-secret=limits-wa-secret",
        "--whatsapp-verify-token=limits-wa-verify",
        "--whatsapp-token=limits-wa-token",
        "--whatsapp-phone-number-id=42",
        "--whatsapp-api-url=http://127.0.0.1:9",
    ])
    .await;
    let http = client_from(Ipv4Addr::new(127, 0, 0, 3));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = http
            .get(format!("{}/admin/reservations", app.base_url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..2], [200, 200], "{statuses:?}");
    assert!(
        statuses[2..].iter().filter(|s| **s == 429).count() >= 3,
        "{statuses:?}"
    );
    // The same address on /whatsapp: refused before the body is read.
    let http = client_from(Ipv4Addr::new(127, 0, 0, 4));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = http
            .post(format!("{}/whatsapp", app.base_url))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..2], [401, 401], "unsigned: {statuses:?}");
    assert!(
        statuses[2..].iter().filter(|s| **s == 429).count() >= 3,
        "{statuses:?}"
    );
    assert!(
        app.state
            .security
            .limited_requests
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 6
    );
}

/// `ozmap-ivr serve` in an empty folder with `env` only; the child.
fn serve(dir: &std::path::Path, env: &[(&str, String)]) -> std::process::Child {
    let mut cmd = Command::new(crate::BIN);
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    cmd.spawn().unwrap()
}

#[tokio::test]
async fn a_short_admin_token_stops_the_start_and_nothing_configured_still_starts() {
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-limits-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = test_support::proc::free_port();
    let bind = ("IVR_BIND", format!("127.0.0.1:{port}"));
    // 23 characters: refused, the variable named, the token not echoed.
    let short = "23-characters-of-secret";
    let child = serve(&dir, &[bind.clone(), ("IVR_ADMIN_TOKEN", short.into())]);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("IVR_ADMIN_TOKEN: too short (23 characters): use at least 24"),
        "{stderr}"
    );
    assert!(!stderr.contains(short), "{stderr}");
    // Nothing configured (the README's first command): it starts.
    let mut child = serve(&dir, &[bind]);
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    let up = loop {
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            break true;
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(up, "{}", String::from_utf8_lossy(&out.stderr));
}
