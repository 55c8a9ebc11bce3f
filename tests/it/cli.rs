//! The binary as a newcomer uses it: `serve` with no configuration at all, then
//! `call` with scripted answers and as a person typing at the terminal.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BIN;

struct Server {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The admin token `serve` is started with; `call` uses it to fetch the SMS.
const ADMIN_TOKEN: &str = "cli-test-admin-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ozmap-ivr serve` in an empty folder with only the port set; waits until it answers.
fn serve() -> Server {
    serve_with(&[])
}

/// `serve` with a few variables set besides the port.
fn serve_with(env: &[(&str, &str)]) -> Server {
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-cli-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .current_dir(&dir)
        .env("IVR_BIND", format!("127.0.0.1:{port}"))
        .env("IVR_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.envs(env.iter().copied());
    for var in [
        "OZMAP_URL",
        "OZMAP_TOKEN",
        "IVR_DATABASE_URL",
        "GEOCODER",
        "TWILIO_AUTH_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut said_sandbox = false;
    loop {
        while let Ok(line) = rx.try_recv() {
            said_sandbox |= line.contains("built-in sandbox");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && said_sandbox {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not start (sandbox announced: {said_sandbox})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dir.join("ozmap-ivr.db").exists(),
        "the SQLite store is created in the working folder"
    );
    Server {
        child,
        url,
        _dir: TempDir(dir),
    }
}

#[test]
fn serve_with_no_configuration_and_the_short_call_of_a_client_the_directory_knows() {
    let server = serve();
    let out = Command::new(BIN)
        .args(["call", &format!("{}/voice", server.url), "--no-pause"])
        .args(["--answer", "keys:123*123", "--answer", "keys:1"])
        .args(["--answer", "keys:1", "--answer", "keys:1"])
        .env_remove("TWILIO_AUTH_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // The built-in agenda (SCHEDULE's default): the first period is booked.
    assert!(
        stdout.contains("A visita do técnico está agendada para"),
        "{stdout}"
    );
    assert!(
        stdout.contains("A instalação é na Rua Delminda Silveira, 900, Agronômica"),
        "{stdout}"
    );
    assert!(!stdout.contains("diga o seu nome"), "{stdout}");
    assert!(
        stdout.contains("Reservamos a porta 3 da caixa CTO-AGR-01"),
        "{stdout}"
    );
}

#[test]
fn call_on_the_jambonz_platform_walks_the_json_verbs_to_the_reservation() {
    let server = serve();
    let out = Command::new(BIN)
        .args(["call", &format!("{}/jambonz", server.url), "--no-pause"])
        .args(["--platform", "jambonz"])
        .args(["--answer", "keys:123*123", "--answer", "keys:1"])
        .args(["--answer", "keys:1"])
        .env_remove("TWILIO_AUTH_TOKEN")
        .env_remove("JAMBONZ_WEBHOOK_SECRET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("/jambonz?hook=answer"), "{stdout}");
    assert!(
        stdout.contains("Reservamos a porta 3 da caixa CTO-AGR-01"),
        "{stdout}"
    );
}

#[test]
fn serve_without_a_directory_and_a_scripted_call_to_a_read_back_port() {
    let server = serve_with(&[("CLIENT_DIRECTORY", "none")]);
    let out = Command::new(BIN)
        .args(["call", &format!("{}/voice", server.url), "--no-pause"])
        .args([
            "--answer",
            "keys:123*123",
            "--answer",
            "keys:1",
            "--answer",
            "say:Gabriel Marioto",
        ])
        .args([
            "--answer",
            "say:Rua Delminda Silveira, novecentos, Agronômica, Florianópolis",
            "--answer",
            "keys:1",
        ])
        .env_remove("TWILIO_AUTH_TOKEN")
        .env("IVR_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Reservamos a porta 3 da caixa CTO-AGR-01"),
        "{stdout}"
    );
    assert!(stdout.contains("POST /voice"), "latency lines: {stdout}");
    // the outcome in writing, with the protocol the caller heard
    assert!(stdout.contains("✉ SMS (sent)"), "{stdout}");
    assert!(stdout.contains("Protocolo 20"), "{stdout}");
    assert!(
        !stdout.contains("+5548999990000"),
        "the number is masked: {stdout}"
    );
}

#[test]
fn a_person_at_the_terminal_answers_line_by_line() {
    let server = serve();
    let mut child = Command::new(BIN)
        .args(["call", &format!("{}/voice", server.url), "--no-pause"])
        .env_remove("TWILIO_AUTH_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all("456\n1\n400*1\n1\n1\n".as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("O código é 456"), "{stdout}");
    // not a client of the sandbox's directory: asked again
    assert!(stdout.contains("Não encontrei este código"), "{stdout}");
    assert!(
        stdout.contains("A instalação é na Rua Frei Caneca, 400"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Reservamos a porta 2 da caixa CTO-AGR-03"),
        "{stdout}"
    );
}

#[test]
fn a_call_to_nothing_fails_with_a_non_zero_exit() {
    let port = free_port();
    let out = Command::new(BIN)
        .args([
            "call",
            &format!("http://127.0.0.1:{port}/voice"),
            "--answer",
            "keys:1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_bad_setting_stops_the_start_naming_the_variable() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("OZMAP_URL", "https://tenant.ozmap.com.br:9994")
        .env_remove("OZMAP_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("OZMAP_TOKEN"));
}
