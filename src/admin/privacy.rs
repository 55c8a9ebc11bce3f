//! `ozmap-ivr privacy export|erase --phone N | --client CODE`: a data
//! subject's request (LGPD art. 18). `export` prints as JSON everything the
//! store holds about the person; `erase` removes or anonymises it, keeps the
//! protocol and the OZmap ids of a reservation already made (the property
//! stays in OZmap: the output says so), writes an audit row with a keyed hash
//! of the subject, and says when nothing was found. The console offers both
//! (`http::console`). What each table holds: `docs/privacy.md`.

use crate::config::DatabaseArgs;
use crate::store::{Erasure, Store, Subject, normalise_phone, now_ms};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use ivr_core::domain::ClientCode;

#[derive(Debug, Args)]
pub struct PrivacyArgs {
    /// The store the service uses.
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: PrivacyCommand,
}

/// Whom the request is about: one of the two.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// The person's phone number, in any usual form ("48 99999-0000",
    /// "+5548999990000").
    #[arg(long)]
    pub phone: Option<String>,
    /// The person's client code.
    #[arg(long)]
    pub client: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Print as JSON everything held about the person.
    Export {
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// Remove or anonymise everything held about the person (a reservation
    /// already in OZmap stays there, with its protocol and ids in the ledger).
    Erase {
        #[command(flatten)]
        subject: SubjectArgs,
    },
}

/// The subject named by a phone number or a client code (exactly one).
pub(crate) fn subject(phone: Option<&str>, client: Option<&str>) -> anyhow::Result<Subject> {
    match (
        phone.map(str::trim).filter(|s| !s.is_empty()),
        client.map(str::trim).filter(|s| !s.is_empty()),
    ) {
        (Some(p), None) => normalise_phone(p)
            .map(Subject::Phone)
            .context("not a phone number (give the area code and the number)"),
        (None, Some(c)) => ClientCode::parse(c)
            .map(Subject::Client)
            .context("not a client code (digits, and `|` between parts)"),
        _ => bail!("give a phone number or a client code (one of the two)"),
    }
}

/// The export, as pretty JSON.
pub(crate) async fn export(store: &Store, subject: &Subject) -> anyhow::Result<String> {
    let data = store.subject_data(subject).await?;
    Ok(serde_json::to_string_pretty(&data)? + "\n")
}

/// What an erasure did, in words (no personal data).
pub(crate) fn describe(e: &Erasure) -> String {
    if e.nothing_found() {
        return "nothing was found about this person; nothing was erased\n".to_string();
    }
    let mut out = format!(
        "erased: {} call(s), {} reservation(s) anonymised, {} SMS, {} WhatsApp repl(ies), \
         {} WhatsApp message(s) received, {} cached address(es), {} visit(s); audit #{}\n",
        e.calls,
        e.reservations,
        e.messages,
        e.chat_replies,
        e.chat_inbox,
        e.geocodes,
        e.visits,
        e.audit_id.unwrap_or_default()
    );
    for k in &e.kept_in_ozmap {
        out.push_str(&format!(
            "kept in OZmap: property {} (protocol {}): remove it in OZmap if the contract ends; \
             the ledger keeps its protocol and ids\n",
            k.property_id,
            k.protocol.as_deref().unwrap_or("-")
        ));
    }
    out
}

/// Runs one `privacy` command and returns what to print.
pub async fn run(args: PrivacyArgs) -> anyhow::Result<String> {
    let store = args.database.check()?.connect().await?;
    match args.command {
        PrivacyCommand::Export { subject: s } => {
            export(&store, &subject(s.phone.as_deref(), s.client.as_deref())?).await
        }
        PrivacyCommand::Erase { subject: s } => {
            let who = subject(s.phone.as_deref(), s.client.as_deref())?;
            let e = store.erase_subject(&who, now_ms()).await?;
            tracing::info!(
                audit = e.audit_id,
                calls = e.calls,
                reservations = e.reservations,
                "privacy: erasure on request"
            );
            Ok(describe(&e))
        }
    }
}
