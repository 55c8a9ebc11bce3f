//! The one write of a step: the session's new state with what goes with it,
//! in one transaction, fenced by the `seq` it was read at.

use super::Engine;
use crate::store::{CallOutcome, ChatWrite, ChatWritten, StoreError};
use ivr_core::domain::ReservationRequest;
use ivr_core::flow::Call;

/// What the session is written over.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Base<'a> {
    /// The stored session at this `seq`: the step moves it to `seq + 1`.
    Seq(i64),
    /// The stored session at this `seq`, rewritten in place (the outcome of a
    /// quick reservation replacing the hold that was the step's answer).
    InPlace(i64),
    /// A greeted call not stored yet (the greeting writes nothing): stored
    /// greeted and moved, in one write. Never with a ledger row or an outcome.
    Greeted(&'a Call),
    /// No stored session: a new conversation.
    New,
}

/// What the channel keeps with the session.
#[derive(Debug)]
pub(crate) enum Answer<'a> {
    /// A webhook's answer, kept to answer the platform's retry of the same
    /// request the same way.
    Document(&'a str),
    /// Messages for the outbox, to `to`, in order; `message_id` is the
    /// inbound message they answer (taken in once), `None` for a pushed
    /// outcome.
    Messages {
        to: String,
        payloads: Vec<String>,
        message_id: Option<String>,
    },
}

/// One write of a session.
#[derive(Debug)]
pub(crate) struct Commit<'a> {
    pub key: &'a str,
    pub base: Base<'a>,
    pub call: &'a Call,
    /// The ledger row, when the client confirmed.
    pub reserve: Option<&'a ReservationRequest>,
    /// The reservation outcome the step told the session (for the console).
    pub outcome: Option<CallOutcome>,
    pub answer: Answer<'a>,
}

/// What came of a [`Commit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Committed {
    Moved,
    /// Another write came first: load and try again (or answer what it did).
    Conflict,
    /// The inbound message was already taken in: nothing changed.
    Duplicate,
}

impl Engine {
    /// Writes the session once (see [`Commit`]); a ledger row written wakes
    /// the worker.
    pub(crate) async fn commit(&self, c: Commit<'_>, now: i64) -> Result<Committed, StoreError> {
        let moved = |ok: bool| {
            if ok {
                Committed::Moved
            } else {
                Committed::Conflict
            }
        };
        let done = match (c.answer, c.base) {
            (Answer::Document(body), Base::Seq(seq)) => moved(
                self.store
                    .advance_call_ending(c.key, seq, c.call, body, c.reserve, c.outcome, now)
                    .await?,
            ),
            (Answer::Document(body), Base::InPlace(seq)) => moved(
                self.store
                    .rewrite_call(c.key, seq, c.call, body, c.outcome, now)
                    .await?,
            ),
            (Answer::Document(body), Base::Greeted(greeted)) => {
                if c.reserve.is_some() || c.outcome.is_some() {
                    return Err(StoreError::Corrupt(
                        "a greeted call is stored before a step with a ledger row".into(),
                    ));
                }
                moved(
                    self.store
                        .create_answered_call(c.key, greeted, c.call, body, now)
                        .await?,
                )
            }
            (Answer::Document(_), Base::New) => {
                return Err(StoreError::Corrupt(
                    "a webhook's session is greeted before it moves".into(),
                ));
            }
            (
                Answer::Messages {
                    to,
                    payloads,
                    message_id,
                },
                base,
            ) => {
                let expected_seq = match base {
                    Base::Seq(seq) | Base::InPlace(seq) => Some(seq),
                    Base::Greeted(_) | Base::New => None,
                };
                let written = self
                    .store
                    .write_chat(
                        ChatWrite {
                            key: c.key.to_string(),
                            wa_id: to,
                            expected_seq,
                            call: c.call.clone(),
                            message_id,
                            reserve: c.reserve.cloned(),
                            replies: payloads,
                        },
                        now,
                    )
                    .await?;
                match written {
                    ChatWritten::Moved => Committed::Moved,
                    ChatWritten::Conflict => Committed::Conflict,
                    ChatWritten::Duplicate => Committed::Duplicate,
                }
            }
        };
        if done == Committed::Moved && c.reserve.is_some() {
            tracing::info!("reservation written to the ledger");
            self.wake_worker.notify_one();
        }
        Ok(done)
    }
}
