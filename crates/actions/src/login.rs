//! The username-and-password page, "Connectez-vous à votre compte".

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sesame_domain::{RealmSettings, Secret, User, constant_time_eq};
use sesame_oidc::authorize::{AuthorizationRequest, complete_login, server_error_page};
use sesame_oidc::cookies::{AUTH_SESSION_COOKIE, SESSION_COOKIE, read_cookie, set_cookie};
use sesame_oidc::pages::{error_page, page};
use sesame_oidc::params::{Params, is_form};
use sesame_oidc::{ClientAddress, Provider, random_token, sha256_hex};
use sesame_store::{AuthSessionRow, StoreError, UserSessionRow};

use crate::{Actions, PasswordError};

/// A login session with its parsed request, valid for the current step.
struct LoginContext {
    settings: RealmSettings,
    session: AuthSessionRow,
    request: AuthorizationRequest,
    locale: String,
    /// Set when the step's or the login's time ran out and the login restarted.
    timed_out: bool,
}

/// `GET /realms/{realm}/login-actions/authenticate`.
pub(crate) async fn get_authenticate(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Response {
    let provider = &actions.provider;
    let context = match load(provider, &realm, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let info = context.timed_out.then_some("loginTimeout");
    let username = context.request.login_hint.clone().unwrap_or_default();
    login_page(provider, &realm, &context, &username, None, info)
}

/// `POST /realms/{realm}/login-actions/authenticate`.
pub(crate) async fn post_authenticate(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = &actions.provider;
    let context = match load(provider, &realm, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let params = match is_form(&headers)
        .then(|| Params::parse(&body).ok())
        .flatten()
    {
        Some(params) => params,
        None => {
            return login_page(
                provider,
                &realm,
                &context,
                "",
                Some("invalidRequestMessage"),
                None,
            );
        }
    };
    let username = params.get("username").unwrap_or_default().trim().to_owned();
    if context.timed_out {
        // The page was older than the step allows: start again, keeping what was typed.
        return login_page(
            provider,
            &realm,
            &context,
            &username,
            None,
            Some("loginTimeout"),
        );
    }
    let csrf_ok = params.get("csrf_token").is_some_and(|token| {
        constant_time_eq(token.as_bytes(), context.session.csrf_token.as_bytes())
    });
    if !csrf_ok {
        tracing::info!(realm, client_id = %context.request.client_id, ip = %address, "login form with a bad CSRF token");
        return login_page(
            provider,
            &realm,
            &context,
            &username,
            Some("invalidRequestMessage"),
            None,
        );
    }
    let password = Secret::new(params.get("password").unwrap_or_default());
    if username.is_empty() || password.expose().is_empty() {
        return login_page(
            provider,
            &realm,
            &context,
            &username,
            Some("invalidUserMessage"),
            None,
        );
    }

    let (realm_name, login) = (realm.clone(), username.clone());
    let found = provider
        .db
        .run(move |conn| {
            let Some(user) = sesame_store::find_user_by_login(conn, &realm_name, &login)? else {
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
        Err(err) => return server_error_page(provider, &err),
    };
    let password_ok = match actions.passwords.verify(hash.as_deref(), &password).await {
        Ok(matches) => matches,
        Err(PasswordError::Busy) => return busy_page(provider, &context.locale),
        Err(PasswordError::Hashing(cause)) => {
            tracing::error!(realm, cause, "password verification failed");
            false
        }
    };
    let user_id = user
        .as_ref()
        .map(|user| user.id.clone())
        .unwrap_or_default();
    let user = match user {
        Some(user) if password_ok => user,
        _ => {
            let reason = if user_id.is_empty() {
                "unknown user"
            } else {
                "wrong password"
            };
            tracing::info!(realm, user_id, client_id = %context.request.client_id, ip = %address, reason, "password login failed");
            return login_page(
                provider,
                &realm,
                &context,
                &username,
                Some("invalidUserMessage"),
                None,
            );
        }
    };
    if !user.enabled {
        tracing::info!(realm, user_id, ip = %address, reason = "disabled", "password login failed");
        return login_page(
            provider,
            &realm,
            &context,
            &username,
            Some("accountDisabledMessage"),
            None,
        );
    }

    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    finish(
        provider,
        &realm,
        &context,
        &user,
        &["pwd"],
        "1",
        &address,
        user_agent,
    )
    .await
}

/// Ends a successful login: opens the browser session, forgets the login session, and sends
/// the authorization code to the client.
#[allow(
    clippy::too_many_arguments,
    reason = "each input is a fact of the finished login"
)]
async fn finish(
    provider: &Provider,
    realm: &str,
    context: &LoginContext,
    user: &User,
    amr: &[&str],
    acr: &str,
    address: &str,
    user_agent: &str,
) -> Response {
    let now = provider.clock.now();
    let cookie = random_token(32);
    let session = UserSessionRow {
        id: sesame_oidc::new_id(),
        token_sha256: sha256_hex(&cookie),
        realm: realm.to_owned(),
        user_id: user.id.clone(),
        auth_time: now,
        acr: acr.to_owned(),
        amr: amr.join(" "),
        ip: address.to_owned(),
        user_agent: user_agent.chars().take(512).collect(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + context.settings.sso_session_max_lifespan,
        ended_at: None,
    };
    let (row, auth_session_id) = (session.clone(), context.session.id.clone());
    let client_id = context.request.client_id.clone();
    let realm_name = realm.to_owned();
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::insert_user_session(conn, &row)?;
                sesame_store::delete_auth_session(conn, &auth_session_id)?;
                sesame_store::find_client(conn, &realm_name, &client_id)
            })
        })
        .await;
    let client = match stored {
        Ok(Some(client)) => client,
        Ok(None) => {
            return error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &context.locale,
                "unknownClientMessage",
            );
        }
        Err(err) => return server_error_page(provider, &err),
    };
    tracing::info!(realm, user_id = %user.id, client_id = %client.client_id, ip = address, amr = %session.amr, "user signed in");

    let mut response = complete_login(
        provider,
        realm,
        &context.settings,
        &client,
        &context.request,
        &session,
    )
    .await;
    let secure = provider.secure_cookies();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &cookie,
            realm,
            context.settings.sso_session_max_lifespan,
            secure,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(AUTH_SESSION_COOKIE, "", realm, 0, secure),
    );
    response
}

/// Finds the browser's login session and checks its deadlines. A login whose step or whole
/// time ran out restarts from its first step with the same request, and says so.
async fn load(
    provider: &Provider,
    realm: &str,
    headers: &HeaderMap,
) -> Result<LoginContext, Response> {
    let settings = match provider.realm(realm).await {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            return Err(error_page(
                provider,
                StatusCode::NOT_FOUND,
                "fr",
                "realmNotFoundMessage",
            ));
        }
        Err(err) => return Err(server_error_page(provider, &err)),
    };
    let negotiate = |ui_locales: Option<&str>| {
        provider.ui.negotiate_locale(
            ui_locales,
            read_cookie(headers, "SESAME_LOCALE"),
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok()),
            &settings.supported_locales,
            &settings.default_locale,
        )
    };
    let Some(cookie) = read_cookie(headers, AUTH_SESSION_COOKIE) else {
        return Err(error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &negotiate(None),
            "cookieNotFoundMessage",
        ));
    };
    let id = sha256_hex(cookie);
    let lookup = provider
        .db
        .run(move |conn| sesame_store::find_auth_session(conn, &id))
        .await;
    let mut session = match lookup {
        Ok(Some(session)) if session.realm == realm => session,
        Ok(_) => {
            return Err(error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &negotiate(None),
                "sessionExpiredMessage",
            ));
        }
        Err(err) => return Err(server_error_page(provider, &err)),
    };
    let Ok(request) = serde_json::from_str::<AuthorizationRequest>(&session.request) else {
        tracing::error!(realm, "a stored login session no longer parses");
        return Err(error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &negotiate(None),
            "sessionExpiredMessage",
        ));
    };
    let locale = negotiate(request.ui_locales.as_deref());

    let now = provider.clock.now();
    let timed_out = now >= session.step_expires_at || now >= session.expires_at;
    if timed_out {
        tracing::debug!(realm, client_id = %request.client_id, "login step timed out: restarting");
        if let Err(err) = restart(provider, &settings, &mut session, now).await {
            return Err(server_error_page(provider, &err));
        }
    }
    Ok(LoginContext {
        settings,
        session,
        request,
        locale,
        timed_out,
    })
}

async fn restart(
    provider: &Provider,
    settings: &RealmSettings,
    session: &mut AuthSessionRow,
    now: i64,
) -> Result<(), StoreError> {
    session.flow = "{}".to_owned();
    session.step_expires_at = now + settings.access_code_lifespan_user_action;
    let (id, flow, step_expires_at) = (
        session.id.clone(),
        session.flow.clone(),
        session.step_expires_at,
    );
    provider
        .db
        .run(move |conn| sesame_store::update_auth_session_flow(conn, &id, &flow, step_expires_at))
        .await
}

fn login_page(
    provider: &Provider,
    realm: &str,
    context: &LoginContext,
    username: &str,
    error: Option<&str>,
    info: Option<&str>,
) -> Response {
    let page_context = json!({
        "realm_name": if context.settings.display_name.is_empty() { realm } else { &context.settings.display_name },
        "action_url": format!("{}/realms/{realm}/login-actions/authenticate", provider.public_url),
        "csrf_token": context.session.csrf_token,
        "username": username,
        "error": error,
        "info": info,
    });
    page(
        provider,
        StatusCode::OK,
        "login.html",
        &context.locale,
        &page_context,
    )
}

fn busy_page(provider: &Provider, locale: &str) -> Response {
    let mut response = error_page(
        provider,
        StatusCode::SERVICE_UNAVAILABLE,
        locale,
        "temporarilyUnavailableMessage",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response.into_response()
}
