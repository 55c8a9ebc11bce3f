//! The console's HTML, written with maud (escaped by construction, checked at
//! compile time). One page, no script: filters are GET forms, actions are POST
//! forms carrying the session's CSRF token. The style sheet is inline and the
//! layout a single column on a phone.

use super::charts;
use super::funnel::Funnel;
use super::labels::Labels;
use crate::admin::MessageView;
use crate::admin::ReservationView;
use crate::worker::HealthView;
use maud::{DOCTYPE, Markup, html};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1a202c}
header{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;
 background:#1a365d;color:#fff;padding:.6rem 1rem}
header h1{font-size:1.15rem;margin:0}header a{color:#fff}
header button{color:#fff;background:transparent;border:1px solid #fff;border-radius:4px}
main{max-width:1100px;margin:0 auto;padding:.5rem}
section{background:#fff;border-radius:6px;padding:.6rem .9rem;margin:.6rem 0;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1rem;margin:.2rem 0 .6rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:.5rem}
.card{background:#edf2f7;border-radius:4px;padding:.4rem .6rem}
.card b{display:block;font-size:1.4rem}.card span{font-size:.8rem;color:#4a5568}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #e2e8f0;vertical-align:top}
.scroll{overflow-x:auto}svg{width:100%;max-width:680px;height:auto}
.flash{background:#c6f6d5;border-radius:4px;padding:.5rem .8rem}
.error{background:#fed7d7;border-radius:4px;padding:.5rem .8rem}
form.inline{display:inline}button{font:inherit;padding:.3rem .8rem;cursor:pointer}
input,select{font:inherit;padding:.3rem;max-width:100%}
.dead{color:#c53030;font-weight:bold}.note{font-size:.8rem;color:#4a5568}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}
dt{color:#4a5568}
.visits{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(290px,100%),1fr));gap:.5rem}
.visit dd{margin:0;overflow-wrap:anywhere}
.visit{border:1px solid #e2e8f0;border-radius:4px;padding:.4rem .6rem}
.visit h3{font-size:.95rem;margin:.1rem 0}.visit form{margin:.4rem 0}
";

/// The console's Content-Security-Policy: its one inline style sheet (by hash),
/// no script, no other source, forms to itself only.
pub(crate) fn csp() -> String {
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

pub(super) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex";
            title { (title) }
            style { (maud::PreEscaped(STYLE)) }
        }
    }
}

/// The login form: all a request without a session sees.
pub(crate) fn login(error: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="pt-BR" {
            (head("ozmap-ivr"))
            body {
                header { h1 { "ozmap-ivr · Console de operação / Operators' console" } }
                main {
                    section #login {
                        @if error {
                            p.error #login-error { "Token inválido. / Wrong token." }
                        }
                        form method="post" action="/console/login" {
                            p {
                                label for="token" { "Token de administração (IVR_ADMIN_TOKEN) / Admin token" }
                                br;
                                input #token type="password" name="token" autocomplete="current-password" required;
                            }
                            button #login-button type="submit" { "Entrar / Log in" }
                        }
                    }
                }
            }
        }
    }
}

/// One recent call, as the page shows it (the number masked).
#[derive(Debug)]
pub(crate) struct RecentRow {
    pub started: String,
    pub protocol: String,
    pub steps: Vec<String>,
    pub outcome: &'static str,
    pub duration: String,
    pub phone: String,
    /// How the place was given (a term key: `place_link`…), once confirmed.
    pub place: Option<String>,
}

/// Everything the dashboard draws.
#[derive(Debug)]
pub(crate) struct Dashboard<'a> {
    pub l: &'static Labels,
    pub csrf: &'a str,
    pub today: Funnel,
    pub week: Funnel,
    pub hours: [u64; 24],
    pub health: HealthView,
    pub ledger: Vec<ReservationView>,
    pub status: Option<&'a str>,
    pub q: &'a str,
    pub detail: Option<ReservationView>,
    pub flash: Option<String>,
    pub recent: Vec<RecentRow>,
    /// The newest messages of both channels (numbers masked, no reply text).
    pub messages: Vec<MessageView>,
}

fn cards(id: &str, f: &Funnel, l: &Labels) -> Markup {
    let items = [
        ("calls", l.calls, f.calls.to_string()),
        ("reserved", l.reserved, f.reserved.to_string()),
        ("existing", l.existing, f.existing.to_string()),
        ("not_viable", l.not_viable, f.not_viable.to_string()),
        ("transferred", l.transferred, f.transferred.to_string()),
        ("abandoned", l.abandoned, f.abandoned.to_string()),
        (
            "containment",
            l.containment,
            format!("{:.0} %", f.containment() * 100.0),
        ),
    ];
    html! {
        div.cards {
            @for (key, label, value) in items {
                div.card { b id={(id) "-" (key)} { (value) } span { (label) } }
            }
        }
        @if !f.places.is_empty() {
            p.places id={(id) "-places"} {
                (l.place) ": "
                @for (i, (source, n)) in f.places.iter().enumerate() {
                    @if i > 0 { " · " }
                    (l.term(&format!("place_{source}"))) " " (n)
                }
            }
        }
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.0} ms"))
}

fn health(h: &HealthView, l: &Labels) -> Markup {
    html! {
        section #ozmap {
            h2 { (l.ozmap) }
            dl {
                dt { (l.breaker) } dd #breaker { (l.term(h.breaker)) }
                dt { (l.latency) " p50 / p99" }
                dd #latency { (ms(h.p50_ms)) " / " (ms(h.p99_ms)) " (" (h.samples) ")" }
                dt { (l.last_error) } dd #last-error { (h.last_error.as_deref().unwrap_or(l.none)) }
            }
        }
    }
}

/// The box and port; a box whose name is not known yet by its id (operators
/// see the id; the client never does).
fn port(r: &ReservationView, l: &Labels) -> String {
    let b = match (&r.box_name, &r.box_id) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) if !id.is_empty() => format!("({} {id})", l.box_unnamed),
        _ => return "—".into(),
    };
    match r.port {
        Some(p) => format!("{b} / {p}"),
        None => b,
    }
}

/// The outcome, and what the worker did on the way.
fn outcome(r: &ReservationView, l: &Labels) -> String {
    let mut s = r.outcome.map_or("—", |o| l.term(o)).to_string();
    if r.confirming() {
        s = format!("{} ({})", s, l.confirming);
    }
    if !r.duplicates_removed.is_empty() {
        s = format!("{s} · {}", l.duplicate_removed);
    }
    s
}

fn ledger(d: &Dashboard<'_>) -> Markup {
    let l = d.l;
    html! {
        section #ledger {
            h2 { (l.ledger) }
            form method="get" action="/console" {
                input type="hidden" name="lang" value=(l.lang);
                select name="status" aria-label=(l.status) {
                    option value="" { (l.any_status) }
                    @for s in ["pending", "done", "dead", "cancelled"] {
                        option value=(s) selected[d.status == Some(s)] { (l.term(s)) }
                    }
                }
                " "
                input #search type="search" name="q" value=(d.q) placeholder=(l.search_hint) aria-label=(l.search);
                " "
                button type="submit" { (l.filter) }
            }
            div.scroll {
                table #ledger-table {
                    tr { th { "#" } th { (l.protocol) } th { (l.status) } th { (l.outcome) }
                         th { (l.code) } th { (l.attempts) } th { (l.port) } th {} }
                    @for r in &d.ledger {
                        tr data-id=(r.id) data-status=(r.status) {
                            td { (r.id) }
                            td { (r.protocol.as_deref().unwrap_or("—")) }
                            td.dead[r.status == "dead"] .life data-life=(r.life_state.unwrap_or("")) {
                                (l.term(r.status))
                                @if let Some(s) = r.life_state { " · " (l.term(s)) }
                            }
                            td.outcome data-duplicates=(r.duplicates_removed.len()) { (outcome(r, l)) }
                            td { (r.client_code) }
                            td { (r.attempts) }
                            td { (port(r, l)) }
                            td { a id={"open-" (r.id)} href={"/console?lang=" (l.lang) "&reservation=" (r.id)} { (l.open) } }
                        }
                    }
                }
                @if d.ledger.is_empty() { p { (l.no_rows) } }
            }
        }
    }
}

fn detail(r: &ReservationView, d: &Dashboard<'_>) -> Markup {
    let l = d.l;
    let action = |what: &str| format!("/console/reservations/{}/{what}?lang={}", r.id, l.lang);
    html! {
        section #detail data-id=(r.id) {
            h2 { (l.detail) " " (r.id) }
            dl {
                dt { (l.status) } dd #detail-status {
                    (l.term(r.status))
                    @if let Some(s) = r.life_state { " · " (l.term(s)) }
                }
                dt { (l.outcome) } dd #detail-outcome { (outcome(r, l)) }
                dt { (l.protocol) } dd { (r.protocol.as_deref().unwrap_or("—")) }
                dt { (l.code) } dd { (r.client_code) }
                dt { (l.name) } dd { (r.client_name) }
                dt { (l.address) } dd { (r.address) }
                dt { (l.port) } dd { (port(r, l)) }
                @if !r.duplicates_removed.is_empty() {
                    dt { (l.duplicates_removed) }
                    dd #detail-duplicates { (r.duplicates_removed.join(", ")) }
                }
                dt { (l.attempts) } dd { (r.attempts) }
                dt { (l.last_error) } dd #detail-error { (r.last_error.as_deref().unwrap_or(l.none)) }
            }
            @if r.status == "dead" {
                form.inline method="post" action=(action("retry")) {
                    input type="hidden" name="csrf" value=(d.csrf);
                    button #retry type="submit" { (l.retry) }
                }
                " "
            }
            @if r.status != "cancelled" {
                form.inline method="post" action=(action("cancel")) {
                    input type="hidden" name="csrf" value=(d.csrf);
                    button #cancel type="submit" title=(l.cancel_confirm) { (l.cancel) }
                }
            }
        }
    }
}

fn recent(rows: &[RecentRow], l: &Labels) -> Markup {
    html! {
        section #recent {
            h2 { (l.recent) }
            div.scroll {
                table #recent-table {
                    tr { th { (l.started) } th { (l.protocol) } th { (l.steps) } th { (l.outcome) }
                         th { (l.duration) } th { (l.phone) } th { (l.place) } }
                    @for r in rows {
                        tr {
                            td { (r.started) }
                            td { (r.protocol) }
                            @let steps = r.steps.iter().map(|s| l.term(s)).collect::<Vec<_>>().join(" → ");
                            td title=(steps) { (r.steps.len()) ": " (steps) }
                            td { (r.outcome) }
                            td { (r.duration) }
                            td.phone { (r.phone) }
                            td.place { (r.place.as_deref().map_or("—", |p| l.term(p))) }
                        }
                    }
                }
            }
        }
    }
}

fn messages(rows: &[MessageView], l: &Labels) -> Markup {
    html! {
        section #messages {
            h2 { (l.messages) }
            div.scroll {
                table #messages-table {
                    tr { th { "#" } th { (l.channel) } th { (l.protocol) } th { (l.kind) }
                         th { (l.status) } th { (l.attempts) } th { (l.phone) } th { (l.last_error) } }
                    @for m in rows {
                        tr data-channel=(m.channel) data-status=(m.status) {
                            td { (m.id) }
                            td.channel { (l.term(m.channel)) }
                            td { (m.protocol.as_deref().unwrap_or("—")) }
                            td { (l.term(&m.kind)) }
                            td.dead[m.status == "dead"] { (l.term(m.status)) }
                            td { (m.attempts) }
                            td.phone { (m.phone) }
                            td { (m.last_error.as_deref().unwrap_or("—")) }
                        }
                    }
                }
                @if rows.is_empty() { p { (l.no_messages) } }
            }
            p.note { (l.messages_note) }
        }
    }
}

/// The dashboard, for a request with a session (or the bearer token).
pub(crate) fn dashboard(d: &Dashboard<'_>) -> Markup {
    let l = d.l;
    html! {
        (DOCTYPE)
        html lang=(l.lang) {
            (head(l.title))
            body {
                header {
                    h1 { "ozmap-ivr · " (l.title) }
                    div {
                        a href={"/console?lang=" (l.other_lang.0)} { (l.other_lang.1) }
                        " "
                        a #agenda-link href={"/console/agenda?lang=" (l.lang)} { "Agenda" }
                        " "
                        a #privacy-link href={"/console/privacy?lang=" (l.lang)} { (super::labels::privacy(l.lang).link) }
                        " "
                        @if !d.csrf.is_empty() {
                            form.inline method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(d.csrf);
                                button #logout type="submit" { (l.logout) }
                            }
                        }
                    }
                }
                main {
                    @if let Some(f) = &d.flash { p.flash #flash { (f) } }
                    section #today { h2 { (l.today) } (cards("today", &d.today, l)) }
                    section #week { h2 { (l.week) } (cards("week", &d.week, l)) }
                    section #funnel {
                        h2 { (l.funnel) }
                        (charts::funnel(&d.today.reached_steps(), l))
                        p.note { (l.funnel_note) }
                    }
                    section #hours { h2 { (l.per_hour) } (charts::per_hour(&d.hours, l)) }
                    @if let Some(r) = &d.detail { (detail(r, d)) }
                    (ledger(d))
                    (health(&d.health, l))
                    (recent(&d.recent, l))
                    (messages(&d.messages, l))
                }
            }
        }
    }
}
