//! `ozmap-ivr console logout-all`: ends every session of the operators'
//! console at once, on every instance (the sessions are in the store). For a
//! lost laptop or a departed operator; changing `IVR_ADMIN_TOKEN` also ends
//! every session opened with the old token.

use crate::config::DatabaseArgs;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The store the service uses.
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: ConsoleCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// End every console session: each browser gets the login form again.
    LogoutAll,
}

/// Runs one `console` command and returns what to print.
pub async fn run(args: ConsoleArgs) -> anyhow::Result<String> {
    let store = args.database.check()?.connect().await?;
    match args.command {
        ConsoleCommand::LogoutAll => {
            let n = store.delete_all_sessions().await?;
            tracing::info!(sessions = n, "console: every session ended (logout-all)");
            Ok(match n {
                1 => "1 console session ended\n".to_string(),
                n => format!("{n} console sessions ended\n"),
            })
        }
    }
}
