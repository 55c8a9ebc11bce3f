//! The links by SMS where a caller marks the house (`crate::location`): one
//! row per link, keyed by the SHA-256 of its token (the token itself is never
//! stored), bound to a session (a call's `CallSid`, a chat's `wa:…`), valid
//! until `expires_at`, used once.
//!
//! Using a link is one conditional statement (`UPDATE … WHERE used_at IS NULL
//! AND expires_at > now RETURNING session_key`): the row lock (PostgreSQL) or
//! the single writer (SQLite) makes the check and the write one step, so two
//! positions posted at once get one "taken" and one "gone", on one instance or
//! several.

use super::{Store, StoreError};
use ivr_core::domain::Place;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// A position sent through a link, as stored with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinkPosition {
    pub(crate) lat: f64,
    pub(crate) lng: f64,
    /// The browser's accuracy radius, in metres.
    pub(crate) accuracy_m: f64,
    /// The nearest address (reverse geocoding), for the read-back; `None`
    /// when the geocoder could not say.
    #[serde(default)]
    pub(crate) place: Option<Place>,
    /// When it was taken (Unix ms).
    pub(crate) at: i64,
}

/// A link that can still be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LiveLink {
    pub(crate) session_key: String,
    pub(crate) expires_at: i64,
}

impl Store {
    /// Keeps a new link: the token's hash, its session and its expiry.
    pub(crate) async fn insert_location_link(
        &self,
        token_hash: &str,
        session_key: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let (hash, key) = (token_hash.to_string(), session_key.to_string());
        self.write(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO location_links (token_hash, session_key, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(hash)
                .bind(key)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        }))
        .await
    }

    /// The link with this token hash when it is neither used nor expired at
    /// `now`; `None` for an unknown, used or expired one alike.
    pub(crate) async fn live_location_link(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<LiveLink>, StoreError> {
        let row = sqlx::query(
            "SELECT session_key, expires_at FROM location_links \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some(LiveLink {
                session_key: r.try_get("session_key")?,
                expires_at: r.try_get("expires_at")?,
            }),
            None => None,
        })
    }

    /// Uses the link: marks it used and keeps `position` with it, in one
    /// statement. `Some(session key)` when this call used it; `None` when it
    /// is unknown, expired, or already used (by a post that won the race).
    pub(crate) async fn take_location_link(
        &self,
        token_hash: &str,
        position: &LinkPosition,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let json = serde_json::to_string(position)
            .map_err(|e| StoreError::Corrupt(format!("position: {e}")))?;
        let hash = token_hash.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let row = sqlx::query(
                    "UPDATE location_links SET used_at = $1, position = $2 \
                     WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING session_key",
                )
                .bind(now)
                .bind(json)
                .bind(hash)
                .fetch_optional(&mut *c)
                .await?;
                Ok(match row {
                    Some(r) => Some(r.try_get::<String, _>("session_key")?),
                    None => None,
                })
            })
        }))
        .await
    }

    /// The sessions a position was sent for since `since` (Unix ms): the
    /// sweep that reserves for a caller who hung up reads them after a
    /// restart, when no task of this process waits for them.
    pub(crate) async fn sessions_with_positions(
        &self,
        since: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT session_key FROM location_links \
             WHERE used_at IS NOT NULL AND used_at >= $1 AND position IS NOT NULL",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("session_key").map_err(Into::into))
            .collect()
    }

    /// The latest position sent through any link of `session_key`.
    pub(crate) async fn location_position(
        &self,
        session_key: &str,
    ) -> Result<Option<LinkPosition>, StoreError> {
        let row = sqlx::query(
            "SELECT position FROM location_links \
             WHERE session_key = $1 AND used_at IS NOT NULL AND position IS NOT NULL \
             ORDER BY used_at DESC LIMIT 1",
        )
        .bind(session_key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let json: String = row.try_get("position")?;
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("stored position: {e}")))
    }

    /// Deletes the links expired at `now` and never used, and the used ones
    /// (with their position: personal data) once `keep_used_ms` has passed
    /// since they expired; returns how many.
    pub(crate) async fn purge_location_links(
        &self,
        now: i64,
        keep_used_ms: i64,
    ) -> Result<u64, StoreError> {
        let used_cutoff = now.saturating_sub(keep_used_ms);
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let done = sqlx::query(
                    "DELETE FROM location_links WHERE (used_at IS NULL AND expires_at <= $1) \
                     OR expires_at <= $2",
                )
                .bind(now)
                .bind(used_cutoff)
                .execute(&mut *c)
                .await?;
                Ok(done.rows_affected())
            })
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::all_dbs;
    use super::*;

    fn pos(lat: f64) -> LinkPosition {
        LinkPosition {
            lat,
            lng: -48.5274,
            accuracy_m: 12.0,
            place: None,
            at: 5,
        }
    }

    #[tokio::test]
    async fn a_link_is_used_once_before_it_expires_and_purged_after() {
        for db in all_dbs().await {
            let s = &db.store;
            s.insert_location_link("h1", "CA1", 0, 1_000).await.unwrap();
            s.insert_location_link("h2", "CA2", 0, 1_000).await.unwrap();
            let live = s.live_location_link("h1", 10).await.unwrap().unwrap();
            assert_eq!(live.session_key, "CA1");
            assert_eq!(s.live_location_link("nope", 10).await.unwrap(), None);
            assert_eq!(s.location_position("CA1").await.unwrap(), None);
            // Used once: the second post finds it gone.
            assert_eq!(
                s.take_location_link("h1", &pos(-27.57), 20).await.unwrap(),
                Some("CA1".to_string())
            );
            assert_eq!(
                s.take_location_link("h1", &pos(-27.0), 21).await.unwrap(),
                None
            );
            assert_eq!(s.live_location_link("h1", 22).await.unwrap(), None);
            assert_eq!(s.location_position("CA1").await.unwrap(), Some(pos(-27.57)));
            // Expired: neither live nor usable.
            assert_eq!(s.live_location_link("h2", 1_000).await.unwrap(), None);
            assert_eq!(
                s.take_location_link("h2", &pos(-27.57), 1_000)
                    .await
                    .unwrap(),
                None
            );
            // The unused expired link goes at once, the used one after its keep.
            assert_eq!(s.purge_location_links(1_000, 500).await.unwrap(), 1);
            assert!(s.location_position("CA1").await.unwrap().is_some());
            assert_eq!(s.purge_location_links(1_500, 500).await.unwrap(), 1);
            assert_eq!(s.location_position("CA1").await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn two_posts_at_once_one_wins() {
        for db in all_dbs().await {
            let s = &db.store;
            s.insert_location_link("race", "CA9", 0, 10_000)
                .await
                .unwrap();
            let mut tasks = Vec::new();
            for i in 0..8 {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    s.take_location_link("race", &pos(-27.0 - f64::from(i)), 100)
                        .await
                        .unwrap()
                }));
            }
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap().is_some());
            }
            assert_eq!(won, 1, "{:?}", s.backend());
        }
    }
}
