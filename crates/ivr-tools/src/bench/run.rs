//! A whole run: the servers started, each phase measured in turn (the service,
//! the ceiling, the calls held), the servers stopped, and the report printed by
//! `ozmap-ivr bench`.

use super::args::{BenchArgs, Mode, service_urls};
use super::ceiling;
use super::drive::{Ctx, Source, Work, drive, measure};
use super::freer::Freer;
use super::report::{BenchReport, HoldResult, errors_line};
use super::target::{
    SANDBOX_TOKEN, Service, Target, seed, start_ceiling, start_sandbox, start_service,
    wait_first_answer,
};
use crate::caller::{Caller, CallerOptions};
use anyhow::Context;
use ivr_core::webhook::paths;
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn temp_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ozmap-ivr-bench-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Runs the whole benchmark and returns its report (printed by [`run_cli`]).
pub async fn run(args: BenchArgs, service: &dyn Service) -> anyhow::Result<BenchReport> {
    args.check()?;
    let token = args
        .auth_token
        .clone()
        .filter(|t| !t.is_empty())
        .map(SecretString::from);
    let mut report = BenchReport {
        mode: Some(args.mode),
        concurrency: args.concurrency,
        threads: args.generator_threads(),
        pause_scale: args.pause_scale,
        think_ms: args.think.as_secs_f64() * 1000.0,
        signed: token.is_some(),
        ..BenchReport::default()
    };
    let dir = temp_dir()?;
    let result = run_in(service, &args, token, &dir, &mut report).await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|()| report)
}

async fn run_in(
    service: &dyn Service,
    args: &BenchArgs,
    token: Option<SecretString>,
    dir: &Path,
    report: &mut BenchReport,
) -> anyhow::Result<()> {
    let base_opts = CallerOptions {
        url: "http://127.0.0.1:9/voice".into(),
        auth_token: token,
        pause_scale: args.pause_scale,
        think: args.think,
        // Without pauses a caller on hold polls as fast as it is answered, until
        // the service's own hold limit ends the wait: no loop guard would fit.
        max_requests: if args.pause_scale == 0.0 {
            1_000_000
        } else {
            500
        },
        request_timeout: args.timeout,
        ..CallerOptions::default()
    };
    let probe = Caller::new(base_opts.clone())?;
    let mut sandbox = None;
    let mut freer = None;
    let target = match &args.url {
        Some(url) => {
            let (base, voice) = service_urls(url)?;
            report.target = format!("running service at {voice}");
            report.store = "the running service's own".into();
            if let Some(sb) = &args.sandbox_url {
                freer = Some((
                    sb.trim_end_matches('/').to_string(),
                    args.sandbox_token.clone(),
                ));
            }
            Target::external(base, voice)
        }
        None => {
            let sb = start_sandbox(args.concurrency).await?;
            let database_url = match &args.database_url {
                Some(u) => u.clone(),
                None => format!("sqlite://{}", dir.join("bench.db").display()),
            };
            report.store = match &args.database_url {
                None => "SQLite, fresh file (WAL, synchronous=FULL)".into(),
                Some(u) if u.starts_with("sqlite:") => {
                    "SQLite (IVR_DATABASE_URL; WAL, synchronous=FULL)".into()
                }
                Some(_) => "PostgreSQL (IVR_DATABASE_URL)".into(),
            };
            if args.seed_calls > 0 {
                report.seeded_calls = seed(service, &database_url, args.seed_calls).await?;
            }
            freer = Some((sb.base_url(), SANDBOX_TOKEN.to_string()));
            let ozmap_url = sb.base_url();
            sandbox = Some(sb);
            let (target, startup) =
                start_service(service, args, &probe, &database_url, &ozmap_url, dir).await?;
            report.startup_ms = Some(startup.as_secs_f64() * 1000.0);
            report.target = match target.child_pid() {
                Some(pid) => format!(
                    "`ozmap-ivr serve` as a child process (pid {pid}) at {}, OZmap sandbox and gazetteer",
                    target.voice
                ),
                None => format!(
                    "in the bench process at {}, OZmap sandbox and gazetteer",
                    target.voice
                ),
            };
            report.memory_includes_generator = target.in_process();
            target
        }
    };
    let outcome = load_all(args, base_opts, freer, &target, dir, report).await;
    target.stop().await;
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    outcome
}

async fn load_all(
    args: &BenchArgs,
    base_opts: CallerOptions,
    freer: Option<(String, String)>,
    target: &Target,
    dir: &Path,
    report: &mut BenchReport,
) -> anyhow::Result<()> {
    let status_callback =
        (args.mode == Mode::Whole).then(|| format!("{}{}", target.base, paths::STATUS));
    let caller = Caller::new(CallerOptions {
        url: target.voice.clone(),
        status_callback,
        ..base_opts.clone()
    })?;
    let freer = match freer {
        Some((base, token)) => Some(Freer::new(base, token)?),
        None => None,
    };
    let ctx = Arc::new(
        Ctx::new(
            caller,
            target.base.clone(),
            rand::random_range(10_000..100_000),
            args.address,
            freer,
        )
        .with_threads(args.generator_threads())
        .with_full_client(args.full_client),
    );
    let idle = target.sample();
    report.rss_idle_kib = idle.map(|s| s.rss_kib);

    let work = match args.mode {
        Mode::Whole => Work::Whole,
        Mode::Greeting => Work::Greeting,
        Mode::Step => Work::Step,
    };
    report.service = if work == Work::Step {
        // Greet every call first (not measured), then measure the first answer.
        if !args.warmup.is_zero() {
            drive(
                &ctx,
                Work::Greeting,
                Source::new(ctx.range(), u64::MAX / 2, Some(args.warmup)),
                args.concurrency,
                target,
            )
            .await;
        }
        let start = ctx.range();
        let primed = drive(
            &ctx,
            Work::Prime,
            Source::new(start, args.calls, None),
            args.concurrency,
            target,
        )
        .await;
        if !primed.errors.is_empty() {
            anyhow::bail!(
                "could not greet the calls for the step: {}",
                errors_line(&primed.errors)
            );
        }
        drive(
            &ctx,
            Work::Step,
            Source::new(start, args.calls, args.duration),
            args.concurrency,
            target,
        )
        .await
    } else {
        measure(&ctx, work, args, target, args.calls, args.duration).await
    };
    report.rss_after_kib = target.sample().map(|s| s.rss_kib);

    if args.measure_ceiling() {
        let ceiling = start_ceiling(args, dir).await?;
        let cctx = Arc::new(
            Ctx::new(
                // The most the stack can do: no think time.
                Caller::new(CallerOptions {
                    url: ceiling.voice.clone(),
                    think: Duration::ZERO,
                    ..base_opts.clone()
                })?,
                ceiling.base.clone(),
                ctx.run_id,
                args.address,
                None,
            )
            .with_threads(args.generator_threads())
            .with_full_client(args.full_client),
        );
        let mut probe_target = ceiling;
        let waited = wait_first_answer(&cctx.caller, &mut probe_target, Instant::now()).await;
        let ceiling = probe_target;
        if let Err(e) = waited {
            ceiling.stop().await;
            return Err(e.context("the ceiling did not start"));
        }
        // As long as the service's measured phase took, at the same concurrency.
        let within = Duration::from_secs_f64(report.service.elapsed_s.max(1.0));
        let c = measure(
            &cctx,
            Work::Greeting,
            args,
            &ceiling,
            u64::MAX / 2,
            Some(within),
        )
        .await;
        ceiling.stop().await;
        // With a think time the service is not saturated: its rate is the load
        // offered, not what it can do, and no ratio is meaningful.
        if c.webhooks_per_s > 0.0 && args.think.is_zero() {
            report.ratio_to_ceiling = Some(report.service.webhooks_per_s / c.webhooks_per_s);
        }
        if let (Some(s), Some(c)) = (
            report.service.server_cpu_us_per_webhook,
            c.server_cpu_us_per_webhook,
        ) && c > 0.0
        {
            report.cpu_ratio_to_ceiling = Some(s / c);
        }
        report.ceiling = Some(c);
    }

    if args.hold > 0 {
        let start = ctx.range();
        let before = target.sample();
        let held = drive(
            &ctx,
            Work::HoldStart,
            Source::new(start, args.hold, None),
            args.concurrency,
            target,
        )
        .await;
        let with = target.sample();
        let finish = drive(
            &ctx,
            Work::HoldFinish,
            Source::new(start, args.hold, None),
            args.concurrency,
            target,
        )
        .await;
        let (b, w) = (
            before.map_or(0, |s| s.rss_kib),
            with.map_or(0, |s| s.rss_kib),
        );
        report.hold = Some(HoldResult {
            calls: args.hold,
            held: held.completed,
            rss_before_kib: b,
            rss_held_kib: w,
            bytes_per_call: if held.completed > 0 {
                (w.saturating_sub(b) * 1024) as f64 / held.completed as f64
            } else {
                0.0
            },
            finished: finish.completed,
            errors: held.errors.clone(),
            finish: Some(finish),
        });
    }
    let last = target.sample();
    report.rss_peak_kib = last.map(|s| s.hwm_kib);
    if report.rss_after_kib.is_none() {
        report.rss_after_kib = last.map(|s| s.rss_kib);
    }
    Ok(())
}

/// `ozmap-ivr bench`: runs, prints the report, writes the JSON when asked.
pub async fn run_cli(args: BenchArgs, service: &dyn Service) -> anyhow::Result<()> {
    if let Some(bind) = &args.serve_ceiling {
        return ceiling::serve(bind).await;
    }
    let json = args.json.clone();
    let report = run(args, service).await?;
    print!("{}", report.text());
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
