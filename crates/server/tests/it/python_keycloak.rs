//! The admin API driven by a Keycloak admin client from another ecosystem: python-keycloak's
//! `KeycloakAdmin` (pinned in `tests/python/requirements.txt`, installed by `scripts/test`) runs
//! `tests/python/keycloak_admin.py` against a test server, with the client credentials of a
//! realm administrator and the server's certificate as its trust anchor. The interpreter is
//! `python3`, or `SESAME_TEST_PYTHON`. If Python or the package is missing the test fails and
//! says so: it never skips.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Backend, TestServer};

on_both_backends!(python_keycloak_admin_manages_users);

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/keycloak_admin.py"
);
const CLIENT_ID: &str = "python-admin";
const CLIENT_SECRET: &str = "python-admin-secret-0123456789";

async fn python_keycloak_admin_manages_users(backend: Backend) {
    let server = TestServer::start(backend).await;
    // A service account administering the `test` realm, as a deployment would give a script.
    let client = json!({
        "clientId": CLIENT_ID,
        "secret": CLIENT_SECRET,
        "publicClient": false,
        "standardFlowEnabled": false,
        "serviceAccountsEnabled": true,
        "attributes": { "sesame.realm.admin": "true" },
    });
    let response = server
        .http()
        .post(format!("{}/admin/realms/test/clients", server.base_url))
        .bearer_auth(server.admin_token().await)
        .json(&client)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let python = std::env::var("SESAME_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut command = Command::new(&python);
    command
        .arg(SCRIPT)
        .env("SESAME_URL", &server.base_url)
        .env("SESAME_REALM", "test")
        .env("SESAME_CLIENT_ID", CLIENT_ID)
        .env("SESAME_CLIENT_SECRET", CLIENT_SECRET)
        .env("SESAME_CA_FILE", server.data_dir.join("cert.pem"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    // The script blocks; the server it talks to runs on this test's runtime meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("cannot run {python} (set SESAME_TEST_PYTHON): {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "keycloak_admin.py failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("all admin calls behaved as Keycloak's"),
        "{stdout}"
    );
}
