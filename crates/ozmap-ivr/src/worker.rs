//! The reservation worker: the only code that changes anything in OZmap.
//!
//! It claims due rows of the ledger (see [`crate::store`]), runs the reservation
//! procedure ([`crate::reserve`]) under a deadline shorter than the claim's
//! lease, and records the outcome. A transient failure puts the row back with
//! exponential backoff and jitter; a permanent one (OZmap refused the token) or too
//! many attempts make it a dead letter for an operator. Because every attempt
//! starts by looking the client code up in OZmap, a `POST /properties` that landed
//! before a crash or a timeout is adopted, never repeated.
//!
//! OZmap is guarded by a consecutive-failure circuit breaker ([`Breaker`]): after
//! a run of transient failures the worker stops claiming for a cool-down, then
//! lets one trial through. On shutdown the attempt in hand gets a grace period;
//! past it the attempt is dropped and the row released, so a restart (or another
//! instance) picks it up at once instead of waiting for the lease to run out.
//!
//! Any number of workers, in one process or many, can run against one store: the
//! claim is exclusive and fenced by a token, so a worker whose lease ran out cannot
//! overwrite the result of the one that took the row over.

use crate::reserve::{ReserveError, ReserveSettings, reserve};
use crate::store::{Claim, Store, now_ms};
use ivr_core::domain::ReservationOutcome;
use ozmap_client::OzmapClient;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSettings {
    /// How long a claim holds a row; a crashed worker's row is taken over after it.
    pub lease_ms: i64,
    /// Attempts before a row becomes a dead letter.
    pub max_attempts: i64,
    /// First retry delay; doubles each attempt.
    pub backoff_base_ms: i64,
    /// Longest retry delay.
    pub backoff_max_ms: i64,
    /// How often the ledger is looked at when nothing wakes the worker.
    pub idle_poll_ms: u64,
    /// Transient failures in a row that open the circuit breaker (0: no breaker).
    pub breaker_failures: u32,
    /// How long an open breaker keeps the worker from claiming before one trial.
    pub breaker_cooldown_ms: u64,
    /// On shutdown, how long the attempt in hand may go on before the worker drops
    /// it and releases the row for another worker (or the next start).
    pub shutdown_grace_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            lease_ms: 60_000,
            max_attempts: 12,
            backoff_base_ms: 2_000,
            backoff_max_ms: 300_000,
            idle_poll_ms: 500,
            breaker_failures: 5,
            breaker_cooldown_ms: 30_000,
            shutdown_grace_ms: 5_000,
        }
    }
}

impl WorkerSettings {
    /// How long one attempt may run: well inside the lease, so that a slow
    /// attempt is given up before another worker may take the row over.
    pub fn attempt_deadline(&self) -> Duration {
        let margin = (self.lease_ms / 4).min(5_000);
        Duration::from_millis((self.lease_ms - margin).max(500) as u64)
    }
}

pub struct Worker {
    pub store: Store,
    pub ozmap: OzmapClient,
    pub reserve: ReserveSettings,
    pub settings: WorkerSettings,
    pub wake: Arc<Notify>,
}

/// The delay before attempt `attempts + 1`, with ±20 % jitter.
pub fn backoff_ms(s: &WorkerSettings, attempts: i64) -> i64 {
    let exp = s
        .backoff_base_ms
        .saturating_mul(1i64 << attempts.clamp(0, 20));
    let capped = exp.min(s.backoff_max_ms);
    let jitter = (capped / 5).max(1);
    capped - jitter + (rand::random::<u64>() % (2 * jitter as u64 + 1)) as i64
}

/// Where the breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Rows are claimed as usual.
    Closed,
    /// OZmap failed too often in a row: nothing is claimed until `until`.
    Open { until: Instant },
    /// The cool-down is over: one attempt decides between closed and open.
    HalfOpen,
}

/// A consecutive-failure circuit breaker around OZmap.
///
/// Why: when OZmap is down, every due row would otherwise be claimed, fail and be
/// pushed back, one after the other, hammering a struggling OZmap and burning the
/// rows' attempts toward the dead letter. After `threshold` transient failures in a
/// row the breaker opens and the worker claims nothing for the cool-down; then one
/// trial attempt (half-open) closes it on success or opens it again on failure.
/// Time is passed in, so the breaker is a pure state machine.
#[derive(Clone, Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    state: BreakerState,
}

impl Breaker {
    /// `threshold` 0: never opens.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold,
            cooldown,
            failures: 0,
            state: BreakerState::Closed,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// `Ok` when a row may be claimed at `now` (an open breaker whose cool-down is
    /// over turns half-open); otherwise how long to wait.
    pub fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => Ok(()),
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen;
                Ok(())
            }
            BreakerState::Open { until } => Err(until - now),
        }
    }

    /// OZmap answered: the breaker closes.
    pub fn on_success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
    }

    /// A transient failure at `now`. `true` when this opened the breaker.
    pub fn on_failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let open = match self.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => self.threshold > 0 && self.failures >= self.threshold,
            BreakerState::Open { .. } => false,
        };
        if open {
            self.state = BreakerState::Open {
                until: now + self.cooldown,
            };
        }
        open
    }
}

/// What one attempt came to, for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptEnd {
    /// OZmap answered (a reservation, no coverage, or a refusal).
    Answered,
    /// OZmap failed in a way worth retrying.
    Failed,
    /// The attempt was interrupted by shutdown and the row released.
    Released,
}

/// Resolves once shutdown is asked for (never, if nobody can ask any more).
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Worker {
    /// Runs until `shutdown` turns true. A row in hand is finished if it can be
    /// within the shutdown grace, otherwise released for another worker.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("reservation worker started");
        let s = &self.settings;
        let mut breaker = Breaker::new(
            s.breaker_failures,
            Duration::from_millis(s.breaker_cooldown_ms),
        );
        loop {
            if *shutdown.borrow() {
                break;
            }
            let was_open = matches!(breaker.state(), BreakerState::Open { .. });
            if let Err(wait) = breaker.allow(Instant::now()) {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown_requested(&mut shutdown) => {}
                }
                continue;
            }
            if was_open {
                tracing::info!("OZmap circuit breaker half-open: one trial attempt");
            }
            match self.store.claim_due(now_ms(), s.lease_ms).await {
                Ok(Some(claim)) => match self.process_until(claim, &mut shutdown).await {
                    AttemptEnd::Answered => {
                        if breaker.state() != BreakerState::Closed {
                            tracing::info!("OZmap circuit breaker closed");
                        }
                        breaker.on_success();
                    }
                    AttemptEnd::Failed => {
                        if breaker.on_failure(Instant::now()) {
                            tracing::warn!(
                                cooldown_ms = s.breaker_cooldown_ms,
                                "OZmap circuit breaker open: no reservation is tried during the cool-down"
                            );
                        }
                    }
                    AttemptEnd::Released => {}
                },
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(s.idle_poll_ms)) => {}
                        _ = shutdown_requested(&mut shutdown) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "worker: cannot read the ledger");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown_requested(&mut shutdown) => {}
                    }
                }
            }
        }
        tracing::info!("reservation worker stopped");
    }

    /// One attempt at one row, run to its end.
    pub async fn process(&self, claim: Claim) -> AttemptEnd {
        let result = self.attempt(&claim).await;
        self.record(&claim, result).await
    }

    /// One attempt at one row; when shutdown is asked for, the attempt gets the
    /// grace, then is dropped and the row released (due again after a backoff,
    /// since the dropped `POST` may still be landing in OZmap).
    async fn process_until(
        &self,
        claim: Claim,
        shutdown: &mut watch::Receiver<bool>,
    ) -> AttemptEnd {
        let grace = Duration::from_millis(self.settings.shutdown_grace_ms);
        let result = tokio::select! {
            r = self.attempt(&claim) => Some(r),
            _ = async {
                shutdown_requested(shutdown).await;
                tokio::time::sleep(grace).await;
            } => None,
        };
        match result {
            Some(r) => self.record(&claim, r).await,
            None => {
                let id = claim.reservation.id;
                let now = now_ms();
                let next = now + backoff_ms(&self.settings, 0);
                match self
                    .store
                    .release_claim(&claim, "interrupted by shutdown", next, now)
                    .await
                {
                    Ok(true) => tracing::warn!(
                        reservation = id,
                        "shutdown: attempt interrupted; the row is released for another worker"
                    ),
                    Ok(false) => tracing::warn!(
                        reservation = id,
                        "shutdown: attempt interrupted; the claim was already lost"
                    ),
                    Err(e) => tracing::error!(
                        reservation = id,
                        error = %e,
                        "shutdown: could not release the row; it is taken over after its lease"
                    ),
                }
                AttemptEnd::Released
            }
        }
    }

    /// The reservation procedure under the attempt deadline.
    async fn attempt(&self, claim: &Claim) -> Result<ReservationOutcome, ReserveError> {
        match tokio::time::timeout(
            self.settings.attempt_deadline(),
            reserve(&self.ozmap, &self.reserve, &claim.reservation.request),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ReserveError::Transient(
                "the attempt ran past its deadline".into(),
            )),
        }
    }

    /// Writes the attempt's result to the ledger, fenced by the claim.
    async fn record(
        &self,
        claim: &Claim,
        result: Result<ReservationOutcome, ReserveError>,
    ) -> AttemptEnd {
        let id = claim.reservation.id;
        let attempt = claim.reservation.attempts + 1;
        let now = now_ms();
        let (end, recorded) = match result {
            Ok(outcome) => {
                tracing::info!(
                    reservation = id,
                    attempt,
                    outcome = outcome_name(&outcome),
                    "reservation finished"
                );
                (
                    AttemptEnd::Answered,
                    self.store.finish_claim(claim, &outcome, now).await,
                )
            }
            Err(ReserveError::Permanent(msg)) => {
                tracing::error!(reservation = id, attempt, error = %msg, "reservation failed for good (dead letter)");
                (
                    AttemptEnd::Answered,
                    self.store.bury_claim(claim, &msg, now).await,
                )
            }
            Err(ReserveError::Transient(msg)) if attempt >= self.settings.max_attempts => {
                tracing::error!(reservation = id, attempt, error = %msg, "reservation out of attempts (dead letter)");
                (
                    AttemptEnd::Failed,
                    self.store
                        .bury_claim(claim, &format!("{msg} (after {attempt} attempts)"), now)
                        .await,
                )
            }
            Err(ReserveError::Transient(msg)) => {
                let delay = backoff_ms(&self.settings, attempt - 1);
                tracing::warn!(reservation = id, attempt, retry_in_ms = delay, error = %msg, "reservation will be retried");
                (
                    AttemptEnd::Failed,
                    self.store.retry_claim(claim, &msg, now + delay, now).await,
                )
            }
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                reservation = id,
                "claim lost before the result was recorded; the row's new holder decides"
            ),
            Err(e) => {
                tracing::error!(reservation = id, error = %e, "could not record the result; the row will be claimed again after its lease")
            }
        }
        end
    }
}

fn outcome_name(o: &ReservationOutcome) -> &'static str {
    match o {
        ReservationOutcome::Reserved(_) => "reserved",
        ReservationOutcome::Existing(_) => "existing",
        ReservationOutcome::NotViable => "not_viable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let s = WorkerSettings::default();
        for attempts in 0..30 {
            let d = backoff_ms(&s, attempts);
            let nominal = (2_000i64 << attempts.min(20)).min(300_000);
            assert!(
                d >= nominal - nominal / 5 && d <= nominal + nominal / 5,
                "{attempts}: {d}"
            );
        }
        assert!(backoff_ms(&s, 0) <= 2_400);
        assert!(backoff_ms(&s, 29) <= 360_000);
    }

    #[test]
    fn an_attempt_ends_well_inside_its_lease() {
        let mut s = WorkerSettings::default();
        assert_eq!(s.attempt_deadline(), Duration::from_secs(55));
        s.lease_ms = 4_000;
        assert_eq!(s.attempt_deadline(), Duration::from_secs(3));
        s.lease_ms = 100;
        assert_eq!(s.attempt_deadline(), Duration::from_millis(500));
    }

    #[test]
    fn breaker_opens_after_consecutive_failures_then_half_opens() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(30);
        let mut b = Breaker::new(3, cool);
        assert_eq!(b.allow(t0), Ok(()));
        // failures must be consecutive: a success in between starts over
        assert!(!b.on_failure(t0));
        assert!(!b.on_failure(t0));
        b.on_success();
        assert!(!b.on_failure(t0));
        assert!(!b.on_failure(t0));
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.on_failure(t0), "third in a row opens");
        assert_eq!(b.state(), BreakerState::Open { until: t0 + cool });
        assert_eq!(b.allow(t0), Err(cool));
        assert_eq!(
            b.allow(t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
        // cool-down over: one trial
        let t1 = t0 + cool;
        assert_eq!(b.allow(t1), Ok(()));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        // the trial fails: open again for a whole cool-down
        assert!(b.on_failure(t1));
        assert_eq!(b.state(), BreakerState::Open { until: t1 + cool });
        assert!(b.allow(t1 + Duration::from_secs(29)).is_err());
        let t2 = t1 + cool;
        assert_eq!(b.allow(t2), Ok(()));
        // the trial succeeds: closed, and the count starts over
        b.on_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(!b.on_failure(t2));
        assert!(!b.on_failure(t2));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_breaker_with_threshold_zero_never_opens() {
        let t0 = Instant::now();
        let mut b = Breaker::new(0, Duration::from_secs(1));
        for _ in 0..100 {
            assert!(!b.on_failure(t0));
        }
        assert_eq!(b.allow(t0), Ok(()));
    }

    mod with_sandbox {
        use super::*;
        use crate::store::LedgerStatus;
        use ivr_core::domain::{Cep, ClientCode, Place, ReservationRequest};
        use ivr_core::flow::Call;
        use ozmap_sandbox::{Network, PostFault, SandboxServer};
        use secrecy::SecretString;

        const TOKEN: &str = "worker-test-token";

        struct Rig {
            store: Store,
            sandbox: SandboxServer,
            path: std::path::PathBuf,
        }

        impl Drop for Rig {
            fn drop(&mut self) {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
                }
            }
        }

        async fn rig(codes: &[&str]) -> Rig {
            let path = std::env::temp_dir().join(format!(
                "ozmap-ivr-worker-{:016x}.db",
                rand::random::<u64>()
            ));
            let store = Store::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let sandbox = ozmap_sandbox::start(Network::builtin(), TOKEN, l)
                .await
                .unwrap();
            for (i, code) in codes.iter().enumerate() {
                let sid = format!("CA{i}");
                let call = Call::new(None);
                store.create_call(&sid, &call, "x", 1).await.unwrap();
                let req = ReservationRequest {
                    client_code: ClientCode::parse(code).unwrap(),
                    client_name: "Gabriel Marioto".into(),
                    place: Place {
                        street: "R. Delminda Silveira".into(),
                        number: Some("900".into()),
                        neighbourhood: Some("Agronômica".into()),
                        city: "Florianópolis".into(),
                        state: Some("SC".into()),
                        cep: Cep::parse("88025500"),
                        lat: -27.5782336721312,
                        lng: -48.527442812919624,
                    },
                    phone: None,
                };
                store
                    .advance_call(&sid, 1, &call, "y", Some(&req), 1 + i as i64)
                    .await
                    .unwrap();
            }
            Rig {
                store,
                sandbox,
                path,
            }
        }

        fn worker(r: &Rig, settings: WorkerSettings, timeout: Duration) -> Worker {
            Worker {
                store: r.store.clone(),
                ozmap: OzmapClient::new(
                    url::Url::parse(&r.sandbox.base_url()).unwrap(),
                    SecretString::from(TOKEN.to_string()),
                    timeout,
                )
                .unwrap(),
                reserve: ReserveSettings::default(),
                settings,
                wake: Arc::new(Notify::new()),
            }
        }

        async fn attempted(store: &Store) -> Vec<i64> {
            let mut rows = store.list_reservations(None, 100).await.unwrap();
            rows.sort_by_key(|r| r.id);
            rows.iter().map(|r| r.attempts).collect()
        }

        async fn wait_until<F, Fut>(what: &str, mut f: F)
        where
            F: FnMut() -> Fut,
            Fut: std::future::Future<Output = bool>,
        {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !f().await {
                assert!(Instant::now() < deadline, "gave up waiting for {what}");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }

        #[tokio::test]
        async fn an_open_breaker_stops_claiming_until_a_trial_succeeds() {
            let r = rig(&["1", "2", "3", "4", "5"]).await;
            r.sandbox.faults().set_fail_status(Some(503));
            let settings = WorkerSettings {
                breaker_failures: 2,
                breaker_cooldown_ms: 800,
                // failed rows are not due again during the test
                backoff_base_ms: 3_600_000,
                backoff_max_ms: 3_600_000,
                idle_poll_ms: 20,
                ..WorkerSettings::default()
            };
            let (stop, rx) = watch::channel(false);
            let task = tokio::spawn(worker(&r, settings, Duration::from_secs(2)).run(rx));
            let store = r.store.clone();
            wait_until("two failed attempts", || {
                let store = store.clone();
                async move { attempted(&store).await.iter().sum::<i64>() >= 2 }
            })
            .await;
            // open: the other rows are left alone during the cool-down
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(attempted(&r.store).await, vec![1, 1, 0, 0, 0]);
            // after the cool-down, one trial; it fails too, and the breaker opens again
            wait_until("the half-open trial", || {
                let store = store.clone();
                async move { attempted(&store).await.iter().sum::<i64>() >= 3 }
            })
            .await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(attempted(&r.store).await, vec![1, 1, 1, 0, 0]);
            // OZmap is back: the next trial succeeds, the breaker closes, the rest run
            r.sandbox.faults().set_fail_status(None);
            wait_until("the remaining rows", || {
                let store = store.clone();
                async move {
                    store
                        .list_reservations(Some(LedgerStatus::Done), 100)
                        .await
                        .unwrap()
                        .len()
                        == 2
                }
            })
            .await;
            assert_eq!(attempted(&r.store).await, vec![1, 1, 1, 1, 1]);
            assert_eq!(r.sandbox.property_posts(), 2);
            stop.send(true).unwrap();
            task.await.unwrap();
        }

        #[tokio::test]
        async fn shutdown_lets_the_attempt_in_hand_finish_within_the_grace() {
            let r = rig(&["78"]).await;
            // every OZmap answer takes a while, but less than the grace
            r.sandbox.faults().set_delay_ms(300);
            let settings = WorkerSettings {
                shutdown_grace_ms: 10_000,
                idle_poll_ms: 20,
                ..WorkerSettings::default()
            };
            let (stop, rx) = watch::channel(false);
            let task = tokio::spawn(worker(&r, settings, Duration::from_secs(5)).run(rx));
            let sandbox = &r.sandbox;
            wait_until("the POST", || async { sandbox.property_posts() == 1 }).await;
            stop.send(true).unwrap();
            task.await.unwrap();
            let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
            assert_eq!(row.status, LedgerStatus::Done);
            assert!(matches!(row.outcome, Some(ReservationOutcome::Reserved(_))));
            assert_eq!(r.sandbox.properties().len(), 1);
        }

        #[tokio::test]
        async fn shutdown_during_a_hanging_post_releases_the_row_and_a_restart_completes_it_once() {
            let r = rig(&["77"]).await;
            r.sandbox
                .faults()
                .set_post_fault_once(PostFault::HangAfterCommit);
            let settings = WorkerSettings {
                shutdown_grace_ms: 200,
                idle_poll_ms: 20,
                backoff_base_ms: 50,
                ..WorkerSettings::default()
            };
            let (stop, rx) = watch::channel(false);
            // OZmap's own timeout is far away: only the shutdown ends the attempt
            let task = tokio::spawn(worker(&r, settings.clone(), Duration::from_secs(60)).run(rx));
            let sandbox = &r.sandbox;
            wait_until("the POST", || async { sandbox.property_posts() == 1 }).await;
            stop.send(true).unwrap();
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the worker stops after its grace")
                .unwrap();
            let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
            assert_eq!(row.status, LedgerStatus::Pending);
            assert_eq!(row.attempts, 0);
            assert_eq!(row.last_error.as_deref(), Some("interrupted by shutdown"));
            // the next worker takes it at once (no lease to wait out) and adopts the
            // property the interrupted POST created
            let claim = r
                .store
                .claim_due(now_ms() + 1_000, 60_000)
                .await
                .unwrap()
                .expect("released, due after a short backoff");
            let w = worker(&r, settings, Duration::from_secs(2));
            assert_eq!(w.process(claim).await, AttemptEnd::Answered);
            let row = &r.store.list_reservations(None, 10).await.unwrap()[0];
            assert_eq!(row.status, LedgerStatus::Done);
            assert!(matches!(row.outcome, Some(ReservationOutcome::Existing(_))));
            assert_eq!(r.sandbox.property_posts(), 1);
            assert_eq!(r.sandbox.properties().len(), 1);
        }
    }
}
