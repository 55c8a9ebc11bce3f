//! `ozmap-ivr call`: the executor in a terminal, with a person (or a script of
//! `--answer`s) as the caller, printing a readable transcript.
//!
//! The transcript is the command's output for the person at the keyboard, so it
//! shows what was said and typed; nothing of it goes to the logs.

use std::io::{BufRead, Write};
use std::time::Duration;

use secrecy::SecretString;

use super::answer::parse_answer;
use super::{Answer, Answerer, CallEvent, Caller, CallerOptions, GatherPrompt, Platform, Scripted};

/// Call the IVR from the terminal.
/// What `--no-pause` keeps of each `<Pause>`.
const NO_PAUSE_SCALE: f64 = 0.05;

#[derive(clap::Args)]
pub struct CallArgs {
    /// The voice URL where the call starts (with `--platform jambonz`, the
    /// default is `http://127.0.0.1:8080/jambonz`).
    #[arg(default_value = "http://127.0.0.1:8080/voice")]
    pub url: String,
    /// The platform played: `twiml` (Twilio, SignalWire, Telnyx) or `jambonz`
    /// (JSON verbs, JSON hook bodies).
    #[arg(long, default_value = "twiml", value_parser = ["twiml", "jambonz"])]
    pub platform: String,
    /// With `--platform jambonz`: signs every request with `Jambonz-Signature`.
    /// Secret.
    #[arg(long, env = "JAMBONZ_WEBHOOK_SECRET", hide_env_values = true)]
    pub jambonz_secret: Option<String>,
    /// A scripted answer, in order, one per Gather: `keys:123#`, `say:Gabriel`,
    /// `silence`, or bare keys/words. Without any, you answer interactively.
    #[arg(long = "answer", value_name = "ANSWER")]
    pub answers: Vec<String>,
    /// The caller's number (`From`).
    #[arg(long, default_value = "+5548999990000")]
    pub from: String,
    /// The number called (`To`).
    #[arg(long, default_value = "+554833334444")]
    pub to: String,
    /// The CallSid to use (default: a random `CA…`).
    #[arg(long)]
    pub call_sid: Option<String>,
    /// Sleep a twentieth of each `<Pause>`: a rehearsal runs fast, and a hold's
    /// polls still leave the service time to finish (a `<Pause>` of 2 s is 0.1 s).
    #[arg(long)]
    pub no_pause: bool,
    /// Signs every request with `X-Twilio-Signature`. Secret.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// POSTed with `CallStatus=completed` when the call ends.
    #[arg(long)]
    pub status_callback: Option<String>,
    /// Stop after this many requests (a redirect loop).
    #[arg(long, default_value_t = 200)]
    pub max_requests: usize,
    /// Per-request timeout in seconds (the platform allows 15).
    #[arg(long, default_value_t = 15)]
    pub timeout_s: u64,
    /// The service's admin token: after the call, the SMS sent with its
    /// protocol is fetched from `/admin/messages` and printed. Secret.
    #[arg(long, env = "IVR_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seconds to wait for that SMS after the call ends.
    #[arg(long, default_value_t = 10)]
    pub sms_wait_s: u64,
}

/// Answers typed at the terminal: keys (`0-9*#`), words (speech), an empty line
/// (silence); `keys:`/`say:` prefixes also work. End of input is silence.
///
/// Reads stdin synchronously: fine for the one call a person places.
#[derive(Clone, Copy, Debug, Default)]
struct Terminal;

impl Answerer for Terminal {
    fn answer(&mut self, _g: &GatherPrompt) -> Answer {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "> ");
        let _ = out.flush();
        drop(out);
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => Answer::Silence,
            Ok(_) => parse_answer(&line),
        }
    }
}

/// Places the call and prints its transcript. Exit code 0 when the call ended
/// normally (hang up, transfer, reject, end of document), 1 on an error.
pub async fn run_cli(args: CallArgs) -> anyhow::Result<i32> {
    let voice_url = args.url.clone();
    let platform = if args.platform == "jambonz" {
        Platform::Jambonz {
            secret: args
                .jambonz_secret
                .filter(|s| !s.is_empty())
                .map(SecretString::from),
        }
    } else {
        Platform::Twiml
    };
    let url = match platform {
        Platform::Jambonz { .. } if args.url == "http://127.0.0.1:8080/voice" => {
            "http://127.0.0.1:8080/jambonz".to_string()
        }
        _ => args.url,
    };
    let opts = CallerOptions {
        platform,
        url,
        call_sid: args.call_sid,
        from: args.from,
        to: args.to,
        auth_token: args
            .auth_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
        pause_scale: if args.no_pause { NO_PAUSE_SCALE } else { 1.0 },
        max_requests: args.max_requests,
        request_timeout: Duration::from_secs(args.timeout_s.max(1)),
        status_callback: args.status_callback,
        ..CallerOptions::default()
    };
    let caller = match Caller::new(opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    let mut print = |e: &CallEvent| {
        let mut out = std::io::stdout().lock();
        for line in transcript(e) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    };
    let result = if args.answers.is_empty() {
        caller.run(&mut Terminal, &mut print).await
    } else {
        let mut script = Scripted::new(args.answers.iter().map(|a| parse_answer(a)).collect());
        caller.run(&mut script, &mut print).await
    };
    match result {
        Ok(report) => {
            println!(
                "call {} ended ({:?}) after {} requests",
                report.call_sid, report.end, report.requests
            );
            if let Some(token) = args.admin_token.filter(|t| !t.is_empty()) {
                let wait = Duration::from_secs(args.sms_wait_s);
                super::sms::print_messages(&voice_url, &SecretString::from(token), &report, wait)
                    .await;
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}

/// The transcript lines for one event.
pub(super) fn transcript(e: &CallEvent) -> Vec<String> {
    match e {
        CallEvent::Request {
            method,
            url,
            status,
            latency,
        } => vec![format!(
            "  [{method} {} {status} {:.1} ms]",
            path_and_query(url),
            latency.as_secs_f64() * 1000.0
        )],
        CallEvent::Say(text) => vec![format!("🔊 {text}")],
        CallEvent::Gather(g) => {
            let mut lines = Vec::new();
            if !g.prompt_text.is_empty() {
                lines.push(format!("🔊 {}", g.prompt_text));
            }
            let mut accepts = format!("⌨ gather: {}", g.input);
            if !g.finish_on_key.is_empty() && g.accepts_keys() {
                accepts.push_str(&format!(", finish {}", g.finish_on_key));
            }
            if let Some(n) = g.num_digits {
                accepts.push_str(&format!(", {n} digits"));
            }
            if let Some(t) = g.timeout {
                accepts.push_str(&format!(", timeout {t} s"));
            }
            if let Some(h) = g.hints.as_deref().filter(|h| !h.is_empty()) {
                accepts.push_str(&format!(", hints: {h}"));
            }
            lines.push(accepts);
            lines
        }
        CallEvent::Answered(a) => vec![match a {
            Answer::Keys(k) => format!("> keys {k}"),
            Answer::Speech(s) => format!("> say {s}"),
            Answer::Silence => "> (silence)".to_string(),
        }],
        CallEvent::Pause(s) => vec![format!("⏸ {s} s")],
        CallEvent::Redirect(u) => vec![format!("↪ redirect {}", path_and_query(u))],
        CallEvent::Play(u) => vec![format!("♪ play {u}")],
        CallEvent::Dial(n) => vec![format!("☎ transfer to {n}")],
        CallEvent::Hangup => vec!["✆ hang up".to_string()],
        CallEvent::Reject => vec!["✆ rejected".to_string()],
        CallEvent::DocumentEnd => vec!["✆ end of document (the platform hangs up)".to_string()],
        CallEvent::StatusCallback => vec!["  [status callback sent]".to_string()],
    }
}

fn path_and_query(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => url.to_string(),
    }
}
