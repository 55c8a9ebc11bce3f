//! The operators' view of the outboxes, by channel (SMS and WhatsApp replies):
//! `ozmap-ivr messages list|show|retry [--channel sms|whatsapp]` and
//! `GET /admin/messages` (JSON, behind `IVR_ADMIN_TOKEN`), both showing a row
//! as a [`MessageView`]. The number is masked in both (the ledger row, which
//! operators may open, has it). An SMS's text holds the protocol, the box and
//! the port only, and is shown; a WhatsApp reply's may hold an address or a
//! name, and is withheld (its type and length are shown).
//!
//! Each channel numbers its rows: without a channel, `show` and `retry` act
//! on the one row with that id, and refuse when both channels have one.

use crate::config::DatabaseArgs;
use crate::redact;
use crate::store::{ChatReply, Message, MessageStatus, Store, StoreError, now_ms};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

/// A message status, as the command line and the admin query give it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MessageStatusArg {
    Pending,
    Sending,
    Sent,
    Dead,
}

impl From<MessageStatusArg> for MessageStatus {
    fn from(s: MessageStatusArg) -> Self {
        match s {
            MessageStatusArg::Pending => MessageStatus::Pending,
            MessageStatusArg::Sending => MessageStatus::Sending,
            MessageStatusArg::Sent => MessageStatus::Sent,
            MessageStatusArg::Dead => MessageStatus::Dead,
        }
    }
}

/// A channel of the outboxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChannelArg {
    Sms,
    Whatsapp,
}

impl ChannelArg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChannelArg::Sms => "sms",
            ChannelArg::Whatsapp => "whatsapp",
        }
    }

    /// The channels `channel` names: one, or both when absent.
    fn each(channel: Option<ChannelArg>) -> Vec<ChannelArg> {
        match channel {
            Some(c) => vec![c],
            None => vec![ChannelArg::Sms, ChannelArg::Whatsapp],
        }
    }
}

#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// One channel only (default: both, with a channel column).
    #[arg(long, value_enum, global = true)]
    pub channel: Option<ChannelArg>,
    /// The store the service uses.
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: MessagesCommand,
}

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// The newest messages.
    List {
        #[arg(long, value_enum)]
        status: Option<MessageStatusArg>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One message, whole.
    Show { id: i64 },
    /// Send a dead message (an SMS or a WhatsApp reply) again.
    Retry { id: i64 },
}

/// An outbox row as operators see it.
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    pub id: i64,
    /// `sms` or `whatsapp` (each channel numbers its rows).
    pub channel: &'static str,
    /// The ledger row an SMS tells the outcome of (none for a WhatsApp reply).
    pub reservation_id: Option<i64>,
    /// The call's protocol number (not personal data).
    pub protocol: Option<String>,
    pub kind: String,
    /// Masked: the last two digits only.
    pub phone: String,
    /// An SMS's text; for a WhatsApp reply, its type and length only.
    pub body: String,
    pub status: &'static str,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub next_attempt_at_ms: i64,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id,
            channel: ChannelArg::Sms.as_str(),
            reservation_id: Some(m.reservation_id),
            protocol: m.protocol.clone(),
            kind: m.kind.clone(),
            phone: redact::phone(&m.phone),
            body: m.body.clone(),
            status: m.status.as_str(),
            attempts: m.attempts,
            last_error: m.last_error.clone(),
            provider_id: m.provider_id.clone(),
            created_at_ms: m.created_at,
            updated_at_ms: m.updated_at,
            next_attempt_at_ms: m.next_attempt_at,
        }
    }
}

impl From<&ChatReply> for MessageView {
    fn from(r: &ChatReply) -> Self {
        let payload: serde_json::Value =
            serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null);
        let kind = payload["type"].as_str().unwrap_or("unknown").to_string();
        let text = payload["text"]["body"]
            .as_str()
            .or_else(|| payload["interactive"]["body"]["text"].as_str())
            .unwrap_or_default();
        Self {
            id: r.id,
            channel: ChannelArg::Whatsapp.as_str(),
            reservation_id: None,
            protocol: None,
            body: format!(
                "({kind}, {} characters; withheld: it may hold an address or a name)",
                text.chars().count()
            ),
            kind,
            phone: redact::phone(&format!("+{}", r.wa_id)),
            status: r.status.as_str(),
            attempts: r.attempts,
            last_error: r.last_error.clone(),
            provider_id: r.provider_id.clone(),
            created_at_ms: r.created_at,
            updated_at_ms: r.updated_at,
            next_attempt_at_ms: r.next_attempt_at,
        }
    }
}

/// The newest rows of `channel` (both when absent, newest first), optionally
/// of one status.
pub(crate) async fn list(
    store: &Store,
    channel: Option<ChannelArg>,
    status: Option<MessageStatus>,
    limit: i64,
) -> Result<Vec<MessageView>, StoreError> {
    let mut views: Vec<MessageView> = Vec::new();
    for c in ChannelArg::each(channel) {
        match c {
            ChannelArg::Sms => views.extend(
                store
                    .list_messages(status, limit)
                    .await?
                    .iter()
                    .map(MessageView::from),
            ),
            ChannelArg::Whatsapp => views.extend(
                store
                    .list_chat_replies(status, limit)
                    .await?
                    .iter()
                    .map(MessageView::from),
            ),
        }
    }
    views.sort_by_key(|v| std::cmp::Reverse((v.created_at_ms, v.id)));
    views.truncate(limit.max(0) as usize);
    Ok(views)
}

/// What a look-up by id found.
#[derive(Debug)]
pub(crate) enum Found<T> {
    One(T),
    Nothing,
    /// Both channels have a row with this id: say which.
    Ambiguous,
}

fn one_of<T>(mut found: Vec<T>) -> Found<T> {
    match found.len() {
        0 => Found::Nothing,
        1 => Found::One(found.remove(0)),
        _ => Found::Ambiguous,
    }
}

/// The row `id` of `channel` (of either when absent).
pub(crate) async fn find(
    store: &Store,
    channel: Option<ChannelArg>,
    id: i64,
) -> Result<Found<MessageView>, StoreError> {
    let mut found = Vec::new();
    for c in ChannelArg::each(channel) {
        match c {
            ChannelArg::Sms => found.extend(store.message(id).await?.as_ref().map(Into::into)),
            ChannelArg::Whatsapp => {
                found.extend(store.chat_reply(id).await?.as_ref().map(Into::into))
            }
        }
    }
    Ok(one_of(found))
}

/// Sends the dead row `id` of `channel` (of either when absent) back to its
/// sender: the channel it was in, or why not.
pub(crate) async fn retry(
    store: &Store,
    channel: Option<ChannelArg>,
    id: i64,
    now: i64,
) -> Result<Found<ChannelArg>, StoreError> {
    let c = match find(store, channel, id).await? {
        Found::One(v) if v.channel == ChannelArg::Whatsapp.as_str() => ChannelArg::Whatsapp,
        Found::One(_) => ChannelArg::Sms,
        Found::Nothing => return Ok(Found::Nothing),
        Found::Ambiguous => return Ok(Found::Ambiguous),
    };
    let requeued = match c {
        ChannelArg::Sms => store.requeue_message(id, now).await?,
        ChannelArg::Whatsapp => store.requeue_chat_reply(id, now).await?,
    };
    Ok(if requeued {
        Found::One(c)
    } else {
        Found::Nothing
    })
}

fn table(rows: &[MessageView]) -> String {
    let line = |cols: [&str; 9]| {
        format!(
            "{:>6}  {:<8}  {:>6}  {:<16}  {:<11}  {:<7}  {:>3}  {:<8}  {}\n",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]
        )
    };
    let mut out = line([
        "ID",
        "CHANNEL",
        "RES",
        "PROTOCOL",
        "KIND",
        "STATUS",
        "TRY",
        "PHONE",
        "PROVIDER ID / LAST ERROR",
    ]);
    for r in rows {
        let tail = match (&r.last_error, &r.provider_id) {
            (Some(e), _) => e.clone(),
            (None, Some(id)) => id.clone(),
            _ => String::new(),
        };
        out.push_str(&line([
            &r.id.to_string(),
            r.channel,
            &r.reservation_id
                .map_or("-".to_string(), |id| id.to_string()),
            r.protocol.as_deref().unwrap_or("-"),
            &r.kind,
            r.status,
            &r.attempts.to_string(),
            &r.phone,
            &tail,
        ]));
    }
    if rows.is_empty() {
        out.push_str("(no messages)\n");
    }
    out
}

/// Runs one `messages` command and returns what to print.
pub async fn run(args: MessagesArgs) -> anyhow::Result<String> {
    let store = args.database.check()?.connect().await?;
    let channel = args.channel;
    let ambiguous = |id| {
        anyhow::anyhow!(
            "both channels have a message {id}: give --channel sms or --channel whatsapp"
        )
    };
    match args.command {
        MessagesCommand::List { status, limit } => {
            let views = list(
                &store,
                channel,
                status.map(Into::into),
                limit.clamp(1, 10_000),
            )
            .await?;
            Ok(if args.json {
                serde_json::to_string_pretty(&views)? + "\n"
            } else {
                table(&views)
            })
        }
        MessagesCommand::Show { id } => match find(&store, channel, id).await? {
            Found::One(v) => Ok(serde_json::to_string_pretty(&v)? + "\n"),
            Found::Nothing => anyhow::bail!("no message {id}"),
            Found::Ambiguous => Err(ambiguous(id)),
        },
        MessagesCommand::Retry { id } => match retry(&store, channel, id, now_ms()).await? {
            Found::One(c) => {
                let sender = match c {
                    ChannelArg::Sms => "the SMS sender",
                    ChannelArg::Whatsapp => "the WhatsApp sender",
                };
                Ok(format!(
                    "message {id} ({}) sent back to {sender} (a running service sends it)\n",
                    c.as_str()
                ))
            }
            Found::Nothing => {
                anyhow::bail!("message {id} is not a dead letter (only dead ones can be retried)")
            }
            Found::Ambiguous => Err(ambiguous(id)),
        },
    }
}
