//! Changing the password from the console: the current password, then a new one under the
//! realm's policy (the rules of the update-password step), after a fresh login when the
//! session's authentication is old.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};
use sesame_domain::{EventType, RequiredAction, Secret, normalize_password};
use sesame_oidc::ClientAddress;
use sesame_oidc::authorize::server_error_page;

use super::{
    Console, SecurityAlert, console_page, message, open, open_form, reauthenticate,
    send_security_alert, sessions,
};
use crate::authenticate::{busy_page, see_other};
use crate::update_password::check_new_password;
use crate::{Actions, PasswordError, throttle};

/// `GET /realms/{realm}/account/password`: the form.
pub(crate) async fn get_password(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let return_to = format!("/realms/{realm}/account/password");
    let console = match open(&actions, &realm, &headers, address, &return_to).await {
        Ok(console) => console,
        Err(response) => return response,
    };
    if !console.is_fresh() {
        return reauthenticate(&actions, &console, &return_to, None).await;
    }
    render(&actions, &console, false, None, &Map::new())
}

/// `POST /realms/{realm}/account/password`: checks the current password and the new one, then
/// stores it and tells the user by mail.
pub(crate) async fn post_password(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let return_to = format!("/realms/{realm}/account/password");
    let (console, form) =
        match open_form(&actions, &realm, &headers, address, &return_to, &body).await {
            Ok(opened) => opened,
            Err(response) => return response,
        };
    if !console.is_fresh() {
        return reauthenticate(&actions, &console, &return_to, None).await;
    }
    let current = Secret::new(form.get("password").unwrap_or_default());
    let password = normalize_password(form.get("password-new").unwrap_or_default());
    let confirmation = normalize_password(form.get("password-confirm").unwrap_or_default());
    let logout_sessions = form.get("logout-sessions").is_some();

    let mut errors = Map::new();
    match check_current(&actions, &console, &current).await {
        Ok(None) => {}
        Ok(Some(key)) => {
            errors.insert("password".into(), message(&actions, &console, key, &[]));
        }
        Err(response) => return response,
    }
    if let Err(refusal) =
        check_new_password(&console.settings, &console.user, &password, &confirmation)
    {
        errors.insert(
            refusal.field.into(),
            message(
                &actions,
                &console,
                refusal.message_key,
                &[&refusal.parameter],
            ),
        );
    }
    if !errors.is_empty() {
        tracing::debug!(realm = %console.realm, user_id = %console.user.id, "password change refused");
        return render(
            &actions,
            &console,
            logout_sessions,
            Some("invalidFormMessage"),
            &errors,
        );
    }

    let provider = &actions.provider;
    let hash = match actions.passwords.hash(&Secret::new(password)).await {
        Ok(hash) => hash,
        Err(PasswordError::Busy) => return busy_page(provider, &console.locale),
        Err(PasswordError::Hashing(cause)) => {
            tracing::error!(cause, "password hashing failed");
            return busy_page(provider, &console.locale);
        }
    };
    let (user_id, now) = (console.user.id.clone(), console.now);
    let event = console.event(&actions, EventType::UpdatePassword);
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::set_password(conn, &user_id, &sesame_oidc::new_id(), &hash, now)?;
                sesame_store::delete_required_action(
                    conn,
                    &user_id,
                    RequiredAction::UpdatePassword,
                )?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await;
    if let Err(err) = stored {
        return server_error_page(provider, &err);
    }
    if logout_sessions && let Err(err) = sessions::end_other_sessions(&actions, &console).await {
        return server_error_page(provider, &err);
    }
    tracing::info!(realm = %console.realm, user_id = %console.user.id, ip = %console.address, logout_sessions, "password changed from the account console");
    send_security_alert(
        &actions,
        &console.realm,
        &console.settings,
        &console.user,
        &SecurityAlert::PasswordChanged,
    )
    .await;
    see_other(&format!("{}?done=password", console.url(&actions, "")))
}

/// Checks the current password, counting a wrong one against the account and the address as a
/// failed login does: `Some(message key)` when it is refused.
async fn check_current(
    actions: &Actions,
    console: &Console,
    current: &Secret,
) -> Result<Option<&'static str>, Response> {
    let provider = &actions.provider;
    if current.expose().is_empty() {
        return Ok(Some("accountMissingCurrentPasswordMessage"));
    }
    let keys = throttle::Keys::new(&console.realm, Some(&console.user.id), &console.address);
    match throttle::is_locked(provider, &console.settings, &keys).await {
        Ok(false) => {}
        Ok(true) => return Ok(Some("tooManyAttemptsMessage")),
        Err(err) => return Err(server_error_page(provider, &err)),
    }
    let user_id = console.user.id.clone();
    let stored = match provider
        .db
        .run(move |conn| sesame_store::find_password(conn, &user_id))
        .await
    {
        Ok(stored) => stored,
        Err(err) => return Err(server_error_page(provider, &err)),
    };
    let matches = match actions
        .passwords
        .verify(
            stored.as_ref().map(|credential| credential.secret.as_str()),
            current,
        )
        .await
    {
        Ok(matches) => matches,
        Err(PasswordError::Busy) => return Err(busy_page(provider, &console.locale)),
        Err(PasswordError::Hashing(cause)) => {
            tracing::error!(cause, "password verification failed");
            return Err(busy_page(provider, &console.locale));
        }
    };
    if matches {
        return Ok(None);
    }
    tracing::info!(realm = %console.realm, user_id = %console.user.id, ip = %console.address, "wrong current password in the account console");
    if let Err(err) = throttle::record_failure(provider, &console.settings, &keys).await {
        return Err(server_error_page(provider, &err));
    }
    Ok(Some("accountInvalidCurrentPasswordMessage"))
}

fn render(
    actions: &Actions,
    console: &Console,
    logout_sessions: bool,
    error: Option<&str>,
    errors: &Map<String, Value>,
) -> Response {
    let extra = json!({
        "username": console.user.username,
        "password_url": console.url(actions, "/password"),
        "logout_sessions": logout_sessions,
    });
    console_page(
        actions,
        console,
        "account-password.html",
        extra,
        error,
        errors,
    )
}
