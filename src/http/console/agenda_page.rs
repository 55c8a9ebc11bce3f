//! The agenda page's HTML and words (pt-BR, en-US): no script, the console's
//! style sheet; on a phone the periods' table and the visits' cards take one
//! column.

use super::page;
use crate::admin::agenda::{AgendaView, PeriodView, VisitView};
use ivr_core::agenda::Day;
use maud::{DOCTYPE, Markup, html};

/// What the page shows above the agenda.
pub(super) enum Shown {
    Nothing,
    Done(String),
    Error(String),
}

/// The page's words.
#[derive(Debug)]
pub(crate) struct AgendaLabels {
    pub lang: &'static str,
    pub title: &'static str,
    pub back: &'static str,
    pub earlier: &'static str,
    pub later: &'static str,
    pub from: &'static str,
    pub go: &'static str,
    pub periods: &'static str,
    pub day: &'static str,
    pub period: &'static str,
    pub morning: &'static str,
    pub afternoon: &'static str,
    pub unknown_capacity: &'static str,
    pub visits: &'static str,
    pub no_visits: &'static str,
    pub protocol: &'static str,
    pub box_port: &'static str,
    pub phone: &'static str,
    pub status: &'static str,
    pub erp: &'static str,
    pub move_to: &'static str,
    pub move_button: &'static str,
    pub cancel_button: &'static str,
    pub for_good: &'static str,
    pub done_button: &'static str,
    pub waiting: &'static str,
    pub waiting_note: &'static str,
    pub no_waiting: &'static str,
    pub full: &'static str,
    pub not_found: &'static str,
    pub past: &'static str,
    pub bad_slot: &'static str,
    pub weekdays: [&'static str; 7],
    /// booked, cancelled, done; ERP none, pending, done, dead.
    pub terms: [(&'static str, &'static str); 7],
}

const PT: AgendaLabels = AgendaLabels {
    lang: "pt-BR",
    title: "Agenda de visitas",
    back: "← Console",
    earlier: "← 14 dias antes",
    later: "14 dias depois →",
    from: "A partir de",
    go: "Ver",
    periods: "Ocupação por dia e período (agendadas / capacidade)",
    day: "Dia",
    period: "Período",
    morning: "Manhã",
    afternoon: "Tarde",
    unknown_capacity: "—",
    visits: "Visitas",
    no_visits: "Nenhuma visita nestes dias.",
    protocol: "Protocolo",
    box_port: "Caixa / porta",
    phone: "Telefone",
    status: "Situação",
    erp: "ERP",
    move_to: "Remarcar para",
    move_button: "Remarcar",
    cancel_button: "Cancelar visita",
    for_good: "cancelar de vez (liberar a reserva da porta)",
    done_button: "Instalação feita",
    waiting: "Porta reservada, sem visita agendada",
    waiting_note: "A equipe precisa ligar para estes clientes e agendar.",
    no_waiting: "Nenhum pedido esperando agendamento.",
    full: "Este período está lotado: a visita continua onde estava. Escolha outro dia ou período.",
    past: "Este dia já passou: escolha hoje ou um dia depois.",
    not_found: "Não há visita agendada com este protocolo (já foi cancelada, feita ou remarcada por outra pessoa?).",
    bad_slot: "Informe o dia (AAAA-MM-DD) e o período (manhã ou tarde).",
    weekdays: ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"],
    terms: [
        ("booked", "agendada"),
        ("cancelled", "cancelada"),
        ("done", "feita"),
        ("none", "agenda própria"),
        ("pending", "enviando"),
        ("erp_done", "no ERP"),
        ("dead", "parada (precisa de operador)"),
    ],
};

const EN: AgendaLabels = AgendaLabels {
    lang: "en-US",
    title: "Visits agenda",
    back: "← Console",
    earlier: "← 14 days earlier",
    later: "14 days later →",
    from: "From",
    go: "Show",
    periods: "Use per day and period (booked / capacity)",
    day: "Day",
    period: "Period",
    morning: "Morning",
    afternoon: "Afternoon",
    unknown_capacity: "—",
    visits: "Visits",
    no_visits: "No visits on these days.",
    protocol: "Protocol",
    box_port: "Box / port",
    phone: "Phone",
    status: "Status",
    erp: "ERP",
    move_to: "Move to",
    move_button: "Move",
    cancel_button: "Cancel visit",
    for_good: "cancel for good (release the port's reservation)",
    done_button: "Installed",
    waiting: "Port reserved, no visit booked",
    waiting_note: "The team must call these clients to book a visit.",
    no_waiting: "No request waiting for a visit.",
    full: "This period is full: the visit stays where it was. Choose another day or period.",
    past: "This day has passed: choose today or a later day.",
    not_found: "No booked visit has this protocol (cancelled, done or moved by someone else?).",
    bad_slot: "Give the day (YYYY-MM-DD) and the period (morning or afternoon).",
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    terms: [
        ("booked", "booked"),
        ("cancelled", "cancelled"),
        ("done", "done"),
        ("none", "own agenda"),
        ("pending", "sending"),
        ("erp_done", "in the ERP"),
        ("dead", "stopped (needs an operator)"),
    ],
};

/// The words for `lang` (`en…`: English), else the service's language.
pub(super) fn labels(lang: Option<&str>, default: &str) -> &'static AgendaLabels {
    match super::labels::pick(lang, default).lang {
        "en-US" => &EN,
        _ => &PT,
    }
}

impl AgendaLabels {
    fn term(&self, key: &str) -> &'static str {
        self.terms
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("—", |(_, v)| v)
    }

    /// A day as the page writes it: `qui 10/12`.
    fn day(&self, day: &str) -> String {
        match Day::parse(day) {
            Some(d) => format!(
                "{} {:02}/{:02}",
                self.weekdays[usize::from(d.weekday())],
                if self.lang == "en-US" { d.month } else { d.day },
                if self.lang == "en-US" { d.day } else { d.month }
            ),
            None => day.to_string(),
        }
    }

    fn period(&self, p: &str) -> &'static str {
        if p == "morning" {
            self.morning
        } else {
            self.afternoon
        }
    }

    /// What a change did, in the page's words (no personal data).
    pub(super) fn done_text(&self, what: &str, protocol: &str, told: bool) -> String {
        let en = self.lang == "en-US";
        let did = match (what, en) {
            ("moved", false) => "remarcada",
            ("cancelled", false) => "cancelada",
            ("released", false) => "cancelada de vez; a porta será liberada no OZmap",
            ("done", false) => "marcada como feita",
            ("moved", true) => "moved",
            ("cancelled", true) => "cancelled",
            ("released", true) => "cancelled for good; the port will be released in OZmap",
            (_, true) => "marked done",
            _ => "",
        };
        let told = match (told, en) {
            (true, false) => " O cliente será avisado.",
            (true, true) => " The client will be told.",
            _ => "",
        };
        if en {
            format!("Visit {protocol} {did}.{told}")
        } else {
            format!("Visita {protocol} {did}.{told}")
        }
    }
}

fn use_cell(p: Option<&PeriodView>, l: &AgendaLabels) -> Markup {
    match p {
        None => html! { td.note { "·" } },
        Some(p) => {
            let cap = p
                .capacity
                .map_or(l.unknown_capacity.to_string(), |c| c.to_string());
            let full = p.capacity.is_some_and(|c| p.booked >= c && c > 0);
            html! {
                td.use-cell id={"use-" (p.day) "-" (p.period)} {
                    @if full { span.dead { (p.booked) " / " (cap) } } @else { (p.booked) " / " (cap) }
                }
            }
        }
    }
}

fn visit_card(v: &VisitView, l: &AgendaLabels, csrf: &str, from: Day) -> Markup {
    let bp = match (&v.box_name, v.port) {
        (Some(b), Some(p)) => format!("{b} / {p}"),
        (Some(b), None) => b.clone(),
        (None, Some(p)) => format!("— / {p}"),
        (None, None) => "—".into(),
    };
    let erp = if v.erp_status == "done" {
        l.term("erp_done")
    } else {
        l.term(&v.erp_status)
    };
    let hidden = html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="lang" value=(l.lang);
        input type="hidden" name="from" value=(from.to_string());
    };
    let action = |what: &str| format!("/console/agenda/{}/{what}", v.protocol);
    html! {
        article.visit id={"visit-" (v.protocol)} {
            h3 { (l.day(&v.day)) " · " (l.period(v.period)) }
            dl {
                dt { (l.protocol) } dd.protocol { (v.protocol) }
                dt { (l.box_port) } dd { (bp) }
                dt { (l.phone) } dd { (v.phone) }
                dt { (l.status) } dd.status { (l.term(v.status)) }
                dt { (l.erp) }
                dd {
                    @if v.erp_status == "dead" { span.dead { (erp) } } @else { (erp) }
                    @if let Some(r) = &v.erp_ref { " (" (r) ")" }
                    @if let Some(e) = &v.last_error { br; span.note.erp-error { (e) } }
                }
            }
            @if v.status == "booked" {
                form.move method="post" action=(action("move")) {
                    (hidden)
                    label { (l.move_to) " "
                        input type="date" name="day" value=(v.day) required;
                    }
                    " "
                    select name="period" aria-label=(l.period) {
                        option value="manha" selected[v.period == "morning"] { (l.morning) }
                        option value="tarde" selected[v.period == "afternoon"] { (l.afternoon) }
                    }
                    " "
                    button.move-button type="submit" { (l.move_button) }
                }
                form.cancel method="post" action=(action("cancel")) {
                    (hidden)
                    label { input type="checkbox" name="for_good" value="yes"; " " (l.for_good) }
                    br;
                    button.cancel-button type="submit" { (l.cancel_button) }
                }
                form.done method="post" action=(action("done")) {
                    (hidden)
                    button.done-button type="submit" { (l.done_button) }
                }
            }
        }
    }
}

pub(super) fn render(
    l: &AgendaLabels,
    csrf: &str,
    from: Day,
    a: &AgendaView,
    shown: &Shown,
) -> Markup {
    let mut days: Vec<&str> = a.periods.iter().map(|p| p.day.as_str()).collect();
    days.dedup();
    let find = |day: &str, period: &str| {
        a.periods
            .iter()
            .find(|p| p.day == day && p.period == period)
    };
    let link = |d: Day| format!("/console/agenda?lang={}&from={d}", l.lang);
    html! {
        (DOCTYPE)
        html lang=(l.lang) {
            (page::head(l.title))
            body {
                header {
                    h1 { "ozmap-ivr · " (l.title) }
                    div { a #back href={"/console?lang=" (l.lang)} { (l.back) } }
                }
                main {
                    @match shown {
                        Shown::Nothing => {}
                        Shown::Done(t) => { p.flash #flash { (t) } }
                        Shown::Error(t) => { p.error #agenda-error { (t) } }
                    }
                    section #agenda-nav {
                        a #earlier href=(link(from.plus(-14))) { (l.earlier) }
                        " · "
                        a #later href=(link(from.plus(14))) { (l.later) }
                        form.inline method="get" action="/console/agenda" {
                            input type="hidden" name="lang" value=(l.lang);
                            " "
                            label { (l.from) " " input type="date" name="from" value=(from.to_string()); }
                            " "
                            button type="submit" { (l.go) }
                        }
                    }
                    section #periods {
                        h2 { (l.periods) " · " (l.day(&a.from)) " – " (l.day(&a.to)) }
                        div.scroll {
                            table {
                                tr { th { (l.day) } th { (l.morning) } th { (l.afternoon) } }
                                @for day in &days {
                                    tr {
                                        td { (l.day(day)) }
                                        (use_cell(find(day, "morning"), l))
                                        (use_cell(find(day, "afternoon"), l))
                                    }
                                }
                            }
                        }
                    }
                    section #visits {
                        h2 { (l.visits) " (" (a.visits.len()) ")" }
                        @if a.visits.is_empty() { p.note { (l.no_visits) } }
                        div.visits {
                            @for v in &a.visits { (visit_card(v, l, csrf, from)) }
                        }
                    }
                    section #waiting {
                        h2 { (l.waiting) " (" (a.waiting.len()) ")" }
                        p.note { (l.waiting_note) }
                        @if a.waiting.is_empty() { p.note { (l.no_waiting) } } @else {
                            div.scroll {
                                table {
                                    tr { th { (l.protocol) } th { (l.box_port) } th { (l.phone) } }
                                    @for w in &a.waiting {
                                        tr.waiting-row {
                                            td { (w.protocol.as_deref().unwrap_or("—")) }
                                            td {
                                                (w.box_name.as_deref().unwrap_or("—"))
                                                @if let Some(p) = w.port { " / " (p) }
                                            }
                                            td { (w.phone) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
