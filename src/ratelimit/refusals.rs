//! Refused requests in the log: one line per source, route and reason per
//! interval, with a count, not one per request (a flood of forged requests
//! must not flood the log, nor hide what else it says).
//!
//! The first refusal from a source (its address masked: IPv4 by its /24,
//! IPv6 by its /48) is logged at once; the ones after it are counted, and
//! [`Refusals::flush`] (every [`INTERVAL`], from the housekeeping, and at
//! shutdown) writes one line for them: "refused 312 requests from
//! 203.0.113.0/24 in the last 60 s: bad signature". A source that stayed quiet
//! through an interval is forgotten, so its next refusal is logged at once
//! again. At most [`MAX_SOURCES`] sources are told apart; past that, others
//! are counted together as `other sources`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the counts are written.
pub(crate) const INTERVAL: Duration = Duration::from_secs(60);
/// Sources told apart in one interval.
const MAX_SOURCES: usize = 10_000;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    source: String,
    route: &'static str,
    reason: String,
}

struct Counted {
    since: Instant,
    /// Refused since `since` and not logged yet.
    count: u64,
}

/// The refusals of the current interval, by source, route and reason.
#[derive(Default)]
pub(crate) struct Refusals {
    open: Mutex<HashMap<Key, Counted>>,
}

/// An address as the log shows it: IPv4 by its /24, IPv6 by its /48
/// (IPv4-mapped IPv6 as IPv4); `unknown` without one.
fn masked(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        None => "unknown".to_string(),
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

impl Refusals {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Counted>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request from `source` to `route` was refused for `reason` (never a
    /// value the request carried): logged now when it is the first from there
    /// in this interval, counted otherwise.
    pub(crate) fn refused(&self, source: Option<IpAddr>, route: &'static str, reason: &str) {
        self.refused_at(Instant::now(), source, route, reason);
    }

    fn refused_at(&self, now: Instant, source: Option<IpAddr>, route: &'static str, reason: &str) {
        let mut key = Key {
            source: masked(source),
            route,
            reason: reason.to_string(),
        };
        let mut map = self.map();
        if !map.contains_key(&key) && map.len() >= MAX_SOURCES {
            key.source = "other sources".to_string();
        }
        match map.get_mut(&key) {
            Some(counted) => counted.count += 1,
            None => {
                tracing::warn!(
                    source = %key.source,
                    route,
                    "refused: {reason} (more from this source are counted, logged once per {} s)",
                    INTERVAL.as_secs()
                );
                map.insert(
                    key,
                    Counted {
                        since: now,
                        count: 0,
                    },
                );
            }
        }
    }

    /// Writes one line per source, route and reason with refusals not logged
    /// yet; forgets the quiet ones.
    pub(crate) fn flush(&self) {
        self.flush_at(Instant::now());
    }

    fn flush_at(&self, now: Instant) -> usize {
        let mut map = self.map();
        let mut lines = 0;
        map.retain(|key, counted| {
            if counted.count == 0 {
                return false;
            }
            tracing::warn!(
                source = %key.source,
                route = key.route,
                refused = counted.count,
                "refused {} requests from {} in the last {} s: {}",
                counted.count,
                key.source,
                now.duration_since(counted.since).as_secs().max(1),
                key.reason
            );
            lines += 1;
            *counted = Counted {
                since: now,
                count: 0,
            };
            true
        });
        map.shrink_to_fit();
        lines
    }

    #[cfg(test)]
    fn sources(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Log lines written while the guard lives on this thread.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(logs: &Captured) -> String {
        String::from_utf8(logs.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_flood_is_one_line_then_one_count_per_interval() {
        let (logs, _guard) = capture();
        let r = Refusals::default();
        let t0 = Instant::now();
        let a: IpAddr = "203.0.113.77".parse().unwrap();
        for _ in 0..1000 {
            r.refused_at(t0, Some(a), "whatsapp", "bad signature");
        }
        r.refused_at(
            t0,
            Some("198.51.100.1".parse().unwrap()),
            "whatsapp",
            "bad signature",
        );
        r.refused_at(t0, Some(a), "admin", "wrong bearer token");
        assert_eq!(text(&logs).lines().count(), 3, "{}", text(&logs));
        assert_eq!(r.flush_at(t0 + Duration::from_secs(42)), 1);
        let out = text(&logs);
        assert_eq!(out.lines().count(), 4, "{out}");
        assert!(
            out.contains(
                "refused 999 requests from 203.0.113.0/24 in the last 42 s: bad signature"
            ),
            "{out}"
        );
        assert!(!out.contains("203.0.113.77"), "{out}");
        // The flood goes on: counted, one line at the next flush.
        for _ in 0..5 {
            r.refused_at(
                t0 + Duration::from_secs(50),
                Some(a),
                "whatsapp",
                "bad signature",
            );
        }
        assert_eq!(r.flush_at(t0 + Duration::from_secs(102)), 1);
        assert!(text(&logs).contains("refused 5 requests from 203.0.113.0/24 in the last 60 s"));
        assert_eq!(text(&logs).lines().count(), 5);
        // Quiet for an interval: forgotten, the next one is logged at once.
        assert_eq!(r.flush_at(t0 + Duration::from_secs(162)), 0);
        assert_eq!(r.sources(), 0);
        r.refused_at(
            t0 + Duration::from_secs(170),
            Some(a),
            "whatsapp",
            "bad signature",
        );
        assert_eq!(text(&logs).lines().count(), 6);
    }

    #[test]
    fn sources_past_the_cap_are_counted_together() {
        let (logs, _guard) = capture();
        let r = Refusals::default();
        let now = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 500) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)));
            r.refused_at(now, Some(ip), "admin", "wrong bearer token");
        }
        assert_eq!(r.sources(), MAX_SOURCES + 1);
        assert_eq!(text(&logs).lines().count(), MAX_SOURCES + 1);
        assert_eq!(r.flush_at(now), 1);
        assert!(text(&logs).contains("refused 499 requests from other sources"));
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            masked(Some("203.0.113.77".parse().unwrap())),
            "203.0.113.0/24"
        );
        assert_eq!(
            masked(Some("::ffff:198.51.100.9".parse().unwrap())),
            "198.51.100.0/24"
        );
        assert_eq!(
            masked(Some("2001:db8:1:2::9".parse().unwrap())),
            "2001:db8:1::/48"
        );
        assert_eq!(masked(None), "unknown");
    }
}
