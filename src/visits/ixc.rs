//! IXC Soft's service orders as the agenda (`SCHEDULE=ixc`): the table
//! `su_oss_chamado` of its webservice (`{url}/webservice/v1/…`).
//!
//! Documented by IXC (its webservice manual and the "API - IXC Provedor"
//! Postman collection, as public integrations cite them):
//! - a listing is a `POST /webservice/v1/<table>` with the header
//!   `ixcsoft: listar`, HTTP Basic with the API token (`user:token`), and a
//!   JSON body `{"qtype","query","oper","page","rp","sortname","sortorder"}`;
//!   the answer is `{"page","total","registros":[…]}`, every value a string;
//! - an order is inserted with a `POST /webservice/v1/su_oss_chamado` without
//!   that header; its required fields are `id_assunto`, `setor`, `id_filial`,
//!   `prioridade`, `origem_endereco` and `status`;
//! - an order carries `id`, `id_cliente`, `id_assunto`, `status`, `protocolo`,
//!   `mensagem`, `data_agenda`, `data_agenda_final` and
//!   `melhor_horario_agenda` (`M` morning, `T` afternoon, `N` night, `Q` any).
//!
//! Inferred, not documented (and so parsed with care; fixtures in
//! `fixtures/ixc-os-*.json`):
//! - an error may come as HTTP 200 with `{"type":"error","message"}`, and an
//!   insert answers `{"type":"success","message","id"}`;
//! - an update is a `PUT /webservice/v1/su_oss_chamado/{id}` with the whole
//!   record (public integrations send the listed row back with the fields
//!   changed);
//! - statuses: `F` finished (the client installed), `C` cancelled, `RAG`
//!   waiting to be rescheduled (its date no longer holds); every other status
//!   (`A`, `AN`, `EN`, `AS`, `AG`, `DS`, `EX`) is an open order;
//! - IXC keeps a `protocolo` given on insert; the protocol is also written in
//!   `mensagem` (`ozmap-ivr {protocol}`), so a retry finds the order by either
//!   before it creates one;
//! - a period's orders are those whose `data_agenda` falls on its day, in its
//!   half of the day by `melhor_horario_agenda`, or by the hour when that is
//!   `Q` or blank (before noon the morning, noon to 18:00 the afternoon).
//!
//! Free periods: each working day and period of the rules between the two
//! days, with the rules' visits per period as its capacity, less the orders
//! IXC already has scheduled in it (of any subject: a technician's repair
//! takes a place as an installation does).

use super::erp::{MAX_REF_CHARS, client, read, text};
use super::{AgendaError, ErpVisit, FreeSlot, SlotQuery, VisitBooking};
use ivr_core::agenda::{AgendaRules, Day, Period, Slot};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

const MAX_BODY: usize = 2 * 1024 * 1024;
/// Orders per page of a listing, and most pages read for one fortnight.
const PAGE_ROWS: usize = 500;
const MAX_PAGES: usize = 20;

/// What a new order is filed under: the ISP's own ids in IXC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IxcOrder {
    /// `id_assunto`: the subject "installation" (`su_oss_assunto`).
    pub subject: String,
    /// `setor`: the department the order goes to (`empresa_setor`).
    pub sector: String,
    /// `id_filial`: the branch (`filial`).
    pub branch: String,
}

#[derive(Clone, Debug)]
pub(crate) struct IxcAgenda {
    client: reqwest::Client,
    base: Url,
    /// `user:token`.
    token: SecretString,
    /// Which days and periods take visits, and how many each.
    rules: AgendaRules,
    order: IxcOrder,
}

/// An order's row, as IXC lists it.
type Row = Value;

impl IxcAgenda {
    pub(crate) fn new(
        url: Url,
        token: SecretString,
        timeout: Duration,
        rules: AgendaRules,
        order: IxcOrder,
    ) -> anyhow::Result<Self> {
        if url.cannot_be_a_base() {
            anyhow::bail!("the IXC URL cannot hold a path");
        }
        Ok(Self {
            client: client(timeout)?,
            base: url,
            token,
            rules,
            order,
        })
    }

    fn url(&self, id: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty()
                .extend(["webservice", "v1", "su_oss_chamado"]);
            if let Some(id) = id {
                p.push(id);
            }
        }
        url
    }

    fn request(&self, method: reqwest::Method, id: Option<&str>) -> reqwest::RequestBuilder {
        let t = self.token.expose_secret();
        let (user, password) = t.split_once(':').map_or((t, None), |(u, p)| (u, Some(p)));
        self.client
            .request(method, self.url(id))
            .basic_auth(user, password)
    }

    /// One page of orders where `field` `oper` `query`.
    async fn list(
        &self,
        field: &str,
        oper: &str,
        query: &str,
        page: usize,
        ascending: bool,
    ) -> Result<(Vec<Row>, Option<usize>), AgendaError> {
        let body = json!({
            "qtype": format!("su_oss_chamado.{field}"),
            "query": query,
            "oper": oper,
            "page": page.to_string(),
            "rp": PAGE_ROWS.to_string(),
            "sortname": if ascending { "su_oss_chamado.data_agenda" } else { "su_oss_chamado.id" },
            "sortorder": if ascending { "asc" } else { "desc" },
        });
        let sent = self
            .request(reqwest::Method::POST, None)
            .header("ixcsoft", "listar")
            .json(&body)
            .send()
            .await;
        let (_, body) = read(sent, "IXC listing", MAX_BODY).await?;
        rows(&body)
    }

    pub(crate) async fn free_slots(&self, q: &SlotQuery) -> Result<Vec<FreeSlot>, AgendaError> {
        let mut booked: HashMap<Slot, u32> = HashMap::new();
        let since = format!("{} 00:00:00", q.from);
        let mut complete = false;
        for page in 1..=MAX_PAGES {
            let (rows, total) = self.list("data_agenda", ">=", &since, page, true).await?;
            let mut past_the_end = false;
            for row in &rows {
                if agenda_day(row).is_some_and(|d| d > q.to) {
                    past_the_end = true;
                }
                if let Some(s) = scheduled(row).filter(|s| (q.from..=q.to).contains(&s.day)) {
                    *booked.entry(s).or_default() += 1;
                }
            }
            let read_all = total.is_some_and(|t| page * PAGE_ROWS >= t);
            if rows.len() < PAGE_ROWS || past_the_end || read_all {
                complete = true;
                break;
            }
        }
        if !complete {
            // Counting part of the orders would offer periods that are full.
            return Err(AgendaError::Refused(format!(
                "IXC listing: more than {} orders from {}: the periods cannot be counted",
                MAX_PAGES * PAGE_ROWS,
                q.from
            )));
        }
        Ok(free_periods(&self.rules, q.from, q.to, &booked))
    }

    /// The order of `protocol` that is not cancelled: by the reference an
    /// earlier booking got, else by `protocolo`, else by the mark in `mensagem`.
    async fn find(
        &self,
        protocol: &str,
        erp_ref: Option<&str>,
    ) -> Result<Option<Row>, AgendaError> {
        let live = |rows: Vec<Row>, pick: &dyn Fn(&Row) -> bool| {
            rows.into_iter()
                .find(|r| pick(r) && !matches!(status_of(r).as_deref(), Some("C")))
        };
        if let Some(id) = erp_ref {
            let (rows, _) = self.list("id", "=", id, 1, false).await?;
            if let Some(r) = live(rows, &|r| text(r.get("id"), 32).as_deref() == Some(id)) {
                return Ok(Some(r));
            }
        }
        let (rows, _) = self.list("protocolo", "=", protocol, 1, false).await?;
        let same = |r: &Row| text(r.get("protocolo"), 64).as_deref() == Some(protocol);
        if let Some(r) = live(rows, &same) {
            return Ok(Some(r));
        }
        let mark = mark(protocol);
        let (rows, _) = self.list("mensagem", "L", &mark, 1, false).await?;
        let marked = |r: &Row| {
            r.get("mensagem")
                .and_then(Value::as_str)
                .is_some_and(|m| m.contains(&mark))
        };
        Ok(live(rows, &marked))
    }

    pub(crate) async fn book(&self, v: &VisitBooking) -> Result<String, AgendaError> {
        if let Some(row) = self.find(&v.protocol, v.erp_ref.as_deref()).await? {
            let id = text(row.get("id"), MAX_REF_CHARS)
                .ok_or_else(|| AgendaError::Refused("IXC listing: an order without id".into()))?;
            if scheduled(&row) == Some(v.slot) {
                return Ok(id);
            }
            // A move: the order keeps its id, with the new date and period.
            let body = rescheduled(row, v.slot);
            let sent = self
                .request(reqwest::Method::PUT, Some(&id))
                .json(&body)
                .send()
                .await;
            let (_, answer) = read(sent, "IXC update", MAX_BODY).await?;
            written(&answer, "IXC update")?;
            return Ok(id);
        }
        let sent = self
            .request(reqwest::Method::POST, None)
            .json(&new_order(&self.order, v))
            .send()
            .await;
        let (_, answer) = read(sent, "IXC insert", MAX_BODY).await?;
        written(&answer, "IXC insert")?
            .ok_or_else(|| AgendaError::Refused("IXC insert: the answer has no id".into()))
    }

    pub(crate) async fn cancel(
        &self,
        protocol: &str,
        erp_ref: Option<&str>,
    ) -> Result<(), AgendaError> {
        let Some(mut row) = self.find(protocol, erp_ref).await? else {
            return Ok(());
        };
        let id = text(row.get("id"), MAX_REF_CHARS)
            .ok_or_else(|| AgendaError::Refused("IXC listing: an order without id".into()))?;
        if let Some(o) = row.as_object_mut() {
            o.insert("status".into(), json!("C"));
        }
        let sent = self
            .request(reqwest::Method::PUT, Some(&id))
            .json(&row)
            .send()
            .await;
        let (_, answer) = read(sent, "IXC cancel", MAX_BODY).await?;
        written(&answer, "IXC cancel").map(|_| ())
    }

    pub(crate) async fn status(
        &self,
        protocol: &str,
        erp_ref: &str,
    ) -> Result<ErpVisit, AgendaError> {
        let (rows, _) = self.list("id", "=", erp_ref, 1, false).await?;
        let row = rows
            .into_iter()
            .find(|r| text(r.get("id"), 32).as_deref() == Some(erp_ref));
        let row = match row {
            Some(r) => r,
            None => self.find(protocol, None).await?.ok_or_else(|| {
                AgendaError::Refused("IXC listing: the visit's order is not found".into())
            })?,
        };
        Ok(order_status(&row))
    }
}

/// The mark written in an order's `mensagem`.
fn mark(protocol: &str) -> String {
    format!("ozmap-ivr {protocol}")
}

/// A listing's rows and its `total`; an error in a 200 is a refusal.
pub(super) fn rows(body: &[u8]) -> Result<(Vec<Row>, Option<usize>), AgendaError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| AgendaError::Refused("IXC listing: the answer is not JSON".into()))?;
    if let Some(e) = refusal(&v, "IXC listing") {
        return Err(e);
    }
    let total = text(v.get("total"), 16).and_then(|t| t.parse().ok());
    match v.get("registros") {
        Some(Value::Array(rows)) => Ok((rows.clone(), total)),
        // `{"total":"0"}` without rows: nothing found.
        None | Some(Value::Null) if total.is_some() => Ok((Vec::new(), total)),
        _ => Err(AgendaError::Refused(
            "IXC listing: no registros and no total".into(),
        )),
    }
}

/// `{"type":"error","message"}` as a refusal, its message cleaned.
fn refusal(v: &Value, what: &str) -> Option<AgendaError> {
    (v.get("type").and_then(Value::as_str) == Some("error")).then(|| {
        let message = text(v.get("message"), 200).unwrap_or_else(|| "no message".into());
        AgendaError::Refused(format!("{what}: IXC answered an error: {message}"))
    })
}

/// An insert's or update's answer: the order's id when it gives one.
pub(super) fn written(body: &[u8], what: &str) -> Result<Option<String>, AgendaError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| AgendaError::Refused(format!("{what}: the answer is not JSON")))?;
    if let Some(e) = refusal(&v, what) {
        return Err(e);
    }
    if v.get("type").and_then(Value::as_str) != Some("success") {
        return Err(AgendaError::Refused(format!(
            "{what}: the answer is not a success"
        )));
    }
    Ok(text(v.get("id"), MAX_REF_CHARS))
}

fn status_of(row: &Row) -> Option<String> {
    text(row.get("status"), 8).map(|s| s.to_uppercase())
}

/// Where an order stands.
pub(super) fn order_status(row: &Row) -> ErpVisit {
    match status_of(row).as_deref() {
        Some("F") => ErpVisit::Done,
        Some("C") => ErpVisit::Cancelled,
        _ => ErpVisit::Open,
    }
}

/// The day of an order's `data_agenda` (`YYYY-MM-DD HH:MM:SS`).
fn agenda_day(row: &Row) -> Option<Day> {
    Day::parse(text(row.get("data_agenda"), 32)?.get(..10)?)
}

/// The period an order takes: `None` when it takes none (cancelled, waiting
/// to be rescheduled, no date, at night).
pub(super) fn scheduled(row: &Row) -> Option<Slot> {
    if matches!(status_of(row).as_deref(), Some("C" | "RAG")) {
        return None;
    }
    let at = text(row.get("data_agenda"), 32)?;
    let day = agenda_day(row)?;
    let hour: Option<u32> = at.get(11..13).and_then(|h| h.parse().ok());
    let period = match text(row.get("melhor_horario_agenda"), 4).as_deref() {
        Some("M") => Period::Morning,
        Some("T") => Period::Afternoon,
        Some("N") => return None,
        _ => match hour? {
            0..=11 => Period::Morning,
            12..=17 => Period::Afternoon,
            _ => return None,
        },
    };
    Some(Slot { day, period })
}

/// Each working period of `rules` from `from` to `to` with room left after
/// the orders already `booked`, in order.
pub(super) fn free_periods(
    rules: &AgendaRules,
    from: Day,
    to: Day,
    booked: &HashMap<Slot, u32>,
) -> Vec<FreeSlot> {
    let days = (to.days_since_epoch() - from.days_since_epoch()).clamp(-1, 366);
    (0..=days)
        .map(|n| from.plus(n))
        .filter(|d| rules.is_working_day(*d))
        .flat_map(|day| {
            rules
                .periods
                .iter()
                .map(move |&period| Slot { day, period })
        })
        .filter_map(|slot| {
            let taken = booked.get(&slot).copied().unwrap_or(0);
            let free = rules.per_period.saturating_sub(taken);
            (free > 0).then_some(FreeSlot {
                slot,
                capacity: rules.per_period,
                free,
            })
        })
        .collect()
}

/// The agenda's start and end for a period (inferred: IXC takes a date and
/// time; the period's letter says which half of the day).
fn window(slot: Slot) -> (String, String, &'static str) {
    let (start, end, letter) = match slot.period {
        Period::Morning => ("08:00:00", "12:00:00", "M"),
        Period::Afternoon => ("13:00:00", "18:00:00", "T"),
    };
    (
        format!("{} {start}", slot.day),
        format!("{} {end}", slot.day),
        letter,
    )
}

/// A listed order with a new date and period.
pub(super) fn rescheduled(mut row: Row, slot: Slot) -> Row {
    let (start, end, letter) = window(slot);
    if let Some(o) = row.as_object_mut() {
        o.insert("data_agenda".into(), json!(start));
        o.insert("data_agenda_final".into(), json!(end));
        o.insert("melhor_horario_agenda".into(), json!(letter));
        o.insert("status".into(), json!("AG"));
    }
    row
}

/// The order a booking inserts.
pub(super) fn new_order(order: &IxcOrder, v: &VisitBooking) -> Value {
    let (start, end, letter) = window(v.slot);
    let client = v.client_code.split('|').next().unwrap_or_default();
    let mut message = format!(
        "Instalação agendada pela URA ({}). Cliente {}",
        mark(&v.protocol),
        v.client_code
    );
    match (&v.box_name, v.port) {
        (Some(b), Some(p)) => message.push_str(&format!(", caixa {b}, porta {p}")),
        (Some(b), None) => message.push_str(&format!(", caixa {b}")),
        _ => {}
    }
    if let Some(phone) = &v.phone {
        message.push_str(&format!(", telefone {phone}"));
    }
    message.push('.');
    json!({
        "tipo": "C",
        "id_assunto": order.subject,
        "id_cliente": client,
        "id_filial": order.branch,
        "setor": order.sector,
        "prioridade": "N",
        "origem_endereco": "M",
        "endereco": v.address,
        "latitude": format!("{:.7}", v.lat),
        "longitude": format!("{:.7}", v.lng),
        "status": "AG",
        "data_agenda": start,
        "data_agenda_final": end,
        "melhor_horario_agenda": letter,
        "protocolo": v.protocol,
        "mensagem": message,
    })
}
