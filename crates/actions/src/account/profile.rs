//! The console's first page: personal information (the address, read-only; first and last
//! name; language) with its form, and the summaries of the password, the devices and the
//! sessions, each with its own forms.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};
use sesame_domain::EventType;
use sesame_oidc::ClientAddress;
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::params::Params;

use super::{
    Console, activity, console_page, devices, done_message, message, open, open_form, sessions,
};
use crate::Actions;
use crate::authenticate::see_other;

/// Longest name accepted, as on the profile step of the login.
const MAX_NAME: usize = 255;

/// The submitted personal information, kept to show it again with its errors.
struct Profile {
    first_name: String,
    last_name: String,
    locale: String,
}

/// `GET /realms/{realm}/account`.
pub(crate) async fn get_account(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let return_to = format!("/realms/{realm}/account");
    let console = match open(&actions, &realm, &headers, address, &return_to).await {
        Ok(console) => console,
        Err(response) => return response,
    };
    let query = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let profile = Profile {
        first_name: console.user.first_name.clone().unwrap_or_default(),
        last_name: console.user.last_name.clone().unwrap_or_default(),
        locale: console.locale.clone(),
    };
    render(
        &actions,
        &console,
        &profile,
        done_message(query.get("done")),
        &Map::new(),
    )
    .await
}

/// `POST /realms/{realm}/account`: saves the personal information.
pub(crate) async fn post_account(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let return_to = format!("/realms/{realm}/account");
    let (console, form) =
        match open_form(&actions, &realm, &headers, address, &return_to, &body).await {
            Ok(opened) => opened,
            Err(response) => return response,
        };
    let field = |name: &str| form.get(name).map(str::trim).unwrap_or_default().to_owned();
    let profile = Profile {
        first_name: field("firstName"),
        last_name: field("lastName"),
        locale: field("locale"),
    };

    let mut errors = Map::new();
    for (name, value) in [
        ("firstName", &profile.first_name),
        ("lastName", &profile.last_name),
    ] {
        if value.is_empty() {
            errors.insert(
                name.into(),
                message(&actions, &console, "requiredField", &[]),
            );
        } else if value.chars().count() > MAX_NAME || value.chars().any(char::is_control) {
            errors.insert(
                name.into(),
                message(&actions, &console, "invalidFormMessage", &[]),
            );
        }
    }
    if !console.settings.supported_locales.contains(&profile.locale) {
        errors.insert(
            "locale".into(),
            message(&actions, &console, "accountInvalidLanguageMessage", &[]),
        );
    }
    if !errors.is_empty() {
        return render(&actions, &console, &profile, None, &errors).await;
    }

    let mut user = console.user.clone();
    user.first_name = Some(profile.first_name);
    user.last_name = Some(profile.last_name);
    user.locale = Some(profile.locale);
    let row = user.clone();
    let event = console.event(&actions, EventType::UpdateProfile);
    let provider = &actions.provider;
    if let Err(err) = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::update_user(conn, &row)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
    {
        return server_error_page(provider, &err);
    }
    tracing::info!(realm = %console.realm, user_id = %user.id, "profile updated from the account console");
    see_other(&format!("{}?done=profile", console.url(&actions, "")))
}

/// The console's first page, with `profile` in the form.
async fn render(
    actions: &Actions,
    console: &Console,
    profile: &Profile,
    done: Option<&str>,
    errors: &Map<String, Value>,
) -> Response {
    let provider = &actions.provider;
    let listed = devices::list(actions, console).await;
    let devices = match listed {
        Ok(devices) => devices,
        Err(err) => return server_error_page(provider, &err),
    };
    let sessions = match sessions::list(actions, console).await {
        Ok(sessions) => sessions,
        Err(err) => return server_error_page(provider, &err),
    };
    let events = match activity::list(actions, console).await {
        Ok(events) => events,
        Err(err) => return server_error_page(provider, &err),
    };
    let has_other_sessions = sessions
        .iter()
        .any(|session| session.get("current") == Some(&json!(false)));
    let languages: Vec<Value> = console
        .settings
        .supported_locales
        .iter()
        .map(|code| {
            json!({
                "code": code,
                "name": language_name(code),
                "selected": *code == profile.locale,
            })
        })
        .collect();
    let extra = json!({
        "email": console.user.email.clone().unwrap_or_default(),
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "languages": languages,
        "done": done,
        "password_url": console.url(actions, "/password"),
        "configure_totp_url": console.url(actions, "/totp"),
        "devices": devices,
        "sessions": sessions,
        "events": events,
        "end_other_sessions_url": has_other_sessions
            .then(|| console.url(actions, "/sessions/end-others")),
    });
    let error = (!errors.is_empty()).then_some("invalidFormMessage");
    console_page(actions, console, "account.html", extra, error, errors)
}

/// A language's name in that language.
fn language_name(code: &str) -> &str {
    match code {
        "fr" => "Français",
        "en" => "English",
        other => other,
    }
}
