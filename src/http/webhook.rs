//! Entry point of every webhook: a span for the route and the CallSid, the gate,
//! the step, the answer, and a spoken apology whatever goes wrong inside.
//!
//! Rules every webhook keeps:
//! - the answer is `200 text/xml` with a spoken sentence, whatever went wrong
//!   inside (a store error, a panic); only a [`Refusal`] by the gate gets another
//!   status, still with a well-formed TwiML body;
//! - a refused request never touches call state or OZmap: every check runs before
//!   the store is read;
//! - no webhook waits on an outside service longer than the step budget: the
//!   geocoder is given `IVR_STEP_BUDGET_MS`, then goes on in the background behind
//!   a hold message; OZmap is only ever called by the worker;
//! - no webhook waits on the database longer than `IVR_STORE_BUDGET_MS`: past it
//!   the caller holds and the work goes on (`stall`).

use super::AppState;
use super::{Hook, Refusal, document, gate, stall, xml};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::FutureExt;
use ivr_core::render::Dialect;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tracing::Instrument;

/// A webhook. A panic anywhere inside becomes the spoken apology
/// ([`apologise_on_panic`]).
pub(crate) async fn webhook(
    hook: Hook,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let state = state.into_inner();
    let apology_state = state.clone();
    apologise_on_panic(
        hook,
        Dialect::Twiml,
        move || apology_state.render_ctx().apology("error.apology"),
        answer(hook, req, payload, state),
    )
    .await
}

/// Runs a webhook's work in its span (`route`, and `call_sid` once the gate has
/// read it); a panic inside becomes `200` with `apology()` (a spoken sentence and
/// goodbye in valid TwiML) and one error line (a panic message may hold caller
/// data, so it is not logged here).
pub(crate) async fn apologise_on_panic<F>(
    hook: Hook,
    dialect: Dialect,
    apology: impl FnOnce() -> String,
    work: F,
) -> HttpResponse
where
    F: Future<Output = HttpResponse>,
{
    let span = tracing::info_span!(
        "webhook",
        route = hook.name(),
        call_sid = tracing::field::Empty,
        protocol = tracing::field::Empty
    );
    async move {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(res) => res,
            Err(_) => {
                tracing::error!("webhook panicked; apologised to the caller");
                document(dialect, StatusCode::OK, apology())
            }
        }
    }
    .instrument(span)
    .await
}

async fn answer(
    hook: Hook,
    req: HttpRequest,
    payload: web::Payload,
    state: Arc<AppState>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let admitted = match gate::admit(&req, payload, &state).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.respond(&state, req.peer_addr().map(|a| a.ip())),
    };
    tracing::Span::current().record("call_sid", admitted.call_sid.as_str());
    let body = stall::answer(&state, hook, admitted).await;
    state.webhooks.answered(hook, started.elapsed());
    tracing::info!(ms = started.elapsed().as_secs_f64() * 1000.0, "answered");
    xml(StatusCode::OK, body)
}

/// `405` with a TwiML body, for any method but POST on a webhook.
pub(crate) async fn method_not_allowed(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    Refusal::MethodNotAllowed.respond(&state, req.peer_addr().map(|a| a.ip()))
}

/// `405` in jambonz's JSON, for any method but POST on a jambonz hook.
pub(crate) async fn method_not_allowed_jambonz(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    Refusal::MethodNotAllowed.respond_in(
        &state,
        req.peer_addr().map(|a| a.ip()),
        ivr_core::render::Dialect::Jambonz,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::http::header;
    use ivr_core::prompts::Prompts;
    use std::sync::Mutex;

    /// Log lines written while the guard lives on this thread.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn apology() -> String {
        let prompts = Prompts::shipped("pt-BR").unwrap();
        ivr_core::render::RenderCtx {
            prompts: &prompts,
            public_url: "https://ivr.example.com",
            voice: "Polly.Camila",
            language: "pt-BR",
            agent_number: None,
            recogniser: &ivr_core::render::Recogniser::default(),
            platform: ivr_core::twiml::Platform::Twilio,
        }
        .apology("error.apology")
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_spoken_apology_and_one_error_line() {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let secret_in_panic = "+5548991234567";
        let res = apologise_on_panic(Hook::Answer, Dialect::Twiml, apology, async {
            if !secret_in_panic.is_empty() {
                panic!("handler bug while holding {secret_in_panic}");
            }
            HttpResponse::Ok().finish()
        })
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/xml; charset=utf-8"
        );
        let body = res.into_body().try_into_bytes().unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        let doc = roxmltree::Document::parse(body).unwrap();
        let verbs: Vec<&str> = doc
            .root_element()
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(verbs, ["Say", "Hangup"]);
        assert!(body.contains("Desculpe"), "{body}");
        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logs.lines().count(), 1, "{logs}");
        assert!(
            logs.contains("ERROR") && logs.contains("webhook panicked"),
            "{logs}"
        );
        assert!(
            logs.contains("route=\"answer\"") || logs.contains("route=answer"),
            "{logs}"
        );
        assert!(!logs.contains(secret_in_panic), "{logs}");
    }

    #[tokio::test]
    async fn without_a_panic_the_answer_passes_through() {
        let res = apologise_on_panic(Hook::Start, Dialect::Twiml, apology, async {
            HttpResponse::Forbidden().finish()
        })
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
}
