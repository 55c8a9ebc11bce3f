//! Text from outside is bounded and clean before it is stored, shown or sent:
//! a WhatsApp location whose address is 240,000 characters of control
//! characters, a bidi override and HTML still reserves its port, and what
//! OZmap receives as the property's address, and what the console shows, is
//! short and clean.

use super::whatsapp::{Chat, WA_ID, body, is_buttons};
use serde_json::json;
use test_support::TestDb;

const ADMIN: &str = "outside-text-admin-token-0417";

/// A character no clean text holds.
fn dirty(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[tokio::test]
async fn a_huge_dirty_location_address_reserves_the_port_with_a_short_clean_address() {
    let admin = format!("--admin-token={ADMIN}");
    let c = Chat::start_with_flags(TestDb::sqlite(), false, &[&admin]).await;
    super::whatsapp::up_to_the_address(&c).await;
    let address = format!(
        "Casa\u{1b}[2J\u{0} <script>alert(1)</script>\r\n\u{202E}Fundos\u{7}\t{}",
        "Av. Beira-Mar Norte ".repeat(12_000)
    );
    assert!(address.chars().count() >= 240_000);
    // Under the route's 256 KiB.
    // 12 m from CTO-AGR-10 and more than 60 m from every address the
    // gazetteer knows: no reverse geocode, so the location's own address is
    // what is read back and sent.
    let m = json!({"from": WA_ID, "id": c.id(), "timestamp": "1", "type": "location",
        "location": {"latitude": -27.5757, "longitude": -48.5376,
            "name": "Casa", "address": address}});
    let r = c.say(m, 1).await;
    assert!(is_buttons(&r[0]), "{r:?}");
    let read_back = body(&r[0]);
    assert!(
        read_back.contains("Casa[2J <script>alert(1)</script> Fundos Av. Beira-Mar Norte"),
        "{read_back}"
    );
    assert!(!read_back.chars().any(dirty), "{read_back:?}");
    assert!(read_back.chars().count() < 600, "{read_back}");
    let r = c.button("yes", 2).await;
    assert!(body(&r[1]).contains("porta 2 da caixa CTO-AGR-10"), "{r:?}");

    // What OZmap received.
    let props = c.app.sandbox.properties();
    assert_eq!(props.len(), 1, "{props:?}");
    let sent = props[0]["address"].as_str().expect("an address");
    assert!(sent.starts_with("Casa[2J <script>alert(1)</script> Fundos Av. Beira-Mar Norte"));
    assert!(
        sent.chars().count() <= 220,
        "{} chars",
        sent.chars().count()
    );
    assert!(!sent.chars().any(dirty), "{sent:?}");

    // What the console shows: the same text, its HTML escaped.
    let http = reqwest::Client::new();
    let ledger: Vec<serde_json::Value> = http
        .get(format!("{}/admin/reservations", c.app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger[0]["address"], sent);
    let id = ledger[0]["id"].as_i64().unwrap();
    let page = http
        .get(format!("{}/console?reservation={id}", c.app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Casa[2J &lt;script&gt;alert(1)&lt;/script&gt; Fundos Av. Beira-Mar Norte"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains('\u{1b}') && !page.contains('\u{202E}') && !page.contains('\0'));
    assert!(page.len() < 200_000, "{} bytes", page.len());
}
