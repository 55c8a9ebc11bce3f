//! Webhook signatures already accepted, each with the URL it was used at, so
//! that every instance sharing the store accepts a signature at one URL only
//! (Telnyx signs `timestamp|body`, not the URL).

use super::{Store, StoreError};

impl Store {
    /// Records `key` as used at `url` (a digest of the URL, never the URL
    /// itself) until `now + ttl_ms` (Unix ms). `true` when it was not already
    /// recorded (or its record had expired), and when it was recorded at this
    /// same `url` (a platform's retry; the expiry stays the first one);
    /// `false` when it was recorded at another `url`: a replay. One
    /// statement, so two instances racing on one key at two URLs cannot both
    /// get `true`.
    pub async fn remember_signature(
        &self,
        key: &str,
        url: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let key = key.to_string();
        let url = url.to_string();
        let expires = now.saturating_add(ttl_ms);
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO seen_signatures (key, expires_at, url) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET \
                     expires_at = CASE WHEN seen_signatures.expires_at <= $4 \
                     THEN excluded.expires_at ELSE seen_signatures.expires_at END, \
                     url = CASE WHEN seen_signatures.expires_at <= $4 \
                     THEN excluded.url ELSE seen_signatures.url END \
                     WHERE seen_signatures.expires_at <= $4 OR seen_signatures.url = excluded.url",
                )
                .bind(key)
                .bind(expires)
                .bind(url)
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
    async fn a_signature_is_accepted_at_one_url_until_it_expires() {
        for db in all_dbs().await {
            let s = &db.store;
            assert!(
                s.remember_signature("telnyx:a", "u1", 1_000, 600)
                    .await
                    .unwrap()
            );
            // The platform's retry at the same URL: accepted again.
            assert!(
                s.remember_signature("telnyx:a", "u1", 1_001, 600)
                    .await
                    .unwrap()
            );
            // The same signature at another URL: a replay.
            assert!(
                !s.remember_signature("telnyx:a", "u2", 1_001, 600)
                    .await
                    .unwrap()
            );
            assert!(
                !s.remember_signature("telnyx:a", "u2", 1_599, 600)
                    .await
                    .unwrap()
            );
            // The refused URL did not take the signature over.
            assert!(
                s.remember_signature("telnyx:a", "u1", 1_599, 600)
                    .await
                    .unwrap()
            );
            assert!(
                s.remember_signature("telnyx:b", "u2", 1_001, 600)
                    .await
                    .unwrap()
            );
            // Expired at 1_600 (the retries did not move the expiry): accepted
            // again at any URL, and remembered anew with it.
            assert!(
                s.remember_signature("telnyx:a", "u2", 1_600, 600)
                    .await
                    .unwrap()
            );
            assert!(
                !s.remember_signature("telnyx:a", "u1", 2_000, 600)
                    .await
                    .unwrap()
            );
            assert!(
                s.remember_signature("telnyx:a", "u2", 2_000, 600)
                    .await
                    .unwrap()
            );
            // Purge drops only the expired ones.
            assert_eq!(s.purge_signatures(1_700).await.unwrap(), 1); // b, expired at 1_601
            assert!(
                !s.remember_signature("telnyx:a", "u1", 2_100, 600)
                    .await
                    .unwrap()
            );
        }
    }

    #[tokio::test]
    async fn racing_instances_accept_a_signature_at_one_url_only() {
        for db in all_dbs().await {
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let s = db.store.clone();
                    let url = format!("u{i}");
                    tokio::spawn(
                        async move { s.remember_signature("telnyx:r", &url, 5, 600).await },
                    )
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
