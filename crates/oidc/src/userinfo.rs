//! The userinfo endpoint (OIDC Core §5.3), by GET or POST, with the token in the
//! `Authorization` header or, for POST, in the form body (RFC 6750 §2.1, §2.2).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::Provider;
use crate::access::{TokenCheckError, bearer_token, verify_access_token};
use crate::error::{ErrorCode, bearer_error, no_store};
use crate::issue::user_claims;
use crate::params::{Params, is_form};

/// `GET /realms/{realm}/protocol/openid-connect/userinfo`.
pub(crate) async fn get_userinfo(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    userinfo(
        &provider,
        &realm,
        bearer_token(authorization).map(str::to_owned),
        false,
    )
    .await
}

/// `POST /realms/{realm}/protocol/openid-connect/userinfo`.
pub(crate) async fn post_userinfo(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let from_header = bearer_token(authorization).map(str::to_owned);
    let from_body = if is_form(&headers) {
        match Params::parse(&body) {
            Ok(params) => params.get("access_token").map(str::to_owned),
            Err(_) => return bearer_error(&realm, Some(ErrorCode::InvalidRequest)),
        }
    } else {
        None
    };
    // RFC 6750 §2: a client must not send the token in more than one way.
    let both = from_header.is_some() && from_body.is_some();
    userinfo(&provider, &realm, from_header.or(from_body), both).await
}

async fn userinfo(
    provider: &Provider,
    realm: &str,
    token: Option<String>,
    ambiguous: bool,
) -> Response {
    if ambiguous {
        return bearer_error(realm, Some(ErrorCode::InvalidRequest));
    }
    let Some(token) = token else {
        return bearer_error(realm, None);
    };
    let settings = match provider.realm(realm).await {
        Ok(Some(settings)) => settings,
        Ok(None) => return bearer_error(realm, Some(ErrorCode::InvalidToken)),
        Err(err) => {
            tracing::error!(realm, error = %err, "realm lookup failed");
            return crate::token::store_failure(err).into_response();
        }
    };
    let verified = match verify_access_token(provider, realm, &settings, &token).await {
        Ok(verified) => verified,
        Err(TokenCheckError::Unavailable(cause)) => {
            tracing::error!(realm, cause, "userinfo could not check a token");
            return crate::error::OAuthError::server().into_response();
        }
        Err(err) => {
            tracing::debug!(realm, reason = %err, "userinfo refused a token");
            return bearer_error(realm, Some(ErrorCode::InvalidToken));
        }
    };
    if !verified.scopes.contains("openid") {
        return bearer_error(realm, Some(ErrorCode::InsufficientScope));
    }

    let (realm_name, subject) = (realm.to_owned(), verified.subject.clone());
    let user = match provider
        .db
        .run(move |conn| sesame_store::find_user(conn, &realm_name, &subject))
        .await
    {
        Ok(user) => user,
        Err(err) => return crate::token::store_failure(err).into_response(),
    };
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(verified.subject));
    match user {
        Some(user) if user.enabled => claims.extend(user_claims(&user, &verified.scopes)),
        Some(_) => return bearer_error(realm, Some(ErrorCode::InvalidToken)),
        // A service account's token: it has no user behind it.
        None if verified.grant_id.is_none() => {
            claims.insert(
                "preferred_username".into(),
                json!(format!("service-account-{}", verified.client_id)),
            );
        }
        None => return bearer_error(realm, Some(ErrorCode::InvalidToken)),
    }
    (no_store(), Json(Value::Object(claims))).into_response()
}
