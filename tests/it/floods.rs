//! Slow and forged floods, black-box:
//! - a body trickled a byte a second (raw TCP on loopback, `Content-Length:
//!   1000`) is cut off with `408` and the connection closed within
//!   `IVR_BODY_TIMEOUT_MS` (default 5 s) on `/voice`, `/whatsapp` and
//!   `/console/login`;
//! - 1,000 forged WhatsApp notifications write a handful of log lines (the
//!   real binary's log), the count of them in a line, not a line each.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use test_support::proc::Service;
use test_support::{TestDb, start_sandbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::whatsapp::Chat;

/// What a trickled request got: how long until the service closed the
/// connection, and what it answered.
struct Trickled {
    closed_after: Option<Duration>,
    answer: String,
    bytes_sent: usize,
}

/// Posts to `path` declaring 1,000 bytes and sends one a second (or, with
/// `chunked`, one chunk of one byte a second), until the service closes the
/// connection or 15 s pass.
async fn trickle(addr: SocketAddr, path: &str, content_type: &str, chunked: bool) -> Trickled {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let length = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        "Content-Length: 1000".to_string()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n{length}\r\n\r\n"
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        for _ in 0..1000 {
            let piece: &[u8] = if chunked { b"1\r\na\r\n" } else { b"a" };
            if wr.write_all(piece).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        sent
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let closed_after = loop {
        match tokio::time::timeout(Duration::from_secs(15), rd.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(started.elapsed()),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => break None,
        }
    };
    writer.abort();
    let bytes_sent = writer.await.unwrap_or(0);
    Trickled {
        closed_after,
        answer: String::from_utf8_lossy(&answer).into_owned(),
        bytes_sent,
    }
}

#[tokio::test]
async fn a_body_trickled_a_byte_a_second_is_cut_off_on_every_route() {
    let c = Chat::start_with_flags(
        TestDb::sqlite(),
        false,
        &["--admin-token=floods-admin-token-0123456789"],
    )
    .await;
    let addr: SocketAddr = c
        .app
        .base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let form = "application/x-www-form-urlencoded";
    let (voice, whatsapp, login, chunked, unread) = tokio::join!(
        trickle(addr, "/voice", form, false),
        trickle(addr, "/whatsapp", "application/json", false),
        trickle(addr, "/console/login", form, false),
        trickle(addr, "/voice", form, true),
        // A route that reads no body (POST on a GET route): answered at once,
        // and the chunked body is not read on at the sender's pace.
        trickle(addr, "/admin/reservations", "application/json", true),
    );
    let five_seconds = Duration::from_millis(4_500)..Duration::from_secs(7);
    for (route, t, status, within) in [
        ("/voice", voice, 408, &five_seconds),
        ("/whatsapp", whatsapp, 408, &five_seconds),
        ("/console/login", login, 408, &five_seconds),
        ("/voice (chunked)", chunked, 408, &five_seconds),
        (
            "/admin/reservations (chunked)",
            unread,
            405,
            &(Duration::ZERO..Duration::from_secs(2)),
        ),
    ] {
        let closed = t.closed_after.unwrap_or_else(|| {
            panic!(
                "{route}: still open after 15 s, {} bytes sent, answered {:?}",
                t.bytes_sent, t.answer
            )
        });
        assert!(within.contains(&closed), "{route}: closed after {closed:?}");
        assert!(
            t.answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{route}: {:?}",
            t.answer
        );
        assert!(t.bytes_sent <= 7, "{route}: {} bytes read", t.bytes_sent);
    }
    // The service still answers.
    let r = reqwest::get(format!("{}/healthz", c.app.base_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

const WA_SECRET: &str = "floods-wa-app-secret";

#[tokio::test]
async fn a_thousand_forged_notifications_write_a_handful_of_log_lines() {
    let sandbox = start_sandbox().await;
    let db = TestDb::sqlite();
    let mut svc = Service::start(
        crate::BIN,
        &db.url,
        &sandbox.base_url(),
        &[
            ("WHATSAPP_APP_SECRET", WA_SECRET),
            ("WHATSAPP_VERIFY_TOKEN", "floods-wa-verify"),
            ("WHATSAPP_TOKEN", "floods-wa-token"),
            ("WHATSAPP_PHONE_NUMBER_ID", "4242"),
            ("WHATSAPP_API_URL", "http://127.0.0.1:9"),
        ],
    )
    .await;
    let before = svc.log_text().lines().count();
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": "4242"},
        "messages": [{"from": "5548991234567", "id": "wamid.forged", "type": "text",
            "text": {"body": "oi"}}]}}]}]})
    .to_string();
    let forged = ozmap_ivr::whatsapp_signature(b"not-the-secret", body.as_bytes());
    let http = reqwest::Client::new();
    let url = format!("{}/whatsapp", svc.base);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for batch in 0..50 {
        let sends = (0..20).map(|_| {
            http.post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", &forged)
                .body(body.clone())
                .send()
        });
        for r in futures_util::future::join_all(sends).await {
            *statuses.entry(r.unwrap().status().as_u16()).or_default() += 1;
        }
        if batch == 0 {
            // A signed one goes through meanwhile.
            let sig = ozmap_ivr::whatsapp_signature(WA_SECRET.as_bytes(), body.as_bytes());
            let r = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    assert_eq!(statuses.values().sum::<usize>(), 1000, "{statuses:?}");
    assert!(
        statuses.keys().all(|s| *s == 403 || *s == 429),
        "{statuses:?}"
    );
    let refusal_lines = |log: &str| -> Vec<String> {
        log.lines()
            .skip(before)
            .filter(|l| l.contains("refused"))
            .map(str::to_string)
            .collect()
    };
    let during = refusal_lines(&svc.log_text());
    assert!(
        (1..=3).contains(&during.len()),
        "{} lines:\n{}",
        during.len(),
        during.join("\n")
    );
    // At shutdown, the count of those not logged one by one.
    svc.terminate();
    assert!(svc.wait_exit(Duration::from_secs(20)).await.is_some());
    let lines = refusal_lines(&svc.log_text());
    assert!(
        lines.len() <= 6,
        "{} lines:\n{}",
        lines.len(),
        lines.join("\n")
    );
    let counted: usize = lines
        .iter()
        .filter_map(|l| {
            l.split("refused ")
                .nth(1)?
                .split(" requests from 127.0.0.0/24 in the last ")
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    let at_once = lines.len() - lines.iter().filter(|l| l.contains(" in the last ")).count();
    assert_eq!(counted + at_once, 1000, "{}", lines.join("\n"));
    assert!(lines.iter().any(|l| l.contains("wrong signature (403)")));
    assert!(
        lines.iter().all(|l| !l.contains("127.0.0.1")),
        "the address is masked"
    );
}
