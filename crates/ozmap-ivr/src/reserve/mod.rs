//! The reservation procedure: look up → find candidate boxes → create the
//! property → else record a lead.
//!
//! It is run by a background worker from a durable ledger row, and may be run
//! again for the same request after any failure. What makes that safe:
//! 1. It **always** looks the client code up first (`properties/client/{code}`).
//!    A property found there is adopted ([`ReservationOutcome::Existing`]), so a
//!    `POST /properties` whose answer was lost is never repeated.
//! 2. It never retries a `POST` itself. A transient failure (5xx, timeout,
//!    connection, 429) on the POST ends the run with [`ReserveError::Transient`]
//!    at once: the POST may have landed, and the next run's look-up adopts it.
//! 3. A 4xx on the POST means "this box cannot take the client": the next
//!    candidate is tried. 401/403 anywhere is [`ReserveError::Permanent`]
//!    (a bad API key is not fixed by waiting).
//!
//! Candidates come from one of two strategies ([`Feasibility`]): the documented
//! primitives (boxes near the address, nearest first, without drafts, that hold a
//! drop splitter with a free, unblocked output), checked box by box so that the
//! usual case costs one box read; or OZmap's own `ftth-viability/radius`.
//!
//! Logs carry box ids, counts and HTTP statuses, never the client's code, name,
//! phone or address. Error messages carry none either.

use ivr_core::domain::{ClientCode, ReservationOutcome, ReservationRequest, ReservedPort};
use ozmap_client::{NewClient, NewProperty, NewProspect, OzmapClient, OzmapError, Property};
use tracing::{debug, error, info, warn};

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
pub struct ReserveSettings {
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
}

impl ReserveSettings {
    pub const DEFAULT_MAX_BOXES: u32 = 10;

    /// The documented observations and at most 10 boxes.
    pub fn new(radius_m: u32, force: bool, strategy: Feasibility) -> Self {
        Self {
            radius_m,
            force,
            strategy,
            max_boxes: Self::DEFAULT_MAX_BOXES,
            property_observation: "Reserva de Porta".into(),
            client_observation: "Reserva do Novo Cliente".into(),
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
pub enum ReserveError {
    /// Try again later: the next run looks the client up first.
    #[error("temporary OZmap failure: {0}")]
    Transient(String),
    /// Trying again will not help (bad key, an answer that is not understood…).
    #[error("OZmap reservation failed: {0}")]
    Permanent(String),
}

impl ReserveError {
    pub fn is_transient(&self) -> bool {
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

/// A box worth a `POST /properties`.
struct Candidate {
    id: String,
    name: Option<String>,
}

/// Reserves a port for `req`, or records a lead when no box can take it.
pub async fn reserve(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
) -> Result<ReservationOutcome, ReserveError> {
    info!(strategy = ?s.strategy, radius_m = s.radius_m, "reservation: start");

    // 1. Look before creating: this is what makes a rerun safe.
    if let Some(port) = find_existing(client, &req.client_code)
        .await
        .map_err(|e| classify("looking the client code up", e))?
    {
        info!(
            property_id = %port.property_id,
            box_id = %port.box_id,
            "reservation: the client already has a property; adopting it"
        );
        return Ok(ReservationOutcome::Existing(port));
    }
    debug!("reservation: no existing property");

    // 2 + 3. Candidates, tried in order.
    let max = s.max_boxes.max(1) as usize;
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
                let c = Candidate {
                    name: Some(b.name).filter(|n| !n.trim().is_empty()),
                    id: b.id,
                };
                if let Some(port) = try_box(client, s, req, &c).await? {
                    return Ok(ReservationOutcome::Reserved(port));
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
                    let c = Candidate {
                        id: b.id,
                        name: b.name,
                    };
                    if let Some(port) = try_box(client, s, req, &c).await? {
                        return Ok(ReservationOutcome::Reserved(port));
                    }
                }
            }
        }
    }

    // 4. No box could take the client: record the lead.
    record_prospect(client, s, req).await
}

/// `POST /properties` on one candidate. `Ok(None)`: the box refused (4xx), try
/// the next one.
async fn try_box(
    client: &OzmapClient,
    s: &ReserveSettings,
    req: &ReservationRequest,
    c: &Candidate,
) -> Result<Option<ReservedPort>, ReserveError> {
    let body = NewProperty {
        address: req.place.postal(),
        lat: req.place.lat,
        lng: req.place.lng,
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
    match client.create_property(&body).await {
        Ok(p) if !p.id.is_empty() => {
            let port = reserved_from(client, p, c).await;
            info!(
                property_id = %port.property_id,
                box_id = %port.box_id,
                port = ?port.port,
                "reservation: property created"
            );
            Ok(Some(port))
        }
        Ok(_) => adopt_after_unclear_answer(client, req, "the answer had no property id").await,
        Err(OzmapError::Decode(m)) => adopt_after_unclear_answer(client, req, &m).await,
        Err(OzmapError::NotFound) => {
            info!(box_id = %c.id, status = 404, "box refused the property; next candidate");
            Ok(None)
        }
        Err(OzmapError::Rejected { status, message }) => {
            // `message` is already redacted of what we sent.
            info!(box_id = %c.id, status, reason = %message, "box refused the property; next candidate");
            Ok(None)
        }
        Err(e) => {
            if e.is_transient() {
                warn!(box_id = %c.id, error = %e, "property POST failed; it may have landed, the next run looks it up");
            }
            Err(classify("creating the property", e))
        }
    }
}

/// The POST succeeded but its answer was not usable: the property probably
/// exists, so look it up now rather than leave it to a rerun.
async fn adopt_after_unclear_answer(
    client: &OzmapClient,
    req: &ReservationRequest,
    why: &str,
) -> Result<Option<ReservedPort>, ReserveError> {
    warn!(reason = %why, "property POST answered but was not understood; looking it up");
    match find_existing(client, &req.client_code).await {
        Ok(Some(port)) => {
            info!(property_id = %port.property_id, box_id = %port.box_id, "reservation: adopted the property just created");
            Ok(Some(port))
        }
        Ok(None) => Err(ReserveError::Transient(format!(
            "the property answer was not understood ({why}) and the property was not found yet"
        ))),
        Err(e) => Err(classify("looking up the property just created", e)),
    }
}

/// The reserved port from the POST answer; the box from the answer, else the
/// candidate; its name from the candidate, else OZmap, else the id.
async fn reserved_from(client: &OzmapClient, p: Property, c: &Candidate) -> ReservedPort {
    let port = p.reserved_port();
    let (box_id, answer_name) = match &p.box_ref {
        Some(r) if !r.id().is_empty() => (r.id().to_string(), r.name().map(str::to_string)),
        _ => (c.id.clone(), None),
    };
    let name = match answer_name.or_else(|| (box_id == c.id).then(|| c.name.clone()).flatten()) {
        Some(n) => n,
        // The POST has landed: never fail from here on.
        None => box_name(client, &box_id)
            .await
            .unwrap_or_else(|_| box_id.clone()),
    };
    ReservedPort {
        property_id: p.id,
        box_id,
        box_name: name,
        port,
    }
}

/// A box's name from `GET /boxes/{id}`, or its id when OZmap gives none or the
/// read fails for any reason but a bad key.
async fn box_name(client: &OzmapClient, id: &str) -> Result<String, OzmapError> {
    match client.get_box(id).await {
        Ok(b) if !b.name.trim().is_empty() => Ok(b.name),
        Ok(_) => Ok(id.to_string()),
        Err(e @ OzmapError::Unauthorized(_)) => Err(e),
        Err(e) => {
            warn!(box_id = %id, error = %e, "box name not available; using its id");
            Ok(id.to_string())
        }
    }
}

/// The client's existing reservation, if any: the first property OZmap lists for
/// this client code.
pub async fn find_existing(
    client: &OzmapClient,
    code: &ClientCode,
) -> Result<Option<ReservedPort>, OzmapError> {
    let props = client.properties_by_client(code.as_str()).await?;
    let count = props.len();
    let Some(p) = props.into_iter().next() else {
        return Ok(None);
    };
    if count > 1 {
        warn!(
            properties = count,
            "the client code has several properties; using the first"
        );
    }
    let port = p.reserved_port();
    let (box_id, box_label) = match &p.box_ref {
        Some(r) => {
            let id = r.id().to_string();
            let name = match r.name() {
                Some(n) => n.to_string(),
                None => box_name(client, &id).await?,
            };
            (id, name)
        }
        None => {
            warn!(property_id = %p.id, "existing property has no box");
            (String::new(), String::new())
        }
    };
    Ok(Some(ReservedPort {
        property_id: p.id,
        box_id,
        box_name: box_label,
        port,
    }))
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
mod tests {
    use super::*;
    use ivr_core::domain::{Cep, Place};
    use ozmap_client::mock::{EqFilter, NearFilter, TOKEN, client_for};
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use wiremock::matchers::{body_json, body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const LAT: f64 = -27.5782336721312;
    const LNG: f64 = -48.527442812919624;
    const LOOKUP: &str = "/api/v2/properties/client/123%7C123";

    fn request() -> ReservationRequest {
        ReservationRequest {
            client_code: ClientCode::parse("123|123").unwrap(),
            client_name: "Gabriel Marioto".into(),
            place: Place {
                street: "R. Delminda Silveira".into(),
                number: Some("900".into()),
                neighbourhood: Some("Agronômica".into()),
                city: "Florianópolis".into(),
                state: Some("SC".into()),
                cep: Cep::parse("88025500"),
                lat: LAT,
                lng: LNG,
            },
            phone: Some("+5548999990000".into()),
        }
    }

    fn settings(strategy: Feasibility) -> ReserveSettings {
        ReserveSettings {
            force: true,
            ..ReserveSettings::new(200, false, strategy)
        }
    }

    /// The tutorial's body, for a given box.
    fn tutorial_body(box_id: &str) -> Value {
        json!({ "address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
          "lat": LAT, "lng": LNG,
          "observation": "Reserva de Porta", "box": box_id,
          "auto_connect": true, "force": true,
          "client": { "certified": false, "implanted": false, "status": 0,
                      "observation": "Reserva do Novo Cliente", "code": "123|123",
                      "name": "Gabriel Marioto" } })
    }

    fn created(id: &str, box_id: &str, port: i64) -> Value {
        json!({"id": id, "kind": "Property", "box": box_id, "client": "c1", "drop": "d1",
            "connections": [{"id": "spl", "kind": "Splitter", "name": "SPL-1", "port": port,
                             "fiber": 1, "implanted": false}]})
    }

    fn a_box(id: &str, name: &str) -> Value {
        json!({"id": id, "name": name, "kind": "Box", "draft": false,
               "coords": [LNG, LAT], "lat": LAT, "lng": LNG})
    }

    fn free_drop_splitter(id: &str) -> Value {
        json!({"id": id, "isDrop": true, "connectables": {"output": ["cable", null]},
               "ports": [{"blocked": false}, {"blocked": false}]})
    }

    async fn server() -> MockServer {
        MockServer::start().await
    }

    async fn no_existing(s: &MockServer) {
        Mock::given(method("GET"))
            .and(path(LOOKUP))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(s)
            .await;
    }

    async fn boxes(s: &MockServer, rows: Value) {
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes"))
            .and(NearFilter {
                lat: LAT,
                lng: LNG,
                radius: 200,
            })
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": rows})))
            .expect(1)
            .mount(s)
            .await;
    }

    async fn splitters(s: &MockServer, box_id: &str, rows: Value, times: u64) {
        Mock::given(method("GET"))
            .and(path("/api/v2/splitters"))
            .and(EqFilter("parent", box_id.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": rows})))
            .expect(times)
            .mount(s)
            .await;
    }

    async fn post_for_box(s: &MockServer, box_id: &str, answer: ResponseTemplate, times: u64) {
        Mock::given(method("POST"))
            .and(path("/api/v2/properties"))
            .and(body_partial_json(json!({"box": box_id})))
            .respond_with(answer)
            .expect(times)
            .mount(s)
            .await;
    }

    /// Any property POST not matched by a more specific mock.
    async fn no_other_post(s: &MockServer) {
        Mock::given(method("POST"))
            .and(path("/api/v2/properties"))
            .respond_with(ResponseTemplate::new(500))
            .with_priority(10)
            .expect(0)
            .mount(s)
            .await;
    }

    async fn prospect(s: &MockServer, answer: ResponseTemplate, times: u64) {
        Mock::given(method("POST"))
            .and(path("/api/v2/prospects"))
            .and(header("authorization", TOKEN))
            .and(body_json(json!({
                "name": "Gabriel Marioto", "code": "123|123", "phone": "+5548999990000",
                "address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
                "coords": [LNG, LAT], "viable": false, "observation": "Reserva do Novo Cliente"
            })))
            .respond_with(answer)
            .expect(times)
            .mount(s)
            .await;
    }

    #[tokio::test]
    async fn reserves_the_nearest_free_box_with_the_tutorial_body() {
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([a_box("b1", "CTO-12"), a_box("b2", "CTO-13")])).await;
        splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
        splitters(&s, "b2", json!([free_drop_splitter("s2")]), 0).await;
        Mock::given(method("POST"))
            .and(path("/api/v2/properties"))
            .and(header("authorization", TOKEN))
            .and(header("content-type", "application/json"))
            .and(body_json(tutorial_body("b1")))
            .respond_with(ResponseTemplate::new(201).set_body_json(created("p1", "b1", 2)))
            .expect(1)
            .mount(&s)
            .await;
        no_other_post(&s).await;
        prospect(&s, ResponseTemplate::new(201), 0).await;

        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert_eq!(
            out,
            Ok(ReservationOutcome::Reserved(ReservedPort {
                property_id: "p1".into(),
                box_id: "b1".into(),
                box_name: "CTO-12".into(),
                port: Some(2),
            }))
        );
        s.verify().await;
    }

    #[tokio::test]
    async fn skips_drafts_far_boxes_and_boxes_without_a_usable_drop_port() {
        let s = server().await;
        no_existing(&s).await;
        let mut draft = a_box("draft", "CTO-D");
        draft["draft"] = json!(true);
        let far = json!({"id": "far", "name": "CTO-F", "lat": LAT + 0.05, "lng": LNG});
        boxes(
            &s,
            json!([
                draft,
                far,
                a_box("full", "A"),
                a_box("blocked", "B"),
                a_box("feeder", "C"),
                a_box("good", "CTO-G")
            ]),
        )
        .await;
        splitters(&s, "draft", json!([free_drop_splitter("x")]), 0).await;
        splitters(&s, "far", json!([free_drop_splitter("x")]), 0).await;
        splitters(
            &s,
            "full",
            json!([{"id": "s", "isDrop": true, "connectables": {"output": ["a", "b"]}}]),
            1,
        )
        .await;
        splitters(
            &s,
            "blocked",
            json!([{"id": "s", "isDrop": true, "connectables": {"output": ["a", null]},
                    "ports": [{"blocked": false}, {"blocked": true}]}]),
            1,
        )
        .await;
        splitters(
            &s,
            "feeder",
            json!([{"id": "s", "isDrop": false, "connectables": {"output": [null, null]}}]),
            1,
        )
        .await;
        splitters(&s, "good", json!([free_drop_splitter("s")]), 1).await;
        post_for_box(
            &s,
            "good",
            ResponseTemplate::new(201).set_body_json(created("p1", "good", 2)),
            1,
        )
        .await;
        no_other_post(&s).await;

        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        let Ok(ReservationOutcome::Reserved(port)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(
            (port.box_id.as_str(), port.box_name.as_str()),
            ("good", "CTO-G")
        );
        s.verify().await;
    }

    #[tokio::test]
    async fn a_refused_box_passes_to_the_next() {
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([a_box("b1", "CTO-1"), a_box("b2", "CTO-2")])).await;
        splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
        splitters(&s, "b2", json!([free_drop_splitter("s2")]), 1).await;
        post_for_box(
            &s,
            "b1",
            ResponseTemplate::new(422).set_body_json(json!({"message": "Caixa sem portas"})),
            1,
        )
        .await;
        post_for_box(
            &s,
            "b2",
            ResponseTemplate::new(201).set_body_json(created("p2", "b2", 7)),
            1,
        )
        .await;
        no_other_post(&s).await;
        prospect(&s, ResponseTemplate::new(201), 0).await;

        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert_eq!(
            out,
            Ok(ReservationOutcome::Reserved(ReservedPort {
                property_id: "p2".into(),
                box_id: "b2".into(),
                box_name: "CTO-2".into(),
                port: Some(7),
            }))
        );
        s.verify().await;
    }

    /// Two free boxes; the first POST answers `first`: the second is never tried.
    async fn first_post_fails_with(first: ResponseTemplate, timeout_ms: u64) -> ReserveError {
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([a_box("b1", "CTO-1"), a_box("b2", "CTO-2")])).await;
        splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
        splitters(&s, "b2", json!([free_drop_splitter("s2")]), 0).await;
        post_for_box(&s, "b1", first, 1).await;
        post_for_box(&s, "b2", ResponseTemplate::new(201), 0).await;
        prospect(&s, ResponseTemplate::new(201), 0).await;
        let out = reserve(
            &client_for(&s, timeout_ms),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        s.verify().await;
        out.unwrap_err()
    }

    #[tokio::test]
    async fn a_server_error_on_the_post_is_transient_and_not_repeated() {
        let e = first_post_fails_with(ResponseTemplate::new(503), 1000).await;
        assert!(matches!(e, ReserveError::Transient(_)), "{e:?}");
        let e = first_post_fails_with(ResponseTemplate::new(429), 1000).await;
        assert!(e.is_transient(), "{e:?}");
    }

    #[tokio::test]
    async fn a_slow_post_is_transient_and_not_repeated() {
        let slow = ResponseTemplate::new(201)
            .set_body_json(created("p1", "b1", 1))
            .set_delay(Duration::from_millis(600));
        let e = first_post_fails_with(slow, 250).await;
        assert!(matches!(e, ReserveError::Transient(_)), "{e:?}");
    }

    #[tokio::test]
    async fn a_bad_key_on_the_post_is_permanent() {
        let e = first_post_fails_with(ResponseTemplate::new(401), 1000).await;
        assert!(matches!(e, ReserveError::Permanent(_)), "{e:?}");
        assert!(e.to_string().contains("401"), "{e}");
    }

    #[tokio::test]
    async fn a_bad_key_on_the_lookup_is_permanent_and_nothing_is_posted() {
        let s = server().await;
        Mock::given(path(LOOKUP))
            .respond_with(ResponseTemplate::new(403))
            .expect(1)
            .mount(&s)
            .await;
        no_other_post(&s).await;
        prospect(&s, ResponseTemplate::new(201), 0).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert!(matches!(out, Err(ReserveError::Permanent(_))), "{out:?}");
        s.verify().await;
    }

    #[tokio::test]
    async fn a_failed_lookup_is_transient_and_nothing_is_posted() {
        let s = server().await;
        Mock::given(path(LOOKUP))
            .respond_with(ResponseTemplate::new(502))
            .expect(1)
            .mount(&s)
            .await;
        no_other_post(&s).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert!(matches!(out, Err(ReserveError::Transient(_))), "{out:?}");
        s.verify().await;
    }

    #[tokio::test]
    async fn an_existing_reservation_is_adopted_without_a_post() {
        let s = server().await;
        Mock::given(method("GET"))
            .and(path(LOOKUP))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": "p9", "box": "b9",
                "client": {"id": "c9", "code": "123|123", "name": "Gabriel Marioto"},
                "connections": [{"id": "f", "kind": "Fusion"},
                                {"id": "s", "kind": "Splitter", "name": "SPL", "port": 5}]
            }])))
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes/b9"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": "b9", "name": "CTO-9"})),
            )
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": []})))
            .expect(0)
            .mount(&s)
            .await;
        no_other_post(&s).await;
        prospect(&s, ResponseTemplate::new(201), 0).await;

        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert_eq!(
            out,
            Ok(ReservationOutcome::Existing(ReservedPort {
                property_id: "p9".into(),
                box_id: "b9".into(),
                box_name: "CTO-9".into(),
                port: Some(5),
            }))
        );
        s.verify().await;
    }

    #[tokio::test]
    async fn find_existing_uses_a_populated_box_name_and_falls_back_to_the_id() {
        let s = server().await;
        Mock::given(path("/api/v2/properties/client/1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"_id": "p1", "box": {"_id": "b1", "name": "CTO-1"}}
            ])))
            .mount(&s)
            .await;
        Mock::given(path("/api/v2/properties/client/2"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([{"id": "p2", "box": "b2", "connections": []}])),
            )
            .mount(&s)
            .await;
        Mock::given(path("/api/v2/boxes/b2"))
            .respond_with(ResponseTemplate::new(404))
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(path("/api/v2/boxes/b1"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&s)
            .await;
        let c = client_for(&s, 1000);
        let code = |k| ClientCode::parse(k).unwrap();
        assert_eq!(
            find_existing(&c, &code("1")).await.unwrap(),
            Some(ReservedPort {
                property_id: "p1".into(),
                box_id: "b1".into(),
                box_name: "CTO-1".into(),
                port: None,
            })
        );
        let p2 = find_existing(&c, &code("2")).await.unwrap().unwrap();
        assert_eq!((p2.box_id.as_str(), p2.box_name.as_str()), ("b2", "b2"));
        s.verify().await;
    }

    #[tokio::test]
    async fn no_box_in_range_records_the_lead() {
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([])).await;
        no_other_post(&s).await;
        prospect(
            &s,
            ResponseTemplate::new(201).set_body_json(json!({"id": "l1"})),
            1,
        )
        .await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert_eq!(out, Ok(ReservationOutcome::NotViable));
        s.verify().await;
    }

    #[tokio::test]
    async fn all_boxes_refusing_records_the_lead() {
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([a_box("b1", "CTO-1")])).await;
        splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
        post_for_box(&s, "b1", ResponseTemplate::new(400), 1).await;
        prospect(&s, ResponseTemplate::new(201), 1).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert_eq!(out, Ok(ReservationOutcome::NotViable));
        s.verify().await;
    }

    #[tokio::test]
    async fn a_transient_lead_failure_is_transient() {
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([])).await;
        prospect(&s, ResponseTemplate::new(503), 1).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert!(matches!(out, Err(ReserveError::Transient(_))), "{out:?}");
        s.verify().await;
    }

    async fn viability_answer(s: &MockServer, body: Value) {
        Mock::given(method("GET"))
            .and(path("/api/v2/ftth-viability/radius"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(s)
            .await;
    }

    #[tokio::test]
    async fn viability_strategy_tries_the_nearest_candidate_first() {
        let s = server().await;
        no_existing(&s).await;
        viability_answer(
            &s,
            json!({"viable": true, "boxes": [
                {"id": "far", "name": "CTO-F", "distance": 150.0},
                {"id": "near", "name": "CTO-N", "distance": 20.0}
            ], "not_viable": [{"id": "nv"}]}),
        )
        .await;
        post_for_box(&s, "near", ResponseTemplate::new(409), 1).await;
        post_for_box(
            &s,
            "far",
            ResponseTemplate::new(201).set_body_json(created("p1", "far", 4)),
            1,
        )
        .await;
        no_other_post(&s).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Viability),
            &request(),
        )
        .await;
        assert_eq!(
            out,
            Ok(ReservationOutcome::Reserved(ReservedPort {
                property_id: "p1".into(),
                box_id: "far".into(),
                box_name: "CTO-F".into(),
                port: Some(4),
            }))
        );
        s.verify().await;
    }

    #[tokio::test]
    async fn viability_strategy_reads_a_wrapped_answer_and_asks_for_the_box_name() {
        let s = server().await;
        no_existing(&s).await;
        viability_answer(
            &s,
            json!({"data": {"viable": true, "viableBoxes": [{"box": {"_id": "b7"}, "dist": 40}]}}),
        )
        .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes/b7"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"_id": "b7", "name": "CTO-7"})),
            )
            .expect(1)
            .mount(&s)
            .await;
        // The answer names the box only by id: the property's own `box` wins.
        post_for_box(
            &s,
            "b7",
            ResponseTemplate::new(201).set_body_json(json!({
                "_id": "p7", "box": "b7", "connections": [{"kind": "Splitter", "port": "6"}]
            })),
            1,
        )
        .await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Viability),
            &request(),
        )
        .await;
        assert_eq!(
            out,
            Ok(ReservationOutcome::Reserved(ReservedPort {
                property_id: "p7".into(),
                box_id: "b7".into(),
                box_name: "CTO-7".into(),
                port: Some(6),
            }))
        );
        s.verify().await;
    }

    #[tokio::test]
    async fn viability_strategy_not_viable_records_the_lead() {
        let s = server().await;
        no_existing(&s).await;
        viability_answer(&s, json!({"viable": false, "boxes": [{"id": "b1"}]})).await;
        no_other_post(&s).await;
        prospect(&s, ResponseTemplate::new(201), 1).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Viability),
            &request(),
        )
        .await;
        assert_eq!(out, Ok(ReservationOutcome::NotViable));
        s.verify().await;
    }

    #[tokio::test]
    async fn an_unreadable_post_answer_is_adopted_by_looking_up() {
        let s = server().await;
        // First look-up: nothing yet; the second one (after the POST) finds it.
        Mock::given(method("GET"))
            .and(path(LOOKUP))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .up_to_n_times(1)
            .with_priority(1)
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path(LOOKUP))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": "p1", "box": {"id": "b1", "name": "CTO-1"},
                "connections": [{"kind": "Splitter", "port": 8}]
            }])))
            .expect(1)
            .mount(&s)
            .await;
        boxes(&s, json!([a_box("b1", "CTO-1")])).await;
        splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
        post_for_box(
            &s,
            "b1",
            ResponseTemplate::new(201).set_body_string("OK"),
            1,
        )
        .await;
        no_other_post(&s).await;
        let out = reserve(
            &client_for(&s, 1000),
            &settings(Feasibility::Boxes),
            &request(),
        )
        .await;
        assert_eq!(
            out,
            Ok(ReservationOutcome::Reserved(ReservedPort {
                property_id: "p1".into(),
                box_id: "b1".into(),
                box_name: "CTO-1".into(),
                port: Some(8),
            }))
        );
        s.verify().await;
    }

    /// A `MakeWriter` into a shared buffer, to read what was logged.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn logs_and_errors_carry_no_personal_data() {
        use tracing::instrument::WithSubscriber;
        let s = server().await;
        no_existing(&s).await;
        boxes(&s, json!([a_box("b1", "CTO-1")])).await;
        splitters(&s, "b1", json!([free_drop_splitter("s1")]), 1).await;
        post_for_box(
            &s,
            "b1",
            ResponseTemplate::new(422).set_body_json(json!({
                "message": "Cliente 123|123 Gabriel Marioto (+5548999990000) já existe"
            })),
            1,
        )
        .await;
        Mock::given(method("POST"))
            .and(path("/api/v2/prospects"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "telefone +5548999990000 de Gabriel Marioto, R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500 inválido"
            })))
            .expect(1)
            .mount(&s)
            .await;

        let buf = Captured::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("ozmap_ivr=trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let client = client_for(&s, 1000);
        let out = reserve(&client, &settings(Feasibility::Boxes), &request())
            .with_subscriber(subscriber)
            .await;
        // A refused lead still ends the call as "not viable".
        assert_eq!(out, Ok(ReservationOutcome::NotViable));
        s.verify().await;

        let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("b1"), "box ids are logged: {logs}");
        assert!(logs.contains("[redacted]"), "{logs}");
        for secret in [
            "123|123",
            "123%7C123",
            "Gabriel",
            "Marioto",
            "99999",
            "Delminda",
            "Agronômica",
            "88025",
            TOKEN,
        ] {
            assert!(!logs.contains(secret), "`{secret}` leaked into: {logs}");
        }
    }
}
