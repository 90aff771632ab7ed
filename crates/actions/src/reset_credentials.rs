//! "Mot de passe oublié ?": `/realms/{realm}/login-actions/reset-credentials`. The user gives a
//! username or address; when an account matches, a mail brings a link to a journey that only
//! sets a new password. The answer is the same whether an account matched or not, and the mail
//! is sent in the background so that the answer takes as long either way.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, json};
use sesame_domain::{RequiredAction, constant_time_eq};
use sesame_oidc::authorize::{AuthorizationRequest, server_error_page};
use sesame_oidc::cookies::{AUTH_SESSION_COOKIE, read_cookie};
use sesame_oidc::pages::{error_page, page};
use sesame_oidc::params::{Params, ParamsError, is_form};
use sesame_oidc::sha256_hex;
use sesame_store::AuthSessionRow;

use crate::{Actions, ActionsMailKind, ActionsMailRequest, send_actions_mail};

/// `GET /realms/{realm}/login-actions/reset-credentials`.
pub(crate) async fn get_reset_credentials(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Response {
    match load(&actions, &realm, &headers).await {
        Ok(shown) => form(&actions, &realm, &shown),
        Err(response) => response,
    }
}

/// `POST /realms/{realm}/login-actions/reset-credentials`.
pub(crate) async fn post_reset_credentials(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = &actions.provider;
    let shown = match load(&actions, &realm, &headers).await {
        Ok(shown) => shown,
        Err(response) => return response,
    };
    // A form that is not UTF-8 is refused rather than read as an empty one, which would show
    // the form again with nothing saying why. A repeated field still reads as an empty form.
    let params = match is_form(&headers).then(|| Params::parse(&body)) {
        Some(Ok(params)) => params,
        None | Some(Err(ParamsError::Repeated(_))) => Params::default(),
        Some(Err(err @ ParamsError::NotUtf8)) => {
            tracing::debug!(realm, reason = %err, "reset-credentials form refused");
            return error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &shown.locale,
                "invalidRequestMessage",
            );
        }
    };
    let csrf_ok = params.get("csrf_token").is_some_and(|token| {
        constant_time_eq(token.as_bytes(), shown.session.csrf_token.as_bytes())
    });
    let Some(login) = params
        .get("username")
        .map(str::trim)
        .filter(|login| !login.is_empty())
    else {
        return form(&actions, &realm, &shown);
    };
    if !csrf_ok {
        return form(&actions, &realm, &shown);
    }

    let (lookup_realm, lookup) = (realm.clone(), login.to_owned());
    let user = provider
        .db
        .run(move |conn| sesame_store::find_user_by_login(conn, &lookup_realm, &lookup))
        .await;
    let user = match user {
        Ok(user) => user,
        Err(err) => return server_error_page(provider, &err),
    };
    let client_id = serde_json::from_str::<Option<AuthorizationRequest>>(&shown.session.request)
        .ok()
        .flatten()
        .map(|request| request.client_id);
    match user {
        Some(user) if user.enabled && user.email.is_some() => {
            let request = ActionsMailRequest {
                kind: ActionsMailKind::PasswordReset,
                realm: realm.clone(),
                user_id: user.id.clone(),
                actions: vec![RequiredAction::UpdatePassword],
                lifespan: None,
                client_id,
                redirect_uri: None,
            };
            let actions = actions.clone();
            tokio::spawn(async move {
                if let Err(err) = send_actions_mail(&actions, request).await {
                    tracing::error!(user_id = %user.id, error = %err, "password reset mail not sent");
                }
            });
        }
        _ => tracing::info!(realm, "password reset asked for no usable account"),
    }
    let context = json!({
        "realm_name": shown.realm_name,
        "theme": shown.theme,
        "title": "forgotPasswordTitle",
        "message": "resetPasswordSentMessage",
        "link_url": format!("{}/realms/{realm}/login-actions/authenticate", provider.public_url),
        "link_text": "backToLogin",
    });
    page(
        provider,
        StatusCode::OK,
        "info.html",
        &shown.locale,
        &context,
    )
}

fn form(actions: &Actions, realm: &str, shown: &Shown) -> Response {
    let provider = &actions.provider;
    let base = format!("{}/realms/{realm}/login-actions", provider.public_url);
    let context = json!({
        "realm_name": shown.realm_name,
        "theme": shown.theme,
        "action_url": format!("{base}/reset-credentials"),
        "login_url": format!("{base}/authenticate"),
        "csrf_token": shown.session.csrf_token,
        "errors": Map::new(),
    });
    page(
        provider,
        StatusCode::OK,
        "login-reset-password.html",
        &shown.locale,
        &context,
    )
}

/// What the pages of a password reset are shown with.
struct Shown {
    /// The browser's login session.
    session: AuthSessionRow,
    locale: String,
    /// The realm's display name.
    realm_name: String,
    /// The realm's `loginTheme`.
    theme: String,
}

/// The browser's login session: the page is reached from the login form, whose session carries
/// the CSRF token and the client to return to.
async fn load(actions: &Actions, realm: &str, headers: &HeaderMap) -> Result<Shown, Response> {
    let provider = &actions.provider;
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
    let locale = provider.page_locale(&settings, headers, None);
    let Some(cookie) = read_cookie(headers, AUTH_SESSION_COOKIE) else {
        return Err(error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &locale,
            "cookieNotFoundMessage",
        ));
    };
    let id = sha256_hex(cookie);
    let now = provider.clock.now();
    match provider
        .db
        .run(move |conn| sesame_store::find_auth_session(conn, &id))
        .await
    {
        Ok(Some(session)) if session.realm == realm && session.expires_at > now => {
            let realm_name = settings.shown_name(realm);
            Ok(Shown {
                session,
                locale,
                realm_name,
                theme: settings.login_theme,
            })
        }
        Ok(_) => Err(error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &locale,
            "sessionExpiredMessage",
        )),
        Err(err) => Err(server_error_page(provider, &err)),
    }
}
