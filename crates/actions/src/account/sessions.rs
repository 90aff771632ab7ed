//! The user's browser sessions: when each started and was last used, from which address and
//! which browser; ending one, or every one but the current.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use sesame_domain::{AuditEvent, EventType};
use sesame_oidc::ClientAddress;
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::pages::error_page;
use sesame_store::{StoreError, UserSessionRow};

use super::{Console, open_form};
use crate::Actions;
use crate::authenticate::see_other;

/// The user's live sessions as the console's first page lists them, the current one first.
pub(crate) async fn list(actions: &Actions, console: &Console) -> Result<Vec<Value>, StoreError> {
    let sessions = live_sessions(actions, console).await?;
    let (current, others): (Vec<_>, Vec<_>) = sessions
        .into_iter()
        .partition(|session| session.id == console.session.id);
    Ok(current
        .iter()
        .chain(others.iter())
        .map(|session| {
            json!({
                "id": session.id,
                "started_at": session.created_at,
                "last_seen_at": session.last_seen_at,
                "ip": session.ip,
                "user_agent": session.user_agent,
                "current": session.id == console.session.id,
                "end_url": console.url(actions, &format!("/sessions/{}/end", session.id)),
            })
        })
        .collect())
}

/// `POST /realms/{realm}/account/sessions/{session_id}/end`: ends one of the user's sessions
/// and revokes the tokens issued through it.
pub(crate) async fn post_end_session(
    State(actions): State<Arc<Actions>>,
    Path((realm, session_id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let return_to = format!("/realms/{realm}/account");
    let (console, _) = match open_form(&actions, &realm, &headers, address, &return_to, &body).await
    {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let sessions = match live_sessions(&actions, &console).await {
        Ok(sessions) => sessions,
        Err(err) => return server_error_page(&actions.provider, &err),
    };
    if !sessions.iter().any(|session| session.id == session_id) {
        return error_page(
            &actions.provider,
            StatusCode::NOT_FOUND,
            &console.locale,
            "accountUnknownSessionMessage",
        );
    }

    let now = console.now;
    let ended = session_id.clone();
    let event = ended_event(&actions, &console, &session_id);
    if let Err(err) = actions
        .provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::end_user_session(conn, &ended, now)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
    {
        return server_error_page(&actions.provider, &err);
    }
    tracing::info!(realm = %console.realm, user_id = %console.user.id, session = %session_id, ip = %console.address, "session ended from the account console");
    see_other(&format!("{}?done=session-ended", console.url(&actions, "")))
}

/// `POST /realms/{realm}/account/sessions/end-others`: ends every session but this one.
pub(crate) async fn post_end_other_sessions(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let return_to = format!("/realms/{realm}/account");
    let (console, _) = match open_form(&actions, &realm, &headers, address, &return_to, &body).await
    {
        Ok(opened) => opened,
        Err(response) => return response,
    };

    match end_other_sessions(&actions, &console).await {
        Ok(count) => {
            tracing::info!(realm = %console.realm, user_id = %console.user.id, count, ip = %console.address, "other sessions ended from the account console");
            see_other(&format!(
                "{}?done=sessions-ended",
                console.url(&actions, "")
            ))
        }
        Err(err) => server_error_page(&actions.provider, &err),
    }
}

/// Ends every session of the user but the console's, in one transaction; returns how many.
pub(crate) async fn end_other_sessions(
    actions: &Actions,
    console: &Console,
) -> Result<usize, StoreError> {
    let (user_id, current, now) = (
        console.user.id.clone(),
        console.session.id.clone(),
        console.now,
    );
    let template = ended_event(actions, console, "");
    actions
        .provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                let sessions = sesame_store::list_user_sessions(conn, &user_id, now)?;
                let mut count = 0;
                for session in sessions.iter().filter(|session| session.id != current) {
                    sesame_store::end_user_session(conn, &session.id, now)?;
                    // Each event gets an id of its own.
                    let mut event = template.clone().session(&session.id);
                    event.id = sesame_oidc::new_id();
                    sesame_store::insert_event(conn, &event)?;
                    count += 1;
                }
                Ok(count)
            })
        })
        .await
}

/// The LOGOUT event of a session the user ended from the console.
fn ended_event(actions: &Actions, console: &Console, session_id: &str) -> AuditEvent {
    console
        .event(actions, EventType::Logout)
        .session(session_id)
        .detail("ended_from", &console.session.id)
}

/// The user's sessions in this realm that can still be used: not ended, not past their end,
/// used within the realm's idle timeout.
async fn live_sessions(
    actions: &Actions,
    console: &Console,
) -> Result<Vec<UserSessionRow>, StoreError> {
    let (user_id, now) = (console.user.id.clone(), console.now);
    let sessions = actions
        .provider
        .db
        .run(move |conn| sesame_store::list_user_sessions(conn, &user_id, now))
        .await?;
    let idle = console.settings.sso_session_idle_timeout;
    Ok(sessions
        .into_iter()
        .filter(|session| session.realm == console.realm && session.last_seen_at > now - idle)
        .collect())
}
