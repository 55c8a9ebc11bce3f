//! The example server of `docs/schedule.md`, as an ISP would start it, is a
//! working schedule for the contract's client (skipped, and said so, when
//! python3 cannot be started).

use super::erp_tests::booking;
use super::http::HttpAgenda;
use super::{AgendaError, ErpVisit, SlotQuery};
use ivr_core::agenda::{Day, Slot};
use secrecy::SecretString;
use std::time::Duration;

#[tokio::test]
async fn the_documented_example_server_is_a_working_schedule() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/examples/schedule_server.py"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .arg(script)
        .arg(format!("127.0.0.1:{port}"))
        .env("SCHEDULE_TOKEN", "example-token")
        .env("SCHEDULE_CAPACITY", "1")
        .spawn();
    let Ok(mut child) = child else {
        println!("skipped: python3 could not be started to run {script}");
        return;
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let agenda = HttpAgenda::new(
        url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        Some(SecretString::from("example-token")),
        Duration::from_secs(3),
    )
    .unwrap();
    let day = |s: &str| Day::parse(s).unwrap();
    let q = SlotQuery {
        lat: -27.57,
        lng: -48.52,
        box_id: None,
        // Thursday 10 to Sunday 13.
        from: day("2026-12-10"),
        to: day("2026-12-13"),
    };
    let before = agenda.free_slots(&q).await;
    let v = booking("202612070000120", "2026-12-10/morning");
    let first = agenda.book(&v).await;
    let again = agenda.book(&v).await;
    let other = agenda
        .book(&booking("202612070000121", "2026-12-10/morning"))
        .await;
    let after = agenda.free_slots(&q).await;
    let open = agenda.status(&v.protocol).await;
    let cancelled = agenda.cancel(&v.protocol).await;
    let gone = agenda.status(&v.protocol).await;
    let _ = child.kill();
    let _ = child.wait();
    let before = before.unwrap();
    assert_eq!(before.len(), 6, "Thursday to Saturday, two periods each");
    assert!(before.iter().all(|f| (f.capacity, f.free) == (1, 1)));
    let first = first.unwrap();
    assert_eq!(again.unwrap(), first, "the same PUT answers the same");
    let Err(AgendaError::Refused(e)) = other else {
        panic!("the period holds one visit");
    };
    assert!(e.contains("full"), "{e}");
    let after = after.unwrap();
    assert_eq!(after.len(), 5);
    assert!(
        !after
            .iter()
            .any(|f| f.slot == Slot::parse("2026-12-10/morning").unwrap())
    );
    assert_eq!(open.unwrap(), ErpVisit::Open);
    cancelled.unwrap();
    assert_eq!(gone.unwrap(), ErpVisit::Cancelled);
}
