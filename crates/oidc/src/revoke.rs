//! Token revocation ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)). Revoking a refresh
//! token revokes its whole grant; revoking an access token marks its `jti`. An unknown token
//! gets 200, as §2.2 requires, so the endpoint reveals nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::access::verify_signed;
use crate::client_auth::authenticate_client;
use crate::error::{ErrorCode, OAuthError, no_store};
use crate::params::{Params, is_form};
use crate::token::{realm_settings, store_failure};
use crate::{Provider, sha256_hex};

/// `POST /realms/{realm}/protocol/openid-connect/revoke`.
pub(crate) async fn post_revoke(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke(&provider, &realm, &headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn revoke(
    provider: &Provider,
    realm: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let settings = realm_settings(provider, realm).await?;
    if !is_form(headers) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "expected application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(body)
        .map_err(|err| OAuthError::new(ErrorCode::InvalidRequest, err.description()))?;
    let endpoint = format!("{}/protocol/openid-connect/revoke", provider.issuer(realm));
    let client = authenticate_client(provider, realm, headers, &params, &endpoint).await?;
    let token = params.get("token").ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "token is required",
    ))?;
    let now = provider.clock.now();

    if token.matches('.').count() == 2 {
        let Ok(jwt) = verify_signed(provider, realm, &settings, token).await else {
            return Ok(());
        };
        let claim = |name: &str| {
            jwt.claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        if claim("client_id").as_deref() != Some(client.client_id.as_str()) {
            // RFC 7009 §2.1: a client may only revoke its own tokens.
            tracing::info!(realm, client_id = %client.client_id, "refused to revoke another client's token");
            return Ok(());
        }
        let (Some(jti), Some(expires_at)) = (
            claim("jti"),
            jwt.claims.get("exp").and_then(serde_json::Value::as_i64),
        ) else {
            return Ok(());
        };
        provider
            .db
            .run(move |conn| sesame_store::insert_token_mark(conn, &jti, expires_at).map(|_| ()))
            .await
            .map_err(store_failure)?;
        tracing::info!(realm, client_id = %client.client_id, "access token revoked");
        return Ok(());
    }

    let token_sha256 = sha256_hex(token);
    let client_id = client.client_id.clone();
    let revoked = provider
        .db
        .run(move |conn| {
            let Some((_, grant)) = sesame_store::find_refresh_token(conn, &token_sha256)? else {
                return Ok(false);
            };
            if grant.client_id != client_id {
                return Ok(false);
            }
            sesame_store::revoke_grant(conn, &grant.id, now)?;
            Ok(true)
        })
        .await
        .map_err(store_failure)?;
    if revoked {
        tracing::info!(realm, client_id = %client.client_id, "refresh token revoked with its grant");
    }
    Ok(())
}
