//! Every route of the web side, in one place (the chat channel's routes are
//! its own, `whatsapp::configure`; `app::configure` mounts both).

use super::AppState;
use super::webhook::{method_not_allowed, method_not_allowed_jambonz, webhook};
use super::{Hook, admin, admin_visits, console, healthz, jambonz, location, metrics};
use actix_web::{HttpRequest, web};
use ivr_core::webhook::paths::{ANSWER, DIAL, POLL, RESUME, SILENCE, START, STATUS};

pub(crate) const HEALTH: &str = "/healthz";
/// The ledger as JSON, behind `IVR_ADMIN_TOKEN`.
pub(crate) const ADMIN_RESERVATIONS: &str = "/admin/reservations";
/// The SMS outbox as JSON, behind `IVR_ADMIN_TOKEN`.
pub(crate) const ADMIN_MESSAGES: &str = "/admin/messages";
/// The technicians' agenda as JSON, behind `IVR_ADMIN_TOKEN`.
pub(crate) const ADMIN_VISITS: &str = "/admin/visits";
/// The funnel as JSON, behind `IVR_ADMIN_TOKEN`.
pub(crate) const ADMIN_FUNNEL: &str = "/admin/funnel";
/// The operators' console (HTML), behind a login with `IVR_ADMIN_TOKEN`.
pub(crate) const CONSOLE: &str = "/console";
/// Prometheus text, behind `IVR_ADMIN_TOKEN`.
pub(crate) const METRICS: &str = "/metrics";

/// The webhooks a platform calls, by path.
const WEBHOOKS: [(&str, Hook); 7] = [
    (START, Hook::Start),
    (ANSWER, Hook::Answer),
    (SILENCE, Hook::Silence),
    (POLL, Hook::Poll),
    (DIAL, Hook::Dial),
    (STATUS, Hook::Status),
    (RESUME, Hook::Resume),
];

/// The web side's routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(ivr_core::webhook::MAX_BODY));
    for (path, hook) in WEBHOOKS {
        cfg.service(
            web::resource(path)
                .route(web::post().to(
                    move |req: HttpRequest, body: web::Payload, state: web::Data<AppState>| {
                        webhook(hook, req, body, state)
                    },
                ))
                .default_service(web::to(method_not_allowed)),
        );
    }
    for (path, status) in [
        (ivr_core::jambonz::PATH, false),
        (ivr_core::jambonz::STATUS_PATH, true),
    ] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(
                    move |req: HttpRequest, body: web::Payload, state: web::Data<AppState>| {
                        jambonz::webhook(status, req, body, state)
                    },
                ))
                .default_service(web::to(method_not_allowed_jambonz)),
        );
    }
    cfg.service(web::resource(HEALTH).route(web::get().to(healthz)))
        .service(web::resource(METRICS).route(web::get().to(metrics::metrics)))
        .service(web::resource(ADMIN_RESERVATIONS).route(web::get().to(admin::list)))
        .service(
            web::resource(format!("{ADMIN_RESERVATIONS}/{{id}}")).route(web::get().to(admin::show)),
        )
        .service(
            web::resource(format!("{ADMIN_RESERVATIONS}/{{id}}/{{action}}"))
                .route(web::post().to(admin::life)),
        )
        .service(web::resource(ADMIN_FUNNEL).route(web::get().to(console::funnel_json)))
        .service(web::resource(CONSOLE).route(web::get().to(console::show)))
        .service(web::resource(format!("{CONSOLE}/login")).route(web::post().to(console::login)))
        .service(web::resource(format!("{CONSOLE}/logout")).route(web::post().to(console::logout)))
        .service(
            web::resource(format!("{CONSOLE}/privacy"))
                .route(web::get().to(console::privacy_show))
                .route(web::post().to(console::privacy_act)),
        )
        .service(
            web::resource(format!("{CONSOLE}/reservations/{{id}}/{{action}}"))
                .route(web::post().to(console::act)),
        )
        .service(
            web::resource(format!("{CONSOLE}/agenda")).route(web::get().to(console::agenda_show)),
        )
        .service(
            web::resource(format!("{CONSOLE}/agenda/{{protocol}}/{{action}}"))
                .route(web::post().to(console::agenda_act)),
        )
        .service(web::resource(ADMIN_VISITS).route(web::get().to(admin_visits::list)))
        .service(
            web::resource(format!("{ADMIN_VISITS}/{{protocol}}/{{action}}"))
                .route(web::post().to(admin_visits::act)),
        )
        .service(web::resource(location::STATIC_STYLE).route(web::get().to(location::style)))
        .service(web::resource(location::STATIC_SCRIPT).route(web::get().to(location::script)))
        .service(
            web::resource(format!("{}/{{token}}", location::PATH))
                .route(web::get().to(location::show))
                .route(web::post().to(location::post)),
        )
        .service(
            web::resource(location::ADMIN_LINKS)
                .app_data(web::PayloadConfig::new(location::MAX_BODY * 2))
                .route(web::post().to(location::admin_create)),
        )
        .service(
            web::resource(format!("{}/{{session_key}}", location::ADMIN_LINKS))
                .route(web::get().to(location::admin_position)),
        )
        .service(web::resource(ADMIN_MESSAGES).route(web::get().to(admin::list_messages)))
        .service(
            web::resource(format!("{ADMIN_MESSAGES}/{{id}}"))
                .route(web::get().to(admin::show_message)),
        );
}
