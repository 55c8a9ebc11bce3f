//! The ceiling for the load figures: a bare actix-web handler that parses the same
//! form a platform posts and answers the same bytes as the service's greeting, with
//! no state, no store, no flow and no logging.
//!
//! Why it exists: absolute requests per second on a shared 2-core machine drift
//! from run to run. `ozmap-ivr bench` measures this server and the real service
//! with the same generator, the same settings and in the same run, and gives the
//! service's figures as a ratio of these. Nothing the service does can be faster
//! than this: it is the web stack, the form parser and a copy of a body.
//!
//! It answers `POST /voice` (and, so that a whole call does not fail on it, every
//! other `POST /voice/...`) with the greeting, the same headers as the service
//! (`Content-Type`, `Cache-Control` and the security headers), `400` for a form
//! without a `CallSid` and `415` for another content type, like the service.
//! Its worker count is actix-web's default, as for the service.
//!
//! Run alone: `cargo run --release --example ceiling -- 127.0.0.1:8099`, or
//! `ozmap-ivr bench --serve-ceiling 127.0.0.1:8099`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use ivr_core::flow::{Call, Event, FlowConfig, advance};
use ivr_core::prompts::Prompts;
use ivr_core::render::{Recogniser, RenderCtx};
use ivr_core::webhook::{
    Form, MAX_BODY, SECURITY_HEADERS, TWIML_CONTENT_TYPE, is_form, valid_call_sid,
};
use std::net::TcpListener;

/// The greeting exactly as the service renders it for a new call, with action
/// URLs under `public_url`.
pub(super) fn greeting_body(public_url: &str) -> anyhow::Result<String> {
    let prompts = Prompts::shipped("pt-BR")?;
    let ctx = RenderCtx {
        prompts: &prompts,
        public_url,
        voice: "Polly.Camila",
        language: "pt-BR",
        agent_number: None,
        recogniser: &Recogniser::default(),
        platform: ivr_core::twiml::Platform::Twilio,
    };
    let t = advance(&FlowConfig::default(), &Call::new(None), Event::Start, 0);
    Ok(ctx.render(&t.reply, 1))
}

fn answer(status: actix_web::http::StatusCode, body: web::Bytes) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(TWIML_CONTENT_TYPE),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}

async fn greet(req: HttpRequest, form: web::Bytes, body: web::Data<web::Bytes>) -> HttpResponse {
    let content_type = req.headers().get(header::CONTENT_TYPE);
    if !is_form(content_type.and_then(|v| v.to_str().ok())) {
        return answer(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            web::Bytes::new(),
        );
    }
    // The same work on the request as the service's first step.
    let parsed = Form::parse(&form);
    if parsed
        .as_ref()
        .and_then(|f| f.get("CallSid"))
        .is_none_or(|s| !valid_call_sid(s))
    {
        return answer(actix_web::http::StatusCode::BAD_REQUEST, web::Bytes::new());
    }
    answer(actix_web::http::StatusCode::OK, body.get_ref().clone())
}

/// Starts the ceiling on `listener` (on the caller's runtime, actix-web's default
/// worker count, no signal handling). Its greeting's URLs point at the listener.
pub(super) fn start(listener: TcpListener) -> anyhow::Result<actix_web::dev::Server> {
    let addr = listener.local_addr()?;
    let body = web::Data::new(web::Bytes::from(greeting_body(&format!("http://{addr}"))?));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(body.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .wrap(
                SECURITY_HEADERS
                    .into_iter()
                    .fold(actix_web::middleware::DefaultHeaders::new(), |h, kv| {
                        h.add(kv)
                    }),
            )
            .route("/voice", web::post().to(greet))
            .route("/voice/{step}", web::post().to(greet))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(1)
    .run();
    Ok(server)
}

/// Serves the ceiling on `bind` until the process is stopped.
pub async fn serve(bind: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind)
        .map_err(|e| anyhow::anyhow!("ceiling: cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr()?;
    let server = start(listener)?;
    eprintln!("ceiling listening on http://{addr}/voice");
    Ok(server.await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_is_a_gather_pointing_at_the_given_url() {
        let body = greeting_body("http://127.0.0.1:1234").unwrap();
        assert!(body.starts_with("<?xml") || body.starts_with("<Response"));
        assert!(body.contains("<Gather"), "{body}");
        assert!(
            body.contains("http://127.0.0.1:1234/voice/answer?seq=1"),
            "{body}"
        );
    }
}
