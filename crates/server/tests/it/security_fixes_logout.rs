//! Two security fixes, driven as an attacker and an operator would meet them:
//!
//! - RP-initiated logout signs a browser out without asking only for an ID token of the user of
//!   that browser's session. An API consumer's access token, the user's own access token or an
//!   ID token of someone else leads to the confirmation page, and nobody's session ends.
//! - Redirect URIs, post-logout redirect URIs and base URLs with a scheme a browser runs or
//!   reads itself (`javascript:`, `data:`…) are refused by the admin API, the command line and
//!   realm imports; one already in a database ends a login on the error page, not a bare 500.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::process::Command;

use data_encoding::BASE64;
use reqwest::{Method, Response, StatusCode, header};
use serde_json::{Value, json};
use sesame_domain::{Client, ClientAuthMethod};

use crate::harness::{
    API, API_SECRET, Backend, PORTAL, PORTAL_LOGOUT_REDIRECT, PORTAL_REDIRECT, PORTAL_SECRET,
    TestServer, forms, location, query_params, unique_temp_dir,
};

on_both_backends!(
    logout_with_an_access_token_hint_asks_for_confirmation,
    logout_with_another_users_id_token_asks_for_confirmation,
    logout_with_an_id_token_of_an_earlier_session_asks_for_confirmation,
    logout_with_the_users_own_id_token_still_signs_out_at_once,
    admin_api_refuses_dangerous_client_uris,
    stored_dangerous_redirect_uri_ends_on_the_error_page,
    form_post_to_a_native_app_scheme_ends_on_the_error_page,
);

const ALICE: (&str, &str, &str) = ("alice", "alice@example.test", "Correct-Horse-42");
const BOB: (&str, &str, &str) = ("bob", "bob@example.test", "Battery-Staple-43");

/// URIs no client may register: schemes a browser runs or reads itself, a fragment, no scheme.
const DANGEROUS_URIS: [&str; 7] = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "https://portal.test/cb#fragment",
    "/relative/callback",
];

// ---------------------------------------------------------------------------------------------
// RP-initiated logout

async fn logout_with_an_access_token_hint_asks_for_confirmation(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(ALICE.0, ALICE.1, ALICE.2).await;
    let browser = server.browser();
    let alice = sign_in(&server, &browser, ALICE).await;

    // An API consumer's own token is signed by the realm's key, like every token of the realm.
    let response = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(API, Some(API_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let consumer: Value = response.json().await.unwrap();
    let consumer_token = consumer["access_token"].as_str().unwrap();
    let users_access_token = alice["access_token"].as_str().unwrap();

    for (case, hint) in [
        ("an API consumer's access token", consumer_token),
        ("the user's own access token", users_access_token),
    ] {
        let response = browser
            .get(server.endpoint("logout"))
            .query(&[("id_token_hint", hint)])
            .send()
            .await
            .unwrap();
        assert_confirmation_page(response, case).await;
        assert_signed_in(&server, &browser, case).await;
    }
    assert_refresh_works(&server, &alice, "after both attempts").await;
}

async fn logout_with_another_users_id_token_asks_for_confirmation(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(ALICE.0, ALICE.1, ALICE.2).await;
    server.create_user(BOB.0, BOB.1, BOB.2).await;
    let alice_browser = server.browser();
    let bob_browser = server.browser();
    sign_in(&server, &alice_browser, ALICE).await;
    let bob = sign_in(&server, &bob_browser, BOB).await;
    let bob_id_token = bob["id_token"].as_str().unwrap();

    // Alice's browser follows a link carrying Bob's ID token: neither session ends silently.
    let response = alice_browser
        .get(server.endpoint("logout"))
        .query(&[
            ("id_token_hint", bob_id_token),
            ("post_logout_redirect_uri", PORTAL_LOGOUT_REDIRECT),
            ("state", "s-1"),
        ])
        .send()
        .await
        .unwrap();
    let form = assert_confirmation_page(response, "another user's ID token").await;
    assert_signed_in(&server, &alice_browser, "alice, before confirming").await;
    assert_signed_in(&server, &bob_browser, "bob, before confirming").await;

    // Confirming signs Alice out and sends her back, the client named by the hint; Bob stays.
    let response = alice_browser
        .post(&form.action)
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).unwrap(),
        format!("{PORTAL_LOGOUT_REDIRECT}?state=s-1")
    );
    assert_signed_out(&server, &alice_browser, "alice, after confirming").await;
    assert_signed_in(&server, &bob_browser, "bob, after alice confirmed").await;
    assert_refresh_works(&server, &bob, "bob, after alice confirmed").await;
}

async fn logout_with_an_id_token_of_an_earlier_session_asks_for_confirmation(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(ALICE.0, ALICE.1, ALICE.2).await;
    let old_browser = server.browser();
    let earlier = sign_in(&server, &old_browser, ALICE).await;
    let browser = server.browser();
    sign_in(&server, &browser, ALICE).await;

    // Same user, but the hint's `sid` names another session than this browser's.
    let response = browser
        .get(server.endpoint("logout"))
        .query(&[("id_token_hint", earlier["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_confirmation_page(response, "an ID token of another session").await;
    assert_signed_in(&server, &browser, "the current session").await;
    assert_signed_in(&server, &old_browser, "the earlier session").await;
}

async fn logout_with_the_users_own_id_token_still_signs_out_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(ALICE.0, ALICE.1, ALICE.2).await;
    let browser = server.browser();
    let alice = sign_in(&server, &browser, ALICE).await;

    // Expired (OIDC RP-Initiated Logout §2 lets it identify) and without client_id.
    server.advance_clock(400);
    let response = browser
        .get(server.endpoint("logout"))
        .query(&[
            ("id_token_hint", alice["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", PORTAL_LOGOUT_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).unwrap(), PORTAL_LOGOUT_REDIRECT);
    assert_signed_out(&server, &browser, "after logout").await;
}

// ---------------------------------------------------------------------------------------------
// Dangerous URIs at registration

async fn admin_api_refuses_dangerous_client_uris(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let clients = format!("{}/admin/realms/test/clients", server.base_url);

    for (index, uri) in DANGEROUS_URIS.iter().enumerate() {
        let cases = [
            ("redirectUris", json!({ "redirectUris": [uri] })),
            (
                "post.logout.redirect.uris",
                json!({
                    "redirectUris": [PORTAL_REDIRECT],
                    "attributes": { "post.logout.redirect.uris": uri },
                }),
            ),
            (
                "baseUrl",
                json!({ "redirectUris": [PORTAL_REDIRECT], "baseUrl": uri }),
            ),
        ];
        for (field, mut body) in cases {
            body["clientId"] = json!(format!("refused-{index}-{field}"));
            let response = admin(&server, Method::POST, &clients, &token, &body).await;
            assert_bad_request_naming(response, field, uri).await;
        }
    }

    // A native app's private-use scheme (RFC 8252 §7.1) is a redirect URI, not a base URL.
    let native = json!({
        "clientId": "native",
        "publicClient": true,
        "redirectUris": ["com.example.app:/oauth2redirect", "http://127.0.0.1/cb"],
        "attributes": { "post.logout.redirect.uris": "com.example.app:/signed-out" },
    });
    let response = admin(&server, Method::POST, &clients, &token, &native).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = location(&response).unwrap();
    let body = json!({ "baseUrl": "com.example.app:/home" });
    let response = admin(&server, Method::PUT, &created, &token, &body).await;
    assert_bad_request_naming(response, "baseUrl", "com.example.app:/home").await;

    // An update is checked the same way, and leaves the client as it was.
    let body = json!({ "redirectUris": ["javascript:alert(1)"] });
    let response = admin(&server, Method::PUT, &created, &token, &body).await;
    assert_bad_request_naming(response, "redirectUris", "javascript:alert(1)").await;
    let response = server
        .http()
        .get(&created)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let stored: Value = response.json().await.unwrap();
    assert_eq!(
        stored["redirectUris"],
        json!(["com.example.app:/oauth2redirect", "http://127.0.0.1/cb"])
    );
}

/// `sesame client create` and `sesame realm import` check before touching the database.
#[test]
fn command_line_and_realm_import_refuse_dangerous_client_uris() {
    let dir = unique_temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for uri in DANGEROUS_URIS {
        for option in ["--redirect-uri", "--post-logout-redirect-uri"] {
            let args = [
                "client",
                "create",
                "--realm",
                "test",
                "--client-id",
                "evil",
                "--redirect-uri",
                "https://evil.test/cb",
                option,
                uri,
            ];
            let (success, output) = run_sesame(&dir, &args);
            assert!(!success, "sesame {args:?} succeeded:\n{output}");
            assert!(output.contains(uri), "{option} {uri}: {output}");
        }
        let list = toml_string(uri);
        for (field, uris) in [
            ("redirectUris", format!("redirectUris = [{list}]")),
            (
                "postLogoutRedirectUris",
                format!(
                    "redirectUris = [\"https://evil.test/cb\"]\npostLogoutRedirectUris = [{list}]"
                ),
            ),
        ] {
            let file = dir.join("realm.toml");
            std::fs::write(
                &file,
                format!(
                    "realm = \"imported\"\n\n[[clients]]\nclientId = \"evil\"\n\
                     secret = \"evil-secret-0123456789\"\n{uris}\n"
                ),
            )
            .unwrap();
            let args = ["realm", "import", file.to_str().unwrap()];
            let (success, output) = run_sesame(&dir, &args);
            assert!(!success, "{field} = {uri} was imported:\n{output}");
            assert!(output.contains(uri), "{field} {uri}: {output}");
            assert!(output.contains(field), "{field} {uri}: {output}");
        }
    }

    // A native app's private-use scheme (RFC 8252 §7.1) passes the check.
    let args = [
        "client",
        "create",
        "--realm",
        "missing-realm",
        "--client-id",
        "native",
        "--redirect-uri",
        "com.example.app:/oauth2redirect",
    ];
    let (success, output) = run_sesame(&dir, &args);
    assert!(!success, "{output}");
    assert!(
        output.contains("realm missing-realm does not exist"),
        "the URI passed, only the realm is missing: {output}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Dangerous URIs already stored

async fn stored_dangerous_redirect_uri_ends_on_the_error_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(ALICE.0, ALICE.1, ALICE.2).await;
    for (index, uri) in ["javascript:alert(1)", "data:text/html,hello"]
        .into_iter()
        .enumerate()
    {
        let client_id = format!("legacy-{index}");
        insert_client_unchecked(&server, &client_id, uri).await;
        for mode in ["query", "form_post"] {
            let response = server
                .authorize(
                    &server.browser(),
                    &[
                        ("response_type", "code"),
                        ("client_id", &client_id),
                        ("redirect_uri", uri),
                        ("scope", "openid"),
                        ("state", "s-1"),
                        ("response_mode", mode),
                    ],
                )
                .await;
            assert_invalid_redirect_uri_page(response, &format!("{uri} {mode}")).await;
        }
    }
}

async fn form_post_to_a_native_app_scheme_ends_on_the_error_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(ALICE.0, ALICE.1, ALICE.2).await;
    let uri = "com.example.app:/oauth2redirect";
    insert_client_unchecked(&server, "native-app", uri).await;

    // The auto-posting form can only post to a web URL: the login ends on the error page.
    let response = server
        .login_response(
            &server.browser(),
            &[
                ("response_type", "code"),
                ("client_id", "native-app"),
                ("redirect_uri", uri),
                ("scope", "openid"),
                ("state", "s-1"),
                ("response_mode", "form_post"),
            ],
            ALICE.0,
            ALICE.2,
        )
        .await;
    assert_invalid_redirect_uri_page(response, "form_post to an app scheme").await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The logout confirmation form, with its fields as the browser would send them.
struct ConfirmationForm {
    action: String,
    fields: Vec<(String, String)>,
}

/// Signs `user` in to the portal in `browser` and returns the token response.
async fn sign_in(
    server: &TestServer,
    browser: &reqwest::Client,
    (username, _, password): (&str, &str, &str),
) -> Value {
    let params = portal_params(&[]);
    let redirect = server.login(browser, &params, username, password).await;
    let code = query_params(&redirect).remove("code").unwrap();
    let response = server
        .http()
        .post(server.endpoint("token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PORTAL_REDIRECT),
            ("client_id", PORTAL),
            ("client_secret", PORTAL_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn portal_params<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("scope", "openid profile"),
        ("state", "s-0"),
    ];
    params.extend_from_slice(extra);
    params
}

/// A silent authorization request: a code when the browser's session lives.
async fn silent_authorization(server: &TestServer, browser: &reqwest::Client) -> Vec<String> {
    let response = server
        .authorize(browser, &portal_params(&[("prompt", "none")]))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let redirect = url::Url::parse(&location(&response).unwrap()).unwrap();
    query_params(&redirect).into_keys().collect()
}

async fn assert_signed_in(server: &TestServer, browser: &reqwest::Client, case: &str) {
    let keys = silent_authorization(server, browser).await;
    assert!(keys.iter().any(|key| key == "code"), "{case}: {keys:?}");
}

async fn assert_signed_out(server: &TestServer, browser: &reqwest::Client, case: &str) {
    let keys = silent_authorization(server, browser).await;
    assert!(keys.iter().any(|key| key == "error"), "{case}: {keys:?}");
}

/// The session's refresh token still works: logout would have revoked it.
async fn assert_refresh_works(server: &TestServer, tokens: &Value, case: &str) {
    let response = server
        .http()
        .post(server.endpoint("token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", PORTAL),
            ("client_secret", PORTAL_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{case}: {body}");
}

/// The confirmation page: 200, and a POST form holding a CSRF token.
async fn assert_confirmation_page(response: Response, case: &str) -> ConfirmationForm {
    assert_eq!(response.status(), StatusCode::OK, "{case}");
    let html = response.text().await.unwrap();
    let form = forms(&html)
        .into_iter()
        .find(|form| {
            form.fields
                .iter()
                .any(|(name, value)| name == "csrf_token" && !value.is_empty())
        })
        .unwrap_or_else(|| panic!("{case}: no confirmation form:\n{html}"));
    assert_eq!(form.method, "post", "{case}");
    ConfirmationForm {
        action: form.action,
        fields: form.fields,
    }
}

/// The login UI's error page for a redirect URI, never a redirect and never a bare 500.
async fn assert_invalid_redirect_uri_page(response: Response, case: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
    assert_eq!(location(&response), None, "{case}: no redirect");
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{case}: {content_type}"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("URL de redirection invalide."),
        "{case}:\n{html}"
    );
}

async fn admin(
    server: &TestServer,
    method: Method,
    url: &str,
    token: &str,
    body: &Value,
) -> Response {
    server
        .http()
        .request(method, url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A 400 whose JSON error names the field and the refused URI.
async fn assert_bad_request_naming(response: Response, field: &str, uri: &str) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{field} {uri}: {body}");
    assert_eq!(body["error"], json!("invalid_request"), "{body}");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains(field) && message.contains(uri),
        "{field} {uri}: {body}"
    );
}

/// Stores a client as an older Sésame could have, without today's checks on its URIs.
async fn insert_client_unchecked(server: &TestServer, client_id: &str, redirect_uri: &str) {
    let client = Client {
        id: sesame_oidc::new_id(),
        realm: "test".to_owned(),
        client_id: client_id.to_owned(),
        name: client_id.to_owned(),
        enabled: true,
        auth_method: ClientAuthMethod::ClientSecret,
        secret_sha256: Some(sesame_oidc::sha256_hex("legacy-secret-0123456789")),
        redirect_uris: vec![redirect_uri.to_owned()],
        post_logout_redirect_uris: Vec::new(),
        base_url: None,
        standard_flow_enabled: true,
        service_accounts_enabled: false,
        pkce_required: false,
        jwks: None,
        realm_admin: false,
    };
    let now = server.sesame_provider.clock.now();
    server
        .sesame_provider
        .db
        .run(move |conn| sesame_store::insert_client(conn, &client, now))
        .await
        .unwrap();
}

/// Runs `sesame ARGS` on a SQLite file of `dir`: success, then stdout and stderr together.
fn run_sesame(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(args)
        .env("SESAME_DATABASE_URL", dir.join("sesame.db"))
        .env(
            "SESAME_KEY_ENCRYPTION_KEY",
            BASE64.encode(&sesame_oidc::random_bytes(32)),
        )
        .env("SESAME_DATA_DIR", dir.join("data"))
        .env("SESAME_REALMS_DIR", dir.join("realms"))
        .env("SESAME_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
