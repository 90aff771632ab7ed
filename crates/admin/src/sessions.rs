//! A user's browser sessions, `/admin/realms/{realm}/users/{id}/sessions`, and their ending by
//! an administrator: all of a user's (`logout`) or one (`/sessions/{sessionId}`). Ending a
//! session revokes the grants issued through it, so its refresh tokens stop working.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use sesame_actions::Actions;
use sesame_domain::{OperationType, ResourceType, User};
use sesame_oidc::ClientAddress;
use sesame_store::UserSessionRow;

use crate::AdminError;
use crate::auth::authorize;

/// Keycloak's `UserSessionRepresentation`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserSessionRepresentation {
    id: String,
    username: String,
    user_id: String,
    ip_address: String,
    start: i64,
    last_access: i64,
    remember_me: bool,
    /// The clients signed in through the session: internal id to `clientId`.
    clients: BTreeMap<String, String>,
}

/// `GET /admin/realms/{realm}/users/{id}/sessions`: the user's live browser sessions, newest
/// first.
pub(crate) async fn get_user_sessions(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Vec<UserSessionRepresentation>>, AdminError> {
    let provider = &actions.provider;
    let (_, settings) = authorize(provider, &headers, &realm).await?;

    let now = provider.clock.now();
    let idle_since = now - settings.sso_session_idle_timeout;
    let sessions = provider
        .db
        .run(move |conn| {
            let Some(user) = sesame_store::find_user(conn, &realm, &id)? else {
                return Ok(None);
            };
            let clients = sesame_store::list_clients(conn, &realm)?;
            let mut representations = Vec::new();
            for session in sesame_store::list_user_sessions(conn, &user.id, now)? {
                // Past its idle timeout a session can no longer be used: it is over.
                if session.last_seen_at <= idle_since {
                    continue;
                }
                let client_ids = sesame_store::list_session_client_ids(conn, &session.id)?;
                let signed_in = clients
                    .iter()
                    .filter(|client| client_ids.contains(&client.client_id))
                    .map(|client| (client.id.clone(), client.client_id.clone()))
                    .collect();
                representations.push(represent(&user, &session, signed_in));
            }
            Ok(Some(representations))
        })
        .await?
        .ok_or(AdminError::NotFound("user"))?;

    Ok(Json(sessions))
}

/// `POST /admin/realms/{realm}/users/{id}/logout`: ends every session of the user.
pub(crate) async fn post_user_logout(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;

    let now = provider.clock.now();
    let (realm_name, user_id) = (realm.clone(), id.clone());
    let change = (
        OperationType::Action,
        ResourceType::User,
        format!("users/{id}/logout"),
    );
    let event = admin.event(provider, &realm, change, &address);
    let ended = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                if sesame_store::find_user(conn, &realm_name, &user_id)?.is_none() {
                    return Ok(None);
                }
                sesame_store::insert_event(conn, &event)?;
                sesame_store::end_all_user_sessions(conn, &user_id, now).map(Some)
            })
        })
        .await?
        .ok_or(AdminError::NotFound("user"))?;

    tracing::info!(
        realm,
        user_id = %id,
        ended,
        admin = %admin.client_id,
        admin_realm = %admin.realm,
        "user signed out of every session"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}/sessions/{sessionId}`: ends one live session of the realm.
pub(crate) async fn delete_session(
    State(actions): State<Arc<Actions>>,
    Path((realm, session_id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;

    let now = provider.clock.now();
    let (realm_name, key) = (realm.clone(), session_id.clone());
    let path = format!("sessions/{session_id}");
    let event = admin.event(
        provider,
        &realm,
        (OperationType::Delete, ResourceType::UserSession, path),
        &address,
    );
    let user_id = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                // Another realm's session is as unknown here as one that never existed.
                let session = sesame_store::find_user_session(conn, &key)?
                    .filter(|session| session.realm == realm_name && session.ended_at.is_none());
                let Some(session) = session else {
                    return Ok(None);
                };
                sesame_store::end_user_session(conn, &session.id, now)?;
                sesame_store::insert_event(conn, &event)?;
                Ok(Some(session.user_id))
            })
        })
        .await?
        .ok_or(AdminError::NotFound("session"))?;

    tracing::info!(
        realm,
        user_id,
        session = %session_id,
        admin = %admin.client_id,
        admin_realm = %admin.realm,
        "session ended"
    );
    Ok(StatusCode::NO_CONTENT)
}

fn represent(
    user: &User,
    session: &UserSessionRow,
    clients: BTreeMap<String, String>,
) -> UserSessionRepresentation {
    UserSessionRepresentation {
        id: session.id.clone(),
        username: user.username.clone(),
        user_id: user.id.clone(),
        ip_address: session.ip.clone(),
        start: session.created_at * 1000,
        last_access: session.last_seen_at * 1000,
        remember_me: false,
        clients,
    }
}
