//! The geocoder behind a session: one lookup per query and instance at a time,
//! its answer cached in the store (so a poll on another instance finds it), and
//! a key that holds no address.

use super::Engine;
use crate::geocode::{Located, ServiceArea};
use crate::store::{GeoCached, now_ms};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use ivr_core::domain::AddressQuery;
use ivr_core::flow::GeoResult;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::task::JoinHandle;

impl From<GeoCached> for GeoResult {
    fn from(c: GeoCached) -> Self {
        match c {
            GeoCached::Found { place } => GeoResult::Found(place),
            GeoCached::Guess { place } => GeoResult::Guess(place),
            GeoCached::Choice { first, second } => GeoResult::Choice { first, second },
            GeoCached::TownOnly { town } => GeoResult::TownOnly(town),
            GeoCached::NotFound => GeoResult::NotFound,
            GeoCached::Failed => GeoResult::Failed,
        }
    }
}

/// A geocoder lookup in flight, shared by every request that waits on it.
pub(super) type GeoLookup = Shared<BoxFuture<'static, GeoResult>>;

/// What the matcher's verdicts mean changed with this version: older cached
/// answers are not read. v3: a town-wide CEP (ViaCEP's empty `logradouro`, a
/// CEP of several streets in the gazetteer) is a town, no longer "not found"
/// nor the first street at that CEP. v4: a number not heard is not known (no
/// longer "s/n"), numbers split by a pause are put together, and several
/// streets named are a choice or not found.
const KEY_VERSION: &str = "v4";

/// The cache key of a query: a hash, so the key itself holds no address. A
/// service area other than Brazil is part of it, so a place found before the
/// area was set or changed (outside it, maybe) is not served from the cache.
pub(crate) fn key(q: &AddressQuery, area: &ServiceArea) -> String {
    let mut text = format!(
        "{KEY_VERSION}:{}",
        serde_json::to_string(q).unwrap_or_default()
    );
    if *area != ServiceArea::Brazil {
        text.push_str(&format!(" in {area:?}"));
    }
    let digest = Sha256::digest(text.to_lowercase().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// Looks `query` up (once per instance at a time), caches the answer, and
    /// returns it. The lookup goes on when the returned handle is dropped.
    pub(crate) fn geocode(self: &Arc<Self>, query: AddressQuery) -> JoinHandle<GeoResult> {
        let key = key(&query, self.locator.area());
        let mut inflight = self.geo_inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(shared) = inflight.get(&key) {
            let shared = shared.clone();
            return tokio::spawn(shared);
        }
        let state = Arc::clone(self);
        let k = key.clone();
        let fut = async move {
            let now = now_ms();
            let result = match state.store.geocode_get(&k, now).await {
                Ok(Some(hit)) => hit,
                _ => {
                    let hold = state.geocode_hold;
                    let looked = tokio::time::timeout(hold, state.locator.locate(&query)).await;
                    let cached = match looked {
                        Ok(Ok(judged)) => match judged.located {
                            Located::Sure(place) => GeoCached::Found { place },
                            Located::Guess(place) => GeoCached::Guess { place },
                            Located::Choice(first, second) => GeoCached::Choice { first, second },
                            Located::TownOnly(town) => GeoCached::TownOnly { town },
                            Located::NotFound => GeoCached::NotFound,
                        },
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "geocoder failed");
                            GeoCached::Failed
                        }
                        Err(_) => {
                            tracing::warn!(
                                ms = hold.as_millis() as u64,
                                "geocoder too slow; gave up"
                            );
                            GeoCached::Failed
                        }
                    };
                    if let Err(e) = state.store.geocode_put(&k, &cached, now_ms()).await {
                        tracing::error!(error = %e, "could not cache a geocoding result");
                    }
                    cached
                }
            };
            state
                .geo_inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&k);
            GeoResult::from(result)
        }
        .boxed()
        .shared();
        inflight.insert(key, fut.clone());
        drop(inflight);
        tokio::spawn(fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_holds_the_area_and_no_address() {
        let q = AddressQuery::Spoken {
            text: "Rua Rui Barbosa 120".into(),
        };
        let brazil = key(&q, &ServiceArea::Brazil);
        let floripa = key(&q, &ServiceArea::parse("Florianópolis-SC").unwrap());
        let box_ = key(&q, &ServiceArea::parse("-27.7,-48.6,-27.4,-48.3").unwrap());
        assert_ne!(brazil, floripa);
        assert_ne!(floripa, box_);
        assert_eq!(brazil, key(&q, &ServiceArea::Brazil));
        // Verdicts of the matcher before this version are not read.
        let json = serde_json::to_string(&q).unwrap();
        for old in [json.clone(), format!("v2:{json}"), format!("v3:{json}")] {
            let old = Sha256::digest(old.to_lowercase().as_bytes());
            assert_ne!(
                brazil,
                old.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
        let v4 = Sha256::digest(format!("v4:{json}").to_lowercase().as_bytes());
        assert_eq!(
            brazil,
            v4.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        assert!(!floripa.to_lowercase().contains("rui"));
    }
}
