//! The client directory through the real service: a fake of the HTTP contract
//! on loopback (wiremock), and the sandbox's own directory in both dialects
//! (the contract and IXC Soft's), with the sandbox as OZmap.

use ivr_tools::caller::Answer;
use serde_json::{Value, json};
use std::time::Duration;
use test_support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DIRECTORY_TOKEN: &str = "erp-token-123";
const ADMIN: &str = "directory-admin-token-01234";
const NAME_QUESTION: &str = "diga o seu nome";
const ADDRESS_QUESTION: &str = "Diga o endereço";

/// R. Frei Caneca, 400: CTO-AGR-03 port 2 in the sandbox.
fn frei_caneca_400() -> Value {
    json!({"code": "555", "name": "MARIA DA SILVA (ERP)", "installation": {
        "street": "R. Frei Caneca", "number": "400", "neighbourhood": "Agronômica",
        "city": "Florianópolis", "state": "SC", "cep": "88025-200",
        "lat": -27.5742767, "lng": -48.5319578}})
}

async fn directory() -> MockServer {
    let erp = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/erp/clients/555"))
        .and(header(
            "authorization",
            format!("Bearer {DIRECTORY_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(frei_caneca_400()))
        .mount(&erp)
        .await;
    Mock::given(method("GET"))
        .and(path("/erp/clients/999"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "no"})))
        .mount(&erp)
        .await;
    erp
}

async fn with_directory(erp: &MockServer, extra: &[&str]) -> TestApp {
    let url = format!("--client-directory-url={}/erp", erp.uri());
    let token = format!("--client-directory-token={DIRECTORY_TOKEN}");
    let mut flags = vec![
        "--client-directory=http",
        url.as_str(),
        token.as_str(),
        "--admin-token=directory-admin-token-01234",
    ];
    flags.extend_from_slice(extra);
    TestApp::spawn(&flags).await
}

fn today_s_path(code: &str) -> Vec<Answer> {
    vec![
        keys(code),
        keys("1"),
        say("Ana Souza"),
        say("Rua Delminda Silveira, novecentos, Agronômica, Florianópolis"),
        keys("1"),
    ]
}

async fn metrics(app: &TestApp) -> String {
    reqwest::Client::new()
        .get(format!("{}/metrics", app.base_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_known_code_is_reserved_with_no_name_or_address_question_at_the_directory_s_coordinates()
{
    let erp = directory().await;
    let app = with_directory(&erp, &[]).await;
    let report = app.call(vec![keys("555"), keys("1"), keys("1")]).await;
    let text = heard(&report);
    assert!(
        text.contains("A instalação é na Rua Frei Caneca, 400, Agronômica, Florianópolis"),
        "{text}"
    );
    assert!(
        !text.contains(NAME_QUESTION) && !text.contains(ADDRESS_QUESTION),
        "{text}"
    );
    assert!(text.contains("porta 2 da caixa CTO-AGR-03"), "{text}");
    // the ERP's spelling of the name, the directory's coordinates
    assert_eq!(
        app.sandbox.clients(),
        vec![("555".to_string(), Some("MARIA DA SILVA (ERP)".to_string()))]
    );
    let p = &app.sandbox.properties()[0];
    assert!(
        (p["lat"].as_f64().unwrap() + 27.574_276_7).abs() < 1e-6,
        "{p}"
    );
    assert!(
        (p["lng"].as_f64().unwrap() + 48.531_957_8).abs() < 1e-6,
        "{p}"
    );
    // the request carried the bearer token (the mock matches on it)
    let asked = erp.received_requests().await.unwrap();
    assert_eq!(asked.len(), 1);
    assert!(
        metrics(&app)
            .await
            .contains("ozmap_ivr_directory_lookups_total{outcome=\"known\"} 1")
    );
}

#[tokio::test]
async fn an_unknown_code_is_told_asked_again_and_nothing_is_reserved_for_it() {
    let erp = directory().await;
    let app = with_directory(&erp, &[]).await;
    // unknown, then a known one
    let report = app
        .call(vec![
            keys("999"),
            keys("1"),
            keys("555"),
            keys("1"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert!(text.contains("Não encontrei este código"), "{text}");
    assert_eq!(app.sandbox.clients().len(), 1);
    assert_eq!(app.sandbox.clients()[0].0, "555");
    // unknown until the limit: goodbye (no person configured), nothing reserved
    let report = app
        .call(vec![
            keys("999"),
            keys("1"),
            keys("999"),
            keys("1"),
            keys("999"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert_eq!(
        text.matches("Não encontrei este código").count(),
        3,
        "{text}"
    );
    assert!(!text.contains(NAME_QUESTION), "{text}");
    assert_eq!(app.sandbox.property_posts(), 1);
    // unknown codes are not kept: each was asked
    let asked_999 = erp
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/erp/clients/999")
        .count();
    assert_eq!(asked_999, 4);
}

#[tokio::test]
async fn a_directory_failing_in_any_way_leaves_the_call_on_today_s_path() {
    let failures = [
        ("error", ResponseTemplate::new(500)),
        (
            "malformed",
            ResponseTemplate::new(200).set_body_string("<html>oops</html>"),
        ),
        ("refused", ResponseTemplate::new(401)),
        (
            "timeout",
            ResponseTemplate::new(200)
                .set_body_json(frei_caneca_400())
                .set_delay(Duration::from_millis(4_000)),
        ),
    ];
    // The timeout is long enough that a loaded machine still gets the other
    // answers in time (each failure counts under its own label).
    for (outcome, answer) in failures {
        let erp = MockServer::start().await;
        Mock::given(path("/erp/clients/321"))
            .respond_with(answer)
            .mount(&erp)
            .await;
        let app = with_directory(&erp, &["--client-directory-timeout-ms=1500"]).await;
        let report = app.call(today_s_path("321")).await;
        let text = heard(&report);
        assert!(text.contains(NAME_QUESTION), "{outcome}: {text}");
        assert!(
            text.contains("Reservamos a porta 3 da caixa CTO-AGR-01"),
            "{outcome}: {text}"
        );
        assert_eq!(
            app.sandbox.clients(),
            vec![("321".to_string(), Some("Ana Souza".to_string()))],
            "{outcome}"
        );
        let m = metrics(&app).await;
        assert!(
            m.contains(&format!(
                "ozmap_ivr_directory_lookups_total{{outcome=\"{outcome}\"}} 1"
            )),
            "{outcome}: {m}"
        );
    }
}

#[tokio::test]
async fn a_directory_slower_than_the_step_budget_holds_the_caller_then_confirms() {
    let erp = MockServer::start().await;
    Mock::given(path("/erp/clients/555"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(frei_caneca_400())
                .set_delay(Duration::from_millis(700)),
        )
        .mount(&erp)
        .await;
    let app = with_directory(&erp, &["--step-budget-ms=200"]).await;
    let report = app.call(vec![keys("555"), keys("1"), keys("1")]).await;
    let text = heard(&report);
    assert!(text.contains("estou consultando o seu cadastro"), "{text}");
    assert!(text.contains("A instalação é na Rua Frei Caneca"), "{text}");
    assert!(text.contains("porta 2 da caixa CTO-AGR-03"), "{text}");
    assert_eq!(erp.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_known_client_without_coordinates_is_geocoded_and_another_address_can_be_given() {
    // The sandbox's own directory (the contract): 400|1 has no coordinates.
    let sandbox = start_sandbox().await;
    let url = format!(
        "--client-directory-url={}/directory",
        sandbox.base_url().trim_end_matches("/api/v2")
    );
    let token = format!("--client-directory-token={TOKEN}");
    let app = TestApp::spawn_with(
        sandbox,
        TestDb::sqlite(),
        &["--client-directory=http", &url, &token],
    )
    .await;
    let report = app.call(vec![keys("400*1"), keys("1"), keys("1")]).await;
    let text = heard(&report);
    assert!(
        text.contains("A instalação é na Rua Frei Caneca, 400"),
        "{text}"
    );
    // no second read-back after the geocoder
    assert!(!text.contains("O endereço é"), "{text}");
    assert!(text.contains("porta 2 da caixa CTO-AGR-03"), "{text}");
    assert_eq!(
        app.sandbox.clients()[0].1.as_deref(),
        Some("Maria Aparecida de Souza")
    );
    // 2: the address is asked as today, the name stays the directory's
    let report = app
        .call(vec![
            keys("123*123"),
            keys("1"),
            keys("2"),
            say("Rua Rui Barbosa, duzentos e cinquenta, Agronômica"),
            keys("1"),
        ])
        .await;
    let text = heard(&report);
    assert!(
        text.contains("vamos informar o endereço da instalação"),
        "{text}"
    );
    assert!(!text.contains(NAME_QUESTION), "{text}");
    assert!(text.contains("porta 2 da caixa CTO-AGR-05"), "{text}");
    assert_eq!(
        app.sandbox.clients()[1].1.as_deref(),
        Some("Gabriel Marioto")
    );
}

#[tokio::test]
async fn ixc_through_the_sandbox_s_webservice() {
    let sandbox = start_sandbox().await;
    let url = format!(
        "--client-directory-url={}",
        sandbox.base_url().trim_end_matches("/api/v2")
    );
    let token = format!("--client-directory-token=7:{TOKEN}");
    let app = TestApp::spawn_with(
        sandbox,
        TestDb::sqlite(),
        &["--client-directory=ixc", &url, &token],
    )
    .await;
    let report = app.call(vec![keys("250*1"), keys("1"), keys("1")]).await;
    let text = heard(&report);
    assert!(
        text.contains("A instalação é na Rua Rui Barbosa, 250, apartamento 102, Agronômica"),
        "{text}"
    );
    assert!(text.contains("porta 2 da caixa CTO-AGR-05"), "{text}");
    assert_eq!(
        app.sandbox.clients(),
        vec![("250|1".to_string(), Some("João Pedro Martins".to_string()))]
    );
    // a contract that is not the client's: unknown
    let report = app
        .call(vec![
            keys("250*9"),
            keys("1"),
            silence(),
            silence(),
            silence(),
        ])
        .await;
    assert!(heard(&report).contains("Não encontrei este código"));
    // a wrong IXC token: refused, the call goes on as today
    let sandbox = start_sandbox().await;
    let url = format!(
        "--client-directory-url={}",
        sandbox.base_url().trim_end_matches("/api/v2")
    );
    let app = TestApp::spawn_with(
        sandbox,
        TestDb::sqlite(),
        &[
            "--client-directory=ixc",
            &url,
            "--client-directory-token=7:wrong",
        ],
    )
    .await;
    let report = app.call(today_s_path("250*1")).await;
    assert!(heard(&report).contains(NAME_QUESTION));
    assert_eq!(app.sandbox.clients()[0].1.as_deref(), Some("Ana Souza"));
}

/// The example server of docs/client-directory.md, as an ISP would start it.
#[tokio::test]
async fn the_documented_example_server_is_a_working_directory() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/examples/client_directory_server.py"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .arg(script)
        .arg(format!("127.0.0.1:{port}"))
        .env("CLIENT_DIRECTORY_TOKEN", DIRECTORY_TOKEN)
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
    let url = format!("--client-directory-url=http://127.0.0.1:{port}");
    let token = format!("--client-directory-token={DIRECTORY_TOKEN}");
    let app = TestApp::spawn(&["--client-directory=http", &url, &token]).await;
    let report = app.call(vec![keys("123*123"), keys("1"), keys("1")]).await;
    let text = heard(&report);
    let unknown = app
        .call(vec![keys("5"), keys("1"), silence(), silence(), silence()])
        .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        text.contains("A instalação é na Rua Delminda Silveira, 900"),
        "{text}"
    );
    assert!(
        text.contains("Reservamos a porta 3 da caixa CTO-AGR-01"),
        "{text}"
    );
    assert!(heard(&unknown).contains("Não encontrei este código"));
}
