//! The happy paths of OpenID Connect, as relying parties and browsers walk them: discovery,
//! the code flow with PKCE, refresh, introspection and revocation, client credentials, the
//! form-post response mode, single sign-on, logout, a native public client, and the login page.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;

use data_encoding::BASE64;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreErrorResponseType, CoreRevocableToken, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RequestTokenError, Scope, StandardErrorResponse, TokenIntrospectionResponse,
    TokenResponse,
};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::{Value, json};
use url::Url;

use sesame_domain::SigningAlgorithm;

use crate::harness::{
    API, API_SECRET, Backend, PORTAL, PORTAL_LOGOUT_REDIRECT, PORTAL_REDIRECT, PORTAL_SECRET,
    RelyingParty, SPA, TestServer, decode_jwt, error_chain, form_by_id, forms, location,
    login_form, query_params, unescape_html,
};

on_both_backends!(
    discovery_and_jwks_describe_the_realm,
    code_flow_with_pkce_issues_verified_tokens,
    refresh_rotates_tokens_and_reuse_revokes_the_family,
    introspection_follows_revocation,
    client_credentials_issue_an_access_token_only,
    form_encoded_basic_credentials_are_accepted,
    form_post_answers_with_a_self_posting_form,
    browser_session_gives_single_sign_on,
    logout_with_hint_ends_the_session_and_redirects,
    logout_confirmation_form_signs_out,
    native_public_client_uses_any_loopback_port,
    login_page_is_french_and_refusals_say_the_same,
);

const USERNAME: &str = "alice";
const EMAIL: &str = "alice@example.test";
const PASSWORD: &str = "correct horse battery staple";
/// A `state` with every kind of character that must come back unchanged: spaces, the form
/// delimiters `&`, `=` and `+`, a bare `%`, and characters outside ASCII.
const STATE: &str = "state with spaces & a=b + 100% ünïcødé ✓";

async fn discovery_and_jwks_describe_the_realm(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = server.http();
    let issuer = server.issuer();

    let response = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery request");
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response.json().await.expect("discovery is JSON");
    let expected = [
        ("issuer", json!(issuer)),
        ("authorization_endpoint", json!(server.endpoint("auth"))),
        ("token_endpoint", json!(server.endpoint("token"))),
        ("userinfo_endpoint", json!(server.endpoint("userinfo"))),
        ("jwks_uri", json!(server.endpoint("certs"))),
        ("end_session_endpoint", json!(server.endpoint("logout"))),
        ("revocation_endpoint", json!(server.endpoint("revoke"))),
        (
            "introspection_endpoint",
            json!(server.endpoint("token/introspect")),
        ),
        ("response_types_supported", json!(["code"])),
        ("response_modes_supported", json!(["query", "form_post"])),
        ("code_challenge_methods_supported", json!(["S256"])),
        (
            "authorization_response_iss_parameter_supported",
            json!(true),
        ),
    ];
    for (field, value) in expected {
        assert_eq!(metadata[field], value, "discovery field {field}");
    }

    // What a relying-party library makes of it, JWKS included.
    let discovered = server.discover().await;
    assert_eq!(discovered.issuer().as_str(), issuer);
    assert_eq!(discovered.jwks().keys().len(), 1);

    let (content_type, first) = fetch_jwks(&server).await;
    assert_eq!(content_type, "application/json");
    let first_kids = kids(&first);
    assert_eq!(first_kids.len(), 1, "one key before any rotation: {first}");
    let key = &first["keys"][0];
    assert_eq!(
        (&key["kty"], &key["use"], &key["alg"]),
        (&json!("RSA"), &json!("sig"), &json!("RS256")),
        "{key}"
    );

    // After a rotation both keys are published, each under its own kid.
    let provider = &server.sesame_provider;
    let now = provider.clock.now();
    provider
        .keys
        .rotate(
            &provider.db,
            "test",
            SigningAlgorithm::Es256,
            now,
            now + 600,
        )
        .await
        .expect("key rotation");
    let (content_type, second) = fetch_jwks(&server).await;
    assert_eq!(content_type, "application/json");
    let second_kids = kids(&second);
    assert_eq!(second_kids.len(), 2, "{second}");
    let distinct: HashSet<&String> = second_kids.iter().collect();
    assert_eq!(distinct.len(), 2, "kids must be distinct: {second}");
    assert!(second_kids.contains(&first_kids[0]), "the old key stays");
    let algorithms: HashSet<&str> = second["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| key["alg"].as_str())
        .collect();
    assert_eq!(algorithms, HashSet::from(["RS256", "ES256"]));
}

async fn code_flow_with_pkce_issues_verified_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = server
        .relying_party(PORTAL, Some(PORTAL_SECRET), Some(PORTAL_REDIRECT))
        .await;
    let signed_in = sign_in(&server, &rp, PORTAL_REDIRECT).await;
    let tokens = &signed_in.tokens;
    assert!(
        tokens.refresh_token().is_some(),
        "a refresh token is issued"
    );

    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &signed_in.nonce)
        .unwrap_or_else(|err| panic!("ID token refused: {}", error_chain(&err)));
    assert_eq!(claims.subject().as_str(), signed_in.user_id);
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("signing algorithm"),
        id_token.signing_key(&verifier).expect("signing key"),
    )
    .expect("at_hash computed");
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some(), "auth_time");
    let methods: Vec<&str> = claims
        .auth_method_refs()
        .into_iter()
        .flatten()
        .map(|method| method.as_str())
        .collect();
    assert!(methods.contains(&"pwd"), "amr {methods:?}");
    assert_eq!(claims.email().map(|email| email.as_str()), Some(EMAIL));
    assert_eq!(claims.email_verified(), Some(true));

    let (_, raw) = decode_jwt(&id_token.to_string());
    assert!(
        raw["sid"].as_str().is_some_and(|sid| !sid.is_empty()),
        "sid: {raw}"
    );
    assert!(raw["email_verified"].is_boolean(), "email_verified: {raw}");
    assert!(raw["auth_time"].is_i64(), "auth_time: {raw}");
    assert_eq!(raw["nonce"], json!(signed_in.nonce.secret()));

    let userinfo: CoreUserInfoClaims = rp
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("userinfo endpoint discovered")
        .request_async(&server.http())
        .await
        .unwrap_or_else(|err| panic!("userinfo refused: {}", error_chain(&err)));
    assert_eq!(userinfo.email().map(|email| email.as_str()), Some(EMAIL));

    // RFC 6750 §2.2: the token in the form body.
    let response = server
        .http()
        .post(server.endpoint("userinfo"))
        .form(&[("access_token", tokens.access_token().secret())])
        .send()
        .await
        .expect("userinfo by POST");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("userinfo is JSON");
    assert_eq!(body["sub"], json!(signed_in.user_id));
    assert_eq!(body["email"], json!(EMAIL));
}

async fn refresh_rotates_tokens_and_reuse_revokes_the_family(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = server.http();
    let rp = server
        .relying_party(PORTAL, Some(PORTAL_SECRET), Some(PORTAL_REDIRECT))
        .await;
    let signed_in = sign_in(&server, &rp, PORTAL_REDIRECT).await;
    let verifier = rp.id_token_verifier();
    let first_claims = signed_in
        .tokens
        .id_token()
        .expect("an ID token")
        .claims(&verifier, &signed_in.nonce)
        .expect("first ID token verifies");
    let first_refresh = signed_in
        .tokens
        .refresh_token()
        .expect("a refresh token")
        .clone();

    server.advance_clock(120);
    let refreshed = rp
        .exchange_refresh_token(&first_refresh)
        .expect("token endpoint discovered")
        .request_async(&http)
        .await
        .unwrap_or_else(|err| panic!("refresh refused: {}", error_chain(&err)));
    let second_refresh = refreshed
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    let no_nonce = |_: Option<&Nonce>| -> Result<(), String> { Ok(()) };
    let second_claims = refreshed
        .id_token()
        .expect("a refreshed ID token")
        .claims(&verifier, no_nonce)
        .unwrap_or_else(|err| panic!("refreshed ID token refused: {}", error_chain(&err)));
    assert_eq!(second_claims.subject(), first_claims.subject());
    // OIDC Core §12.2: a refreshed ID token keeps the time of the original authentication.
    assert_eq!(second_claims.auth_time(), first_claims.auth_time());
    assert!(second_claims.issue_time() > first_claims.issue_time());

    let replay = rp
        .exchange_refresh_token(&first_refresh)
        .expect("token endpoint discovered")
        .request_async(&http)
        .await;
    assert_invalid_grant(replay, "the rotated refresh token");
    let after_replay = rp
        .exchange_refresh_token(&second_refresh)
        .expect("token endpoint discovered")
        .request_async(&http)
        .await;
    assert_invalid_grant(
        after_replay,
        "the newest refresh token once the family is revoked",
    );
}

async fn introspection_follows_revocation(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = server.http();
    let rp = server
        .relying_party(PORTAL, Some(PORTAL_SECRET), Some(PORTAL_REDIRECT))
        .await;
    let signed_in = sign_in(&server, &rp, PORTAL_REDIRECT).await;
    let access = signed_in.tokens.access_token().clone();
    let refresh = signed_in
        .tokens
        .refresh_token()
        .expect("a refresh token")
        .clone();
    let refresh_as_token = AccessToken::new(refresh.secret().clone());

    let answer = introspect(&rp, &server, &access).await;
    assert!(answer.active(), "a fresh access token is active");
    assert_eq!(answer.client_id().map(|id| id.as_str()), Some(PORTAL));
    assert_eq!(answer.sub(), Some(signed_in.user_id.as_str()));
    let scopes: Vec<&str> = answer
        .scopes()
        .into_iter()
        .flatten()
        .map(|scope| scope.as_str())
        .collect();
    assert!(scopes.contains(&"openid"), "scopes {scopes:?}");

    rp.revoke_token(CoreRevocableToken::from(access.clone()))
        .expect("revocation endpoint discovered")
        .request_async(&http)
        .await
        .unwrap_or_else(|err| panic!("access token revocation: {}", error_chain(&err)));
    assert!(
        !introspect(&rp, &server, &access).await.active(),
        "a revoked access token is inactive"
    );

    assert!(
        introspect(&rp, &server, &refresh_as_token).await.active(),
        "the refresh token outlives the access token's revocation"
    );
    rp.revoke_token(CoreRevocableToken::from(refresh.clone()))
        .expect("revocation endpoint discovered")
        .request_async(&http)
        .await
        .unwrap_or_else(|err| panic!("refresh token revocation: {}", error_chain(&err)));
    assert!(
        !introspect(&rp, &server, &refresh_as_token).await.active(),
        "a revoked refresh token is inactive"
    );
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .expect("token endpoint discovered")
        .request_async(&http)
        .await;
    assert_invalid_grant(refreshed, "a revoked refresh token");

    // RFC 7009 §2.2: an unknown token is not an error.
    let unknown = AccessToken::new("not-a-token-of-ours".to_owned());
    rp.revoke_token(CoreRevocableToken::from(unknown))
        .expect("revocation endpoint discovered")
        .request_async(&http)
        .await
        .unwrap_or_else(|err| panic!("unknown token revocation: {}", error_chain(&err)));
    let response = http
        .post(server.endpoint("revoke"))
        .header(AUTHORIZATION, portal_basic_authorization())
        .form(&[("token", "not-a-token-of-ours")])
        .send()
        .await
        .expect("raw revocation request");
    assert_eq!(response.status(), StatusCode::OK);
}

async fn client_credentials_issue_an_access_token_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = server.http();

    // client_secret_basic, through the library.
    let rp = server.relying_party(API, Some(API_SECRET), None).await;
    let tokens = rp
        .exchange_client_credentials()
        .expect("token endpoint discovered")
        .request_async(&http)
        .await
        .unwrap_or_else(|err| panic!("client credentials refused: {}", error_chain(&err)));
    assert!(tokens.refresh_token().is_none(), "RFC 6749 §4.4.3");
    assert!(tokens.id_token().is_none(), "no user, no ID token");
    check_service_access_token(&server, tokens.access_token().secret());

    // client_secret_post, by hand.
    let response = http
        .post(server.endpoint("token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", API),
            ("client_secret", API_SECRET),
        ])
        .send()
        .await
        .expect("client credentials request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, &CACHE_CONTROL), "no-store");
    let body: Value = response.json().await.expect("token response is JSON");
    assert_eq!(body["token_type"], json!("Bearer"));
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    let access_token = body["access_token"].as_str().expect("access_token");
    check_service_access_token(&server, access_token);
}

async fn form_encoded_basic_credentials_are_accepted(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let request = portal_request("basic", &[]);
    let redirect = server
        .login(&browser, &borrowed(&request), USERNAME, PASSWORD)
        .await;
    let code = expect_code(&server, &redirect, PORTAL_REDIRECT, "basic");

    // RFC 6749 §2.3.1: id and secret are form-encoded before Base64; the secret holds `%`, `+`,
    // `:` and `&`, which only survive if the server decodes them.
    let response = server
        .http()
        .post(server.endpoint("token"))
        .header(AUTHORIZATION, portal_basic_authorization())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, &CACHE_CONTROL), "no-store");
    let body: Value = response.json().await.expect("token response is JSON");
    for field in ["access_token", "id_token", "refresh_token"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
    assert_eq!(body["token_type"], json!("Bearer"));
}

async fn form_post_answers_with_a_self_posting_form(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let request = portal_request(STATE, &[("response_mode", "form_post")]);
    let response = server
        .login_response(&browser, &borrowed(&request), USERNAME, PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, &CONTENT_TYPE).starts_with("text/html"));
    let html = response.text().await.expect("form post page");

    let form = forms(&html)
        .into_iter()
        .find(|form| form.action == PORTAL_REDIRECT)
        .unwrap_or_else(|| panic!("no form posting to the redirect URI:\n{html}"));
    assert_eq!(form.method, "post");
    let fields: HashMap<&str, &str> = form
        .fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let names: HashSet<&str> = fields.keys().copied().collect();
    assert_eq!(names, HashSet::from(["code", "state", "iss"]), "{html}");
    assert_eq!(fields["state"], STATE, "state comes back byte for byte");
    assert_eq!(fields["iss"], server.issuer());

    // The Content-Security-Policy allows no inline script: the page loads its one script.
    let text = unescape_html(&html);
    assert!(
        text.contains(r#"<script src="/resources/"#)
            && text.contains(r#"/base/js/autopost.js"></script>"#),
        "{html}"
    );
    assert_eq!(text.matches("<script").count(), 1, "{html}");

    let tokens = exchange_portal_code(&server, fields["code"]).await;
    assert!(tokens["id_token"].is_string(), "{tokens}");
}

async fn browser_session_gives_single_sign_on(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let first = portal_request("first", &[]);
    let redirect = server
        .login(&browser, &borrowed(&first), USERNAME, PASSWORD)
        .await;
    expect_code(&server, &redirect, PORTAL_REDIRECT, "first");

    // The same browser asks again: the code comes at once, with no login page.
    let second = portal_request("second", &[]);
    let response = server.authorize(&browser, &borrowed(&second)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let redirect = redirect_url(&response);
    let code = expect_code(&server, &redirect, PORTAL_REDIRECT, "second");
    let tokens = exchange_portal_code(&server, &code).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");

    // prompt=login asks for the password again.
    let forced = portal_request("forced", &[("prompt", "login")]);
    let form = server.open_login(&browser, &borrowed(&forced)).await;
    assert!(
        form_by_id(&form.html, "login-form").is_some(),
        "{}",
        form.html
    );

    // prompt=none in a browser without a session: login_required, at the client.
    let silent = portal_request("silent", &[("prompt", "none")]);
    let response = server
        .authorize(&server.browser(), &borrowed(&silent))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    expect_error(
        &server,
        &redirect_url(&response),
        "login_required",
        "silent",
    );
}

async fn logout_with_hint_ends_the_session_and_redirects(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let request = portal_request("before logout", &[]);
    let redirect = server
        .login(&browser, &borrowed(&request), USERNAME, PASSWORD)
        .await;
    let code = expect_code(&server, &redirect, PORTAL_REDIRECT, "before logout");
    let tokens = exchange_portal_code(&server, &code).await;
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh_token");

    let logout_state = "after logout & back";
    let response = browser
        .get(server.endpoint("logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", PORTAL_LOGOUT_REDIRECT),
            ("state", logout_state),
        ])
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = redirect_url(&response);
    assert_eq!(without_query(&back), PORTAL_LOGOUT_REDIRECT);
    assert_eq!(
        query_params(&back),
        HashMap::from([("state".to_owned(), logout_state.to_owned())])
    );

    // The session is over: its refresh token is refused, and the browser is signed out.
    let response = server
        .http()
        .post(server.endpoint("token"))
        .header(AUTHORIZATION, portal_basic_authorization())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("refresh after logout");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("error is JSON");
    assert_eq!(body["error"], json!("invalid_grant"), "{body}");
    let silent = portal_request("silent", &[("prompt", "none")]);
    let response = server.authorize(&browser, &borrowed(&silent)).await;
    expect_error(
        &server,
        &redirect_url(&response),
        "login_required",
        "silent",
    );

    // Without a hint, a page asks first, with a CSRF-protected form.
    let response = browser
        .get(server.endpoint("logout"))
        .send()
        .await
        .expect("logout without hint");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("confirmation page");
    let form = forms(&html)
        .into_iter()
        .find(|form| form.fields.iter().any(|(name, _)| name == "csrf_token"))
        .unwrap_or_else(|| panic!("no form with a csrf_token:\n{html}"));
    assert_eq!(form.method, "post");
    assert!(
        form.fields
            .iter()
            .any(|(name, value)| name == "csrf_token" && !value.is_empty()),
        "{html}"
    );
}

async fn logout_confirmation_form_signs_out(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let request = portal_request("signed in", &[]);
    server
        .login(&browser, &borrowed(&request), USERNAME, PASSWORD)
        .await;

    let response = browser
        .get(server.endpoint("logout"))
        .send()
        .await
        .expect("logout without hint");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("confirmation page");
    let form = forms(&html)
        .into_iter()
        .find(|form| form.fields.iter().any(|(name, _)| name == "csrf_token"))
        .unwrap_or_else(|| panic!("no form with a csrf_token:\n{html}"));

    // Press the button, as a browser does: the form's fields and nothing else.
    let response = browser
        .post(&form.action)
        .form(&form.fields)
        .send()
        .await
        .expect("confirmation submitted");
    let status = response.status();
    let page = response.text().await.unwrap_or_default();
    assert!(
        status == StatusCode::OK || status == StatusCode::FOUND,
        "{status}: {page}"
    );
    assert!(
        forms(&page)
            .iter()
            .all(|form| form.fields.iter().all(|(name, _)| name != "csrf_token")),
        "the confirmation page came back instead of signing out:\n{page}"
    );
    let silent = portal_request("silent", &[("prompt", "none")]);
    let response = server.authorize(&browser, &borrowed(&silent)).await;
    expect_error(
        &server,
        &redirect_url(&response),
        "login_required",
        "silent",
    );
}

async fn native_public_client_uses_any_loopback_port(backend: Backend) {
    let server = TestServer::start(backend).await;
    // A native application listens on a port the system chose (RFC 8252 §7.3).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let rp = server.relying_party(SPA, None, Some(&redirect_uri)).await;
    let signed_in = sign_in(&server, &rp, &redirect_uri).await;

    let claims = signed_in
        .tokens
        .id_token()
        .expect("an ID token")
        .claims(&rp.id_token_verifier(), &signed_in.nonce)
        .unwrap_or_else(|err| panic!("ID token refused: {}", error_chain(&err)));
    assert_eq!(claims.subject().as_str(), signed_in.user_id);
    let audiences: Vec<&str> = claims
        .audiences()
        .iter()
        .map(|audience| audience.as_str())
        .collect();
    assert_eq!(audiences, [SPA]);
}

async fn login_page_is_french_and_refusals_say_the_same(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let browser = server.browser();
    let request = portal_request("page", &[]);
    let form = server.open_login(&browser, &borrowed(&request)).await;

    assert!(form.html.contains(r#"<html lang="fr">"#), "{}", form.html);
    let text = unescape_html(&form.html);
    for shown in [
        ">Nom d'utilisateur ou courriel</label>",
        ">Mot de passe</label>",
        ">Connexion</button>",
    ] {
        assert!(text.contains(shown), "{shown} missing from:\n{}", form.html);
    }

    let refusal = "Nom d'utilisateur ou mot de passe invalide.";
    let response = server
        .submit_login(&browser, &form, USERNAME, "not the password")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let wrong_password = response.text().await.expect("login page again");
    assert!(
        unescape_html(&wrong_password).contains(refusal),
        "{wrong_password}"
    );

    let form = login_form(&wrong_password);
    let response = server
        .submit_login(&browser, &form, "nobody", "not the password")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let unknown_user = response.text().await.expect("login page again");
    assert!(
        unescape_html(&unknown_user).contains(refusal),
        "{unknown_user}"
    );
}

/// What a completed login through the library gives.
struct SignedIn {
    user_id: String,
    tokens: CoreTokenResponse,
    nonce: Nonce,
}

/// Creates the user, signs in through `rp` with PKCE, a nonce, the `email` and `profile` scopes
/// and [`STATE`], checks the authorization response and exchanges the code.
async fn sign_in(server: &TestServer, rp: &RelyingParty, redirect_uri: &str) -> SignedIn {
    let user_id = server.create_user(USERNAME, EMAIL, PASSWORD).await;
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new(STATE.to_owned()),
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let request: Vec<(String, String)> = auth_url.query_pairs().into_owned().collect();

    let browser = server.browser();
    let redirect = server
        .login(&browser, &borrowed(&request), USERNAME, PASSWORD)
        .await;
    let code = expect_code(server, &redirect, redirect_uri, STATE);

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint discovered")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&server.http())
        .await
        .unwrap_or_else(|err| panic!("code exchange refused: {}", error_chain(&err)));
    SignedIn {
        user_id,
        tokens,
        nonce,
    }
}

/// Checks a successful authorization response and returns its code.
fn expect_code(server: &TestServer, redirect: &Url, redirect_uri: &str, state: &str) -> String {
    assert_eq!(without_query(redirect), redirect_uri, "{redirect}");
    let params = query_params(redirect);
    assert!(!params.contains_key("error"), "{redirect}");
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(state),
        "state comes back byte for byte"
    );
    assert_eq!(params.get("iss"), Some(&server.issuer()), "RFC 9207 iss");
    params
        .get("code")
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| panic!("no code in {redirect}"))
        .clone()
}

/// Checks an error sent to the portal's redirect URI.
fn expect_error(server: &TestServer, redirect: &Url, error: &str, state: &str) {
    assert_eq!(without_query(redirect), PORTAL_REDIRECT, "{redirect}");
    let params = query_params(redirect);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some(error),
        "{redirect}"
    );
    assert_eq!(params.get("state").map(String::as_str), Some(state));
    assert_eq!(params.get("iss"), Some(&server.issuer()));
    assert!(!params.contains_key("code"), "{redirect}");
}

/// An authorization request of the portal, without PKCE (the portal does not require it).
fn portal_request(state: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut request: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("scope", "openid email profile"),
        ("state", state),
        ("nonce", "n-0S6_WzA2Mj"),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    request.extend(
        extra
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    request
}

/// Exchanges a portal code by hand (`client_secret_basic`) and returns the token response.
async fn exchange_portal_code(server: &TestServer, code: &str) -> Value {
    let response = server
        .http()
        .post(server.endpoint("token"))
        .header(AUTHORIZATION, portal_basic_authorization())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .expect("token request");
    let status = response.status();
    let body: Value = response.json().await.expect("token response is JSON");
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The portal's `Authorization: Basic` value, id and secret form-encoded (RFC 6749 §2.3.1).
fn portal_basic_authorization() -> String {
    let encode =
        |text: &str| -> String { url::form_urlencoded::byte_serialize(text.as_bytes()).collect() };
    let credentials = format!("{}:{}", encode(PORTAL), encode(PORTAL_SECRET));
    format!("Basic {}", BASE64.encode(credentials.as_bytes()))
}

/// Checks an access token of the API client's service account (RFC 9068).
fn check_service_access_token(server: &TestServer, token: &str) {
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["typ"], json!("at+jwt"), "{header}");
    assert_eq!(claims["iss"], json!(server.issuer()), "{claims}");
    assert_eq!(claims["client_id"], json!(API), "{claims}");
    assert!(
        claims["scope"]
            .as_str()
            .is_some_and(|scope| !scope.is_empty()),
        "{claims}"
    );
    assert!(
        claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()),
        "{claims}"
    );
}

async fn introspect(
    rp: &RelyingParty,
    server: &TestServer,
    token: &AccessToken,
) -> openidconnect::core::CoreTokenIntrospectionResponse {
    rp.introspect(token)
        .request_async(&server.http())
        .await
        .unwrap_or_else(|err| panic!("introspection refused: {}", error_chain(&err)))
}

fn assert_invalid_grant<T, E>(
    result: Result<T, RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>>,
    what: &str,
) where
    T: Debug,
    E: std::error::Error + 'static,
{
    match result {
        Err(RequestTokenError::ServerResponse(response)) => assert_eq!(
            *response.error(),
            CoreErrorResponseType::InvalidGrant,
            "{what}: {response:?}"
        ),
        other => panic!("{what}: expected invalid_grant, got {other:?}"),
    }
}

async fn fetch_jwks(server: &TestServer) -> (String, Value) {
    let response = server
        .http()
        .get(server.endpoint("certs"))
        .send()
        .await
        .expect("JWKS request");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = header(&response, &CONTENT_TYPE);
    let jwks = response.json().await.expect("JWKS is JSON");
    (content_type, jwks)
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|key| key["kid"].as_str().expect("every key has a kid").to_owned())
        .collect()
}

fn header(response: &reqwest::Response, name: &reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn redirect_url(response: &reqwest::Response) -> Url {
    let target =
        location(response).unwrap_or_else(|| panic!("{} without Location", response.status()));
    Url::parse(&target).unwrap_or_else(|err| panic!("bad Location {target}: {err}"))
}

fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}
