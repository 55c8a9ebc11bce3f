//! `ozmap-ivr chat [URL]`: be the WhatsApp client in the terminal, as `call`
//! is the caller. It signs each message as Meta does (`X-Hub-Signature-256`
//! with the app secret) and posts it to the service's `/whatsapp`, and it plays
//! the Graph API on `--graph-bind` so the replies land here: start the service
//! with `WHATSAPP_API_URL` pointing at it.
//!
//! A line is a text message; `location:LAT,LNG[,name]` shares a location;
//! `yes`/`no` after a question with buttons presses the button. `--say` gives
//! the lines in order (a rehearsal); after the last one, the chat waits for
//! the replies to stop (the pushed outcome included) and exits 0.

use super::notification::sign;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, clap::Args)]
pub struct ChatArgs {
    /// The service's WhatsApp route.
    #[arg(default_value = "http://127.0.0.1:8080/whatsapp")]
    pub url: String,
    /// The app secret the service checks signatures with.
    #[arg(long, env = "WHATSAPP_APP_SECRET", hide_env_values = true)]
    pub app_secret: String,
    /// The business number id the service answers for.
    #[arg(long, env = "WHATSAPP_PHONE_NUMBER_ID")]
    pub phone_number_id: String,
    /// The client's WhatsApp id (a number without `+`).
    #[arg(long, default_value = "5548999990000")]
    pub wa_id: String,
    /// Where the fake Graph API listens (the service's WHATSAPP_API_URL).
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub graph_bind: String,
    /// Messages to send in order, instead of reading the terminal.
    #[arg(long)]
    pub say: Vec<String>,
    /// Quiet time that ends the wait for replies, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub quiet_ms: u64,
    /// Longest wait for the replies to one message, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub wait_ms: u64,
}

type Inbox = Arc<Mutex<Vec<Value>>>;

async fn graph(body: web::Json<Value>, inbox: web::Data<Inbox>) -> HttpResponse {
    let mut inbox = inbox.lock().unwrap_or_else(|p| p.into_inner());
    inbox.push(body.into_inner());
    let id = format!("wamid.chat.out.{}", inbox.len());
    HttpResponse::Ok().json(json!({"messaging_product": "whatsapp", "messages": [{"id": id}]}))
}

/// Runs the chat; the exit code (0: every message was answered).
pub async fn run(args: ChatArgs) -> anyhow::Result<i32> {
    let inbox: Inbox = Arc::new(Mutex::new(Vec::new()));
    let data = web::Data::new(inbox.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/{version}/{number}/messages", web::post().to(graph))
    })
    .workers(1)
    .disable_signals()
    .bind(&args.graph_bind)
    .map_err(|e| anyhow::anyhow!("--graph-bind {}: {e}", args.graph_bind))?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    println!(
        "fake Graph API on http://{}: start the service with WHATSAPP_API_URL=http://{}",
        args.graph_bind, args.graph_bind
    );
    let client = reqwest::Client::new();
    let mut seen = 0;
    let mut n = 0usize;
    let mut unanswered = 0;
    let scripted = !args.say.is_empty();
    let lines: Box<dyn Iterator<Item = String>> = if scripted {
        Box::new(args.say.clone().into_iter())
    } else {
        Box::new(std::io::stdin().lock().lines().map_while(Result::ok))
    };
    // The service speaks only when written to: nothing to read before the first line.
    for line in lines {
        n += 1;
        let message = message(&args.wa_id, n, line.trim());
        println!("> {}", line.trim());
        let body = notification(&args.phone_number_id, &args.wa_id, message).to_string();
        let status = client
            .post(&args.url)
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                sign(args.app_secret.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.url))?
            .status();
        if !status.is_success() {
            anyhow::bail!("{} answered HTTP {}", args.url, status.as_u16());
        }
        let got = wait(&inbox, &mut seen, &args).await;
        if got == 0 {
            println!("(no reply)");
            unanswered += 1;
        }
    }
    handle.stop(true).await;
    Ok(if unanswered == 0 { 0 } else { 1 })
}

/// Prints the replies after `seen` until quiet; how many arrived.
async fn wait(inbox: &Inbox, seen: &mut usize, args: &ChatArgs) -> usize {
    let started = Instant::now();
    let mut last = Instant::now();
    let mut got = 0;
    loop {
        let new: Vec<Value> = {
            let inbox = inbox.lock().unwrap_or_else(|p| p.into_inner());
            inbox[*seen..].to_vec()
        };
        for v in &new {
            print_reply(v);
            got += 1;
            last = Instant::now();
        }
        *seen += new.len();
        let quiet = last.elapsed() >= Duration::from_millis(args.quiet_ms);
        if (got > 0 && quiet) || started.elapsed() >= Duration::from_millis(args.wait_ms) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn print_reply(v: &Value) {
    if let Some(text) = v["text"]["body"].as_str() {
        println!("💬 {text}");
    } else if let Some(text) = v["interactive"]["body"]["text"].as_str() {
        let buttons: Vec<String> = v["interactive"]["action"]["buttons"]
            .as_array()
            .map(|b| {
                b.iter()
                    .map(|b| {
                        format!(
                            "[{}: {}]",
                            b["reply"]["id"].as_str().unwrap_or("?"),
                            b["reply"]["title"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!("💬 {text} {}", buttons.join(" "));
    } else {
        println!("💬 (other message) {v}");
    }
}

/// One message as a client sends it.
fn message(wa_id: &str, n: usize, line: &str) -> Value {
    let id = format!("wamid.chat.{}.{n}", std::process::id());
    let base = |kind: &str| json!({"from": wa_id, "id": id, "timestamp": "0", "type": kind});
    if let Some(rest) = line.strip_prefix("location:") {
        let mut parts = rest.splitn(3, ',').map(str::trim);
        let lat = parts.next().and_then(|p| p.parse::<f64>().ok());
        let lng = parts.next().and_then(|p| p.parse::<f64>().ok());
        if let (Some(lat), Some(lng)) = (lat, lng) {
            let mut m = base("location");
            m["location"] = json!({"latitude": lat, "longitude": lng, "name": parts.next()});
            return m;
        }
    }
    if matches!(line, "yes" | "no") {
        let mut m = base("interactive");
        m["interactive"] =
            json!({"type": "button_reply", "button_reply": {"id": line, "title": line}});
        return m;
    }
    let mut m = base("text");
    m["text"] = json!({"body": line});
    m
}

fn notification(number_id: &str, wa_id: &str, message: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
    "field": "messages",
    "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "0", "phone_number_id": number_id},
        "contacts": [{"wa_id": wa_id}],
        "messages": [message],
    }}]}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_text_locations_and_buttons() {
        assert_eq!(message("1", 1, "oi")["text"]["body"], "oi");
        let l = message("1", 2, "location:-27.5,-48.5,Casa");
        assert_eq!(l["location"]["latitude"], -27.5);
        assert_eq!(l["location"]["name"], "Casa");
        assert_eq!(
            message("1", 3, "yes")["interactive"]["button_reply"]["id"],
            "yes"
        );
    }
}
