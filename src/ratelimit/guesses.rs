//! Wrong tries of `IVR_ADMIN_TOKEN` per source address: the console's login
//! form and a bearer token on `/metrics`, `/admin/…` and `/console` count
//! against one limit, [`TOKEN_TRIES_PER_MINUTE`] (ten) a minute.
//!
//! Only wrong tries count (a scraper with the right token is never limited),
//! yet an address over the limit is refused before its token is even compared:
//! otherwise a guess would still be answered, right or wrong, at any speed.
//! That needs a look without a take, which `governor` does not offer, so this
//! is the same GCRA over a small map: each wrong try moves the address's
//! theoretical arrival time one period ([`PERIOD`]) on; the address is over
//! the limit while that time is more than a burst ([`TOLERANCE`]) ahead.

use super::ip_key;
use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// Wrong token tries per source address per minute (console login and bearer
/// tokens together).
pub(super) const TOKEN_TRIES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).unwrap();

/// One try comes back every period.
const PERIOD: Duration = Duration::from_secs(60 / TOKEN_TRIES_PER_MINUTE.get() as u64);
/// A burst of the whole minute's tries.
const TOLERANCE: Duration = Duration::from_secs(
    60 / TOKEN_TRIES_PER_MINUTE.get() as u64 * (TOKEN_TRIES_PER_MINUTE.get() as u64 - 1),
);

pub(super) struct Guesses<C: Clock> {
    clock: C,
    /// Per address (IPv6 by its /64): when its bucket is full again.
    full_at: Mutex<HashMap<IpAddr, C::Instant>>,
}

impl<C: Clock> Guesses<C> {
    pub(super) fn new(clock: C) -> Self {
        Self {
            clock,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, C::Instant>> {
        self.full_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How far ahead of `now` an address's bucket is, when it is.
    fn ahead(full_at: Option<&C::Instant>, now: C::Instant) -> Duration {
        full_at.map_or(Duration::ZERO, |t| t.duration_since(now).into())
    }

    /// `Some(wait)` while the address is over the limit: its next try is
    /// refused without a look at the token.
    pub(super) fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let now = self.clock.now();
        let ahead = Self::ahead(self.map().get(&ip_key(ip)), now);
        (ahead > TOLERANCE).then(|| ahead - TOLERANCE)
    }

    /// Counts a wrong try; `Err(wait)` when it was one too many (it is then
    /// refused as over the limit, and not counted).
    pub(super) fn failed(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut map = self.map();
        let key = ip_key(ip);
        let ahead = Self::ahead(map.get(&key), now);
        if ahead > TOLERANCE {
            return Err(ahead - TOLERANCE);
        }
        map.insert(key, now + Nanos::from(ahead + PERIOD));
        Ok(())
    }

    /// Forgets addresses whose bucket is full again.
    pub(super) fn retain_recent(&self) {
        let now = self.clock.now();
        let mut map = self.map();
        map.retain(|_, full_at| *full_at > now);
        map.shrink_to_fit();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn ten_wrong_tries_a_minute_then_refused_until_one_comes_back() {
        let clock = FakeRelativeClock::default();
        let g = Guesses::new(clock.clone());
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        for i in 0..TOKEN_TRIES_PER_MINUTE.get() {
            assert_eq!(g.blocked(ip), None, "try {i}");
            assert_eq!(g.failed(ip), Ok(()), "try {i}");
        }
        // Over the limit: refused before the token is looked at, for a period.
        assert_eq!(g.blocked(ip), Some(PERIOD));
        assert_eq!(g.failed(ip), Err(PERIOD));
        assert_eq!(g.blocked("203.0.113.10".parse().unwrap()), None);
        clock.advance(Duration::from_secs(2));
        assert_eq!(g.blocked(ip), Some(Duration::from_secs(4)));
        clock.advance(Duration::from_secs(4));
        // One try back every six seconds, and only one.
        assert_eq!(g.blocked(ip), None);
        assert_eq!(g.failed(ip), Ok(()));
        assert_eq!(g.blocked(ip), Some(PERIOD));
        // A quiet minute: the whole burst again, and the key forgotten.
        clock.advance(Duration::from_secs(60));
        g.retain_recent();
        assert_eq!(g.len(), 0);
        for _ in 0..TOKEN_TRIES_PER_MINUTE.get() {
            assert_eq!(g.failed(ip), Ok(()));
        }
        assert!(g.blocked(ip).is_some());
    }

    #[test]
    fn an_ipv6_host_counts_by_its_slash_64() {
        let g = Guesses::new(FakeRelativeClock::default());
        for i in 0..TOKEN_TRIES_PER_MINUTE.get() {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert_eq!(g.failed(ip), Ok(()));
        }
        assert!(g.blocked("2001:db8:1:2:ffff::1".parse().unwrap()).is_some());
        assert_eq!(g.blocked("2001:db8:1:3::1".parse().unwrap()), None);
    }
}
