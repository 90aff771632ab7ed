//! `/admin/realms/{realm}/users`: Keycloak's user representation.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sesame_actions::{Actions, ActionsMailError, PasswordError};
use sesame_domain::{
    OperationType, RequiredAction, ResourceType, Secret, User, normalize_password,
};
use sesame_oidc::ClientAddress;
use sesame_store::UserSearch;

use crate::AdminError;
use crate::auth::authorize;
use crate::error::parse_json;

/// Keycloak's `UserRepresentation`, for the fields Sésame has.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UserRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    username: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    first_name: Option<String>,
    last_name: Option<String>,
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_timestamp: Option<i64>,
    required_actions: Option<Vec<String>>,
    #[serde(skip_serializing)]
    credentials: Option<Vec<CredentialRepresentation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<serde_json::Value>,
}

/// Keycloak's `CredentialRepresentation`, for setting a password.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CredentialRepresentation {
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<Secret>,
    /// Whether the user must choose another password at the next login.
    #[serde(default)]
    pub(crate) temporary: bool,
}

impl CredentialRepresentation {
    /// Whether it is a password: its type is `password` or absent.
    pub(crate) fn is_password(&self) -> bool {
        self.kind.as_deref().is_none_or(|kind| kind == "password")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserQuery {
    search: Option<String>,
    email: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// A boolean as Keycloak's Java side reads one: `true` or `false` in any case (Python
    /// clients send `True`).
    exact: Option<String>,
    first: Option<i64>,
    max: Option<i64>,
}

impl UserQuery {
    fn user_search(&self) -> Result<UserSearch, AdminError> {
        // An address names one account: it matches whole unless `exact=false` says otherwise.
        let exact = match self
            .exact
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => self.email.is_some(),
            Some("true") => true,
            Some("false") => false,
            Some(_) => {
                return Err(AdminError::BadRequest(
                    "exact: expected true or false".to_owned(),
                ));
            }
        };
        Ok(UserSearch {
            search: self.search.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            exact,
        })
    }
}

/// `POST /admin/realms/{realm}/users`: 201 with the new user's URL in `Location`.
pub(crate) async fn post_user(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let provider = &actions.provider;
    let (admin, settings) = authorize(provider, &headers, &realm).await?;
    let representation: UserRepresentation = parse_json(&body)?;

    let username = representation
        .username
        .as_deref()
        .or(representation.email.as_deref())
        .map(str::trim)
        .filter(|username| !username.is_empty())
        .ok_or_else(|| AdminError::BadRequest("username is required".to_owned()))?;
    let mut user = User {
        id: sesame_oidc::new_id(),
        realm: realm.clone(),
        username: check_username(username)?,
        email: None,
        email_verified: representation.email_verified.unwrap_or(false),
        first_name: None,
        last_name: None,
        enabled: representation.enabled.unwrap_or(true),
        locale: None,
        created_at: provider.clock.now(),
    };
    apply_profile(&mut user, &representation)?;
    let mut required = parse_required_actions(representation.required_actions.as_deref())?;
    let password = new_password(
        &actions,
        &settings,
        &user,
        representation.credentials.as_deref(),
        &mut required,
    )
    .await?;

    let (row, user_id) = (user.clone(), user.id.clone());
    let now = provider.clock.now();
    let resource = (
        OperationType::Create,
        ResourceType::User,
        format!("users/{user_id}"),
    );
    let event = admin.event(provider, &realm, resource, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::insert_user(conn, &row)?;
                sesame_store::insert_event(conn, &event)?;
                if let Some(hash) = &password {
                    sesame_store::set_password(conn, &row.id, &sesame_oidc::new_id(), hash, now)?;
                }
                sesame_store::set_required_actions(conn, &row.id, &required)
            })
        })
        .await
        .map_err(|err| match err {
            sesame_store::StoreError::Conflict(_) => {
                AdminError::Conflict("User exists with same username or email".to_owned())
            }
            other => AdminError::from(other),
        })?;
    tracing::info!(realm, user_id, admin = %admin.client_id, admin_realm = %admin.realm, "user created");

    let location = format!(
        "{}/admin/realms/{realm}/users/{user_id}",
        provider.public_url
    );
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /admin/realms/{realm}/users`: search by `search`, `username`, `email`, `firstName`,
/// `lastName` (each a part of the field, or the whole of it with `exact=true`; an address
/// matches whole unless `exact=false`), a page at a time with `first` and `max`.
pub(crate) async fn get_users(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    query: Result<Query<UserQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<Vec<UserRepresentation>>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let Query(query) = query.map_err(bad_query)?;
    let search = query.user_search()?;
    let (first, max) = (query.first.unwrap_or(0), query.max.unwrap_or(100));

    let users = provider
        .db
        .run(move |conn| {
            let users = sesame_store::search_users(conn, &realm, &search, first, max)?;
            let mut representations = Vec::new();
            for user in users {
                let actions = sesame_store::list_required_actions(conn, &user.id)?;
                representations.push(represent(&user, &actions));
            }
            Ok(representations)
        })
        .await?;
    Ok(Json(users))
}

/// `GET /admin/realms/{realm}/users/count`: how many users the search parameters of
/// [`get_users`] select, as a bare JSON number.
pub(crate) async fn get_users_count(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    query: Result<Query<UserQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<i64>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let Query(query) = query.map_err(bad_query)?;
    let search = query.user_search()?;

    let count = provider
        .db
        .run(move |conn| sesame_store::count_users(conn, &realm, &search))
        .await?;
    Ok(Json(count))
}

/// `GET /admin/realms/{realm}/users/{id}`.
pub(crate) async fn get_user(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<UserRepresentation>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let user = provider
        .db
        .run(move |conn| {
            let Some(user) = sesame_store::find_user(conn, &realm, &id)? else {
                return Ok(None);
            };
            let actions = sesame_store::list_required_actions(conn, &user.id)?;
            Ok(Some(represent(&user, &actions)))
        })
        .await?;
    user.map(Json).ok_or(AdminError::NotFound("user"))
}

/// `PUT /admin/realms/{realm}/users/{id}`: changes the fields present in the body.
pub(crate) async fn put_user(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, settings) = authorize(provider, &headers, &realm).await?;
    let representation: UserRepresentation = parse_json(&body)?;
    let (realm_name, user_id) = (realm.clone(), id.clone());
    let mut user = provider
        .db
        .run(move |conn| sesame_store::find_user(conn, &realm_name, &user_id))
        .await?
        .ok_or(AdminError::NotFound("user"))?;
    if let Some(username) = representation.username.as_deref() {
        user.username = check_username(username)?;
    }
    if let Some(enabled) = representation.enabled {
        user.enabled = enabled;
    }
    if let Some(verified) = representation.email_verified {
        user.email_verified = verified;
    }
    apply_profile(&mut user, &representation)?;
    let mut required = match representation.required_actions.as_deref() {
        Some(aliases) => Some(parse_required_actions(Some(aliases))?),
        None => None,
    };
    let mut extra = Vec::new();
    let password = new_password(
        &actions,
        &settings,
        &user,
        representation.credentials.as_deref(),
        &mut extra,
    )
    .await?;
    if !extra.is_empty() {
        required.get_or_insert_with(Vec::new).extend(extra);
    }
    let now = provider.clock.now();
    let row = user.clone();
    let resource = (
        OperationType::Update,
        ResourceType::User,
        format!("users/{id}"),
    );
    let event = admin.event(provider, &realm, resource, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::update_user(conn, &row)?;
                sesame_store::insert_event(conn, &event)?;
                if let Some(hash) = &password {
                    sesame_store::set_password(conn, &row.id, &sesame_oidc::new_id(), hash, now)?;
                }
                if let Some(required) = &required {
                    sesame_store::set_required_actions(conn, &row.id, required)?;
                }
                Ok(())
            })
        })
        .await?;
    tracing::info!(realm, user_id = %id, admin = %admin.client_id, "user updated");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}/users/{id}`.
pub(crate) async fn delete_user(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;
    let (realm_name, user_id) = (realm.clone(), id.clone());
    let resource = (
        OperationType::Delete,
        ResourceType::User,
        format!("users/{id}"),
    );
    let event = admin.event(provider, &realm, resource, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::delete_user(conn, &realm_name, &user_id)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
        .map_err(|err| match err {
            sesame_store::StoreError::NotFound => AdminError::NotFound("user"),
            other => AdminError::from(other),
        })?;
    tracing::info!(realm, user_id = %id, admin = %admin.client_id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A query string that does not parse (a page number that is not a number): a 400 in the admin
/// API's shape, not axum's plain-text rejection.
#[expect(
    clippy::needless_pass_by_value,
    reason = "called as a map_err function"
)]
fn bad_query(rejection: QueryRejection) -> AdminError {
    AdminError::BadRequest(rejection.body_text())
}

fn represent(user: &User, actions: &[RequiredAction]) -> UserRepresentation {
    UserRepresentation {
        id: Some(user.id.clone()),
        username: Some(user.username.clone()),
        email: user.email.clone(),
        email_verified: Some(user.email_verified),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        enabled: Some(user.enabled),
        created_timestamp: Some(user.created_at * 1000),
        required_actions: Some(
            actions
                .iter()
                .map(|action| action.alias().to_owned())
                .collect(),
        ),
        credentials: None,
        attributes: user
            .locale
            .as_ref()
            .map(|locale| serde_json::json!({ "locale": [locale] })),
    }
}

fn apply_profile(user: &mut User, representation: &UserRepresentation) -> Result<(), AdminError> {
    if let Some(email) = representation.email.as_deref() {
        let email = email.trim();
        user.email = if email.is_empty() {
            None
        } else {
            Some(check_email(email)?)
        };
    }
    let clean = |name: &str| Some(name.trim().to_owned()).filter(|name| !name.is_empty());
    if let Some(first_name) = representation.first_name.as_deref() {
        user.first_name = clean(first_name);
    }
    if let Some(last_name) = representation.last_name.as_deref() {
        user.last_name = clean(last_name);
    }
    for name in [&user.first_name, &user.last_name].into_iter().flatten() {
        if name.chars().count() > 255 || name.chars().any(char::is_control) {
            return Err(AdminError::BadRequest(
                "names must be at most 255 printable characters".to_owned(),
            ));
        }
    }
    let locale = representation
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.get("locale"))
        .and_then(|locale| locale.get(0).or(Some(locale)))
        .and_then(serde_json::Value::as_str);
    if let Some(locale) = locale {
        user.locale = Some(locale.to_owned());
    }
    Ok(())
}

fn check_username(username: &str) -> Result<String, AdminError> {
    let username = username.trim().to_lowercase();
    if username.is_empty()
        || username.chars().count() > 255
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AdminError::BadRequest(
            "username must be 1 to 255 characters without spaces".to_owned(),
        ));
    }
    Ok(username)
}

fn check_email(email: &str) -> Result<String, AdminError> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_lowercase())
    } else {
        Err(AdminError::BadRequest(
            "email is not a valid address".to_owned(),
        ))
    }
}

fn parse_required_actions(aliases: Option<&[String]>) -> Result<Vec<RequiredAction>, AdminError> {
    aliases
        .unwrap_or_default()
        .iter()
        .map(|alias| {
            RequiredAction::from_alias(alias)
                .ok_or_else(|| AdminError::BadRequest(format!("unknown required action {alias}")))
        })
        .collect()
}

/// Hashes the password of a `credentials` list after checking it against the realm's policy;
/// a temporary password adds UPDATE_PASSWORD to the required actions.
pub(crate) async fn new_password(
    actions: &Actions,
    settings: &sesame_domain::RealmSettings,
    user: &User,
    credentials: Option<&[CredentialRepresentation]>,
    required: &mut Vec<RequiredAction>,
) -> Result<Option<String>, AdminError> {
    let Some(credential) = credentials
        .unwrap_or_default()
        .iter()
        .find(|credential| credential.is_password())
    else {
        return Ok(None);
    };
    let password = credential
        .value
        .as_ref()
        .ok_or_else(|| AdminError::BadRequest("credential value is required".to_owned()))?;
    let normalized = normalize_password(password.expose());
    // A realm without a length rule would otherwise accept an empty password.
    if normalized.trim().is_empty() {
        return Err(AdminError::BadRequest("the password is empty".to_owned()));
    }
    if let Err(rule) = sesame_actions::realm_password_policy(&user.realm, settings).check(
        &normalized,
        &user.username,
        user.email.as_deref(),
    ) {
        return Err(AdminError::BadRequest(format!(
            "password policy not met: {}",
            rule.message_key()
        )));
    }
    let hash = actions
        .passwords
        .hash(password)
        .await
        .map_err(|err| match err {
            PasswordError::Busy => AdminError::Busy,
            PasswordError::Hashing(cause) => {
                tracing::error!(cause, "password hashing failed");
                AdminError::Internal
            }
        })?;
    if credential.temporary {
        required.push(RequiredAction::UpdatePassword);
    }
    Ok(Some(hash))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExecuteActionsQuery {
    lifespan: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
}

/// `PUT /admin/realms/{realm}/users/{id}/execute-actions-email`: Keycloak's contract, the
/// actions as a JSON array in the body, `lifespan` (seconds), `client_id` and `redirect_uri` as
/// query parameters; 204 once the mail is sent.
pub(crate) async fn put_execute_actions_email(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    Query(query): Query<ExecuteActionsQuery>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;
    let aliases: Vec<String> = if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        parse_json(&body)?
    };
    let required = parse_required_actions(Some(&aliases))?;
    let lifespan = match query.lifespan.as_deref() {
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|seconds| *seconds > 0)
                .ok_or_else(|| {
                    AdminError::BadRequest(
                        "lifespan must be a positive number of seconds".to_owned(),
                    )
                })?,
        ),
        None => None,
    };
    if query.redirect_uri.is_some() && query.client_id.is_none() {
        return Err(AdminError::BadRequest(
            "redirect_uri needs client_id".to_owned(),
        ));
    }
    let path = format!("users/{id}/execute-actions-email");
    let event = admin.event(
        provider,
        &realm,
        (OperationType::Action, ResourceType::User, path),
        &address,
    );
    let request = sesame_actions::ActionsMailRequest {
        kind: sesame_actions::ActionsMailKind::ExecuteActions,
        realm: realm.clone(),
        user_id: id.clone(),
        actions: required,
        lifespan,
        client_id: query.client_id,
        redirect_uri: query.redirect_uri,
    };
    match sesame_actions::send_actions_mail(&actions, request).await {
        Ok(_) => {
            sesame_oidc::audit::record(provider, event).await;
            tracing::info!(realm, user_id = %id, admin = %admin.client_id, "execute-actions mail sent");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(err) => Err(match err {
            ActionsMailError::UnknownRealm => AdminError::NotFound("realm"),
            ActionsMailError::UnknownUser => AdminError::NotFound("user"),
            ActionsMailError::UnknownClient => {
                AdminError::BadRequest("Client doesn't exist".to_owned())
            }
            ActionsMailError::RedirectUriNotAllowed => {
                AdminError::BadRequest("Invalid redirect uri.".to_owned())
            }
            ActionsMailError::NoAddress => AdminError::BadRequest("User email missing".to_owned()),
            ActionsMailError::UserDisabled => AdminError::BadRequest("User is disabled".to_owned()),
            ActionsMailError::BadLifespan => AdminError::BadRequest(err.to_string()),
            ActionsMailError::Render(cause) => {
                tracing::error!(realm, cause, "actions mail could not be rendered");
                AdminError::Internal
            }
            ActionsMailError::Send(cause) => {
                tracing::error!(realm, user_id = %id, error = %cause, "actions mail could not be sent");
                AdminError::MailFailed
            }
            ActionsMailError::Store(err) => AdminError::from(err),
        }),
    }
}
