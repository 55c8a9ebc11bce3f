//! The question each step asks, and the one way a transition is put together.

use super::Arg;
use super::{AskKind, Call, CallData, Effect, FlowConfig, Line, Next, Reply, Step, Transition};
use crate::domain::{Place, spoken_name};

/// The prompt keys of each question: first ask, second, and from the third on.
fn ask_lines(
    step: &Step,
    data: &CallData,
    attempts: u32,
    link: bool,
) -> Option<(AskKind, Vec<Line>)> {
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
        Step::ConfirmInstallation => {
            let place = data.place.as_ref()?;
            (
                AskKind::YesNo,
                vec![
                    Line::new(pick(
                        "client.installation",
                        "client.installation_retry",
                        "client.installation_retry",
                    ))
                    .arg("address", Arg::Text(place.spoken())),
                ],
            )
        }
        Step::AskName => (
            AskKind::Name,
            vec![Line::new(pick("name.ask", "name.retry", "name.last"))],
        ),
        Step::AskAddress => {
            let mut lines = vec![Line::new(pick(
                "address.ask",
                "address.retry",
                "address.last",
            ))];
            if link {
                lines.push(
                    Line::new("location.key").arg("key", Arg::Text(super::KEY_LINK.to_string())),
                );
            }
            (AskKind::Address, lines)
        }
        Step::AskNumber => (
            AskKind::Number,
            vec![Line::new(pick("number.ask", "number.retry", "number.last"))],
        ),
        Step::AskStreetNumber => {
            data.place.as_ref()?;
            let first = if data.number_in_doubt {
                "number.unsure"
            } else {
                "number.missing"
            };
            (
                AskKind::Number,
                vec![Line::new(pick(first, "number.retry", "number.last"))],
            )
        }
        Step::ConfirmAddress => {
            let place = data.place.as_ref()?;
            (
                AskKind::YesNo,
                vec![
                    Line::new(match (data.unsure, attempts) {
                        (true, 0) => "address.confirm_unsure",
                        (false, 0) => "address.confirm",
                        _ => "address.confirm_retry",
                    })
                    .arg(
                        "address",
                        Arg::Text(data.place_label.clone().unwrap_or_else(|| place.spoken())),
                    ),
                ],
            )
        }
        Step::ChooseAddress => {
            let [first, second] = data.candidates.as_slice() else {
                return None;
            };
            (AskKind::YesNo, vec![separating_question(first, second)])
        }
        Step::AskStreet => {
            let town = data.town.as_ref()?;
            (
                AskKind::Street,
                vec![
                    Line::new(pick("street.ask", "street.retry", "street.retry"))
                        .arg("town", Arg::Text(town.city.clone())),
                ],
            )
        }
        Step::OfferAgent => (AskKind::YesNo, vec![Line::new("agent.offer")]),
        Step::OfferLink => (
            AskKind::YesNo,
            vec![Line::new(pick(
                "location.offer",
                "location.offer_retry",
                "location.offer_retry",
            ))],
        ),
        Step::AwaitingLocation { .. } => {
            (AskKind::YesNo, super::location::wait_lines(data.link_waits))
        }
        Step::ChooseVisit => return super::visit::ask_lines(data, attempts),
        _ => return None,
    })
}

/// The one yes/no question that tells two places apart: the street when the
/// names differ, else the neighbourhood, else the city. "Yes" means `first`.
fn separating_question(first: &Place, second: &Place) -> Line {
    let differ = |a: &str, b: &str| a.trim().to_lowercase() != b.trim().to_lowercase();
    match (&first.neighbourhood, &second.neighbourhood) {
        _ if differ(&first.street, &second.street) => {
            Line::new("address.which_street").arg("street", Arg::Text(first.spoken_street()))
        }
        (Some(a), Some(b)) if differ(a, b) => {
            Line::new("address.which_neighbourhood").arg("neighbourhood", Arg::Text(spoken_name(a)))
        }
        (Some(a), None) => {
            Line::new("address.which_neighbourhood").arg("neighbourhood", Arg::Text(spoken_name(a)))
        }
        _ if differ(&first.city, &second.city) => {
            Line::new("address.which_city").arg("city", Arg::Text(spoken_name(&first.city)))
        }
        // Same street, neighbourhood and city (two rows of one street): read
        // the first back as a guess would be; the street question is the fallback.
        _ => Line::new("address.which_street").arg("street", Arg::Text(first.spoken_street())),
    }
}

pub(super) struct Builder<'a> {
    pub(super) cfg: &'a FlowConfig,
    pub(super) call: Call,
    /// Whether a person answers now.
    pub(super) agent_open: bool,
    lines: Vec<Line>,
    effect: Option<Effect>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(cfg: &'a FlowConfig, call: Call, agent_open: bool) -> Self {
        Self {
            cfg,
            call,
            agent_open,
            lines: Vec::new(),
            effect: None,
        }
    }

    pub(super) fn say(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    pub(super) fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = Some(effect);
        self
    }

    pub(super) fn finish(self, next: Next) -> Transition {
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
    pub(super) fn goto(mut self, step: Step) -> Transition {
        self.call.step = step;
        self.call.attempts = 0;
        self.ask()
    }

    /// Ask the current step's question (its wording depends on the attempts).
    pub(super) fn ask(self) -> Transition {
        let link = self.cfg.location_link && self.call.data.sms_capable;
        match ask_lines(&self.call.step, &self.call.data, self.call.attempts, link) {
            Some((kind, prompt)) => self.finish(Next::Ask { kind, prompt }),
            // A step without a question whose data is missing: cannot happen through
            // `advance`, but stored state could be damaged; end politely.
            None => self.goodbye("goodbye.default"),
        }
    }

    /// A silence or an unusable answer: ask again, more explicitly, or give up.
    pub(super) fn failed(mut self, reason: &'static str) -> Transition {
        self.call.attempts += 1;
        if self.call.attempts >= self.cfg.max_attempts {
            return self.give_up();
        }
        self.say(Line::new(reason)).ask()
    }

    pub(super) fn give_up(self) -> Transition {
        if self.cfg.agent_available {
            self.transfer("transfer.give_up")
        } else {
            self.goodbye("goodbye.give_up")
        }
    }

    /// What the caller hears when no person answers now: the hours, when known.
    pub(super) fn closed_line(&self) -> Line {
        match &self.cfg.agent_hours_spoken {
            Some(h) => Line::new("agent.closed").arg("hours", Arg::Text(h.clone())),
            None => Line::new("agent.closed_now"),
        }
    }

    /// The protocol said again, with an outcome.
    pub(super) fn with_protocol(self) -> Self {
        match self.call.data.protocol.clone() {
            Some(p) => self.say(Line::new("protocol.again").arg("protocol", Arg::Digits(p))),
            None => self,
        }
    }

    pub(super) fn transfer(mut self, key: &'static str) -> Transition {
        if !self.agent_open {
            // Outside the hours: say them, and goodbye (the caller was not at a
            // question, or could not go on).
            let closed = self.closed_line();
            return self.say(closed).goodbye("goodbye.default");
        }
        self.call.step = Step::Transferred;
        self.call.attempts = 0;
        self.say(Line::new(key)).finish(Next::Transfer)
    }

    pub(super) fn goodbye(mut self, key: &'static str) -> Transition {
        self.call.step = Step::Finished;
        self.call.attempts = 0;
        self.say(Line::new(key)).finish(Next::Hangup)
    }

    /// After an outcome that a human may help with.
    pub(super) fn offer_agent(self) -> Transition {
        if self.cfg.agent_available && !self.agent_open {
            let closed = self.closed_line();
            return self.say(closed).goodbye("goodbye.default");
        }
        if self.cfg.agent_available {
            self.goto(Step::OfferAgent)
        } else {
            self.goodbye("goodbye.default")
        }
    }

    /// The caller said "no" to a read-back: ask again, unless they keep correcting.
    pub(super) fn correct(mut self, step: Step, key: &'static str) -> Transition {
        self.call.corrections += 1;
        if self.call.corrections > self.cfg.max_attempts {
            return self.give_up();
        }
        self.say(Line::new(key)).goto(step)
    }

    pub(super) fn hold(self, key: Option<&'static str>) -> Transition {
        let pause_s = self.cfg.poll_pause_s;
        match key {
            Some(k) => self.say(Line::new(k)),
            None => self,
        }
        .finish(Next::Hold { pause_s })
    }
}
