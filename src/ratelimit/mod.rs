//! Inbound rate limits: new calls per caller number, requests per source
//! address, wrong tries of the operators' token, and the log lines about
//! refused requests.
//!
//! Built on `governor` (MIT, GCRA, lock-free keyed state in a `DashMap`) rather than
//! `actix-governor`, which is GPL-3.0. This module decides no answer: the web
//! layer decides which key to check and what to answer when a limit is hit.
//!
//! - Calls: `calls_per_number_per_minute` new calls per caller number, as a burst of
//!   that size refilled evenly over a minute. Anonymous callers (`anonymous`,
//!   empty) share one bucket; keys are cut to 64 bytes so a forged `From` cannot
//!   grow memory.
//! - Requests: `requests_per_ip_per_second` per source, with a burst of twice that
//!   (a platform sends a few webhooks at once at call start). IPv6 sources are
//!   keyed by their /64, since one host usually holds a whole /64; IPv4-mapped
//!   IPv6 addresses count as their IPv4 address.
//! - Wrong tries of `IVR_ADMIN_TOKEN` (the console's login form and bearer
//!   tokens on `/metrics`, `/admin/…` and `/console`): ten a minute per source
//!   address, always on (`guesses`).
//! - Positions posted to a location link: six a minute per link, twenty per
//!   source address, always on (`positions`).
//! - Refusals in the log: one line per source, route and reason per interval,
//!   with a count (`refusals`).
//! - A limit of 0 turns that limit off (not the token tries').
//! - [`RateLimits::retain_recent`] drops keys whose bucket is full again, and
//!   writes the refusals counted since the last call; call it every minute.

mod guesses;
mod positions;
mod refusals;

pub(crate) use refusals::{INTERVAL as REFUSALS_INTERVAL, Refusals};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

/// The per-address burst is this many seconds' worth of requests.
const IP_BURST_FACTOR: NonZeroU32 = NonZeroU32::MIN.saturating_add(1);

/// Longest caller-number key kept, in bytes.
const MAX_KEY_BYTES: usize = 64;

type Keyed<K, C> = RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The keyed limiters of the webhook layer. Cheap to share behind an `Arc`; every
/// method takes `&self` and is safe to call from many threads.
pub(crate) struct RateLimits<C: Clock = DefaultClock> {
    calls: Option<Keyed<String, C>>,
    requests: Option<Keyed<IpAddr, C>>,
    guesses: guesses::Guesses<C>,
    /// Positions posted to location links, per link and per address.
    pub(crate) positions: positions::Positions<C>,
    /// The log lines about refused requests.
    pub(crate) refusals: Refusals,
}

impl RateLimits {
    /// Limits on the real clock. A value of 0 disables that limit. Sensible values:
    /// 3 new calls per number per minute, 50 requests per address per second.
    pub(crate) fn new(calls_per_number_per_minute: u32, requests_per_ip_per_second: u32) -> Self {
        Self::with_clock(
            calls_per_number_per_minute,
            requests_per_ip_per_second,
            DefaultClock::default(),
        )
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// Limits on a given clock (tests use `governor::clock::FakeRelativeClock`).
    pub(crate) fn with_clock(
        calls_per_number_per_minute: u32,
        requests_per_ip_per_second: u32,
        clock: C,
    ) -> Self {
        let calls = NonZeroU32::new(calls_per_number_per_minute)
            .map(|n| RateLimiter::dashmap_with_clock(Quota::per_minute(n), clock.clone()));
        let requests = NonZeroU32::new(requests_per_ip_per_second).map(|n| {
            let burst = n.saturating_mul(IP_BURST_FACTOR);
            RateLimiter::dashmap_with_clock(Quota::per_second(n).allow_burst(burst), clock.clone())
        });
        Self {
            calls,
            requests,
            guesses: guesses::Guesses::new(clock.clone()),
            positions: positions::Positions::new(clock),
            refusals: Refusals::default(),
        }
    }
}

impl<C: Clock> RateLimits<C> {
    /// Takes one new call for this caller number; false when its quota is spent.
    pub(crate) fn allow_new_call(&self, caller_number: &str) -> bool {
        match &self.calls {
            Some(l) => l.check_key(&number_key(caller_number)).is_ok(),
            None => true,
        }
    }

    /// Takes one request for this source address; false when its quota is spent.
    pub(crate) fn allow_request(&self, ip: IpAddr) -> bool {
        match &self.requests {
            Some(l) => l.check_key(&ip_key(ip)).is_ok(),
            None => true,
        }
    }

    /// `Some(wait)` while this source address has tried too many wrong
    /// tokens: its next try is refused before the token is compared.
    pub(crate) fn token_blocked(&self, ip: IpAddr) -> Option<Duration> {
        self.guesses.blocked(ip)
    }

    /// Counts a wrong token from this source address; `Err(wait)` when it is
    /// one too many (refused as over the limit).
    pub(crate) fn token_failed(&self, ip: IpAddr) -> Result<(), Duration> {
        self.guesses.failed(ip)
    }

    /// Forgets keys whose bucket has refilled, and releases the memory.
    pub(crate) fn retain_recent(&self) {
        self.refusals.flush();
        self.guesses.retain_recent();
        self.positions.retain_recent();
        if let Some(l) = &self.calls {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.requests {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// Keys currently held (caller numbers, addresses), for metrics and tests.
    #[cfg(test)]
    pub(crate) fn tracked_keys(&self) -> (usize, usize) {
        (
            self.calls.as_ref().map_or(0, |l| l.len()),
            self.requests.as_ref().map_or(0, |l| l.len()),
        )
    }
}

/// Digits and `+` only (so `+55 11 9…` and `+55119…` are one caller), at most 64
/// bytes; anything without digits is the shared anonymous bucket.
fn number_key(n: &str) -> String {
    let key: String = n
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .take(MAX_KEY_BYTES)
        .collect();
    if key.bytes().any(|b| b.is_ascii_digit()) {
        key
    } else {
        "anonymous".to_string()
    }
}

/// IPv4 as is; IPv4-mapped IPv6 as IPv4; other IPv6 by /64.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    fn limits(calls: u32, reqs: u32) -> (RateLimits<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (RateLimits::with_clock(calls, reqs, clock.clone()), clock)
    }

    #[test]
    fn the_eleventh_wrong_token_in_a_minute_is_refused_even_with_the_limits_off() {
        let (l, clock) = limits(0, 0);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        for _ in 0..guesses::TOKEN_TRIES_PER_MINUTE.get() {
            assert_eq!(l.token_blocked(ip), None);
            assert!(l.token_failed(ip).is_ok());
        }
        assert!(l.token_blocked(ip).is_some());
        assert!(l.token_failed(ip).is_err());
        assert_eq!(l.token_blocked("203.0.113.10".parse().unwrap()), None);
        clock.advance(Duration::from_secs(6));
        assert_eq!(l.token_blocked(ip), None, "one try back every six seconds");
    }

    #[test]
    fn fourth_call_in_a_minute_is_refused_other_numbers_still_pass() {
        let (l, clock) = limits(3, 50);
        for _ in 0..3 {
            assert!(l.allow_new_call("+5511987654321"));
        }
        assert!(!l.allow_new_call("+5511987654321"));
        // Same number written differently is the same caller.
        assert!(!l.allow_new_call("+55 11 98765-4321"));
        assert!(l.allow_new_call("+5511912345678"));
        // One call's worth refills after 20 s (3 per minute).
        clock.advance(Duration::from_secs(20));
        assert!(l.allow_new_call("+5511987654321"));
        assert!(!l.allow_new_call("+5511987654321"));
    }

    #[test]
    fn anonymous_callers_share_one_bucket() {
        let (l, _) = limits(2, 50);
        assert!(l.allow_new_call("anonymous"));
        assert!(l.allow_new_call(""));
        assert!(!l.allow_new_call("Restricted"));
    }

    #[test]
    fn ip_burst_is_twice_the_rate_then_refused() {
        let (l, clock) = limits(3, 50);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        for i in 0..100 {
            assert!(l.allow_request(a), "request {i}");
        }
        assert!(!l.allow_request(a));
        assert!(l.allow_request(b));
        clock.advance(Duration::from_millis(100)); // 5 more at 50/s
        for _ in 0..5 {
            assert!(l.allow_request(a));
        }
        assert!(!l.allow_request(a));
    }

    #[test]
    fn ipv6_is_keyed_by_slash_64_and_mapped_v4_by_v4() {
        let (l, _) = limits(3, 1); // burst 2
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let z: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.allow_request(x));
        assert!(l.allow_request(y));
        assert!(!l.allow_request(x));
        assert!(l.allow_request(z));
        let v4: IpAddr = "198.51.100.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.1".parse().unwrap();
        assert!(l.allow_request(v4));
        assert!(l.allow_request(mapped));
        assert!(!l.allow_request(v4));
    }

    #[test]
    fn zero_disables_a_limit() {
        let (l, _) = limits(0, 0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..1000 {
            assert!(l.allow_new_call("+5511987654321"));
            assert!(l.allow_request(ip));
        }
        assert_eq!(l.tracked_keys(), (0, 0));
    }

    #[test]
    fn retain_recent_forgets_refilled_keys() {
        let (l, clock) = limits(3, 50);
        for n in 0..10 {
            assert!(l.allow_new_call(&format!("+55119000000{n:02}")));
        }
        assert!(l.allow_request("192.0.2.1".parse().unwrap()));
        assert_eq!(l.tracked_keys(), (10, 1));
        l.retain_recent();
        assert_eq!(l.tracked_keys(), (10, 1), "still limiting: kept");
        clock.advance(Duration::from_secs(61));
        l.retain_recent();
        assert_eq!(l.tracked_keys(), (0, 0));
    }

    #[test]
    fn long_keys_are_cut() {
        assert_eq!(number_key(&"9".repeat(1000)).len(), MAX_KEY_BYTES);
        assert_eq!(number_key("+55 (11) 9876-5432"), "+551198765432");
    }

    #[test]
    fn real_clock_constructor_limits() {
        let l = RateLimits::new(1, 1);
        assert!(l.allow_new_call("+5511987654321"));
        assert!(!l.allow_new_call("+5511987654321"));
    }
}
