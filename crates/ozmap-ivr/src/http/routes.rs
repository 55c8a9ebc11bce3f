//! Every route of the service, in one place.

use super::{Hook, healthz, method_not_allowed, webhook};
use crate::app::AppState;
use actix_web::{HttpRequest, web};

use ivr_core::webhook::paths::{ANSWER, DIAL, POLL, SILENCE, START, STATUS};

pub const HEALTH: &str = "/healthz";
/// The ledger as JSON, behind `IVR_ADMIN_TOKEN` (see [`crate::admin`]).
pub const ADMIN_RESERVATIONS: &str = "/admin/reservations";
/// Prometheus text, behind `IVR_ADMIN_TOKEN`.
pub const METRICS: &str = "/metrics";

macro_rules! hook {
    ($hook:expr) => {
        |req: HttpRequest, body: web::Payload, state: web::Data<AppState>| {
            webhook($hook, req, body, state)
        }
    };
}

/// Used by the binary and by the tests alike.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(ivr_core::webhook::MAX_BODY))
        .service(
            web::resource(START)
                .route(web::post().to(hook!(Hook::Start)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(ANSWER)
                .route(web::post().to(hook!(Hook::Answer)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(SILENCE)
                .route(web::post().to(hook!(Hook::Silence)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(POLL)
                .route(web::post().to(hook!(Hook::Poll)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(DIAL)
                .route(web::post().to(hook!(Hook::Dial)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(STATUS)
                .route(web::post().to(hook!(Hook::Status)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(web::resource(HEALTH).route(web::get().to(healthz)))
        .service(web::resource(METRICS).route(web::get().to(super::metrics::metrics)))
        .service(web::resource(ADMIN_RESERVATIONS).route(web::get().to(crate::admin::http_list)))
        .service(
            web::resource(format!("{ADMIN_RESERVATIONS}/{{id}}"))
                .route(web::get().to(crate::admin::http_show)),
        );
}
