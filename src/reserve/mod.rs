//! The reservation procedure: look up → find candidate boxes → create the
//! property → else record a lead.
//!
//! It is run by a background worker from a durable ledger row, and may be run
//! again for the same request after any failure. What makes that safe:
//! 1. It **always** looks the client code up first (`properties/client/{code}`).
//!    A property found there is adopted ([`ReservationOutcome::Existing`], or
//!    `Reserved` when this request had POSTed it), so a `POST /properties` whose
//!    answer was lost is never repeated.
//! 2. It never retries a `POST` itself. Each POST is recorded in the ledger
//!    before it is sent ([`PostLog`]: durable, so a crash, a restart or another
//!    instance knows of it), and the record is cleared only when OZmap's answer
//!    says it did not land (a 4xx, 429). A transient failure (5xx, timeout,
//!    connection) on the POST ends the run with [`ReserveError::Transient`] at
//!    once and leaves the request **uncertain**: OZmap may still commit it, and
//!    a slow tenant shows nothing until it does. So while a POST is uncertain,
//!    a look-up that finds nothing is not enough to POST again: the run ends
//!    with [`ReserveError::Unconfirmed`] (look again later) until a look-up made
//!    [`ReserveSettings::commit_wait`] (`OZMAP_COMMIT_WAIT_MS`) after that POST
//!    has found nothing.
//! 3. A 4xx on the POST means "this box cannot take the client": the next
//!    candidate is tried. 401/403 anywhere is [`ReserveError::Permanent`]
//!    (a bad API key is not fixed by waiting).
//! 4. Unless the refusal is about the request itself, which no other box would
//!    accept either: a 400/422 whose body names a field, or the same 400/422
//!    error from every box tried (at least two). That is a contract fault, not a
//!    lack of coverage: [`ReserveError::Permanent`] (a dead letter operators see,
//!    the caller told the request was kept), never a lead.
//!
//! If two properties for one request appear anyway (OZmap committed later
//! still than the wait), the first is kept and the other deleted in OZmap
//! (`duplicates`): at the look-up of an uncertain request, and at a later
//! [`recheck`] of a finished one.
//!
//! Candidates come from one of two strategies ([`Feasibility`]): the documented
//! primitives (boxes near the address, nearest first, without drafts, that hold a
//! drop splitter with a free, unblocked output), checked box by box so that the
//! usual case costs one box read; or OZmap's own `ftth-viability/radius`.
//!
//! Logs carry box ids, counts and HTTP statuses, never the client's code, name,
//! phone or address. Error messages carry none either.

mod duplicates;
mod ports;

pub(crate) use duplicates::{Rechecked, recheck, same_request};
pub(crate) use ports::box_name;
use ports::{port_of, reserved_from};

use ivr_core::domain::{BoxName, ReservationOutcome, ReservationRequest};
use ozmap_client::{NewClient, NewProperty, NewProspect, OzmapClient, OzmapError};
use secrecy::SecretString;
use std::future::Future;
use std::time::Duration;
use tracing::{debug, error, info, warn};
use url::Url;

/// Where OZmap is, and how long one request may take.
#[derive(Clone, Debug)]
pub(crate) struct OzmapSettings {
    /// `None`: no OZmap is configured; `serve` starts the built-in sandbox and
    /// points here at it ([`OzmapSettings::use_sandbox`]).
    pub api: Option<(Url, SecretString)>,
    pub timeout: Duration,
}

impl OzmapSettings {
    /// No OZmap configured: the built-in sandbox stands in.
    pub(crate) fn is_sandbox(&self) -> bool {
        self.api.is_none()
    }

    /// Points at a sandbox started for this process.
    pub(crate) fn use_sandbox(&mut self, url: Url, token: SecretString) {
        self.api = Some((url, token));
    }

    /// The client of the configured OZmap.
    pub(crate) fn client(&self) -> Result<OzmapClient, OzmapError> {
        let Some((url, token)) = &self.api else {
            return Err(OzmapError::InvalidConfig(
                "no OZmap configured (OZMAP_URL and OZMAP_TOKEN)".into(),
            ));
        };
        OzmapClient::new(url.clone(), token.clone(), self.timeout)
    }
}

/// How candidate boxes are found (`OZMAP_FEASIBILITY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Feasibility {
    /// Boxes near the address, then each box's splitters (documented API).
    Boxes,
    /// OZmap's `ftth-viability/radius` endpoint.
    Viability,
}

/// How [`reserve`] looks for a box and what it writes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReserveSettings {
    /// Search radius around the address, in metres.
    pub radius_m: u32,
    /// `force` on the property (accept a connector without a PON port).
    pub force: bool,
    pub strategy: Feasibility,
    /// Most candidate boxes tried.
    pub max_boxes: u32,
    /// The property's `observation`.
    pub property_observation: String,
    /// The client's `observation` (also used for the lead).
    pub client_observation: String,
    /// The longest OZmap may take to commit a POSTed property
    /// (`OZMAP_COMMIT_WAIT_MS`): after a POST whose answer never came, nothing
    /// is POSTed again until a look-up this long after it has found nothing.
    pub commit_wait: Duration,
}

impl ReserveSettings {
    pub(crate) const DEFAULT_MAX_BOXES: u32 = 10;
    /// `OZMAP_COMMIT_WAIT_MS`'s default (see the README for why 60 s).
    pub(crate) const DEFAULT_COMMIT_WAIT: Duration = Duration::from_secs(60);

    /// The documented observations and at most 10 boxes.
    pub(crate) fn new(radius_m: u32, force: bool, strategy: Feasibility) -> Self {
        Self {
            radius_m,
            force,
            strategy,
            max_boxes: Self::DEFAULT_MAX_BOXES,
            property_observation: "Reserva de Porta".into(),
            client_observation: "Reserva do Novo Cliente".into(),
            commit_wait: Self::DEFAULT_COMMIT_WAIT,
        }
    }
}

impl Default for ReserveSettings {
    fn default() -> Self {
        Self::new(200, false, Feasibility::Boxes)
    }
}

/// Why a reservation did not finish. Messages carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReserveError {
    /// Try again later: the next run looks the client up first.
    #[error("temporary OZmap failure: {0}")]
    Transient(String),
    /// Trying again will not help (bad key, an answer that is not understood…).
    #[error("OZmap reservation failed: {0}")]
    Permanent(String),
    /// A property POSTed at `since` (Unix ms) may still be committing: it is not
    /// in OZmap yet, and nothing is POSTed again before `until`. Look again.
    #[error(
        "waiting for OZmap to confirm the property sent at {since} (nothing is sent again before {until})"
    )]
    Unconfirmed { since: i64, until: i64 },
}

impl ReserveError {
    #[cfg(test)]
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, ReserveError::Transient(_))
    }
}

/// Maps a client error met at `stage` to what the worker should do.
fn classify(stage: &str, e: OzmapError) -> ReserveError {
    if e.is_transient() {
        ReserveError::Transient(format!("{stage}: {e}"))
    } else {
        ReserveError::Permanent(format!("{stage}: {e}"))
    }
}

/// Where a run records each `POST /properties` before it is sent, durably, so
/// that a crash, a restart or another instance knows a POST may have landed
/// (the worker writes it on the claimed ledger row).
pub(crate) trait PostLog: Sync {
    /// A POST is about to be sent at `at_ms`. An error: it is not sent.
    fn sending(&self, at_ms: i64) -> impl Future<Output = Result<(), String>> + Send;
    /// OZmap's answer says the POST did not land (it was refused).
    fn not_landed(&self) -> impl Future<Output = Result<(), String>> + Send;
}

/// What the ledger knows of this request before the run, and where the run
/// records its POSTs.
pub(crate) struct Attempt<'a, L> {
    /// The time (Unix ms) of a POST whose answer never came, if any.
    pub uncertain_since: Option<i64>,
    pub log: &'a L,
}

/// How a run ended: the outcome, and the ids of the copies of the kept
/// property that were deleted in OZmap (see `duplicates`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Finished {
    pub outcome: ReservationOutcome,
    pub removed: Vec<String>,
}

impl Finished {
    fn only(outcome: ReservationOutcome) -> Self {
        Self {
            outcome,
            removed: Vec::new(),
        }
    }
}

/// Wall clock in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A box worth a `POST /properties`.
struct Candidate {
    id: String,
    name: Option<String>,
    /// The box's project, sent on the property (the SDK's schema requires it).
    project: Option<String>,
}

/// Reserves a port for `req`, or records a lead when no box can take it.
pub(crate) async fn reserve<L: PostLog>(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    at: &Attempt<'_, L>,
) -> Result<Finished, ReserveError> {
    info!(strategy = ?s.strategy, radius_m = s.radius_m, "reservation: start");

    // 1. Look before creating: this is what makes a rerun safe.
    let looked_at = now_ms();
    let found = client
        .properties_by_client(req.client_code.as_str())
        .await
        .map_err(|e| classify("looking the client code up", e))?;
    if !found.is_empty() {
        return duplicates::adopt(client, s, req, found, at.uncertain_since.is_some()).await;
    }
    debug!("reservation: no existing property");
    if let Some(since) = at.uncertain_since {
        let until = since.saturating_add(s.commit_wait.as_millis() as i64);
        if looked_at < until {
            info!(
                posted_ms_ago = looked_at - since,
                wait_left_ms = until - looked_at,
                "reservation: the property sent earlier is not in OZmap yet; nothing is sent again within OZMAP_COMMIT_WAIT_MS"
            );
            return Err(ReserveError::Unconfirmed { since, until });
        }
        warn!(
            posted_ms_ago = looked_at - since,
            "reservation: the property sent earlier never appeared within OZMAP_COMMIT_WAIT_MS; sending it again"
        );
    }

    // 2 + 3. Candidates, tried in order.
    let max = s.max_boxes.max(1) as usize;
    let mut refusals = Refusals::default();
    match s.strategy {
        Feasibility::Boxes => {
            let boxes = client
                .boxes_near(req.place.lat, req.place.lng, s.radius_m, s.max_boxes.max(1))
                .await
                .map_err(|e| classify("listing boxes near the address", e))?;
            info!(boxes = boxes.len(), "reservation: boxes near the address");
            for b in boxes.into_iter().take(max) {
                if b.draft {
                    debug!(box_id = %b.id, "skip: draft box");
                    continue;
                }
                if let Some(d) = b
                    .position()
                    .map(|(lat, lng)| distance_m(req.place.lat, req.place.lng, lat, lng))
                    && d > f64::from(s.radius_m) * 1.1 + 10.0
                {
                    warn!(
                        box_id = %b.id,
                        distance_m = d.round(),
                        radius_m = s.radius_m,
                        "skip: box outside the radius (was the near filter ignored?)"
                    );
                    continue;
                }
                let splitters = match client.splitters_of(&b.id).await {
                    Ok(sp) => sp,
                    Err(e) if e.is_transient() || matches!(e, OzmapError::Unauthorized(_)) => {
                        return Err(classify("reading a box's splitters", e));
                    }
                    Err(e) => {
                        warn!(box_id = %b.id, error = %e, "skip: splitters could not be read");
                        continue;
                    }
                };
                let drops = splitters.iter().filter(|sp| sp.is_drop).count();
                let free: usize = splitters
                    .iter()
                    .filter(|sp| sp.is_drop)
                    .map(|sp| sp.free_outputs().len())
                    .sum();
                if free == 0 {
                    debug!(
                        box_id = %b.id,
                        splitters = splitters.len(),
                        drop_splitters = drops,
                        "skip: no free, unblocked drop port"
                    );
                    continue;
                }
                debug!(box_id = %b.id, free_ports = free, "candidate box");
                if b.project.is_none() {
                    warn!(box_id = %b.id, "the box names no project; the property is sent without one");
                }
                let c = Candidate {
                    name: Some(b.name).filter(|n| !n.trim().is_empty()),
                    id: b.id,
                    project: b.project,
                };
                if let Some(done) = try_box(client, s, req, &c, &mut refusals, at.log).await? {
                    return Ok(done);
                }
            }
        }
        Feasibility::Viability => {
            let v = client
                .viability(req.place.lat, req.place.lng, s.radius_m)
                .await
                .map_err(|e| classify("asking OZmap for viability", e))?;
            info!(
                viable = v.viable,
                boxes = v.boxes.len(),
                "reservation: viability"
            );
            if v.viable {
                for b in v.boxes.into_iter().take(max) {
                    let mut c = Candidate {
                        id: b.id,
                        name: b.name,
                        project: b.project,
                    };
                    if c.project.is_none() {
                        complete_from_box(client, &mut c).await?;
                    }
                    if let Some(done) = try_box(client, s, req, &c, &mut refusals, at.log).await? {
                        return Ok(done);
                    }
                }
            }
        }
    }

    // The same validation error from every box: the request, not the boxes.
    if let Some((status, message)) = refusals.all_the_same() {
        error!(
            status,
            reason = %message,
            boxes = refusals.seen.len(),
            "reservation: every box refused the property with the same error; the request itself is refused (contract fault), no lead is recorded"
        );
        return Err(ReserveError::Permanent(format!(
            "OZmap refused the property on all {} boxes with the same error (HTTP {status}): {message}",
            refusals.seen.len()
        )));
    }

    // 4. No box could take the client: record the lead.
    record_prospect(client, s, req).await.map(Finished::only)
}

/// The viability answer did not name the box's project: read the box for it
/// (and for its name). A box that cannot be read (other than for a bad key) is
/// still tried, without a project.
async fn complete_from_box(client: &OzmapClient, c: &mut Candidate) -> Result<(), ReserveError> {
    match client.get_box(&c.id).await {
        Ok(b) => {
            c.project = b.project;
            if c.name.is_none() {
                c.name = Some(b.name).filter(|n| !n.trim().is_empty());
            }
            if c.project.is_none() {
                warn!(box_id = %c.id, "the box names no project; the property is sent without one");
            }
            Ok(())
        }
        Err(e @ OzmapError::Unauthorized(_)) => Err(classify("reading a candidate box", e)),
        Err(e) if e.is_transient() => Err(classify("reading a candidate box", e)),
        Err(e) => {
            warn!(box_id = %c.id, error = %e, "the box could not be read; the property is sent without a project");
            Ok(())
        }
    }
}

/// The 4xx answers of the property POSTs of one run, in order.
#[derive(Default)]
struct Refusals {
    seen: Vec<(u16, String)>,
}

impl Refusals {
    /// `(status, message)` when at least two boxes refused, all with the same
    /// 400/422 and the same message.
    fn all_the_same(&self) -> Option<(u16, &str)> {
        let (first, rest) = self.seen.split_first()?;
        (!rest.is_empty() && matches!(first.0, 400 | 422) && rest.iter().all(|r| r == first))
            .then_some((first.0, first.1.as_str()))
    }
}

/// `POST /properties` on one candidate, recorded in `log` before it is sent.
/// `Ok(None)`: the box refused (4xx), try the next one (the refusal is noted in
/// `refusals`). A refusal that names a field of the request is
/// [`ReserveError::Permanent`] at once.
async fn try_box<L: PostLog>(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    c: &Candidate,
    refusals: &mut Refusals,
    log: &L,
) -> Result<Option<Finished>, ReserveError> {
    let body = NewProperty {
        address: req.place.postal(),
        lat: req.place.lat,
        lng: req.place.lng,
        coords: [req.place.lng, req.place.lat],
        project: c.project.clone(),
        observation: s.property_observation.clone(),
        box_id: c.id.clone(),
        auto_connect: true,
        force: s.force,
        client: NewClient {
            certified: false,
            implanted: false,
            status: 0,
            observation: s.client_observation.clone(),
            code: req.client_code.as_str().to_string(),
            name: req.client_name.clone(),
        },
    };
    log.sending(now_ms()).await.map_err(|e| {
        ReserveError::Transient(format!(
            "the POST could not be recorded before it was sent: {e}"
        ))
    })?;
    let answer = client.create_property(&body).await;
    if let Err(e) = &answer
        && !may_have_landed(e)
        && let Err(why) = log.not_landed().await
    {
        // The row stays uncertain: the next run waits before POSTing again.
        warn!(error = %why, "the refused POST could not be cleared from the ledger");
    }
    match answer {
        Ok(p) if !p.id.is_empty() => {
            let port = reserved_from(client, p, c).await;
            info!(
                property_id = %port.property_id,
                box_id = %port.box_id,
                port = ?port.port,
                "reservation: property created"
            );
            Ok(Some(Finished::only(ReservationOutcome::Reserved(port))))
        }
        Ok(_) => adopt_after_unclear_answer(client, s, req, "the answer had no property id")
            .await
            .map(Some),
        Err(OzmapError::Decode(m)) => adopt_after_unclear_answer(client, s, req, &m)
            .await
            .map(Some),
        Err(OzmapError::NotFound) => {
            info!(box_id = %c.id, status = 404, "box refused the property; next candidate");
            refusals.seen.push((404, String::new()));
            Ok(None)
        }
        Err(e @ OzmapError::Rejected { .. }) if e.refused_field().is_some() => {
            let field = e.refused_field().unwrap_or_default().to_string();
            let OzmapError::Rejected {
                status, message, ..
            } = &e
            else {
                unreachable!()
            };
            // Field name, status and the redacted message only: no personal data.
            error!(
                box_id = %c.id,
                status,
                field = %field,
                reason = %message,
                "reservation: OZmap refused the property body itself (field `{field}`); a contract fault, not a full box: no other box is tried and no lead is recorded"
            );
            Err(ReserveError::Permanent(format!(
                "OZmap refused the property request (HTTP {status}), field `{field}`: {message}"
            )))
        }
        Err(OzmapError::Rejected {
            status, message, ..
        }) => {
            // `message` is already redacted of what we sent.
            info!(box_id = %c.id, status, reason = %message, "box refused the property; next candidate");
            refusals.seen.push((status, message));
            Ok(None)
        }
        Err(e) => {
            if may_have_landed(&e) {
                warn!(box_id = %c.id, error = %e, "property POST failed; it may have landed: the request is uncertain, the next runs look it up before anything is sent again");
            }
            Err(classify("creating the property", e))
        }
    }
}

/// A POST that failed this way may still have created the property: no answer
/// (a timeout, a lost connection) or a server error. A refusal (4xx), a bad key
/// and a rate limit (429) did not.
fn may_have_landed(e: &OzmapError) -> bool {
    e.is_transient() && !matches!(e, OzmapError::RateLimited)
}

/// The POST succeeded but its answer was not usable: the property probably
/// exists, so look it up now rather than leave it to a rerun (which, the POST
/// being recorded, waits for it before sending anything again).
async fn adopt_after_unclear_answer(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    why: &str,
) -> Result<Finished, ReserveError> {
    warn!(reason = %why, "property POST answered but was not understood; looking it up");
    let found = client
        .properties_by_client(req.client_code.as_str())
        .await
        .map_err(|e| classify("looking up the property just created", e))?;
    if found.is_empty() {
        return Err(ReserveError::Transient(format!(
            "the property answer was not understood ({why}) and the property was not found yet"
        )));
    }
    duplicates::adopt(client, s, req, found, true).await
}

/// Step 4: the lead for the sales team. A rejected lead still ends in
/// `NotViable` (the caller's answer does not change), but is logged as an error.
async fn record_prospect(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
) -> Result<ReservationOutcome, ReserveError> {
    let body = NewProspect {
        name: req.client_name.clone(),
        code: req.client_code.as_str().to_string(),
        phone: req.phone.clone().filter(|p| !p.trim().is_empty()),
        address: req.place.postal(),
        coords: [req.place.lng, req.place.lat],
        viable: false,
        observation: s.client_observation.clone(),
    };
    match client.create_prospect(&body).await {
        Ok(_) => {
            info!("reservation: no box can take the client; lead recorded");
            Ok(ReservationOutcome::NotViable)
        }
        Err(e) if e.is_transient() || matches!(e, OzmapError::Unauthorized(_)) => {
            Err(classify("recording the lead", e))
        }
        Err(e) => {
            error!(error = %e, "reservation: no coverage, and OZmap refused the lead; it is NOT recorded");
            Ok(ReservationOutcome::NotViable)
        }
    }
}

/// Great-circle distance in metres.
fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const R: f64 = 6_371_000.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod sdk_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod uncertain_tests;
#[cfg(test)]
mod viability_tests;
