//! The geocoding cache: a found place for 30 days, not found for an hour, a
//! failure for a minute, by a key that holds no address.

use super::{GeoCached, Store, StoreError};
use sqlx::Row;

impl Store {
    /// The cached answer for `key`, if still fresh at `now`: a place for 30 days,
    /// "not found" for an hour, a failure for a minute (so a recovered geocoder is
    /// asked again soon).
    pub async fn geocode_get(&self, key: &str, now: i64) -> Result<Option<GeoCached>, StoreError> {
        let row = sqlx::query("SELECT result, created_at FROM geocodes WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let created: i64 = r.try_get("created_at")?;
        let text: String = r.try_get("result")?;
        let v: GeoCached =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ttl = match v {
            GeoCached::Found { .. }
            | GeoCached::Guess { .. }
            | GeoCached::Choice { .. }
            | GeoCached::TownOnly { .. } => 30 * 86_400_000,
            GeoCached::NotFound => 3_600_000,
            GeoCached::Failed => 60_000,
        };
        Ok((now - created < ttl).then_some(v))
    }

    pub async fn geocode_put(
        &self,
        key: &str,
        value: &GeoCached,
        now: i64,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let key = key.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO geocodes (key, result, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET result = excluded.result, created_at = excluded.created_at",
                )
                .bind(key)
                .bind(text)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        }))
        .await
    }

    // ---- reservation ledger --------------------------------------------------
}
