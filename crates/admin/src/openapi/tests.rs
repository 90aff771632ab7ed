#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::collections::BTreeSet;

use serde_json::Value;
use sesame_domain::{EventType, OperationType, ResourceType};

use super::DOCUMENT;

/// The source of the router: the one place where the admin API's routes are written.
const ROUTER_SOURCE: &str = include_str!("../lib.rs");

const METHODS: [&str; 4] = ["get", "put", "post", "delete"];

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let routed = routed_operations();
    let documented = documented_operations();
    assert!(
        routed.len() > 20,
        "the router's routes were not found: {routed:?}"
    );

    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "crates/admin/openapi.json and the router differ:\n  routed but not documented: \
         {undocumented:?}\n  documented but not routed: {unrouted:?}"
    );
}

#[test]
fn every_operation_answers_errors_as_documented() {
    let document: Value = serde_json::from_str(DOCUMENT).unwrap();
    assert_eq!(document["openapi"], "3.0.3");
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let case = format!("{method} {path}");
            assert!(operation["operationId"].is_string(), "{case}");
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{case}: no success response"
            );
            if path.starts_with("/admin/realms/") {
                for status in ["401", "403", "404"] {
                    assert!(responses.contains_key(status), "{case}: no {status}");
                }
            }
        }
    }
    // Every reference points at something defined.
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    for reference in references {
        let pointer = reference.trim_start_matches('#');
        assert!(document.pointer(pointer).is_some(), "dangling {reference}");
    }
}

#[test]
fn documented_enumerations_are_the_domains() {
    let document: Value = serde_json::from_str(DOCUMENT).unwrap();
    let schemas = &document["components"]["schemas"];
    let documented = |name: &str| -> Vec<String> {
        let values = schemas[name]["enum"].as_array().unwrap();
        values
            .iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    };
    let event_types: Vec<String> = EventType::ALL
        .iter()
        .map(|kind| kind.as_str().to_owned())
        .collect();
    assert_eq!(documented("EventType"), event_types);
    let admin_event = &schemas["AdminEventRepresentation"]["properties"];
    let operations: Vec<&str> = OperationType::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    assert_eq!(
        admin_event["operationType"]["enum"],
        serde_json::json!(operations)
    );
    let resources: Vec<&str> = ResourceType::ALL.iter().map(|kind| kind.as_str()).collect();
    assert_eq!(
        admin_event["resourceType"]["enum"],
        serde_json::json!(resources)
    );
}

/// `(METHOD, path)` of each route of `crate::router`, read from its source: each `.route(`
/// call names its path in its first string literal and its methods as `get(`, `.put(`…
fn routed_operations() -> BTreeSet<(String, String)> {
    let body = ROUTER_SOURCE
        .split_once("pub fn router(")
        .expect("lib.rs defines the router")
        .1;
    let mut operations = BTreeSet::new();
    for call in body.split(".route(").skip(1) {
        let call = call.split(".with_state(").next().unwrap_or(call);
        let path = call.split('"').nth(1).expect("a route's path literal");
        for method in METHODS {
            let called = call.match_indices(&format!("{method}(")).any(|(at, _)| {
                at == 0 || !call[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            if called {
                operations.insert((method.to_uppercase(), normalize(path)));
            }
        }
    }
    operations
}

/// `(METHOD, path)` of each operation of the document.
fn documented_operations() -> BTreeSet<(String, String)> {
    let document: Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), normalize(path)));
            }
        }
    }
    operations
}

/// The path with each `{parameter}` written `{}`: the router and the document may name the
/// same parameter differently (`credential_id`, `credentialId`).
fn normalize(path: &str) -> String {
    let mut normalized = String::new();
    let mut in_parameter = false;
    for character in path.chars() {
        match character {
            '{' => {
                in_parameter = true;
                normalized.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            other => normalized.push(other),
        }
    }
    normalized
}

fn collect_references(value: &Value, references: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                match (name.as_str(), field) {
                    ("$ref", Value::String(reference)) => references.push(reference.clone()),
                    _ => collect_references(field, references),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_references(item, references);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}
