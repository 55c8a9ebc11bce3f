//! `ozmap-ivr bench`: a load generator for capacity planning.
//!
//! It walks many simulated calls at once through the whole flow, with the same
//! TwiML executor as `ozmap-ivr call` ([`crate::caller`]) playing the platform:
//! every call has a fresh CallSid and its own client code (so reservations never
//! collide), requests are signed when `TWILIO_AUTH_TOKEN` is set, and every
//! request's latency is kept, grouped by route. The report gives completed calls
//! per second, webhooks per second, latency percentiles per route (p50, p90, p99,
//! max), errors by kind, and — when the bench started the service itself — the
//! service's start-up time, CPU time per webhook and memory (`/proc/<pid>/status`).
//!
//! What it measures against:
//! - a running service (`ozmap-ivr bench http://host:port/voice`);
//! - or, by default, one it starts itself: `ozmap-ivr serve` as a child process
//!   (so its memory and CPU are its own), on a fresh SQLite file (or
//!   `IVR_DATABASE_URL`), with the bundled gazetteer and an OZmap sandbox run
//!   inside the bench process. `--server in-process` runs the service inside the
//!   bench instead (quick, used by the tests; its memory then includes the
//!   generator).
//!
//! Honest whole calls: each call ends with a real reservation in the sandbox. The
//! bundled network has six free ports at the tutorial address, so the bench's
//! sandbox adds drop splitters to the tutorial box (enough for every call in
//! flight), and once a call has ended the bench, playing an operator, looks its
//! client code up in OZmap and deletes the property, freeing the port. A call
//! counts as completed only when it hung up after the last scripted answer and its
//! reservation was found in OZmap. Against a running service, `--sandbox-url`
//! does the same freeing; without it reservations pile up in that OZmap.
//!
//! Pauses: `<Pause>` sleeps `length × --pause-scale` seconds. The default is 0, so
//! a caller on hold polls again as soon as the answer arrives: the poll loop spins.
//! That is a stress on purpose, and the report treats each poll as the webhook it
//! is (its own route, counted in webhooks/s, `polls per call` shown). Use
//! `--pause-scale 1` for real-time callers.
//!
//! Single requests (greeting and step modes, and the ceiling) go a lean way
//! instead (`lean`): one keep-alive HTTP/1.1 connection per simulated caller,
//! requests prebuilt, answers checked by their status, content type and first
//! bytes rather than executed, so that the generator costs about what wrk does
//! and the ceiling measured is the server's, not the generator's
//! (`--full-client` sends them through the executor as before).
//!
//! The ceiling ([`ceiling`]) is measured in the same run, with the same generator
//! and settings (in greeting and step modes always, else with `--ceiling`), and the
//! service's figures are given as ratios of it.
//!
//! The parts: the flags ([`BenchArgs`]), the servers under load (`target`), the
//! load itself (`drive`, `lean`, and `freer` for the reservations), a whole run
//! ([`run`]), its report ([`BenchReport`]) and the statistics behind it (`stats`).

mod args;
pub mod ceiling;
mod drive;
mod freer;
mod lean;
mod outcome;
mod report;
mod run;
mod stats;
mod target;

pub use args::{AddressInput, BenchArgs, Mode, ServerKind};
pub use report::{BenchReport, HoldResult, LoadResult, OutcomeWait};
pub use run::{run, run_cli};
pub use stats::LatencyStats;
pub use target::{InProcess, SeedCalls, Service};
