//! Input the server must refuse rather than accept in a weakened or mangled form: password
//! policies it does not fully understand, authorization requests too large to store with a login
//! session, and form or query bytes that are not UTF-8 once percent-decoded.

use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{
    API, API_SECRET, Backend, PORTAL, PORTAL_REDIRECT, TestServer, form_by_id, location, pkce_pair,
};
use crate::pages::Page;

on_both_backends!(
    admin_put_of_a_policy_with_unknown_rules_is_400_and_keeps_the_policy,
    token_endpoint_answers_invalid_utf8_with_invalid_request,
    authorization_request_with_invalid_utf8_is_refused,
    login_form_with_invalid_utf8_is_a_400_page,
    account_form_with_invalid_utf8_is_a_400_page_and_changes_nothing,
    authorization_parameters_above_their_limit_are_invalid_request,
    authorization_request_above_16_kib_gets_an_error_page,
);

const USER: &str = "alice";
const EMAIL: &str = "alice@example.test";
const PASSWORD: &str = "Correct-Horse-42";
const STATE: &str = "state-8xKq";
const BAD_REQUEST_MESSAGE: &str = "Requête invalide.";

// ---------------------------------------------------------------------------------------------
// Password policy

async fn admin_put_of_a_policy_with_unknown_rules_is_400_and_keeps_the_policy(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    let http = server.http();
    let realm_url = format!("{}/admin/realms/test", server.base_url);
    let policy_now = || async {
        let response = http
            .get(&realm_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("admin realm request");
        assert_eq!(response.status(), StatusCode::OK);
        let realm: Value = response.json().await.expect("realm JSON");
        realm["passwordPolicy"].clone()
    };
    let before = policy_now().await;

    for (policy, named_part) in [
        ("lenght(12)", "lenght(12)"),
        ("length(abc) and foo", "length(abc)"),
        ("lenght(12) and bogus", "lenght(12)"),
        ("length(12) and upperCase(1)", "upperCase(1)"),
    ] {
        let response = http
            .put(&realm_url)
            .bearer_auth(&token)
            .json(&json!({ "passwordPolicy": policy }))
            .send()
            .await
            .expect("admin realm update");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{policy}: {body}");
        assert_eq!(body["error"], json!("invalid_request"), "{policy}: {body}");
        let message = body["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("{named_part:?}")),
            "{policy}: the message names {named_part}: {body}"
        );
        assert_eq!(policy_now().await, before, "{policy}: policy unchanged");
    }

    // A policy Sésame understands is still accepted.
    let response = http
        .put(&realm_url)
        .bearer_auth(&token)
        .json(&json!({ "passwordPolicy": "length(12) and notUsername" }))
        .send()
        .await
        .expect("admin realm update");
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(policy_now().await, json!("length(12) and notUsername"));
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8

async fn token_endpoint_answers_invalid_utf8_with_invalid_request(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = server.http();
    let post = |body: String| {
        http.post(server.endpoint("token"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let credentials =
        format!("grant_type=client_credentials&client_id={API}&client_secret={API_SECRET}");

    // The same request with valid UTF-8 succeeds, so the refusal below is the encoding's.
    let accepted = post(credentials.clone()).await.expect("token request");
    assert_eq!(accepted.status(), StatusCode::OK);

    for body in [
        format!("{credentials}&scope=%FF%FE"),
        format!("{credentials}&%C3=1"),
    ] {
        let response = post(body.clone()).await.expect("token request");
        let status = response.status();
        let cache_control = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let json: Value = response.json().await.expect("a JSON error body");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert_eq!(json["error"], json!("invalid_request"), "{body}: {json}");
        assert_eq!(cache_control.as_deref(), Some("no-store"), "{body}");
    }
}

async fn authorization_request_with_invalid_utf8_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, challenge) = pkce_pair();
    let query = |state: &str| {
        format!(
            "{}?client_id={PORTAL}&redirect_uri={}&response_type=code&scope=openid\
             &code_challenge={challenge}&code_challenge_method=S256&state={state}",
            server.endpoint("auth"),
            url::form_urlencoded::byte_serialize(PORTAL_REDIRECT.as_bytes()).collect::<String>(),
        )
    };

    let accepted = server.http().get(query(STATE)).send().await.expect("auth");
    assert_eq!(
        accepted.status(),
        StatusCode::FOUND,
        "a valid state is accepted"
    );

    let by_get = server
        .http()
        .get(query("%FF%FE"))
        .send()
        .await
        .expect("auth");
    assert_error_page(by_get, "state=%FF%FE by GET").await;

    let form = query("%FF%FE")
        .split_once('?')
        .map(|(_, form)| form.to_owned())
        .unwrap_or_default();
    let by_post = server
        .http()
        .post(server.endpoint("auth"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("auth");
    assert_error_page(by_post, "state=%FF%FE by POST").await;
}

async fn login_form_with_invalid_utf8_is_a_400_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USER, EMAIL, PASSWORD).await;
    let (_, challenge) = pkce_pair();
    let browser = server.browser();
    let auth_params = [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", STATE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let form = server.open_login(&browser, &auth_params).await;
    let mut body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form.fields)
        .append_pair("username", USER)
        .finish();
    body.push_str("&password=%FF%FEabc");
    let response = browser
        .post(&form.action)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("login form");
    assert_error_page(response, "password with invalid UTF-8").await;
}

async fn account_form_with_invalid_utf8_is_a_400_page_and_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USER, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let console_url = format!("{}/realms/test/account", server.base_url);
    let page = Page::follow(&browser, &console_url).await;
    let page = page
        .submit(&browser, &[("username", USER), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let form = form_by_id(&page.html, "profile-form")
        .unwrap_or_else(|| panic!("no profile form on the console: {}", page.text()));

    let mut body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form.fields)
        .append_pair("lastName", "Martin")
        .append_pair("locale", "fr")
        .finish();
    body.push_str("&firstName=%FF%FEJeanne");
    let response = browser
        .post(&form.action)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("account form");
    assert_error_page(response, "profile with invalid UTF-8").await;

    let after = Page::follow(&browser, &console_url).await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert!(
        !after.html.contains('\u{fffd}') && !after.html.contains("Jeanne"),
        "the profile is unchanged: {}",
        after.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Size limits of an authorization request

async fn authorization_parameters_above_their_limit_are_invalid_request(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, challenge) = pkce_pair();
    let request = |name: &'static str, value: String| {
        let mut params = vec![
            ("client_id", PORTAL.to_owned()),
            ("redirect_uri", PORTAL_REDIRECT.to_owned()),
            ("response_type", "code".to_owned()),
            ("scope", "openid".to_owned()),
            ("state", STATE.to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        params.retain(|(existing, _)| *existing != name);
        params.push((name, value));
        server
            .http()
            .get(server.endpoint("auth"))
            .query(&params)
            .send()
    };

    // At the limit, the request goes on to the login page.
    for (name, limit) in [("state", 2048), ("nonce", 2048), ("login_hint", 512)] {
        let response = request(name, "a".repeat(limit)).await.expect("auth");
        let to = location(&response).unwrap_or_default();
        assert_eq!(response.status(), StatusCode::FOUND, "{name} at its limit");
        assert!(to.contains("/login-actions/authenticate"), "{name}: {to}");
    }

    // One byte above it, the client gets invalid_request back.
    for (name, limit) in [
        ("state", 2048),
        ("nonce", 2048),
        ("scope", 1024),
        ("code_challenge", 512),
        ("login_hint", 512),
        ("ui_locales", 512),
        ("acr_values", 512),
    ] {
        let response = request(name, "a".repeat(limit + 1)).await.expect("auth");
        assert_eq!(response.status(), StatusCode::FOUND, "{name}");
        let to = location(&response).unwrap_or_default();
        let to = url::Url::parse(&to).unwrap_or_else(|err| panic!("{name}: {to}: {err}"));
        assert!(to.as_str().starts_with(PORTAL_REDIRECT), "{name}: {to}");
        let value = |wanted: &str| {
            to.query_pairs()
                .find(|(param, _)| param == wanted)
                .map(|(_, value)| value.into_owned())
        };
        assert_eq!(value("error").as_deref(), Some("invalid_request"), "{name}");
        assert_eq!(value("code"), None, "{name}");
        // The over-long state is not echoed; a short one is.
        let expected_state = (name != "state").then(|| STATE.to_owned());
        assert_eq!(value("state"), expected_state, "{name}");
    }
}

async fn authorization_request_above_16_kib_gets_an_error_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, challenge) = pkce_pair();
    let state = "a".repeat(60 * 1024);
    let params = [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let response = server
        .http()
        .get(server.endpoint("auth"))
        .query(&params)
        .send()
        .await
        .expect("auth");
    assert_error_page(response, "60 KB state by GET").await;

    let padding = "p".repeat(16 * 1024);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params[..4])
        .append_pair("state", STATE)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("unknown", &padding)
        .finish();
    let response = server
        .http()
        .post(server.endpoint("auth"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("auth");
    assert_error_page(response, "form above 16 KiB by POST").await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A 400 error page: no redirect, no login session cookie, the generic message.
async fn assert_error_page(response: Response, case: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
    assert_eq!(location(&response), None, "{case}: no redirect");
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "{case}: no login session"
    );
    let html = response.text().await.expect("page body");
    assert!(
        html.contains(BAD_REQUEST_MESSAGE),
        "{case}: expected {BAD_REQUEST_MESSAGE:?} in {html}"
    );
}
