//! The executor against canned TwiML served by wiremock on 127.0.0.1.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::answer::parse_answer;
use super::*;

fn twiml(verbs: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><Response>{verbs}</Response>"#),
        "text/xml; charset=utf-8",
    )
}

async fn serve(server: &MockServer, m: &str, p: &str, verbs: &str) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(twiml(verbs))
        .mount(server)
        .await;
}

fn opts(server: &MockServer) -> CallerOptions {
    CallerOptions {
        url: format!("{}/voice", server.uri()),
        pause_scale: 0.0,
        request_timeout: Duration::from_secs(3),
        ..CallerOptions::default()
    }
}

async fn call(
    opts: CallerOptions,
    answers: Vec<Answer>,
) -> (Result<CallReport, CallError>, Vec<CallEvent>) {
    let caller = Caller::new(opts).expect("valid options");
    let mut script = Scripted::new(answers);
    let mut seen = Vec::new();
    let mut on_event = |e: &CallEvent| seen.push(e.clone());
    let result = caller.run(&mut script, &mut on_event).await;
    (result, seen)
}

fn form(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

fn field<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn received(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34
        && s.starts_with(prefix)
        && s[2..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[tokio::test]
async fn gather_keys_post_digits_without_the_finishing_key_to_the_relative_action() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r##"<Gather input="dtmf speech" action="voice/answer?step=code" finishOnKey="#" timeout="6" hints="um, dois" numDigits="10">
             <Say language="pt-BR">Digite o <say-as interpret-as="digits">12</say-as> código<break time="300ms"/>agora</Say>
           </Gather>
           <Redirect>/voice/silence</Redirect>"##,
    )
    .await;
    serve(
        &server,
        "POST",
        "/voice/answer",
        "<Say>Obrigado</Say><Hangup/>",
    )
    .await;

    let (report, events) = call(opts(&server), vec![Answer::Keys("123*123#".into())]).await;
    let report = report.expect("call ends");

    assert_eq!(report.end, CallEnd::Hangup);
    assert_eq!(report.requests, 2);
    assert_eq!(report.events, events, "on_event saw every event");
    assert_eq!(
        report.said(),
        [
            "Digite o 12 código agora".to_string(),
            "Obrigado".to_string()
        ]
    );
    let prompt = events
        .iter()
        .find_map(|e| match e {
            CallEvent::Gather(g) => Some(g.clone()),
            _ => None,
        })
        .expect("a gather event");
    assert_eq!(prompt.input, "dtmf speech");
    assert_eq!(prompt.finish_on_key, "#");
    assert_eq!(prompt.timeout, Some(6));
    assert_eq!(prompt.num_digits, Some(10));
    assert_eq!(prompt.hints.as_deref(), Some("um, dois"));
    assert_eq!(
        prompt.action,
        format!("{}/voice/answer?step=code", server.uri())
    );
    assert!(events.contains(&CallEvent::Answered(Answer::Keys("123*123#".into()))));

    let first = &received(&server, "/voice").await[0];
    let p1 = form(first);
    assert_eq!(
        first
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-www-form-urlencoded")
    );
    let sid = field(&p1, "CallSid").expect("CallSid");
    assert!(is_sid(sid, "CA"), "{sid}");
    assert_eq!(sid, report.call_sid);
    assert!(is_sid(field(&p1, "AccountSid").unwrap_or(""), "AC"));
    assert_eq!(field(&p1, "From"), Some("+5548999990000"));
    assert_eq!(field(&p1, "Caller"), Some("+5548999990000"));
    assert_eq!(field(&p1, "To"), Some("+554833334444"));
    assert_eq!(field(&p1, "Called"), Some("+554833334444"));
    assert_eq!(field(&p1, "CallStatus"), Some("ringing"));
    assert_eq!(field(&p1, "Direction"), Some("inbound"));
    assert_eq!(field(&p1, "ApiVersion"), Some("2010-04-01"));
    assert_eq!(field(&p1, "Digits"), None);

    let answer = &received(&server, "/voice/answer").await[0];
    assert_eq!(answer.url.query(), Some("step=code"));
    let p2 = form(answer);
    assert_eq!(field(&p2, "Digits"), Some("123*123"));
    assert_eq!(field(&p2, "FinishedOnKey"), Some("#"));
    assert_eq!(field(&p2, "CallSid"), Some(sid));
    assert_eq!(field(&p2, "CallStatus"), Some("in-progress"));
    assert_eq!(field(&p2, "SpeechResult"), None);
    assert!(received(&server, "/voice/silence").await.is_empty());
}

#[tokio::test]
async fn keys_stop_at_num_digits_and_at_the_first_finishing_key() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather numDigits="3" action="/a"/><Gather finishOnKey="*" action="/b"/>"#,
    )
    .await;
    serve(
        &server,
        "POST",
        "/a",
        r#"<Gather finishOnKey="*" action="/b"/>"#,
    )
    .await;
    serve(&server, "POST", "/b", "<Hangup/>").await;
    let (report, _) = call(
        opts(&server),
        vec![Answer::Keys("12345".into()), Answer::Keys("98*76#".into())],
    )
    .await;
    assert_eq!(report.expect("call ends").end, CallEnd::Hangup);
    let a = form(&received(&server, "/a").await[0]);
    assert_eq!(field(&a, "Digits"), Some("123"));
    assert_eq!(field(&a, "FinishedOnKey"), Some(""));
    let b = form(&received(&server, "/b").await[0]);
    assert_eq!(field(&b, "Digits"), Some("98"));
    assert_eq!(field(&b, "FinishedOnKey"), Some("*"));
}

#[tokio::test]
async fn speech_posts_speech_result_and_confidence() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather input="speech" action="/voice/name" language="pt-BR"><Say>Seu nome?</Say></Gather>"#,
    )
    .await;
    serve(&server, "POST", "/voice/name", "<Hangup/>").await;
    let (report, _) = call(opts(&server), vec![parse_answer("say:Gabriel da Silva")]).await;
    assert_eq!(report.expect("call ends").end, CallEnd::Hangup);
    let p = form(&received(&server, "/voice/name").await[0]);
    assert_eq!(field(&p, "SpeechResult"), Some("Gabriel da Silva"));
    assert_eq!(field(&p, "Confidence"), Some("0.92"));
    assert_eq!(field(&p, "Digits"), None);
}

#[tokio::test]
async fn silence_falls_through_to_the_redirect_and_pause_is_reported_not_slept() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather input="dtmf speech" action="/voice/answer"><Say>Digite</Say></Gather>
           <Redirect>/voice/retry?attempt=2</Redirect>"#,
    )
    .await;
    serve(
        &server,
        "POST",
        "/voice/retry",
        r#"<Pause length="30"/><Hangup/>"#,
    )
    .await;
    let started = Instant::now();
    let (report, events) = call(opts(&server), vec![Answer::Silence]).await;
    let report = report.expect("call ends");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "pause_scale 0 does not sleep"
    );
    assert_eq!(report.end, CallEnd::Hangup);
    assert!(received(&server, "/voice/answer").await.is_empty());
    let retry = &received(&server, "/voice/retry").await[0];
    assert_eq!(retry.url.query(), Some("attempt=2"));
    let p = form(retry);
    assert_eq!(field(&p, "Digits"), None);
    assert_eq!(field(&p, "CallStatus"), Some("in-progress"));
    let tail: Vec<_> = events
        .iter()
        .filter(|e| !matches!(e, CallEvent::Request { .. }))
        .cloned()
        .collect();
    assert_eq!(
        tail[1..],
        [
            CallEvent::Answered(Answer::Silence),
            CallEvent::Redirect(format!("{}/voice/retry?attempt=2", server.uri())),
            CallEvent::Pause(30),
            CallEvent::Hangup,
        ]
    );
    let paths: Vec<_> = report.latencies().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/voice", "/voice/retry"]);
}

#[tokio::test]
async fn pause_is_slept_at_its_scale() {
    let server = MockServer::start().await;
    serve(&server, "POST", "/voice", r#"<Pause length="1"/><Hangup/>"#).await;
    let started = Instant::now();
    let (report, _) = call(
        CallerOptions {
            pause_scale: 0.2,
            ..opts(&server)
        },
        vec![],
    )
    .await;
    assert_eq!(report.expect("call ends").end, CallEnd::Hangup);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn keys_on_a_speech_only_gather_are_not_heard() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather input="speech" action="/a"/><Say>Não ouvi</Say>"#,
    )
    .await;
    let (report, _) = call(opts(&server), vec![Answer::Keys("1".into())]).await;
    let report = report.expect("call ends");
    assert_eq!(report.end, CallEnd::DocumentEnd);
    assert_eq!(report.said(), ["Não ouvi".to_string()]);
    assert!(received(&server, "/a").await.is_empty());
}

#[tokio::test]
async fn action_on_empty_result_posts_an_empty_result() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather action="/a" actionOnEmptyResult="true"/><Redirect>/never</Redirect>"#,
    )
    .await;
    serve(&server, "POST", "/a", "<Hangup/>").await;
    let (report, _) = call(opts(&server), vec![]).await;
    assert_eq!(report.expect("call ends").end, CallEnd::Hangup);
    let p = form(&received(&server, "/a").await[0]);
    assert_eq!(field(&p, "Digits"), Some(""));
    assert!(received(&server, "/never").await.is_empty());
}

#[tokio::test]
async fn gather_with_method_get_sends_the_parameters_in_the_query() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather action="/a?x=1" method="get"/>"#,
    )
    .await;
    serve(&server, "GET", "/a", "<Hangup/>").await;
    let (report, events) = call(opts(&server), vec![Answer::Keys("42#".into())]).await;
    assert_eq!(report.expect("call ends").end, CallEnd::Hangup);
    let a = &received(&server, "/a").await[0];
    assert!(a.body.is_empty());
    let q: Vec<(String, String)> = a.url.query_pairs().into_owned().collect();
    assert_eq!(field(&q, "x"), Some("1"));
    assert_eq!(field(&q, "Digits"), Some("42"));
    // The reported URL does not carry the call parameters (the caller's number).
    assert!(events.iter().all(|e| match e {
        CallEvent::Request { url, .. } => !url.contains("5548999990000"),
        _ => true,
    }));
}

#[tokio::test]
async fn dial_ends_the_call_with_the_number() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Say>Transferindo</Say><Dial action="/after" timeout="20"><Number>+554830000000</Number></Dial><Say>not reached</Say>"#,
    )
    .await;
    let (report, _) = call(opts(&server), vec![]).await;
    let report = report.expect("call ends");
    assert_eq!(report.end, CallEnd::Dial("+554830000000".into()));
    assert!(
        report
            .events
            .contains(&CallEvent::Dial("+554830000000".into()))
    );
    assert_eq!(report.said(), ["Transferindo".to_string()]);
    assert!(received(&server, "/after").await.is_empty());
}

#[tokio::test]
async fn dial_action_is_followed_when_asked() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Dial action="/after">+554830000000</Dial>"#,
    )
    .await;
    serve(&server, "POST", "/after", "<Say>Tchau</Say><Hangup/>").await;
    let (report, _) = call(
        CallerOptions {
            follow_dial_action: true,
            ..opts(&server)
        },
        vec![],
    )
    .await;
    let report = report.expect("call ends");
    assert_eq!(report.end, CallEnd::Hangup);
    assert!(
        report
            .events
            .contains(&CallEvent::Dial("+554830000000".into()))
    );
    let p = form(&received(&server, "/after").await[0]);
    assert_eq!(field(&p, "DialCallStatus"), Some("completed"));
}

#[tokio::test]
async fn reject_and_document_end() {
    let server = MockServer::start().await;
    serve(&server, "POST", "/voice", r#"<Reject reason="busy"/>"#).await;
    serve(
        &server,
        "POST",
        "/quiet",
        r#"<Play>https://x.example/a.mp3</Play><Say>fim</Say>"#,
    )
    .await;
    let (report, _) = call(opts(&server), vec![]).await;
    assert_eq!(report.expect("call ends").end, CallEnd::Reject);
    let (report, events) = call(
        CallerOptions {
            url: format!("{}/quiet", server.uri()),
            ..opts(&server)
        },
        vec![],
    )
    .await;
    assert_eq!(report.expect("call ends").end, CallEnd::DocumentEnd);
    assert!(events.contains(&CallEvent::Play("https://x.example/a.mp3".into())));
    assert_eq!(events.last(), Some(&CallEvent::DocumentEnd));
}

async fn error_for(verbs_or_response: ResponseTemplate) -> CallError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/voice"))
        .respond_with(verbs_or_response)
        .mount(&server)
        .await;
    let (result, _) = call(opts(&server), vec![]).await;
    match result {
        Ok(r) => panic!("expected an error, the call ended with {:?}", r.end),
        Err(e) => e,
    }
}

#[tokio::test]
async fn unknown_and_unsupported_verbs_are_errors() {
    let e = error_for(twiml("<Say>oi</Say><Speak>oi</Speak>")).await;
    assert!(
        matches!(&e, CallError::UnknownVerb { verb, .. } if verb == "Speak"),
        "{e}"
    );
    assert!(e.to_string().contains("/voice"), "{e}");
    let e = error_for(twiml(r#"<Record maxLength="20"/>"#)).await;
    assert!(
        matches!(&e, CallError::UnsupportedVerb { verb, .. } if verb == "Record"),
        "{e}"
    );
    let e = error_for(twiml(r#"<Gather><Record/></Gather>"#)).await;
    assert!(
        matches!(&e, CallError::InvalidVerb { verb, .. } if verb == "Gather"),
        "{e}"
    );
    let e = error_for(twiml(r#"<Pause length="dois"/>"#)).await;
    assert!(
        matches!(&e, CallError::InvalidVerb { verb, .. } if verb == "Pause"),
        "{e}"
    );
    let e = error_for(twiml(r#"<Redirect method="PUT">/x</Redirect>"#)).await;
    assert!(matches!(&e, CallError::InvalidVerb { .. }), "{e}");
}

#[tokio::test]
async fn bad_answers_are_typed_errors() {
    let e = error_for(
        ResponseTemplate::new(200)
            .set_body_raw("<Response><Say>a & b</Say></Response>", "text/xml"),
    )
    .await;
    assert!(matches!(e, CallError::MalformedXml { .. }), "{e}");
    let e = error_for(ResponseTemplate::new(500).set_body_raw("<Response/>", "text/xml")).await;
    assert!(
        matches!(e, CallError::HttpStatus { status: 500, .. }),
        "{e}"
    );
    let e = error_for(
        ResponseTemplate::new(200).set_body_raw("<Response><Hangup/></Response>", "text/html"),
    )
    .await;
    assert!(
        matches!(&e, CallError::WrongContentType { content_type, .. } if content_type == "text/html"),
        "{e}"
    );
    let e = error_for(
        ResponseTemplate::new(200).set_body_raw("<html><body/></html>", "application/xml"),
    )
    .await;
    assert!(
        matches!(&e, CallError::NotTwiml { root, .. } if root == "html"),
        "{e}"
    );
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(twiml("<Hangup/>").set_delay(Duration::from_millis(600)))
        .mount(&server)
        .await;
    let (result, _) = call(
        CallerOptions {
            request_timeout: Duration::from_millis(150),
            ..opts(&server)
        },
        vec![],
    )
    .await;
    assert!(
        matches!(result, Err(CallError::Timeout { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_redirect_loop_hits_max_requests() {
    let server = MockServer::start().await;
    serve(&server, "POST", "/voice", "<Redirect>/voice</Redirect>").await;
    let (result, _) = call(
        CallerOptions {
            max_requests: 5,
            ..opts(&server)
        },
        vec![],
    )
    .await;
    assert!(
        matches!(result, Err(CallError::TooManyRequests { limit: 5 })),
        "{result:?}"
    );
    assert_eq!(received(&server, "/voice").await.len(), 5);
}

#[tokio::test]
async fn every_request_is_signed_for_its_exact_url_and_params() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        "/voice",
        r#"<Gather action="/voice/answer?seq=1&amp;k=a%20b"/><Redirect method="GET">/voice/g?z=9</Redirect>"#,
    )
    .await;
    serve(
        &server,
        "POST",
        "/voice/answer",
        "<Redirect method=\"GET\">/voice/g?z=9</Redirect>",
    )
    .await;
    serve(&server, "GET", "/voice/g", "<Hangup/>").await;
    Mock::given(method("POST"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (report, _) = call(
        CallerOptions {
            auth_token: Some(SecretString::from("s3cr3t-token")),
            status_callback: Some(format!("{}/status", server.uri())),
            ..opts(&server)
        },
        vec![Answer::Keys("7#".into())],
    )
    .await;
    assert_eq!(report.expect("call ends").requests, 4);
    let all = server.received_requests().await.unwrap_or_default();
    assert_eq!(all.len(), 4);
    for req in &all {
        // What a server rebuilds: its public base URL plus the request target.
        let target = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_string(),
        };
        let full = format!("{}{target}", server.uri());
        let params = if req.method.as_str() == "GET" {
            Vec::new()
        } else {
            form(req)
        };
        let sig = req
            .headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .expect("signed");
        assert!(
            webhook_signature::verify_twilio("s3cr3t-token", &full, &params, sig),
            "{full}"
        );
        assert!(!webhook_signature::verify_twilio(
            "other", &full, &params, sig
        ));
        let mut tampered = params.clone();
        tampered.push(("Digits".into(), "9".into()));
        if req.method.as_str() == "POST" {
            assert!(!webhook_signature::verify_twilio(
                "s3cr3t-token",
                &full,
                &tampered,
                sig
            ));
        }
    }
}

#[tokio::test]
async fn no_signature_without_a_token() {
    let server = MockServer::start().await;
    serve(&server, "POST", "/voice", "<Hangup/>").await;
    let (report, _) = call(opts(&server), vec![]).await;
    assert!(report.is_ok());
    let req = &received(&server, "/voice").await[0];
    assert!(req.headers.get("x-twilio-signature").is_none());
}

#[tokio::test]
async fn the_status_callback_is_posted_when_the_call_ends() {
    let server = MockServer::start().await;
    serve(&server, "POST", "/voice", "<Say>oi</Say>").await;
    Mock::given(method("POST"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let (report, events) = call(
        CallerOptions {
            status_callback: Some("/status".into()),
            extra_params: vec![
                ("FromCity".into(), "FLORIANOPOLIS".into()),
                ("Direction".into(), "outbound-api".into()),
            ],
            ..opts(&server)
        },
        vec![],
    )
    .await;
    let report = report.expect("call ends");
    assert_eq!(report.end, CallEnd::DocumentEnd);
    assert_eq!(report.requests, 2);
    assert_eq!(events.last(), Some(&CallEvent::StatusCallback));
    let p = form(&received(&server, "/status").await[0]);
    assert_eq!(field(&p, "CallStatus"), Some("completed"));
    assert_eq!(field(&p, "CallSid"), Some(report.call_sid.as_str()));
    assert!(field(&p, "CallDuration").is_some_and(|d| d.parse::<u64>().is_ok()));
    assert_eq!(field(&p, "FromCity"), Some("FLORIANOPOLIS"));
    assert_eq!(p.iter().filter(|(k, _)| k == "Direction").count(), 1);
    assert_eq!(field(&p, "Direction"), Some("outbound-api"));
}

#[tokio::test]
async fn a_given_call_sid_is_used_and_a_random_one_differs_per_call() {
    let server = MockServer::start().await;
    serve(&server, "POST", "/voice", "<Hangup/>").await;
    let caller = Caller::new(opts(&server)).expect("valid");
    let mut none = |_: &CallEvent| {};
    let a = caller
        .run(&mut Scripted::new(vec![]), &mut none)
        .await
        .expect("a");
    let b = caller
        .clone()
        .run(&mut Scripted::new(vec![]), &mut none)
        .await
        .expect("b");
    assert_ne!(a.call_sid, b.call_sid);
    let (c, _) = call(
        CallerOptions {
            call_sid: Some("CAfixed".into()),
            ..opts(&server)
        },
        vec![],
    )
    .await;
    assert_eq!(c.expect("c").call_sid, "CAfixed");
}

#[test]
fn a_call_can_run_in_a_spawned_task() {
    fn assert_send<T: Send>(_: &T) {}
    if let Ok(caller) = Caller::new(CallerOptions::default()) {
        let mut s = Scripted::new(vec![]);
        let mut none = |_: &CallEvent| {};
        let fut = caller.run(&mut s, &mut none);
        assert_send(&fut);
    }
}

#[test]
fn invalid_options_are_errors() {
    for url in ["not a url", "ftp://x.example/voice"] {
        let r = Caller::new(CallerOptions {
            url: url.into(),
            ..CallerOptions::default()
        });
        assert!(matches!(r, Err(CallError::InvalidUrl { .. })), "{url}");
    }
}

#[test]
fn parse_answer_cases() {
    let k = |s: &str| Answer::Keys(s.into());
    let sp = |s: &str| Answer::Speech(s.into());
    assert_eq!(parse_answer("keys:123*123#"), k("123*123#"));
    assert_eq!(parse_answer("KEYS: 12 34 "), k("1234"));
    assert_eq!(parse_answer("say:Gabriel"), sp("Gabriel"));
    assert_eq!(
        parse_answer("say: rua sete de setembro "),
        sp("rua sete de setembro")
    );
    assert_eq!(parse_answer("say:123"), sp("123"));
    assert_eq!(parse_answer("silence"), Answer::Silence);
    assert_eq!(parse_answer(""), Answer::Silence);
    assert_eq!(parse_answer("   \n"), Answer::Silence);
    assert_eq!(parse_answer("keys:"), Answer::Silence);
    assert_eq!(parse_answer("88010-000"), sp("88010-000"));
    assert_eq!(parse_answer("123#\n"), k("123#"));
    assert_eq!(parse_answer("*"), k("*"));
    assert_eq!(parse_answer("um dois três"), sp("um dois três"));
    assert_eq!(parse_answer("sim"), sp("sim"));
    // No panic on multi-byte text shorter or longer than a prefix.
    assert_eq!(parse_answer("ç"), sp("ç"));
    assert_eq!(parse_answer("sayç:x"), sp("sayç:x"));
}

#[test]
fn scripted_answers_in_order_then_silence() {
    let g = GatherPrompt {
        input: "dtmf".into(),
        num_digits: None,
        finish_on_key: "#".into(),
        timeout: None,
        hints: None,
        prompt_text: String::new(),
        action: "http://x/".into(),
    };
    let mut s = Scripted::new(vec![Answer::Keys("1".into()), Answer::Speech("sim".into())]);
    assert_eq!(s.remaining(), 2);
    assert_eq!(s.answer(&g), Answer::Keys("1".into()));
    assert_eq!(s.answer(&g), Answer::Speech("sim".into()));
    assert_eq!(s.remaining(), 0);
    assert_eq!(s.answer(&g), Answer::Silence);
}

#[test]
fn debug_output_shows_no_personal_data() {
    let secret_bits = [
        format!("{:?}", Answer::Keys("12345678".into())),
        format!(
            "{:?}",
            CallEvent::Answered(Answer::Speech("Gabriel".into()))
        ),
        format!("{:?}", CallEvent::Say("Seu código é 12345678".into())),
        format!(
            "{:?}",
            CallerOptions {
                auth_token: Some(SecretString::from("tok-123")),
                ..CallerOptions::default()
            }
        ),
    ]
    .join(" ");
    for leak in [
        "12345678",
        "Gabriel",
        "5548999990000",
        "554833334444",
        "tok-123",
    ] {
        assert!(!secret_bits.contains(leak), "{leak} in {secret_bits}");
    }
}

#[test]
fn transcript_lines() {
    let g = GatherPrompt {
        input: "dtmf speech".into(),
        num_digits: None,
        finish_on_key: "#".into(),
        timeout: None,
        hints: None,
        prompt_text: "Digite".into(),
        action: "http://x/".into(),
    };
    assert_eq!(
        cli::transcript(&CallEvent::Gather(g)),
        ["🔊 Digite", "⌨ gather: dtmf speech, finish #"]
    );
    assert_eq!(
        cli::transcript(&CallEvent::Answered(Answer::Keys("123*123".into()))),
        ["> keys 123*123"]
    );
    assert_eq!(cli::transcript(&CallEvent::Pause(2)), ["⏸ 2 s"]);
    assert_eq!(
        cli::transcript(&CallEvent::Request {
            method: "POST".into(),
            url: "http://127.0.0.1:8080/voice/answer".into(),
            status: 200,
            latency: Duration::from_micros(3100),
        }),
        ["  [POST /voice/answer 200 3.1 ms]"]
    );
    assert_eq!(
        cli::transcript(&CallEvent::Dial("+554830000000".into())),
        ["☎ transfer to +554830000000"]
    );
    assert_eq!(cli::transcript(&CallEvent::Hangup), ["✆ hang up"]);
}
