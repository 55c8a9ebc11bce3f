//! The reservation worker: its lease on a ledger row, retries, breaker, grace.

use super::{ConfigError, within};
use crate::worker::WorkerSettings;
use clap::Args;

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Reservation worker")]
pub struct WorkerArgs {
    /// How long a worker's claim on a ledger row lasts; the row of a crashed
    /// instance is taken over after it. One attempt is given up well before.
    #[arg(long, env = "IVR_WORKER_LEASE_MS", default_value_t = 60_000)]
    pub worker_lease_ms: u64,
    /// First retry delay of a reservation; doubles each attempt, with jitter.
    #[arg(long, env = "IVR_RETRY_BASE_MS", default_value_t = 2_000)]
    pub retry_base_ms: u64,
    /// Transient OZmap failures in a row that open the circuit breaker (0: off).
    #[arg(long, env = "IVR_BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,
    /// How long an open breaker stops the worker before one trial attempt.
    #[arg(long, env = "IVR_BREAKER_COOLDOWN_MS", default_value_t = 30_000)]
    pub breaker_cooldown_ms: u64,
    /// On SIGTERM, how long the reservation in hand may go on before the worker
    /// lets the row go (another instance, or the next start, picks it up).
    #[arg(long, env = "IVR_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,
    /// Days after which a reservation this service made, with no visit done
    /// (not marked installed), is released in OZmap: the property deleted,
    /// its port freed, the client told. Never before the end of the day of a
    /// visit still booked for it. 0: never for its age (an operator may still
    /// release one).
    #[arg(long, env = "IVR_RESERVATION_DAYS", default_value_t = 30)]
    pub reservation_days: u32,
}

impl WorkerArgs {
    pub(super) fn check(&self) -> Result<WorkerSettings, ConfigError> {
        let lease_ms = within(
            "IVR_WORKER_LEASE_MS",
            self.worker_lease_ms,
            2_000..=600_000,
            "must be between 2000 and 600000 milliseconds",
        )?;
        let retry_base_ms = within(
            "IVR_RETRY_BASE_MS",
            self.retry_base_ms,
            10..=600_000,
            "must be between 10 and 600000 milliseconds",
        )?;
        let breaker_failures = within(
            "IVR_BREAKER_FAILURES",
            self.breaker_failures,
            0..=1_000,
            "must be between 0 and 1000",
        )?;
        let breaker_cooldown_ms = within(
            "IVR_BREAKER_COOLDOWN_MS",
            self.breaker_cooldown_ms,
            10..=3_600_000,
            "must be between 10 and 3600000 milliseconds",
        )?;
        let shutdown_grace_ms = within(
            "IVR_SHUTDOWN_GRACE_MS",
            self.shutdown_grace_ms,
            0..=60_000,
            "must be at most 60000 milliseconds",
        )?;
        let reservation_days = within(
            "IVR_RESERVATION_DAYS",
            self.reservation_days,
            0..=3_650,
            "must be between 0 (never) and 3650 days",
        )?;
        let defaults = WorkerSettings::default();
        Ok(WorkerSettings {
            lease_ms: lease_ms as i64,
            backoff_base_ms: retry_base_ms as i64,
            backoff_max_ms: defaults.backoff_max_ms.max(retry_base_ms as i64),
            breaker_failures,
            breaker_cooldown_ms,
            shutdown_grace_ms,
            reservation_days,
            ..defaults
        })
    }
}
