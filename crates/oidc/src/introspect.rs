//! Token introspection ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)) for access and
//! refresh tokens, for authenticated clients of the realm.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::access::{TokenCheckError, verify_access_token};
use crate::client_auth::authenticate_client;
use crate::error::{ErrorCode, OAuthError, no_store};
use crate::params::{Params, is_form};
use crate::token::{realm_settings, store_failure};
use crate::{Provider, sha256_hex};

/// `POST /realms/{realm}/protocol/openid-connect/token/introspect`.
pub(crate) async fn post_introspect(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match introspect(&provider, &realm, &headers, &body).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn introspect(
    provider: &Provider,
    realm: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let settings = realm_settings(provider, realm).await?;
    if !is_form(headers) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "expected application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(body)
        .map_err(|err| OAuthError::new(ErrorCode::InvalidRequest, err.description()))?;
    let endpoint = format!(
        "{}/protocol/openid-connect/token/introspect",
        provider.issuer(realm)
    );
    let client = authenticate_client(provider, realm, headers, &params, &endpoint).await?;
    if client.is_public() {
        return Err(OAuthError::invalid_client());
    }
    let token = params.get("token").ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "token is required",
    ))?;
    let inactive = json!({ "active": false });

    // A JWT is one of our access tokens; anything else may be a refresh token.
    if token.matches('.').count() == 2 {
        return match verify_access_token(provider, realm, &settings, token).await {
            Ok(verified) => {
                let mut answer = verified.claims;
                answer.insert("active".into(), json!(true));
                answer.insert("token_type".into(), json!("Bearer"));
                if let Some(username) = answer.get("preferred_username").cloned() {
                    answer.insert("username".into(), username);
                }
                Ok(Value::Object(answer))
            }
            Err(TokenCheckError::Unavailable(cause)) => {
                tracing::error!(realm, cause, "introspection could not check a token");
                Err(OAuthError::server())
            }
            Err(_) => Ok(inactive),
        };
    }
    let token_sha256 = sha256_hex(token);
    let found = provider
        .db
        .run(move |conn| sesame_store::find_refresh_token(conn, &token_sha256))
        .await
        .map_err(store_failure)?;
    let now = provider.clock.now();
    let Some((row, grant)) = found else {
        return Ok(inactive);
    };
    if row.used_at.is_some() || row.expires_at <= now || grant.revoked_at.is_some() {
        return Ok(inactive);
    }
    Ok(json!({
        "active": true,
        "token_type": "Refresh",
        "scope": row.scope,
        "client_id": grant.client_id,
        "sub": grant.user_id,
        "exp": row.expires_at,
        "iat": row.created_at,
        "iss": provider.issuer(realm),
        "sid": grant.session_id,
    }))
}
