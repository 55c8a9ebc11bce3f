//! After a call: the SMS the service sent with the call's protocol, fetched
//! from its `/admin/messages` (behind the admin token) and printed, so a person
//! trying the service from a terminal sees the outcome in writing too.

use super::report::CallReport;
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};
use url::Url;

/// Digit runs of 10 to 20 said in the call: its protocol numbers.
pub(super) fn protocols_heard(report: &CallReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in report.said() {
        for run in text.split(|c: char| !c.is_ascii_digit()) {
            if (10..=20).contains(&run.len()) && !out.iter().any(|p| p == run) {
                out.push(run.to_string());
            }
        }
    }
    out
}

/// The messages (JSON from `/admin/messages`) whose protocol is one of `protocols`.
pub(super) fn matching(messages: &serde_json::Value, protocols: &[String]) -> Vec<String> {
    messages
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["protocol"]
                .as_str()
                .is_some_and(|p| protocols.iter().any(|q| q == p))
        })
        .map(|m| {
            format!(
                "✉ SMS ({}) to {}: {}",
                m["status"].as_str().unwrap_or("?"),
                m["phone"].as_str().unwrap_or("?"),
                m["body"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Whether every message of `protocols` has left the sender's hands (neither
/// waiting nor being sent).
fn settled(messages: &serde_json::Value, protocols: &[String]) -> bool {
    messages
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["protocol"]
                .as_str()
                .is_some_and(|p| protocols.iter().any(|q| q == p))
        })
        .all(|m| !matches!(m["status"].as_str(), Some("pending" | "sending")))
}

/// Waits up to `wait` for the SMS of this call to be sent (or given up) and
/// prints it.
pub(super) async fn print_messages(
    voice_url: &str,
    token: &SecretString,
    report: &CallReport,
    wait: Duration,
) {
    let protocols = protocols_heard(report);
    if protocols.is_empty() {
        println!("(no protocol was heard, so no SMS to look for)");
        return;
    }
    let Some(url) = Url::parse(voice_url)
        .ok()
        .and_then(|u| u.join("/admin/messages?channel=sms&limit=200").ok())
    else {
        return;
    };
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let got = http
            .get(url.clone())
            .bearer_auth(token.expose_secret())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match got {
            Ok(r) if r.status().is_success() => {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    let lines = matching(&v, &protocols);
                    // Printed once the sender has settled it (sent or given
                    // up), or as it stands when the wait runs out.
                    if !lines.is_empty() && (settled(&v, &protocols) || started.elapsed() >= wait) {
                        lines.iter().for_each(|l| println!("{l}"));
                        return;
                    }
                }
            }
            Ok(r) => {
                println!("(the SMS could not be fetched: HTTP {})", r.status());
                return;
            }
            Err(_) => {
                println!("(the SMS could not be fetched: the service did not answer)");
                return;
            }
        }
        if started.elapsed() >= wait {
            println!(
                "(no SMS yet for protocol {}; see `ozmap-ivr messages list`)",
                protocols.join(", ")
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{CallEnd, CallEvent};
    use serde_json::json;

    #[test]
    fn the_protocol_is_found_in_what_was_said_and_its_sms_picked() {
        let report = CallReport {
            call_sid: "CA1".into(),
            events: vec![
                CallEvent::Say("O número do seu protocolo é 2026120100000042.".into()),
                CallEvent::Say("Porta 3 da caixa CTO-1.".into()),
            ],
            end: CallEnd::Hangup,
            requests: 3,
        };
        let p = protocols_heard(&report);
        assert_eq!(p, ["2026120100000042"]);
        let list = json!([
            {"protocol": "2026120100000041", "status": "sent", "phone": "…01", "body": "other"},
            {"protocol": "2026120100000042", "status": "sent", "phone": "…00", "body": "Reservamos"}
        ]);
        assert_eq!(matching(&list, &p), ["✉ SMS (sent) to …00: Reservamos"]);
        assert!(matching(&json!({"error": "x"}), &p).is_empty());
    }

    #[test]
    fn a_message_still_with_the_sender_is_not_settled() {
        let p = vec!["2026120100000042".to_string()];
        let with = |status: &str| {
            json!([
                {"protocol": "2026120100000041", "status": "pending"},
                {"protocol": "2026120100000042", "status": status}
            ])
        };
        assert!(!settled(&with("pending"), &p));
        assert!(!settled(&with("sending"), &p));
        assert!(settled(&with("sent"), &p));
        assert!(settled(&with("dead"), &p));
    }
}
