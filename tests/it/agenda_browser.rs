//! The console's agenda in headless Chromium, desktop and phone-sized
//! (390×844): it opens from the dashboard, shows each period's use and each
//! visit (box, port, the number masked, an ERP dead letter's error) and the
//! requests waiting for a call; a move to a full period is refused with why,
//! a move and a cancellation for good are said. Screenshots go to
//! `target/tmp/console-screenshots/agenda-*.png` (`docs/console-agenda.png`
//! is the desktop one).

use crate::console_browser::{browser, by_id, chromium, shot, tempdir, text};
use crate::console_walks::{ADMIN, PHONE, app, tutorial, walk};
use crate::visit_seed::{book, erp_dead};
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// A Wednesday and a Thursday without holidays.
const D1: &str = "2027-03-10";
const D2: &str = "2027-03-11";

/// The ledger rows (id, protocol), oldest first.
async fn ledger(base: &str) -> Vec<(i64, String)> {
    let rows: Vec<Value> = reqwest::Client::new()
        .get(format!("{base}/admin/reservations"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["protocol"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.reverse();
    out
}

#[tokio::test]
async fn an_operator_moves_and_cancels_a_visit_in_chromium() {
    let Some((chromium, _driver, webdriver)) =
        chromium("an_operator_moves_and_cancels_a_visit_in_chromium").await
    else {
        return;
    };
    let profile = tempdir("chromium-agenda-profile");
    let c = browser(&webdriver, &chromium, &profile)
        .await
        .expect("chromedriver runs but starts no Chromium");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    // Three reservations: two with a visit, one waiting for a call.
    let app = app().await;
    walk(&app, tutorial("123*123")).await;
    walk(&app, tutorial("456*456")).await;
    walk(&app, tutorial("789*789")).await;
    let rows = ledger(&app.base_url).await;
    assert_eq!(rows.len(), 3);
    let (first, second) = (&rows[0], &rows[1]);
    book(&app, &first.1, Some(first.0), (D1, "morning"), 2).await;
    book(&app, &second.1, Some(second.0), (D1, "afternoon"), 1).await;
    erp_dead(&app, &second.1, "IXC 422: data de agenda recusada").await;
    let agenda = format!("{}/console/agenda?from={D1}", app.base_url);

    let result = async {
        c.goto(&format!("{}/console", app.base_url)).await?;
        by_id(&c, "token").await?.send_keys(ADMIN).await?;
        by_id(&c, "login-button").await?.click().await?;
        by_id(&c, "agenda-link").await?.click().await?;
        by_id(&c, "periods").await?;
        c.goto(&agenda).await?;
        assert_eq!(text(&c, &format!("#use-{D1}-morning")).await, "1 / 2");
        assert_eq!(text(&c, &format!("#use-{D1}-afternoon")).await, "1 / 1");
        let card = text(&c, &format!("#visit-{}", first.1)).await;
        assert!(card.contains("CTO-AGR-01 / 3"), "{card}");
        assert!(card.contains("***…67") && !card.contains(PHONE), "{card}");
        let dead = text(&c, &format!("#visit-{} .erp-error", second.1)).await;
        assert!(dead.contains("IXC 422"), "{dead}");
        let waiting = text(&c, "#waiting").await;
        assert!(waiting.contains(&rows[2].1), "{waiting}");
        shot(&c, &shots, "agenda-1-desktop.png").await;

        // The full afternoon: refused, the visit stays.
        let form = format!("#visit-{} form.move", first.1);
        let select = c.find(Locator::Css(&format!("{form} select"))).await?;
        select.select_by_value("tarde").await?;
        c.find(Locator::Css(&format!("{form} button")))
            .await?
            .click()
            .await?;
        let error = text(&c, "#agenda-error").await;
        assert!(error.contains("lotado"), "{error}");
        shot(&c, &shots, "agenda-2-full.png").await;

        // Moved to the next day (the date typed as the browser's date field
        // takes it), then cancelled for good.
        c.execute(
            "document.querySelector(arguments[0]).value = arguments[1]",
            vec![
                Value::String(format!("{form} input[name=day]")),
                Value::String(D2.into()),
            ],
        )
        .await?;
        c.find(Locator::Css(&format!("{form} select")))
            .await?
            .select_by_value("manha")
            .await?;
        c.find(Locator::Css(&format!("{form} button")))
            .await?
            .click()
            .await?;
        let flash = text(&c, "#flash").await;
        assert!(
            flash.contains("remarcada") && flash.contains("avisado"),
            "{flash}"
        );
        assert_eq!(text(&c, &format!("#use-{D1}-morning")).await, "0 / 2");
        assert_eq!(text(&c, &format!("#use-{D2}-morning")).await, "1 / 2");

        // On a phone: one column, nothing cut off.
        c.set_window_size(390, 844).await?;
        let width: Value = c
            .execute("return document.documentElement.scrollWidth", vec![])
            .await?;
        assert!(
            width.as_i64().unwrap_or(9999) <= 400,
            "wider than a phone: {width}"
        );
        shot(&c, &shots, "agenda-3-phone.png").await;
        c.execute("document.getElementById('visits').scrollIntoView()", vec![])
            .await?;
        shot(&c, &shots, "agenda-3-phone-visits.png").await;

        let cancel = format!("#visit-{} form.cancel", first.1);
        c.find(Locator::Css(&format!("{cancel} input[name=for_good]")))
            .await?
            .click()
            .await?;
        c.find(Locator::Css(&format!("{cancel} button")))
            .await?
            .click()
            .await?;
        // The flash of the move is on the page until the cancellation's page
        // comes (it asks the worker for the release first): wait for its words.
        let flash = text_with(&c, "#flash", "cancelada de vez").await;
        assert!(flash.contains("cancelada de vez"), "{flash}");
        let waiting = text(&c, "#waiting").await;
        assert!(waiting.contains(&first.1), "{waiting}");
        shot(&c, &shots, "agenda-4-cancelled-phone.png").await;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    let _ = std::fs::remove_dir_all(&profile);
    result.expect("the browser walk");
    eprintln!("agenda screenshots in {}", shots.display());
}

/// The text of `css` once it contains `needle` (at most 10 s; then the text
/// last seen, for the assertion to show).
async fn text_with(c: &Client, css: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let t = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if t.contains(needle) || std::time::Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
