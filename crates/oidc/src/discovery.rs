//! Discovery ([OIDC Discovery 1.0 §4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig))
//! and the JSON Web Key Set of a realm.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sesame_domain::SUPPORTED_SCOPES;

use crate::Provider;
use crate::error::OAuthError;

/// `GET /realms/{realm}/.well-known/openid-configuration`.
pub(crate) async fn get_openid_configuration(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
) -> Response {
    match provider.realm(&realm).await {
        Ok(Some(_)) => (
            cache_for_a_while(),
            Json(metadata(&provider.issuer(&realm))),
        )
            .into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "realm_not_found" })),
        )
            .into_response(),
        Err(err) => crate::token::store_failure(err).into_response(),
    }
}

/// `GET /realms/{realm}/protocol/openid-connect/certs`.
pub(crate) async fn get_certs(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
) -> Response {
    let settings = match provider.realm(&realm).await {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "realm_not_found" })),
            )
                .into_response();
        }
        Err(err) => return crate::token::store_failure(err).into_response(),
    };
    let now = provider.clock.now();
    match provider
        .keys
        .realm_keys(
            &provider.db,
            &realm,
            settings.default_signature_algorithm,
            now,
        )
        .await
    {
        Ok(keys) => {
            let content_type = (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            ([content_type], cache_for_a_while(), keys.jwks.clone()).into_response()
        }
        Err(err) => {
            tracing::error!(realm, error = %err, "signing keys unavailable");
            OAuthError::server().into_response()
        }
    }
}

/// Clients cache these documents; a short lifetime lets a key rotation reach them quickly.
fn cache_for_a_while() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    )]
}

/// The provider metadata of a realm.
pub(crate) fn metadata(issuer: &str) -> Value {
    let endpoint = |path: &str| format!("{issuer}/protocol/openid-connect/{path}");
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("auth"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "jwks_uri": endpoint("certs"),
        "end_session_endpoint": endpoint("logout"),
        "revocation_endpoint": endpoint("revoke"),
        "introspection_endpoint": endpoint("token/introspect"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "sid", "acr",
            "amr", "name", "given_name", "family_name", "preferred_username", "email",
            "email_verified", "locale"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["fr", "en"],
        "acr_values_supported": ["0", "1", "2"],
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}
