//! The arithmetic of the load report: latency samples grouped by route,
//! nearest-rank percentiles, and the few numbers read from `/proc`.
//!
//! Every latency is kept (microseconds, 4 bytes each), so percentiles are exact:
//! a million webhooks cost 4 MB, which a capacity run can afford, and no
//! histogram bucket hides the tail the targets are about.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The nearest-rank percentile `p` (0–100) of `sorted` (ascending): the smallest
/// sample such that at least `p`% of the samples are less than or equal to it.
/// `None` when there are no samples.
fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() || !p.is_finite() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// The route of a request URL: its path, without scheme, host or query
/// (`http://h:1/voice/answer?seq=3` → `/voice/answer`).
fn route_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// Latency samples in microseconds, by route.
#[derive(Clone, Debug, Default)]
pub(super) struct Samples {
    by_route: BTreeMap<String, Vec<u32>>,
}

impl Samples {
    pub(super) fn record(&mut self, url: &str, latency: Duration) {
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        let route = route_of(url);
        match self.by_route.get_mut(route) {
            Some(v) => v.push(us),
            None => {
                self.by_route.insert(route.to_string(), vec![us]);
            }
        }
    }

    pub(super) fn merge(&mut self, other: Samples) {
        for (route, mut v) in other.by_route {
            self.by_route.entry(route).or_default().append(&mut v);
        }
    }

    /// Requests recorded, all routes.
    pub(super) fn count(&self) -> u64 {
        self.by_route.values().map(|v| v.len() as u64).sum()
    }

    pub(super) fn count_of(&self, route: &str) -> u64 {
        self.by_route.get(route).map_or(0, |v| v.len() as u64)
    }

    /// One line per route, in path order, then `all` over every route.
    pub(super) fn summary(&self) -> (Vec<LatencyStats>, Option<LatencyStats>) {
        let mut routes = Vec::new();
        let mut all = Vec::new();
        for (route, v) in &self.by_route {
            let mut sorted = v.clone();
            sorted.sort_unstable();
            all.extend_from_slice(&sorted);
            if let Some(s) = LatencyStats::of(route, &sorted) {
                routes.push(s);
            }
        }
        all.sort_unstable();
        (routes, LatencyStats::of("all webhooks", &all))
    }
}

/// Latency of one route, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LatencyStats {
    pub route: String,
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencyStats {
    /// From ascending samples in microseconds; `None` when empty.
    fn of(route: &str, sorted: &[u32]) -> Option<Self> {
        let ms = |us: u32| f64::from(us) / 1000.0;
        let sum: u64 = sorted.iter().map(|&v| u64::from(v)).sum();
        Some(Self {
            route: route.to_string(),
            count: sorted.len() as u64,
            mean_ms: sum as f64 / sorted.len().max(1) as f64 / 1000.0,
            p50_ms: ms(percentile(sorted, 50.0)?),
            p90_ms: ms(percentile(sorted, 90.0)?),
            p99_ms: ms(percentile(sorted, 99.0)?),
            max_ms: ms(*sorted.last()?),
        })
    }
}

/// A duration on the command line: `30s`, `1.5s`, `250ms`, `2m`, or a bare number
/// of seconds.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} is not a duration (e.g. 30s, 500ms, 2m)"));
    }
    Duration::try_from_secs_f64(v * scale).map_err(|_| format!("{s:?} is too long"))
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU time from `/proc/<pid>/stat`, in clock ticks (fields 14
/// and 15, counted after the parenthesised command name, which may hold spaces).
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Linux reports CPU times in USER_HZ ticks, 100 per second on every platform
/// this runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// What `/proc` says about one process now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(super) struct ProcSample {
    pub(super) rss_kib: u64,
    pub(super) hwm_kib: u64,
    pub(super) cpu_s: f64,
}

/// Reads `/proc/<pid>` (`None`: this process). `None` when it cannot be read
/// (not Linux, or the process ended).
pub(super) fn proc_sample(pid: Option<u32>) -> Option<ProcSample> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_string(),
    };
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    Some(ProcSample {
        rss_kib: status_kib(&status, "VmRSS")?,
        hwm_kib: status_kib(&status, "VmHWM")?,
        cpu_s: stat_cpu_ticks(&stat)? as f64 / TICKS_PER_SECOND,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 90.0), Some(90));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 99.9), Some(100));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&v, f64::NAN), None);
        // Ten samples: p90 is the 9th, p99 the 10th (the tail is not averaged away).
        let ten: Vec<u32> = (1..=10).map(|x| x * 10).collect();
        assert_eq!(percentile(&ten, 90.0), Some(90));
        assert_eq!(percentile(&ten, 99.0), Some(100));
        assert_eq!(percentile(&ten, 50.0), Some(50));
        // Out-of-range p is clamped.
        assert_eq!(percentile(&ten, 150.0), Some(100));
        assert_eq!(percentile(&ten, -3.0), Some(10));
    }

    #[test]
    fn stats_by_route_drop_the_query_and_host() {
        let mut s = Samples::default();
        for (url, us) in [
            ("http://127.0.0.1:9/voice?x=1", 1000),
            ("http://127.0.0.1:9/voice/answer?seq=2", 3000),
            ("http://127.0.0.1:9/voice/answer?seq=3", 1000),
            ("http://127.0.0.1:9/voice/answer?seq=4", 2000),
        ] {
            s.record(url, Duration::from_micros(us));
        }
        assert_eq!(s.count(), 4);
        assert_eq!(s.count_of("/voice/answer"), 3);
        let (routes, all) = s.summary();
        assert_eq!(routes.len(), 2);
        let answer = &routes[1];
        assert_eq!(answer.route, "/voice/answer");
        assert_eq!(
            (answer.p50_ms, answer.max_ms, answer.mean_ms),
            (2.0, 3.0, 2.0)
        );
        let all = all.unwrap();
        assert_eq!((all.count, all.p50_ms, all.max_ms), (4, 1.0, 3.0));
        let mut other = Samples::default();
        other.record("http://h/voice", Duration::from_millis(9));
        s.merge(other);
        assert_eq!(s.count_of("/voice"), 2);
    }

    #[test]
    fn routes() {
        assert_eq!(route_of("http://h:1/voice/poll?seq=3"), "/voice/poll");
        assert_eq!(route_of("https://h/voice"), "/voice");
        assert_eq!(route_of("http://h"), "/");
        assert_eq!(route_of("/voice#x"), "/voice");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 0 "), Ok(Duration::ZERO));
        for bad in ["", "s", "-1s", "ten", "1h", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn proc_fields() {
        let status =
            "Name:\tozmap-ivr\nVmPeak:\t  900 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(20480));
        assert_eq!(status_kib(status, "VmRSS"), Some(10240));
        assert_eq!(status_kib(status, "VmSwap"), None);
        let stat = "1234 (ozmap ivr) S 1 1234 1234 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 3 0";
        assert_eq!(stat_cpu_ticks(stat), Some(175));
        assert_eq!(stat_cpu_ticks("garbage"), None);
        let me = proc_sample(None).expect("this process on Linux");
        assert!(me.rss_kib > 0 && me.hwm_kib >= me.rss_kib);
    }
}
