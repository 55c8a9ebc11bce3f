//! Positions posted to a location link (`POST /l/{token}`): per link
//! ([`PER_LINK_PER_MINUTE`], keyed by the token's hash, never the token) and
//! per source address ([`PER_ADDRESS_PER_MINUTE`], IPv6 by its /64), each a
//! burst of the whole minute refilled evenly. Always on: a caller presses the
//! button a few times, a script trying links or positions does not get far.

use super::{Keyed, ip_key};
use governor::clock::Clock;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Posts to one link per minute.
pub(crate) const PER_LINK_PER_MINUTE: NonZeroU32 = NonZeroU32::new(6).unwrap();
/// Posts to any link from one source address per minute.
pub(crate) const PER_ADDRESS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(20).unwrap();

pub(crate) struct Positions<C: Clock> {
    links: Keyed<String, C>,
    addresses: Keyed<IpAddr, C>,
}

impl<C: Clock + Clone> Positions<C> {
    pub(super) fn new(clock: C) -> Self {
        Self {
            links: RateLimiter::dashmap_with_clock(
                Quota::per_minute(PER_LINK_PER_MINUTE),
                clock.clone(),
            ),
            addresses: RateLimiter::dashmap_with_clock(
                Quota::per_minute(PER_ADDRESS_PER_MINUTE),
                clock,
            ),
        }
    }
}

impl<C: Clock> Positions<C> {
    /// Takes one post for this link (its token's hash, cut to 16 characters)
    /// and this address; false when either is spent.
    pub(crate) fn allow(&self, token_hash: &str, ip: Option<IpAddr>) -> bool {
        let address = ip.is_none_or(|ip| self.addresses.check_key(&ip_key(ip)).is_ok());
        let key: String = token_hash.chars().take(16).collect();
        address && self.links.check_key(&key).is_ok()
    }

    pub(super) fn retain_recent(&self) {
        self.links.retain_recent();
        self.links.shrink_to_fit();
        self.addresses.retain_recent();
        self.addresses.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn a_link_takes_six_posts_a_minute_an_address_twenty() {
        let clock = FakeRelativeClock::default();
        let p = Positions::new(clock.clone());
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        for _ in 0..6 {
            assert!(p.allow("aaaa", Some(ip)));
        }
        assert!(!p.allow("aaaa", Some(ip)), "the seventh post to one link");
        assert!(p.allow("bbbb", Some("203.0.113.6".parse().unwrap())));
        clock.advance(Duration::from_secs(10));
        assert!(p.allow("aaaa", None));
        // Twenty a minute from one address, whatever the links.
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        for i in 0..20 {
            assert!(p.allow(&format!("link{i}"), Some(other)), "post {i}");
        }
        assert!(!p.allow("fresh", Some(other)));
    }
}
