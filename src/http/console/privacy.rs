//! `GET /console/privacy` and `POST /console/privacy`: a data subject's
//! request (LGPD art. 18) from the console, what `ozmap-ivr privacy` does.
//! The person is given by phone number or client code in a POST form (never
//! in a URL, so never in an access log); every POST carries the session's
//! CSRF token. `export` answers the JSON as a download; `erase` first shows
//! what would go and asks to confirm, then erases and says what it did.

use super::labels::{self, PrivacyLabels};
use super::{ConsoleError, html, page, query, session};
use crate::http::AppState;
use crate::store::{Subject, now_ms};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, Markup, html};

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PrivacyQuery {
    lang: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct PrivacyForm {
    csrf: Option<String>,
    lang: Option<String>,
    phone: Option<String>,
    client: Option<String>,
    /// `export` or `erase`.
    action: String,
    /// `yes` on the confirmation's form.
    confirm: Option<String>,
}

/// What the page shows under the form.
enum Shown {
    Nothing,
    Error(String),
    /// The erase confirmation: the counts of what would go.
    Confirm {
        counts: [usize; 7],
    },
    Done(String),
}

/// `GET /console/privacy`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    let q: PrivacyQuery = query(&req)?;
    let l = labels::pick(q.lang.as_deref(), &state.cfg.call.language);
    Ok(html(render(
        l.lang,
        labels::privacy(l.lang),
        access.csrf(),
        "",
        "",
        &Shown::Nothing,
    )))
}

/// `POST /console/privacy`.
pub(crate) async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<PrivacyForm>,
) -> Result<HttpResponse, ConsoleError> {
    let access = session::access(&req, &state).await?;
    session::may_act(&req, &state, &access, form.csrf.as_deref())?;
    let l = labels::pick(form.lang.as_deref(), &state.cfg.call.language);
    let p = labels::privacy(l.lang);
    let phone = form.phone.as_deref().unwrap_or("").trim();
    let client = form.client.as_deref().unwrap_or("").trim();
    let page = |shown: Shown| html(render(l.lang, p, access.csrf(), phone, client, &shown));
    let subject: Subject = match crate::admin::privacy_subject(Some(phone), Some(client)) {
        Ok(s) => s,
        Err(_) => return Ok(page(Shown::Error(p.bad_subject.to_string()))),
    };
    let store = state.store();
    match (form.action.as_str(), form.confirm.as_deref()) {
        ("export", _) => {
            let json = crate::admin::export_subject(store, &subject)
                .await
                .map_err(|_| ConsoleError::Conflict("the store cannot be read now"))?;
            tracing::info!("console: a data subject's export downloaded");
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"ozmap-ivr-privacy-export.json\"",
                ))
                .content_type("application/json")
                .body(json))
        }
        ("erase", Some("yes")) => {
            let shown = match store.erase_subject(&subject, now_ms()).await {
                Ok(e) => {
                    tracing::info!(audit = e.audit_id, "console: erasure on request");
                    Shown::Done(erased(p, &e))
                }
                Err(crate::store::EraseError::Busy(_)) => Shown::Error(p.busy.to_string()),
                Err(crate::store::EraseError::Store(e)) => return Err(e.into()),
            };
            Ok(page(shown))
        }
        ("erase", _) => {
            let d = store.subject_data(&subject).await?;
            if d.is_empty() {
                return Ok(page(Shown::Done(p.nothing.to_string())));
            }
            let counts = [
                d.calls.len(),
                d.reservations.len(),
                d.messages.len(),
                d.chat_replies.len(),
                d.chat_inbox.len(),
                d.geocodes.len(),
                d.visits.len(),
            ];
            Ok(page(Shown::Confirm { counts }))
        }
        _ => Err(ConsoleError::BadRequest("unknown action")),
    }
}

/// What an erasure did, in the page's words (no personal data).
fn erased(p: &PrivacyLabels, e: &crate::store::Erasure) -> String {
    if e.nothing_found() {
        return p.nothing.to_string();
    }
    let counts = [
        e.calls,
        e.reservations,
        e.messages,
        e.chat_replies,
        e.chat_inbox,
        e.geocodes,
        e.visits,
    ];
    let mut out = format!("{} (#{})\n", p.erased, e.audit_id.unwrap_or_default());
    for (name, n) in p.tables.iter().zip(counts) {
        out.push_str(&format!("{name}: {n}\n"));
    }
    for k in &e.kept_in_ozmap {
        out.push_str(&format!(
            "{} {} ({} {})\n",
            p.kept_in_ozmap,
            k.property_id,
            p.protocol,
            k.protocol.as_deref().unwrap_or("—")
        ));
    }
    out
}

fn render(
    lang: &str,
    p: &PrivacyLabels,
    csrf: &str,
    phone: &str,
    client: &str,
    shown: &Shown,
) -> Markup {
    let fields = html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="lang" value=(lang);
    };
    html! {
        (DOCTYPE)
        html lang=(lang) {
            (page::head(p.title))
            body {
                header {
                    h1 { "ozmap-ivr · " (p.title) }
                    div { a #back href={"/console?lang=" (lang)} { (p.back) } }
                }
                main {
                    section #privacy-form {
                        h2 { (p.title) }
                        p.note { (p.intro) }
                        form method="post" action="/console/privacy" {
                            (fields)
                            p {
                                label for="phone" { (p.phone) }
                                br;
                                input #phone type="tel" name="phone" value=(phone) placeholder="48 99999-0000" autocomplete="off";
                            }
                            p {
                                label for="client" { (p.client) }
                                br;
                                input #client type="text" name="client" value=(client) autocomplete="off";
                            }
                            p.note { (p.one_of) }
                            button #export type="submit" name="action" value="export" { (p.export) }
                            " "
                            button #erase type="submit" name="action" value="erase" { (p.erase) }
                        }
                    }
                    @match shown {
                        Shown::Nothing => {}
                        Shown::Error(e) => { p.error #privacy-error { (e) } }
                        Shown::Done(text) => {
                            section #privacy-done { @for line in text.lines() { p { (line) } } }
                        }
                        Shown::Confirm { counts } => {
                            section #privacy-confirm {
                                h2 { (p.confirm_title) }
                                table {
                                    @for (name, n) in p.tables.iter().zip(counts) {
                                        tr { th { (name) } td { (n) } }
                                    }
                                }
                                p.note { (p.kept_note) }
                                form method="post" action="/console/privacy" {
                                    (fields)
                                    input type="hidden" name="phone" value=(phone);
                                    input type="hidden" name="client" value=(client);
                                    input type="hidden" name="action" value="erase";
                                    input type="hidden" name="confirm" value="yes";
                                    button #erase-confirm type="submit" { (p.confirm) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
