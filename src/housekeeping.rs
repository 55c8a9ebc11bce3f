//! Background chores of a running service: personal data expires, and the rate
//! limiters forget callers they no longer limit.
//!
//! - Every hour (and once at start) call states not touched for
//!   `IVR_RETENTION_DAYS` are deleted ([`Store::purge_calls`], which also drops
//!   geocoding answers older than that): a call's state holds the caller's number,
//!   name and address (LGPD), and an abandoned call must not keep them. Sent SMS
//!   older than that go too ([`Store::purge_sent_messages`]: they hold the
//!   caller's number); dead ones stay for an operator. Webhook signatures whose
//!   replay window has passed go too ([`Store::purge_signatures`]), and the
//!   location links expired unused, or used and a day past their expiry
//!   (with the position they brought: [`Store::purge_location_links`]).
//! - Every minute [`RateLimits::retain_recent`] drops keys whose bucket has refilled,
//!   so a stream of distinct numbers or addresses cannot grow memory without bound,
//!   and writes the refused requests counted since (one line per source); at
//!   shutdown, those counted since the last minute.
//!
//! The reservation ledger is the business record of a sale and is not purged here.

use crate::ratelimit::RateLimits;
use crate::store::{Store, StoreError, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often expired call states are purged.
pub(crate) const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often the rate limiters drop refilled keys (and the refusals counted
/// are written).
pub(crate) const RETAIN_EVERY: Duration = crate::ratelimit::REFUSALS_INTERVAL;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Calls last touched before this instant (ms) are expired.
pub(crate) fn retention_cutoff(now_ms: i64, retention_days: u32) -> i64 {
    now_ms.saturating_sub(i64::from(retention_days).saturating_mul(DAY_MS))
}

/// Deletes what has outlived the retention period at `now_ms`; returns the rows removed.
pub(crate) async fn purge_expired(
    store: &Store,
    now_ms: i64,
    retention_days: u32,
) -> Result<u64, StoreError> {
    let cutoff = retention_cutoff(now_ms, retention_days);
    let calls = store.purge_calls(cutoff).await?;
    let signatures = store.purge_signatures(now_ms).await?;
    let chat = store.purge_chat(cutoff).await?;
    let links = store
        .purge_location_links(now_ms, crate::location::KEEP_USED_MS)
        .await?;
    Ok(calls + signatures + chat + links + store.purge_sent_messages(cutoff).await?)
}

/// Runs both chores until `shutdown` turns true.
pub(crate) async fn run(
    store: Store,
    limits: Arc<RateLimits>,
    retention_days: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut purge = tokio::time::interval(PURGE_EVERY);
    purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retain = tokio::time::interval(RETAIN_EVERY);
    retain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            _ = purge.tick() => match purge_expired(&store, now_ms(), retention_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, retention_days, "expired call states purged"),
                Err(e) => tracing::error!(error = %e, "could not purge expired call states"),
            },
            _ = retain.tick() => limits.retain_recent(),
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    // What was refused since the last minute, before the log closes.
    limits.refusals.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivr_core::flow::Call;

    #[test]
    fn cutoff_is_whole_days_before_now() {
        let now = 100 * DAY_MS + 5;
        assert_eq!(retention_cutoff(now, 7), 93 * DAY_MS + 5);
        assert_eq!(retention_cutoff(now, 1), 99 * DAY_MS + 5);
        // Never wraps around.
        assert_eq!(
            retention_cutoff(0, u32::MAX),
            -(i64::from(u32::MAX) * DAY_MS)
        );
        assert_eq!(retention_cutoff(i64::MIN, 7), i64::MIN);
    }

    #[tokio::test]
    async fn calls_older_than_the_retention_period_are_purged_the_rest_kept() {
        let path = std::env::temp_dir().join(format!(
            "ozmap-ivr-retention-{:016x}.db",
            rand::random::<u64>()
        ));
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let now = 1_000 * DAY_MS;
        let call = Call::new(Some("+5548991234567".into()));
        // Last touched 8 days ago, exactly 7 days ago, and 6 days ago.
        store
            .create_call("CAold", &call, "<Response/>", now - 8 * DAY_MS)
            .await
            .unwrap();
        store
            .create_call("CAedge", &call, "<Response/>", now - 7 * DAY_MS)
            .await
            .unwrap();
        store
            .create_call("CAnew", &call, "<Response/>", now - 6 * DAY_MS)
            .await
            .unwrap();
        // A call created long ago but still moving is kept: age counts from the
        // last webhook.
        store
            .create_call("CAlong", &call, "<Response/>", now - 30 * DAY_MS)
            .await
            .unwrap();
        assert!(
            store
                .advance_call("CAlong", 1, &call, "<Response/>", None, now - DAY_MS)
                .await
                .unwrap()
        );
        let removed = purge_expired(&store, now, 7).await.unwrap();
        assert_eq!(removed, 1);
        assert!(store.load_call("CAold").await.unwrap().is_none());
        assert!(store.load_call("CAedge").await.unwrap().is_some());
        assert!(store.load_call("CAnew").await.unwrap().is_some());
        assert!(store.load_call("CAlong").await.unwrap().is_some());
        // A day later the call touched exactly 7 days before `now` has expired;
        // the one touched 6 days before has not.
        assert_eq!(purge_expired(&store, now + DAY_MS, 7).await.unwrap(), 1);
        assert!(store.load_call("CAedge").await.unwrap().is_none());
        assert!(store.load_call("CAnew").await.unwrap().is_some());
        assert_eq!(store.count_calls().await.unwrap(), 2);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn the_loop_purges_at_start_and_stops_on_shutdown() {
        let path = std::env::temp_dir().join(format!(
            "ozmap-ivr-retention-loop-{:016x}.db",
            rand::random::<u64>()
        ));
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let call = Call::new(None);
        store
            .create_call("CAold", &call, "<Response/>", now_ms() - 8 * DAY_MS)
            .await
            .unwrap();
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(run(store.clone(), Arc::new(RateLimits::new(3, 50)), 7, rx));
        // The first tick is immediate: the purge runs at start, not an hour later.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.load_call("CAold").await.unwrap().is_some()
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(store.load_call("CAold").await.unwrap().is_none());
        tx.send(true).unwrap();
        task.await.unwrap();
        drop(store);
        let _ = std::fs::remove_file(&path);
    }
}
