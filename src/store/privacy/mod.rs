//! Data subjects (LGPD art. 18): everything the store holds about one person,
//! found by their phone number or their client code, exported as JSON or
//! erased. What each table holds and what happens to it is in
//! `docs/privacy.md`.
//!
//! Finding is a scan in Rust of the tables that hold personal data (the
//! numbers are stored as the platforms gave them, the call state as JSON):
//! slow for a large store, but an LGPD request is rare and the tables are
//! purged after the retention period. Erasure is one transaction (a call
//! state's `seq` moves on, so a webhook in flight cannot write the person's
//! data back over it): call
//! states are emptied (their funnel columns, which hold no personal data,
//! stay), ledger rows are anonymised (protocol, client code, status and
//! the OZmap ids stay: the property in OZmap is the ISP's to remove),
//! messages, chat replies and inbox rows go, cached geocoding answers for
//! the person's address go, and one audit row is written with a keyed
//! hash of the subject.

mod kept;
mod visits;

use super::{CHAT_KEY_PREFIX, Store, StoreError};
use hmac::{Hmac, KeyInit, Mac};
use ivr_core::domain::{ClientCode, Place, ReservationOutcome, ReservationRequest};
use ivr_core::flow::Call;
use kept::{anonymised, emptied, places_of, same_place};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::{Connection, Row};
use std::collections::BTreeSet;

/// Whom a request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A phone number in E.164 (`+55…`), see [`normalise_phone`].
    Phone(String),
    Client(ClientCode),
}

impl Subject {
    /// The text hashed into the audit (never stored in clear).
    fn audit_text(&self) -> String {
        match self {
            Subject::Phone(p) => format!("phone:{p}"),
            Subject::Client(c) => format!("client:{}", c.as_str()),
        }
    }
}

/// A phone number in E.164, Brazil by default: `48 99999-0000`,
/// `(48) 99999-0000`, `048999990000`, `5548999990000` and `+5548999990000`
/// are all `+5548999990000`. `None` when it has too few or too many digits.
pub(crate) fn normalise_phone(text: &str) -> Option<String> {
    let plus = text.trim_start().starts_with('+');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let e164 = if plus {
        digits
    } else {
        let national = digits.trim_start_matches('0');
        match national.len() {
            // area code and number (8 or 9 digits)
            10 | 11 => format!("55{national}"),
            12 | 13 if national.starts_with("55") => national.to_string(),
            _ => national.to_string(),
        }
    };
    (10..=15).contains(&e164.len()).then(|| format!("+{e164}"))
}

/// Everything held about a subject (the export), table by table.
#[derive(Debug, Default, Serialize)]
pub struct SubjectData {
    /// Call and WhatsApp conversation states (`calls`).
    pub calls: Vec<Value>,
    /// Ledger rows (`reservations`), whole.
    pub reservations: Vec<Value>,
    /// SMS outbox rows (`messages`).
    pub messages: Vec<Value>,
    /// WhatsApp replies (`whatsapp_outbox`).
    pub chat_replies: Vec<Value>,
    /// WhatsApp messages received and not yet processed (`whatsapp_inbox`).
    pub chat_inbox: Vec<Value>,
    /// Cached geocoding answers naming the person's address (`geocodes`).
    pub geocodes: Vec<Value>,
    /// Technicians' visits of the person's requests (`visits`).
    pub visits: Vec<Value>,
    #[serde(skip)]
    found: Found,
}

/// The keys of the rows found, for the erasure.
#[derive(Debug, Default)]
struct Found {
    calls: Vec<(String, Call)>,
    reservations: Vec<(i64, String, ReservationRequest, String, i64)>,
    messages: Vec<i64>,
    chat_replies: Vec<i64>,
    chat_inbox: Vec<i64>,
    geocodes: Vec<String>,
    visits: Vec<visits::FoundVisit>,
}

impl SubjectData {
    /// Nothing is held.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
            && self.reservations.is_empty()
            && self.messages.is_empty()
            && self.chat_replies.is_empty()
            && self.chat_inbox.is_empty()
            && self.geocodes.is_empty()
            && self.visits.is_empty()
    }
}

/// What an erasure did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Erasure {
    pub calls: usize,
    pub reservations: usize,
    pub messages: usize,
    pub chat_replies: usize,
    pub chat_inbox: usize,
    pub geocodes: usize,
    /// Visits deleted (a booked one's place given back).
    pub visits: usize,
    /// Reservations whose property stays in OZmap: protocol and property id.
    pub kept_in_ozmap: Vec<KeptInOzmap>,
    /// The audit row written (none when nothing was found).
    pub audit_id: Option<i64>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct KeptInOzmap {
    pub protocol: Option<String>,
    pub property_id: String,
}

impl Erasure {
    pub fn nothing_found(&self) -> bool {
        self.audit_id.is_none()
    }
}

/// Why an erasure was not made.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("reservation {0} is being made in OZmap right now; erase again when it has finished")]
    Busy(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn phone_matches(subject: &Subject, text: Option<&str>) -> bool {
    match (subject, text.and_then(normalise_phone)) {
        (Subject::Phone(p), Some(n)) => *p == n,
        _ => false,
    }
}

impl Store {
    /// Everything held about `subject` (rows already erased are not).
    pub async fn subject_data(&self, subject: &Subject) -> Result<SubjectData, StoreError> {
        let mut out = SubjectData::default();
        let mut places: Vec<Place> = Vec::new();
        let mut chat_keys: BTreeSet<String> = BTreeSet::new();
        let mut call_sids: BTreeSet<String> = BTreeSet::new();

        // Ledger rows (not erased): by client code, by the number of a lead, by
        // a WhatsApp conversation's number.
        let rows = sqlx::query(
            "SELECT id, client_code, call_sid, request, status, outcome, protocol, created_at, \
             updated_at, claimed_until FROM reservations WHERE erased_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut ledger = Vec::new();
        for r in rows {
            let sid: String = r.try_get("call_sid")?;
            let text: String = r.try_get("request")?;
            let req: ReservationRequest = serde_json::from_str(&text).map_err(corrupt)?;
            let code: String = r.try_get("client_code")?;
            let chat_number = sid.strip_prefix(CHAT_KEY_PREFIX);
            let hit = match subject {
                Subject::Client(c) => c.as_str() == code,
                Subject::Phone(_) => {
                    phone_matches(subject, req.phone.as_deref())
                        || phone_matches(subject, chat_number)
                }
            };
            ledger.push((r, sid, req, hit));
        }

        // Call states: by the caller's number, the code they gave, the
        // conversation's number.
        let rows = sqlx::query(
            "SELECT call_sid, state, last_reply, steps, step, outcome, created_at, updated_at, \
             ended_at FROM calls ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        let linked: BTreeSet<String> = ledger.iter().filter(|l| l.3).map(|l| l.1.clone()).collect();
        for r in rows {
            let sid: String = r.try_get("call_sid")?;
            let state: String = r.try_get("state")?;
            let call: Call = serde_json::from_str(&state).map_err(corrupt)?;
            let hit = linked.contains(&sid)
                || match subject {
                    Subject::Client(c) => call.data.code.as_ref() == Some(c),
                    Subject::Phone(_) => {
                        phone_matches(subject, call.data.phone.as_deref())
                            || phone_matches(subject, sid.strip_prefix(CHAT_KEY_PREFIX))
                    }
                };
            // An erased state holds nothing of anyone.
            if !hit || call.data == emptied(&call).data {
                continue;
            }
            places.extend(places_of(&call));
            if let Some(n) = sid.strip_prefix(CHAT_KEY_PREFIX) {
                chat_keys.insert(n.to_string());
            }
            call_sids.insert(sid.clone());
            out.calls.push(json!({
                "call_sid": sid,
                "state": serde_json::to_value(&call).map_err(corrupt)?,
                "last_reply": r.try_get::<Option<String>, _>("last_reply")?,
                "steps_reached": r.try_get::<String, _>("steps")?,
                "step": r.try_get::<Option<String>, _>("step")?,
                "outcome": r.try_get::<Option<String>, _>("outcome")?,
                "created_at_ms": r.try_get::<i64, _>("created_at")?,
                "updated_at_ms": r.try_get::<i64, _>("updated_at")?,
                "ended_at_ms": r.try_get::<Option<i64>, _>("ended_at")?,
            }));
            out.found.calls.push((sid, call));
        }

        // Ledger rows of those calls too (the caller's number is not on a row).
        for (r, sid, req, hit) in ledger {
            if !(hit || call_sids.contains(&sid)) {
                continue;
            }
            let outcome: Option<String> = r.try_get("outcome")?;
            let outcome: Option<ReservationOutcome> = outcome
                .map(|o| serde_json::from_str(&o))
                .transpose()
                .map_err(corrupt)?;
            let property = match &outcome {
                Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) => {
                    Some(p.property_id.clone())
                }
                _ => None,
            };
            let id: i64 = r.try_get("id")?;
            places.push(req.place.clone());
            if let Some(n) = sid.strip_prefix(CHAT_KEY_PREFIX) {
                chat_keys.insert(n.to_string());
            }
            out.reservations.push(json!({
                "id": id,
                "protocol": r.try_get::<Option<String>, _>("protocol")?,
                "client_code": r.try_get::<String, _>("client_code")?,
                "call_sid": sid,
                "request": serde_json::to_value(&req).map_err(corrupt)?,
                "status": r.try_get::<String, _>("status")?,
                "outcome": outcome,
                "ozmap_property_id": property,
                "created_at_ms": r.try_get::<i64, _>("created_at")?,
                "updated_at_ms": r.try_get::<i64, _>("updated_at")?,
            }));
            let status: String = r.try_get("status")?;
            let claimed: i64 = r.try_get("claimed_until")?;
            out.found.reservations.push((
                id,
                sid,
                req,
                property.unwrap_or_default(),
                if status == "pending" { claimed } else { 0 },
            ));
        }
        let ids: BTreeSet<i64> = out.found.reservations.iter().map(|r| r.0).collect();
        let protocols = out.found.reservations.iter();
        let protocols = protocols.filter_map(|r| r.2.protocol.clone()).collect();
        (out.visits, out.found.visits) = visits::find(&self.pool, &ids, &protocols).await?;

        // SMS: of those ledger rows, or to the number.
        let rows = sqlx::query(
            "SELECT id, reservation_id, kind, phone, body, status, provider_id, created_at, \
             updated_at FROM messages ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let phone: String = r.try_get("phone")?;
            let rid: i64 = r.try_get("reservation_id")?;
            if !(ids.contains(&rid) || phone_matches(subject, Some(&phone))) {
                continue;
            }
            let id: i64 = r.try_get("id")?;
            out.messages.push(json!({
                "id": id,
                "reservation_id": rid,
                "kind": r.try_get::<String, _>("kind")?,
                "phone": phone,
                "body": r.try_get::<String, _>("body")?,
                "status": r.try_get::<String, _>("status")?,
                "provider_id": r.try_get::<Option<String>, _>("provider_id")?,
                "created_at_ms": r.try_get::<i64, _>("created_at")?,
                "updated_at_ms": r.try_get::<i64, _>("updated_at")?,
            }));
            out.found.messages.push(id);
        }

        // WhatsApp: replies and received messages of the person's number.
        let wa = |wa_id: &str| chat_keys.contains(wa_id) || phone_matches(subject, Some(wa_id));
        let rows = sqlx::query(
            "SELECT id, wa_id, payload, status, provider_id, created_at, updated_at \
             FROM whatsapp_outbox ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let wa_id: String = r.try_get("wa_id")?;
            if !wa(&wa_id) {
                continue;
            }
            let id: i64 = r.try_get("id")?;
            let payload: String = r.try_get("payload")?;
            out.chat_replies.push(json!({
                "id": id,
                "wa_id": wa_id,
                "payload": serde_json::from_str::<Value>(&payload).unwrap_or(Value::String(payload)),
                "status": r.try_get::<String, _>("status")?,
                "provider_id": r.try_get::<Option<String>, _>("provider_id")?,
                "created_at_ms": r.try_get::<i64, _>("created_at")?,
                "updated_at_ms": r.try_get::<i64, _>("updated_at")?,
            }));
            out.found.chat_replies.push(id);
        }
        let rows = sqlx::query(
            "SELECT id, message_id, wa_id, content, status, created_at FROM whatsapp_inbox \
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let wa_id: String = r.try_get("wa_id")?;
            if !wa(&wa_id) {
                continue;
            }
            let id: i64 = r.try_get("id")?;
            let content: Option<String> = r.try_get("content")?;
            out.chat_inbox.push(json!({
                "id": id,
                "message_id": r.try_get::<String, _>("message_id")?,
                "wa_id": wa_id,
                "content": content
                    .map(|c| serde_json::from_str::<Value>(&c).unwrap_or(Value::String(c))),
                "status": r.try_get::<String, _>("status")?,
                "created_at_ms": r.try_get::<i64, _>("created_at")?,
            }));
            out.found.chat_inbox.push(id);
        }

        // Cached geocoding answers naming one of the person's addresses.
        if !places.is_empty() {
            let rows = sqlx::query("SELECT key, result, created_at FROM geocodes ORDER BY key")
                .fetch_all(&self.pool)
                .await?;
            for r in rows {
                let key: String = r.try_get("key")?;
                let text: String = r.try_get("result")?;
                let Ok(cached) = serde_json::from_str::<super::GeoCached>(&text) else {
                    continue;
                };
                let named: Vec<&Place> = match &cached {
                    super::GeoCached::Found { place } | super::GeoCached::Guess { place } => {
                        vec![place]
                    }
                    super::GeoCached::Choice { first, second } => vec![first, second],
                    _ => vec![],
                };
                if !named
                    .iter()
                    .any(|p| places.iter().any(|q| same_place(q, p)))
                {
                    continue;
                }
                out.geocodes.push(json!({
                    "key": key,
                    "result": cached,
                    "created_at_ms": r.try_get::<i64, _>("created_at")?,
                }));
                out.found.geocodes.push(key);
            }
        }
        Ok(out)
    }

    /// Erases what [`Self::subject_data`] finds, in one transaction, with an
    /// audit row; nothing (and no audit row) when nothing is found.
    pub async fn erase_subject(&self, subject: &Subject, now: i64) -> Result<Erasure, EraseError> {
        let data = self.subject_data(subject).await?;
        if data.is_empty() {
            return Ok(Erasure::default());
        }
        let found = data.found;
        if let Some(r) = found.reservations.iter().find(|r| r.4 > now) {
            return Err(EraseError::Busy(r.0));
        }
        let mut report = Erasure {
            calls: found.calls.len(),
            reservations: found.reservations.len(),
            messages: found.messages.len(),
            chat_replies: found.chat_replies.len(),
            chat_inbox: found.chat_inbox.len(),
            geocodes: found.geocodes.len(),
            visits: found.visits.len(),
            kept_in_ozmap: found
                .reservations
                .iter()
                .filter(|r| !r.3.is_empty())
                .map(|r| KeptInOzmap {
                    protocol: r.2.protocol.clone(),
                    property_id: r.3.clone(),
                })
                .collect(),
            audit_id: None,
        };
        // A conversation's key holds the number: it gets a random one.
        let rekey = |sid: &str| -> String {
            if sid.starts_with(CHAT_KEY_PREFIX) {
                format!("{CHAT_KEY_PREFIX}erased-{:016x}", rand::random::<u64>())
            } else {
                sid.to_string()
            }
        };
        // The positions its location links brought go with the session.
        let mut linked: Vec<String> = found.calls.iter().map(|c| c.0.clone()).collect();
        linked.extend(found.reservations.iter().map(|r| r.1.clone()));
        let mut calls = Vec::new();
        for (sid, call) in &found.calls {
            let state = serde_json::to_string(&emptied(call)).map_err(corrupt)?;
            calls.push((sid.clone(), rekey(sid), state));
        }
        let mut ledger = Vec::new();
        for (id, sid, req, _, _) in &found.reservations {
            let new_sid = calls
                .iter()
                .find(|c| &c.0 == sid)
                .map(|c| c.1.clone())
                .unwrap_or_else(|| rekey(sid));
            let text = serde_json::to_string(&anonymised(req)).map_err(corrupt)?;
            ledger.push((*id, new_sid, text));
        }
        let summary = serde_json::to_string(&json!({
            "calls": report.calls, "reservations": report.reservations,
            "messages": report.messages, "chat_replies": report.chat_replies,
            "chat_inbox": report.chat_inbox, "geocodes": report.geocodes,
            "visits": report.visits,
        }))
        .map_err(corrupt)?;
        let subject_text = subject.audit_text();
        let audit_id = self
            .write(Box::new(move |c| {
                Box::pin(async move {
                    let mut tx = c.begin().await?;
                    for key in linked {
                        sqlx::query("DELETE FROM location_links WHERE session_key = $1")
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for (sid, new_sid, state) in calls {
                        sqlx::query(
                            "UPDATE calls SET call_sid = $1, state = $2, last_reply = NULL, seq = seq + 1 \
                             WHERE call_sid = $3",
                        )
                        .bind(new_sid)
                        .bind(state)
                        .bind(sid)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (id, sid, request) in ledger {
                        sqlx::query(
                            "UPDATE reservations SET call_sid = $1, request = $2, \
                             erased_at = $3, last_error = NULL, recheck_at = NULL, \
                             claim_token = NULL, \
                             status = CASE WHEN status = 'pending' THEN 'cancelled' \
                             ELSE status END WHERE id = $4",
                        )
                        .bind(sid)
                        .bind(request)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (delete, ids) in [
                        ("DELETE FROM messages WHERE id = $1", found.messages),
                        ("DELETE FROM whatsapp_outbox WHERE id = $1", found.chat_replies),
                        ("DELETE FROM whatsapp_inbox WHERE id = $1", found.chat_inbox),
                    ] {
                        for id in ids {
                            sqlx::query(delete)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    visits::erase(&mut tx, found.visits).await?;
                    for key in found.geocodes {
                        sqlx::query("DELETE FROM geocodes WHERE key = $1")
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                    }
                    // The audit's key: random, made once.
                    let fresh = format!("{:032x}", rand::random::<u128>());
                    sqlx::query(
                        "INSERT INTO privacy_key (id, secret) VALUES (1, $1) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(fresh)
                    .execute(&mut *tx)
                    .await?;
                    let secret: String = sqlx::query("SELECT secret FROM privacy_key WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("secret")?;
                    let hash = subject_hash(&secret, &subject_text);
                    let id: i64 = sqlx::query(
                        "INSERT INTO privacy_audit (at, action, subject_hash, summary) \
                         VALUES ($1, 'erase', $2, $3) RETURNING id",
                    )
                    .bind(now)
                    .bind(hash)
                    .bind(summary)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    tx.commit().await?;
                    Ok(id)
                })
            }))
            .await?;
        report.audit_id = Some(audit_id);
        Ok(report)
    }

    /// The audit rows (newest first): when, what, the subject's keyed hash
    /// and the counts, never the subject.
    pub async fn privacy_audit(&self) -> Result<Vec<Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, action, subject_hash, summary FROM privacy_audit ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let summary: String = r.try_get("summary")?;
                Ok(json!({
                    "id": r.try_get::<i64, _>("id")?,
                    "at_ms": r.try_get::<i64, _>("at")?,
                    "action": r.try_get::<String, _>("action")?,
                    "subject_hash": r.try_get::<String, _>("subject_hash")?,
                    "summary": serde_json::from_str::<Value>(&summary).map_err(corrupt)?,
                }))
            })
            .collect()
    }
}

/// HMAC-SHA256 of the subject keyed with the store's secret, in hex.
fn subject_hash(secret: &str, subject: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(subject.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
