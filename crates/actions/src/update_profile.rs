//! Required action UPDATE_PROFILE: "Mise à jour du compte", the address prefilled, first and
//! last name required.
//!
//! An address the account already has is shown read-only and kept whatever the form says: it
//! is where the initialisation mail went, and changing it here would move the account (and its
//! password resets) to an address nobody has proven to own. Only an account without one
//! gives it here.

use serde_json::{Map, Value, json};
use sesame_domain::RequiredAction;
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::params::Params;
use sesame_store::StoreError;

use crate::Actions;
use crate::authenticate::{Login, Outcome, message, step_page};
use crate::flow::Step;

const STEP: Step = Step::Action(RequiredAction::UpdateProfile);

/// Longest name accepted.
const MAX_NAME: usize = 255;

/// The profile form, prefilled.
pub(crate) fn show(actions: &Actions, login: &Login) -> axum::response::Response {
    let user = login.user.as_ref();
    let values = [
        user.and_then(|user| user.email.clone()).unwrap_or_default(),
        user.and_then(|user| user.first_name.clone())
            .unwrap_or_default(),
        user.and_then(|user| user.last_name.clone())
            .unwrap_or_default(),
    ];
    render(actions, login, &values, None, &Map::new())
}

fn render(
    actions: &Actions,
    login: &Login,
    [email, first_name, last_name]: &[String; 3],
    error: Option<&str>,
    errors: &Map<String, Value>,
) -> axum::response::Response {
    let email_locked = has_address(login);
    let extra = json!({
        "email": email,
        "email_locked": email_locked,
        "first_name": first_name,
        "last_name": last_name,
    });
    step_page(
        actions,
        login,
        "login-update-profile.html",
        STEP,
        extra,
        error,
        errors,
    )
}

/// Checks each field, naming the empty ones, then saves the profile.
pub(crate) async fn submit(actions: &Actions, login: &mut Login, form: &Params) -> Outcome {
    let provider = &actions.provider;
    let Some(mut user) = login.user.clone() else {
        return Outcome::Advance;
    };
    let field = |name: &str| form.get(name).map(str::trim).unwrap_or_default().to_owned();
    let email = match user.email.clone().filter(|_| has_address(login)) {
        Some(kept) => kept,
        None => field("email").to_lowercase(),
    };
    let values = [email, field("firstName"), field("lastName")];
    let [email, first_name, last_name] = &values;

    let mut errors = Map::new();
    for (name, value) in [
        ("email", email),
        ("firstName", first_name),
        ("lastName", last_name),
    ] {
        if value.is_empty() {
            errors.insert(name.into(), message(actions, login, "requiredField", &[]));
        } else if value.chars().count() > MAX_NAME || value.chars().any(char::is_control) {
            errors.insert(
                name.into(),
                message(actions, login, "invalidFormMessage", &[]),
            );
        }
    }
    if !email.is_empty() && !errors.contains_key("email") && !is_address(email) {
        errors.insert(
            "email".into(),
            message(actions, login, "invalidEmailMessage", &[]),
        );
    }
    if !errors.is_empty() {
        return Outcome::Show(render(
            actions,
            login,
            &values,
            Some("invalidFormMessage"),
            &errors,
        ));
    }

    user.email = Some(email.clone());
    user.first_name = Some(first_name.clone());
    user.last_name = Some(last_name.clone());
    let row = user.clone();
    let event = login.event(actions, sesame_domain::EventType::UpdateProfile);
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::update_user(conn, &row)?;
                sesame_store::insert_event(conn, &event)?;
                sesame_store::delete_required_action(conn, &row.id, RequiredAction::UpdateProfile)
            })
        })
        .await;
    match stored {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            errors.insert(
                "email".into(),
                message(actions, login, "emailExistsMessage", &[]),
            );
            return Outcome::Show(render(
                actions,
                login,
                &values,
                Some("invalidFormMessage"),
                &errors,
            ));
        }
        Err(err) => return Outcome::Show(server_error_page(provider, &err)),
    }
    tracing::info!(realm = %login.realm, user_id = %user.id, "profile updated");
    login.user = Some(user);
    login.flow.action_done(RequiredAction::UpdateProfile);
    Outcome::Advance
}

/// Whether the account already has an address, which the form then keeps.
fn has_address(login: &Login) -> bool {
    login
        .user
        .as_ref()
        .and_then(|user| user.email.as_deref())
        .is_some_and(|email| !email.is_empty())
}

/// A plausible address: something before and after one `@`, a dot in the domain.
fn is_address(email: &str) -> bool {
    email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace)
}
