//! The service as the load generator ([`ivr_tools::bench`]) runs it inside its
//! own process (`ozmap-ivr bench --server in-process`) and fills its store
//! (`--seed-calls`): the adapter from the tool's port to the service. It uses the
//! service's public API only (the store is seeded with ordinary `create_call`s).

use crate::app::Application;
use crate::config::ServeArgs;
use crate::store::{Store, now_ms};
use clap::Parser;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use ivr_tools::bench::{InProcess, SeedCalls};
use secrecy::SecretString;

/// Writes in flight while seeding: enough for the SQLite writer to commit them
/// in large groups (one fsync each), few enough for PostgreSQL's pool.
const SEED_WRITES_IN_FLIGHT: usize = 256;

#[derive(Parser)]
struct ServeCli {
    #[command(flatten)]
    serve: ServeArgs,
}

/// What `ozmap-ivr bench` needs of the service besides its webhooks.
pub struct InProcessService;

impl ivr_tools::bench::Service for InProcessService {
    fn start(
        &self,
        flags: Vec<String>,
        auth_token: Option<SecretString>,
    ) -> BoxFuture<'_, anyhow::Result<InProcess>> {
        Box::pin(async move {
            let argv = std::iter::once("serve".to_string()).chain(flags);
            let mut cfg = ServeCli::try_parse_from(argv)?.serve.validate()?;
            if let Some(token) = auth_token {
                cfg.check_twilio_signatures(token);
            }
            let app = Application::build(cfg).await?;
            let handle = app.handle();
            let task = tokio::spawn(app.run());
            Ok(InProcess { handle, task })
        })
    }

    fn store_calls<'a>(
        &'a self,
        database_url: &'a str,
        calls: SeedCalls<'a>,
    ) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move {
            let store = Store::connect(database_url)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the store to seed it: {e}"))?;
            let now = now_ms();
            let added = futures_util::stream::iter(calls)
                .map(|(sid, call, reply)| {
                    let store = &store;
                    async move { store.create_call(&sid, &call, &reply, now).await }
                })
                .buffer_unordered(SEED_WRITES_IN_FLIGHT)
                .try_fold(0u64, |n, created| async move { Ok(n + u64::from(created)) })
                .await?;
            Ok(added)
        })
    }
}
