//! Client authentication with a signed JWT (`private_key_jwt`, RFC 7523 and OIDC Core §9).

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use serde_json::{Value, json};
use sesame_domain::SigningAlgorithm;
use sesame_oidc::keys::SigningKey;

use crate::harness::{Backend, TestServer};

const CLIENT: &str = "jwt-client";

async fn register(server: &TestServer, key: &SigningKey) {
    let jwks = json!({ "keys": [key.public().to_jwk()] }).to_string();
    let response = server
        .http()
        .post(format!("{}/admin/realms/test/clients", server.base_url))
        .bearer_auth(server.admin_token().await)
        .json(&json!({
            "clientId": CLIENT,
            "clientAuthenticatorType": "client-jwt",
            "standardFlowEnabled": false,
            "serviceAccountsEnabled": true,
            "attributes": { "jwks.string": jwks },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

fn assertion(
    server: &TestServer,
    key: &SigningKey,
    audience: &str,
    lifetime: i64,
    jti: &str,
) -> String {
    let now = server.sesame_provider.clock.now();
    let claims = json!({ "iss": CLIENT, "sub": CLIENT, "aud": audience, "exp": now + lifetime, "iat": now, "jti": jti });
    key.sign_jwt("JWT", &claims).unwrap()
}

async fn token_with(server: &TestServer, assertion: &str) -> (u16, Value) {
    let response = server
        .http()
        .post(server.endpoint("token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn signed_jwt_authenticates_the_client_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (key, _) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
    register(&server, &key).await;
    let endpoint = server.endpoint("token");

    let first = assertion(&server, &key, &endpoint, 60, "jti-1");
    let (status, body) = token_with(&server, &first).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());

    // The same assertion twice is a replay.
    let (status, body) = token_with(&server, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // The issuer is an accepted audience too.
    let (status, _) = token_with(
        &server,
        &assertion(&server, &key, &server.issuer(), 60, "jti-2"),
    )
    .await;
    assert_eq!(status, 200);

    let refused = [
        assertion(
            &server,
            &key,
            "https://elsewhere.example/token",
            60,
            "jti-3",
        ),
        assertion(&server, &key, &endpoint, -1, "jti-4"),
        assertion(&server, &key, &endpoint, 3600, "jti-5"),
        assertion(
            &server,
            &SigningKey::generate(SigningAlgorithm::Es256).unwrap().0,
            &endpoint,
            60,
            "jti-6",
        ),
    ];
    for refused in refused {
        let (status, body) = token_with(&server, &refused).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{refused}"
        );
    }
}

on_both_backends!(signed_jwt_authenticates_the_client_once);
