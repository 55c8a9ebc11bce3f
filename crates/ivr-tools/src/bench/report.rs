//! What a run found ([`BenchReport`], with a [`LoadResult`] per measured phase
//! and a [`HoldResult`] for the calls held), and its text for a person.

use super::args::Mode;
use super::stats::LatencyStats;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One measured phase against one server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadResult {
    pub elapsed_s: f64,
    /// Calls (greeting and step modes: requests) started.
    pub started: u64,
    /// Calls that went as scripted (whole mode: ended with a reservation in OZmap).
    pub completed: u64,
    pub calls_per_s: f64,
    /// Every request, status callbacks and polls included.
    pub webhooks: u64,
    pub webhooks_per_s: f64,
    /// `POST /voice/poll` per completed call (whole mode).
    pub polls_per_call: f64,
    /// Whole mode: reservations found in OZmap and freed after the call.
    pub reserved: u64,
    pub routes: Vec<LatencyStats>,
    pub all: Option<LatencyStats>,
    pub errors: BTreeMap<String, u64>,
    /// CPU time of the server process over the phase (`None`: not known).
    pub server_cpu_s: Option<f64>,
    pub server_cpu_us_per_webhook: Option<f64>,
    /// CPU time of the bench process over the phase, in cores (1.0 = one core busy).
    pub generator_cores: Option<f64>,
    /// CPU time of the bench process per request (the generator's cost, and the
    /// sandbox's when it runs in the bench).
    pub generator_cpu_us_per_webhook: Option<f64>,
    /// Whole mode: from the caller's "yes" to the address to the outcome.
    pub to_outcome: Option<OutcomeWait>,
}

/// From sending the confirmation of the address to the answer that speaks the
/// outcome (the hang-up or the transfer), over the completed calls.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OutcomeWait {
    pub calls: u64,
    /// Calls whose confirmation was answered with a hold (a `<Pause>` before the outcome).
    pub held: u64,
    /// `<Pause>` seconds the documents asked for after the confirmation, per call
    /// (as written; the bench sleeps them × `--pause-scale`).
    pub pause_s_per_call: f64,
    /// Wall-clock seconds at the run's `--pause-scale`.
    pub mean_s: f64,
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
}

impl OutcomeWait {
    /// From each call's (wall seconds, pause seconds as written).
    pub(super) fn from_calls(calls: &[(f64, u32)]) -> Option<Self> {
        if calls.is_empty() {
            return None;
        }
        let mut secs: Vec<f64> = calls.iter().map(|c| c.0).collect();
        secs.sort_by(f64::total_cmp);
        let at = |q: f64| secs[((secs.len() as f64 * q).ceil() as usize).clamp(1, secs.len()) - 1];
        let n = calls.len() as f64;
        Some(Self {
            calls: calls.len() as u64,
            held: calls.iter().filter(|c| c.1 > 0).count() as u64,
            pause_s_per_call: calls.iter().map(|c| f64::from(c.1)).sum::<f64>() / n,
            mean_s: secs.iter().sum::<f64>() / n,
            p50_s: at(0.5),
            p99_s: at(0.99),
            max_s: secs[secs.len() - 1],
        })
    }
}

/// Memory of the service with calls held in progress.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HoldResult {
    pub calls: u64,
    /// Calls that reached the address question and were left there.
    pub held: u64,
    pub rss_before_kib: u64,
    pub rss_held_kib: u64,
    /// (RSS held − RSS before) / calls held; can be 0 when the allocator reuses memory.
    pub bytes_per_call: f64,
    pub finished: u64,
    pub errors: BTreeMap<String, u64>,
    pub finish: Option<LoadResult>,
}

/// Everything one `ozmap-ivr bench` run found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchReport {
    pub mode: Option<Mode>,
    pub concurrency: u64,
    /// Generator threads, each its own runtime.
    pub threads: usize,
    pub pause_scale: f64,
    /// Think time before each answer, in ms.
    pub think_ms: f64,
    pub signed: bool,
    pub target: String,
    pub store: String,
    /// Spawn (or build) to the first answered `POST /voice`, in ms.
    pub startup_ms: Option<f64>,
    pub seeded_calls: u64,
    pub service: LoadResult,
    pub ceiling: Option<LoadResult>,
    /// Service webhooks/s ÷ ceiling requests/s.
    pub ratio_to_ceiling: Option<f64>,
    /// Service CPU per webhook ÷ ceiling CPU per request.
    pub cpu_ratio_to_ceiling: Option<f64>,
    /// The service's memory, when the bench started it.
    pub rss_idle_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    /// The memory figures are of the bench process (service in process).
    pub memory_includes_generator: bool,
    pub hold: Option<HoldResult>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl BenchReport {
    /// The report for a person.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let mode = self.mode.map_or("?", |m| match m {
            Mode::Whole => "whole calls",
            Mode::Greeting => "greeting only (POST /voice, fresh CallSid)",
            Mode::Step => "one answer step (read + durable write)",
        });
        let _ = writeln!(
            o,
            "ozmap-ivr bench: {mode}; concurrency {} on {} generator threads; think {} ms; pause scale {}{}; {}",
            self.concurrency,
            self.threads,
            self.think_ms,
            self.pause_scale,
            if self.pause_scale == 0.0 {
                " (no pauses: callers on hold poll again at once)"
            } else {
                ""
            },
            if self.signed { "signed" } else { "unsigned" }
        );
        let _ = writeln!(o, "service: {}", self.target);
        let _ = writeln!(o, "store:   {}", self.store);
        if self.seeded_calls > 0 {
            let _ = writeln!(
                o,
                "seeded:  {} stored calls before the start",
                self.seeded_calls
            );
        }
        if let Some(ms) = self.startup_ms {
            let _ = writeln!(o, "start-up to the first answered request: {ms:.1} ms");
        }
        let _ = writeln!(o);
        write_load(&mut o, "service", &self.service);
        if let Some(c) = &self.ceiling {
            write_load(
                &mut o,
                "ceiling (bare actix-web handler, same generator)",
                c,
            );
        }
        if let Some(r) = self.ratio_to_ceiling {
            let _ = write!(
                o,
                "ratio to the ceiling: {:.1}% of its requests/s",
                r * 100.0
            );
            if let Some(c) = self.cpu_ratio_to_ceiling {
                let _ = write!(o, "; server CPU per request {c:.1}× the ceiling's");
            }
            let _ = writeln!(o);
        }
        if self.ceiling.is_some() && self.ratio_to_ceiling.is_none() && self.think_ms > 0.0 {
            let _ = writeln!(
                o,
                "ratio to the ceiling: none (with a think time the service is not saturated)"
            );
        }
        if let (Some(idle), Some(after), Some(peak)) =
            (self.rss_idle_kib, self.rss_after_kib, self.rss_peak_kib)
        {
            let _ = writeln!(
                o,
                "service memory{}: RSS idle {:.1} MiB, after the run {:.1} MiB, peak (VmHWM) {:.1} MiB",
                if self.memory_includes_generator {
                    " (in process: includes the generator and the sandbox)"
                } else {
                    ""
                },
                mib(idle),
                mib(after),
                mib(peak)
            );
        }
        if let Some(h) = &self.hold {
            let _ = writeln!(
                o,
                "held {} of {} calls at the address question: RSS {:.1} MiB (before {:.1} MiB; {:.0} bytes per call in progress); finished afterwards: {}",
                h.held,
                h.calls,
                mib(h.rss_held_kib),
                mib(h.rss_before_kib),
                h.bytes_per_call,
                h.finished
            );
            if !h.errors.is_empty() {
                let _ = writeln!(o, "  hold errors: {}", errors_line(&h.errors));
            }
        }
        o
    }
}

pub(super) fn errors_line(e: &BTreeMap<String, u64>) -> String {
    if e.is_empty() {
        return "none".into();
    }
    e.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_load(o: &mut String, title: &str, r: &LoadResult) {
    let _ = writeln!(
        o,
        "{title}: {} of {} completed in {:.2} s: {:.1} calls/s, {} webhooks, {:.1} webhooks/s",
        r.completed, r.started, r.elapsed_s, r.calls_per_s, r.webhooks, r.webhooks_per_s
    );
    if r.polls_per_call > 0.0 {
        let _ = writeln!(
            o,
            "  polls per call {:.1}; reservations made and freed {}",
            r.polls_per_call, r.reserved
        );
    }
    if let Some(w) = &r.to_outcome {
        let _ = writeln!(
            o,
            "  confirmation to outcome: {} of {} calls held, {:.2} s of <Pause> per call; \
             {:.3} s mean, p50 {:.3}, p99 {:.3}, max {:.3} (pauses × --pause-scale)",
            w.held, w.calls, w.pause_s_per_call, w.mean_s, w.p50_s, w.p99_s, w.max_s
        );
    }
    if let Some(cpu) = r.server_cpu_us_per_webhook {
        let _ = write!(o, "  server CPU {cpu:.0} µs per request");
        if let Some(g) = r.generator_cores {
            let _ = write!(o, "; bench process {g:.2} cores busy");
            if let Some(us) = r.generator_cpu_us_per_webhook {
                let _ = write!(o, " ({us:.1} µs per request)");
            }
        }
        let _ = writeln!(o);
    } else if let Some(g) = r.generator_cores {
        let _ = write!(o, "  bench process {g:.2} cores busy");
        if let Some(us) = r.generator_cpu_us_per_webhook {
            let _ = write!(o, " ({us:.1} µs per request)");
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "  {:<16} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "route", "count", "mean", "p50", "p90", "p99", "max ms"
    );
    for s in r.routes.iter().chain(r.all.iter()) {
        let _ = writeln!(
            o,
            "  {:<16} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            s.route, s.count, s.mean_ms, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
        );
    }
    let _ = writeln!(o, "  errors: {}", errors_line(&r.errors));
    let _ = writeln!(o);
}
