//! The freeing of each whole call's reservation in OZmap, playing an operator:
//! the call's client code looked up, its properties deleted (the port free again).

use std::time::Duration;

/// Frees reservations in an OZmap sandbox after each call.
pub(super) struct Freer {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Freer {
    /// The same OZmap with a client of its own (for another generator thread).
    pub(super) fn fresh(&self) -> anyhow::Result<Self> {
        Self::new(self.base.clone(), self.token.clone())
    }

    /// A freer for the OZmap at `base`, with this token.
    pub(super) fn new(base: String, token: String) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            base,
            token,
        })
    }

    /// Deletes the properties of `code` (`123|45`); how many there were.
    pub(super) async fn free(&self, code: &str) -> Result<u64, String> {
        let url = format!(
            "{}/api/v2/properties/client/{}",
            self.base,
            code.replace('|', "%7C")
        );
        let found: Vec<serde_json::Value> = self
            .http
            .get(&url)
            .header("Authorization", &self.token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("OZmap lookup failed: {}", e.without_url()))?
            .json()
            .await
            .map_err(|e| format!("OZmap lookup unreadable: {}", e.without_url()))?;
        let mut n = 0;
        for p in &found {
            let Some(id) = p.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            self.http
                .delete(format!("{}/api/v2/properties/{id}", self.base))
                .header("Authorization", &self.token)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| format!("OZmap delete failed: {}", e.without_url()))?;
            n += 1;
        }
        Ok(n)
    }
}
