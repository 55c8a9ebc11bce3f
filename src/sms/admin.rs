//! The operators' view of the SMS outbox: `ozmap-ivr messages list|show|retry`
//! and `GET /admin/messages` (JSON, behind `IVR_ADMIN_TOKEN`), both showing a
//! row as a [`MessageView`]. The caller's number is masked in both (the ledger
//! row, which operators may open, has it); the text holds the protocol, the
//! box and the port only.

use crate::config::DatabaseArgs;
use crate::redact;
use crate::store::{Message, MessageStatus, now_ms};
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

#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
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
    /// Send a dead message again.
    Retry { id: i64 },
}

/// An outbox row as operators see it.
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    pub id: i64,
    pub reservation_id: i64,
    /// The call's protocol number (not personal data).
    pub protocol: Option<String>,
    pub kind: String,
    /// Masked: the last two digits only.
    pub phone: String,
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
            reservation_id: m.reservation_id,
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

fn table(rows: &[MessageView]) -> String {
    let line = |cols: [&str; 8]| {
        format!(
            "{:>6}  {:>6}  {:<16}  {:<10}  {:<7}  {:>3}  {:<8}  {}\n",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7]
        )
    };
    let mut out = line([
        "ID",
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
            &r.reservation_id.to_string(),
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
    match args.command {
        MessagesCommand::List { status, limit } => {
            let rows = store
                .list_messages(status.map(Into::into), limit.clamp(1, 10_000))
                .await?;
            let views: Vec<MessageView> = rows.iter().map(Into::into).collect();
            Ok(if args.json {
                serde_json::to_string_pretty(&views)? + "\n"
            } else {
                table(&views)
            })
        }
        MessagesCommand::Show { id } => {
            let m = store
                .message(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no message {id}"))?;
            Ok(serde_json::to_string_pretty(&MessageView::from(&m))? + "\n")
        }
        MessagesCommand::Retry { id } => {
            if store.requeue_message(id, now_ms()).await? {
                Ok(format!(
                    "message {id} sent back to the SMS sender (a running service sends it)\n"
                ))
            } else {
                anyhow::bail!("message {id} is not a dead letter (only dead ones can be retried)")
            }
        }
    }
}
