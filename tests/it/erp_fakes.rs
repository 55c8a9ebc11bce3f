//! Loopback fakes of the ERP agendas for the black-box tests (`visits_erp`):
//! our schedule contract (`docs/schedule.md`) and IXC's `su_oss_chamado`.
//! Each keeps what it was really sent, so a test counts the ERP's bookings,
//! and fails on demand (down: 503 to everything; refusing: 422 to a booking).

use ivr_core::agenda::Day;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The contract's bearer token.
pub(crate) const ERP_TOKEN: &str = "erp-e2e-token-4471";
/// IXC's `user:token` (HTTP Basic).
pub(crate) const IXC_TOKEN: &str = "7:secret";

/// How the contract fake answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    #[default]
    Up,
    /// 503 to every request.
    Down,
    /// 422 to a booking; the rest answered.
    Refusing,
}

/// A period the ERP has: `offset` days after the asked `from`.
#[derive(Clone, Debug)]
pub(crate) struct Period {
    pub offset: i64,
    pub period: &'static str,
    pub capacity: u32,
    /// Visits the ERP has in it from elsewhere (its own).
    pub taken: u32,
}

/// A visit the contract fake holds.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub reference: String,
    pub day: String,
    pub period: String,
    pub status: String,
    pub body: Value,
}

#[derive(Default)]
pub(crate) struct State {
    pub mode: Mode,
    pub periods: Vec<Period>,
    /// By protocol.
    pub visits: BTreeMap<String, Held>,
    /// Bookings accepted (a PUT answered 2xx), in order: (protocol, body).
    pub puts: Vec<(String, Value)>,
    /// Work orders created (a PUT of a protocol the fake did not have).
    pub created: usize,
    /// Requests answered 503 (down) or 422 (refusing).
    pub turned_away: usize,
    pub refused: usize,
    /// The `from` of the last `GET /slots`.
    pub from: Option<Day>,
    /// How long a booking's answer waits (the booking is kept at once).
    pub put_delay: Option<Duration>,
    /// How long the free periods' answer waits.
    pub slots_delay: Option<Duration>,
}

impl State {
    fn day(&self, from: Day, p: &Period) -> String {
        from.plus(p.offset).to_string()
    }

    /// Visits the ERP has left in `day` `period`.
    fn free(&self, day: &str, p: &Period) -> u32 {
        let ours = self
            .visits
            .values()
            .filter(|v| v.day == day && v.period == p.period && v.status != "cancelled")
            .count() as u32;
        p.capacity.saturating_sub(p.taken + ours)
    }
}

/// The schedule contract under `/erp`.
#[derive(Clone, Default)]
pub(crate) struct ContractErp(Arc<Mutex<State>>);

impl ContractErp {
    pub(crate) async fn start(periods: Vec<Period>) -> (MockServer, ContractErp) {
        let server = MockServer::start().await;
        let fake = ContractErp::default();
        fake.state().periods = periods;
        Mock::given(path_regex("^/erp/"))
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        (server, fake)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        self.state().mode = mode;
    }

    /// The technician's report: the visit of `protocol` is `status` now.
    pub(crate) fn set_status(&self, protocol: &str, status: &str) {
        let mut s = self.state();
        s.visits.get_mut(protocol).expect("a visit held").status = status.into();
    }

    /// The day `offset` days after the `from` last asked.
    pub(crate) fn day(&self, offset: i64) -> Day {
        self.state().from.expect("periods asked").plus(offset)
    }

    /// Waits for `n` visits held, then a while longer to catch an extra booking.
    pub(crate) async fn wait_visits(&self, n: usize, limit: Duration) -> BTreeMap<String, Held> {
        let deadline = Instant::now() + limit;
        while self.state().visits.len() < n {
            assert!(
                Instant::now() < deadline,
                "the ERP holds {} of {n} visits",
                self.state().visits.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        self.state().visits.clone()
    }
}

/// `--schedule…` flags for a service in process.
pub(crate) fn contract_flags(server: &MockServer) -> Vec<String> {
    vec![
        "--schedule=http".into(),
        format!("--schedule-url={}/erp", server.uri()),
        format!("--schedule-token={ERP_TOKEN}"),
    ]
}

fn segments(req: &Request) -> Vec<String> {
    req.url
        .path_segments()
        .map(|p| p.map(str::to_string).collect())
        .unwrap_or_default()
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Respond for ContractErp {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let bearer = format!("Bearer {ERP_TOKEN}");
        if req
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            != Some(bearer.as_str())
        {
            return ResponseTemplate::new(401);
        }
        if s.mode == Mode::Down {
            s.turned_away += 1;
            return ResponseTemplate::new(503).set_body_string("maintenance");
        }
        let method = req.method.as_str().to_string();
        match (method.as_str(), segments(req).as_slice()) {
            ("GET", [_, slots]) if slots == "slots" => {
                let Some(from) = query(req, "from").and_then(|f| Day::parse(&f)) else {
                    return ResponseTemplate::new(400);
                };
                s.from = Some(from);
                let slots: Vec<Value> = s
                    .periods
                    .iter()
                    .map(|p| {
                        let day = s.day(from, p);
                        json!({"day": day, "period": p.period, "capacity": p.capacity,
                               "free": s.free(&day, p)})
                    })
                    .collect();
                let answer = ResponseTemplate::new(200).set_body_json(json!({ "slots": slots }));
                match s.slots_delay {
                    Some(d) => answer.set_delay(d),
                    None => answer,
                }
            }
            ("PUT", [_, visits, protocol]) if visits == "visits" => {
                if s.mode == Mode::Refusing {
                    s.turned_away += 1;
                    s.refused += 1;
                    return ResponseTemplate::new(422)
                        .set_body_json(json!({"error": "client blocked for installation"}));
                }
                let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                    return ResponseTemplate::new(400);
                };
                let day = body["day"].as_str().unwrap_or_default().to_string();
                let period = body["period"].as_str().unwrap_or_default().to_string();
                let same = s
                    .visits
                    .get(protocol)
                    .is_some_and(|v| v.day == day && v.period == period);
                let room = s
                    .periods
                    .iter()
                    .find(|p| {
                        s.from.is_some_and(|f| s.day(f, p) == day) && p.period == period.as_str()
                    })
                    .map(|p| s.free(&day, p));
                if !same && room.unwrap_or(0) == 0 {
                    return ResponseTemplate::new(409).set_body_json(json!({"error": "full"}));
                }
                let created = s.created + 1;
                let held = s.visits.entry(protocol.clone()).or_insert_with(|| Held {
                    reference: format!("OS-{created}"),
                    day: String::new(),
                    period: String::new(),
                    status: String::new(),
                    body: Value::Null,
                });
                let is_new = held.day.is_empty();
                held.day = day;
                held.period = period;
                held.status = "open".into();
                held.body = body.clone();
                let reference = held.reference.clone();
                if is_new {
                    s.created += 1;
                }
                s.puts.push((protocol.clone(), body));
                let answer =
                    ResponseTemplate::new(200).set_body_json(json!({ "reference": reference }));
                match s.put_delay {
                    Some(d) => answer.set_delay(d),
                    None => answer,
                }
            }
            ("GET", [_, visits, protocol]) if visits == "visits" => match s.visits.get(protocol) {
                Some(v) => ResponseTemplate::new(200).set_body_json(json!({"status": v.status})),
                None => ResponseTemplate::new(404),
            },
            ("DELETE", [_, visits, protocol]) if visits == "visits" => {
                match s.visits.get_mut(protocol) {
                    Some(v) => {
                        v.status = "cancelled".into();
                        ResponseTemplate::new(204)
                    }
                    None => ResponseTemplate::new(404),
                }
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

/// IXC's webservice for `su_oss_chamado`: listings (`ixcsoft: listar`),
/// inserts and updates, the orders kept by id (every value a string, as IXC
/// answers).
#[derive(Clone, Default)]
pub(crate) struct IxcErp(Arc<Mutex<IxcState>>);

#[derive(Default)]
pub(crate) struct IxcState {
    pub orders: BTreeMap<u64, Value>,
    pub inserts: Vec<Value>,
    pub updates: usize,
    pub listings: usize,
    /// How long each listing's answer waits.
    pub listing_delay: Option<Duration>,
}

impl IxcErp {
    pub(crate) async fn start() -> (MockServer, IxcErp) {
        let server = MockServer::start().await;
        let fake = IxcErp::default();
        Mock::given(path_regex("^/webservice/v1/su_oss_chamado"))
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        (server, fake)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, IxcState> {
        self.0.lock().unwrap()
    }
}

impl Respond for IxcErp {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        // `7:secret` in HTTP Basic.
        if req
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            != Some("Basic NzpzZWNyZXQ=")
        {
            return ResponseTemplate::new(401);
        }
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return ResponseTemplate::new(200)
                .set_body_json(json!({"type": "error", "message": "JSON inválido"}));
        };
        let listing = req.headers.get("ixcsoft").and_then(|h| h.to_str().ok()) == Some("listar");
        let id: Option<u64> = segments(req).get(3).and_then(|id| id.parse().ok());
        let ok = |id: u64| json!({"type": "success", "message": "ok", "id": id.to_string()});
        match (req.method.as_str(), listing, id) {
            ("POST", true, None) => {
                s.listings += 1;
                let field = body["qtype"].as_str().unwrap_or_default();
                let field = field.trim_start_matches("su_oss_chamado.").to_string();
                let query = body["query"].as_str().unwrap_or_default().to_string();
                let oper = body["oper"].as_str().unwrap_or_default().to_string();
                let page: usize = body["page"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let rp: usize = body["rp"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(20);
                let all: Vec<Value> = s
                    .orders
                    .values()
                    .filter(|o| {
                        let v = o[&field].as_str().unwrap_or_default();
                        match oper.as_str() {
                            "=" => v == query,
                            ">=" => v >= query.as_str(),
                            "L" => v.contains(&query),
                            _ => false,
                        }
                    })
                    .cloned()
                    .collect();
                let rows: Vec<&Value> = all.iter().skip((page.max(1) - 1) * rp).take(rp).collect();
                let answer = ResponseTemplate::new(200).set_body_json(json!({
                    "page": page.to_string(), "total": all.len().to_string(), "registros": rows
                }));
                match s.listing_delay {
                    Some(d) => answer.set_delay(d),
                    None => answer,
                }
            }
            ("POST", false, None) => {
                let id = 4100 + s.orders.len() as u64 + 1;
                let mut order = body.clone();
                order["id"] = json!(id.to_string());
                s.orders.insert(id, order);
                s.inserts.push(body);
                ResponseTemplate::new(200).set_body_json(ok(id))
            }
            ("PUT", false, Some(id)) if s.orders.contains_key(&id) => {
                s.orders.insert(id, body);
                s.updates += 1;
                ResponseTemplate::new(200).set_body_json(ok(id))
            }
            _ => ResponseTemplate::new(200)
                .set_body_json(json!({"type": "error", "message": "Registro não encontrado"})),
        }
    }
}

// ---- what the tests share -------------------------------------------------

pub(crate) fn period(offset: i64, period: &'static str, capacity: u32, taken: u32) -> Period {
    Period {
        offset,
        period,
        capacity,
        taken,
    }
}

/// "dia 10, de manhã": how a period of `day` is said.
pub(crate) fn said(day: Day, period: &str) -> String {
    let dom: u32 = day.to_string()[8..10].parse().unwrap();
    let part = if period == "morning" {
        "de manhã"
    } else {
        "à tarde"
    };
    format!("dia {dom}, {part}")
}

pub(crate) fn flags<'a>(owned: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    let mut all: Vec<&str> = owned.iter().map(String::as_str).collect();
    all.extend_from_slice(more);
    all
}

/// `GET /admin/visits` from `from` for two weeks, as an operator.
pub(crate) async fn agenda(base: &str, token: &str, from: Day) -> Value {
    let url = format!("{base}/admin/visits?from={from}&to={}", from.plus(14));
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The visit of `protocol` in the operators' agenda once `ok` holds.
pub(crate) async fn visit_until(
    base: &str,
    token: &str,
    from: Day,
    protocol: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = agenda(base, token, from).await;
        let v = a["visits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["protocol"] == protocol)
            .cloned();
        if let Some(v) = v.filter(|v| ok(v)) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: {a:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The protocol of the first reservation in the ledger.
pub(crate) async fn protocol_of(base: &str, token: &str) -> String {
    let r = reqwest::Client::new()
        .get(format!("{base}/admin/reservations"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let rows: Vec<Value> = r.json().await.unwrap();
    rows[0]["protocol"]
        .as_str()
        .expect("a protocol")
        .to_string()
}

/// `SCHEDULE…` variables for the binary, towards the contract fake.
pub(crate) fn contract_env(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("SCHEDULE", "http".into()),
        ("SCHEDULE_URL", format!("{}/erp", server.uri())),
        ("SCHEDULE_TOKEN", ERP_TOKEN.into()),
    ]
}

/// `env` as [`test_support::proc::Service::start`] takes it.
pub(crate) fn env_of<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
