//! The call as a state machine: `(call, event) -> (call, reply, effect)`.
//!
//! No I/O here. The web layer turns a webhook into an [`Event`], calls [`advance`],
//! stores the new [`Call`], carries out the [`Effect`] (geocode, reserve) and renders
//! the [`Reply`] as TwiML through the prompts. Background work is seen by the flow
//! only as [`Event::Poll`] with what the adapters found, plus the current time, so
//! every transition — retries, limits, corrections, holds — is unit-testable.
//!
//! Spoken texts are named by key ([`Line`]); the words live in `prompts/`.

use crate::agenda::Slot;
use crate::domain::{
    AddressQuery, Cep, ClientCode, KnownClient, Place, ReservationOutcome, ReservationRequest, Town,
};
use serde::{Deserialize, Serialize};

/// Settings the flow needs; read once from the configuration.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Silences or unusable answers allowed per question before giving up.
    pub max_attempts: u32,
    /// Whether a human can take the call (`IVR_AGENT_NUMBER` is set).
    pub agent_available: bool,
    /// The ISP's name, said in the greeting (`IVR_COMPANY_NAME`).
    pub company_name: Option<String>,
    /// The hours a person answers, as said to the caller when it is closed.
    pub agent_hours_spoken: Option<String>,
    /// How long the caller may be kept on hold for the geocoder.
    pub geocode_hold_ms: u64,
    /// How long the caller may be kept on hold for the reservation.
    pub reserve_hold_ms: u64,
    /// Seconds of `<Pause>` between two polls.
    pub poll_pause_s: u32,
    /// Below this recogniser `Confidence` (0 to 1) a found address is read back
    /// as a guess. A `Confidence` of 0 counts as not posted: some recognisers
    /// always send it.
    pub min_speech_confidence: f32,
    /// Whether a client directory (the ISP's ERP) is asked about each code.
    pub client_directory: bool,
    /// How long the caller may be kept on hold for the client directory; past
    /// it the call goes on as without one.
    pub directory_hold_ms: u64,
    /// Whether the technician's visit is offered after a reservation
    /// (`SCHEDULE` other than `none`).
    pub visits: bool,
    /// How long the caller may be kept on hold for the agenda.
    pub visit_hold_ms: u64,
    /// Whether a caller on a mobile number is offered a link by SMS to mark
    /// the house (`SMS_PROVIDER` set, links valid more than 0 minutes).
    pub location_link: bool,
    /// How long a call waits for the link's position (the link's life).
    pub location_wait_ms: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            agent_available: false,
            company_name: None,
            agent_hours_spoken: None,
            geocode_hold_ms: 12_000,
            reserve_hold_ms: 25_000,
            poll_pause_s: 2,
            min_speech_confidence: 0.4,
            client_directory: false,
            directory_hold_ms: 6_000,
            visits: false,
            visit_hold_ms: 8_000,
            location_link: false,
            location_wait_ms: 20 * 60_000,
        }
    }
}

/// Where the call stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    AskCode,
    ConfirmCode,
    /// The client directory is asked about `data.code` since `since_ms`.
    LookingUpClient {
        since_ms: u64,
    },
    /// The installation address the directory holds (`data.place`) is read back.
    ConfirmInstallation,
    AskName,
    AskAddress,
    /// The CEP was typed; the house number is asked next.
    AskNumber,
    /// A spoken address was found without a house number (or with one in
    /// doubt, `data.number_in_doubt`): the street is `data.place`, and the
    /// number is asked, keypad first, before anything is read back.
    AskStreetNumber,
    /// The geocoder is working on `data.query` since `since_ms`.
    Geocoding {
        since_ms: u64,
    },
    /// Two close candidates (`data.candidates`): one yes/no question tells
    /// them apart ("No bairro Agronômica?").
    ChooseAddress,
    /// The typed CEP names only a town (`data.town`): the street is asked.
    AskStreet,
    /// `data.place` is read back; `data.unsure` words it as a guess.
    ConfirmAddress,
    /// The link by SMS is offered (a house without a number, an address not
    /// found twice): yes sends it; no goes back to `data.before_link`.
    OfferLink,
    /// A link was sent by SMS at `since_ms`; the call waits (a short
    /// `<Gather>` each time, key 1 to say the address instead) for the
    /// position up to `until_ms`.
    AwaitingLocation {
        since_ms: u64,
        until_ms: u64,
    },
    /// The reservation for `data.code` is in the ledger since `since_ms`.
    Reserving {
        since_ms: u64,
    },
    /// The port is reserved: the agenda is asked for free periods after
    /// `after` (the first ones when `None`) since `since_ms`.
    FindingSlots {
        since_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Slot>,
    },
    /// The free periods (`data.offered`) are offered; the caller chooses one,
    /// later dates, or to book another time.
    ChooseVisit,
    /// `slot` is being booked since `since_ms`.
    BookingVisit {
        since_ms: u64,
        slot: Slot,
    },
    /// The outcome was told; a human is offered.
    OfferAgent,
    /// The call was handed to a human.
    Transferred,
    /// Nothing more to say.
    Finished,
}

impl Step {
    /// Every step's name, in the order a call meets them (for logs and the funnel).
    pub const NAMES: [&'static str; 21] = [
        "ask_code",
        "confirm_code",
        "looking_up_client",
        "confirm_installation",
        "ask_name",
        "ask_address",
        "ask_number",
        "ask_street_number",
        "geocoding",
        "choose_address",
        "ask_street",
        "confirm_address",
        "offer_link",
        "awaiting_location",
        "reserving",
        "finding_slots",
        "choose_visit",
        "booking_visit",
        "offer_agent",
        "transferred",
        "finished",
    ];

    /// The step's name, as in its serialized form (`ask_code`, `reserving` …).
    pub fn name(&self) -> &'static str {
        match self {
            Step::AskCode => "ask_code",
            Step::ConfirmCode => "confirm_code",
            Step::LookingUpClient { .. } => "looking_up_client",
            Step::ConfirmInstallation => "confirm_installation",
            Step::AskName => "ask_name",
            Step::AskAddress => "ask_address",
            Step::AskNumber => "ask_number",
            Step::AskStreetNumber => "ask_street_number",
            Step::Geocoding { .. } => "geocoding",
            Step::ChooseAddress => "choose_address",
            Step::AskStreet => "ask_street",
            Step::ConfirmAddress => "confirm_address",
            Step::OfferLink => "offer_link",
            Step::AwaitingLocation { .. } => "awaiting_location",
            Step::Reserving { .. } => "reserving",
            Step::FindingSlots { .. } => "finding_slots",
            Step::ChooseVisit => "choose_visit",
            Step::BookingVisit { .. } => "booking_visit",
            Step::OfferAgent => "offer_agent",
            Step::Transferred => "transferred",
            Step::Finished => "finished",
        }
    }
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
    /// The call's protocol number, said in the greeting and with the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The question the caller was at when they asked for a person: where
    /// the call goes on when the transfer fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_transfer: Option<Box<Step>>,
    /// Two places the address could be, the likelier first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Place>,
    /// `place` is the best match but not a sure one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsure: bool,
    /// The town a typed CEP names, when it names no street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<Town>,
    /// The recogniser's `Confidence` in the spoken address, when posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_confidence: Option<f32>,
    /// Addresses (spoken, or CEP and number) looked up so far in this call.
    #[serde(default)]
    pub address_attempts: u32,
    /// How `place` is read back when it has no street of its own: a shared
    /// location the reverse geocoder could not name (its name, or coordinates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_label: Option<String>,
    /// `name` (and, while `installation` is set, `place`) come from the client
    /// directory, not from the caller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_directory: bool,
    /// `place` is the directory's installation address, confirmed by the
    /// caller; it is being geocoded because the directory gave no coordinates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub installation: bool,
    /// The spoken address's house number was put together from pieces a
    /// pause split ("mil, quinhentos"): it is asked rather than read back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub number_in_doubt: bool,
    /// Codes the directory did not know, in this call.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown_codes: u32,
    /// The visit periods offered at `ChooseVisit`, in the order of their keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<Slot>,
    /// The visit booked in this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<Slot>,
    /// The caller's number takes an SMS (a mobile; decided by the adapter).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sms_capable: bool,
    /// The link by SMS was offered or sent in this call (offered by itself once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_offered: bool,
    /// The question the link was offered at: where a refusal, a failed SMS or
    /// the end of the wait goes back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_link: Option<Box<Step>>,
    /// Waits with nothing new since the link was sent (a message every few).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub link_waits: u32,
    /// How `place` was given, for the operators (set when it is confirmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_source: Option<PlaceSource>,
}

/// How the place of the installation was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceSource {
    /// A spoken (or typed) address.
    Speech,
    /// A CEP and a number.
    Cep,
    /// The client directory's installation address.
    Directory,
    /// The position a link by SMS brought.
    Link,
    /// A location shared in the chat.
    Chat,
}

impl PlaceSource {
    pub fn name(self) -> &'static str {
        match self {
            PlaceSource::Speech => "speech",
            PlaceSource::Cep => "cep",
            PlaceSource::Directory => "directory",
            PlaceSource::Link => "link",
            PlaceSource::Chat => "chat",
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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

/// What the flow is told about the moment of an event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moment {
    /// Wall clock, in milliseconds.
    pub now_ms: u64,
    /// Whether a person answers now (business hours; `true` when unset).
    pub agent_open: bool,
}

impl Moment {
    /// A moment within business hours.
    pub fn open(now_ms: u64) -> Self {
        Moment {
            now_ms,
            agent_open: true,
        }
    }
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
// A two-candidate verdict holds two places; events live for one transition.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The call came in.
    Start,
    /// A `<Gather>` got keys or speech.
    Answer {
        digits: Option<String>,
        speech: Option<String>,
        /// The recogniser's `Confidence` in `speech` (0 to 1), when posted.
        confidence: Option<f32>,
    },
    /// A `<Gather>` got nothing.
    Silence,
    /// The call came back from a hold to see how the background work is doing.
    Poll(Progress),
    /// The transfer to a human ended (`answered`: the agent took the call).
    DialEnded { answered: bool },
    /// A chat client shared the location of the installation: its coordinates
    /// are the place (no geocoding); `label` is how it is read back when the
    /// place has no street (see [`CallData::place_label`]).
    Location { place: Place, label: Option<String> },
}

/// What the adapters found for the work the call waits on.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Still working.
    Pending,
    Geocoded(GeoResult),
    Reservation(ReservationProgress),
    Client(ClientLookup),
    /// What the agenda has after the reservation.
    Slots(SlotOffer),
    /// The chosen period is booked (durably, before it is said).
    Booked(Slot),
    /// The chosen period filled up meanwhile: the next free ones.
    SlotTaken(SlotOffer),
    /// The link by SMS went out.
    LinkSent,
    /// The link could not be offered: `sms` when the SMS failed (said to the
    /// caller); else the number takes no SMS or SMS are off (nothing said).
    LinkFailed {
        sms: bool,
    },
    /// The link brought a position: the nearest address, or the coordinates
    /// with `label` to read them back (as a shared location's).
    Located {
        place: Place,
        label: Option<String>,
    },
}

/// The free periods the agenda has for the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum SlotOffer {
    /// The next free periods, at most three, in order.
    Offered(Vec<Slot>),
    /// No free period within the agenda's horizon.
    None,
    /// The agenda could not be asked (failed, refused or too slow).
    Failed,
    /// The reservation already has a visit booked, in this period.
    AlreadyBooked(Slot),
}

/// What the client directory said about a code.
// Lives for one transition or a short wait in memory, like the other events.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ClientLookup {
    Known(KnownClient),
    /// The directory answered that it has no such client.
    Unknown,
    /// The directory failed, refused or was too slow: the call goes on as
    /// without one.
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GeoResult {
    /// Found, and sure of it.
    Found(Place),
    /// The best match, but not a sure one: read back as a guess.
    Guess(Place),
    /// Two close candidates, the likelier first.
    Choice {
        first: Place,
        second: Place,
    },
    /// The CEP names only a town: the street must be asked.
    TownOnly(Town),
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
    /// A property was asked for and OZmap's answer never came (a timeout, a
    /// lost connection): it may still be committing, and OZmap is being asked
    /// again before anything else is sent. Past the hold the caller hears that
    /// the reservation is being confirmed and the outcome comes in writing.
    Confirming,
    Done(ReservationOutcome),
    /// The ledger gave up on it (a configuration fault, or too many failures).
    Dead,
}

/// The kind of answer a question expects; decides the `<Gather>` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AskKind {
    Code,
    YesNo,
    Name,
    Address,
    Number,
    /// A street name, the town being known.
    Street,
    /// One of the offered visit periods (a key, or said).
    Visit,
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
    /// Ask the client directory about the confirmed code.
    LookUpClient(ClientCode),
    /// Ask the agenda for the next free periods after `after` (the first
    /// ones when `None`) for the session's reservation.
    FindSlots {
        after: Option<Slot>,
    },
    /// Book the visit in this period for the session's reservation, durably,
    /// before it is read back.
    BookVisit(Slot),
    /// Send the caller a link by SMS at once (the caller is waiting), bound
    /// to the session; its outcome is fed back as a poll.
    SendLocationLink,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub call: Call,
    pub reply: Reply,
    pub effect: Option<Effect>,
}

mod builder;
mod client;
mod line;
mod location;
mod steps;
mod visit;

pub use line::{Arg, Line, PORT_KEYS};
pub use location::KEY_LINK;
pub use steps::{advance, advance_at};
pub use visit::OFFER_SIZE;

#[cfg(test)]
mod tests;
