//! One client message through the flow: the conversation loaded by `wa_id`,
//! the message turned into a flow [`Event`], the flow advanced (the geocoder
//! awaited here: a chat has no webhook deadline), and the new state written
//! with the message id, the replies and the ledger row in one transaction.
//!
//! And the other direction: when the worker settles a conversation's ledger
//! row, the outcome (box, port, protocol) is pushed to the client
//! ([`push_outcomes`]); the client never has to ask.
//!
//! A conversation idle for [`IDLE_MS`] (WhatsApp's customer-service window),
//! or one that is over, starts over with a new protocol at the next message;
//! when the one that is over reserved a port, the reservation is read back
//! first.

use super::Channel;
use super::graph::payload;
use super::notification::{Content, Inbound};
use crate::http::{AppState, geocoding};
use crate::store::{ChatWrite, ChatWritten, LedgerStatus, StoredCall, now_ms};
use ivr_core::chat::{ChatCtx, ChatMessage, button_digits};
use ivr_core::domain::{Place, ReservationOutcome};
use ivr_core::flow::{
    self, Arg, Call, ClientLookup, Effect, Event, GeoResult, Line, Moment, Progress,
    ReservationProgress, Step,
};
use std::sync::Arc;

/// A conversation idle this long starts over (24 hours).
pub(crate) const IDLE_MS: i64 = 24 * 60 * 60 * 1000;
/// Moves lost to another writer before a message is given up on.
const MAX_TRIES: usize = 5;
/// Longest text taken from a message (longer is cut).
const MAX_TEXT: usize = 1000;

/// The conversation's key in the calls table.
pub(crate) fn key(wa_id: &str) -> String {
    format!("{}{wa_id}", crate::store::CHAT_KEY_PREFIX)
}

/// What a message is for the flow (one at a time: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Input {
    Event(Event),
    /// Media: asked for text or a location; the flow does not move.
    Media,
}

/// Takes one message in; a message already taken in changes nothing.
pub(crate) async fn take_in(
    state: &Arc<AppState>,
    ch: &Channel,
    msg: Inbound,
) -> anyhow::Result<()> {
    if state.store.chat_message_seen(&msg.id).await? {
        tracing::info!("repeated message: ignored");
        return Ok(());
    }
    let input = input(state, &msg.content).await;
    for _ in 0..MAX_TRIES {
        match step(state, ch, &msg, &input).await? {
            ChatWritten::Conflict => continue,
            ChatWritten::Duplicate => {
                tracing::info!("repeated message: ignored");
                return Ok(());
            }
            ChatWritten::Moved => return Ok(()),
        }
    }
    tracing::warn!("the conversation kept moving under this message; it was dropped");
    Ok(())
}

async fn input(state: &AppState, content: &Content) -> Input {
    match content {
        Content::Text(text) => Input::Event(typed(text)),
        Content::Button(id) => Input::Event(match button_digits(id) {
            Some(d) => Event::Answer {
                digits: Some(d.to_string()),
                speech: None,
                confidence: None,
            },
            None => typed(id),
        }),
        Content::Location {
            lat,
            lng,
            name,
            address,
        } => {
            let (lat, lng) = (*lat, *lng);
            let (place, label) = match state.locator.reverse(lat, lng).await {
                Some(place) => (place, None),
                None => {
                    let label = address
                        .clone()
                        .or_else(|| name.clone())
                        .unwrap_or_else(|| format!("{lat:.6}, {lng:.6}"));
                    let place = Place {
                        street: label.clone(),
                        number: None,
                        complement: None,
                        neighbourhood: None,
                        city: String::new(),
                        state: None,
                        cep: None,
                        lat,
                        lng,
                    };
                    (place, Some(label))
                }
            };
            Input::Event(Event::Location { place, label })
        }
        Content::Unsupported => Input::Media,
    }
}

/// Typed text as the flow's answer: keypad-like text (`123/45`, `1`, `900`)
/// as digits (`/` and `|` as `*`), anything else as speech.
fn typed(text: &str) -> Event {
    let text: String = text.trim().chars().take(MAX_TEXT).collect();
    let keypad = text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '/' | '|'));
    if keypad {
        let digits: String = text
            .chars()
            .filter(|c| *c != '#')
            .map(|c| if matches!(c, '/' | '|') { '*' } else { c })
            .collect();
        Event::Answer {
            digits: Some(digits),
            speech: None,
            confidence: None,
        }
    } else {
        Event::Answer {
            digits: None,
            speech: Some(text),
            confidence: None,
        }
    }
}

fn moment(state: &AppState, now: i64) -> Moment {
    let now_ms = u64::try_from(now).unwrap_or(0);
    Moment {
        now_ms,
        agent_open: state.cfg.call.schedule.open_at(now_ms),
    }
}

fn ctx<'a>(state: &'a AppState, ch: &'a Channel) -> ChatCtx<'a> {
    ChatCtx {
        prompts: &state.prompts,
        agent_contact: ch.settings.agent_contact.as_deref(),
    }
}

/// One attempt at moving the conversation with `msg`.
async fn step(
    state: &Arc<AppState>,
    ch: &Channel,
    msg: &Inbound,
    input: &Input,
) -> anyhow::Result<ChatWritten> {
    let now = now_ms();
    let key = key(&msg.wa_id);
    let stored = state.store.load_call(&key).await?;
    let at = moment(state, now);
    let mut replies: Vec<ChatMessage> = Vec::new();
    let (from, t, expected_seq) = match stored {
        Some(s) if !s.call.is_over() && now - s.updated_at < IDLE_MS => {
            let t = match input {
                Input::Event(event) => flow::advance_at(&ch.flow, &s.call, event.clone(), at),
                Input::Media => {
                    replies.push(ChatMessage::Text(
                        ctx(state, ch).line(&Line::new("chat.media")),
                    ));
                    // The state is written unchanged, with the message id.
                    flow::Transition {
                        call: s.call.clone(),
                        reply: flow::Reply {
                            lines: Vec::new(),
                            next: flow::Next::Hangup,
                        },
                        effect: None,
                    }
                }
            };
            (Some(s.call.step.clone()), t, Some(s.seq))
        }
        other => {
            // New, idle past the window, or over: a new conversation, greeted.
            if let Some(s) = &other
                && let Some(line) = previous_reservation(state, s).await?
            {
                replies.push(ChatMessage::Text(ctx(state, ch).line(&line)));
            }
            let mut call = Call::new(Some(format!("+{}", msg.wa_id)));
            let protocol = state
                .store
                .next_protocol(&state.cfg.call.schedule.today(now as u64))
                .await?;
            tracing::info!(protocol = %protocol, "new conversation");
            call.data.protocol = Some(protocol);
            let t = flow::advance_at(&ch.flow, &call, Event::Start, at);
            (None, t, other.map(|s| s.seq))
        }
    };
    let mut t = t;
    if let Some(Effect::LookUpClient(code)) = t.effect.clone() {
        // A chat waits for the directory (the notification was answered already).
        let lookup = state
            .directory
            .start(&key, code)
            .await
            .unwrap_or(ClientLookup::Failed);
        state.directory.take(&key);
        t = flow::advance_at(&ch.flow, &t.call, Event::Poll(Progress::Client(lookup)), at);
    }
    if let Some(Effect::Geocode(query)) = t.effect.clone() {
        let found = geocoding::start(state, query)
            .await
            .unwrap_or(GeoResult::Failed);
        t = flow::advance_at(
            &ch.flow,
            &t.call,
            Event::Poll(Progress::Geocoded(found)),
            at,
        );
    }
    if !matches!(input, Input::Media) || from.is_none() {
        replies.extend(ctx(state, ch).render(&t.reply));
    }
    let reserve = match t.effect {
        Some(Effect::Reserve(r)) => Some(r),
        _ => None,
    };
    let reserving = reserve.is_some();
    let to = t.call.step.clone();
    let protocol = t.call.data.protocol.clone();
    let written = state
        .store
        .write_chat(
            ChatWrite {
                key,
                wa_id: msg.wa_id.clone(),
                expected_seq,
                call: t.call,
                message_id: Some(msg.id.clone()),
                reserve,
                replies: replies.iter().map(|m| payload(&msg.wa_id, m)).collect(),
            },
            now,
        )
        .await?;
    if written == ChatWritten::Moved {
        tracing::info!(
            from = from.as_ref().map_or("new", Step::name),
            to = to.name(),
            protocol = protocol.as_deref().unwrap_or("-"),
            replies = replies.len(),
            "chat step"
        );
        ch.wake_sender.notify_one();
        if reserving {
            tracing::info!("reservation written to the ledger");
            state.wake_worker.notify_one();
        }
    }
    Ok(written)
}

/// The reservation a finished conversation made, read back at its next message.
async fn previous_reservation(state: &AppState, s: &StoredCall) -> anyhow::Result<Option<Line>> {
    let Some(code) = &s.call.data.code else {
        return Ok(None);
    };
    let Some(row) = state.store.reservation_by_code(code).await? else {
        return Ok(None);
    };
    let port = match (row.status, row.outcome) {
        (
            LedgerStatus::Done,
            Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)),
        ) => p,
        _ => return Ok(None),
    };
    let protocol = Arg::Digits(row.request.protocol.unwrap_or_default());
    Ok(Some(match port.port {
        Some(n) => Line::new("chat.previous")
            .arg("protocol", protocol)
            .arg("box", Arg::Text(port.box_name))
            .arg("port", Arg::Text(n.to_string())),
        None => Line::new("chat.previous_no_port")
            .arg("protocol", protocol)
            .arg("box", Arg::Text(port.box_name)),
    }))
}

/// Where the ledger row of a reserving conversation stands.
async fn progress(state: &AppState, call: &Call) -> anyhow::Result<ReservationProgress> {
    let waiting = ReservationProgress::Waiting { failing: false };
    let Some(code) = &call.data.code else {
        return Ok(waiting);
    };
    let Some(row) = state.store.reservation_by_code(code).await? else {
        return Ok(waiting);
    };
    Ok(match (row.status, row.outcome) {
        (LedgerStatus::Done, Some(outcome)) => ReservationProgress::Done(match outcome {
            // Made for an earlier request: read back as existing.
            ReservationOutcome::Reserved(p) if row.request.protocol != call.data.protocol => {
                ReservationOutcome::Existing(p)
            }
            other => other,
        }),
        (LedgerStatus::Dead | LedgerStatus::Cancelled, _) => ReservationProgress::Dead,
        _ => ReservationProgress::Waiting {
            failing: row.attempts > 0,
        },
    })
}

/// Tells every conversation whose ledger row the worker settled its outcome.
pub(crate) async fn push_outcomes(state: &Arc<AppState>, ch: &Channel) -> anyhow::Result<()> {
    for key in state.store.chats_reserving().await? {
        let Some(wa_id) = key.strip_prefix("wa:").map(str::to_string) else {
            continue;
        };
        let Some(s) = state.store.load_call(&key).await? else {
            continue;
        };
        if !matches!(s.call.step, Step::Reserving { .. }) {
            continue;
        }
        let p = progress(state, &s.call).await?;
        if matches!(p, ReservationProgress::Waiting { .. }) {
            continue;
        }
        let now = now_ms();
        let t = flow::advance_at(
            &ch.flow,
            &s.call,
            Event::Poll(Progress::Reservation(p)),
            moment(state, now),
        );
        if t.call == s.call {
            continue;
        }
        let replies = ctx(state, ch).render(&t.reply);
        let to = t.call.step.clone();
        let written = state
            .store
            .write_chat(
                ChatWrite {
                    key,
                    wa_id: wa_id.clone(),
                    expected_seq: Some(s.seq),
                    call: t.call,
                    message_id: None,
                    reserve: None,
                    replies: replies.iter().map(|m| payload(&wa_id, m)).collect(),
                },
                now,
            )
            .await?;
        if written == ChatWritten::Moved {
            tracing::info!(
                to = to.name(),
                protocol = s.call.data.protocol.as_deref().unwrap_or("-"),
                "chat outcome pushed"
            );
            ch.wake_sender.notify_one();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_and_numbers_are_keys_and_words_are_speech() {
        let digits = |e: Event| match e {
            Event::Answer { digits, .. } => digits,
            _ => None,
        };
        assert_eq!(digits(typed(" 123/123 ")).as_deref(), Some("123*123"));
        assert_eq!(digits(typed("123|45#")).as_deref(), Some("123*45"));
        assert_eq!(digits(typed("1")).as_deref(), Some("1"));
        assert_eq!(digits(typed("sim")), None);
        assert_eq!(digits(typed("/")), None);
    }
}
