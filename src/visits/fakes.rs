//! Fakes of the ERPs on loopback (wiremock) for the agendas' and the outbox's
//! tests: the schedule contract and IXC's `su_oss_chamado`, each keeping the
//! visits it was sent so a test can count what the ERP really has.

use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub(super) const TOKEN: &str = "schedule-token-123";

/// A visit the fake contract ERP holds.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Held {
    pub reference: String,
    pub day: String,
    pub period: String,
    pub status: String,
    pub body: Value,
}

#[derive(Default)]
pub(super) struct State {
    /// By protocol.
    pub visits: BTreeMap<String, Held>,
    /// Work orders created (a PUT of a new protocol).
    pub created: usize,
    /// Statuses answered, in order, before the fake works again.
    pub fail_next: VecDeque<u16>,
    /// How long each answer waits.
    pub delay: Option<Duration>,
    /// What `GET /slots` answers, and the query it was asked with.
    pub slots: Value,
    pub slots_query: Option<String>,
}

/// The schedule contract (`docs/schedule.md`) under `/erp`.
#[derive(Clone, Default)]
pub(super) struct ContractErp(pub Arc<Mutex<State>>);

impl ContractErp {
    pub(super) async fn start() -> (MockServer, ContractErp) {
        let server = MockServer::start().await;
        let fake = ContractErp::default();
        Mock::given(path_regex("^/erp/"))
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        (server, fake)
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }
}

impl Respond for ContractErp {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let delay = s.delay;
        let answer = |t: ResponseTemplate| match delay {
            Some(d) => t.set_delay(d),
            None => t,
        };
        let bearer = format!("Bearer {TOKEN}");
        let authorised = req
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            == Some(bearer.as_str());
        if !authorised {
            return answer(ResponseTemplate::new(401));
        }
        if let Some(code) = s.fail_next.pop_front() {
            return answer(ResponseTemplate::new(code).set_body_string("down"));
        }
        let segments: Vec<String> = req
            .url
            .path_segments()
            .map(|p| p.map(str::to_string).collect())
            .unwrap_or_default();
        let method = req.method.as_str().to_string();
        let t = match (method.as_str(), segments.as_slice()) {
            ("GET", [_, slots]) if slots == "slots" => {
                s.slots_query = req.url.query().map(str::to_string);
                ResponseTemplate::new(200).set_body_json(s.slots.clone())
            }
            ("PUT", [_, visits, protocol]) if visits == "visits" => {
                let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                    return answer(ResponseTemplate::new(400));
                };
                if body["client_name"] == "REFUSE ME" {
                    return answer(
                        ResponseTemplate::new(422).set_body_json(json!({"error": "no"})),
                    );
                }
                let day = body["day"].as_str().unwrap_or_default().to_string();
                let period = body["period"].as_str().unwrap_or_default().to_string();
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
                held.body = body;
                let reference = held.reference.clone();
                if is_new {
                    s.created += 1;
                }
                ResponseTemplate::new(200).set_body_json(json!({"reference": reference}))
            }
            ("DELETE", [_, visits, protocol]) if visits == "visits" => {
                match s.visits.get_mut(protocol) {
                    Some(v) => {
                        v.status = "cancelled".into();
                        ResponseTemplate::new(204)
                    }
                    None => ResponseTemplate::new(404),
                }
            }
            ("GET", [_, visits, protocol]) if visits == "visits" => match s.visits.get(protocol) {
                Some(v) => ResponseTemplate::new(200).set_body_json(json!({"status": v.status})),
                None => ResponseTemplate::new(404),
            },
            _ => ResponseTemplate::new(404),
        };
        answer(t)
    }
}

/// IXC's webservice for `su_oss_chamado`: listings (`ixcsoft: listar`),
/// inserts and updates, the orders kept by id.
#[derive(Clone, Default)]
pub(super) struct IxcErp(pub Arc<Mutex<IxcState>>);

#[derive(Default)]
pub(super) struct IxcState {
    pub orders: BTreeMap<u64, Value>,
    pub inserts: usize,
    pub updates: usize,
}

impl IxcErp {
    pub(super) async fn start() -> (MockServer, IxcErp) {
        let server = MockServer::start().await;
        let fake = IxcErp::default();
        Mock::given(path_regex("^/webservice/v1/su_oss_chamado"))
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        (server, fake)
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, IxcState> {
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
        let id: Option<u64> = req
            .url
            .path_segments()
            .and_then(|mut p| p.nth(3))
            .and_then(|id| id.parse().ok());
        let ok = |id: u64| json!({"type": "success", "message": "ok", "id": id.to_string()});
        match (req.method.as_str(), listing, id) {
            ("POST", true, None) => {
                let field = body["qtype"].as_str().unwrap_or_default();
                let field = field.trim_start_matches("su_oss_chamado.").to_string();
                let query = body["query"].as_str().unwrap_or_default().to_string();
                let oper = body["oper"].as_str().unwrap_or_default().to_string();
                let rows: Vec<Value> = s
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
                ResponseTemplate::new(200).set_body_json(
                    json!({"page": "1", "total": rows.len().to_string(), "registros": rows}),
                )
            }
            ("POST", false, None) => {
                let id = 4100 + s.orders.len() as u64 + 1;
                let mut order = body;
                order["id"] = json!(id.to_string());
                s.orders.insert(id, order);
                s.inserts += 1;
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
