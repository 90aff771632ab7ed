//! The token endpoint (RFC 6749 §3.2): the authorization code, refresh token and client
//! credentials grants.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use sesame_domain::{
    AuditEvent, Client, CodeChallenge, CodeVerifier, EventType, RealmSettings, Scopes, User,
};
use sesame_store::{GrantRow, Redemption, StoreError};

use crate::client_auth::authenticate_client;
use crate::error::{ErrorCode, OAuthError, no_store};
use crate::issue::{IssuedTokens, Subject, issue_tokens, token_response_body};
use crate::params::{Params, is_form};
use crate::{ClientAddress, Provider, audit, sha256, sha256_hex};

/// `POST /realms/{realm}/protocol/openid-connect/token`.
pub(crate) async fn post_token(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token(&provider, &realm, &address, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn token(
    provider: &Provider,
    realm: &str,
    address: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let settings = realm_settings(provider, realm).await?;
    if !is_form(headers) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "expected application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(body)
        .map_err(|err| OAuthError::new(ErrorCode::InvalidRequest, err.description()))?;
    let endpoint = format!("{}/protocol/openid-connect/token", provider.issuer(realm));
    let client = authenticate_client(provider, realm, headers, &params, &endpoint).await?;

    let now = provider.clock.now();
    let event =
        |event_type| audit::event(provider, realm, event_type, address).client(&client.client_id);
    let tokens = match params.get("grant_type") {
        Some("authorization_code") => {
            let success = event(EventType::CodeToToken);
            let issued = authorization_code(provider, realm, &settings, &client, &params, success);
            refused(provider, issued.await, event(EventType::CodeToTokenError)).await?
        }
        Some("refresh_token") => {
            let success = event(EventType::RefreshToken);
            let issued = refresh_token(provider, realm, &settings, &client, &params, success);
            refused(provider, issued.await, event(EventType::RefreshTokenError)).await?
        }
        Some("client_credentials") => {
            let success = event(EventType::ClientLogin);
            let issued = client_credentials(provider, realm, &settings, &client, &params, success);
            refused(provider, issued.await, event(EventType::ClientLoginError)).await?
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            ));
        }
        None => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "grant_type is required",
            ));
        }
    };
    let grant_type = params.get("grant_type").unwrap_or_default();
    provider.metrics.token_issued(realm, grant_type);
    Ok((no_store(), Json(token_response_body(&tokens, now))).into_response())
}

async fn authorization_code(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    client: &Client,
    params: &Params,
    event: AuditEvent,
) -> Result<IssuedTokens, OAuthError> {
    let now = event.time;
    let code = params.get("code").ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "code is required",
    ))?;
    let (code_sha256, client_id) = (sha256_hex(code), client.client_id.clone());
    let redemption = provider
        .db
        .run(move |conn| sesame_store::redeem_code(conn, &code_sha256, &client_id, now))
        .await
        .map_err(store_failure)?;
    let (code_row, grant) = match redemption {
        Redemption::Redeemed(code_row, grant) => (code_row, grant),
        Redemption::Replayed => {
            tracing::warn!(realm, client_id = %client.client_id, "authorization code reused: grant revoked");
            return Err(invalid_grant("code already used"));
        }
        Redemption::WrongClient => {
            tracing::warn!(realm, client_id = %client.client_id, "authorization code of another client presented");
            return Err(invalid_grant("code was issued to another client"));
        }
        Redemption::Unknown => return Err(invalid_grant("unknown code")),
    };
    if code_row.expires_at <= now {
        return Err(invalid_grant("code expired"));
    }
    match params.get("redirect_uri") {
        Some(redirect_uri) if redirect_uri == code_row.redirect_uri => {}
        None if client.redirect_uris.len() == 1 => {}
        _ => {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
    }
    match (&code_row.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let verifier = CodeVerifier::parse(verifier)
                .map_err(|_| invalid_grant("malformed code_verifier"))?;
            CodeChallenge::from_stored(challenge.clone())
                .verify(&verifier, sha256)
                .map_err(|_| invalid_grant("code_verifier does not match"))?;
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        // A verifier without a challenge would let an attacker downgrade PKCE (RFC 9700 §2.1.1).
        (None, Some(_)) => return Err(invalid_grant("no code_challenge was sent for this code")),
        (None, None) => {}
    }

    let user = live_grant_user(provider, realm, settings, &grant, now).await?;
    let scopes = Scopes::parse_supported(Some(&grant.scope));
    let refresh_expires_at = refresh_expiry(provider, settings, &grant, now).await?;
    let tokens = sign(
        provider,
        realm,
        settings,
        client,
        &Subject {
            user: Some(&user),
            grant: Some(&grant),
        },
        &scopes,
        code_row.nonce.as_deref(),
        Some(refresh_expires_at),
        now,
    )
    .await?;
    let event = event
        .user_id(&user.id)
        .detail("grant_type", "authorization_code");
    store_refresh(provider, &tokens, issued_event(event, &grant, &tokens)).await?;
    tracing::info!(realm, client_id = %client.client_id, user_id = %user.id, grant = "authorization_code", "tokens issued");
    Ok(tokens)
}

async fn refresh_token(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    client: &Client,
    params: &Params,
    event: AuditEvent,
) -> Result<IssuedTokens, OAuthError> {
    let now = event.time;
    let token = params.get("refresh_token").ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "refresh_token is required",
    ))?;
    let (token_sha256, client_id) = (sha256_hex(token), client.client_id.clone());
    let redemption = provider
        .db
        .run(move |conn| sesame_store::redeem_refresh_token(conn, &token_sha256, &client_id, now))
        .await
        .map_err(store_failure)?;
    let (row, grant) = match redemption {
        Redemption::Redeemed(row, grant) => (row, grant),
        Redemption::Replayed => {
            tracing::warn!(realm, client_id = %client.client_id, "rotated refresh token reused: grant revoked");
            return Err(invalid_grant("refresh token already used"));
        }
        Redemption::WrongClient => return Err(invalid_grant("refresh token of another client")),
        Redemption::Unknown => return Err(invalid_grant("unknown refresh token")),
    };
    if row.expires_at <= now {
        return Err(invalid_grant("refresh token expired"));
    }
    if grant.revoked_at.is_some() {
        return Err(invalid_grant("grant revoked"));
    }
    let granted = Scopes::parse_supported(Some(&row.scope));
    let scopes = match params.get("scope") {
        Some(requested) => {
            let requested = Scopes::parse_supported(Some(requested));
            if !requested.is_subset(&granted) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds the original grant",
                ));
            }
            requested
        }
        None => granted,
    };
    let user = live_grant_user(provider, realm, settings, &grant, now).await?;
    let refresh_expires_at = refresh_expiry(provider, settings, &grant, now).await?;
    let tokens = sign(
        provider,
        realm,
        settings,
        client,
        &Subject {
            user: Some(&user),
            grant: Some(&grant),
        },
        &scopes,
        None,
        Some(refresh_expires_at),
        now,
    )
    .await?;
    let event = event
        .user_id(&user.id)
        .detail("grant_type", "refresh_token");
    store_refresh(provider, &tokens, issued_event(event, &grant, &tokens)).await?;
    if let Some(session_id) = grant.session_id.clone() {
        let touched = provider
            .db
            .run(move |conn| sesame_store::touch_user_session(conn, &session_id, now))
            .await;
        touched.map_err(store_failure)?;
    }
    tracing::info!(realm, client_id = %client.client_id, user_id = %user.id, grant = "refresh_token", "tokens issued");
    Ok(tokens)
}

async fn client_credentials(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    client: &Client,
    params: &Params,
    event: AuditEvent,
) -> Result<IssuedTokens, OAuthError> {
    let now = event.time;
    if client.is_public() || !client.service_accounts_enabled {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client credentials are not enabled for this client",
        ));
    }
    let mut scopes = Scopes::parse_supported(params.get("scope"));
    if scopes.is_empty() {
        scopes = Scopes::parse_supported(Some("profile email"));
    }
    // No refresh token: the client can always ask again (RFC 6749 §4.4.3).
    let tokens = sign(
        provider,
        realm,
        settings,
        client,
        &Subject {
            user: None,
            grant: None,
        },
        &scopes,
        None,
        None,
        now,
    )
    .await?;
    let event = event.detail("grant_type", "client_credentials");
    audit::record(provider, event.detail("scope", &tokens.scope)).await;
    tracing::info!(realm, client_id = %client.client_id, grant = "client_credentials", "tokens issued");
    Ok(tokens)
}

#[allow(
    clippy::too_many_arguments,
    reason = "forwards the inputs of issue_tokens"
)]
async fn sign(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    client: &Client,
    subject: &Subject<'_>,
    scopes: &Scopes,
    nonce: Option<&str>,
    refresh_expires_at: Option<i64>,
    now: i64,
) -> Result<IssuedTokens, OAuthError> {
    let keys = provider
        .keys
        .realm_keys(
            &provider.db,
            realm,
            settings.default_signature_algorithm,
            now,
        )
        .await
        .map_err(|err| {
            tracing::error!(realm, error = %err, "signing keys unavailable");
            OAuthError::server()
        })?;
    let issuer = provider.issuer(realm);
    issue_tokens(
        &keys.active,
        &issuer,
        settings,
        client,
        subject,
        scopes,
        nonce,
        refresh_expires_at,
        now,
    )
    .map_err(|err| {
        tracing::error!(realm, error = %err, "token signing failed");
        OAuthError::server()
    })
}

/// The user of a grant, if the grant, its browser session and the user are all still valid.
async fn live_grant_user(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    grant: &GrantRow,
    now: i64,
) -> Result<User, OAuthError> {
    let (realm_name, user_id, session_id) = (
        realm.to_owned(),
        grant.user_id.clone(),
        grant.session_id.clone(),
    );
    let idle = settings.sso_session_idle_timeout;
    let (user, session_live) = provider
        .db
        .run(move |conn| {
            let user = match &user_id {
                Some(user_id) => sesame_store::find_user(conn, &realm_name, user_id)?,
                None => None,
            };
            let live = match &session_id {
                Some(session_id) => {
                    sesame_store::is_user_session_live(conn, session_id, now, idle)?
                }
                None => true,
            };
            Ok((user, live))
        })
        .await
        .map_err(store_failure)?;
    if !session_live {
        return Err(invalid_grant("the browser session has ended"));
    }
    user.filter(|user| user.enabled)
        .ok_or_else(|| invalid_grant("user disabled or deleted"))
}

/// A refresh token lives as long as the browser session may stay idle, and never beyond the
/// session's absolute end.
async fn refresh_expiry(
    provider: &Provider,
    settings: &RealmSettings,
    grant: &GrantRow,
    now: i64,
) -> Result<i64, OAuthError> {
    let idle_end = now + settings.sso_session_idle_timeout;
    let Some(session_id) = grant.session_id.clone() else {
        return Ok(idle_end);
    };
    let session = provider
        .db
        .run(move |conn| sesame_store::find_user_session(conn, &session_id))
        .await
        .map_err(store_failure)?;
    Ok(session.map_or(idle_end, |session| idle_end.min(session.expires_at)))
}

/// Stores the new refresh token, if any, and the event of its issue in one transaction.
async fn store_refresh(
    provider: &Provider,
    tokens: &IssuedTokens,
    event: AuditEvent,
) -> Result<(), OAuthError> {
    let row = tokens.refresh.as_ref().map(|(_, row)| row.clone());
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                if let Some(row) = &row {
                    sesame_store::insert_refresh_token(conn, row)?;
                }
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
        .map_err(store_failure)
}

/// Records the refusal of a grant, the client's own fault (a reused code, an expired refresh
/// token), as `event` with the OAuth error code and its description; our own failures are not
/// the client's doing and are logged where they happen.
async fn refused(
    provider: &Provider,
    issued: Result<IssuedTokens, OAuthError>,
    event: AuditEvent,
) -> Result<IssuedTokens, OAuthError> {
    if let Err(err) = &issued
        && !matches!(
            err.code,
            ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable
        )
    {
        let event = event.error(err.code.as_str());
        audit::record(
            provider,
            event.detail("reason", err.description.unwrap_or_default()),
        )
        .await;
    }
    issued
}

/// The event of tokens issued for a grant: its browser session and the scope granted.
fn issued_event(event: AuditEvent, grant: &GrantRow, tokens: &IssuedTokens) -> AuditEvent {
    let event = event.detail("scope", &tokens.scope);
    match &grant.session_id {
        Some(session_id) => event.session(session_id),
        None => event,
    }
}

/// The settings of an enabled realm, or `invalid_request` for an unknown one.
pub(crate) async fn realm_settings(
    provider: &Provider,
    realm: &str,
) -> Result<RealmSettings, OAuthError> {
    match provider.realm(realm).await {
        Ok(Some(settings)) => Ok(settings),
        Ok(None) => Err(OAuthError::new(ErrorCode::InvalidRequest, "unknown realm")),
        Err(err) => Err(store_failure(err)),
    }
}

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "called as a map_err function"
)]
pub(crate) fn store_failure(err: StoreError) -> OAuthError {
    tracing::error!(error = %err, "database failure at a back-channel endpoint");
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the database is unavailable",
    )
}
