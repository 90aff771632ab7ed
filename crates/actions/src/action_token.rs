//! The link of a mail: `/realms/{realm}/login-actions/action-token?key=...`. A valid link opens a
//! journey for its user in a login session of its own, so that another account signed in in
//! the same browser is never mixed in; it stays usable until the journey is finished, so a user
//! who ran out of time clicks it again and resumes where they were.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use sesame_oidc::authorize::{NewLogin, open_login, server_error_page};
use sesame_oidc::cookies::{AUTH_SESSION_COOKIE, read_cookie};
use sesame_oidc::pages::page;
use sesame_oidc::params::Params;
use sesame_oidc::sha256_hex;

use crate::authenticate::see_other;
use crate::flow::Flow;
use crate::{Actions, ActionsMailKind};

/// `GET /realms/{realm}/login-actions/action-token?key=...`.
pub(crate) async fn get_action_token(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let provider = &actions.provider;
    let settings = match provider.realm(&realm).await {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            return sesame_oidc::pages::error_page(
                provider,
                StatusCode::NOT_FOUND,
                "fr",
                "realmNotFoundMessage",
            );
        }
        Err(err) => return server_error_page(provider, &err),
    };
    let locale = provider.page_locale(&settings, &headers, None);
    let expired = || {
        let context = json!({
            "realm_name": settings.display_name,
            "theme": settings.login_theme,
            "title": "expiredActionTokenTitle",
            "message": "expiredActionTokenMessage",
        });
        page(
            provider,
            StatusCode::BAD_REQUEST,
            "error.html",
            &locale,
            &context,
        )
    };
    let params = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let Some(key) = params.get("key").filter(|key| key.len() <= 128) else {
        return expired();
    };

    let now = provider.clock.now();
    let token_sha256 = sha256_hex(key);
    let (realm_name, digest) = (realm.clone(), token_sha256.clone());
    let found = provider
        .db
        .run(move |conn| {
            let Some(token) = sesame_store::find_action_token(conn, &digest)? else {
                return Ok(None);
            };
            let user = sesame_store::find_user(conn, &realm_name, &token.user_id)?;
            Ok(user.map(|user| (token, user)))
        })
        .await;
    let (token, user) = match found {
        Ok(Some((token, user))) => (token, user),
        Ok(None) => {
            tracing::info!(realm, "unknown or tampered action link");
            return expired();
        }
        Err(err) => return server_error_page(provider, &err),
    };
    if token.realm != realm
        || token.completed_at.is_some()
        || token.expires_at <= now
        || !user.enabled
    {
        tracing::info!(realm, user_id = %user.id, "expired or finished action link opened");
        return expired();
    }
    let link_actions = match token.required_actions() {
        Ok(actions) => actions,
        Err(err) => return server_error_page(provider, &err),
    };

    // Reuse this browser's journey for the same link, so a reload or a second click resumes it.
    let existing = read_cookie(&headers, AUTH_SESSION_COOKIE).map(sha256_hex);
    if let Some(existing) = existing {
        let current = provider
            .db
            .run(move |conn| sesame_store::find_auth_session(conn, &existing))
            .await;
        if let Ok(Some(session)) = current {
            let flow: Flow = serde_json::from_str(&session.flow).unwrap_or_default();
            if flow.action_token.as_deref() == Some(token_sha256.as_str())
                && session.expires_at > now
            {
                return see_other(&format!(
                    "{}/realms/{realm}/login-actions/authenticate",
                    provider.public_url
                ));
            }
        }
    }

    if token.kind == ActionsMailKind::PasswordReset.template() {
        // The user proved they read their mail: the reset becomes a pending action now.
        let (owner, to_add) = (user.id.clone(), link_actions.clone());
        let added = provider
            .db
            .run(move |conn| {
                let mut pending = sesame_store::list_required_actions(conn, &owner)?;
                pending.extend(to_add);
                sesame_store::set_required_actions(conn, &owner, &pending)
            })
            .await;
        if let Err(err) = added {
            return server_error_page(provider, &err);
        }
    }

    let flow = Flow {
        user_id: Some(user.id.clone()),
        action_token: Some(token_sha256),
        link_actions,
        ..Flow::default()
    };
    let login = NewLogin {
        client_id: token.client_id.clone().unwrap_or_default(),
        request: "null".to_owned(),
        flow: serde_json::to_string(&flow).unwrap_or_default(),
    };
    tracing::info!(realm, user_id = %user.id, "action link opened");
    open_login(
        provider,
        &realm,
        &settings,
        login,
        now,
        StatusCode::SEE_OTHER,
    )
    .await
}
