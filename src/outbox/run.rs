//! The one claim loop, and one job run to its end.

use super::{Failure, Jobs, Settings, Settle};
use crate::store::now_ms;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

/// How one claimed job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The attempt succeeded.
    Done,
    /// Refused for good: a dead letter at once.
    Refused,
    /// Failed in a way worth retrying (retried later, or out of attempts).
    Failed,
    /// Interrupted by shutdown; the row released.
    Released,
    /// Waiting for something outside; due again later, the attempt not counted.
    Waiting,
}

/// Resolves once shutdown is asked for (never, if nobody can ask any more).
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Claims and runs `jobs` until `shutdown` turns true (see the module docs).
pub(crate) async fn run<J: Jobs>(
    mut jobs: J,
    s: Settings,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        if let Err(wait) = jobs.ready() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown_requested(&mut shutdown) => {}
            }
            continue;
        }
        match jobs.claim(now_ms(), s.lease_ms).await {
            Ok(Some(job)) => {
                let span = jobs.span(&job);
                let started = Instant::now();
                let end = run_until(&jobs, &s, &job, &mut shutdown)
                    .instrument(span)
                    .await;
                jobs.ended(end, started.elapsed());
            }
            Ok(None) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(s.idle_poll_ms)) => {}
                    _ = shutdown_requested(&mut shutdown) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot claim from the queue");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown_requested(&mut shutdown) => {}
                }
            }
        }
    }
}

/// One claimed job run to its end and settled (no shutdown to watch).
#[cfg(test)]
pub(crate) async fn process<J: Jobs>(jobs: &J, s: &Settings, job: &J::Job) -> Ended {
    let result = attempt(jobs, s, job).await;
    settle(jobs, s, job, Some(result)).await
}

/// One job; when shutdown is asked for, the attempt gets the grace, then is
/// dropped and the row released.
async fn run_until<J: Jobs>(
    jobs: &J,
    s: &Settings,
    job: &J::Job,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let grace = Duration::from_millis(s.shutdown_grace_ms);
    let result = tokio::select! {
        r = attempt(jobs, s, job) => Some(r),
        _ = async {
            shutdown_requested(shutdown).await;
            tokio::time::sleep(grace).await;
        } => None,
    };
    settle(jobs, s, job, result).await
}

/// The attempt under the deadline.
async fn attempt<J: Jobs>(jobs: &J, s: &Settings, job: &J::Job) -> Result<J::Done, Failure> {
    match tokio::time::timeout(s.attempt_deadline(), jobs.attempt(job)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Retry("the attempt ran past its deadline".into())),
    }
}

/// Turns an attempt's result (`None`: interrupted) into a [`Settle`] and records it.
async fn settle<J: Jobs>(
    jobs: &J,
    s: &Settings,
    job: &J::Job,
    result: Option<Result<J::Done, Failure>>,
) -> Ended {
    let attempt = J::attempts(job) + 1;
    let now = now_ms();
    let (end, how) = match result {
        None => {
            let delay = if jobs.release_after_backoff() {
                s.backoff_ms(0)
            } else {
                0
            };
            let note = jobs.release_note().to_string();
            (
                Ended::Released,
                Settle::Released {
                    at: now + delay,
                    note,
                },
            )
        }
        Some(Ok(done)) => (Ended::Done, Settle::Done(done)),
        Some(Err(Failure::Wait { at, note })) => {
            tracing::info!(due_in_ms = at - now, note = %note, "waiting; due again later");
            (Ended::Waiting, Settle::Released { at, note })
        }
        Some(Err(Failure::Refused(error))) => {
            tracing::error!(error = %error, "refused (dead letter)");
            (Ended::Refused, Settle::DeadLetter { error })
        }
        Some(Err(Failure::Retry(e))) if attempt >= s.max_attempts => {
            tracing::error!(error = %e, "out of attempts (dead letter)");
            let error = format!("{e} (after {attempt} attempts)");
            (Ended::Failed, Settle::DeadLetter { error })
        }
        Some(Err(Failure::Retry(error))) => {
            let delay = s.backoff_ms(attempt - 1);
            tracing::warn!(retry_in_ms = delay, error = %error, "will be retried");
            (
                Ended::Failed,
                Settle::RetryLater {
                    at: now + delay,
                    error,
                },
            )
        }
    };
    match jobs.settle(job, how).await {
        Ok(true) if end == Ended::Released => {
            tracing::warn!("shutdown: attempt interrupted; the row is released for another worker")
        }
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(
                "claim lost before the result was recorded; the row's new holder decides"
            )
        }
        Err(e) => tracing::error!(
            error = %e,
            "could not record the result; the row is claimed again after its lease"
        ),
    }
    end
}
