//! Webhook signatures already accepted, so each is accepted once by every
//! instance sharing the store (Telnyx signs `timestamp|body`, not the URL).

use super::{Store, StoreError};

impl Store {
    /// Records `key` until `now + ttl_ms` (Unix ms). `true` when it was not
    /// already recorded (or its record had expired), `false` when it was: a
    /// replay. One statement, so two instances racing on one key cannot both
    /// get `true`.
    pub async fn remember_signature(
        &self,
        key: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let key = key.to_string();
        let expires = now.saturating_add(ttl_ms);
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO seen_signatures (key, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
                     WHERE seen_signatures.expires_at <= $3",
                )
                .bind(key)
                .bind(expires)
                .bind(now)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    /// Deletes the records expired at `now` (Unix ms); returns how many.
    pub async fn purge_signatures(&self, now: i64) -> Result<u64, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM seen_signatures WHERE expires_at <= $1")
                    .bind(now)
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

    #[tokio::test]
    async fn a_signature_is_accepted_once_until_it_expires() {
        for db in all_dbs().await {
            let s = &db.store;
            assert!(s.remember_signature("telnyx:a", 1_000, 600).await.unwrap());
            assert!(!s.remember_signature("telnyx:a", 1_001, 600).await.unwrap());
            assert!(!s.remember_signature("telnyx:a", 1_599, 600).await.unwrap());
            assert!(s.remember_signature("telnyx:b", 1_001, 600).await.unwrap());
            // Expired: accepted again, and remembered anew.
            assert!(s.remember_signature("telnyx:a", 1_600, 600).await.unwrap());
            assert!(!s.remember_signature("telnyx:a", 2_000, 600).await.unwrap());
            // Purge drops only the expired ones.
            assert_eq!(s.purge_signatures(1_700).await.unwrap(), 1); // b, expired at 1_601
            assert!(!s.remember_signature("telnyx:a", 2_100, 600).await.unwrap());
        }
    }

    #[tokio::test]
    async fn racing_instances_accept_a_signature_once() {
        for db in all_dbs().await {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let s = db.store.clone();
                    tokio::spawn(async move { s.remember_signature("telnyx:r", 5, 600).await })
                })
                .collect();
            let mut accepted = 0;
            for t in tasks {
                if t.await.unwrap().unwrap() {
                    accepted += 1;
                }
            }
            assert_eq!(accepted, 1);
        }
    }
}
