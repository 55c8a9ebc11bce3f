//! The technicians' agenda as operators see and change it, shared by
//! `ozmap-ivr visits …`, `GET|POST /admin/visits…` and the console's agenda
//! page: per day and period the visits booked against the capacity, each visit
//! with its protocol, box and port (from its ledger row) and the number
//! masked; the requests that reserved a port and have no visit yet; and the
//! three changes an operator makes: move, cancel (optionally for good), done.
//!
//! A move or a cancellation tells the client (an SMS, or a WhatsApp reply for a
//! reservation made in a chat) in the same transaction as the change
//! ([`Store::change_visit`]). What the reservation's life does next (the port
//! released after a cancellation for good, the client implanted in OZmap when
//! the visit is done) is the worker's, asked here through the ledger
//! ([`Store::release_for_good`], [`Store::mark_installed`]).

use crate::redact;
use crate::store::{
    CHAT_KEY_PREFIX, LifeMark, Notice, Reservation, Store, StoreError, Tell, Visit, VisitChange,
    VisitChanged, VisitStatus,
};
use ivr_core::agenda::{AgendaRules, Day, Period, Slot};
use ivr_core::chat::ChatMessage;
use ivr_core::domain::ReservationOutcome;
use ivr_core::flow::{Arg, Line};
use ivr_core::prompts::Prompts;
use serde::Serialize;

/// Most days one agenda request shows.
pub(crate) const MAX_DAYS: i64 = 62;

/// A visit as operators see it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct VisitView {
    pub protocol: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `morning` or `afternoon`.
    pub period: &'static str,
    /// `booked`, `cancelled` or `done`.
    pub status: &'static str,
    pub reservation_id: Option<i64>,
    /// The box by its name (never its id); `null` while it is not known.
    pub box_name: Option<String>,
    pub port: Option<i64>,
    /// The client's number, masked (the last two digits).
    pub phone: String,
    /// Where a change is told: `sms`, `whatsapp`, or `none`.
    pub channel: &'static str,
    /// The booking in the ERP: `none` (the service's own agenda), `pending`,
    /// `done`, `dead` (an operator must look: `last_error`).
    pub erp_status: String,
    pub erp_ref: Option<String>,
    pub erp_attempts: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A period's use: `capacity` is `null` when it is not known (nothing was
/// booked in it, and the agenda's rules were not given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PeriodView {
    pub day: String,
    pub period: &'static str,
    pub booked: u32,
    pub capacity: Option<u32>,
}

/// A request that reserved a port and has no visit booked: the team calls.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct WaitingView {
    pub reservation_id: i64,
    pub protocol: Option<String>,
    pub box_name: Option<String>,
    pub port: Option<i64>,
    pub phone: String,
    pub channel: &'static str,
    pub updated_at_ms: i64,
}

/// The agenda from `from` to `to`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AgendaView {
    pub from: String,
    pub to: String,
    pub periods: Vec<PeriodView>,
    pub visits: Vec<VisitView>,
    pub waiting: Vec<WaitingView>,
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpError {
    #[error("no booked visit with protocol {0}")]
    NotFound(String),
    #[error("the period {0} is full: the visit stays where it was")]
    Full(String),
    #[error("{0} has passed: choose today or a later day")]
    Past(String),
    #[error("the visit {0} has no booking the ERP refused (nothing to send again)")]
    NotDead(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The number the client is told at, masked, and the channel.
fn contact(r: Option<&Reservation>) -> (String, &'static str) {
    match r {
        None => (redact::phone(""), "none"),
        Some(r) if r.made_in_chat() => (
            redact::phone(r.call_sid.strip_prefix(CHAT_KEY_PREFIX).unwrap_or("")),
            "whatsapp",
        ),
        Some(r) => {
            let phone = r.request.phone.as_deref().unwrap_or("");
            let channel = match crate::sms::mobile_number(phone) {
                Some(_) => "sms",
                None => "none",
            };
            (redact::phone(phone), channel)
        }
    }
}

/// The box's name and the port a ledger row reserved.
fn box_and_port(r: Option<&Reservation>) -> (Option<String>, Option<i64>) {
    match r.and_then(|r| r.outcome.as_ref()) {
        Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) => {
            (p.box_name.as_ref().map(|b| b.as_str().to_string()), p.port)
        }
        _ => (None, None),
    }
}

pub(crate) fn view(v: &Visit, r: Option<&Reservation>) -> VisitView {
    let (phone, channel) = contact(r);
    let (box_name, port) = box_and_port(r);
    VisitView {
        protocol: v.protocol.clone(),
        day: v.slot.day.to_string(),
        period: v.slot.period.as_str(),
        status: v.status.as_str(),
        reservation_id: v.reservation_id,
        box_name,
        port,
        phone,
        channel,
        erp_status: v.erp_status.clone(),
        erp_ref: v.erp_ref.clone(),
        erp_attempts: v.erp_attempts,
        last_error: v.last_error.clone(),
        created_at_ms: v.created_at,
        updated_at_ms: v.updated_at,
    }
}

/// The ledger row of a visit: by its id, else by the protocol.
async fn ledger_row(store: &Store, v: &Visit) -> Result<Option<Reservation>, StoreError> {
    match v.reservation_id {
        Some(id) => store.reservation(id).await,
        None => store.reservation_by_protocol(&v.protocol).await,
    }
}

/// A visit with its ledger row, as operators see it.
pub(crate) async fn visit_view(store: &Store, v: &Visit) -> Result<VisitView, StoreError> {
    let r = ledger_row(store, v).await?;
    Ok(view(v, r.as_ref()))
}

/// The agenda from `from` to `to` (both included). With the agenda's `rules`,
/// every period of its working days is listed (0 / its capacity when nothing
/// is booked); without, every day's morning and afternoon, the capacity known
/// only where something was booked.
pub(crate) async fn agenda(
    store: &Store,
    from: Day,
    to: Day,
    rules: Option<&AgendaRules>,
) -> Result<AgendaView, StoreError> {
    let used = store.period_use(from, to).await?;
    let mut periods = Vec::new();
    let days = (to.days_since_epoch() - from.days_since_epoch()).clamp(0, MAX_DAYS);
    for n in 0..=days {
        let day = from.plus(n);
        let (working, list, per) = match rules {
            Some(r) => (r.is_working_day(day), r.periods.clone(), Some(r.per_period)),
            None => (true, Period::ALL.to_vec(), None),
        };
        for period in list {
            let slot = Slot { day, period };
            match used.iter().find(|u| u.slot == slot) {
                Some(u) => periods.push(PeriodView {
                    day: day.to_string(),
                    period: period.as_str(),
                    booked: u.booked,
                    capacity: Some(u.capacity),
                }),
                None if working => periods.push(PeriodView {
                    day: day.to_string(),
                    period: period.as_str(),
                    booked: 0,
                    capacity: per,
                }),
                None => {}
            }
        }
    }
    let mut visits = Vec::new();
    for v in store.visits_between(from, to).await? {
        visits.push(visit_view(store, &v).await?);
    }
    let waiting = store
        .reserved_without_visit(200)
        .await?
        .iter()
        .map(|r| {
            let (phone, channel) = contact(Some(r));
            let (box_name, port) = box_and_port(Some(r));
            WaitingView {
                reservation_id: r.id,
                protocol: r.request.protocol.clone(),
                box_name,
                port,
                phone,
                channel,
                updated_at_ms: r.updated_at,
            }
        })
        .collect();
    Ok(AgendaView {
        from: from.to_string(),
        to: to.to_string(),
        periods,
        visits,
        waiting,
    })
}

/// A period as operators write it: `manha`/`manhã`/`morning`,
/// `tarde`/`afternoon`.
pub(crate) fn parse_period(s: &str) -> Option<Period> {
    match s.trim().to_lowercase().as_str() {
        "manha" | "manhã" | "morning" => Some(Period::Morning),
        "tarde" | "afternoon" => Some(Period::Afternoon),
        _ => None,
    }
}

/// `YYYY-MM-DD` and a period, checked; the error says what is wrong.
pub(crate) fn parse_slot(day: &str, period: &str) -> Result<Slot, String> {
    let day = Day::parse(day.trim())
        .ok_or_else(|| format!("{:?} is not a day: write it YYYY-MM-DD", day.trim()))?;
    let period = parse_period(period).ok_or_else(|| {
        format!(
            "{:?} is not a period: manha (morning) or tarde (afternoon)",
            period.trim()
        )
    })?;
    Ok(Slot { day, period })
}

/// A slot in writing, in the prompts' language (with its date).
pub(crate) fn written_slot(language: &str, slot: &Slot) -> String {
    ivr_core::agenda::spoken::written(slot, language)
}

/// The message telling the client of a change (`key`: `sms.visit_moved` or
/// `sms.visit_cancelled`), for [`Store::change_visit`].
fn teller(prompts: &Prompts, key: &'static str) -> Tell {
    let prompts = prompts.clone();
    Box::new(move |v: &Visit, r: &Reservation| {
        let protocol = r
            .request
            .protocol
            .clone()
            .unwrap_or_else(|| v.protocol.clone());
        let when = written_slot(prompts.language(), &v.slot);
        let body = prompts.text(
            &Line::new(key)
                .arg("protocol", Arg::Digits(protocol))
                .arg("when", Arg::Text(when)),
        );
        if r.made_in_chat() {
            let wa_id = r.call_sid.strip_prefix(CHAT_KEY_PREFIX)?.to_string();
            let payload = crate::whatsapp::chat_payload(&wa_id, &ChatMessage::Text(body));
            Some(Notice::Chat { wa_id, payload })
        } else {
            let phone = crate::sms::mobile_number(r.request.phone.as_deref()?)?;
            Some(Notice::Sms { phone, body })
        }
    })
}

/// What a change did.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Changed {
    pub visit: VisitView,
    /// A message to the client was written with the change.
    pub told: bool,
    /// After a cancellation for good: the reservation to release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseWish>,
    /// After a visit done: the client to mark implanted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implant: Option<ImplantWish>,
}

/// Moves the visit of `protocol` to `to` (its place there taken against
/// `capacity`; `None`: the capacity the period was booked against, see
/// [`Store::move_visit`]) and tells the client. A day before `today` is
/// refused.
pub(crate) async fn move_visit(
    store: &Store,
    prompts: &Prompts,
    protocol: &str,
    to: Slot,
    capacity: Option<u32>,
    (today, now): (Day, i64),
) -> Result<Changed, OpError> {
    if to.day < today {
        return Err(OpError::Past(to.day.to_string()));
    }
    let change = VisitChange::Move { to, capacity };
    let tell = teller(prompts, "sms.visit_moved");
    let (visit, told) = match store.change_visit(protocol, change, now, tell).await? {
        VisitChanged::Done { visit, told } => (visit, told),
        VisitChanged::Unchanged(visit) => (visit, false),
        VisitChanged::Full => return Err(OpError::Full(to.key())),
        VisitChanged::NotFound => return Err(OpError::NotFound(protocol.to_string())),
    };
    tracing::info!(protocol, to = %to, told, "visit moved by an operator");
    Ok(Changed {
        visit: visit_view(store, &visit).await?,
        told,
        release: None,
        implant: None,
    })
}

/// Cancels the visit of `protocol` (its place given back) and tells the
/// client; `for_good`: the reservation is to be released as well.
pub(crate) async fn cancel_visit(
    store: &Store,
    prompts: &Prompts,
    protocol: &str,
    for_good: bool,
    now: i64,
) -> Result<Changed, OpError> {
    let tell = teller(prompts, "sms.visit_cancelled");
    let (visit, told) = match store
        .change_visit(protocol, VisitChange::Cancel, now, tell)
        .await?
    {
        VisitChanged::Done { visit, told } => (visit, told),
        _ => return Err(OpError::NotFound(protocol.to_string())),
    };
    tracing::info!(protocol, for_good, told, "visit cancelled by an operator");
    let release = match (for_good, visit.reservation_id) {
        (true, Some(id)) => release_reservation_for_good(store, id, now).await?,
        _ => None,
    };
    Ok(Changed {
        visit: visit_view(store, &visit).await?,
        told,
        release,
        implant: None,
    })
}

/// Marks the visit of `protocol` done (the technician installed the client):
/// an operator, or the ERP's integration reporting it.
pub(crate) async fn mark_done(store: &Store, protocol: &str, now: i64) -> Result<Changed, OpError> {
    let visit = store
        .end_visit(protocol, VisitStatus::Done, now)
        .await?
        .ok_or_else(|| OpError::NotFound(protocol.to_string()))?;
    tracing::info!(protocol, "visit marked done");
    let implant = client_implanted(store, &visit, now).await?;
    Ok(Changed {
        visit: visit_view(store, &visit).await?,
        told: false,
        release: None,
        implant,
    })
}

/// Sends the visit of `protocol`, whose booking the ERP refused (a dead
/// letter), to the ERP's outbox again.
pub(crate) async fn retry_erp(store: &Store, protocol: &str, now: i64) -> Result<Changed, OpError> {
    if !store.requeue_visit_job(protocol, now).await? {
        return Err(OpError::NotDead(protocol.to_string()));
    }
    tracing::info!(protocol, "visit sent to the ERP again by an operator");
    let visit = store
        .visit_by_protocol(protocol)
        .await?
        .ok_or_else(|| OpError::NotFound(protocol.to_string()))?;
    Ok(Changed {
        visit: visit_view(store, &visit).await?,
        told: false,
        release: None,
        implant: None,
    })
}

/// A reservation to release in OZmap (its property deleted, the port freed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ReleaseWish {
    pub reservation_id: i64,
    pub property_id: String,
    /// The worker's release job has it (now, or from an earlier word).
    pub queued: bool,
    /// What the ledger said ([`life_word`]).
    pub state: &'static str,
}

/// A client to mark implanted in OZmap (the property of its reservation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ImplantWish {
    pub reservation_id: i64,
    pub property_id: String,
    /// The worker's implant job has it (now, or from an earlier word).
    pub queued: bool,
    /// What the ledger said ([`life_word`]).
    pub state: &'static str,
}

/// The ledger's answer to a release or an installation, as a word for the
/// JSON, the CLI and the console.
pub(crate) fn life_word(mark: LifeMark) -> &'static str {
    match mark {
        LifeMark::Marked => "queued",
        LifeMark::Already => "already_queued",
        LifeMark::Released => "already_released",
        LifeMark::Installed => "installed",
        LifeMark::Busy => "busy",
        LifeMark::NoReservation => "no_reservation",
    }
}

/// The property a ledger row holds in OZmap.
async fn property_of(store: &Store, reservation_id: i64) -> Result<Option<String>, StoreError> {
    Ok(store
        .reservation(reservation_id)
        .await?
        .and_then(|r| match r.outcome {
            Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) => {
                Some(p.property_id)
            }
            _ => None,
        }))
}

/// Asks the ledger, and again shortly while the worker holds the row this
/// moment ([`LifeMark::Busy`]).
async fn life_mark<F, Fut>(ask: F) -> Result<LifeMark, StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<LifeMark, StoreError>>,
{
    let mut mark = ask().await?;
    for _ in 0..5 {
        if mark != LifeMark::Busy {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        mark = ask().await?;
    }
    Ok(mark)
}

/// A visit cancelled for good releases its reservation in OZmap: the
/// worker's release job ([`Store::release_for_good`]) deletes the property,
/// exactly once, and tells the client.
pub(crate) async fn release_reservation_for_good(
    store: &Store,
    reservation_id: i64,
    now: i64,
) -> Result<Option<ReleaseWish>, StoreError> {
    let Some(property_id) = property_of(store, reservation_id).await? else {
        return Ok(None);
    };
    let mark = life_mark(|| store.release_for_good(reservation_id, now)).await?;
    tracing::info!(state = life_word(mark), "release asked by an operator");
    Ok(Some(ReleaseWish {
        reservation_id,
        property_id,
        queued: matches!(mark, LifeMark::Marked | LifeMark::Already),
        state: life_word(mark),
    }))
}

/// A visit done makes the client implanted in OZmap: the worker's implant
/// job ([`Store::mark_installed`]), exactly once; an installed reservation is
/// never released.
pub(crate) async fn client_implanted(
    store: &Store,
    visit: &Visit,
    now: i64,
) -> Result<Option<ImplantWish>, StoreError> {
    let Some(id) = visit.reservation_id else {
        return Ok(None);
    };
    let Some(property_id) = property_of(store, id).await? else {
        return Ok(None);
    };
    let mark = life_mark(|| store.mark_installed(id, now)).await?;
    Ok(Some(ImplantWish {
        reservation_id: id,
        property_id,
        queued: matches!(mark, LifeMark::Marked | LifeMark::Already),
        state: life_word(mark),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(s: &str) -> Slot {
        Slot::parse(s).unwrap()
    }

    #[test]
    fn a_slot_is_written_as_people_read_it() {
        let s = slot("2026-12-10/morning");
        assert_eq!(written_slot("pt-BR", &s), "quinta-feira, 10/12, de manhã");
        assert_eq!(written_slot("en-US", &s), "Thursday, 12/10, morning");
        let s = slot("2026-12-12/afternoon");
        assert_eq!(written_slot("pt-BR", &s), "sábado, 12/12, à tarde");
    }

    #[test]
    fn operators_write_a_period_in_either_language_and_a_bad_one_is_named() {
        assert_eq!(parse_period("manhã"), Some(Period::Morning));
        assert_eq!(parse_period(" Tarde "), Some(Period::Afternoon));
        assert_eq!(parse_period("noite"), None);
        assert_eq!(
            parse_slot("2026-12-10", "manha").unwrap(),
            slot("2026-12-10/morning")
        );
        assert!(
            parse_slot("10/12/2026", "manha")
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(
            parse_slot("2026-12-10", "noite")
                .unwrap_err()
                .contains("tarde")
        );
        assert!(parse_slot("2026-02-30", "tarde").is_err());
    }
}
