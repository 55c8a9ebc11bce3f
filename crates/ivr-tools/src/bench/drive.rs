//! The load itself: what one unit of load is ([`Work`]), the simulated calls that
//! do it at a given concurrency ([`drive`], [`measure`]), what they gather, and
//! the freeing of each call's reservation in OZmap afterwards. Single requests
//! (greeting, step) go the lean way ([`super::lean`]) unless `--full-client`;
//! whole and held calls through the TwiML executor.

use super::args::{AddressInput, BenchArgs};
use super::freer::Freer;
use super::lean::Lean;
use super::outcome::OutcomeClock;
use super::report::{LoadResult, OutcomeWait};
use super::stats::{Samples, proc_sample};
use super::target::Target;
use crate::caller::{Answer, CallEnd, CallError, CallEvent, Caller, CallerOptions, Scripted};
use ivr_core::tutorial;
use ivr_core::webhook::paths;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one unit of load is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    Greeting,
    Whole,
    /// Greets call `i` (its CallSid known), not measured: before [`Work::Step`].
    Prime,
    Step,
    /// Walks call `i` to the address question and leaves it there.
    HoldStart,
    /// Takes call `i` up again at the address question and finishes it.
    HoldFinish,
}

/// What every simulated call of a run shares.
pub(super) struct Ctx {
    pub(super) caller: Caller,
    base: String,
    /// Part of every CallSid and client code of the run.
    pub(super) run_id: u32,
    address: AddressInput,
    freer: Option<Freer>,
    /// Each phase takes its own range of call indices (CallSids and client codes).
    next_range: AtomicU64,
    /// Generator threads (each its own runtime and HTTP client).
    threads: usize,
    /// The lean requests of the greeting and the step (`None`: the executor's).
    pub(super) lean: Option<Lean>,
}

impl Ctx {
    /// The calls of a run against the server at `base`, placed by `caller`.
    pub(super) fn new(
        caller: Caller,
        base: String,
        run_id: u32,
        address: AddressInput,
        freer: Option<Freer>,
    ) -> Self {
        Self {
            lean: Lean::new(caller.options(), &base),
            caller,
            base,
            run_id,
            address,
            freer,
            next_range: AtomicU64::new(1 << 32),
            threads: 1,
        }
    }

    /// Greetings and steps through the executor too (`--full-client`).
    pub(super) fn with_full_client(mut self, full: bool) -> Self {
        if full {
            self.lean = None;
        }
        self
    }

    /// The calls of a test run against `base`, with a CallSid of its own.
    #[cfg(test)]
    pub(super) fn for_tests(base: &str) -> Self {
        Self::new(
            Caller::new(CallerOptions {
                url: format!("{base}/voice"),
                ..CallerOptions::default()
            })
            .expect("a caller"),
            base.to_string(),
            54_321,
            AddressInput::Speech,
            None,
        )
    }

    /// The load comes from `n` threads (at least one).
    pub(super) fn with_threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// A copy for one generator thread: the same calls, its own HTTP clients
    /// (a client's connections belong to the runtime that opened them).
    fn for_thread(&self) -> anyhow::Result<Ctx> {
        Ok(Ctx {
            caller: Caller::new(self.caller.options().clone())?,
            base: self.base.clone(),
            run_id: self.run_id,
            address: self.address,
            freer: self.freer.as_ref().map(Freer::fresh).transpose()?,
            next_range: AtomicU64::new(self.next_range.load(Ordering::Relaxed)),
            threads: 1,
            lean: self.lean.clone(),
        })
    }

    /// A range of call indices no other phase uses.
    pub(super) fn range(&self) -> u64 {
        self.next_range.fetch_add(1 << 32, Ordering::Relaxed)
    }

    pub(super) fn call_sid(&self, i: u64) -> String {
        format!("CA{:08x}{i:024x}", self.run_id)
    }

    /// Keys for the client code of call `i` (`*` separates the groups).
    pub(super) fn code_keys(&self, i: u64) -> String {
        format!("{}*{i}", self.run_id)
    }

    fn opts(&self, i: u64) -> CallerOptions {
        CallerOptions {
            call_sid: Some(self.call_sid(i)),
            ..self.caller.options().clone()
        }
    }

    fn address_answers(&self) -> Vec<Answer> {
        match self.address {
            AddressInput::Speech => vec![Answer::Speech(tutorial::SPOKEN_ADDRESS.into())],
            AddressInput::Cep => vec![
                Answer::Keys(tutorial::CEP.into()),
                Answer::Keys(tutorial::HOUSE_NUMBER.into()),
            ],
        }
    }

    fn first_answers(&self, i: u64) -> Vec<Answer> {
        vec![
            Answer::Keys(self.code_keys(i)),
            Answer::Keys("1".into()),
            Answer::Speech("Gabriel Marioto".into()),
        ]
    }
}

/// What one generator task gathered.
#[derive(Default)]
pub(super) struct Acc {
    pub(super) samples: Samples,
    pub(super) started: u64,
    pub(super) completed: u64,
    reserved: u64,
    pub(super) errors: BTreeMap<String, u64>,
    /// Whole calls: (seconds from the confirmation to the outcome, pause seconds written).
    to_outcome: Vec<(f64, u32)>,
}

impl Acc {
    pub(super) fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    fn merge(&mut self, o: Acc) {
        self.samples.merge(o.samples);
        self.started += o.started;
        self.completed += o.completed;
        self.reserved += o.reserved;
        self.to_outcome.extend(o.to_outcome);
        for (k, n) in o.errors {
            *self.errors.entry(k).or_default() += n;
        }
    }
}

fn error_kind(e: &CallError) -> String {
    match e {
        CallError::InvalidUrl { .. } => "invalid URL".into(),
        CallError::Client(_) => "HTTP client".into(),
        CallError::Transport { .. } => "transport (connection)".into(),
        CallError::Timeout { .. } => "timeout".into(),
        CallError::HttpStatus { status, .. } => format!("HTTP {status}"),
        CallError::WrongContentType { .. } => "wrong content type".into(),
        CallError::TooLarge { .. } => "answer too large".into(),
        CallError::MalformedXml { .. } => "malformed XML".into(),
        CallError::NotTwiml { .. } => "not TwiML".into(),
        CallError::UnsupportedVerb { verb, .. } => format!("unsupported <{verb}>"),
        CallError::UnknownVerb { verb, .. } => format!("unknown <{verb}>"),
        CallError::InvalidVerb { verb, .. } => format!("invalid <{verb}>"),
        CallError::TooManyRequests { .. } => "too many requests (a loop?)".into(),
        CallError::Inconsistent { .. } => "different answers to a repeated request".into(),
    }
}

/// One unit of load: call `i`.
async fn unit(ctx: &Ctx, work: Work, i: u64, acc: &mut Acc) {
    acc.started += 1;
    let samples = &mut acc.samples;
    // The confirmation of the address is the script's last answer.
    let confirmation = match work {
        Work::Whole => ctx.first_answers(i).len() + ctx.address_answers().len() + 1,
        Work::HoldFinish => ctx.address_answers().len() + 1,
        _ => usize::MAX,
    };
    let mut wait = OutcomeClock::default();
    let mut record = |e: &CallEvent| {
        if let CallEvent::Request { url, latency, .. } = e {
            samples.record(url, *latency);
        }
        wait.see(e, confirmation);
    };
    // Runs `caller` with `script`; `Ok(true)` when it ended as expected.
    let outcome: Result<(), String> = match work {
        Work::Greeting | Work::Prime => {
            let caller = if work == Work::Prime {
                ctx.caller.with_options(CallerOptions {
                    max_requests: 1,
                    ..ctx.opts(i)
                })
            } else {
                ctx.caller.with_options(CallerOptions {
                    max_requests: 1,
                    ..ctx.caller.options().clone()
                })
            };
            match caller {
                Err(e) => Err(error_kind(&e)),
                // One request answered with a Gather: the limit stops the call there.
                Ok(c) => match c.run(&mut Scripted::default(), &mut record).await {
                    Err(CallError::TooManyRequests { limit: 1 }) => Ok(()),
                    Err(e) => Err(error_kind(&e)),
                    Ok(r) => Err(format!("greeting ended the call ({:?})", r.end)),
                },
            }
        }
        Work::Step => {
            let caller = ctx.caller.with_options(CallerOptions {
                url: format!("{}/voice/answer?seq=1", ctx.base),
                max_requests: 1,
                extra_params: vec![
                    ("Digits".into(), ctx.code_keys(i)),
                    ("FinishedOnKey".into(), "#".into()),
                ],
                ..ctx.opts(i)
            });
            match caller {
                Err(e) => Err(error_kind(&e)),
                Ok(c) => match c.run(&mut Scripted::default(), &mut record).await {
                    Err(CallError::TooManyRequests { limit: 1 }) => Ok(()),
                    Err(e) => Err(error_kind(&e)),
                    Ok(r) => Err(format!("the answer ended the call ({:?})", r.end)),
                },
            }
        }
        Work::HoldStart => {
            let caller = ctx.caller.with_options(CallerOptions {
                max_requests: 4,
                status_callback: None,
                ..ctx.opts(i)
            });
            let mut script = Scripted::new(ctx.first_answers(i));
            match caller {
                Err(e) => Err(error_kind(&e)),
                Ok(c) => match c.run(&mut script, &mut record).await {
                    Err(CallError::TooManyRequests { limit: 4 }) if script.remaining() == 0 => {
                        Ok(())
                    }
                    Err(e) => Err(error_kind(&e)),
                    Ok(r) => Err(format!("ended before the address ({:?})", r.end)),
                },
            }
        }
        Work::Whole | Work::HoldFinish => {
            let mut answers = if work == Work::Whole {
                ctx.first_answers(i)
            } else {
                Vec::new()
            };
            answers.extend(ctx.address_answers());
            answers.push(Answer::Keys("1".into()));
            let mut script = Scripted::new(answers);
            // HoldFinish: `POST /voice` again for a call in progress (as a
            // platform sends it: `CallStatus=in-progress`), and the service
            // asks the current question (the address) again.
            let opts = if work == Work::HoldFinish {
                let mut o = ctx.opts(i);
                o.extra_params
                    .push(("CallStatus".into(), "in-progress".into()));
                o
            } else {
                ctx.opts(i)
            };
            let result = match ctx.caller.with_options(opts) {
                Err(e) => Err(error_kind(&e)),
                Ok(c) => match c.run(&mut script, &mut record).await {
                    Ok(r) if r.end == CallEnd::Hangup && script.remaining() == 0 => Ok(()),
                    Ok(r) => Err(format!(
                        "call ended early ({:?}, {} answers unused)",
                        r.end,
                        script.remaining()
                    )),
                    Err(e) => Err(error_kind(&e)),
                },
            };
            match (&result, &ctx.freer) {
                (Ok(()), Some(f)) => match f.free(&ctx.code_keys(i).replace('*', "|")).await {
                    Ok(0) => Err("no reservation in OZmap after the call".to_string()),
                    Ok(n) => {
                        acc.reserved += n;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                _ => result,
            }
        }
    };
    match outcome {
        Ok(()) => {
            acc.completed += 1;
            if let Some(w) = wait.took() {
                acc.to_outcome.push(w);
            }
        }
        Err(kind) => acc.error(kind),
    }
}

/// Which calls a phase runs: indices from `start`, at most `count`, no new one
/// after `deadline`.
pub(super) struct Source {
    next: AtomicU64,
    end: u64,
    deadline: Option<Instant>,
}

impl Source {
    pub(super) fn new(start: u64, count: u64, within: Option<Duration>) -> Self {
        Self {
            next: AtomicU64::new(start),
            end: start.saturating_add(count),
            deadline: within.map(|d| Instant::now() + d),
        }
    }

    pub(super) fn take(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.end).then_some(i)
    }
}

/// Runs `work` with `concurrency` calls at once until `source` runs dry.
pub(super) async fn drive(
    ctx: &Arc<Ctx>,
    work: Work,
    source: Source,
    concurrency: u64,
    server: &Target,
) -> LoadResult {
    let source = Arc::new(source);
    let server_before = server.sample();
    let me_before = proc_sample(None);
    let t0 = Instant::now();
    let acc = if ctx.threads <= 1 {
        callers(ctx.clone(), work, source, concurrency).await
    } else {
        on_threads(ctx, work, source, concurrency).await
    };
    let elapsed = t0.elapsed().as_secs_f64().max(1e-9);
    let server_cpu = match (server_before, server.sample()) {
        (Some(a), Some(b)) => Some(b.cpu_s - a.cpu_s),
        _ => None,
    };
    let generator_cores = match (me_before, proc_sample(None)) {
        (Some(a), Some(b)) => Some((b.cpu_s - a.cpu_s) / elapsed),
        _ => None,
    };
    let webhooks = acc.samples.count();
    let polls = acc.samples.count_of(paths::POLL);
    let (routes, all) = acc.samples.summary();
    LoadResult {
        elapsed_s: elapsed,
        started: acc.started,
        completed: acc.completed,
        calls_per_s: acc.completed as f64 / elapsed,
        webhooks,
        webhooks_per_s: webhooks as f64 / elapsed,
        polls_per_call: if matches!(work, Work::Whole | Work::HoldFinish) && acc.completed > 0 {
            polls as f64 / acc.completed as f64
        } else {
            0.0
        },
        reserved: acc.reserved,
        routes,
        all,
        errors: acc.errors,
        // In process, the bench's own CPU is the server's too: not separable.
        server_cpu_s: server_cpu.filter(|_| !server.in_process()),
        server_cpu_us_per_webhook: server_cpu
            .filter(|_| !server.in_process())
            .filter(|_| webhooks > 0)
            .map(|c| c * 1e6 / webhooks as f64),
        generator_cores,
        generator_cpu_us_per_webhook: generator_cores
            .filter(|_| webhooks > 0)
            .map(|g| g * elapsed * 1e6 / webhooks as f64),
        to_outcome: OutcomeWait::from_calls(&acc.to_outcome),
    }
}

/// `concurrency` callers on this runtime, taking calls from `source` until it runs dry.
async fn callers(ctx: Arc<Ctx>, work: Work, source: Arc<Source>, concurrency: u64) -> Acc {
    let mut tasks = Vec::new();
    let think = ctx.caller.options().think;
    for _ in 0..concurrency {
        let ctx = ctx.clone();
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            let mut acc = Acc::default();
            if !think.is_zero() {
                // Callers arrive spread over one think time, not all at once.
                tokio::time::sleep(think.mul_f64(rand::random_range(0.0..1.0))).await;
            }
            match &ctx.lean {
                Some(lean) if Lean::serves(work) => {
                    lean.caller(&ctx, work, &source, &mut acc).await
                }
                _ => {
                    while let Some(i) = source.take() {
                        unit(&ctx, work, i, &mut acc).await;
                    }
                }
            }
            acc
        }));
    }
    let mut acc = Acc::default();
    for t in tasks {
        match t.await {
            Ok(a) => acc.merge(a),
            Err(_) => acc.error("generator task panicked"),
        }
    }
    acc
}

/// The callers spread over `ctx.threads` OS threads, each running a
/// single-threaded runtime with its own HTTP clients, all taking calls from the
/// one `source`: one runtime on one core was the limit of the generator, not
/// the server.
async fn on_threads(ctx: &Arc<Ctx>, work: Work, source: Arc<Source>, concurrency: u64) -> Acc {
    let threads = (ctx.threads as u64).min(concurrency).max(1);
    let mut acc = Acc::default();
    let mut done = Vec::new();
    for t in 0..threads {
        let share = concurrency / threads + u64::from(t < concurrency % threads);
        let local = match ctx.for_thread() {
            Ok(c) => Arc::new(c),
            Err(_) => {
                acc.error("generator thread: HTTP client");
                continue;
            }
        };
        let source = source.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("bench-gen-{t}"))
            .spawn(move || {
                let acc = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(callers(local, work, source, share)),
                    Err(_) => {
                        let mut a = Acc::default();
                        a.error("generator thread: runtime");
                        a
                    }
                };
                let _ = tx.send(acc);
            });
        match spawned {
            Ok(_) => done.push(rx),
            Err(_) => acc.error("generator thread: spawn"),
        }
    }
    for rx in done {
        match rx.await {
            Ok(a) => acc.merge(a),
            Err(_) => acc.error("generator thread panicked"),
        }
    }
    acc
}

/// Warm-up (not kept), then the measured phase.
pub(super) async fn measure(
    ctx: &Arc<Ctx>,
    work: Work,
    args: &BenchArgs,
    server: &Target,
    count: u64,
    within: Option<Duration>,
) -> LoadResult {
    if !args.warmup.is_zero() {
        let warm = if work == Work::Step {
            Work::Greeting
        } else {
            work
        };
        drive(
            ctx,
            warm,
            Source::new(ctx.range(), u64::MAX / 2, Some(args.warmup)),
            args.concurrency,
            server,
        )
        .await;
    }
    drive(
        ctx,
        work,
        Source::new(ctx.range(), count, within),
        args.concurrency,
        server,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_identities_are_distinct_and_valid() {
        let ctx = Ctx::for_tests("http://127.0.0.1:9");
        let (a, b) = (ctx.range(), ctx.range());
        assert_ne!(a, b);
        let sid = ctx.call_sid(a + 7);
        assert_eq!(sid.len(), 34);
        assert!(ivr_core::webhook::valid_call_sid(&sid));
        assert_ne!(ctx.call_sid(a), ctx.call_sid(b));
        let code = ivr_core::domain::ClientCode::from_keypad(&ctx.code_keys(b + 123_456))
            .expect("a valid client code");
        assert_eq!(code.as_str(), format!("54321|{}", b + 123_456));
    }
}
