//! `GET /admin/openapi.json` on the running server: served without a token, and every
//! operation it documents is routed there (a call without a token meets the admin API's 401,
//! not the server's 404 for unknown paths nor a 405).

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{Backend, TestServer};

on_both_backends!(every_documented_operation_is_served);

async fn every_documented_operation_is_served(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server
        .http()
        .get(format!("{}/admin/openapi.json", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.unwrap();

    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/admin/realms/") {
            continue;
        }
        let url = format!("{}{}", server.base_url, with_values(path));
        for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
            if item.get(method.as_str().to_lowercase()).is_none() {
                continue;
            }
            let response = server
                .http()
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
            assert_eq!(body["error"], "unauthorized", "{method} {path}: {body}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} operations documented");
}

/// The path with each `{parameter}` replaced by a value.
fn with_values(path: &str) -> String {
    let mut filled = String::new();
    let mut in_parameter = false;
    for character in path.chars() {
        match character {
            '{' => in_parameter = true,
            '}' => {
                in_parameter = false;
                filled.push_str("test");
            }
            _ if in_parameter => {}
            other => filled.push(other),
        }
    }
    filled
}
