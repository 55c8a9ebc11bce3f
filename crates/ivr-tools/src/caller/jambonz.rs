//! jambonz's side of a call: its JSON verbs read into the steps the executor
//! runs, and each request as jambonz posts it (a JSON body with `call_sid`,
//! `from`, `to`, `call_status`, a gather's `reason`/`speech`/`digits`, a dial's
//! `dial_call_status`), signed with `Jambonz-Signature` when a secret is set.

use serde_json::{Value, json};
use url::Url;

use super::document::{GatherStep, Method, Step, resolve};
use super::{CallError, GatherPrompt};

fn malformed(url: &Url, reason: impl Into<String>) -> CallError {
    CallError::MalformedXml {
        url: url.to_string(),
        reason: format!("jambonz verbs: {}", reason.into()),
    }
}

fn hook(v: &Value, url: &Url) -> Result<Url, CallError> {
    let target = v["actionHook"]
        .as_str()
        .ok_or_else(|| malformed(url, "an actionHook that is not a URL"))?;
    resolve(url, target)
}

/// One answer (a JSON array of verbs) as steps; `config` sets nothing here.
pub(super) fn parse(body: &str, url: &Url) -> Result<Vec<Step>, CallError> {
    let verbs: Vec<Value> =
        serde_json::from_str(body).map_err(|e| malformed(url, format!("not an array: {e}")))?;
    let mut steps = Vec::new();
    for v in &verbs {
        let name = v["verb"].as_str().unwrap_or("");
        match name {
            "config" => {}
            "say" => steps.push(Step::Say(v["text"].as_str().unwrap_or("").to_string())),
            "pause" => steps.push(Step::Pause(v["length"].as_u64().unwrap_or(1) as u32)),
            "redirect" => steps.push(Step::Redirect {
                url: hook(v, url)?,
                method: Method::Post,
            }),
            "hangup" => steps.push(Step::Hangup),
            "dial" => {
                let number = v["target"][0]["number"].as_str().unwrap_or("").to_string();
                let action = match v.get("actionHook") {
                    Some(_) => Some((hook(v, url)?, Method::Post)),
                    None => None,
                };
                steps.push(Step::Dial { number, action });
            }
            "gather" => {
                let action = hook(v, url)?;
                let input: Vec<&str> = v["input"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let input = input
                    .iter()
                    .map(|i| if *i == "digits" { "dtmf" } else { *i })
                    .collect::<Vec<_>>()
                    .join(" ");
                let hints = v["recognizer"]["hints"].as_array().map(|h| {
                    h.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                });
                let num_digits = v["numDigits"]
                    .as_u64()
                    .or_else(|| v["maxDigits"].as_u64())
                    .map(|n| n as u32);
                let prompt = GatherPrompt {
                    input,
                    num_digits,
                    finish_on_key: v["finishOnKey"].as_str().unwrap_or("").to_string(),
                    timeout: v["timeout"].as_u64().map(|t| t as u32),
                    hints,
                    prompt_text: v["say"]["text"].as_str().unwrap_or("").to_string(),
                    action: action.to_string(),
                };
                steps.push(Step::Gather(GatherStep {
                    prompt,
                    nested: Vec::new(),
                    action,
                    method: Method::Post,
                    // jambonz posts a gather's result whatever happened.
                    action_on_empty_result: true,
                }));
            }
            other => {
                return Err(malformed(
                    url,
                    format!("a verb this caller does not run: {other}"),
                ));
            }
        }
    }
    Ok(steps)
}

/// A request's JSON body: the call's fields, then what the executor adds in
/// TwiML's names (`Digits`, `SpeechResult`, `Confidence`, `DialCallStatus`)
/// in jambonz's.
pub(super) fn body(base: &[(String, String)], extra: &[(String, String)]) -> Vec<u8> {
    let get = |k: &str| {
        base.iter()
            .chain(extra)
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let status = match get("CallStatus") {
        Some("ringing") => "trying",
        Some(s) => s,
        None => "in-progress",
    };
    let mut b = json!({
        "call_sid": get("CallSid").unwrap_or(""),
        "account_sid": get("AccountSid").unwrap_or(""),
        "from": get("From").unwrap_or(""),
        "to": get("To").unwrap_or(""),
        "direction": "inbound",
        "call_status": status,
    });
    let asked = extra
        .iter()
        .any(|(k, _)| k == "Digits" || k == "SpeechResult");
    if let Some(words) = get("SpeechResult").filter(|w| !w.is_empty()) {
        let confidence: f64 = get("Confidence")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0.9);
        b["reason"] = json!("speechDetected");
        b["speech"] = json!({"is_final": true,
            "alternatives": [{"transcript": words, "confidence": confidence}]});
    } else if let Some(digits) = get("Digits").filter(|d| !d.is_empty()) {
        b["reason"] = json!("dtmfDetected");
        b["digits"] = json!(digits);
    } else if asked {
        b["reason"] = json!("timeout");
    }
    if let Some(s) = get("DialCallStatus") {
        b["dial_call_status"] = json!(s);
    }
    serde_json::to_vec(&b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn the_service_s_verbs_read_as_steps() {
        let url = Url::parse("http://127.0.0.1:8080/jambonz").unwrap();
        let doc = r##"[{"verb":"config","recognizer":{"vendor":"default"}},
            {"verb":"gather","input":["digits","speech"],"actionHook":"http://127.0.0.1:8080/jambonz?hook=answer&seq=1",
             "finishOnKey":"#","minDigits":1,"timeout":7,"say":{"text":"Digite o código"}},
            {"verb":"dial","actionHook":"/jambonz?hook=dial&seq=2","target":[{"type":"phone","number":"+55"}]}]"##;
        let steps = parse(doc, &url).unwrap();
        assert_eq!(steps.len(), 2);
        let Step::Gather(g) = &steps[0] else {
            panic!("{steps:?}")
        };
        assert!(g.prompt.accepts_keys() && g.prompt.accepts_speech());
        assert_eq!(g.prompt.finish_on_key, "#");
        assert_eq!(g.prompt.prompt_text, "Digite o código");
        assert!(g.action.as_str().ends_with("hook=answer&seq=1"));
        assert!(matches!(&steps[1], Step::Dial { number, action: Some(_) } if number == "+55"));
        assert!(parse(r#"[{"verb":"play","url":"x"}]"#, &url).is_err());
        assert!(parse("<Response/>", &url).is_err());
    }

    #[test]
    fn answers_become_jambonz_bodies() {
        let base = [
            p("CallSid", "CA1"),
            p("From", "+5548"),
            p("CallStatus", "in-progress"),
        ];
        let v: Value =
            serde_json::from_slice(&body(&base, &[p("Digits", "123"), p("FinishedOnKey", "#")]))
                .unwrap();
        assert_eq!(
            (v["reason"].as_str(), v["digits"].as_str()),
            (Some("dtmfDetected"), Some("123"))
        );
        let v: Value = serde_json::from_slice(&body(
            &base,
            &[p("SpeechResult", "sim"), p("Confidence", "0.8")],
        ))
        .unwrap();
        assert_eq!(v["speech"]["alternatives"][0]["transcript"], "sim");
        let v: Value = serde_json::from_slice(&body(&base, &[p("Digits", "")])).unwrap();
        assert_eq!(v["reason"], "timeout");
        let v: Value =
            serde_json::from_slice(&body(&base, &[p("DialCallStatus", "completed")])).unwrap();
        assert_eq!(v["dial_call_status"], "completed");
        assert!(v.get("reason").is_none());
        let start = [p("CallSid", "CA1"), p("CallStatus", "ringing")];
        let v: Value = serde_json::from_slice(&body(&start, &[])).unwrap();
        assert_eq!(v["call_status"], "trying");
    }
}
