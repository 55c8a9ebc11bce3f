//! Reading tolerant answers and writing the documented bodies.

use super::*;
use serde_json::json;

#[test]
fn ref_reads_id_string_and_populated_object() {
    let r: Ref = serde_json::from_value(json!("5da62201493d9c00066655b8")).unwrap();
    assert_eq!(r.id(), "5da62201493d9c00066655b8");
    assert_eq!(r.name(), None);
    let r: Ref = serde_json::from_value(json!({"_id": "abc", "name": "CTO-12"})).unwrap();
    assert_eq!(r.id(), "abc");
    assert_eq!(r.name(), Some("CTO-12"));
    let r: Ref = serde_json::from_value(json!({"id": "x", "_id": "y"})).unwrap();
    assert_eq!(r.id(), "x");
    assert!(serde_json::from_value::<Ref>(json!({"name": "no id"})).is_err());
    assert!(serde_json::from_value::<Ref>(json!(null)).is_err());
}

#[test]
fn ref_debug_hides_the_name() {
    let r = Ref::new("c1", Some("Gabriel Marioto".into()));
    let d = format!("{r:?}");
    assert!(!d.contains("Gabriel"), "{d}");
    assert!(d.contains("c1"));
}

#[test]
fn property_reads_the_documented_answer() {
    let p: Property = serde_json::from_value(json!({
        "id": "p1", "kind": "Property", "box": "b1", "client": "c1", "drop": "d1",
        "address": "x", "coords": [-48.5, -27.5], "lat": -27.5, "lng": -48.5,
        "history": {"clients": [{"id": "c1", "code": "123|123"}]},
        "connections": [
            {"id": "f1", "kind": "Fusion", "name": "F", "port": 9},
            {"id": "s1", "kind": "Splitter", "name": "SPL-1", "port": 3, "fiber": 1, "implanted": false}
        ]
    }))
    .unwrap();
    assert_eq!(p.id, "p1");
    assert_eq!(p.box_ref.as_ref().map(Ref::id), Some("b1"));
    assert_eq!(p.client.as_ref().map(Ref::id), Some("c1"));
    assert_eq!(p.connections.len(), 2);
    assert_eq!(p.reserved_port(), Some(3));
    assert_eq!(p.connections[1].name.as_deref(), Some("SPL-1"));
    assert_eq!(p.position, Some((-27.5, -48.5)));
    // Where it is, what its creator wrote on it and when: how a second property
    // made for one request is told from the first.
    let p: Property = serde_json::from_value(json!({
        "id": "p3", "coords": [-48.5, "-27.25"], "observation": "Reserva de Porta",
        "createdAt": "2026-01-02T03:04:05.678Z"
    }))
    .unwrap();
    assert_eq!(p.position, Some((-27.25, -48.5)));
    assert_eq!(p.observation.as_deref(), Some("Reserva de Porta"));
    assert_eq!(p.created_at.as_deref(), Some("2026-01-02T03:04:05.678Z"));
}

#[test]
fn property_tolerates_underscore_ids_populated_refs_and_odd_types() {
    let p: Property = serde_json::from_value(json!({
        "_id": "p2",
        "box": {"_id": "b2", "name": "CTO-7", "lat": "-27.1"},
        "client": {"id": "c2", "code": "1|2", "name": "Fulano"},
        "connections": [{"_id": "s2", "kind": "Splitter", "port": "4"}, 17, null]
    }))
    .unwrap();
    assert_eq!(p.id, "p2");
    let b = p.box_ref.unwrap();
    assert_eq!((b.id(), b.name()), ("b2", Some("CTO-7")));
    assert_eq!(p.client.unwrap().id(), "c2");
    assert_eq!(p.connections.len(), 1, "non-objects are dropped");
    assert_eq!(p.connections[0].id, "s2");
    assert_eq!(p.connections[0].port, Some(4));
}

#[test]
fn property_with_missing_fields_defaults() {
    let p: Property = serde_json::from_value(json!({"box": null, "connections": "??"})).unwrap();
    assert_eq!(p, Property::default());
    assert_eq!(p.reserved_port(), None);
    // A connection without a splitter kind still gives its port.
    let p: Property =
        serde_json::from_value(json!({"id": "p", "connections": [{"port": 2}]})).unwrap();
    assert_eq!(p.reserved_port(), Some(2));
}

#[test]
fn box_reads_flags_and_positions() {
    let b: BoxInfo = serde_json::from_value(json!({
        "id": "b1", "name": "CTO-12", "kind": "Box", "draft": true,
        "coords": [-48.52, -27.57], "lat": null, "lng": null, "project": {"id": "pr"}
    }))
    .unwrap();
    assert_eq!(b.id, "b1");
    assert!(b.draft);
    assert_eq!(b.position(), Some((-27.57, -48.52)));
    let b: BoxInfo = serde_json::from_value(json!({"_id": "b2", "draft": "false",
        "coords": {"type": "Point", "coordinates": [1.0, 2.0]}}))
    .unwrap();
    assert_eq!((b.id.as_str(), b.name.as_str(), b.draft), ("b2", "", false));
    assert_eq!(b.position(), Some((2.0, 1.0)));
    let b: BoxInfo = serde_json::from_value(json!({})).unwrap();
    assert_eq!(b, BoxInfo::default());
}

#[test]
fn splitter_free_outputs_respect_nulls_and_blocked_ports() {
    let s: Splitter = serde_json::from_value(json!({
        "id": "s1", "name": "SPL", "parent": {"id": "b1"}, "isDrop": true,
        "connectables": {"input": ["x"], "output": ["cable1", null, null, null]},
        "ports": [{"blocked": false}, {"blocked": true}, null, {}]
    }))
    .unwrap();
    assert_eq!(s.parent.as_ref().map(Ref::id), Some("b1"));
    assert_eq!(s.free_outputs(), vec![2, 3]);
    assert!(s.can_serve());

    let feeder = Splitter {
        is_drop: false,
        ..s.clone()
    };
    assert!(!feeder.can_serve());

    let s: Splitter = serde_json::from_value(json!({"_id": "s2", "isDrop": true})).unwrap();
    assert_eq!(s.id, "s2");
    assert!(
        s.free_outputs().is_empty(),
        "no outputs: no evidence of a free port"
    );
    assert!(!s.can_serve());
}

#[test]
fn viability_reads_named_lists_and_sorts_by_distance() {
    let (v, notes) = Viability::from_json(&json!({
        "viable": true,
        "boxes": [
            {"id": "far", "name": "CTO-2", "distance": 120.5},
            {"_id": "near", "name": "CTO-1", "distance": "30"},
            {"id": "nodist"},
            {"id": "bad", "viable": false},
            {"name": "no id"}
        ],
        "not_viable_boxes": [{"id": "x"}],
        "settings": {"radius": 200}
    }));
    assert!(v.viable);
    let ids: Vec<_> = v.boxes.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["near", "far", "nodist"]);
    assert_eq!(v.boxes[0].name.as_deref(), Some("CTO-1"));
    assert_eq!(v.boxes[0].distance_m, Some(30.0));
    assert!(notes.iter().any(|n| n.contains("not_viable_boxes")));
    assert!(notes.iter().any(|n| n.contains("settings")));
    assert!(notes.iter().any(|n| n.contains("without an id")));
}

#[test]
fn viability_reads_other_shapes() {
    // Wrapped, camelCase list, nested box refs.
    let (v, _) = Viability::from_json(&json!({"data": {
        "viable": "true",
        "viableBoxes": [{"box": {"_id": "b1", "name": "CTO-9", "project": "pr1"}, "dist": 10}]
    }}));
    assert!(v.viable);
    assert_eq!(
        v.boxes,
        vec![ViableBox {
            id: "b1".into(),
            name: Some("CTO-9".into()),
            distance_m: Some(10.0),
            project: Some("pr1".into()),
        }]
    );
    // Unknown list name with identified objects, no `viable`.
    let (v, notes) = Viability::from_json(&json!({"caixas": [{"id": "b2"}]}));
    assert!(v.viable);
    assert_eq!(v.boxes[0].id, "b2");
    assert!(notes.iter().any(|n| n.contains("caixas")));
    // A bare array.
    let (v, _) = Viability::from_json(&json!([{"id": "b3"}]));
    assert_eq!(v.boxes.len(), 1);
    // Not viable, nothing else.
    let (v, _) = Viability::from_json(&json!({"viable": false}));
    assert!(!v.viable);
    assert!(v.boxes.is_empty());
    // Garbage.
    let (v, notes) = Viability::from_json(&json!("???"));
    assert_eq!(v, Viability::default());
    assert!(!notes.is_empty());
}

#[test]
fn new_property_serialises_like_the_tutorial_plus_the_sdk_fields() {
    let mut p = NewProperty {
        address: "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500".into(),
        lat: -27.5782336721312,
        lng: -48.527442812919624,
        coords: [-48.527442812919624, -27.5782336721312],
        project: Some("5da61f5b493d9c0006664f4a".into()),
        observation: "Reserva de Porta".into(),
        box_id: "5da62201493d9c00066655b8".into(),
        auto_connect: true,
        force: true,
        client: NewClient {
            certified: false,
            implanted: false,
            status: 0,
            observation: "Reserva do Novo Cliente".into(),
            code: "123|123".into(),
            name: "Gabriel Marioto".into(),
        },
    };
    let mut tutorial = json!({ "address": "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
      "lat": -27.5782336721312, "lng": -48.527442812919624,
      "coords": [-48.527442812919624, -27.5782336721312],
      "project": "5da61f5b493d9c0006664f4a",
      "observation": "Reserva de Porta", "box": "5da62201493d9c00066655b8",
      "auto_connect": true, "force": true,
      "client": { "certified": false, "implanted": false, "status": 0,
                  "observation": "Reserva do Novo Cliente", "code": "123|123",
                  "name": "Gabriel Marioto" } });
    assert_eq!(serde_json::to_value(&p).unwrap(), tutorial);
    // A box without a project: the field is left out, not sent as null.
    p.project = None;
    tutorial.as_object_mut().unwrap().remove("project");
    assert_eq!(serde_json::to_value(&p).unwrap(), tutorial);
    let d = format!("{p:?}");
    assert!(!d.contains("Gabriel") && !d.contains("123|123") && !d.contains("Delminda"));
}

#[test]
fn a_box_project_is_read_as_an_id_or_a_populated_object() {
    let b: BoxInfo = serde_json::from_value(json!({"id": "b1", "project": "pr1"})).unwrap();
    assert_eq!(b.project.as_deref(), Some("pr1"));
    let b: BoxInfo =
        serde_json::from_value(json!({"_id": "b1", "project": {"_id": "pr2", "name": "P"}}))
            .unwrap();
    assert_eq!(b.project.as_deref(), Some("pr2"));
    for odd in [json!(null), json!(""), json!(true), json!([1])] {
        let b: BoxInfo = serde_json::from_value(json!({"id": "b1", "project": odd})).unwrap();
        assert_eq!(b.project, None);
    }
    let b: BoxInfo = serde_json::from_value(json!({"id": "b1"})).unwrap();
    assert_eq!(b.project, None);
}

#[test]
fn the_sdk_documented_shapes_are_read_too() {
    // Ports with `id` and no `index`, `fiber` as an id string, `client` null,
    // `boxType` null, timestamps as strings.
    let s: Splitter = serde_json::from_value(json!({
        "id": "s1", "isDrop": true, "parent": "b1",
        "connectables": {"output": ["x", null, null]},
        "ports": [{"id": "p0"}, {"id": "p1", "blocked": true}, {"id": "p2", "index": 2}]
    }))
    .unwrap();
    assert_eq!(s.free_outputs(), vec![2]);
    let p: Property = serde_json::from_value(json!({
        "id": "pr1", "kind": "Property", "box": "b1", "client": null, "pole": "po1",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "connections": [{"id": "s1", "kind": "Splitter", "port": 3,
                         "fiber": "5da62201493d9c00066655b9", "implanted": false}]
    }))
    .unwrap();
    assert_eq!(p.reserved_port(), Some(3));
    let b: BoxInfo = serde_json::from_value(json!({
        "id": "b1", "name": "CTO-1", "boxType": null, "pole": "po1",
        "project": "pr", "createdAt": "2024-01-01T00:00:00.000Z"
    }))
    .unwrap();
    assert_eq!(
        (b.name.as_str(), b.project.as_deref()),
        ("CTO-1", Some("pr"))
    );
}
