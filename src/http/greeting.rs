//! The greeting, which writes nothing: its protocol number comes from a block
//! reserved in the database now and then (hi/lo), its action URLs carry that
//! number, and the call's state is stored at the first answer or at the status
//! callback, whichever comes first.
//!
//! Why: a greeting used to cost two durable writes (the protocol counter and the
//! new call row), the most expensive part of a call that may end right there.
//! Nothing of the greeting needs to be durable before the caller answers: it
//! depends on the configuration and the protocol number only. The URLs carry the
//! number and the platform signs the whole URL (Twilio, SignalWire), so the first
//! answer can rebuild the greeted call exactly, even on another instance or after
//! a restart: nothing is lost. While the call is not stored, this instance keeps
//! it in memory ([`Greetings`]), so a repeated greeting answers the same and a
//! status callback that comes first (the caller hung up during the greeting)
//! stores it with its protocol. The per-number limit on new calls stays in
//! memory, as before.

use super::AppState;
use crate::store::StoredCall;
use ivr_core::flow::{self, Call, Event};
use ivr_core::render::Dialect;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Protocol numbers reserved per visit to the database. The next block is
/// reserved in the background once half of this one is used, so a greeting
/// does not wait on the disk (an `fsync` can take seconds on a busy machine).
const BLOCK: i64 = 10_000;
/// Greeted calls kept in memory before the old ones (15 min) are dropped.
const MAX_PENDING: usize = 50_000;
const PENDING_TTL_MS: i64 = 15 * 60 * 1000;

/// A protocol number as the greeting writes it: the day (`YYYYMMDD`), then the
/// counter, eight digits or more.
pub(super) fn valid_protocol(p: &str) -> bool {
    (16..=20).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
}

/// A greeted call not stored yet: what rebuilds it (the flow and the rendering
/// are pure, so the same protocol, number and moment give the same call and the
/// same answer). Kept small: at tens of thousands of greetings a second, a copy
/// of each answer (1.5 KB) cost more in the allocator than rebuilding the rare
/// one needed again.
#[derive(Clone)]
struct Greeted {
    protocol: String,
    /// The dialect the call's platform reads.
    dialect: Dialect,
    from: String,
    at_ms: i64,
}

impl Greeted {
    /// The call as its greeting left it, and the greeting's answer.
    fn rebuild(&self, state: &AppState) -> (Call, String) {
        greeted_call(state, self.dialect, &self.from, &self.protocol, self.at_ms)
    }
}

/// The protocol block in hand (`next..=last` of `day`), and the next one when
/// it has been reserved ahead (`(day, last)`).
#[derive(Default)]
struct Block {
    day: String,
    next: i64,
    last: i64,
    spare: Option<(String, i64)>,
    refilling: bool,
}

/// This instance's greeted calls not yet stored, and its protocol block.
#[derive(Default)]
pub(crate) struct Greetings {
    pending: Mutex<HashMap<String, Greeted>>,
    block: Arc<tokio::sync::Mutex<Block>>,
}

impl Greetings {
    /// The answer already given to this call's greeting, if it is not stored yet.
    pub(super) fn repeated(&self, state: &AppState, call_sid: &str) -> Option<String> {
        let greeted = self.pending.lock().ok()?.get(call_sid)?.clone();
        Some(greeted.rebuild(state).1)
    }

    /// Whether this call was greeted here and is not stored yet.
    pub(super) fn holds(&self, call_sid: &str) -> bool {
        self.pending
            .lock()
            .is_ok_and(|pending| pending.contains_key(call_sid))
    }

    fn keep(&self, call_sid: &str, protocol: String, dialect: Dialect, from: &str, now: i64) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.len() >= MAX_PENDING {
            // Calls never answered and never reported: their first answer, if
            // one comes, still rebuilds them from its URL.
            pending.retain(|_, g| now - g.at_ms < PENDING_TTL_MS);
            if pending.len() >= MAX_PENDING {
                pending.clear();
            }
        }
        pending.insert(
            call_sid.to_string(),
            Greeted {
                protocol,
                dialect,
                from: from.to_string(),
                at_ms: now,
            },
        );
    }

    fn take(&self, call_sid: &str) -> Option<Greeted> {
        self.pending.lock().ok()?.remove(call_sid)
    }

    /// The next protocol number of `day`, from the block in hand or a new one.
    async fn protocol(&self, state: &AppState, day: &str) -> anyhow::Result<String> {
        let mut b = self.block.lock().await;
        if b.day != day || b.next > b.last {
            let last = match b.spare.take() {
                Some((d, last)) if d == day => last,
                // None ahead (or of another day: skipped, never reused).
                _ => state.store().reserve_protocols(day, BLOCK).await?,
            };
            b.day = day.to_string();
            b.next = last - BLOCK + 1;
            b.last = last;
        }
        let n = b.next;
        b.next += 1;
        if b.last - n < BLOCK / 2 && b.spare.is_none() && !b.refilling {
            b.refilling = true;
            let (store, block, day) = (state.store().clone(), self.block.clone(), day.to_string());
            tokio::spawn(async move {
                let got = store.reserve_protocols(&day, BLOCK).await;
                let mut b = block.lock().await;
                b.refilling = false;
                match got {
                    Ok(last) => b.spare = Some((day, last)),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "cannot reserve the next protocol block ahead; a greeting will"
                    ),
                }
            });
        }
        Ok(format!("{day}{n:08}"))
    }
}

/// The greeting of a new call: a protocol number, the first question, nothing
/// stored (kept in memory until the first answer or the status callback).
pub(super) async fn greet(
    state: &Arc<AppState>,
    dialect: Dialect,
    call_sid: &str,
    from: &str,
    now: i64,
) -> anyhow::Result<String> {
    let day = state
        .cfg
        .call
        .schedule
        .today(u64::try_from(now).unwrap_or(0));
    let protocol = state.greetings.protocol(state, &day).await?;
    // On the webhook's span: its one line (`answered`) names the new call's
    // protocol, so an operator finds the call the caller quotes.
    tracing::Span::current().record("protocol", protocol.as_str());
    let (call, body) = greeted_call(state, dialect, from, &protocol, now);
    // The funnel counts the call from its greeting, stored or not yet.
    state.webhooks.moved("", &call, None);
    state.greetings.keep(call_sid, protocol, dialect, from, now);
    Ok(body)
}

/// The call as its greeting left it, and the greeting's answer.
fn greeted_call(
    state: &AppState,
    dialect: Dialect,
    from: &str,
    protocol: &str,
    now: i64,
) -> (Call, String) {
    let mut call = Call::new(Some(from.to_string()).filter(|f| !f.is_empty()));
    call.data.protocol = Some(protocol.to_string());
    // Whether the link by SMS can reach this caller (a Brazilian mobile).
    call.data.sms_capable = crate::sms::mobile_number(from).is_some();
    let t = flow::advance_at(
        &state.cfg.call.flow,
        &call,
        Event::Start,
        state.engine.moment(now),
    );
    let body = state
        .render_ctx()
        .render_in(dialect, &t.reply, 1, Some(protocol));
    (t.call, body)
}

/// A webhook after the greeting, for a call not in the store: the greeted call
/// (at `seq` 1) from memory, or rebuilt from the protocol its URL carries
/// (another instance greeted it, or this one restarted). `None`: the call is
/// unknown (no greeting here, no protocol in the URL).
///
/// With `defer`, the call is not stored here: the caller stores it as its
/// first answer leaves it, in one write (the `bool` is then `true`); else it is
/// stored now, at `seq` 1.
#[allow(clippy::too_many_arguments)]
pub(super) async fn store_greeted(
    state: &Arc<AppState>,
    dialect: Dialect,
    call_sid: &str,
    seq: Option<i64>,
    protocol: Option<&str>,
    from: &str,
    now: i64,
    defer: bool,
) -> anyhow::Result<Option<(StoredCall, bool)>> {
    let (call, body) = match (state.greetings.take(call_sid), seq, protocol) {
        (Some(g), _, _) => g.rebuild(state),
        (None, Some(1), Some(p)) => {
            tracing::info!(protocol = %p, "greeted elsewhere or before a restart: call rebuilt from its URL");
            greeted_call(state, dialect, from, p, now)
        }
        _ => return Ok(None),
    };
    let steps = format!(",{},", call.step.name());
    let greeted = StoredCall {
        call,
        seq: 1,
        last_reply: Some(body),
        updated_at: now,
        steps,
    };
    if defer {
        return Ok(Some((greeted, true)));
    }
    if store_now(state, call_sid, &greeted, now).await? {
        return Ok(Some((greeted, false)));
    }
    // Stored meanwhile by a copy of this request: go on from what is stored.
    Ok(state.store().load_call(call_sid).await?.map(|s| (s, false)))
}

/// Stores a greeted call at `seq` 1; `false` when it was stored already.
pub(super) async fn store_now(
    state: &AppState,
    call_sid: &str,
    greeted: &StoredCall,
    now: i64,
) -> anyhow::Result<bool> {
    let body = greeted.last_reply.as_deref().unwrap_or_default();
    Ok(state
        .store()
        .create_call(call_sid, &greeted.call, body, now)
        .await?)
}

/// The status callback: a greeted call not stored yet is stored now, with its
/// protocol (the caller heard it, and may quote it).
pub(super) async fn store_on_status(
    state: &Arc<AppState>,
    call_sid: &str,
    now: i64,
) -> anyhow::Result<()> {
    if let Some(g) = state.greetings.take(call_sid) {
        let (call, body) = g.rebuild(state);
        state
            .store()
            .create_call(call_sid, &call, &body, now)
            .await?;
        tracing::info!("greeted call stored at its status callback");
    }
    Ok(())
}
