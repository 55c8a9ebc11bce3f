//! Each endpoint against a wiremock server: the requests sent, the answers read,
//! the statuses typed and what error messages keep out.

use super::*;
use crate::error::MAX_MESSAGE_CHARS;
use crate::mock::{EqFilter, NearFilter, TOKEN, client_for};
use crate::{NewClient, Ref};
use serde_json::json;
use wiremock::matchers::{body_json, header, header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn new_checks_its_configuration() {
    let u = |s: &str| Url::parse(s).unwrap();
    let t = || SecretString::from(TOKEN);
    let d = Duration::from_secs(1);
    assert!(matches!(
        OzmapClient::new(u("ftp://x"), t(), d),
        Err(OzmapError::InvalidConfig(_))
    ));
    assert!(matches!(
        OzmapClient::new(u("https://x"), SecretString::from("  "), d),
        Err(OzmapError::InvalidConfig(_))
    ));
    assert!(matches!(
        OzmapClient::new(u("https://x"), SecretString::from("a\nb"), d),
        Err(OzmapError::InvalidConfig(_))
    ));
    assert!(matches!(
        OzmapClient::new(u("https://x"), t(), Duration::ZERO),
        Err(OzmapError::InvalidConfig(_))
    ));
    let c = OzmapClient::new(u("https://t.ozmap.com.br:9994/"), t(), d).unwrap();
    assert_eq!(c.api, "https://t.ozmap.com.br:9994/api/v2");
    let c = OzmapClient::new(u("https://t.ozmap.com.br:9994/api/v2/"), t(), d).unwrap();
    assert_eq!(c.api, "https://t.ozmap.com.br:9994/api/v2");
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(TOKEN), "{dbg}");
}

#[test]
fn path_segments_are_fully_encoded() {
    assert_eq!(encode_segment("123|123"), "123%7C123");
    assert_eq!(encode_segment("5da6-2_2.0~"), "5da6-2_2.0~");
    assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
}

#[tokio::test]
async fn properties_by_client_encodes_the_code_and_sends_the_raw_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/properties/client/123%7C123"))
        .and(header("authorization", TOKEN))
        .and(header("accept", "application/json"))
        .and(header_regex("user-agent", r"^ozmap-ivr/\d+\.\d+"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": "p1", "box": "b1",
            "client": {"id": "c1", "code": "123|123", "name": "Gabriel"},
            "connections": [{"id": "s1", "kind": "Splitter", "port": 3}]
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let props = client_for(&server, 1000)
        .properties_by_client("123|123")
        .await
        .unwrap();
    assert_eq!(props.len(), 1);
    assert_eq!(props[0].id, "p1");
    assert_eq!(props[0].client.as_ref().map(Ref::id), Some("c1"));
    assert_eq!(props[0].reserved_port(), Some(3));
    server.verify().await;
}

#[tokio::test]
async fn properties_by_client_empty_list_and_404_mean_none() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/properties/client/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/properties/client/2"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "x"})))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/properties/client/3"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/properties/client/4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"box": "b1"}])))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/properties/client/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message": "?"})))
        .mount(&server)
        .await;
    let c = client_for(&server, 1000);
    for k in ["1", "2", "3"] {
        assert!(c.properties_by_client(k).await.unwrap().is_empty(), "{k}");
    }
    // Something is listed but unreadable: never read that as "none".
    for k in ["4", "5"] {
        let e = c.properties_by_client(k).await.unwrap_err();
        assert!(matches!(e, OzmapError::Decode(_)), "{k}: {e:?}");
    }
}

#[tokio::test]
async fn boxes_near_sends_the_near_filter_and_reads_the_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/boxes"))
        .and(NearFilter {
            lat: -27.5,
            lng: -48.25,
            radius: 150,
        })
        .and(query_param("limit", "7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 3, "count": 3, "start": 0, "limit": 7,
            "rows": [
                {"id": "b1", "name": "CTO-1", "draft": false},
                {"_id": "b2", "name": "CTO-2", "draft": true},
                {"name": "no id"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let boxes = client_for(&server, 1000)
        .boxes_near(-27.5, -48.25, 150, 7)
        .await
        .unwrap();
    let ids: Vec<_> = boxes.iter().map(|b| (b.id.as_str(), b.draft)).collect();
    assert_eq!(ids, [("b1", false), ("b2", true)]);
    server.verify().await;
}

#[tokio::test]
async fn splitters_of_filters_by_parent_and_drops_strangers() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/splitters"))
        .and(EqFilter("parent", "b1".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": [
            {"id": "s1", "parent": "b1", "isDrop": true,
             "connectables": {"output": [null]}, "ports": [{"blocked": false}]},
            {"id": "s2", "parent": {"id": "b9"}, "isDrop": true},
            {"id": "s3", "isDrop": false}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let sp = client_for(&server, 1000).splitters_of("b1").await.unwrap();
    let ids: Vec<_> = sp.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s1", "s3"]);
    assert!(sp[0].can_serve());
    server.verify().await;
}

#[tokio::test]
async fn statuses_map_to_typed_errors() {
    let server = MockServer::start().await;
    let cases: &[(u16, &str)] = &[
        (401, "{}"),
        (403, "{}"),
        (404, "{}"),
        (408, "{}"),
        (422, r#"{"message":"Caixa cheia"}"#),
        (400, r#"{"error":{"message":"inválido"}}"#),
        (409, "<html>conflict</html>"),
        (429, "{}"),
        (500, "{}"),
        (503, "{}"),
    ];
    for (status, body) in cases {
        Mock::given(path(format!("/api/v2/boxes/s{status}")))
            .respond_with(ResponseTemplate::new(*status).set_body_string(*body))
            .mount(&server)
            .await;
    }
    Mock::given(path("/api/v2/boxes/garbage"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Gabriel not json"))
        .mount(&server)
        .await;
    let c = client_for(&server, 1000);
    let err = |id: &'static str| {
        let c = c.clone();
        async move { c.get_box(id).await.unwrap_err() }
    };
    assert_eq!(err("s401").await, OzmapError::Unauthorized(401));
    assert_eq!(err("s403").await, OzmapError::Unauthorized(403));
    assert_eq!(err("s404").await, OzmapError::NotFound);
    assert_eq!(err("s408").await, OzmapError::Timeout);
    assert_eq!(
        err("s422").await,
        OzmapError::Rejected {
            status: 422,
            message: "Caixa cheia".into(),
            field: None,
        }
    );
    assert_eq!(
        err("s400").await,
        OzmapError::Rejected {
            status: 400,
            message: "inválido".into(),
            field: None,
        }
    );
    assert_eq!(
        err("s409").await,
        OzmapError::Rejected {
            status: 409,
            message: "(no message)".into(),
            field: None,
        }
    );
    assert_eq!(err("s429").await, OzmapError::RateLimited);
    assert_eq!(err("s500").await, OzmapError::Server(500));
    assert_eq!(err("s503").await, OzmapError::Server(503));
    let decode = err("garbage").await;
    assert!(matches!(decode, OzmapError::Decode(_)), "{decode:?}");
    assert!(!decode.to_string().contains("Gabriel"), "{decode}");

    for (e, transient) in [
        (OzmapError::Unauthorized(401), false),
        (OzmapError::NotFound, false),
        (
            OzmapError::Rejected {
                status: 400,
                message: String::new(),
                field: None,
            },
            false,
        ),
        (OzmapError::Decode(String::new()), false),
        (OzmapError::RateLimited, true),
        (OzmapError::Server(502), true),
        (OzmapError::Timeout, true),
        (OzmapError::Transport(String::new()), true),
    ] {
        assert_eq!(e.is_transient(), transient, "{e:?}");
    }
}

#[tokio::test]
async fn a_rejection_message_is_redacted_and_truncated() {
    let server = MockServer::start().await;
    let long = format!(
        "Cliente 123|123 (Gabriel Marioto) em R. Delminda Silveira, 900 já existe {}",
        "x".repeat(400)
    );
    Mock::given(method("POST"))
        .and(path("/api/v2/properties"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"message": long})))
        .mount(&server)
        .await;
    let body = NewProperty {
        address: "R. Delminda Silveira, 900".into(),
        lat: 0.0,
        lng: 0.0,
        coords: [0.0, 0.0],
        project: None,
        observation: "o".into(),
        box_id: "b1".into(),
        auto_connect: true,
        force: false,
        client: NewClient {
            certified: false,
            implanted: false,
            status: 0,
            observation: "o".into(),
            code: "123|123".into(),
            name: "Gabriel Marioto".into(),
        },
    };
    let e = client_for(&server, 1000)
        .create_property(&body)
        .await
        .unwrap_err();
    let OzmapError::Rejected {
        status, message, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 400);
    for secret in ["123|123", "Gabriel", "Delminda"] {
        assert!(!message.contains(secret), "{message}");
    }
    assert!(message.starts_with("Cliente [redacted] ([redacted]) em [redacted] já existe"));
    assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/boxes/b1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "b1"}))
                .set_delay(Duration::from_millis(600)),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let e = client_for(&server, 200).get_box("b1").await.unwrap_err();
    assert_eq!(e, OzmapError::Timeout);
    assert!(started.elapsed() < Duration::from_millis(550));
}

#[tokio::test]
async fn a_refused_connection_is_transport_and_hides_the_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = OzmapClient::new(
        Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        SecretString::from(TOKEN),
        Duration::from_millis(500),
    )
    .unwrap();
    let e = c.properties_by_client("123|123").await.unwrap_err();
    assert!(matches!(e, OzmapError::Transport(_)), "{e:?}");
    assert!(e.is_transient());
    let msg = e.to_string();
    assert!(!msg.contains("123") && !msg.contains("properties"), "{msg}");
}

#[tokio::test]
async fn viability_sends_the_point_and_reads_tolerantly() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/ftth-viability/radius"))
        .and(query_param("lat", "-27.5"))
        .and(query_param("lng", "-48.25"))
        .and(query_param("radius", "200"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "viable": true, "ctos": [{"_id": "b1", "distance": 12}], "radius": 200
        })))
        .expect(1)
        .mount(&server)
        .await;
    let v = client_for(&server, 1000)
        .viability(-27.5, -48.25, 200)
        .await
        .unwrap();
    assert!(v.viable);
    assert_eq!(v.boxes.len(), 1);
    assert_eq!(v.boxes[0].id, "b1");
    server.verify().await;
}

#[tokio::test]
async fn prospect_and_delete() {
    let server = MockServer::start().await;
    let prospect = NewProspect {
        name: "N".into(),
        code: "1|2".into(),
        phone: None,
        address: "A".into(),
        coords: [-48.0, -27.0],
        viable: false,
        observation: "o".into(),
    };
    Mock::given(method("POST"))
        .and(path("/api/v2/prospects"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"name": "N", "code": "1|2", "address": "A",
            "coords": [-48.0, -27.0], "viable": false, "observation": "o"}),
        ))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2/properties/p1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = client_for(&server, 1000);
    assert_eq!(c.create_prospect(&prospect).await.unwrap(), Value::Null);
    c.delete_property("p1").await.unwrap();
    assert_eq!(c.delete_property("p2").await, Err(OzmapError::NotFound));
    server.verify().await;
}

#[tokio::test]
async fn lists_follow_has_next_page_until_enough_rows_within_a_bound() {
    let server = MockServer::start().await;
    let page = |ids: &[&str], more: bool| {
        let rows: Vec<_> = ids
            .iter()
            .map(|i| json!({"id": i, "parent": "b1"}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"rows": rows, "hasNextPage": more}))
    };
    // Boxes: the server caps pages at 2 rows; 3 are wanted: two pages read.
    for (n, ids, more) in [("1", &["a", "b"][..], true), ("2", &["c", "d"][..], true)] {
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes"))
            .and(query_param("page", n))
            .respond_with(page(ids, more))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client_for(&server, 1000);
    let boxes = c.boxes_near(-27.5, -48.5, 200, 3).await.unwrap();
    let ids: Vec<_> = boxes.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);

    // Splitters: every page while hasNextPage, and never past the bound, even
    // when the server says there is always more (new rows on every page).
    for n in 1..=MAX_LIST_PAGES + 2 {
        let id = format!("s{n}");
        Mock::given(method("GET"))
            .and(path("/api/v2/splitters"))
            .and(query_param("page", n.to_string()))
            .respond_with(page(&[id.as_str()], true))
            .mount(&server)
            .await;
    }
    let splitters = c.splitters_of("b1").await.unwrap();
    assert_eq!(splitters.len(), MAX_LIST_PAGES as usize);
    server.verify().await;

    // A server that ignores `page` (the same rows each time): one extra read, no
    // duplicates.
    let stuck = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/splitters"))
        .respond_with(page(&["x"], true))
        .expect(2)
        .mount(&stuck)
        .await;
    let splitters = client_for(&stuck, 1000).splitters_of("b1").await.unwrap();
    assert_eq!(splitters.len(), 1);
    stuck.verify().await;
}

#[tokio::test]
async fn property_by_id_and_client_activation() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/properties/p1"))
        .and(header("Authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "p1", "box": "b1", "client": "c1", "observation": "Reserva de Porta",
            "lat": -27.5, "lng": -48.5, "connections": []
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/properties/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v2/ftth-clients/c1"))
        .and(header("Authorization", TOKEN))
        .and(body_json(json!({"implanted": true})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v2/ftth-clients/c2"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client_for(&server, 2_000);
    let p = c.get_property("p1").await.unwrap();
    assert_eq!(p.client.as_ref().map(|r| r.id()), Some("c1"));
    assert_eq!(p.observation.as_deref(), Some("Reserva de Porta"));
    assert_eq!(p.position, Some((-27.5, -48.5)));
    assert_eq!(c.get_property("gone").await, Err(OzmapError::NotFound));
    c.implant_client("c1").await.unwrap();
    assert_eq!(c.implant_client("c2").await, Err(OzmapError::Server(503)));
}
