//! The audit trail: what a login, a token request, a logout and an administrator's change leave
//! behind, read back through `GET /admin/realms/{realm}/events` and `/admin-events` with
//! Keycloak's query parameters and representations.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sesame_actions::totp;

use crate::harness::{
    API, API_SECRET, Backend, PORTAL, PORTAL_REDIRECT, PORTAL_SECRET, TestServer, query_params,
};
use crate::journey::{secret_from_qr, strong_realm, urlencode};
use crate::pages::Page;

on_both_backends!(
    logins_tokens_and_logouts_are_user_events,
    required_actions_and_otp_devices_are_user_events,
    admin_changes_are_admin_events,
    event_queries_refuse_malformed_parameters,
);

const USER: &str = "alice";
const EMAIL: &str = "alice@example.test";
const PASSWORD: &str = "Correct-Horse-42";
const WRONG_PASSWORD: &str = "Wrong-Horse-41";

async fn logins_tokens_and_logouts_are_user_events(backend: Backend) {
    let server = TestServer::start(backend).await;
    let before = server.sesame_provider.clock.now() * 1000;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;

    // Two refusals, then a login and its code exchange.
    let browser = server.browser();
    let refused = server
        .login_response(&browser, &portal_params(), USER, WRONG_PASSWORD)
        .await;
    assert_eq!(refused.status(), StatusCode::OK);
    let refused = server
        .login_response(&browser, &portal_params(), "nobody", WRONG_PASSWORD)
        .await;
    assert_eq!(refused.status(), StatusCode::OK);
    let (code, tokens) = sign_in(&server, &browser).await;
    let (status, body) = redeem(&server, &code).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a code counts once: {body}"
    );

    // A service client's own token, then the user's logout.
    let response = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(API, Some(API_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id_token = tokens["id_token"].as_str().unwrap();
    let logout = browser
        .get(server.endpoint("logout"))
        .query(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);

    let events = list_events(&server, "").await;
    let types: Vec<&str> = events
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "LOGOUT",
            "CLIENT_LOGIN",
            "CODE_TO_TOKEN_ERROR",
            "CODE_TO_TOKEN",
            "LOGIN",
            "LOGIN_ERROR",
            "LOGIN_ERROR"
        ],
        "newest first"
    );
    let [
        logout,
        client_login,
        reused,
        code_to_token,
        login,
        unknown,
        wrong,
    ] = &events[..]
    else {
        unreachable!()
    };
    for event in &events {
        assert_eq!(event["realmId"], "test", "{event}");
        assert_eq!(event["ipAddress"], "127.0.0.1", "{event}");
        let time = event["time"].as_i64().unwrap();
        assert!(time >= before && time <= before + 60_000, "{event}");
        assert!(!event.to_string().contains("Horse"), "no password: {event}");
        assert!(!event.to_string().contains(&code), "no code: {event}");
    }

    assert_eq!(wrong["userId"], json!(user_id), "{wrong}");
    assert_eq!(wrong["clientId"], PORTAL, "{wrong}");
    assert_eq!(wrong["error"], "invalid_user_credentials", "{wrong}");
    assert_eq!(wrong["details"]["username"], USER, "{wrong}");
    assert_eq!(unknown.get("userId"), None, "{unknown}");
    assert_eq!(unknown["error"], "user_not_found", "{unknown}");
    assert_eq!(unknown["details"]["username"], "nobody", "{unknown}");

    let session_id = login["sessionId"].as_str().unwrap();
    assert_eq!(login["userId"], json!(user_id), "{login}");
    assert_eq!(login["clientId"], PORTAL, "{login}");
    assert_eq!(login.get("error"), None, "{login}");
    assert_eq!(login["details"]["redirect_uri"], PORTAL_REDIRECT, "{login}");
    assert_eq!(code_to_token["userId"], json!(user_id), "{code_to_token}");
    assert_eq!(code_to_token["sessionId"], session_id, "{code_to_token}");
    assert_eq!(code_to_token["details"]["grant_type"], "authorization_code");
    assert_eq!(reused["clientId"], PORTAL, "{reused}");
    assert_eq!(reused["error"], "invalid_grant", "{reused}");
    assert_eq!(reused["details"]["reason"], "code already used", "{reused}");
    assert_eq!(client_login["clientId"], API, "{client_login}");
    assert_eq!(client_login.get("userId"), None, "{client_login}");
    assert_eq!(logout["userId"], json!(user_id), "{logout}");
    assert_eq!(logout["sessionId"], session_id, "{logout}");

    // Keycloak's filters, each alone and together, and paging.
    let only = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|event| event["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let found = list_events(&server, "type=LOGIN_ERROR&type=LOGOUT").await;
    assert_eq!(only(&found), ["LOGOUT", "LOGIN_ERROR", "LOGIN_ERROR"]);
    let found = list_events(&server, &format!("user={user_id}")).await;
    assert_eq!(
        only(&found),
        ["LOGOUT", "CODE_TO_TOKEN", "LOGIN", "LOGIN_ERROR"]
    );
    let found = list_events(&server, &format!("client={API}")).await;
    assert_eq!(only(&found), ["CLIENT_LOGIN"]);
    let found = list_events(&server, &format!("user={user_id}&type=LOGIN")).await;
    assert_eq!(found, std::slice::from_ref(login));
    let found = list_events(&server, "first=1&max=2").await;
    assert_eq!(only(&found), ["CLIENT_LOGIN", "CODE_TO_TOKEN_ERROR"]);
    let found = list_events(&server, "max=0").await;
    assert_eq!(found, Vec::<Value>::new());

    // Dates: milliseconds, or whole days.
    let now = server.sesame_provider.clock.now() * 1000;
    assert_eq!(
        list_events(&server, &format!("dateFrom={before}"))
            .await
            .len(),
        7
    );
    let found = list_events(&server, &format!("dateFrom={}", now + 2000)).await;
    assert_eq!(found, Vec::<Value>::new());
    let found = list_events(&server, &format!("dateTo={}", before - 2000)).await;
    assert_eq!(found, Vec::<Value>::new());
    let found = list_events(&server, "dateFrom=2000-01-01&dateTo=2000-12-31").await;
    assert_eq!(found, Vec::<Value>::new());
    let found = list_events(&server, "dateFrom=2000-01-01&dateTo=9999-12-31").await;
    assert_eq!(found.len(), 7);

    // User events are not admin events, and the other way round.
    let admin_events = admin_json(&server, "admin-events").await;
    let admin_events = admin_events.as_array().unwrap();
    assert_eq!(
        admin_events.len(),
        1,
        "the user's creation: {admin_events:?}"
    );
    assert!(admin_events[0].get("type").is_none());
}

async fn required_actions_and_otp_devices_are_user_events(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    strong_realm(&server, json!({})).await;
    let token = server.admin_token().await;
    let actions = json!({ "requiredActions": ["UPDATE_PASSWORD", "UPDATE_PROFILE"] });
    let response = server
        .http()
        .put(format!(
            "{}/admin/realms/test/users/{user_id}",
            server.base_url
        ))
        .bearer_auth(&token)
        .json(&actions)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // The first login enrols a device, changes the password and completes the profile.
    let browser = server.browser();
    let page = password_step(&server, &browser, PASSWORD).await;
    let secret = secret_from_qr(&page);
    let code = totp::totp(&secret, server.sesame_provider.clock.now(), 30, 6);
    let page = page
        .submit(
            &browser,
            &[("totp", code.as_str()), ("userLabel", "Téléphone")],
        )
        .await;
    let new_password = "Battery-Staple-Horse-9";
    let page = page
        .submit(
            &browser,
            &[
                ("password-new", new_password),
                ("password-confirm", new_password),
            ],
        )
        .await;
    let redirect = page
        .submit_expecting_redirect(&browser, &[("firstName", "Alice"), ("lastName", "Martin")])
        .await;
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");

    // The second login: a wrong code, then the right one.
    server.advance_clock(60);
    let browser = server.browser();
    let page = password_step(&server, &browser, new_password).await;
    assert!(
        page.text().contains("Code à usage unique"),
        "{}",
        page.text()
    );
    let code = totp::totp(&secret, server.sesame_provider.clock.now(), 30, 6);
    let wrong_code = format!(
        "{:06}",
        (code.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let page = page.submit(&browser, &[("otp", wrong_code.as_str())]).await;
    let redirect = page
        .submit_expecting_redirect(&browser, &[("otp", code.as_str())])
        .await;
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");

    let found = list_events(&server, &format!("user={user_id}")).await;
    let types: Vec<&str> = found
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "LOGIN",
            "LOGIN_ERROR",
            "LOGIN",
            "UPDATE_PROFILE",
            "UPDATE_PASSWORD",
            "UPDATE_TOTP"
        ]
    );
    let device_id = found[5]["details"]["credential_id"].as_str().unwrap();
    assert_eq!(
        found[5]["details"]["otp_device"], "Téléphone",
        "{}",
        found[5]
    );
    assert_eq!(
        found[1]["error"], "invalid_user_credentials",
        "{}",
        found[1]
    );
    assert_eq!(found[1]["details"]["auth_step"], "otp", "{}", found[1]);
    assert_eq!(
        found[1]["details"]["credential_id"], device_id,
        "{}",
        found[1]
    );
    assert_eq!(
        found[0]["details"]["otp_device"], "Téléphone",
        "{}",
        found[0]
    );
    assert_eq!(
        found[0]["details"]["credential_id"], device_id,
        "{}",
        found[0]
    );
    assert_eq!(found[0]["details"]["amr"], "pwd otp", "{}", found[0]);
    for event in &found {
        assert!(!event.to_string().contains("Horse"), "no password: {event}");
        let details = event["details"].as_object().unwrap();
        for value in details.values() {
            let value = value.as_str().unwrap();
            assert!(value != code && value != wrong_code, "no code: {event}");
        }
    }
}

async fn admin_changes_are_admin_events(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let user_id = server.create_user(USER, EMAIL, PASSWORD).await;
    let base = format!("{}/admin/realms/test", server.base_url);
    let http = server.http();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}/{path}").trim_end_matches('/'))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let response = call(
        Method::PUT,
        &format!("users/{user_id}"),
        Some(json!({ "firstName": "Alice" })),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let reset = json!({ "type": "password", "value": "Another-Horse-43", "temporary": true });
    let path = format!("users/{user_id}/reset-password");
    let response = call(Method::PUT, &path, Some(reset)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let path = format!("users/{user_id}/execute-actions-email");
    let response = call(Method::PUT, &path, Some(json!(["UPDATE_PASSWORD"])))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let path = format!("users/{user_id}/logout");
    let response = call(Method::POST, &path, None).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let client = json!({ "clientId": "new-app", "redirectUris": ["https://new.test/cb"] });
    let response = call(Method::POST, "clients", Some(client)).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let client_id = location.rsplit('/').next().unwrap().to_owned();
    let path = format!("clients/{client_id}/client-secret");
    let response = call(Method::POST, &path, None).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let secret = response.json::<Value>().await.unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("clients/{client_id}");
    let response = call(Method::PUT, &path, Some(json!({ "name": "New" })))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = call(Method::DELETE, &path, None).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = call(Method::PUT, "", Some(json!({ "displayName": "Test 2" })))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = call(Method::DELETE, &format!("users/{user_id}"), None)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // A refused change records nothing.
    let path = format!("users/{user_id}");
    let response = call(Method::DELETE, &path, None).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let found = admin_json(&server, "admin-events").await;
    let found = found.as_array().unwrap();
    let summary: Vec<(&str, &str, String)> = found
        .iter()
        .map(|event| {
            (
                event["operationType"].as_str().unwrap(),
                event["resourceType"].as_str().unwrap(),
                event["resourcePath"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("DELETE", "USER", format!("users/{user_id}")),
        ("UPDATE", "REALM", String::new()),
        ("DELETE", "CLIENT", format!("clients/{client_id}")),
        ("UPDATE", "CLIENT", format!("clients/{client_id}")),
        (
            "ACTION",
            "CLIENT",
            format!("clients/{client_id}/client-secret"),
        ),
        ("CREATE", "CLIENT", format!("clients/{client_id}")),
        ("ACTION", "USER", format!("users/{user_id}/logout")),
        (
            "ACTION",
            "USER",
            format!("users/{user_id}/execute-actions-email"),
        ),
        ("ACTION", "USER", format!("users/{user_id}/reset-password")),
        ("UPDATE", "USER", format!("users/{user_id}")),
        ("CREATE", "USER", format!("users/{user_id}")),
    ];
    assert_eq!(summary, expected, "newest first");
    for event in found {
        assert_eq!(event["realmId"], "test", "{event}");
        assert_eq!(
            event["authDetails"],
            json!({ "realmId": "master", "clientId": "bootstrap-admin", "ipAddress": "127.0.0.1" }),
            "{event}"
        );
        assert!(!event.to_string().contains("Horse"), "no password: {event}");
        assert!(!event.to_string().contains(&secret), "no secret: {event}");
    }

    // Keycloak's filters.
    let count = |query: &'static str| {
        let server = &server;
        async move {
            admin_json(server, &format!("admin-events?{query}"))
                .await
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count("operationTypes=CREATE").await, 2);
    assert_eq!(
        count("operationTypes=CREATE&operationTypes=DELETE").await,
        4
    );
    assert_eq!(count("resourceTypes=CLIENT").await, 4);
    assert_eq!(count("resourceTypes=REALM&operationTypes=UPDATE").await, 1);
    assert_eq!(count("authClient=bootstrap-admin&first=10&max=5").await, 1);
    assert_eq!(count("authClient=someone-else").await, 0);
    let path = format!("resourcePath=users/{user_id}*");
    let found = admin_json(&server, &format!("admin-events?{path}")).await;
    assert_eq!(found.as_array().unwrap().len(), 6, "{found}");

    // Admin changes are not user events.
    let users = list_events(&server, "").await;
    assert_eq!(users, Vec::<Value>::new());
}

async fn event_queries_refuse_malformed_parameters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    for query in [
        "events?type=NOT_A_TYPE",
        "events?dateFrom=yesterday",
        "events?dateTo=2026-02-30",
        "events?first=-1",
        "events?max=many",
        "admin-events?operationTypes=DESTROY",
        "admin-events?resourceTypes=PLANET",
        "admin-events?dateFrom=2026-13-01",
        // The user search answers malformed paging in the admin API's shape too.
        "users?first=abc",
        "users/count?exact=maybe",
    ] {
        let response = server
            .http()
            .get(format!("{}/admin/realms/test/{query}", server.base_url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "invalid_request", "{query}: {body}");
        assert!(body["errorMessage"].as_str().unwrap().len() > 5, "{body}");
    }
    for path in ["events", "admin-events"] {
        let url = format!("{}/admin/realms/test/{path}", server.base_url);
        let response = server.http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let url = format!("{}/admin/realms/nowhere/{path}", server.base_url);
        let response = server
            .http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// `GET /admin/realms/test/events?{query}` with the administrator's token.
async fn list_events(server: &TestServer, query: &str) -> Vec<Value> {
    let found = admin_json(server, &format!("events?{query}")).await;
    found.as_array().unwrap().clone()
}

async fn admin_json(server: &TestServer, path: &str) -> Value {
    let response = server
        .http()
        .get(format!("{}/admin/realms/test/{path}", server.base_url))
        .bearer_auth(server.admin_token().await)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn portal_params() -> [(&'static str, &'static str); 5] {
    [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "audit"),
    ]
}

/// Opens the portal's login page and submits `alice`'s username with `password`.
async fn password_step(server: &TestServer, browser: &reqwest::Client, password: &str) -> Page {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(portal_params())
        .finish();
    let page = Page::follow(browser, &format!("{}?{query}", server.endpoint("auth"))).await;
    page.submit(browser, &[("username", USER), ("password", password)])
        .await
}

/// Signs `alice` in at the portal and redeems the code; returns the token response.
async fn sign_in(server: &TestServer, browser: &reqwest::Client) -> (String, Value) {
    let redirect = server
        .login(browser, &portal_params(), USER, PASSWORD)
        .await;
    let code = query_params(&redirect).remove("code").unwrap();
    let (status, body) = redeem(server, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (code, body)
}

/// Exchanges an authorization code at the token endpoint as the portal.
async fn redeem(server: &TestServer, code: &str) -> (StatusCode, Value) {
    let response = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(PORTAL, Some(urlencode(PORTAL_SECRET)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}
