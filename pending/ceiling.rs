//! The ceiling for the load figures in BENCHMARKS.md: a bare actix-web handler that
//! parses the same form a platform posts and returns the same bytes as the
//! greeting, with no state, no store and no flow. `ozmap-ivr bench` measures this
//! and the real service with the same generator and settings, and reports the
//! service as a ratio of it.
//!
//! Run: `cargo run --release --example ceiling -- 127.0.0.1:8099`

use actix_web::{App, HttpResponse, HttpServer, web};
use ozmap_ivr::flow::{Call, Event, FlowConfig, advance};
use ozmap_ivr::http::Form;
use ozmap_ivr::http::render::RenderCtx;
use ozmap_ivr::prompts::Prompts;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8099".to_string());
    let prompts = Prompts::load("pt-BR", None).map_err(std::io::Error::other)?;
    let ctx = RenderCtx {
        prompts: &prompts,
        public_url: "http://127.0.0.1:8080",
        voice: "Polly.Camila",
        language: "pt-BR",
        agent_number: None,
    };
    let t = advance(&FlowConfig::default(), &Call::new(None), Event::Start, 0);
    let body = web::Bytes::from(ctx.render(&t.reply, 1));
    println!("ceiling listening on {bind}");
    HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/voice",
            web::post().to(move |form: web::Bytes| {
                let body = body.clone();
                async move {
                    // The same work on the request as the service's first step.
                    let parsed = Form::parse(&form);
                    if parsed.as_ref().and_then(|f| f.get("CallSid")).is_none() {
                        return HttpResponse::BadRequest().finish();
                    }
                    HttpResponse::Ok().content_type("text/xml; charset=utf-8").body(body)
                }
            }),
        )
    })
    .bind(bind)?
    .run()
    .await
}
