//! The console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, `fantoccini`). It logs in, reads the counts of the calls it
//! walked, opens a dead letter, presses Retry and sees it done, logs out and
//! sees no data. Screenshots go to `target/tmp/console-screenshots/`.
//!
//! Where no Chromium or chromedriver is installed (`.ci/run` installs Debian's
//! `chromium` and `chromium-driver`), the test says so and passes.

use crate::console_walks::{ADMIN, app, tutorial, walk, walk_three};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// chromedriver, killed with the test.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

pub(crate) async fn start_driver(chromedriver: &Path) -> Result<(Driver, String), String> {
    let port = test_support::proc::free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", chromedriver.display()))?;
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            return Err("chromedriver did not listen within 15 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((driver, format!("http://127.0.0.1:{port}")))
}

/// Chromium and a running chromedriver for the test `name`: `None` where
/// either is missing (said on stderr; the test then passes as skipped).
pub(crate) async fn chromium(name: &str) -> Option<(PathBuf, Driver, String)> {
    let (Some(chromium), Some(chromedriver)) = (
        find(
            "CHROME",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        ),
        find("CHROMEDRIVER", &["/usr/bin/chromedriver"]),
    ) else {
        eprintln!(
            "SKIPPED {name}: no Chromium or chromedriver \
             (apt-get install chromium chromium-driver, or set CHROME and CHROMEDRIVER)"
        );
        return None;
    };
    match start_driver(&chromedriver).await {
        Ok((driver, webdriver)) => Some((chromium, driver, webdriver)),
        Err(why) => {
            eprintln!("SKIPPED {name}: {why}");
            None
        }
    }
}

pub(crate) async fn browser(
    webdriver: &str,
    chromium: &Path,
    profile: &Path,
) -> Result<Client, String> {
    browser_sized(webdriver, chromium, profile, "1100,2200", &[]).await
}

/// A headless Chromium session with its window `size` (`W,H`) and `extra`
/// switches.
pub(crate) async fn browser_sized(
    webdriver: &str,
    chromium: &Path,
    profile: &Path,
    size: &str,
    extra: &[&str],
) -> Result<Client, String> {
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--window-size={size}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let caps = json!({
        "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args }
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(webdriver)
        .await
        .map_err(|e| format!("no browser session: {e}"))
}

/// The text of `css`, once the page shows it (a click's navigation may still
/// be on its way).
pub(crate) async fn text(c: &Client, css: &str) -> String {
    let found = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await;
    match found {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(e) => {
            let page = c.source().await.unwrap_or_default();
            panic!("{css} not on the page: {e}\n{page}")
        }
    }
}

/// The element with this id, once the page shows it.
pub(crate) async fn by_id(
    c: &Client,
    id: &str,
) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
}

pub(crate) async fn shot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(name), png).expect("write the screenshot");
}

#[tokio::test]
async fn an_operator_walks_the_console_in_chromium() {
    let Some((chromium, _driver, webdriver)) =
        chromium("an_operator_walks_the_console_in_chromium").await
    else {
        return;
    };
    let profile = tempdir("chromium-profile");
    let c = browser(&webdriver, &chromium, &profile)
        .await
        .expect("chromedriver runs but starts no Chromium");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    // Three calls, then a fourth whose reservation OZmap refuses (a dead letter).
    let app = app().await;
    walk_three(&app).await;
    app.sandbox.faults().set_fail_status(Some(401));
    walk(&app, tutorial("456*456")).await;
    app.sandbox.faults().set_fail_status(None);
    let dead = wait_dead(&app).await;
    let console = format!("{}/console", app.base_url);

    let result = async {
        // Logged out: the login form only.
        c.goto(&console).await?;
        by_id(&c, "token").await?.send_keys(ADMIN).await?;
        by_id(&c, "login-button").await?.click().await?;
        // The counts of the calls walked.
        assert_eq!(text(&c, "#today-calls").await, "4");
        assert_eq!(text(&c, "#today-reserved").await, "1");
        assert_eq!(text(&c, "#today-transferred").await, "1");
        assert_eq!(text(&c, "#today-abandoned").await, "1");
        assert_eq!(text(&c, "#week-calls").await, "4");
        assert!(
            c.find(Locator::Css("#funnel-chart g[data-step=ask_code]"))
                .await
                .is_ok()
        );
        shot(&c, &shots, "1-dashboard.png").await;
        // The same page on a phone's width: one column, nothing cut off.
        c.set_window_size(390, 2400).await?;
        let width: Value = c
            .execute("return document.documentElement.scrollWidth", vec![])
            .await?;
        assert!(
            width.as_i64().unwrap_or(9999) <= 400,
            "wider than a phone: {width}"
        );
        shot(&c, &shots, "1-phone.png").await;
        c.set_window_size(1100, 2200).await?;

        // The dead letter: its detail, Retry, and the worker makes it.
        by_id(&c, &format!("open-{dead}")).await?.click().await?;
        assert_eq!(
            text(&c, "#detail-status").await,
            "parada (precisa de operador)"
        );
        shot(&c, &shots, "2-dead-letter.png").await;
        by_id(&c, "retry").await?.click().await?;
        assert!(
            text(&c, "#flash")
                .await
                .contains("enviada de novo para reserva")
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = text(&c, "#detail-status").await;
            if status == "concluída" {
                break;
            }
            assert!(Instant::now() < deadline, "still {status} after the retry");
            tokio::time::sleep(Duration::from_millis(300)).await;
            c.refresh().await?;
        }
        shot(&c, &shots, "3-retried.png").await;

        // The data subjects' page: from the header's link, on a desktop and
        // a phone; export's and erase's buttons; erase asks first.
        by_id(&c, "privacy-link").await?.click().await?;
        by_id(&c, "phone").await?.send_keys("48 99123-4567").await?;
        shot(&c, &shots, "5-privacy.png").await;
        by_id(&c, "erase").await?.click().await?;
        by_id(&c, "erase-confirm").await?;
        shot(&c, &shots, "5-privacy-confirm.png").await;
        c.set_window_size(390, 1200).await?;
        let width: Value = c
            .execute("return document.documentElement.scrollWidth", vec![])
            .await?;
        assert!(
            width.as_i64().unwrap_or(9999) <= 400,
            "the privacy page is wider than a phone: {width}"
        );
        shot(&c, &shots, "5-privacy-phone.png").await;
        by_id(&c, "erase-confirm").await?.click().await?;
        let done = text(&c, "#privacy-done").await;
        assert!(done.contains("Continua no OZmap"), "{done}");
        shot(&c, &shots, "5-privacy-erased-phone.png").await;
        c.set_window_size(1100, 2200).await?;
        by_id(&c, "back").await?.click().await?;

        // Logged out: no data, even when going back to the page.
        by_id(&c, "logout").await?.click().await?;
        by_id(&c, "token").await?;
        c.goto(&console).await?;
        let page = c.source().await?;
        assert!(page.contains("name=\"token\""));
        for data in ["today-calls", "123|123", "Gabriel", "CTO-AGR"] {
            assert!(!page.contains(data), "{data} after logout");
        }
        shot(&c, &shots, "4-logged-out.png").await;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    let _ = std::fs::remove_dir_all(&profile);
    result.expect("the browser walk");
    eprintln!("console screenshots in {}", shots.display());
}

/// The id of the dead letter, once the worker has given up on it.
async fn wait_dead(app: &test_support::TestApp) -> i64 {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<Value> = http
            .get(format!("{}/admin/reservations?status=dead", app.base_url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(id) = rows.first().and_then(|r| r["id"].as_i64()) {
            return id;
        }
        if Instant::now() > deadline {
            let all = http
                .get(format!("{}/admin/reservations", app.base_url))
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            panic!("no dead letter: {all}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-{name}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
