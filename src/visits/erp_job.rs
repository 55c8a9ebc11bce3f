//! The ERP outbox's job (`SCHEDULE=http` or `ixc`): a visit booked in the
//! store reaches the ERP through the one claim loop ([`crate::outbox`]).
//!
//! The caller's choice is booked in the store first (durable, the period's
//! capacity held there, `erp_status = 'pending'`); this job then builds the
//! ERP's view of the visit ([`VisitBooking`]: the visit's row and its ledger
//! row: the client's name, number and address, the box and port reserved)
//! and books it, idempotent by the protocol: a retry, a crash after the ERP
//! answered, or two instances never make two work orders. A visit an
//! operator cancelled after its booking reached the ERP is cancelled there.
//! A timeout or a 5xx is retried with backoff; a refusal (another 4xx, an
//! unreadable answer) or the last attempt is a dead letter for an operator,
//! the reason in the visit's `last_error`.
//!
//! [`poll_erp_visits`] asks the ERP about the booked visits whose day has
//! come: the ones it reports done (the client installed) or cancelled.

use super::erp::ErpAgenda;
use super::{AgendaError, ErpVisit, VisitBooking};
use crate::outbox::{self, Failure, Jobs, Settle};
use crate::store::{
    ErpAction, LedgerStatus, Store, StoreError, Visit, VisitJob, VisitStatus, now_ms,
};
use ivr_core::agenda::Day;
use ivr_core::domain::ReservationOutcome;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// How long a visit whose port is still being reserved waits before it is
/// looked at again.
const LEDGER_WAIT_MS: i64 = 30_000;

impl From<AgendaError> for Failure {
    fn from(e: AgendaError) -> Self {
        match e {
            AgendaError::Unavailable(e) => Failure::Retry(e),
            AgendaError::Refused(e) => Failure::Refused(e),
        }
    }
}

/// The visits' ERP outbox as leased jobs.
pub(crate) struct ErpJobs {
    pub store: Store,
    pub agenda: ErpAgenda,
}

/// Runs the ERP outbox until `shutdown` turns true. The app starts it when
/// `SCHEDULE` is `http` or `ixc`, with the worker's rhythm (`settings`) and
/// a `wake` the visit step nudges after it books a visit.
pub(crate) async fn run_erp_jobs(
    store: Store,
    agenda: ErpAgenda,
    settings: outbox::Settings,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
) {
    tracing::info!(erp = agenda.kind(), "visits' ERP outbox started");
    outbox::run(ErpJobs { store, agenda }, settings, wake, shutdown).await;
    tracing::info!("visits' ERP outbox stopped");
}

impl ErpJobs {
    /// The ERP's view of a visit: its row, and its ledger row for who and
    /// where. A visit with no ledger row can be cancelled, not booked.
    async fn booking(&self, v: &Visit, action: ErpAction) -> Result<VisitBooking, Failure> {
        let store = |e: StoreError| Failure::Retry(format!("store: {e}"));
        let ledger = match v.reservation_id {
            Some(id) => self.store.reservation(id).await.map_err(store)?,
            None => None,
        };
        let ledger = match ledger {
            Some(r) => Some(r),
            None => self
                .store
                .reservation_by_protocol(&v.protocol)
                .await
                .map_err(store)?,
        };
        let mut booking = VisitBooking {
            protocol: v.protocol.clone(),
            client_code: v.client_code.clone(),
            client_name: String::new(),
            phone: None,
            address: String::new(),
            lat: 0.0,
            lng: 0.0,
            box_name: None,
            port: None,
            slot: v.slot,
            erp_ref: v.erp_ref.clone(),
        };
        let Some(r) = ledger else {
            return match action {
                ErpAction::Book => Err(Failure::Refused(
                    "the visit has no reservation in the ledger: nothing to book the work \
                     order with"
                        .into(),
                )),
                _ => Ok(booking),
            };
        };
        if action == ErpAction::Book && r.status == LedgerStatus::Pending {
            return Err(Failure::Wait {
                at: now_ms() + LEDGER_WAIT_MS,
                note: "waiting for the port's reservation".into(),
            });
        }
        let port = match &r.outcome {
            Some(ReservationOutcome::Reserved(p) | ReservationOutcome::Existing(p)) => Some(p),
            _ => None,
        };
        booking.client_name = r.request.client_name.clone();
        booking.phone = r.request.phone.clone();
        booking.address = r.request.place.postal();
        booking.lat = r.request.place.lat;
        booking.lng = r.request.place.lng;
        booking.box_name = port
            .and_then(|p| p.box_name.as_ref())
            .map(|b| b.as_str().to_string());
        booking.port = port.and_then(|p| p.port);
        Ok(booking)
    }
}

impl Jobs for ErpJobs {
    type Job = VisitJob;
    type Done = Option<String>;
    type Error = StoreError;

    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<VisitJob>, StoreError> {
        self.store.claim_visit_job(now, lease_ms).await
    }

    fn attempts(job: &VisitJob) -> i64 {
        job.visit.erp_attempts
    }

    fn span(&self, job: &VisitJob) -> tracing::Span {
        tracing::info_span!(
            "visit_erp",
            id = job.visit.id,
            protocol = %job.visit.protocol,
            erp = self.agenda.kind(),
            attempt = job.visit.erp_attempts + 1
        )
    }

    async fn attempt(&self, job: &VisitJob) -> Result<Option<String>, Failure> {
        let action = job.action();
        if action == ErpAction::Nothing {
            return Ok(None);
        }
        let booking = self.booking(&job.visit, action).await?;
        match action {
            ErpAction::Book => Ok(Some(self.agenda.book(&booking).await?)),
            _ => {
                self.agenda.cancel(&booking).await?;
                Ok(None)
            }
        }
    }

    async fn settle(
        &self,
        job: &VisitJob,
        how: Settle<Option<String>>,
    ) -> Result<bool, StoreError> {
        if let Settle::Done(r) = &how {
            let slot = job.visit.slot.key();
            match job.action() {
                ErpAction::Book => tracing::info!(
                    slot,
                    erp_ref = r.as_deref().unwrap_or("-"),
                    "visit booked in the ERP"
                ),
                ErpAction::Cancel => tracing::info!("visit cancelled in the ERP"),
                ErpAction::Nothing => tracing::info!("nothing to send to the ERP"),
            }
        }
        self.store.settle_visit_job(job, how, now_ms()).await
    }

    fn release_note(&self) -> &'static str {
        "interrupted by shutdown (the ERP may have it)"
    }

    /// A dropped insert may still land: the next attempt looks the protocol
    /// up first, after the ERP had time to commit it.
    fn release_after_backoff(&self) -> bool {
        true
    }
}

/// What the ERP reported about the booked visits whose day has come.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ErpReports {
    /// Protocols of visits the ERP reports done: the client is installed
    /// (the reservation's life marks it implanted in OZmap).
    pub done: Vec<String>,
    /// Protocols of visits the ERP reports cancelled.
    pub cancelled: Vec<String>,
}

/// Asks the ERP about at most `limit` booked visits whose day is `today` or
/// before, oldest first. Changes nothing: the caller (the reservation's life)
/// acts on the answer. An ERP that does not answer ends the round (what was
/// learnt so far is returned); a visit the ERP refuses to report on is
/// skipped, with a warning.
pub(crate) async fn poll_erp_visits(
    store: &Store,
    agenda: &ErpAgenda,
    today: Day,
    limit: i64,
) -> Result<ErpReports, StoreError> {
    let mut reports = ErpReports::default();
    for v in store.visits_to_poll(today, limit).await? {
        let Some(erp_ref) = v.erp_ref.as_deref() else {
            continue;
        };
        match agenda.status(&v.protocol, erp_ref).await {
            Ok(ErpVisit::Open) => {}
            Ok(ErpVisit::Done) => reports.done.push(v.protocol),
            Ok(ErpVisit::Cancelled) => reports.cancelled.push(v.protocol),
            Err(AgendaError::Unavailable(e)) => {
                tracing::warn!(error = %e, "the ERP did not report on the visits; asked again later");
                break;
            }
            Err(AgendaError::Refused(e)) => {
                tracing::warn!(protocol = %v.protocol, error = %e, "the ERP refused to report on a visit");
            }
        }
    }
    Ok(reports)
}

/// Acts on what the ERP reports ([`poll_erp_visits`]): a visit done is ended
/// as done and its reservation marked installed (the worker implants the
/// client in OZmap); a visit the ERP cancelled is ended as cancelled (its
/// place given back; the reservation stays, for an operator to decide).
/// Returns how many visits changed.
pub(crate) async fn apply_erp_reports(
    store: &Store,
    reports: &ErpReports,
    now: i64,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for p in &reports.done {
        if store.end_visit(p, VisitStatus::Done, now).await?.is_some() {
            changed += 1;
        }
        let mark = store.mark_installed_by_protocol(p, now).await?;
        tracing::info!(?mark, "the ERP reports a visit done");
    }
    for p in &reports.cancelled {
        if store
            .end_visit(p, VisitStatus::Cancelled, now)
            .await?
            .is_some()
        {
            changed += 1;
            tracing::info!("the ERP reports a visit cancelled");
        }
    }
    Ok(changed)
}

/// How often the ERP is asked about the visits whose day has come.
pub(crate) const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Visits asked about in one round.
const POLL_LIMIT: i64 = 200;

/// Asks the ERP every [`POLL_EVERY`] (and once at start) about the visits
/// whose day has come, and acts on the answers, until `shutdown`. `today`
/// gives the ISP's local date at a time (Unix ms).
pub(crate) async fn run_erp_poll(
    store: Store,
    agenda: Arc<ErpAgenda>,
    today: impl Fn(i64) -> Day + Send + 'static,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let now = now_ms();
        let round = async {
            let reports = poll_erp_visits(&store, &agenda, today(now), POLL_LIMIT).await?;
            apply_erp_reports(&store, &reports, now).await
        };
        match round.await {
            Ok(0) => {}
            Ok(n) => tracing::info!(visits = n, "visits the ERP reported on were updated"),
            Err(e) => tracing::warn!(error = %e, "the visits the ERP reported on were not updated"),
        }
    }
}
