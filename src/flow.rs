//! The call as a state machine: `(call, event) -> (call, reply, effect)`.
//!
//! No I/O here. The web layer turns a webhook into an [`Event`], calls [`advance`],
//! stores the new [`Call`], carries out the [`Effect`] (geocode, reserve) and renders
//! the [`Reply`] as TwiML through the prompts. Background work is seen by the flow
//! only as [`Event::Poll`] with what the adapters found, plus the current time, so
//! every transition — retries, limits, corrections, holds — is unit-testable.
//!
//! Spoken texts are named by key ([`Line`]); the words live in `prompts/`.

use crate::domain::{
    AddressQuery, Cep, ClientCode, Place, ReservationOutcome, ReservationRequest, ReservedPort,
};
use crate::speech;
use serde::{Deserialize, Serialize};

/// Settings the flow needs; read once from the configuration.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Silences or unusable answers allowed per question before giving up.
    pub max_attempts: u32,
    /// Whether a human can take the call (`IVR_AGENT_NUMBER` is set).
    pub agent_available: bool,
    /// How long the caller may be kept on hold for the geocoder.
    pub geocode_hold_ms: u64,
    /// How long the caller may be kept on hold for the reservation.
    pub reserve_hold_ms: u64,
    /// Seconds of `<Pause>` between two polls.
    pub poll_pause_s: u32,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            agent_available: false,
            geocode_hold_ms: 12_000,
            reserve_hold_ms: 25_000,
            poll_pause_s: 2,
        }
    }
}

/// Where the call stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    AskCode,
    ConfirmCode,
    AskName,
    AskAddress,
    /// The CEP was typed; the house number is asked next.
    AskNumber,
    /// The geocoder is working on `data.query` since `since_ms`.
    Geocoding {
        since_ms: u64,
    },
    ConfirmAddress,
    /// The reservation for `data.code` is in the ledger since `since_ms`.
    Reserving {
        since_ms: u64,
    },
    /// The outcome was told; a human is offered.
    OfferAgent,
    /// The call was handed to a human.
    Transferred,
    /// Nothing more to say.
    Finished,
}

/// What the call has collected so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallData {
    pub code: Option<ClientCode>,
    pub name: Option<String>,
    pub cep: Option<Cep>,
    pub query: Option<AddressQuery>,
    pub place: Option<Place>,
    /// The caller's number (`From`), kept for the lead when there is no coverage.
    pub phone: Option<String>,
}

/// The state of one call, stored between webhooks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub step: Step,
    /// Silences and unusable answers at the current question.
    pub attempts: u32,
    /// Times the caller said "no" to a read-back, over the whole call.
    pub corrections: u32,
    pub data: CallData,
}

impl Call {
    pub fn new(phone: Option<String>) -> Self {
        Self {
            step: Step::AskCode,
            attempts: 0,
            corrections: 0,
            data: CallData {
                phone,
                ..CallData::default()
            },
        }
    }

    /// Whether the call is over for the flow (told goodbye or handed over).
    pub fn is_over(&self) -> bool {
        matches!(self.step, Step::Finished | Step::Transferred)
    }
}

/// What the caller did, or what the background work found.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The call came in.
    Start,
    /// A `<Gather>` got keys or speech.
    Answer {
        digits: Option<String>,
        speech: Option<String>,
    },
    /// A `<Gather>` got nothing.
    Silence,
    /// The call came back from a hold to see how the background work is doing.
    Poll(Progress),
    /// The transfer to a human ended (`answered`: the agent took the call).
    DialEnded { answered: bool },
}

/// What the adapters found for the work the call waits on.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Still working.
    Pending,
    Geocoded(GeoResult),
    Reservation(ReservationProgress),
}

#[derive(Clone, Debug, PartialEq)]
pub enum GeoResult {
    Found(Place),
    NotFound,
    /// The geocoder failed or was too slow.
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReservationProgress {
    /// Not done yet; `failing` when OZmap has already failed at least once.
    Waiting {
        failing: bool,
    },
    Done(ReservationOutcome),
    /// The ledger gave up on it (a configuration fault, or too many failures).
    Dead,
}

/// A value put into a prompt's placeholder.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Text(String),
    /// Read digit by digit.
    Digits(String),
    /// A client code: its digit groups read one by one, `|` read as a word.
    Code(ClientCode),
}

/// One sentence from the prompts, by key, with its placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

impl Line {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }
    pub fn arg(mut self, name: &'static str, value: Arg) -> Self {
        self.args.push((name, value));
        self
    }
}

/// The kind of answer a question expects; decides the `<Gather>` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AskKind {
    Code,
    YesNo,
    Name,
    Address,
    Number,
}

/// What the call does after the spoken lines.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Ask a question (a `<Gather>` with `prompt` inside, then a `<Redirect>` for silence).
    Ask { kind: AskKind, prompt: Vec<Line> },
    /// Wait and come back (`<Pause>` then `<Redirect>` to the poll step).
    Hold { pause_s: u32 },
    /// Hand the call to a human (`<Dial>`).
    Transfer,
    /// Goodbye (`<Hangup/>`).
    Hangup,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// Said before `next`.
    pub lines: Vec<Line>,
    pub next: Next,
}

/// Work the adapters must start for this transition.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Geocode(AddressQuery),
    /// Write to the ledger in the same transaction as the new call state.
    Reserve(ReservationRequest),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub call: Call,
    pub reply: Reply,
    pub effect: Option<Effect>,
}

/// The prompt keys of each question: first ask, second, and from the third on.
fn ask_lines(step: &Step, data: &CallData, attempts: u32) -> Option<(AskKind, Vec<Line>)> {
    let pick = |first: &'static str, retry: &'static str, last: &'static str| match attempts {
        0 => first,
        1 => retry,
        _ => last,
    };
    Some(match step {
        Step::AskCode => (
            AskKind::Code,
            vec![Line::new(pick("code.ask", "code.retry", "code.last"))],
        ),
        Step::ConfirmCode => {
            let code = data.code.clone()?;
            (
                AskKind::YesNo,
                vec![
                    Line::new(pick(
                        "code.confirm",
                        "code.confirm_retry",
                        "code.confirm_retry",
                    ))
                    .arg("code", Arg::Code(code)),
                ],
            )
        }
        Step::AskName => (
            AskKind::Name,
            vec![Line::new(pick("name.ask", "name.retry", "name.last"))],
        ),
        Step::AskAddress => (
            AskKind::Address,
            vec![Line::new(pick(
                "address.ask",
                "address.retry",
                "address.last",
            ))],
        ),
        Step::AskNumber => (
            AskKind::Number,
            vec![Line::new(pick("number.ask", "number.retry", "number.last"))],
        ),
        Step::ConfirmAddress => {
            let place = data.place.as_ref()?;
            (
                AskKind::YesNo,
                vec![
                    Line::new(pick(
                        "address.confirm",
                        "address.confirm_retry",
                        "address.confirm_retry",
                    ))
                    .arg("address", Arg::Text(place.spoken())),
                ],
            )
        }
        Step::OfferAgent => (AskKind::YesNo, vec![Line::new("agent.offer")]),
        _ => return None,
    })
}

struct Builder<'a> {
    cfg: &'a FlowConfig,
    call: Call,
    lines: Vec<Line>,
    effect: Option<Effect>,
}

impl<'a> Builder<'a> {
    fn new(cfg: &'a FlowConfig, call: Call) -> Self {
        Self {
            cfg,
            call,
            lines: Vec::new(),
            effect: None,
        }
    }

    fn say(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = Some(effect);
        self
    }

    fn finish(self, next: Next) -> Transition {
        Transition {
            call: self.call,
            reply: Reply {
                lines: self.lines,
                next,
            },
            effect: self.effect,
        }
    }

    /// Move to `step` (attempts reset) and ask its question.
    fn goto(mut self, step: Step) -> Transition {
        self.call.step = step;
        self.call.attempts = 0;
        self.ask()
    }

    /// Ask the current step's question (its wording depends on the attempts).
    fn ask(self) -> Transition {
        match ask_lines(&self.call.step, &self.call.data, self.call.attempts) {
            Some((kind, prompt)) => self.finish(Next::Ask { kind, prompt }),
            // A step without a question whose data is missing: cannot happen through
            // `advance`, but stored state could be damaged; end politely.
            None => self.goodbye("goodbye.default"),
        }
    }

    /// A silence or an unusable answer: ask again, more explicitly, or give up.
    fn failed(mut self, reason: &'static str) -> Transition {
        self.call.attempts += 1;
        if self.call.attempts >= self.cfg.max_attempts {
            return self.give_up();
        }
        self.say(Line::new(reason)).ask()
    }

    fn give_up(self) -> Transition {
        if self.cfg.agent_available {
            self.transfer("transfer.give_up")
        } else {
            self.goodbye("goodbye.give_up")
        }
    }

    fn transfer(mut self, key: &'static str) -> Transition {
        self.call.step = Step::Transferred;
        self.call.attempts = 0;
        self.say(Line::new(key)).finish(Next::Transfer)
    }

    fn goodbye(mut self, key: &'static str) -> Transition {
        self.call.step = Step::Finished;
        self.call.attempts = 0;
        self.say(Line::new(key)).finish(Next::Hangup)
    }

    /// After an outcome that a human may help with.
    fn offer_agent(self) -> Transition {
        if self.cfg.agent_available {
            self.goto(Step::OfferAgent)
        } else {
            self.goodbye("goodbye.default")
        }
    }

    /// The caller said "no" to a read-back: ask again, unless they keep correcting.
    fn correct(mut self, step: Step, key: &'static str) -> Transition {
        self.call.corrections += 1;
        if self.call.corrections > self.cfg.max_attempts {
            return self.give_up();
        }
        self.say(Line::new(key)).goto(step)
    }

    fn hold(self, key: Option<&'static str>) -> Transition {
        let pause_s = self.cfg.poll_pause_s;
        match key {
            Some(k) => self.say(Line::new(k)),
            None => self,
        }
        .finish(Next::Hold { pause_s })
    }
}

/// One step of the call. `now_ms` is the wall clock in milliseconds, used only to
/// bound how long a caller is kept on hold.
pub fn advance(cfg: &FlowConfig, call: &Call, event: Event, now_ms: u64) -> Transition {
    let b = Builder::new(cfg, call.clone());
    match event {
        Event::Start => {
            if call.step == Step::AskCode && call.attempts == 0 && call.data.code.is_none() {
                b.say(Line::new("greeting")).ask()
            } else {
                // The call was already under way: ask the current question again.
                resume(b)
            }
        }
        Event::Silence => on_silence(b),
        Event::Answer { digits, speech } => {
            on_answer(b, digits.as_deref(), speech.as_deref(), now_ms)
        }
        Event::Poll(progress) => on_poll(b, progress, now_ms),
        Event::DialEnded { answered } => {
            if answered {
                b.goodbye("goodbye.after_agent")
            } else {
                b.goodbye("agent.unavailable")
            }
        }
    }
}

fn resume(b: Builder<'_>) -> Transition {
    match b.call.step {
        Step::Geocoding { .. } | Step::Reserving { .. } => b.hold(None),
        Step::Finished | Step::Transferred => b.goodbye("goodbye.default"),
        _ => b.ask(),
    }
}

fn on_silence(b: Builder<'_>) -> Transition {
    match b.call.step {
        Step::Geocoding { .. } | Step::Reserving { .. } => b.hold(None),
        Step::Finished | Step::Transferred => b.goodbye("goodbye.default"),
        // Silence after the offer of a human means no.
        Step::OfferAgent => b.goodbye("goodbye.default"),
        _ => b.failed("no_input"),
    }
}

fn on_answer(
    mut b: Builder<'_>,
    digits: Option<&str>,
    speech: Option<&str>,
    now_ms: u64,
) -> Transition {
    let digits = digits.map(str::trim).filter(|d| !d.is_empty());
    let speech = speech.map(str::trim).filter(|s| !s.is_empty());
    if digits.is_none() && speech.is_none() {
        return on_silence(b);
    }
    match b.call.step.clone() {
        Step::AskCode => match speech::client_code(digits, speech) {
            Some(code) => {
                b.call.data.code = Some(code);
                b.goto(Step::ConfirmCode)
            }
            None => b.failed("not_understood.code"),
        },
        Step::ConfirmCode => match speech::yes_no(digits, speech) {
            Some(true) => b.goto(Step::AskName),
            Some(false) => {
                b.call.data.code = None;
                b.correct(Step::AskCode, "code.again")
            }
            None => b.failed("not_understood.yes_no"),
        },
        Step::AskName => match digits.is_none().then(|| speech::name(speech)).flatten() {
            Some(name) => {
                b.call.data.name = Some(name);
                b.goto(Step::AskAddress)
            }
            None => b.failed("not_understood.name"),
        },
        Step::AskAddress => {
            if let Some(cep) = speech::cep(digits, speech) {
                b.call.data.cep = Some(cep);
                return b.goto(Step::AskNumber);
            }
            if digits.is_some() {
                return b.failed("not_understood.cep");
            }
            match speech::address(speech) {
                Some(text) => start_geocoding(b, AddressQuery::Spoken { text }, now_ms),
                None => b.failed("not_understood.address"),
            }
        }
        Step::AskNumber => match (
            speech::house_number(digits, speech),
            b.call.data.cep.clone(),
        ) {
            (Some(number), Some(cep)) => {
                start_geocoding(b, AddressQuery::Cep { cep, number }, now_ms)
            }
            (None, Some(_)) => b.failed("not_understood.number"),
            // No CEP stored: damaged state; ask for the address again.
            (_, None) => b.goto(Step::AskAddress),
        },
        Step::ConfirmAddress => match speech::yes_no(digits, speech) {
            Some(true) => start_reserving(b, now_ms),
            Some(false) => {
                b.call.data.place = None;
                b.call.data.query = None;
                b.call.data.cep = None;
                b.correct(Step::AskAddress, "address.again")
            }
            None => b.failed("not_understood.yes_no"),
        },
        Step::OfferAgent => match speech::wants_agent(digits, speech) {
            Some(true) => b.transfer("transfer.requested"),
            _ => b.goodbye("goodbye.default"),
        },
        Step::Geocoding { .. } | Step::Reserving { .. } => b.hold(None),
        Step::Finished | Step::Transferred => b.goodbye("goodbye.default"),
    }
}

fn start_geocoding(mut b: Builder<'_>, query: AddressQuery, now_ms: u64) -> Transition {
    b.call.data.query = Some(query.clone());
    b.call.data.place = None;
    b.call.step = Step::Geocoding { since_ms: now_ms };
    // `attempts` is kept: a failed geocode counts against the address question.
    b.with_effect(Effect::Geocode(query))
        .hold(Some("address.searching"))
}

fn start_reserving(mut b: Builder<'_>, now_ms: u64) -> Transition {
    let (Some(code), Some(name), Some(place)) = (
        b.call.data.code.clone(),
        b.call.data.name.clone(),
        b.call.data.place.clone(),
    ) else {
        // Damaged state: start the collection again rather than reserve half a request.
        return b.goto(Step::AskCode);
    };
    let request = ReservationRequest {
        client_code: code,
        client_name: name,
        place,
        phone: b.call.data.phone.clone(),
    };
    b.call.step = Step::Reserving { since_ms: now_ms };
    b.call.attempts = 0;
    b.with_effect(Effect::Reserve(request))
        .hold(Some("reserve.hold"))
}

fn on_poll(mut b: Builder<'_>, progress: Progress, now_ms: u64) -> Transition {
    match (b.call.step.clone(), progress) {
        (Step::Geocoding { .. }, Progress::Geocoded(GeoResult::Found(place))) => {
            b.call.data.place = Some(place);
            b.goto(Step::ConfirmAddress)
        }
        (Step::Geocoding { .. }, Progress::Geocoded(GeoResult::NotFound | GeoResult::Failed)) => {
            address_not_found(b)
        }
        (Step::Geocoding { since_ms }, _) => {
            if now_ms.saturating_sub(since_ms) >= b.cfg.geocode_hold_ms {
                address_not_found(b)
            } else {
                b.hold(None)
            }
        }
        (Step::Reserving { .. }, Progress::Reservation(ReservationProgress::Done(outcome))) => {
            match outcome {
                ReservationOutcome::Reserved(p) => b
                    .say(port_line("outcome.reserved", "outcome.reserved_no_port", p))
                    .goodbye("goodbye.reserved"),
                ReservationOutcome::Existing(p) => b
                    .say(port_line("outcome.existing", "outcome.existing_no_port", p))
                    .goodbye("goodbye.reserved"),
                ReservationOutcome::NotViable => {
                    b.say(Line::new("outcome.not_viable")).offer_agent()
                }
            }
        }
        (Step::Reserving { .. }, Progress::Reservation(ReservationProgress::Dead)) => {
            b.say(Line::new("outcome.failed")).offer_agent()
        }
        (Step::Reserving { since_ms }, _) => {
            if now_ms.saturating_sub(since_ms) >= b.cfg.reserve_hold_ms {
                b.say(Line::new("outcome.delayed")).offer_agent()
            } else {
                b.hold(None)
            }
        }
        // A poll for a call that is no longer waiting (a late or repeated request):
        // say the current question again.
        _ => resume(b),
    }
}

/// The box and port read back; OZmap may leave the port out of `connections`.
fn port_line(with_port: &'static str, without_port: &'static str, p: ReservedPort) -> Line {
    match p.port {
        Some(port) => Line::new(with_port)
            .arg("box", Arg::Text(p.box_name))
            .arg("port", Arg::Text(port.to_string())),
        None => Line::new(without_port).arg("box", Arg::Text(p.box_name)),
    }
}

fn address_not_found(mut b: Builder<'_>) -> Transition {
    b.call.step = Step::AskAddress;
    b.call.data.query = None;
    b.call.data.cep = None;
    b.failed("address.not_found")
}

#[cfg(test)]
mod tests;
