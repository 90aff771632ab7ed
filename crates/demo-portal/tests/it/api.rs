//! `GET /api/ordres-effacement`: who gets which orders, and every refusal RFC 6750 and
//! RFC 9068 call for, each answered with 401 and the right `WWW-Authenticate`.

use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use sesame_demo_portal::{OrdersResponse, RunningPortal, all_sample_orders, orders_for_producer};

use crate::mock_idp::{MockIdp, TestKey, now};

const PRODUCER: &str = "5b0c6f4e-producer";

/// The API's answer to `token` (no header when `None`).
async fn call(portal: &RunningPortal, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}api/ordres-effacement", portal.url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("API request")
}

/// Asserts a 401 `invalid_token` refusal of `token`, naming the case on failure.
async fn assert_invalid_token(portal: &RunningPortal, token: &str, case: &str) {
    let response = call(portal, Some(token)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"smart-oa-api\", error=\"invalid_token\""),
        "{case}: {challenge}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"], json!("invalid_token"), "{case}: {body}");
}

/// A JWT with any header, signed by `key` (or unsigned when `key` is `None`).
fn token_with_header(header: &Value, claims: &Value, key: Option<&TestKey>) -> String {
    match key {
        Some(key) => {
            let header: Header = serde_json::from_value(header.clone()).expect("header");
            key.sign_with_header(&header, claims)
        }
        None => {
            let encode = |value: &Value| BASE64URL_NOPAD.encode(value.to_string().as_bytes());
            format!("{}.{}.", encode(header), encode(claims))
        }
    }
}

#[tokio::test]
async fn a_users_token_gets_that_users_orders() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;

    let response = call(&portal, Some(&idp.user_access_token(PRODUCER, json!({})))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(CACHE_CONTROL).map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let body: OrdersResponse = response.json().await.expect("orders JSON");
    assert_eq!(body.orders, orders_for_producer(PRODUCER));
}

#[tokio::test]
async fn a_service_accounts_token_gets_the_whole_sample_set() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;

    let token = idp.service_access_token("smart-oa-api-consumer-example");
    let response = call(&portal, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: OrdersResponse = response.json().await.expect("orders JSON");
    assert_eq!(body.orders, all_sample_orders());
}

#[tokio::test]
async fn a_request_without_a_token_gets_a_challenge_without_error() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;

    for response in [
        call(&portal, None).await,
        reqwest::Client::new()
            .get(format!("{}api/ordres-effacement", portal.url()))
            .basic_auth("smart-oa-api-consumer-example", Some("secret"))
            .send()
            .await
            .expect("API request"),
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|value| value.to_str().ok()),
            Some("Bearer realm=\"smart-oa-api\"")
        );
    }
}

#[tokio::test]
async fn tokens_failing_a_claim_check_are_invalid() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;

    let cases = [
        (
            "another audience",
            json!({ "aud": ["smart-oa-portal", "other-api"] }),
        ),
        ("no audience", json!({ "aud": null })),
        ("expired beyond the leeway", json!({ "exp": now() - 120 })),
        (
            "another issuer",
            json!({ "iss": "http://127.0.0.1:1/realms/other" }),
        ),
        ("no issuer", json!({ "iss": null })),
        ("no subject", json!({ "sub": null })),
        ("no expiry", json!({ "exp": null })),
    ];
    for (case, changes) in cases {
        assert_invalid_token(&portal, &idp.user_access_token(PRODUCER, changes), case).await;
    }

    // Within the 60 s leeway, a just-expired token still passes.
    let response = call(
        &portal,
        Some(&idp.user_access_token(PRODUCER, json!({ "exp": now() - 20 }))),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_with_a_forged_or_wrong_header_are_invalid() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;
    let claims = json!({
        "iss": idp.issuer,
        "sub": PRODUCER,
        "aud": "smart-oa-api",
        "exp": now() + 300,
        "auth_time": now(),
    });
    let kid = idp.key.kid.clone();

    // Signed by another key that claims the published key's kid.
    let impostor = TestKey::generate("impostor").renamed(&kid);
    assert_invalid_token(&portal, &impostor.sign("at+jwt", &claims), "another key").await;

    // `alg: none`, with no signature at all.
    let none = json!({ "alg": "none", "typ": "at+jwt", "kid": kid });
    assert_invalid_token(
        &portal,
        &token_with_header(&none, &claims, None),
        "alg none",
    )
    .await;

    // HS256 with the public key's coordinates as the secret: the classic confusion.
    let mut hmac_header = Header::new(Algorithm::HS256);
    hmac_header.typ = Some("at+jwt".to_owned());
    hmac_header.kid = Some(kid.clone());
    let secret = idp.key.jwk()["x"].as_str().unwrap_or_default().to_owned();
    let hmac = jsonwebtoken::encode(
        &hmac_header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("an HMAC key"),
    )
    .expect("sign with HS256");
    assert_invalid_token(&portal, &hmac, "HS256").await;

    // A valid signature on an ID token (typ JWT) or a token without typ.
    assert_invalid_token(&portal, &idp.key.sign("JWT", &claims), "typ JWT").await;
    let untyped = json!({ "alg": "ES256", "kid": kid });
    assert_invalid_token(
        &portal,
        &token_with_header(&untyped, &claims, Some(&idp.key)),
        "no typ",
    )
    .await;

    // A token with no kid, and plain garbage.
    let no_kid = json!({ "alg": "ES256", "typ": "at+jwt" });
    assert_invalid_token(
        &portal,
        &token_with_header(&no_kid, &claims, Some(&idp.key)),
        "no kid",
    )
    .await;
    assert_invalid_token(&portal, "not-a-jwt", "garbage").await;
    assert_invalid_token(&portal, "a.b.c", "three garbage parts").await;

    // The genuine token passes, so the refusals above are about what changed.
    let genuine = idp.key.sign("at+jwt", &claims);
    assert_eq!(call(&portal, Some(&genuine)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_jwks_again_at_most_once_in_ten_seconds() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;
    let fetches_at_start = idp.jwks_fetches();

    let stranger = TestKey::generate("never-published");
    let claims = json!({
        "iss": idp.issuer,
        "sub": PRODUCER,
        "aud": "smart-oa-api",
        "exp": now() + 300,
        "auth_time": now(),
    });
    assert_invalid_token(&portal, &stranger.sign("at+jwt", &claims), "unknown kid").await;
    assert_eq!(
        idp.jwks_fetches(),
        fetches_at_start + 1,
        "one fetch for the unknown kid"
    );

    assert_invalid_token(
        &portal,
        &stranger.sign("at+jwt", &claims),
        "unknown kid again",
    )
    .await;
    assert_eq!(
        idp.jwks_fetches(),
        fetches_at_start + 1,
        "no second fetch within ten seconds"
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;

    let rotated = TestKey::generate("key-2");
    idp.publish(&rotated);
    let claims = json!({
        "iss": idp.issuer,
        "sub": PRODUCER,
        "aud": ["smart-oa-portal", "smart-oa-api"],
        "exp": now() + 300,
        "auth_time": now(),
    });
    let response = call(&portal, Some(&rotated.sign("at+jwt", &claims))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: OrdersResponse = response.json().await.expect("orders JSON");
    assert_eq!(body.orders, orders_for_producer(PRODUCER));
}
