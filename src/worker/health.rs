//! OZmap's health as this instance's worker sees it, for the console and the
//! metrics: the breaker's state, how long attempts take (the last
//! [`SAMPLES`], for p50/p99, and a Prometheus histogram), and the last error.
//!
//! The worker writes it after each attempt; readers take a [`HealthView`]. The
//! error text is what the worker logs already (an OZmap status or a transport
//! error, never a caller's data).

use super::BreakerState;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Attempts kept for the percentiles.
pub(crate) const SAMPLES: usize = 512;

/// Upper bounds of the OZmap latency histogram, in seconds.
pub(crate) const LATENCY_BUCKETS: [f64; 10] =
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0];

#[derive(Debug)]
pub(crate) struct OzmapHealth {
    inner: Mutex<Inner>,
    /// Every attempt's duration (registered in the service's metrics).
    pub(crate) latency: Histogram,
}

#[derive(Debug, Default)]
struct Inner {
    breaker: Breaker,
    samples: VecDeque<f64>,
    last_error: Option<(String, i64)>,
    last_success_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Breaker {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

/// A copy of the health, for one page or one scrape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct HealthView {
    /// `closed`, `open` or `half_open`.
    pub breaker: &'static str,
    /// Attempts in the percentiles.
    pub samples: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub last_error: Option<String>,
    pub last_error_at_ms: Option<i64>,
    pub last_success_at_ms: Option<i64>,
}

impl Default for OzmapHealth {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            latency: Histogram::new(LATENCY_BUCKETS),
        }
    }
}

impl OzmapHealth {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A poisoned lock only means a panic elsewhere; the numbers are still fine.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut inner)
    }

    /// One attempt that reached OZmap (answered or failed) took `took`.
    pub(crate) fn attempt(&self, took: Duration) {
        let secs = took.as_secs_f64();
        self.latency.observe(secs);
        self.with(|i| {
            if i.samples.len() == SAMPLES {
                i.samples.pop_front();
            }
            i.samples.push_back(secs * 1000.0);
        });
    }

    pub(crate) fn succeeded(&self, now_ms: i64) {
        self.with(|i| i.last_success_at = Some(now_ms));
    }

    pub(crate) fn failed(&self, error: &str, now_ms: i64) {
        let error: String = error.chars().take(300).collect();
        self.with(|i| i.last_error = Some((error, now_ms)));
    }

    pub(crate) fn breaker(&self, state: BreakerState) {
        let b = match state {
            BreakerState::Closed => Breaker::Closed,
            BreakerState::Open { .. } => Breaker::Open,
            BreakerState::HalfOpen => Breaker::HalfOpen,
        };
        self.with(|i| i.breaker = b);
    }

    pub(crate) fn view(&self) -> HealthView {
        self.with(|i| {
            let mut sorted: Vec<f64> = i.samples.iter().copied().collect();
            sorted.sort_by(f64::total_cmp);
            HealthView {
                breaker: match i.breaker {
                    Breaker::Closed => "closed",
                    Breaker::Open => "open",
                    Breaker::HalfOpen => "half_open",
                },
                samples: sorted.len(),
                p50_ms: percentile(&sorted, 0.50),
                p99_ms: percentile(&sorted, 0.99),
                last_error: i.last_error.as_ref().map(|(e, _)| e.clone()),
                last_error_at_ms: i.last_error.as_ref().map(|(_, at)| *at),
                last_success_at_ms: i.last_success_at,
            }
        })
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_the_last_attempts() {
        let h = OzmapHealth::default();
        assert_eq!(h.view().p50_ms, None);
        for ms in 1..=100 {
            h.attempt(Duration::from_millis(ms));
        }
        let v = h.view();
        assert_eq!(v.samples, 100);
        assert!((v.p50_ms.unwrap() - 50.0).abs() < 0.01, "{v:?}");
        assert!((v.p99_ms.unwrap() - 99.0).abs() < 0.01, "{v:?}");
        for _ in 0..SAMPLES {
            h.attempt(Duration::from_millis(7));
        }
        assert_eq!(h.view().samples, SAMPLES);
        assert!((h.view().p99_ms.unwrap() - 7.0).abs() < 0.01);
    }

    #[test]
    fn breaker_and_last_error() {
        let h = OzmapHealth::default();
        assert_eq!(h.view().breaker, "closed");
        h.breaker(BreakerState::HalfOpen);
        h.failed("OZmap answered 503", 42);
        let v = h.view();
        assert_eq!(v.breaker, "half_open");
        assert_eq!(v.last_error.as_deref(), Some("OZmap answered 503"));
        assert_eq!(v.last_error_at_ms, Some(42));
    }
}
