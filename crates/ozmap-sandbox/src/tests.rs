//! The sandbox over real HTTP (reqwest against `start` on 127.0.0.1:0), the network
//! file checks, and the scenario table of `data/SANDBOX.md` checked against the
//! allocator and against the server.

use super::fault::parse_fault_header;
use super::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;

const TOKEN: &str = "test-token";
const TUTORIAL_BOX: &str = TUTORIAL_BOX_ID;
const T_LAT: f64 = -27.5782336721312;
const T_LNG: f64 = -48.527442812919624;
const UNKNOWN_BOX: &str = "0123456789abcdef01234567";

struct Fx {
    srv: SandboxServer,
    http: Client,
}

async fn spawn() -> Fx {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let srv = start(Network::builtin(), TOKEN, listener).await.unwrap();
    let http = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    Fx { srv, http }
}

fn box_id(name: &str) -> String {
    Network::builtin()
        .boxes
        .into_iter()
        .find(|b| b.name == name)
        .map(|b| b.id)
        .unwrap()
}

fn near(lat: impl Into<Value>, lng: impl Into<Value>, radius: f64) -> String {
    json!([{"property": "coords", "operator": "near",
            "value": {"lat": lat.into(), "lng": lng.into(), "radius": radius}}])
    .to_string()
}

fn tutorial_body(code: &str, box_id: &str, force: bool) -> Value {
    json!({
        "address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
        "lat": T_LAT, "lng": T_LNG,
        "observation": "Reserva de Porta",
        "box": box_id,
        "auto_connect": true,
        "force": force,
        "client": {"certified": false, "implanted": false, "status": 0,
                   "observation": "Reserva do Novo Cliente", "code": code,
                   "name": "Gabriel Marioto"}
    })
}

async fn body_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let bytes = res.bytes().await.unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

impl Fx {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.srv.base_url())
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        let res = self
            .http
            .get(self.url(path))
            .query(query)
            .header("Authorization", TOKEN)
            .send()
            .await
            .unwrap();
        body_of(res).await
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.url(path))
            .header("Authorization", TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        body_of(res).await
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.http
            .delete(self.url(path))
            .header("Authorization", TOKEN)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn box_names(&self, query: &[(&str, &str)]) -> Vec<String> {
        let (status, body) = self.get("/boxes", query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        names(&body["rows"])
    }

    /// Output ports of a splitter as the API shows them.
    async fn outputs(&self, splitter_name: &str) -> Vec<Value> {
        let (_, body) = self
            .get(
                "/splitters",
                &[(
                    "filter",
                    &json!([{"property":"name","operator":"=","value":splitter_name}]).to_string(),
                )],
            )
            .await;
        body["rows"][0]["connectables"]["output"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn names(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

fn connection(property: &Value) -> (String, u64) {
    let c = &property["connections"][0];
    (
        c["name"].as_str().unwrap().to_string(),
        c["port"].as_u64().unwrap(),
    )
}

// ---------------------------------------------------------------- network file

#[test]
fn builtin_network_holds_the_cases_worth_rehearsing() {
    let n = Network::builtin();
    let tutorial = n.boxes.iter().find(|b| b.id == TUTORIAL_BOX).unwrap();
    assert_eq!(tutorial.name, "CTO-AGR-01");
    assert!(n.boxes.iter().any(|b| b.draft));
    assert!(
        n.splitters
            .iter()
            .any(|s| !s.is_drop && s.used.len() < usize::from(s.ports))
    );
    assert!(n.splitters.iter().any(|s| s.is_drop && !s.pon));
    assert!(n.boxes.len() >= 6);
}

#[test]
fn network_files_are_checked_with_clear_errors() {
    let base: Value =
        serde_json::from_str(include_str!("../../../data/sandbox-network.json")).unwrap();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        edit(&mut v);
        Network::from_json("test.json", &v.to_string())
            .unwrap_err()
            .to_string()
    };
    let e = broken(&|v| v["splitters"][0]["parent"] = json!(UNKNOWN_BOX));
    assert!(e.contains("test.json") && e.contains("is not a box"), "{e}");
    let e = broken(&|v| v["splitters"][0]["used"] = json!([9]));
    assert!(e.contains("used port 9"), "{e}");
    let e = broken(&|v| v["splitters"][0]["ports"] = json!(0));
    assert!(e.contains("ports must be"), "{e}");
    let e = broken(&|v| v["boxes"][1]["id"] = json!(TUTORIAL_BOX));
    assert!(e.contains("used twice"), "{e}");
    let e = broken(&|v| v["boxes"][0]["id"] = json!("xyz"));
    assert!(e.contains("24 hex"), "{e}");
    let e = broken(&|v| v["boxes"][0]["lat"] = json!(123.0));
    assert!(e.contains("out of range"), "{e}");
    let e = broken(&|v| v["splitters"][0]["blokced"] = json!([1]));
    assert!(e.contains("not a valid network file"), "{e}");
    assert!(Network::from_json("x", "{").is_err());

    let dir = std::env::temp_dir().join(format!("sandbox-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.json");
    std::fs::write(&path, base.to_string()).unwrap();
    assert_eq!(Network::from_file(&path).unwrap(), Network::builtin());
    let missing = dir.join("missing.json");
    let e = Network::from_file(&missing).unwrap_err().to_string();
    assert!(
        e.contains("missing.json") && e.contains("cannot read"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fault_header_parses_and_refuses_nonsense() {
    let f = parse_fault_header("slow=250, status=503").unwrap();
    assert_eq!(
        (f.slow_ms, f.status, f.unauthorized),
        (250, Some(503), false)
    );
    assert!(parse_fault_header("unauthorized").unwrap().unauthorized);
    assert!(parse_fault_header("slow=abc").is_err());
    assert!(parse_fault_header("slow=999999").is_err());
    assert!(parse_fault_header("status=99").is_err());
    assert!(parse_fault_header("explode").is_err());
}

// ---------------------------------------------------------------- auth and lists

#[tokio::test]
async fn every_route_needs_the_raw_token() {
    let fx = spawn().await;
    let routes = [
        "/boxes",
        "/boxes/5da62201493d9c00066655b8",
        "/splitters",
        "/base-boxes/5da62201493d9c00066655b8/topology",
        "/ftth-viability/radius?lat=-27.57&lng=-48.52",
        "/properties",
        "/properties/client/1",
        "/prospects",
    ];
    for route in routes {
        for auth in [None, Some("wrong"), Some("Bearer test-token")] {
            let mut req = fx.http.get(fx.url(route));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            let (status, body) = body_of(req.send().await.unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{route} {auth:?}");
            assert!(body["message"].as_str().unwrap().contains("Authorization"));
        }
    }
    let res = fx
        .http
        .post(fx.url("/properties"))
        .json(&tutorial_body("1", TUTORIAL_BOX, true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(fx.srv.properties().is_empty());
    assert_eq!(fx.srv.property_posts(), 1);
    let (status, _) = fx.get("/boxes", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fx.get("/nothing-here", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    fx.srv.stop().await;
}

#[tokio::test]
async fn near_orders_nearest_first_within_the_radius() {
    let fx = spawn().await;
    // Frei Caneca 250: the full CTO-AGR-02 at 11 m, CTO-AGR-03 at 140 m.
    let (lat, lng) = (-27.5756256, -48.5319578);
    let f = near(lat, lng, 200.0);
    assert_eq!(
        fx.box_names(&[("filter", &f)]).await,
        ["CTO-AGR-02", "CTO-AGR-03"]
    );
    // lat/lng as strings, as in the wiki's example; a smaller radius cuts.
    let f = near(lat.to_string(), lng.to_string(), 100.0);
    assert_eq!(fx.box_names(&[("filter", &f)]).await, ["CTO-AGR-02"]);
    // Beira-Mar 2000: draft CTO-AGR-11 at 61 m; CTO-AGR-10 at 270 m only with 300 m.
    let (lat, lng) = (-27.5782337, -48.5375888);
    assert_eq!(
        fx.box_names(&[("filter", &near(lat, lng, 200.0))]).await,
        ["CTO-AGR-11"]
    );
    assert_eq!(
        fx.box_names(&[("filter", &near(lat, lng, 300.0))]).await,
        ["CTO-AGR-11", "CTO-AGR-10"]
    );
    // The box rows carry the documented fields.
    let (_, body) = fx
        .get("/boxes", &[("filter", &near(T_LAT, T_LNG, 200.0))])
        .await;
    let b = &body["rows"][0];
    assert_eq!(b["id"], TUTORIAL_BOX);
    assert_eq!(b["kind"], "Box");
    assert_eq!(b["coords"][0], b["lng"]);
    assert_eq!(b["coords"][1], b["lat"]);
    assert_eq!(b["draft"], false);
    assert_eq!(b["project"], "5da62201493d9c0006665500");
    let (status, body) = fx
        .get(
            "/boxes",
            &[(
                "filter",
                r#"[{"property":"coords","operator":"near","value":{"lat":"x"}}]"#,
            )],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("near"));
    fx.srv.stop().await;
}

#[tokio::test]
async fn filters_on_id_name_draft_and_project() {
    let fx = spawn().await;
    let f = |p: &str, op: &str, v: Value| {
        json!([{"property": p, "operator": op, "value": v}]).to_string()
    };
    assert_eq!(
        fx.box_names(&[("filter", &f("name", "=", json!("CTO-AGR-02")))])
            .await,
        ["CTO-AGR-02"]
    );
    let ids = json!([box_id("CTO-AGR-03"), TUTORIAL_BOX]);
    assert_eq!(
        fx.box_names(&[("filter", &f("id", "in", ids))]).await,
        ["CTO-AGR-01", "CTO-AGR-03"]
    );
    assert_eq!(
        fx.box_names(&[("filter", &f("draft", "=", json!(true)))])
            .await,
        ["CTO-AGR-04", "CTO-AGR-11"]
    );
    // A string "false" reads as the boolean, as in a query string.
    let (_, body) = fx
        .get("/boxes", &[("filter", &f("draft", "=", json!("false")))])
        .await;
    assert_eq!(body["total"], 9);
    let (_, body) = fx
        .get(
            "/boxes",
            &[(
                "filter",
                &f("project", "=", json!("5da62201493d9c0006665500")),
            )],
        )
        .await;
    assert_eq!(body["total"], 11);
    let (_, body) = fx
        .get(
            "/boxes",
            &[("filter", &f("project", "=", json!(UNKNOWN_BOX)))],
        )
        .await;
    assert_eq!(body["total"], 0);
    // Two filters together: in range and not a draft.
    let both = json!([
        {"property": "coords", "operator": "near", "value": {"lat": -27.5818759, "lng": -48.5304866, "radius": 200}},
        {"property": "draft", "operator": "=", "value": false}
    ])
    .to_string();
    assert_eq!(fx.box_names(&[("filter", &both)]).await, ["CTO-AGR-05"]);
    let (status, _) = fx
        .get("/boxes", &[("filter", &f("name", "within", json!(1)))])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = fx.get("/boxes", &[("filter", "[oops")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    fx.srv.stop().await;
}

#[tokio::test]
async fn lists_are_paged() {
    let fx = spawn().await;
    let (_, all) = fx.get("/boxes", &[]).await;
    assert_eq!(
        (
            all["total"].as_u64(),
            all["count"].as_u64(),
            all["limit"].as_u64()
        ),
        (Some(11), Some(11), Some(25))
    );
    assert_eq!(all["hasNextPage"], false);
    let mut seen = Vec::new();
    for (page, count, next) in [("1", 4, true), ("2", 4, true), ("3", 3, false)] {
        let (_, body) = fx.get("/boxes", &[("limit", "4"), ("page", page)]).await;
        assert_eq!(body["count"], count);
        assert_eq!(body["total"], 11);
        assert_eq!(body["hasNextPage"], next);
        assert_eq!(
            body["start"].as_u64(),
            Some(4 * (page.parse::<u64>().unwrap() - 1))
        );
        seen.extend(names(&body["rows"]));
    }
    assert_eq!(seen, names(&all["rows"]));
    let (_, body) = fx.get("/boxes", &[("limit", "4"), ("page", "9")]).await;
    assert_eq!(body["count"], 0);
    let (status, _) = fx.get("/boxes", &[("limit", "0")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = fx.get("/boxes", &[("page", "0")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    fx.srv.stop().await;
}

#[tokio::test]
async fn box_by_id_and_topology() {
    let fx = spawn().await;
    let (status, b) = fx.get(&format!("/boxes/{TUTORIAL_BOX}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["name"], "CTO-AGR-01");
    let (status, body) = fx.get(&format!("/boxes/{UNKNOWN_BOX}"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());

    let (status, topo) = fx
        .get(&format!("/base-boxes/{TUTORIAL_BOX}/topology"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let splitters = topo["splitters"].as_object().unwrap();
    assert_eq!(splitters.len(), 2);
    for (id, s) in splitters {
        assert_eq!(&s["id"], id);
        assert_eq!(s["parent"], TUTORIAL_BOX);
    }
    assert_eq!(topo["connectors"], json!({}));
    assert_eq!(topo["cables"], json!({}));
    assert_eq!(topo["drops"], json!({}));
    let (status, _) = fx
        .get(&format!("/base-boxes/{UNKNOWN_BOX}/topology"), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    fx.srv.stop().await;
}

#[tokio::test]
async fn splitters_by_parent_show_ports() {
    let fx = spawn().await;
    let parent = |op: &str, v: Value| {
        json!([{"property": "parent", "operator": op, "value": v}]).to_string()
    };
    let (_, body) = fx
        .get(
            "/splitters",
            &[("filter", &parent("=", json!(TUTORIAL_BOX)))],
        )
        .await;
    assert_eq!(names(&body["rows"]), ["SPL-AGR-01-A", "SPL-AGR-01-B"]);
    let feeder = &body["rows"][0];
    assert_eq!(feeder["kind"], "Splitter");
    assert_eq!(feeder["isDrop"], false);
    let drop = &body["rows"][1];
    assert_eq!(drop["isDrop"], true);
    let out = drop["connectables"]["output"].as_array().unwrap();
    assert_eq!(out.len(), 8);
    assert!(out[0].is_string() && out[1].is_string());
    assert!(out[2..].iter().all(Value::is_null));
    assert!(
        drop["connectables"]["input"][0].is_string(),
        "PON connected"
    );
    assert_eq!(drop["ports"].as_array().unwrap().len(), 8);
    assert_eq!(drop["implanted"], true);

    let blocked_box = box_id("CTO-AGR-06");
    let no_pon_box = box_id("CTO-AGR-08");
    let (_, body) = fx
        .get(
            "/splitters",
            &[("filter", &parent("in", json!([blocked_box, no_pon_box])))],
        )
        .await;
    assert_eq!(names(&body["rows"]), ["SPL-AGR-06-A", "SPL-AGR-08-A"]);
    let blocked = &body["rows"][0];
    assert_eq!(blocked["ports"][7]["blocked"], true);
    assert_eq!(blocked["ports"][6]["blocked"], false);
    assert!(blocked["connectables"]["output"][7].is_null());
    assert!(
        body["rows"][1]["connectables"]["input"][0].is_null(),
        "no PON"
    );
    fx.srv.stop().await;
}

#[tokio::test]
async fn viability_splits_boxes_in_range() {
    let fx = spawn().await;
    let (lat, lng) = (T_LAT.to_string(), T_LNG.to_string());
    let (status, v) = fx
        .get(
            "/ftth-viability/radius",
            &[("lat", &lat), ("lng", &lng), ("radius", "200")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["viable"], true);
    assert_eq!(v["boxes"][0]["id"], TUTORIAL_BOX);
    assert_eq!(v["boxes"][0]["free_ports"], 6);
    let d = v["boxes"][0]["distance"].as_f64().unwrap();
    assert!((20.0..30.0).contains(&d), "{d}");

    // Frei Caneca 250: the full box is not viable, the next one is.
    let (_, v) = fx
        .get(
            "/ftth-viability/radius",
            &[
                ("lat", "-27.5756256"),
                ("lng", "-48.5319578"),
                ("radius", "200"),
            ],
        )
        .await;
    assert_eq!(names(&v["boxes"]), ["CTO-AGR-03"]);
    assert_eq!(names(&v["not_viable_boxes"]), ["CTO-AGR-02"]);
    assert_eq!(v["not_viable_boxes"][0]["reason"], "no_free_port");
    // Exactly the example of data/SANDBOX.md.
    assert_eq!(
        v,
        json!({"viable": true,
            "boxes": [{"id": "5da62201493d9c00066655c3", "name": "CTO-AGR-03", "distance": 140.1,
                       "lat": -27.5743666, "lng": -48.5320085, "draft": false,
                       "free_ports": 6, "free_ports_with_pon": 6}],
            "not_viable_boxes": [{"id": "5da62201493d9c00066655c2", "name": "CTO-AGR-02", "distance": 11.2,
                                  "lat": -27.5755357, "lng": -48.5320085, "draft": false,
                                  "free_ports": 0, "free_ports_with_pon": 0, "reason": "no_free_port"}]})
    );

    // Beira-Mar 2000: only a draft in range.
    let (_, v) = fx
        .get(
            "/ftth-viability/radius",
            &[("lat", "-27.5782337"), ("lng", "-48.5375888")],
        )
        .await;
    assert_eq!(v["viable"], false);
    assert_eq!(v["boxes"], json!([]));
    assert_eq!(v["not_viable_boxes"][0]["reason"], "draft");

    // Madre Benvenuta 1190: the no-PON box is viable but has no PON ports.
    let (_, v) = fx
        .get(
            "/ftth-viability/radius",
            &[("lat", "-27.5774243"), ("lng", "-48.5162315")],
        )
        .await;
    assert_eq!(names(&v["boxes"]), ["CTO-AGR-08", "CTO-AGR-09"]);
    assert_eq!(v["boxes"][0]["free_ports_with_pon"], 0);
    assert_eq!(v["boxes"][0]["free_ports"], 7);

    let (status, _) = fx.get("/ftth-viability/radius", &[("lng", "-48.5")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = fx
        .get(
            "/ftth-viability/radius",
            &[("lat", "1"), ("lng", "1"), ("radius", "-5")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    fx.srv.stop().await;
}

// ---------------------------------------------------------------- reservations

#[tokio::test]
async fn tutorial_post_reserves_the_first_usable_port() {
    let fx = spawn().await;
    let (status, p) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert!(is_object_id(p["id"].as_str().unwrap()));
    assert_eq!(p["kind"], "Property");
    assert_eq!(p["box"], TUTORIAL_BOX);
    assert!(is_object_id(p["client"].as_str().unwrap()));
    assert_eq!(
        p["address"],
        "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
    );
    assert_eq!(p["coords"], json!([T_LNG, T_LAT]));
    assert_eq!(
        (p["lat"].as_f64(), p["lng"].as_f64()),
        (Some(T_LAT), Some(T_LNG))
    );
    let c = &p["connections"][0];
    assert_eq!(c["kind"], "Splitter");
    assert_eq!(c["id"], "5da62301493d9c0006667702");
    assert_eq!(c["name"], "SPL-AGR-01-B");
    assert_eq!(c["port"], 3, "ports 1-2 used, the feeder skipped");
    assert!(c["fiber"].as_str().is_some_and(|f| f.len() == 24), "{c}");
    assert_eq!(c["implanted"], false);
    assert_eq!(p["history"]["clients"][0]["code"], "123|123");
    assert_eq!(p["history"]["clients"][0]["id"], p["client"]);
    assert!(p["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(p["updatedAt"].is_string());

    // The port is now taken, by this property.
    let out = fx.outputs("SPL-AGR-01-B").await;
    assert_eq!(out[2], p["id"]);
    // The feeder is untouched.
    let feeder = fx.outputs("SPL-AGR-01-A").await;
    assert!(feeder[1..].iter().all(Value::is_null));

    // A second client gets the next port.
    let (status, p2) = fx
        .post("/properties", &tutorial_body("456", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(connection(&p2), ("SPL-AGR-01-B".into(), 4));

    assert_eq!(fx.srv.property_posts(), 2);
    assert_eq!(fx.srv.properties(), vec![p.clone(), p2.clone()]);
    let (_, list) = fx.get("/properties", &[]).await;
    assert_eq!(list["total"], 2);
    let (status, one) = fx
        .get(&format!("/properties/{}", p["id"].as_str().unwrap()), &[])
        .await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &p["id"]));
    fx.srv.stop().await;
}

#[tokio::test]
async fn boxes_that_cannot_take_a_client_answer_422() {
    let fx = spawn().await;
    for (name, words) in [
        ("CTO-AGR-04", "draft"),
        ("CTO-AGR-11", "draft"),
        ("CTO-AGR-02", "no available connector"),
        ("CTO-AGR-06", "no available connector"),
    ] {
        let (status, body) = fx
            .post("/properties", &tutorial_body("1", &box_id(name), true))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let m = body["message"].as_str().unwrap();
        assert!(m.contains(words) && m.contains(name), "{name}: {m}");
    }
    // The full box's feeder kept its free ports.
    let feeder = fx.outputs("SPL-AGR-02-A").await;
    assert!(feeder[1..].iter().all(Value::is_null));
    // The blocked port stayed free.
    assert!(fx.outputs("SPL-AGR-06-A").await[7].is_null());
    assert!(fx.srv.properties().is_empty());
    assert_eq!(fx.srv.property_posts(), 4);

    // A blocked port inside a usable box is skipped: 1-4 used, 5 blocked.
    let (status, p) = fx
        .post(
            "/properties",
            &tutorial_body("2", &box_id("CTO-AGR-07"), false),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(connection(&p), ("SPL-AGR-07-A".into(), 6));
    // The second drop splitter is used when the first is full.
    let (_, p) = fx
        .post(
            "/properties",
            &tutorial_body("3", &box_id("CTO-AGR-05"), false),
        )
        .await;
    assert_eq!(connection(&p), ("SPL-AGR-05-B".into(), 2));
    fx.srv.stop().await;
}

#[tokio::test]
async fn force_accepts_a_splitter_without_pon() {
    let fx = spawn().await;
    let no_pon = box_id("CTO-AGR-08");
    let (status, body) = fx
        .post("/properties", &tutorial_body("1", &no_pon, false))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("PON"));
    let (status, p) = fx
        .post("/properties", &tutorial_body("1", &no_pon, true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(connection(&p), ("SPL-AGR-08-A".into(), 2));
    fx.srv.stop().await;
}

#[tokio::test]
async fn malformed_or_unknown_posts_are_refused() {
    let fx = spawn().await;
    let raw = fx
        .http
        .post(fx.url("/properties"))
        .header("Authorization", TOKEN)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = body_of(raw).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_string());
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 6] = [
        (|b| b["box"] = Value::Null, "box"),
        (
            |b| {
                b.as_object_mut().unwrap().remove("client");
            },
            "client",
        ),
        (
            |b| {
                b["client"].as_object_mut().unwrap().remove("code");
            },
            "client.code",
        ),
        (|b| b["client"]["code"] = json!(""), "client.code"),
        (
            |b| {
                b.as_object_mut().unwrap().remove("lat");
            },
            "lat",
        ),
        (|b| b["auto_connect"] = json!("yes"), "auto_connect"),
    ];
    for (edit, word) in cases {
        let mut body = tutorial_body("1", TUTORIAL_BOX, true);
        edit(&mut body);
        let (status, answer) = fx.post("/properties", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{word}");
        assert!(
            answer["message"].as_str().unwrap().contains(word),
            "{answer}"
        );
    }
    let (status, _) = fx.post("/properties", &json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = fx
        .post("/properties", &tutorial_body("1", UNKNOWN_BOX, true))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    assert!(fx.srv.properties().is_empty());
    assert_eq!(fx.srv.property_posts(), 9);
    fx.srv.stop().await;
}

#[tokio::test]
async fn one_property_per_client_code() {
    let fx = spawn().await;
    let (status, _) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let other_box = box_id("CTO-AGR-09");
    let (status, body) = fx
        .post("/properties", &tutorial_body("123|123", &other_box, true))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        !body["message"].as_str().unwrap().contains("123"),
        "no client code in messages"
    );
    assert_eq!(fx.srv.property_posts(), 2);
    assert_eq!(fx.srv.properties().len(), 1);
    // Nothing was taken in the other box.
    assert!(fx.outputs("SPL-AGR-09-A").await.iter().all(Value::is_null));
    fx.srv.stop().await;
}

#[tokio::test]
async fn properties_by_client_code_decode_the_separator() {
    let fx = spawn().await;
    let (_, p) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    for path in ["/properties/client/123%7C123", "/properties/client/123|123"] {
        let (status, found) = fx.get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found = found.as_array().unwrap();
        assert_eq!(found.len(), 1, "{path}");
        assert_eq!(found[0]["id"], p["id"]);
        let client = &found[0]["client"];
        assert_eq!(client["id"], p["client"]);
        assert_eq!(client["code"], "123|123");
        assert_eq!(client["name"], "Gabriel Marioto");
        assert_eq!(client["implanted"], false);
        assert_eq!(found[0]["connections"][0]["port"], 3);
    }
    let (status, found) = fx.get("/properties/client/999", &[]).await;
    assert_eq!((status, found), (StatusCode::OK, json!([])));
    let (status, found) = fx.get("/properties/client/123", &[]).await;
    assert_eq!((status, found), (StatusCode::OK, json!([])));
    fx.srv.stop().await;
}

#[tokio::test]
async fn delete_frees_the_port() {
    let fx = spawn().await;
    let (_, p) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(
        fx.delete(&format!("/properties/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert!(fx.outputs("SPL-AGR-01-B").await[2].is_null());
    let (_, found) = fx.get("/properties/client/123%7C123", &[]).await;
    assert_eq!(found, json!([]));
    assert_eq!(
        fx.delete(&format!("/properties/{id}")).await,
        StatusCode::NOT_FOUND
    );
    let (status, _) = fx.get(&format!("/properties/{id}"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The same client may reserve again, and gets the freed port.
    let (status, again) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(connection(&again), ("SPL-AGR-01-B".into(), 3));
    assert_eq!(fx.srv.properties().len(), 2, "the log keeps deleted ones");
    assert_eq!(fx.srv.live_properties(), vec![again]);
    fx.srv.stop().await;
}

#[tokio::test]
async fn a_chosen_connector_and_port_are_honoured() {
    let fx = spawn().await;
    let mut body = tutorial_body("1", TUTORIAL_BOX, false);
    body["auto_connect"] = json!(false);
    body["connector"] = json!("5da62301493d9c0006667702");
    body["port"] = json!(7);
    let (status, p) = fx.post("/properties", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(connection(&p), ("SPL-AGR-01-B".into(), 7));
    for (connector, port) in [
        ("5da62301493d9c0006667702", 7), // now in use
        ("5da62301493d9c0006667702", 1), // used from the start
        ("5da62301493d9c0006667702", 9), // no such port
        ("5da62301493d9c0006667701", 2), // the feeder
        ("5da62301493d9c0006667705", 2), // another box's splitter
    ] {
        let mut b = body.clone();
        b["client"]["code"] = json!(format!("{connector}{port}"));
        b["connector"] = json!(connector);
        b["port"] = json!(port);
        let (status, _) = fx.post("/properties", &b).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{connector} {port}"
        );
    }
    fx.srv.stop().await;
}

#[tokio::test]
async fn prospects_are_kept() {
    let fx = spawn().await;
    let lead = json!({"name": "Maria", "code": "77", "phone": "+5548999990000",
                      "address": "Av. Beira-Mar Norte, 2000", "coords": [-48.5375888, -27.5782337],
                      "viable": false, "observation": "Sem cobertura"});
    let (status, p) = fx.post("/prospects", &lead).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(is_object_id(p["id"].as_str().unwrap()));
    assert_eq!(p["name"], "Maria");
    assert_eq!(p["viable"], false);
    assert_eq!(fx.srv.prospects(), vec![p.clone()]);
    let (_, list) = fx.get("/prospects", &[]).await;
    assert_eq!(list["rows"], json!([p]));
    let (status, _) = fx.post("/prospects", &json!("just text")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fx.srv.prospects().len(), 1);
    fx.srv.stop().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn header_faults_slow_fail_or_refuse_one_request() {
    let fx = spawn().await;
    let send = |fault: &str| {
        fx.http
            .get(fx.url("/boxes"))
            .header("Authorization", TOKEN)
            .header("X-Sandbox-Fault", fault)
            .send()
    };
    let t = Instant::now();
    let res = send("slow=200").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        send("status=503").await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        send("unauthorized").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = body_of(send("explode").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("X-Sandbox-Fault")
    );
    // Only that request: the next one is fine.
    let (status, _) = fx.get("/boxes", &[]).await;
    assert_eq!(status, StatusCode::OK);
    fx.srv.stop().await;
}

#[tokio::test]
async fn runtime_faults_apply_to_every_request_until_cleared() {
    let fx = spawn().await;
    let faults = fx.srv.faults().clone();
    faults.set_fail_status(Some(502));
    let (status, body) = fx.get("/boxes", &[]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["message"].is_string());
    let (status, _) = fx
        .post("/properties", &tutorial_body("1", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(fx.srv.properties().is_empty());
    assert_eq!(fx.srv.property_posts(), 1);
    faults.set_fail_status(None);

    faults.set_refuse_token(true);
    assert_eq!(fx.get("/boxes", &[]).await.0, StatusCode::UNAUTHORIZED);
    faults.set_refuse_token(false);

    faults.set_delay_ms(1500);
    let quick = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = quick
        .get(fx.url("/boxes"))
        .header("Authorization", TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    faults.reset();
    assert_eq!(fx.get("/boxes", &[]).await.0, StatusCode::OK);
    fx.srv.stop().await;
}

#[tokio::test]
async fn post_faults_model_lost_answers() {
    let fx = spawn().await;
    let faults = fx.srv.faults();

    // Created, but the answer is a 500: the caller must look the code up.
    faults.set_post_fault_once(PostFault::FailAfterCommit);
    let (status, _) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fx.srv.properties().len(), 1);
    let (_, found) = fx.get("/properties/client/123%7C123", &[]).await;
    assert_eq!(found[0]["connections"][0]["port"], 3);
    // One-shot: the retry is answered normally (and finds the code taken).
    let (status, _) = fx
        .post("/properties", &tutorial_body("123|123", TUTORIAL_BOX, true))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A status before anything is created, for every POST until cleared.
    faults.set_post_fault(PostFault::Status(503));
    for code in ["a1", "a2"] {
        let (status, _) = fx
            .post("/properties", &tutorial_body(code, TUTORIAL_BOX, true))
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(fx.srv.properties().len(), 1);
    // Other routes are not affected.
    assert_eq!(fx.get("/boxes", &[]).await.0, StatusCode::OK);
    faults.clear_post_fault();

    // Hang: no answer, nothing created.
    let quick = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let post = |code: &str| {
        quick
            .post(fx.url("/properties"))
            .header("Authorization", TOKEN)
            .json(&tutorial_body(code, TUTORIAL_BOX, true))
            .send()
    };
    faults.set_post_fault_once(PostFault::Hang);
    assert!(post("h1").await.unwrap_err().is_timeout());
    assert_eq!(fx.srv.properties().len(), 1);
    // HangAfterCommit: no answer, but the port is taken.
    faults.set_post_fault_once(PostFault::HangAfterCommit);
    assert!(post("h2").await.unwrap_err().is_timeout());
    assert_eq!(fx.srv.properties().len(), 2);
    let (_, found) = fx.get("/properties/client/h2", &[]).await;
    assert_eq!(found[0]["connections"][0]["port"], 4);
    assert_eq!(fx.srv.property_posts(), 6);
    fx.srv.stop().await;
}

#[actix_web::test]
async fn runs_inside_an_actix_system_too() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let srv = start(Network::builtin(), TOKEN, listener).await.unwrap();
    let res = Client::new()
        .get(format!("{}/api/v2/boxes/{TUTORIAL_BOX}", srv.base_url()))
        .header("Authorization", TOKEN)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    srv.stop().await;
}

#[tokio::test]
async fn stop_closes_the_port() {
    let fx = spawn().await;
    let url = fx.url("/boxes");
    fx.srv.stop().await;
    let quick = Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert!(
        quick
            .get(url)
            .header("Authorization", TOKEN)
            .send()
            .await
            .is_err()
    );
}

#[test]
fn sandbox_args_defaults_and_redacted_debug() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }
    let cli = Cli::try_parse_from(["x", "--token", "s3cret", "--fail-status", "503"]).unwrap();
    assert_eq!(cli.args.bind, "127.0.0.1:9994".parse().unwrap());
    assert_eq!(cli.args.fail_status, Some(503));
    assert_eq!(cli.args.delay_ms, 0);
    assert!(!format!("{:?}", cli.args).contains("s3cret"));
}

#[tokio::test]
async fn run_refuses_bad_configuration_before_listening() {
    let args = |token: &str, fail_status: Option<u16>, network: Option<&str>| SandboxArgs {
        bind: "127.0.0.1:0".parse().unwrap(),
        network: network.map(PathBuf::from),
        token: token.into(),
        delay_ms: 0,
        fail_status,
    };
    let e = run(args(" ", None, None)).await.unwrap_err().to_string();
    assert!(e.contains("SANDBOX_TOKEN"), "{e}");
    let e = run(args("t", Some(42), None))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("SANDBOX_FAIL_STATUS"), "{e}");
    let e = run(args("t", None, Some("/nonexistent/net.json")))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/net.json"), "{e}");
}

// ---------------------------------------------------------------- scenario table

struct GazetteerRow {
    cep: String,
    number: String,
    lat: f64,
    lng: f64,
}

fn gazetteer() -> Vec<GazetteerRow> {
    let text = include_str!("../../../data/gazetteer.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("cep,street,number,neighbourhood,city,state,lat,lng")
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            assert!(!l.contains('"'), "no quoted fields: {l}");
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 8, "{l}");
            assert_eq!(f[0].len(), 8, "CEP without dash: {l}");
            // Greater Florianópolis: 880xx (Florianópolis), 881xx (São José).
            assert!(f[0].starts_with("880") || f[0].starts_with("881"), "{l}");
            GazetteerRow {
                cep: f[0].into(),
                number: f[2].into(),
                lat: f[6].parse().unwrap(),
                lng: f[7].parse().unwrap(),
            }
        })
        .collect()
}

struct Scenario {
    cep: String,
    number: String,
    /// (box, port, splitter) for force=false and force=true.
    outcome: [Option<(String, u16, String)>; 2],
}

fn parse_outcome(cell: &str) -> Option<(String, u16, String)> {
    if cell == "no coverage" {
        return None;
    }
    let parts: Vec<&str> = cell.split_whitespace().collect();
    assert!(
        parts.len() == 4 && parts[1] == "port",
        "bad outcome cell {cell:?}"
    );
    let splitter = parts[3].trim_start_matches('(').trim_end_matches(')');
    Some((parts[0].into(), parts[2].parse().unwrap(), splitter.into()))
}

fn scenarios() -> Vec<Scenario> {
    let doc = include_str!("../../../data/SANDBOX.md");
    let section = doc.split("## Scenarios").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 6, "{l}");
            Scenario {
                cep: cells[1].replace('-', ""),
                number: if cells[2] == "—" {
                    String::new()
                } else {
                    cells[2].into()
                },
                outcome: [parse_outcome(cells[3]), parse_outcome(cells[4])],
            }
        })
        .collect()
}

fn planned(p: Option<PlannedPort>) -> Option<(String, u16, String)> {
    p.map(|p| (p.box_name, p.port, p.splitter_name))
}

#[test]
fn the_scenario_table_is_true_for_the_allocator() {
    let network = Network::builtin();
    let rows = gazetteer();
    let table = scenarios();
    assert!(table.len() >= 20);
    for s in &table {
        let g = rows
            .iter()
            .find(|g| g.cep == s.cep && g.number == s.number)
            .unwrap_or_else(|| panic!("{} {} is not in the gazetteer", s.cep, s.number));
        for (i, force) in [false, true].into_iter().enumerate() {
            assert_eq!(
                planned(network.plan_reservation(g.lat, g.lng, 200.0, force)),
                s.outcome[i],
                "{} {} force={force}",
                s.cep,
                s.number
            );
        }
    }
    for g in &rows {
        assert!(
            table.iter().any(|s| s.cep == g.cep && s.number == g.number),
            "gazetteer row {} {} is missing from SANDBOX.md",
            g.cep,
            g.number
        );
    }
    // The three promises of the network design.
    let tutorial = table
        .iter()
        .find(|s| s.cep == "88025500" && s.number == "900")
        .unwrap();
    let t = rows
        .iter()
        .find(|g| g.cep == "88025500" && g.number == "900")
        .unwrap();
    assert_eq!((t.lat, t.lng), (T_LAT, T_LNG));
    assert_eq!(tutorial.outcome[0].as_ref().unwrap().0, "CTO-AGR-01");
    let skips_nearest = table.iter().any(|s| {
        let g = rows
            .iter()
            .find(|g| g.cep == s.cep && g.number == s.number)
            .unwrap();
        let w = state::World::new(&network);
        let nearest = w
            .boxes_near(g.lat, g.lng, 200.0)
            .first()
            .map(|(_, b)| b.name.clone());
        s.outcome[0]
            .as_ref()
            .is_some_and(|o| Some(&o.0) != nearest.as_ref())
    });
    assert!(skips_nearest, "some address must skip its nearest box");
    assert!(
        table.iter().any(|s| s.outcome == [None, None]),
        "some address has no coverage"
    );
}

/// What a client of the documented API does: nearest boxes, skip drafts, look at
/// the splitters, POST to each candidate until one answers 201.
async fn reserve_like_a_client(fx: &Fx, lat: f64, lng: f64, force: bool) -> Option<Value> {
    let (_, boxes) = fx
        .get(
            "/boxes",
            &[("filter", &near(lat, lng, 200.0)), ("limit", "10")],
        )
        .await;
    for b in boxes["rows"].as_array().unwrap() {
        if b["draft"] == true {
            continue;
        }
        let id = b["id"].as_str().unwrap();
        let filter = json!([{"property": "parent", "operator": "=", "value": id}]).to_string();
        let (_, splitters) = fx.get("/splitters", &[("filter", &filter)]).await;
        let has_free = splitters["rows"].as_array().unwrap().iter().any(|s| {
            s["isDrop"] == true
                && s["connectables"]["output"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(s["ports"].as_array().unwrap())
                    .any(|(o, p)| o.is_null() && p["blocked"] == false)
        });
        if !has_free {
            continue;
        }
        let mut body = tutorial_body("555|1", id, force);
        body["lat"] = json!(lat);
        body["lng"] = json!(lng);
        let (status, p) = fx.post("/properties", &body).await;
        if status == StatusCode::CREATED {
            return Some(p);
        }
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    }
    None
}

#[tokio::test]
async fn the_scenario_table_is_true_over_http() {
    let fx = spawn().await;
    let rows = gazetteer();
    for s in scenarios() {
        let g = rows
            .iter()
            .find(|g| g.cep == s.cep && g.number == s.number)
            .unwrap();
        for (i, force) in [false, true].into_iter().enumerate() {
            let got = reserve_like_a_client(&fx, g.lat, g.lng, force).await;
            let summary = got.as_ref().map(|p| {
                let (splitter, port) = connection(p);
                let box_id = p["box"].as_str().unwrap();
                let b = Network::builtin()
                    .boxes
                    .into_iter()
                    .find(|b| b.id == box_id)
                    .unwrap();
                (b.name, u16::try_from(port).unwrap(), splitter)
            });
            assert_eq!(
                summary, s.outcome[i],
                "{} {} force={force}",
                s.cep, s.number
            );
            // Back to a fresh sandbox for the next row.
            if let Some(p) = got {
                let id = p["id"].as_str().unwrap();
                assert_eq!(
                    fx.delete(&format!("/properties/{id}")).await,
                    StatusCode::NO_CONTENT
                );
            }
        }
    }
    fx.srv.stop().await;
}

mod clients;
mod late;
mod sdk;
