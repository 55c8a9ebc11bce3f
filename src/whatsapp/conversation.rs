//! The chat's adapter on the session engine ([`crate::engine`]): the
//! conversation loaded by `wa_id`, the message turned into a flow [`Event`],
//! advanced by the engine (whose effects a chat waits for: it has no webhook
//! deadline), and committed with the message id, the replies and the ledger
//! row in one transaction.
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
use crate::engine::{Advanced, Answer, Base, Commit, Committed, Policy, Wait};
use crate::store::{LedgerStatus, StoredCall, now_ms};
use ivr_core::chat::{ChatCtx, ChatMessage, button_digits};
use ivr_core::domain::{Place, ReservationOutcome};
use ivr_core::flow::{self, Arg, Call, Effect, Event, Line, Progress, ReservationProgress, Step};

/// A conversation idle this long starts over (24 hours).
pub(crate) const IDLE_MS: i64 = 24 * 60 * 60 * 1000;
/// Moves lost to another writer before a message is given up on.
const MAX_TRIES: usize = 5;

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
pub(crate) async fn take_in(ch: &Channel, msg: Inbound) -> anyhow::Result<()> {
    if ch.engine.store.chat_message_seen(&msg.id).await? {
        tracing::info!("repeated message: ignored");
        return Ok(());
    }
    let input = input(ch, &msg.content).await;
    for _ in 0..MAX_TRIES {
        match step(ch, &msg, &input).await? {
            Committed::Conflict => continue,
            Committed::Duplicate => {
                tracing::info!("repeated message: ignored");
                return Ok(());
            }
            Committed::Moved => return Ok(()),
        }
    }
    tracing::warn!("the conversation kept moving under this message; it was dropped");
    Ok(())
}

async fn input(ch: &Channel, content: &Content) -> Input {
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
            let (place, label) = match ch.engine.locator.reverse(lat, lng).await {
                Some(place) => (place, None),
                None => {
                    // Cleaned when parsed; again, for a message kept before.
                    let label = address
                        .as_deref()
                        .or(name.as_deref())
                        .and_then(|s| {
                            ivr_core::text::clean_non_empty(s, ivr_core::text::MAX_FIELD_CHARS)
                        })
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
    let text = ivr_core::text::clean(text, ivr_core::text::MAX_CHAT_CHARS);
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

fn ctx(ch: &Channel) -> ChatCtx<'_> {
    ChatCtx {
        prompts: &ch.prompts,
        agent_contact: ch.settings.agent_contact.as_deref(),
    }
}

/// A chat's rules for the engine: its flow, and every effect waited for.
fn policy(ch: &Channel) -> Policy<'_> {
    Policy {
        flow: &ch.flow,
        wait: Wait::Done,
    }
}

/// One attempt at moving the conversation with `msg`.
async fn step(ch: &Channel, msg: &Inbound, input: &Input) -> anyhow::Result<Committed> {
    let engine = &ch.engine;
    let now = now_ms();
    let key = key(&msg.wa_id);
    let stored = engine.store.load_call(&key).await?;
    let mut replies: Vec<ChatMessage> = Vec::new();
    let (from, advanced, base) = match stored {
        Some(s) if !s.call.is_over() && now - s.updated_at < IDLE_MS => {
            let advanced = match input {
                Input::Event(event) => {
                    engine
                        .advance(&key, &s.call, event.clone(), now, policy(ch))
                        .await
                }
                Input::Media => {
                    replies.push(ChatMessage::Text(ctx(ch).line(&Line::new("chat.media"))));
                    // The state is written unchanged, with the message id.
                    Advanced {
                        t: flow::Transition {
                            call: s.call.clone(),
                            reply: flow::Reply {
                                lines: Vec::new(),
                                next: flow::Next::Hangup,
                            },
                            effect: None,
                        },
                        told: None,
                    }
                }
            };
            (Some(s.call.step.clone()), advanced, Base::Seq(s.seq))
        }
        other => {
            // New, idle past the window, or over: a new conversation, greeted.
            if let Some(s) = &other
                && let Some(line) = previous_reservation(ch, s).await?
            {
                replies.push(ChatMessage::Text(ctx(ch).line(&line)));
            }
            let mut call = Call::new(Some(format!("+{}", msg.wa_id)));
            let protocol = engine.new_protocol(now).await?;
            tracing::info!(protocol = %protocol, "new conversation");
            call.data.protocol = Some(protocol);
            let advanced = engine
                .advance(&key, &call, Event::Start, now, policy(ch))
                .await;
            let base = other.map_or(Base::New, |s| Base::Seq(s.seq));
            (None, advanced, base)
        }
    };
    let Advanced { t, told } = advanced;
    if !matches!(input, Input::Media) || from.is_none() {
        replies.extend(ctx(ch).render(&t.reply));
    }
    let reserve = match &t.effect {
        Some(Effect::Reserve(r)) => Some(r),
        _ => None,
    };
    let written = engine
        .commit(
            Commit {
                key: &key,
                base,
                call: &t.call,
                reserve,
                outcome: told,
                answer: Answer::Messages {
                    to: msg.wa_id.clone(),
                    payloads: replies.iter().map(|m| payload(&msg.wa_id, m)).collect(),
                    message_id: Some(msg.id.clone()),
                },
            },
            now,
        )
        .await?;
    if written == Committed::Moved {
        tracing::info!(
            from = from.as_ref().map_or("new", Step::name),
            to = t.call.step.name(),
            protocol = t.call.data.protocol.as_deref().unwrap_or("-"),
            replies = replies.len(),
            "chat step"
        );
        ch.wake_sender.notify_one();
    }
    Ok(written)
}

/// The reservation a finished conversation made, read back at its next message.
async fn previous_reservation(ch: &Channel, s: &StoredCall) -> anyhow::Result<Option<Line>> {
    let Some(code) = &s.call.data.code else {
        return Ok(None);
    };
    let Some(row) = ch.engine.store.reservation_by_code(code).await? else {
        return Ok(None);
    };
    // A released reservation is no reservation: its port was freed.
    if row.life.released_at.is_some() {
        return Ok(None);
    }
    let port = match (row.status, row.outcome) {
        (
            LedgerStatus::Done,
            Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)),
        ) => p,
        _ => return Ok(None),
    };
    let protocol = Arg::Digits(row.request.protocol.unwrap_or_default());
    Ok(Some(
        Line::port("chat.previous", port.box_name.as_ref(), port.port, |n| {
            Arg::Text(n.to_string())
        })
        .arg("protocol", protocol),
    ))
}

/// Tells every conversation whose ledger row the worker settled its outcome.
pub(crate) async fn push_outcomes(ch: &Channel) -> anyhow::Result<()> {
    let engine = &ch.engine;
    for key in engine.store.chats_reserving().await? {
        let Some(wa_id) = key.strip_prefix("wa:").map(str::to_string) else {
            continue;
        };
        let Some(s) = engine.store.load_call(&key).await? else {
            continue;
        };
        if !matches!(s.call.step, Step::Reserving { .. }) {
            continue;
        }
        let p = engine.reservation_progress(&key, &s.call).await?;
        if matches!(
            p,
            ReservationProgress::Waiting { .. } | ReservationProgress::Confirming
        ) {
            continue;
        }
        let now = now_ms();
        let Advanced { t, told } = engine
            .advance(
                &key,
                &s.call,
                Event::Poll(Progress::Reservation(p)),
                now,
                policy(ch),
            )
            .await;
        if t.call == s.call {
            continue;
        }
        let replies = ctx(ch).render(&t.reply);
        let written = engine
            .commit(
                Commit {
                    key: &key,
                    base: Base::Seq(s.seq),
                    call: &t.call,
                    reserve: None,
                    outcome: told,
                    answer: Answer::Messages {
                        payloads: replies.iter().map(|m| payload(&wa_id, m)).collect(),
                        to: wa_id,
                        message_id: None,
                    },
                },
                now,
            )
            .await?;
        if written == Committed::Moved {
            tracing::info!(
                to = t.call.step.name(),
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
