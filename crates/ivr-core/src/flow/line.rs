//! The sentences the flow says, by prompt key, with their placeholders.

use crate::agenda::Slot;
use crate::domain::{BoxName, ClientCode};

/// A value put into a prompt's placeholder.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Text(String),
    /// Read digit by digit.
    Digits(String),
    /// A visit's period, said in the prompts' language
    /// ([`crate::agenda::spoken::say`]).
    Slot(Slot),
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

    /// The sentence that tells a reserved port, by the key of its full form
    /// (`outcome.reserved`, `sms.existing`, `chat.previous`…): the variant
    /// without the port (`…_no_port`, OZmap may leave it out), without the box's
    /// name (`…_no_box`, not known yet), or both. The box is only ever named by
    /// its [`BoxName`], never by an id. `port_arg` says how the port is written.
    pub fn port(
        key: &'static str,
        box_name: Option<&BoxName>,
        port: Option<i64>,
        port_arg: impl Fn(i64) -> Arg,
    ) -> Self {
        let [full, no_port, no_box, neither] = PORT_KEYS
            .iter()
            .find(|k| k[0] == key)
            .copied()
            .unwrap_or([key; 4]);
        let line = match (box_name, port) {
            (Some(_), Some(_)) => Line::new(full),
            (Some(_), None) => Line::new(no_port),
            (None, Some(_)) => Line::new(no_box),
            (None, None) => Line::new(neither),
        };
        let line = match box_name {
            Some(b) => line.arg("box", Arg::Text(b.as_str().to_string())),
            None => line,
        };
        match port {
            Some(p) => line.arg("port", port_arg(p)),
            None => line,
        }
    }
}

/// The four forms of each sentence that tells a reserved port: with the box
/// and the port, without the port, without the box's name, without either.
pub const PORT_KEYS: &[[&str; 4]] = &[
    [
        "outcome.reserved",
        "outcome.reserved_no_port",
        "outcome.reserved_no_box",
        "outcome.reserved_no_box_no_port",
    ],
    [
        "outcome.existing",
        "outcome.existing_no_port",
        "outcome.existing_no_box",
        "outcome.existing_no_box_no_port",
    ],
    [
        "sms.reserved",
        "sms.reserved_no_port",
        "sms.reserved_no_box",
        "sms.reserved_no_box_no_port",
    ],
    [
        "sms.existing",
        "sms.existing_no_port",
        "sms.existing_no_box",
        "sms.existing_no_box_no_port",
    ],
    [
        "outcome.reserved_visit",
        "outcome.reserved_visit_no_port",
        "outcome.reserved_visit_no_box",
        "outcome.reserved_visit_no_box_no_port",
    ],
    [
        "outcome.existing_visit",
        "outcome.existing_visit_no_port",
        "outcome.existing_visit_no_box",
        "outcome.existing_visit_no_box_no_port",
    ],
    [
        "sms.reserved_visit",
        "sms.reserved_visit_no_port",
        "sms.reserved_visit_no_box",
        "sms.reserved_visit_no_box_no_port",
    ],
    [
        "sms.existing_visit",
        "sms.existing_visit_no_port",
        "sms.existing_visit_no_box",
        "sms.existing_visit_no_box_no_port",
    ],
    [
        "chat.previous",
        "chat.previous_no_port",
        "chat.previous_no_box",
        "chat.previous_no_box_no_port",
    ],
];
