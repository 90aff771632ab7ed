//! The admin API's credential and session endpoints, as Keycloak admin scripts call them:
//! listing and deleting credentials (with the last-device rule), resetting a password,
//! listing and ending sessions, counting users; and every refusal, with its status and
//! `error` code.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::collections::BTreeSet;

use reqwest::{Method, Response, StatusCode, header};
use serde_json::{Value, json};
use sesame_actions::totp;
use sesame_store::CredentialKind;

use crate::harness::{Backend, PORTAL, PORTAL_REDIRECT, PORTAL_SECRET, TestServer, query_params};
use crate::journey::{secret_from_qr, strong_realm, urlencode};
use crate::pages::Page;

on_both_backends!(
    new_endpoints_refuse_missing_and_non_admin_tokens,
    credentials_are_listed_without_secrets_and_unknown_ones_are_404,
    deleting_the_last_device_where_otp_is_required_makes_configure_totp_pending,
    deleting_the_last_device_where_otp_is_optional_adds_no_action,
    reset_password_applies_the_policy_and_the_new_password_signs_in,
    sessions_are_listed_after_login_and_ended_one_by_one_or_all,
    user_count_follows_the_search_of_the_list,
    a_username_may_not_be_another_users_address,
);

const USER: &str = "alice";
const EMAIL: &str = "alice@example.test";
const PASSWORD: &str = "Correct-Horse-42";
const UNKNOWN_ID: &str = "00000000-0000-0000-0000-000000000000";
const ENROL_PAGE: &str = "Configuration de l'authentification par mobile";
const CODE_PAGE: &str = "Code à usage unique";

async fn new_endpoints_refuse_missing_and_non_admin_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    let user_tokens = sign_in(&server, &server.browser(), PASSWORD).await;
    let user_token = string_field(&user_tokens, "access_token");
    let reset = json!({ "type": "password", "value": "Another-Horse-43", "temporary": false });
    let calls = [
        (Method::GET, format!("users/{user_id}/credentials"), None),
        (
            Method::DELETE,
            format!("users/{user_id}/credentials/{UNKNOWN_ID}"),
            None,
        ),
        (
            Method::PUT,
            format!("users/{user_id}/reset-password"),
            Some(&reset),
        ),
        (Method::GET, format!("users/{user_id}/sessions"), None),
        (Method::POST, format!("users/{user_id}/logout"), None),
        (Method::DELETE, format!("sessions/{UNKNOWN_ID}"), None),
        (Method::GET, "users/count".to_owned(), None),
    ];

    for (method, path, body) in &calls {
        let case = format!("{method} {path}");
        for token in [None, Some("garbage")] {
            let response = admin_call(&server, method.clone(), path, token, *body).await;
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            assert!(
                challenge.is_some_and(|value| value.starts_with("Bearer")),
                "{case} with {token:?}"
            );
            assert_admin_error(response, StatusCode::UNAUTHORIZED, "unauthorized", &case).await;
        }
        let response = admin_call(&server, method.clone(), path, Some(&user_token), *body).await;
        assert_admin_error(response, StatusCode::FORBIDDEN, "forbidden", &case).await;
    }

    // None of the refused calls changed anything.
    let sessions = admin_json(&server, &format!("users/{user_id}/sessions")).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let response = refresh(&server, &string_field(&user_tokens, "refresh_token")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn credentials_are_listed_without_secrets_and_unknown_ones_are_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let before = server.sesame_provider.clock.now();
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    let bob_id = server
        .create_user("bob", "bob@example.test", "Battery-Staple-7")
        .await;

    let listed = admin_json(&server, &format!("users/{user_id}/credentials")).await;
    let credentials = listed.as_array().unwrap();
    assert_eq!(credentials.len(), 1, "{listed}");
    let password = &credentials[0];
    assert_eq!(keys(password), ["createdDate", "id", "type"], "{password}");
    assert_eq!(password["type"], "password");
    let created = password["createdDate"].as_i64().unwrap();
    assert!(
        created >= before * 1000 && created <= (before + 5) * 1000,
        "createdDate in milliseconds: {created}"
    );
    let hash = stored_secret(&server, &user_id, CredentialKind::Password).await;
    assert!(hash.starts_with("$argon2id$"));
    assert!(!listed.to_string().contains(&hash), "{listed}");

    let bob_password = admin_json(&server, &format!("users/{bob_id}/credentials")).await;
    let bob_credential = bob_password[0]["id"].as_str().unwrap().to_owned();
    let alice_credential = password["id"].as_str().unwrap().to_owned();
    let refusals = [
        (Method::GET, format!("users/{UNKNOWN_ID}/credentials")),
        (
            Method::DELETE,
            format!("users/{UNKNOWN_ID}/credentials/{alice_credential}"),
        ),
        (
            Method::DELETE,
            format!("users/{user_id}/credentials/{UNKNOWN_ID}"),
        ),
        // Another user's credential is unknown under this user.
        (
            Method::DELETE,
            format!("users/{user_id}/credentials/{bob_credential}"),
        ),
    ];
    let token = server.admin_token().await;
    for (method, path) in refusals {
        let case = format!("{method} {path}");
        let response = admin_call(&server, method, &path, Some(&token), None).await;
        assert_admin_error(response, StatusCode::NOT_FOUND, "not_found", &case).await;
    }
    let bob_listed = admin_json(&server, &format!("users/{bob_id}/credentials")).await;
    assert_eq!(bob_listed, bob_password, "bob's password is still there");

    // Deleting the password is allowed; the user then has no credential left.
    let path = format!("users/{user_id}/credentials/{alice_credential}");
    let response = admin_call(&server, Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let listed = admin_json(&server, &format!("users/{user_id}/credentials")).await;
    assert_eq!(listed, json!([]));
}

async fn deleting_the_last_device_where_otp_is_required_makes_configure_totp_pending(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    strong_realm(&server, json!({})).await;
    let first_secret = enrol_device(&server, "Téléphone", None).await;
    server.advance_clock(30);
    set_required_actions(&server, &user_id, &["CONFIGURE_TOTP"]).await;
    let second_secret = enrol_device(&server, "Tablette", Some(&first_secret)).await;
    assert_ne!(first_secret, second_secret);

    // Both devices, after the password, named, dated, without their secrets.
    let listed = admin_json(&server, &format!("users/{user_id}/credentials")).await;
    let kinds: Vec<(&str, Option<&str>)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|credential| {
            (
                credential["type"].as_str().unwrap(),
                credential["userLabel"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("password", None),
            ("otp", Some("Téléphone")),
            ("otp", Some("Tablette")),
        ]
    );
    for device in &listed.as_array().unwrap()[1..] {
        assert_eq!(
            keys(device),
            ["createdDate", "id", "type", "userLabel"],
            "{device}"
        );
    }
    let sealed = stored_secret(&server, &user_id, CredentialKind::Otp).await;
    assert!(!listed.to_string().contains(&sealed), "{listed}");
    assert_eq!(required_actions(&server, &user_id).await, json!([]));

    // One device left: nothing pending.
    let first_id = listed[1]["id"].as_str().unwrap().to_owned();
    let second_id = listed[2]["id"].as_str().unwrap().to_owned();
    delete_credential(&server, &user_id, &first_id, StatusCode::NO_CONTENT).await;
    assert_eq!(required_actions(&server, &user_id).await, json!([]));
    delete_credential(&server, &user_id, &first_id, StatusCode::NOT_FOUND).await;

    // The last device gone: configure-TOTP is pending, and the next login asks for a device.
    delete_credential(&server, &user_id, &second_id, StatusCode::NO_CONTENT).await;
    assert_eq!(
        required_actions(&server, &user_id).await,
        json!(["CONFIGURE_TOTP"])
    );
    let listed = admin_json(&server, &format!("users/{user_id}/credentials")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let browser = server.browser();
    let page = password_step(&server, &browser, PASSWORD).await;
    assert!(page.text().contains(ENROL_PAGE), "{}", page.text());
}

async fn deleting_the_last_device_where_otp_is_optional_adds_no_action(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    strong_realm(&server, json!({})).await;
    enrol_device(&server, "Téléphone", None).await;
    put_realm(&server, json!({ "otpRequired": false })).await;

    let listed = admin_json(&server, &format!("users/{user_id}/credentials")).await;
    let device = listed[1]["id"].as_str().unwrap().to_owned();
    delete_credential(&server, &user_id, &device, StatusCode::NO_CONTENT).await;

    assert_eq!(required_actions(&server, &user_id).await, json!([]));
    let redirect = server
        .login(
            &server.browser(),
            &portal_params("optional"),
            USER,
            PASSWORD,
        )
        .await;
    assert!(
        redirect.as_str().starts_with(PORTAL_REDIRECT),
        "the password alone signs in: {redirect}"
    );
}

async fn reset_password_applies_the_policy_and_the_new_password_signs_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    let path = format!("users/{user_id}/reset-password");
    let token = server.admin_token().await;

    // Refusals: each a 400 naming what is wrong, or a 404, and the password unchanged.
    let refusals = [
        ("{\"type\": \"password\", ", "malformed JSON"),
        (
            r#"{"type":"password","value":"court"}"#,
            "invalidPasswordMinLength",
        ),
        (
            r#"{"type":"password","value":"alice"}"#,
            "invalidPasswordMinLength",
        ),
        (r#"{"type":"password","value":"   "}"#, "empty"),
        (r#"{"type":"password"}"#, "required"),
        (
            r#"{"type":"otp","value":"Another-Horse-43"}"#,
            "only a password",
        ),
    ];
    for (body, reason) in refusals {
        let response = server
            .http()
            .put(admin_url(&server, &path))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let error =
            assert_admin_error(response, StatusCode::BAD_REQUEST, "invalid_request", body).await;
        let message = error["errorMessage"].as_str().unwrap();
        assert!(message.contains(reason), "{body}: {message}");
    }
    let unknown = format!("users/{UNKNOWN_ID}/reset-password");
    let body = json!({ "type": "password", "value": "Another-Horse-43" });
    let response = admin_call(&server, Method::PUT, &unknown, Some(&token), Some(&body)).await;
    assert_admin_error(response, StatusCode::NOT_FOUND, "not_found", "unknown user").await;
    server
        .login(&server.browser(), &portal_params("same"), USER, PASSWORD)
        .await;

    // A permanent password: the old one fails, the new one signs in.
    let new_password = "Another-Horse-43";
    reset_password(&server, &user_id, new_password, false).await;
    assert_eq!(required_actions(&server, &user_id).await, json!([]));
    let page = password_step(&server, &server.browser(), PASSWORD).await;
    assert!(
        page.text()
            .contains("Nom d'utilisateur ou mot de passe invalide."),
        "{}",
        page.text()
    );
    server
        .login(&server.browser(), &portal_params("new"), USER, new_password)
        .await;

    // A temporary one: the user must choose another at the next login.
    let temporary = "Temporary-Horse-44";
    reset_password(&server, &user_id, temporary, true).await;
    assert_eq!(
        required_actions(&server, &user_id).await,
        json!(["UPDATE_PASSWORD"])
    );
    let page = password_step(&server, &server.browser(), temporary).await;
    assert!(
        page.text().contains("Mise à jour du mot de passe"),
        "{}",
        page.text()
    );

    // A permanent one again clears the pending change.
    reset_password(&server, &user_id, new_password, false).await;
    assert_eq!(required_actions(&server, &user_id).await, json!([]));
    server
        .login(
            &server.browser(),
            &portal_params("again"),
            USER,
            new_password,
        )
        .await;
}

async fn sessions_are_listed_after_login_and_ended_one_by_one_or_all(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    let path = format!("users/{user_id}/sessions");
    assert_eq!(admin_json(&server, &path).await, json!([]));
    let start = server.sesame_provider.clock.now();
    let first = sign_in(&server, &server.browser(), PASSWORD).await;
    server.advance_clock(5);
    let second = sign_in(&server, &server.browser(), PASSWORD).await;

    // Newest first, in Keycloak's representation, with the client signed in through each.
    let listed = admin_json(&server, &path).await;
    let sessions = listed.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    let portal_id = client_internal_id(&server, PORTAL).await;
    for session in sessions {
        assert_eq!(
            keys(session),
            [
                "clients",
                "id",
                "ipAddress",
                "lastAccess",
                "rememberMe",
                "start",
                "userId",
                "username"
            ],
            "{session}"
        );
        assert_eq!(session["username"], USER);
        assert_eq!(session["userId"], user_id.as_str());
        assert_eq!(session["ipAddress"], "127.0.0.1");
        assert_eq!(session["clients"], json!({ portal_id.as_str(): PORTAL }));
        let started = session["start"].as_i64().unwrap();
        assert!(
            started >= start * 1000 && started <= (start + 10) * 1000,
            "start in milliseconds: {started}"
        );
        assert!(session["lastAccess"].as_i64().unwrap() >= started);
    }
    assert!(sessions[0]["start"].as_i64() > sessions[1]["start"].as_i64());
    let second_id = sessions[0]["id"].as_str().unwrap().to_owned();
    let first_id = sessions[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sid(&first),
        first_id,
        "the sid of the ID token names the session"
    );

    // One session ended: its refresh token fails, the other's still works.
    let token = server.admin_token().await;
    let one = format!("sessions/{first_id}");
    let response = admin_call(&server, Method::DELETE, &one, Some(&token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let listed = admin_json(&server, &path).await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "only the second is left: {listed}"
    );
    assert_eq!(listed[0]["id"], second_id.as_str());
    assert_invalid_grant(refresh(&server, &string_field(&first, "refresh_token")).await).await;
    let response = refresh(&server, &string_field(&second, "refresh_token")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = response.json::<Value>().await.unwrap();

    // Ended, unknown, or of another realm: 404.
    let master_path = format!(
        "{}/admin/realms/master/sessions/{second_id}",
        server.base_url
    );
    let response = server
        .http()
        .delete(master_path)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_admin_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "another realm",
    )
    .await;
    for path in [
        one,
        format!("sessions/{UNKNOWN_ID}"),
        format!("users/{UNKNOWN_ID}/sessions"),
        format!("users/{UNKNOWN_ID}/logout"),
    ] {
        let method = if path.ends_with("/logout") {
            Method::POST
        } else if path.ends_with("/sessions") {
            Method::GET
        } else {
            Method::DELETE
        };
        let case = format!("{method} {path}");
        let response = admin_call(&server, method, &path, Some(&token), None).await;
        assert_admin_error(response, StatusCode::NOT_FOUND, "not_found", &case).await;
    }
    let listed = admin_json(&server, &path).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // Logout ends every session: none listed, the refresh token fails.
    let logout = format!("users/{user_id}/logout");
    let response = admin_call(&server, Method::POST, &logout, Some(&token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(admin_json(&server, &path).await, json!([]));
    assert_invalid_grant(refresh(&server, &string_field(&second, "refresh_token")).await).await;
    let response = admin_call(&server, Method::POST, &logout, Some(&token), None).await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "nothing left to end"
    );
}

async fn user_count_follows_the_search_of_the_list(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let users = [
        ("alice", "alice@example.test", "Alice", "Martin"),
        ("alicia", "alicia@other.test", "Alicia", "Durand"),
        ("bob", "bob@example.test", "Robert", "Martinez"),
        ("under_score", "u100%@example.test", "Jean", "Dupont"),
    ];
    for (username, email, first_name, last_name) in users {
        let user = json!({
            "username": username,
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "enabled": true,
        });
        let response = admin_call(&server, Method::POST, "users", Some(&token), Some(&user)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    let check = async |query: &str, expected: &[&str]| {
        let response = server
            .http()
            .get(admin_url(&server, &format!("users/count?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body, expected.len().to_string(), "count for {query:?}");
        let listed = admin_json(&server, &format!("users?{query}")).await;
        let usernames: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["username"].as_str().unwrap())
            .collect();
        assert_eq!(usernames, expected, "list for {query:?}");
    };
    check("", &["alice", "alicia", "bob", "under_score"]).await;
    check("search=ali", &["alice", "alicia"]).await;
    check("search=MARTIN", &["alice", "bob"]).await;
    check("search=example.test", &["alice", "bob", "under_score"]).await;
    check("search=%25", &["under_score"]).await;
    check("search=_", &["under_score"]).await;
    check("search=nobody", &[]).await;
    check("username=ali", &["alice", "alicia"]).await;
    check("username=ali&exact=true", &[]).await;
    check("username=Alice&exact=true", &["alice"]).await;
    check("email=alice@example.test", &["alice"]).await;
    check("email=example.test", &[]).await;
    check(
        "email=example.test&exact=false",
        &["alice", "bob", "under_score"],
    )
    .await;
    check("firstName=ali", &["alice", "alicia"]).await;
    check("lastName=martin&exact=true", &["alice"]).await;
    check("search=ali&lastName=durand", &["alicia"]).await;
    // Paging applies to the list, never to the count.
    let page = admin_json(&server, "users?first=1&max=2").await;
    let usernames: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap())
        .collect();
    assert_eq!(usernames, ["alicia", "bob"]);
    let response = server
        .http()
        .get(admin_url(&server, "users/count?first=1&max=2"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!(4));
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn admin_url(server: &TestServer, path: &str) -> String {
    format!("{}/admin/realms/test/{path}", server.base_url)
}

/// An admin call on the `test` realm with an optional bearer token and JSON body.
async fn admin_call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut request = server.http().request(method, admin_url(server, path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// The JSON of a 200 answer to a GET with the administrator's token.
async fn admin_json(server: &TestServer, path: &str) -> Value {
    let token = server.admin_token().await;
    let response = admin_call(server, Method::GET, path, Some(&token), None).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// An admin API error: status and the stable `error` code of its JSON body. Returns the body.
async fn assert_admin_error(
    response: Response,
    status: StatusCode,
    error: &str,
    case: &str,
) -> Value {
    let actual_status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(
        actual_status, status,
        "{case}: expected {error}, got {body}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], json!(error), "{case}: {body}");
    body
}

async fn put_realm(server: &TestServer, settings: Value) {
    let response = server
        .http()
        .put(format!("{}/admin/realms/test", server.base_url))
        .bearer_auth(server.admin_token().await)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn set_required_actions(server: &TestServer, user_id: &str, actions: &[&str]) {
    let token = server.admin_token().await;
    let body = json!({ "requiredActions": actions });
    let path = format!("users/{user_id}");
    let response = admin_call(server, Method::PUT, &path, Some(&token), Some(&body)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn required_actions(server: &TestServer, user_id: &str) -> Value {
    admin_json(server, &format!("users/{user_id}")).await["requiredActions"].clone()
}

async fn delete_credential(server: &TestServer, user_id: &str, id: &str, expected: StatusCode) {
    let token = server.admin_token().await;
    let path = format!("users/{user_id}/credentials/{id}");
    let response = admin_call(server, Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(response.status(), expected, "DELETE {path}");
}

async fn reset_password(server: &TestServer, user_id: &str, password: &str, temporary: bool) {
    let token = server.admin_token().await;
    let body = json!({ "type": "password", "value": password, "temporary": temporary });
    let path = format!("users/{user_id}/reset-password");
    let response = admin_call(server, Method::PUT, &path, Some(&token), Some(&body)).await;
    let status = response.status();
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "{}",
        response.text().await.unwrap()
    );
}

async fn client_internal_id(server: &TestServer, client_id: &str) -> String {
    let clients = admin_json(server, &format!("clients?clientId={client_id}")).await;
    clients[0]["id"].as_str().unwrap().to_owned()
}

/// The stored secret of the user's newest credential of `kind`: a hash or a sealed OTP key.
async fn stored_secret(server: &TestServer, user_id: &str, kind: CredentialKind) -> String {
    let user_id = user_id.to_owned();
    let credentials = server
        .sesame_provider
        .db
        .run(move |conn| sesame_store::list_credentials(conn, &user_id, kind))
        .await
        .unwrap();
    credentials.last().unwrap().secret.clone()
}

/// The names of a JSON object's fields, sorted.
fn keys(object: &Value) -> Vec<&str> {
    let names: BTreeSet<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.into_iter().collect()
}

fn string_field(document: &Value, name: &str) -> String {
    document[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {document}"))
        .to_owned()
}

/// The portal's authorization request parameters (the portal does not require PKCE).
fn portal_params(state: &str) -> [(&str, &str); 5] {
    [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", state),
    ]
}

/// Opens the portal's login page in `browser` and submits `alice`'s username with `password`;
/// returns the next page.
async fn password_step(server: &TestServer, browser: &reqwest::Client, password: &str) -> Page {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(portal_params("admin-api"))
        .finish();
    let page = Page::follow(browser, &format!("{}?{query}", server.endpoint("auth"))).await;
    assert!(
        page.text().contains("Connectez-vous à votre compte"),
        "{}",
        page.text()
    );
    page.submit(browser, &[("username", USER), ("password", password)])
        .await
}

/// Signs `alice` in with her password, then enrols a device named `device` on the
/// configure-TOTP page; with `existing`, types a code of that device first. Returns the new
/// device's secret.
async fn enrol_device(server: &TestServer, device: &str, existing: Option<&[u8]>) -> Vec<u8> {
    let browser = server.browser();
    let mut page = password_step(server, &browser, PASSWORD).await;
    if let Some(existing) = existing {
        assert!(page.text().contains(CODE_PAGE), "{}", page.text());
        let code = totp::totp(existing, server.sesame_provider.clock.now(), 30, 6);
        page = page.submit(&browser, &[("otp", code.as_str())]).await;
    }
    assert!(page.text().contains(ENROL_PAGE), "{}", page.text());
    let secret = secret_from_qr(&page);
    let code = totp::totp(&secret, server.sesame_provider.clock.now(), 30, 6);
    let redirect = page
        .submit_expecting_redirect(&browser, &[("totp", code.as_str()), ("userLabel", device)])
        .await;
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");
    secret
}

/// Signs `alice` in at the portal in `browser` and redeems the code; returns the token
/// response.
async fn sign_in(server: &TestServer, browser: &reqwest::Client, password: &str) -> Value {
    let redirect = server
        .login(browser, &portal_params("admin-api"), USER, password)
        .await;
    let code = query_params(&redirect)
        .remove("code")
        .unwrap_or_else(|| panic!("a code in {redirect}"));
    let response = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(PORTAL, Some(urlencode(PORTAL_SECRET)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn refresh(server: &TestServer, refresh_token: &str) -> Response {
    server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(PORTAL, Some(urlencode(PORTAL_SECRET)))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

async fn assert_invalid_grant(response: Response) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

/// The `sid` claim of the ID token of a token response.
fn sid(tokens: &Value) -> String {
    let (_, claims) = crate::harness::decode_jwt(&string_field(tokens, "id_token"));
    string_field(&claims, "sid")
}

/// Sign-in accepts a username or an address: one user's username may never be another's
/// address, through creation or update.
async fn a_username_may_not_be_another_users_address(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USER, EMAIL, PASSWORD).await;
    let other = server
        .create_user("bob", "bob@example.test", PASSWORD)
        .await;
    let token = server.admin_token().await;

    let update = json!({ "username": EMAIL });
    let response = admin_call(
        &server,
        Method::PUT,
        &format!("users/{other}"),
        Some(&token),
        Some(&update),
    )
    .await;
    assert_admin_error(
        response,
        StatusCode::CONFLICT,
        "conflict",
        "username = address",
    )
    .await;
    // A username shaped like an address, which another user's address may not take.
    server
        .create_user("dave@example.test", "dave.work@example.test", PASSWORD)
        .await;
    let update = json!({ "email": "dave@example.test" });
    let response = admin_call(
        &server,
        Method::PUT,
        &format!("users/{other}"),
        Some(&token),
        Some(&update),
    )
    .await;
    assert_admin_error(
        response,
        StatusCode::CONFLICT,
        "conflict",
        "address = username",
    )
    .await;
    let created = json!({ "username": "carol", "email": "dave@example.test", "enabled": true });
    let response = admin_call(&server, Method::POST, "users", Some(&token), Some(&created)).await;
    assert_admin_error(
        response,
        StatusCode::CONFLICT,
        "conflict",
        "new address = username",
    )
    .await;

    let bob = admin_json(&server, &format!("users/{other}")).await;
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["email"], "bob@example.test");
}
