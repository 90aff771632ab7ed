//! Who is calling the admin API: the service account of a client with the realm-admin right,
//! proven by a bearer access token of its realm.

use axum::http::{HeaderMap, header};
use serde_json::Value;
use sesame_domain::RealmSettings;
use sesame_oidc::Provider;
use sesame_oidc::access::{bearer_token, verify_access_token};
use sesame_oidc::jwt::UnverifiedJwt;

use crate::AdminError;

/// An authenticated administrator of the target realm.
#[derive(Debug)]
pub(crate) struct Admin {
    /// The realm whose client holds the right.
    pub(crate) realm: String,
    /// The administrating client's `client_id`.
    pub(crate) client_id: String,
}

/// Checks the bearer token and the caller's right over `target_realm`, and returns the target
/// realm's settings.
pub(crate) async fn authorize(
    provider: &Provider,
    headers: &HeaderMap,
    target_realm: &str,
) -> Result<(Admin, RealmSettings), AdminError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let token = bearer_token(authorization).ok_or(AdminError::Unauthenticated)?;

    // The token's issuer names its realm; the signature check below proves it.
    let unverified = UnverifiedJwt::parse(token).map_err(|_| AdminError::Unauthenticated)?;
    let issuer = unverified
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(AdminError::Unauthenticated)?;
    let prefix = format!("{}/realms/", provider.public_url);
    let token_realm = issuer
        .strip_prefix(&prefix)
        .filter(|realm| !realm.contains('/'));
    let token_realm = token_realm.ok_or(AdminError::Unauthenticated)?.to_owned();
    let token_settings = provider
        .realm(&token_realm)
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::Unauthenticated)?;
    let verified = verify_access_token(provider, &token_realm, &token_settings, token)
        .await
        .map_err(|err| {
            tracing::debug!(realm = %token_realm, reason = %err, "admin API refused a token");
            AdminError::Unauthenticated
        })?;

    let (lookup_realm, client_id) = (token_realm.clone(), verified.client_id.clone());
    let client = provider
        .db
        .run(move |conn| sesame_store::find_client(conn, &lookup_realm, &client_id))
        .await?;
    let is_admin = client.is_some_and(|client| {
        client.enabled
            && client.realm_admin
            && verified.grant_id.is_none()
            && client.id == verified.subject
    });
    if !is_admin || (token_realm != "master" && token_realm != target_realm) {
        tracing::info!(realm = target_realm, token_realm, client_id = %verified.client_id, "admin API call refused");
        return Err(AdminError::Forbidden);
    }
    let settings = provider
        .realm(target_realm)
        .await?
        .ok_or(AdminError::NotFound("realm"))?;
    Ok((
        Admin {
            realm: token_realm,
            client_id: verified.client_id,
        },
        settings,
    ))
}
