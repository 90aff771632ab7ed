//! The first step of a login: "Connectez-vous à votre compte", username or address and password.

use serde_json::{Map, json};
use sesame_domain::Secret;
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::metrics::LoginOutcome;
use sesame_oidc::params::Params;

use crate::authenticate::{Login, Outcome, busy_page, step_page};
use crate::flow::Step;
use crate::{Actions, PasswordError, audit, throttle};

/// The login form.
pub(crate) fn show(actions: &Actions, login: &Login) -> axum::response::Response {
    let username = login
        .request
        .as_ref()
        .and_then(|request| request.login_hint.clone())
        .or_else(|| {
            let account = login.flow.account.as_ref()?;
            account.login_hint.clone()
        })
        .unwrap_or_default();
    form(actions, login, &username, None)
}

fn form(
    actions: &Actions,
    login: &Login,
    username: &str,
    error: Option<&str>,
) -> axum::response::Response {
    let forgot_password_url = format!(
        "{}/realms/{}/login-actions/reset-credentials",
        actions.provider.public_url, login.realm
    );
    step_page(
        actions,
        login,
        "login.html",
        Step::Password,
        json!({ "username": username, "forgot_password_url": forgot_password_url }),
        error,
        &Map::new(),
    )
}

/// Checks the password; every refusal says the same thing.
pub(crate) async fn submit(actions: &Actions, login: &mut Login, form_params: &Params) -> Outcome {
    let provider = &actions.provider;
    let username = form_params
        .get("username")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let password = Secret::new(form_params.get("password").unwrap_or_default());
    let refuse = |error: &str| Outcome::Show(form(actions, login, &username, Some(error)));
    if username.is_empty() || password.expose().is_empty() {
        return refuse("invalidUserMessage");
    }

    let (realm, lookup) = (login.realm.clone(), username.clone());
    let found = provider
        .db
        .run(move |conn| {
            let Some(user) = sesame_store::find_user_by_login(conn, &realm, &lookup)? else {
                return Ok(None);
            };
            let hash =
                sesame_store::find_password(conn, &user.id)?.map(|credential| credential.secret);
            Ok(Some((user, hash)))
        })
        .await;
    let (user, hash) = match found {
        Ok(Some((user, hash))) => (Some(user), hash),
        Ok(None) => (None, None),
        Err(err) => return Outcome::Show(server_error_page(provider, &err)),
    };
    let keys = throttle::Keys::new(
        &login.realm,
        user.as_ref().map(|user| user.id.as_str()),
        &login.address,
    );
    match throttle::is_locked(provider, &login.settings, &keys).await {
        Ok(false) => {}
        Ok(true) => {
            tracing::info!(realm = %login.realm, ip = %login.address, reason = "locked", "password login refused");
            let user_id = user.as_ref().map_or("", |user| user.id.as_str());
            audit::password_refused(actions, login, "locked", user_id, &username).await;
            provider.metrics.login(&login.realm, LoginOutcome::Locked);
            return refuse("invalidUserMessage");
        }
        Err(err) => return Outcome::Show(server_error_page(provider, &err)),
    }
    let password_ok = match actions.passwords.verify(hash.as_deref(), &password).await {
        Ok(matches) => matches,
        Err(PasswordError::Busy) => return Outcome::Show(busy_page(provider, &login.locale)),
        Err(PasswordError::Hashing(cause)) => {
            tracing::error!(realm = %login.realm, cause, "password verification failed");
            false
        }
    };
    let client_id = login
        .request
        .as_ref()
        .map(|request| request.client_id.clone())
        .unwrap_or_default();
    let user = match user {
        Some(user) if password_ok && user.enabled => user,
        other => {
            let reason = match &other {
                None => "unknown user",
                Some(user) if !user.enabled => "disabled",
                Some(_) => "wrong password",
            };
            let user_id = other.map(|user| user.id).unwrap_or_default();
            tracing::info!(realm = %login.realm, user_id, client_id, ip = %login.address, reason, "password login failed");
            audit::password_refused(actions, login, reason, &user_id, &username).await;
            provider
                .metrics
                .login(&login.realm, LoginOutcome::BadPassword);
            if let Err(err) = throttle::record_failure(provider, &login.settings, &keys).await {
                return Outcome::Show(server_error_page(provider, &err));
            }
            return refuse("invalidUserMessage");
        }
    };
    if let Err(err) = throttle::clear(provider, &keys).await {
        return Outcome::Show(server_error_page(provider, &err));
    }
    tracing::debug!(realm = %login.realm, user_id = %user.id, "password accepted");
    login.flow.user_id = Some(user.id.clone());
    login.flow.amr = vec!["pwd".to_owned()];
    login.user = Some(user);
    Outcome::Advance
}
