//! Every refusal as a client or a browser sees it on the wire: status, `error` code, headers, and
//! above all where the answer goes. Requests are built by hand (form bodies, Basic headers) so
//! that nothing between the test and the server fixes a malformed request for us.

use data_encoding::BASE64;
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{
    API, API_SECRET, Backend, OTHER, OTHER_SECRET, PORTAL, PORTAL_LOGOUT_REDIRECT, PORTAL_REDIRECT,
    PORTAL_SECRET, SPA, TestServer, form_by_id, location, pkce_pair,
};

on_both_backends!(
    untrusted_authorization_requests_get_an_error_page_never_a_redirect,
    trusted_authorization_errors_return_to_the_client_with_state_and_iss,
    form_post_authorization_error_is_an_auto_posting_form,
    reused_code_fails_and_revokes_issued_tokens,
    code_with_a_wrong_or_malformed_verifier_is_invalid_grant,
    code_with_another_redirect_uri_is_invalid_grant,
    code_presented_by_another_client_is_refused_and_stays_redeemable,
    expired_code_is_invalid_grant,
    failed_client_authentication_is_401_with_a_challenge,
    two_client_authentication_methods_are_invalid_request,
    basic_credentials_are_form_urlencoded_before_base64,
    form_encoded_secret_with_reserved_characters_authenticates_by_post,
    refresh_token_of_another_client_is_invalid_grant,
    reused_refresh_token_fails_and_revokes_its_family,
    grant_type_must_be_present_and_supported,
    token_endpoint_takes_only_form_bodies_with_or_without_charset,
    client_credentials_need_a_confidential_service_account,
    refresh_cannot_widen_the_scope,
    userinfo_without_a_token_is_a_bare_bearer_challenge,
    userinfo_refuses_garbage_and_expired_tokens_as_invalid_token,
    userinfo_without_openid_scope_is_insufficient_scope,
    introspection_needs_client_authentication,
    introspection_of_a_garbage_token_is_inactive,
    revoking_an_unknown_token_succeeds,
    revoking_another_clients_token_succeeds_without_effect,
    logout_to_an_unregistered_uri_is_an_error_page,
    logout_with_a_garbage_id_token_hint_is_an_error_page,
    logout_accepts_an_expired_id_token_hint,
    admin_api_without_a_token_is_401,
    admin_api_refuses_tokens_of_non_admin_clients,
    admin_api_reports_bad_input_with_json_errors,
);

const USER: &str = "alice";
const EMAIL: &str = "alice@example.test";
const PASSWORD: &str = "Correct-Horse-42";
const STATE: &str = "state-8xKq";

// ---------------------------------------------------------------------------------------------
// Authorization endpoint

async fn untrusted_authorization_requests_get_an_error_page_never_a_redirect(backend: Backend) {
    let server = TestServer::start(backend).await;
    let unknown_client = "Client inconnu.";
    let bad_redirect = "URL de redirection invalide.";
    let bad_request = "Requête invalide.";
    let cases = [
        (
            "unknown client_id",
            vec![("client_id", "nobody"), ("redirect_uri", PORTAL_REDIRECT)],
            unknown_client,
        ),
        (
            "missing client_id",
            vec![("redirect_uri", PORTAL_REDIRECT)],
            unknown_client,
        ),
        (
            "redirect_uri with a path suffix",
            vec![
                ("client_id", PORTAL),
                ("redirect_uri", "https://portal.test/callback/x"),
            ],
            bad_redirect,
        ),
        (
            "redirect_uri with a name suffix",
            vec![
                ("client_id", PORTAL),
                ("redirect_uri", "https://portal.test/callbackx"),
            ],
            bad_redirect,
        ),
        (
            "redirect_uri with another query",
            vec![
                ("client_id", PORTAL),
                ("redirect_uri", "https://portal.test/callback?next=1"),
            ],
            bad_redirect,
        ),
        (
            "redirect_uri with a fragment",
            vec![
                ("client_id", PORTAL),
                ("redirect_uri", "https://portal.test/callback#top"),
            ],
            bad_redirect,
        ),
        (
            "redirect_uri of another client",
            vec![
                ("client_id", PORTAL),
                ("redirect_uri", "https://other.test/cb"),
            ],
            bad_redirect,
        ),
        (
            "client_id repeated",
            vec![
                ("client_id", PORTAL),
                ("client_id", PORTAL),
                ("redirect_uri", PORTAL_REDIRECT),
            ],
            bad_request,
        ),
    ];
    for (case, mut params, message) in cases {
        params.extend([
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", STATE),
        ]);
        let response = authorization_request(&server, &params).await;
        assert_error_page(response, StatusCode::BAD_REQUEST, message, case).await;
    }
}

async fn trusted_authorization_errors_return_to_the_client_with_state_and_iss(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, challenge) = pkce_pair();
    let portal = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("client_id", PORTAL.to_owned()),
            ("redirect_uri", PORTAL_REDIRECT.to_owned()),
            ("response_type", "code".to_owned()),
            ("scope", "openid".to_owned()),
            ("state", STATE.to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        for (name, value) in extra {
            params.retain(|(existing, _)| existing != name);
            params.push((*name, (*value).to_owned()));
        }
        params
    };
    let spa_without_challenge = vec![
        ("client_id", SPA.to_owned()),
        ("redirect_uri", "https://spa.test/cb".to_owned()),
        ("response_type", "code".to_owned()),
        ("scope", "openid".to_owned()),
        ("state", STATE.to_owned()),
    ];
    let cases = [
        (
            "response_type=token",
            portal(&[("response_type", "token")]),
            PORTAL_REDIRECT,
            "unsupported_response_type",
        ),
        (
            "code_challenge_method=plain",
            portal(&[("code_challenge_method", "plain")]),
            PORTAL_REDIRECT,
            "invalid_request",
        ),
        (
            "public client without code_challenge",
            spa_without_challenge,
            "https://spa.test/cb",
            "invalid_request",
        ),
        (
            "prompt=none without a browser session",
            portal(&[("prompt", "none")]),
            PORTAL_REDIRECT,
            "login_required",
        ),
        (
            "request object",
            portal(&[("request", "eyJhbGciOiJub25lIn0.e30.")]),
            PORTAL_REDIRECT,
            "request_not_supported",
        ),
    ];
    for (case, params, redirect_uri, error) in cases {
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let response = authorization_request(&server, &params).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{case}");
        let location =
            location(&response).unwrap_or_else(|| panic!("{case}: a redirect has a Location"));
        let location = url::Url::parse(&location).expect("Location is an absolute URL");
        let without_query = format!(
            "{}://{}{}",
            location.scheme(),
            location.host_str().unwrap_or_default(),
            location.path()
        );
        assert_eq!(without_query, redirect_uri, "{case}: back to the client");
        assert_eq!(
            query_value(&location, "error").as_deref(),
            Some(error),
            "{case}"
        );
        assert_eq!(
            query_value(&location, "state").as_deref(),
            Some(STATE),
            "{case}"
        );
        assert_eq!(
            query_value(&location, "iss"),
            Some(server.issuer()),
            "{case}"
        );
        assert_eq!(query_value(&location, "code"), None, "{case}");
    }
}

async fn form_post_authorization_error_is_an_auto_posting_form(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, challenge) = pkce_pair();
    let params = [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "token"),
        ("response_mode", "form_post"),
        ("scope", "openid"),
        ("state", STATE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let response = authorization_request(&server, &params).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(location(&response), None);
    assert!(
        header_value(&response, header::CONTENT_TYPE)
            .is_some_and(|value| value.starts_with("text/html")),
        "the form is an HTML page"
    );
    let html = response.text().await.expect("page body");
    let form =
        form_by_id(&html, "form-post").unwrap_or_else(|| panic!("an auto-posting form:\n{html}"));
    assert_eq!(form.method, "post");
    assert_eq!(form.action, PORTAL_REDIRECT, "the form posts to the client");
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let issuer = server.issuer();
    assert_eq!(
        fields,
        [
            ("error", "unsupported_response_type"),
            ("error_description", "only response_type=code is supported"),
            ("state", STATE),
            ("iss", issuer.as_str()),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Token endpoint: authorization codes

async fn reused_code_fails_and_revokes_issued_tokens(backend: Backend) {
    let server = server_with_user(backend).await;
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;

    let first = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &verifier,
        PORTAL_REDIRECT,
    )
    .await;
    let tokens = json_ok(first).await;
    let access_token = string_field(&tokens, "access_token");
    let refresh_token = string_field(&tokens, "refresh_token");
    assert_eq!(
        introspect(&server, (PORTAL, PORTAL_SECRET), &access_token).await["active"],
        json!(true),
        "the first exchange's token works before the replay"
    );

    let replay = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &verifier,
        PORTAL_REDIRECT,
    )
    .await;
    assert_token_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;

    assert_eq!(
        introspect(&server, (PORTAL, PORTAL_SECRET), &access_token).await,
        json!({ "active": false }),
        "the replay revokes the access token the code gave"
    );
    assert_eq!(
        introspect(&server, (PORTAL, PORTAL_SECRET), &refresh_token).await,
        json!({ "active": false }),
    );
    let refreshed = refresh(&server, (PORTAL, PORTAL_SECRET), &refresh_token, None).await;
    assert_token_error(refreshed, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

async fn code_with_a_wrong_or_malformed_verifier_is_invalid_grant(backend: Backend) {
    let server = server_with_user(backend).await;

    let (_, challenge) = pkce_pair();
    let (other_verifier, _) = pkce_pair();
    let code = portal_code(&server, &challenge).await;
    let wrong = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &other_verifier,
        PORTAL_REDIRECT,
    )
    .await;
    assert_token_error(wrong, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // The right verifier cut to 42 characters: RFC 7636 §4.1 wants 43 to 128.
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;
    let short: String = verifier.chars().take(42).collect();
    assert_eq!(short.len(), 42);
    let malformed = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &short,
        PORTAL_REDIRECT,
    )
    .await;
    assert_token_error(malformed, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

async fn code_with_another_redirect_uri_is_invalid_grant(backend: Backend) {
    let server = server_with_user(backend).await;
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;
    let response = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &verifier,
        "https://portal.test/elsewhere",
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

async fn code_presented_by_another_client_is_refused_and_stays_redeemable(backend: Backend) {
    let server = server_with_user(backend).await;
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;

    let stolen = redeem(
        &server,
        (OTHER, OTHER_SECRET),
        &code,
        &verifier,
        PORTAL_REDIRECT,
    )
    .await;
    assert_token_error(stolen, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let legitimate = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &verifier,
        PORTAL_REDIRECT,
    )
    .await;
    let tokens = json_ok(legitimate).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

async fn expired_code_is_invalid_grant(backend: Backend) {
    let server = server_with_user(backend).await;
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;
    server.advance_clock(61);
    let response = redeem(
        &server,
        (PORTAL, PORTAL_SECRET),
        &code,
        &verifier,
        PORTAL_REDIRECT,
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

// ---------------------------------------------------------------------------------------------
// Token endpoint: client authentication

async fn failed_client_authentication_is_401_with_a_challenge(backend: Backend) {
    let server = TestServer::start(backend).await;
    let form = [("grant_type", "client_credentials")];

    let wrong_basic = post_token(&server, Some((API, "not-the-secret")), &form).await;
    assert_invalid_client(wrong_basic).await;

    let wrong_post = post_token(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", API),
            ("client_secret", "not-the-secret"),
        ],
    )
    .await;
    assert_invalid_client(wrong_post).await;

    let unknown = post_token(&server, Some(("nobody", "whatever")), &form).await;
    assert_invalid_client(unknown).await;

    let unknown_public = post_token(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ],
    )
    .await;
    assert_invalid_client(unknown_public).await;
}

async fn two_client_authentication_methods_are_invalid_request(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = post_token(
        &server,
        Some((API, API_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", API),
            ("client_secret", API_SECRET),
        ],
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn basic_credentials_are_form_urlencoded_before_base64(backend: Backend) {
    let server = server_with_user(backend).await;
    // The fixture's secret must exercise the encoding, or this test proves nothing.
    assert!(
        ['%', '+', '&']
            .iter()
            .all(|reserved| PORTAL_SECRET.contains(*reserved)),
        "PORTAL_SECRET should contain the characters form encoding changes"
    );
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", PORTAL_REDIRECT),
    ];

    // RFC 6749 §2.3.1: the server form-decodes both halves (client_auth.rs, decode_basic), so
    // in a raw secret `+` becomes a space and `&` ends the value: another secret, refused.
    let raw = format!(
        "Basic {}",
        BASE64.encode(format!("{PORTAL}:{PORTAL_SECRET}").as_bytes())
    );
    let response = server
        .http()
        .post(server.endpoint("token"))
        .header(header::AUTHORIZATION, raw)
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert_invalid_client(response).await;

    // Authentication failed before the code was looked at: it is still good.
    let encoded = post_token(&server, Some((PORTAL, PORTAL_SECRET)), &form).await;
    let tokens = json_ok(encoded).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

async fn form_encoded_secret_with_reserved_characters_authenticates_by_post(backend: Backend) {
    let server = server_with_user(backend).await;
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(&server, &challenge).await;
    let response = post_token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", PORTAL_REDIRECT),
            ("client_id", PORTAL),
            ("client_secret", PORTAL_SECRET),
        ],
    )
    .await;
    let tokens = json_ok(response).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

// ---------------------------------------------------------------------------------------------
// Token endpoint: refresh tokens, grant types, content types

async fn refresh_token_of_another_client_is_invalid_grant(backend: Backend) {
    let server = server_with_user(backend).await;
    let tokens = portal_tokens(&server).await;
    let refresh_token = string_field(&tokens, "refresh_token");
    let response = refresh(&server, (OTHER, OTHER_SECRET), &refresh_token, None).await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // The attempt neither used nor revoked the token.
    let own = refresh(&server, (PORTAL, PORTAL_SECRET), &refresh_token, None).await;
    let rotated = json_ok(own).await;
    assert!(rotated["access_token"].is_string(), "{rotated}");
}

async fn reused_refresh_token_fails_and_revokes_its_family(backend: Backend) {
    let server = server_with_user(backend).await;
    let tokens = portal_tokens(&server).await;
    let first = string_field(&tokens, "refresh_token");

    let rotated = json_ok(refresh(&server, (PORTAL, PORTAL_SECRET), &first, None).await).await;
    let second = string_field(&rotated, "refresh_token");
    let second_access = string_field(&rotated, "access_token");
    assert_ne!(first, second, "refresh tokens rotate");

    let replay = refresh(&server, (PORTAL, PORTAL_SECRET), &first, None).await;
    assert_token_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let descendant = refresh(&server, (PORTAL, PORTAL_SECRET), &second, None).await;
    assert_token_error(descendant, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        introspect(&server, (PORTAL, PORTAL_SECRET), &second_access).await,
        json!({ "active": false }),
        "the access tokens of the family are revoked too"
    );
}

async fn grant_type_must_be_present_and_supported(backend: Backend) {
    let server = TestServer::start(backend).await;
    let unsupported = post_token(
        &server,
        Some((API, API_SECRET)),
        &[("grant_type", "password")],
    )
    .await;
    assert_token_error(
        unsupported,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;

    let missing = post_token(&server, Some((API, API_SECRET)), &[("scope", "profile")]).await;
    assert_token_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn token_endpoint_takes_only_form_bodies_with_or_without_charset(backend: Backend) {
    let server = TestServer::start(backend).await;
    let json_body = server
        .http()
        .post(server.endpoint("token"))
        .header(header::AUTHORIZATION, basic_header(API, API_SECRET))
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .expect("token request");
    assert_token_error(json_body, StatusCode::BAD_REQUEST, "invalid_request").await;

    let with_charset = server
        .http()
        .post(server.endpoint("token"))
        .header(header::AUTHORIZATION, basic_header(API, API_SECRET))
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token request");
    let tokens = json_ok(with_charset).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

async fn client_credentials_need_a_confidential_service_account(backend: Backend) {
    let server = TestServer::start(backend).await;
    let form = [("grant_type", "client_credentials")];

    let without_service_account = post_token(&server, Some((PORTAL, PORTAL_SECRET)), &form).await;
    assert_token_error(
        without_service_account,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;

    // RFC 6749 allows invalid_client or unauthorized_client here. Sésame authenticates a
    // public client by its client_id alone, then refuses it the grant (token.rs,
    // client_credentials: is_public() is checked before anything is issued).
    let public = post_token(
        &server,
        None,
        &[("grant_type", "client_credentials"), ("client_id", SPA)],
    )
    .await;
    assert_token_error(public, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

async fn refresh_cannot_widen_the_scope(backend: Backend) {
    let server = server_with_user(backend).await;
    let tokens = portal_tokens(&server).await;
    let refresh_token = string_field(&tokens, "refresh_token");
    let response = refresh(
        &server,
        (PORTAL, PORTAL_SECRET),
        &refresh_token,
        Some("openid email"),
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

// ---------------------------------------------------------------------------------------------
// Userinfo

async fn userinfo_without_a_token_is_a_bare_bearer_challenge(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server
        .http()
        .get(server.endpoint("userinfo"))
        .send()
        .await
        .expect("userinfo request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // RFC 6750 §3.1: no error code when the request carried no token at all.
    assert_eq!(
        header_value(&response, header::WWW_AUTHENTICATE).as_deref(),
        Some("Bearer realm=\"test\"")
    );
}

async fn userinfo_refuses_garbage_and_expired_tokens_as_invalid_token(backend: Backend) {
    let server = server_with_user(backend).await;
    let invalid_token = "Bearer realm=\"test\", error=\"invalid_token\"";

    for garbage in ["not-a-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"] {
        let response = userinfo(&server, garbage).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{garbage}");
        assert_eq!(
            header_value(&response, header::WWW_AUTHENTICATE).as_deref(),
            Some(invalid_token),
            "{garbage}"
        );
    }

    let tokens = portal_tokens(&server).await;
    let access_token = string_field(&tokens, "access_token");
    let fresh = userinfo(&server, &access_token).await;
    assert_eq!(
        fresh.status(),
        StatusCode::OK,
        "the token works before it expires"
    );

    server.advance_clock(301);
    let expired = userinfo(&server, &access_token).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_value(&expired, header::WWW_AUTHENTICATE).as_deref(),
        Some(invalid_token)
    );
}

async fn userinfo_without_openid_scope_is_insufficient_scope(backend: Backend) {
    let server = TestServer::start(backend).await;
    let tokens = json_ok(
        post_token(
            &server,
            Some((API, API_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await,
    )
    .await;
    let access_token = string_field(&tokens, "access_token");
    let response = userinfo(&server, &access_token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header_value(&response, header::WWW_AUTHENTICATE).as_deref(),
        Some("Bearer realm=\"test\", error=\"insufficient_scope\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Introspection and revocation

async fn introspection_needs_client_authentication(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server
        .http()
        .post(server.endpoint("token/introspect"))
        .form(&[("token", "anything")])
        .send()
        .await
        .expect("introspection request");
    assert_invalid_client(response).await;
}

async fn introspection_of_a_garbage_token_is_inactive(backend: Backend) {
    let server = TestServer::start(backend).await;
    for garbage in ["garbage", "a.b.c"] {
        assert_eq!(
            introspect(&server, (PORTAL, PORTAL_SECRET), garbage).await,
            json!({ "active": false }),
            "{garbage}"
        );
    }
}

async fn revoking_an_unknown_token_succeeds(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = revoke(&server, (PORTAL, PORTAL_SECRET), "never-issued").await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn revoking_another_clients_token_succeeds_without_effect(backend: Backend) {
    let server = server_with_user(backend).await;
    let tokens = portal_tokens(&server).await;
    let refresh_token = string_field(&tokens, "refresh_token");
    let access_token = string_field(&tokens, "access_token");

    // RFC 7009 §2.1: another client may not revoke it, and the answer must not tell.
    for token in [&refresh_token, &access_token] {
        let response = revoke(&server, (OTHER, OTHER_SECRET), token).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(
        introspect(&server, (PORTAL, PORTAL_SECRET), &access_token).await["active"],
        json!(true)
    );
    let refreshed = refresh(&server, (PORTAL, PORTAL_SECRET), &refresh_token, None).await;
    let rotated = json_ok(refreshed).await;
    assert!(rotated["access_token"].is_string(), "{rotated}");
}

// ---------------------------------------------------------------------------------------------
// Logout

async fn logout_to_an_unregistered_uri_is_an_error_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    for uri in [
        "https://evil.test/",
        "https://portal.test/x",
        "https://other.test/cb",
    ] {
        let response = server
            .http()
            .get(server.endpoint("logout"))
            .query(&[("client_id", PORTAL), ("post_logout_redirect_uri", uri)])
            .send()
            .await
            .expect("logout request");
        assert_error_page(
            response,
            StatusCode::BAD_REQUEST,
            "URL de redirection invalide.",
            uri,
        )
        .await;
    }
}

async fn logout_with_a_garbage_id_token_hint_is_an_error_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    for hint in ["garbage", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"] {
        let response = server
            .http()
            .get(server.endpoint("logout"))
            .query(&[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", PORTAL_LOGOUT_REDIRECT),
            ])
            .send()
            .await
            .expect("logout request");
        assert_error_page(response, StatusCode::BAD_REQUEST, "Requête invalide.", hint).await;
    }
}

async fn logout_accepts_an_expired_id_token_hint(backend: Backend) {
    let server = server_with_user(backend).await;
    let tokens = portal_tokens(&server).await;
    let id_token = string_field(&tokens, "id_token");
    server.advance_clock(400);
    let response = server
        .http()
        .get(server.endpoint("logout"))
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", PORTAL_LOGOUT_REDIRECT),
            ("state", STATE),
        ])
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = location(&response).expect("a redirect");
    assert_eq!(
        location,
        format!("{PORTAL_LOGOUT_REDIRECT}?state={STATE}"),
        "back to the registered URI with the state"
    );
}

// ---------------------------------------------------------------------------------------------
// Admin API

async fn admin_api_without_a_token_is_401(backend: Backend) {
    let server = TestServer::start(backend).await;
    for token in [None, Some("garbage")] {
        let mut request = server.http().get(admin_url(&server, "users"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("admin request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(
            header_value(&response, header::WWW_AUTHENTICATE)
                .is_some_and(|value| value.starts_with("Bearer")),
            "{token:?}"
        );
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["error"], json!("unauthorized"), "{token:?}");
    }
}

async fn admin_api_refuses_tokens_of_non_admin_clients(backend: Backend) {
    let server = server_with_user(backend).await;
    let user_token = string_field(&portal_tokens(&server).await, "access_token");
    let api_token = string_field(
        &json_ok(
            post_token(
                &server,
                Some((API, API_SECRET)),
                &[("grant_type", "client_credentials")],
            )
            .await,
        )
        .await,
        "access_token",
    );
    for (who, token) in [
        ("portal user", &user_token),
        ("api service account", &api_token),
    ] {
        let response = server
            .http()
            .get(admin_url(&server, "users"))
            .bearer_auth(token)
            .send()
            .await
            .expect("admin request");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who}");
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["error"], json!("forbidden"), "{who}");
    }
}

async fn admin_api_reports_bad_input_with_json_errors(backend: Backend) {
    let server = server_with_user(backend).await;
    let token = server.admin_token().await;
    let http = server.http();

    let malformed = http
        .post(admin_url(&server, "users"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("admin request");
    assert_admin_error(malformed, StatusCode::BAD_REQUEST, "invalid_request").await;

    let duplicate = http
        .post(admin_url(&server, "users"))
        .bearer_auth(&token)
        .json(&json!({ "username": USER, "enabled": true }))
        .send()
        .await
        .expect("admin request");
    assert_admin_error(duplicate, StatusCode::CONFLICT, "conflict").await;

    let unknown = http
        .get(admin_url(
            &server,
            "users/00000000-0000-0000-0000-000000000000",
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("admin request");
    assert_admin_error(unknown, StatusCode::NOT_FOUND, "not_found").await;

    let zero_lifespan = http
        .put(format!("{}/admin/realms/test", server.base_url))
        .bearer_auth(&token)
        .json(&json!({ "accessCodeLifespan": 0 }))
        .send()
        .await
        .expect("admin request");
    assert_admin_error(zero_lifespan, StatusCode::BAD_REQUEST, "invalid_request").await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

async fn server_with_user(backend: Backend) -> TestServer {
    let server = TestServer::start(backend).await;
    server.create_user(USER, EMAIL, PASSWORD).await;
    server
}

/// A raw authorization request by GET, without cookies, as a browser with no session sends it.
async fn authorization_request(server: &TestServer, params: &[(&str, &str)]) -> Response {
    server
        .http()
        .get(server.endpoint("auth"))
        .query(params)
        .send()
        .await
        .expect("authorization request")
}

/// Signs `alice` in at PORTAL and returns the authorization code.
async fn portal_code(server: &TestServer, challenge: &str) -> String {
    let params = [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", STATE),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let browser = server.browser();
    let location = server.login(&browser, &params, USER, PASSWORD).await;
    assert_eq!(query_value(&location, "state").as_deref(), Some(STATE));
    query_value(&location, "code")
        .unwrap_or_else(|| panic!("the login ends with a code: {location}"))
}

/// A code flow at PORTAL up to the token response.
async fn portal_tokens(server: &TestServer) -> Value {
    let (verifier, challenge) = pkce_pair();
    let code = portal_code(server, &challenge).await;
    json_ok(
        redeem(
            server,
            (PORTAL, PORTAL_SECRET),
            &code,
            &verifier,
            PORTAL_REDIRECT,
        )
        .await,
    )
    .await
}

async fn redeem(
    server: &TestServer,
    client: (&str, &str),
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Response {
    post_token(
        server,
        Some(client),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
        ],
    )
    .await
}

async fn refresh(
    server: &TestServer,
    client: (&str, &str),
    refresh_token: &str,
    scope: Option<&str>,
) -> Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_token(server, Some(client), &form).await
}

/// POSTs a form to the token endpoint, with `client_secret_basic` when `basic` is given.
async fn post_token(
    server: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Response {
    let mut request = server.http().post(server.endpoint("token")).form(form);
    if let Some((client_id, secret)) = basic {
        request = request.header(header::AUTHORIZATION, basic_header(client_id, secret));
    }
    request.send().await.expect("token request")
}

async fn introspect(server: &TestServer, client: (&str, &str), token: &str) -> Value {
    let response = server
        .http()
        .post(server.endpoint("token/introspect"))
        .header(header::AUTHORIZATION, basic_header(client.0, client.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection request");
    json_ok(response).await
}

async fn revoke(server: &TestServer, client: (&str, &str), token: &str) -> Response {
    server
        .http()
        .post(server.endpoint("revoke"))
        .header(header::AUTHORIZATION, basic_header(client.0, client.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("revocation request")
}

async fn userinfo(server: &TestServer, access_token: &str) -> Response {
    server
        .http()
        .get(server.endpoint("userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo request")
}

fn admin_url(server: &TestServer, path: &str) -> String {
    format!("{}/admin/realms/test/{path}", server.base_url)
}

/// `client_secret_basic` as RFC 6749 §2.3.1 has it: each half form-urlencoded, then Base64.
fn basic_header(client_id: &str, secret: &str) -> String {
    let encode =
        |part: &str| url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    format!("Basic {}", BASE64.encode(credentials.as_bytes()))
}

/// A back-channel JSON error (RFC 6749 §5.2): status, `error`, and never cached. Returns the
/// body.
async fn assert_token_error(response: Response, status: StatusCode, error: &str) -> Value {
    let actual_status = response.status();
    let cache_control = header_value(&response, header::CACHE_CONTROL);
    let body = response.text().await.expect("an error body");
    assert_eq!(actual_status, status, "expected {error}, got {body}");
    assert_eq!(cache_control.as_deref(), Some("no-store"), "{body}");
    let body: Value = serde_json::from_str(&body).expect("a JSON error body");
    assert_eq!(body["error"], json!(error), "{body}");
    body
}

/// 401 `invalid_client` with a challenge (RFC 6749 §5.2).
async fn assert_invalid_client(response: Response) {
    let challenge = header_value(&response, header::WWW_AUTHENTICATE);
    assert!(
        challenge
            .as_deref()
            .is_some_and(|value| value.starts_with("Basic")),
        "invalid_client comes with a Basic challenge, got {challenge:?}"
    );
    assert_token_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

/// An HTML error page with a message, and no redirect anywhere.
async fn assert_error_page(response: Response, status: StatusCode, message: &str, case: &str) {
    assert_eq!(response.status(), status, "{case}");
    assert_eq!(location(&response), None, "{case}: no redirect");
    assert!(
        header_value(&response, header::CONTENT_TYPE)
            .is_some_and(|value| value.starts_with("text/html")),
        "{case}: an HTML page"
    );
    let html = response.text().await.expect("page body");
    assert!(
        html.contains(message),
        "{case}: expected {message:?} in {html}"
    );
    assert!(
        !html.contains("http-equiv=\"refresh\""),
        "{case}: no meta refresh"
    );
}

/// An admin API error: status and the stable `error` code of its JSON body.
async fn assert_admin_error(response: Response, status: StatusCode, error: &str) {
    let actual_status = response.status();
    let body = response.text().await.expect("an error body");
    assert_eq!(actual_status, status, "expected {error}, got {body}");
    let body: Value = serde_json::from_str(&body).expect("a JSON error body");
    assert_eq!(body["error"], json!(error), "{body}");
}

/// The JSON body of a 200 answer, with the body in the message otherwise.
async fn json_ok(response: Response) -> Value {
    let status = response.status();
    let body = response.text().await.expect("response body");
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).expect("a JSON body")
}

fn string_field(document: &Value, name: &str) -> String {
    document[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {document}"))
        .to_owned()
}

fn header_value(response: &Response, name: header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn query_value(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn unknown_paths_answer_a_page_to_browsers_and_json_to_programs() {
    let server = TestServer::start(crate::harness::Backend::Sqlite).await;
    let url = format!("{}/realms/test/account/nowhere", server.base_url);

    let page = server
        .http()
        .get(&url)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("The page you asked for does not exist."),
        "{html}"
    );

    let json = server.http().get(&url).send().await.unwrap();
    assert_eq!(json.status(), StatusCode::NOT_FOUND);
    let body: Value = json.json().await.unwrap();
    assert_eq!(body, json!({ "error": "not_found" }));
}
