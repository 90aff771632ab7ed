//! Required action UPDATE_PASSWORD: "Mise à jour du mot de passe".

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Map, Value, json};
use sesame_domain::{
    PasswordPolicy, RealmSettings, RequiredAction, Secret, User, normalize_password,
};
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::params::Params;

use crate::authenticate::{Login, Outcome, busy_page, message, step_page};
use crate::flow::Step;
use crate::{Actions, PasswordError};

const STEP: Step = Step::Action(RequiredAction::UpdatePassword);

/// The new-password form.
pub(crate) fn show(actions: &Actions, login: &Login) -> axum::response::Response {
    render(actions, login, None, &Map::new())
}

fn render(
    actions: &Actions,
    login: &Login,
    error: Option<&str>,
    errors: &Map<String, Value>,
) -> axum::response::Response {
    let username = login
        .user
        .as_ref()
        .map(|user| user.username.clone())
        .unwrap_or_default();
    step_page(
        actions,
        login,
        "login-update-password.html",
        STEP,
        json!({ "username": username }),
        error,
        errors,
    )
}

/// Why a new password was refused: the field to show it at and the message.
pub(crate) struct PasswordRefusal {
    /// `password-new` or `password-confirm`.
    pub(crate) field: &'static str,
    /// The message key.
    pub(crate) message_key: &'static str,
    /// The message's parameter (the length or count a rule asks for), or empty.
    pub(crate) parameter: String,
}

/// Checks a new (normalised) password and its confirmation against the realm's policy: the
/// rules of this step and of the account console's password change.
pub(crate) fn check_new_password(
    settings: &RealmSettings,
    user: &User,
    password: &str,
    confirmation: &str,
) -> Result<(), PasswordRefusal> {
    let refuse = |field, message_key, parameter: Option<usize>| PasswordRefusal {
        field,
        message_key,
        parameter: parameter.map(|count| count.to_string()).unwrap_or_default(),
    };
    if password.is_empty() {
        return Err(refuse("password-new", "missingPasswordMessage", None));
    }
    if let Err(rule) = realm_password_policy(&user.realm, settings).check(
        password,
        &user.username,
        user.email.as_deref(),
    ) {
        return Err(refuse("password-new", rule.message_key(), rule.parameter()));
    }
    if password != confirmation {
        return Err(refuse("password-confirm", "notMatchPasswordMessage", None));
    }
    Ok(())
}

/// Checks the new password against its confirmation and the realm's policy, then stores it.
pub(crate) async fn submit(actions: &Actions, login: &mut Login, form: &Params) -> Outcome {
    let provider = &actions.provider;
    let Some(user) = login.user.clone() else {
        return Outcome::Advance;
    };
    let password = normalize_password(form.get("password-new").unwrap_or_default());
    let confirmation = normalize_password(form.get("password-confirm").unwrap_or_default());
    let logout_sessions = form.get("logout-sessions").is_some();

    let mut errors = Map::new();
    if let Err(refusal) = check_new_password(&login.settings, &user, &password, &confirmation) {
        errors.insert(
            refusal.field.into(),
            message(actions, login, refusal.message_key, &[&refusal.parameter]),
        );
    }
    if !errors.is_empty() {
        return Outcome::Show(render(actions, login, Some("invalidFormMessage"), &errors));
    }

    let hash = match actions.passwords.hash(&Secret::new(password)).await {
        Ok(hash) => hash,
        Err(PasswordError::Busy) => return Outcome::Show(busy_page(provider, &login.locale)),
        Err(PasswordError::Hashing(cause)) => {
            tracing::error!(cause, "password hashing failed");
            return Outcome::Show(busy_page(provider, &login.locale));
        }
    };
    let now = provider.clock.now();
    let user_id = user.id.clone();
    let event = login.event(actions, sesame_domain::EventType::UpdatePassword);
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::set_password(conn, &user_id, &sesame_oidc::new_id(), &hash, now)?;
                sesame_store::insert_event(conn, &event)?;
                sesame_store::delete_required_action(
                    conn,
                    &user_id,
                    RequiredAction::UpdatePassword,
                )?;
                if logout_sessions {
                    sesame_store::end_all_user_sessions(conn, &user_id, now)?;
                }
                Ok(())
            })
        })
        .await;
    if let Err(err) = stored {
        return Outcome::Show(server_error_page(provider, &err));
    }
    tracing::info!(realm = %login.realm, user_id = %user.id, "password changed");
    login.flow.action_done(RequiredAction::UpdatePassword);
    Outcome::Advance
}

/// The realm's password policy for checking a new password. A policy stored before strict
/// parsing may hold rules Sésame does not understand: the others still apply, and a warning
/// names the first such rule, once per realm and policy string while the process runs.
pub fn realm_password_policy(realm: &str, settings: &RealmSettings) -> PasswordPolicy {
    static WARNED: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());
    let (policy, error) = settings.password_policy();
    if let Some(error) = error {
        let key = (realm.to_owned(), settings.password_policy.clone());
        let first_time = WARNED.lock().map_or(true, |mut warned| warned.insert(key));
        if first_time {
            tracing::warn!(
                realm,
                reason = %error,
                "stored password policy has rules that are not enforced"
            );
        }
    }
    policy
}
