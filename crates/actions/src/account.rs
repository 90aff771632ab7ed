//! The account console ("Mon Profil") at `/realms/{realm}/account`: personal information, the
//! password, the authenticator devices and the browser sessions of the signed-in user.
//!
//! The console is server-rendered with the login theme and sits behind the browser session of
//! a normal login: without one, it starts a login through the login pages (password, code,
//! required actions) that comes back here instead of going to an application. Changes that
//! would let someone keep the account (the password, adding or deleting a device) ask for the
//! password and code again when the session's last authentication is older than
//! [`FRESH_LOGIN_SECONDS`]. Adding a device runs the configure-TOTP step of the login flow.
//!
//! Every form carries a CSRF token derived from the session cookie (see [`csrf_token`]); every
//! change answers with a redirect (Post/Redirect/Get) to a page that says what was done.

mod activity;
mod alerts;
mod devices;
mod password;
mod profile;
mod sessions;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use sesame_domain::{AuditEvent, EventType, RealmSettings, RequiredAction, User, constant_time_eq};
use sesame_oidc::authorize::{NewLogin, live_session, open_login, server_error_page};
use sesame_oidc::cookies::{SESSION_COOKIE, read_cookie};
use sesame_oidc::metrics::LoginOutcome;
use sesame_oidc::pages::{error_page, page};
use sesame_oidc::params::{Params, ParamsError, is_form};
use sesame_oidc::sha256_hex;
use sesame_store::UserSessionRow;

use crate::Actions;
use crate::authenticate::{Login, finish_cookies, new_browser_session, see_other, session_acr};
use crate::flow::{AccountReturn, Flow};

pub(crate) use alerts::{SecurityAlert, send_security_alert};

/// How recent the last authentication of the browser session must be, in seconds, for a
/// sensitive change (password, adding or deleting a device) to go ahead without asking for the
/// password and code again.
pub(crate) const FRESH_LOGIN_SECONDS: i64 = 300;

/// The `client_id` recorded with the login sessions the console starts: Keycloak's name of its
/// account console. No client of that name is needed: such a login never issues a code.
const ACCOUNT_CONSOLE: &str = "account-console";

/// The console's pages.
pub(crate) fn routes() -> Router<Arc<Actions>> {
    Router::new()
        .route(
            "/realms/{realm}/account",
            get(profile::get_account).post(profile::post_account),
        )
        .route(
            "/realms/{realm}/account/password",
            get(password::get_password).post(password::post_password),
        )
        .route(
            "/realms/{realm}/account/totp",
            post(devices::post_configure_totp),
        )
        .route(
            "/realms/{realm}/account/totp/{credential_id}/delete",
            get(devices::get_delete_device).post(devices::post_delete_device),
        )
        .route(
            "/realms/{realm}/account/sessions/{session_id}/end",
            post(sessions::post_end_session),
        )
        .route(
            "/realms/{realm}/account/sessions/end-others",
            post(sessions::post_end_other_sessions),
        )
}

/// The signed-in user of one console request.
pub(crate) struct Console {
    /// Realm name.
    pub(crate) realm: String,
    /// Realm settings.
    pub(crate) settings: RealmSettings,
    /// The browser session the request came with.
    pub(crate) session: UserSessionRow,
    /// Its user.
    pub(crate) user: User,
    /// The page language.
    pub(crate) locale: String,
    /// The token every form of the console carries.
    pub(crate) csrf_token: String,
    /// The client's address.
    pub(crate) address: String,
    /// The time of the request.
    pub(crate) now: i64,
}

impl Console {
    /// Whether the session's last authentication is recent enough for a sensitive change.
    pub(crate) fn is_fresh(&self) -> bool {
        self.now - self.session.auth_time <= FRESH_LOGIN_SECONDS
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub(crate) fn is_csrf_valid(&self, form: &Params) -> bool {
        form.get("csrf_token")
            .is_some_and(|token| constant_time_eq(token.as_bytes(), self.csrf_token.as_bytes()))
    }

    /// The absolute URL of a console path (`""`, `"/password"`…).
    pub(crate) fn url(&self, actions: &Actions, path: &str) -> String {
        format!("{}{}", actions.provider.public_url, self.path(path))
    }

    /// The site-relative path of a console page.
    pub(crate) fn path(&self, path: &str) -> String {
        format!("/realms/{}/account{path}", self.realm)
    }

    /// An audit event of the signed-in user, made through the console from this session.
    pub(crate) fn event(&self, actions: &Actions, event_type: EventType) -> AuditEvent {
        sesame_oidc::audit::event(&actions.provider, &self.realm, event_type, &self.address)
            .user_id(&self.user.id)
            .client(ACCOUNT_CONSOLE)
            .session(&self.session.id)
    }

    /// The realm's name as pages show it.
    pub(crate) fn realm_name(&self) -> String {
        self.settings.shown_name(&self.realm)
    }
}

/// Opens the console for a request: the live browser session and its user. Without one, the
/// answer is the start of a login that comes back to `return_to` (a path under the console).
pub(crate) async fn open(
    actions: &Actions,
    realm: &str,
    headers: &HeaderMap,
    address: String,
    return_to: &str,
) -> Result<Console, Response> {
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
    let now = provider.clock.now();
    let session = match live_session(provider, realm, &settings, headers, now).await {
        Ok(session) => session,
        Err(err) => return Err(server_error_page(provider, &err)),
    };
    let cookie = read_cookie(headers, SESSION_COOKIE).unwrap_or_default();
    let Some(session) = session.filter(|_| !cookie.is_empty()) else {
        let start = LoginStart {
            return_to: return_to.to_owned(),
            session: None,
            requested_action: None,
            login_hint: None,
        };
        return Err(start_login(actions, realm, &settings, start).await);
    };

    let (realm_name, user_id, session_id) = (
        realm.to_owned(),
        session.user_id.clone(),
        session.id.clone(),
    );
    let user = provider
        .db
        .run(move |conn| {
            sesame_store::touch_user_session(conn, &session_id, now)?;
            sesame_store::find_user(conn, &realm_name, &user_id)
        })
        .await;
    let user = match user {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Err(error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &settings.default_locale,
                "sessionExpiredMessage",
            ));
        }
        Err(err) => return Err(server_error_page(provider, &err)),
    };
    let locale = provider.page_locale(&settings, headers, user.locale.as_deref());
    Ok(Console {
        realm: realm.to_owned(),
        settings,
        session,
        user,
        locale,
        csrf_token: csrf_token(cookie),
        address,
        now,
    })
}

/// The CSRF token of the console's forms: a digest of the session cookie under a label of its
/// own. Like the login pages' token it is unguessable without the `HttpOnly` cookie and compared
/// in constant time; deriving it means the browser session needs no column for it, and the
/// stored digest of the cookie (a different label) does not give it away.
fn csrf_token(session_cookie: &str) -> String {
    sha256_hex(&format!("sesame-account-csrf:{session_cookie}"))
}

/// Opens the console for a posted form: the session as [`open`] does, then the form, which
/// must carry this session's CSRF token; otherwise nothing changes and the answer says why.
pub(crate) async fn open_form(
    actions: &Actions,
    realm: &str,
    headers: &HeaderMap,
    address: String,
    return_to: &str,
    body: &Bytes,
) -> Result<(Console, Params), Response> {
    let console = open(actions, realm, headers, address, return_to).await?;
    let Some(form) = read_form(headers, body) else {
        tracing::debug!(realm = %console.realm, ip = %console.address, "account form refused");
        return Err(error_page(
            &actions.provider,
            StatusCode::BAD_REQUEST,
            &console.locale,
            "invalidRequestMessage",
        ));
    };
    if !console.is_csrf_valid(&form) {
        return Err(refuse_form(actions, &console));
    }
    Ok((console, form))
}

/// Reads a console form: `application/x-www-form-urlencoded`, no parameter twice. Another
/// content type, or a repeated parameter, is an empty form, which its CSRF check refuses. Bytes
/// that are not UTF-8 give `None`, answered with 400: read as an empty form, they would only
/// say "form expired" to a browser that will send the same bytes again.
pub(crate) fn read_form(headers: &HeaderMap, body: &Bytes) -> Option<Params> {
    match is_form(headers).then(|| Params::parse(body)) {
        Some(Ok(form)) => Some(form),
        None | Some(Err(ParamsError::Repeated(_))) => Some(Params::default()),
        Some(Err(ParamsError::NotUtf8)) => None,
    }
}

/// The answer to a console form without a valid CSRF token: nothing is changed.
pub(crate) fn refuse_form(actions: &Actions, console: &Console) -> Response {
    tracing::info!(realm = %console.realm, ip = %console.address, "account form with a bad CSRF token");
    error_page(
        &actions.provider,
        StatusCode::FORBIDDEN,
        &console.locale,
        "accountFormExpiredMessage",
    )
}

/// Asks for the password and code again before a sensitive change, then comes back to
/// `return_to`; `requested_action` runs after them.
pub(crate) async fn reauthenticate(
    actions: &Actions,
    console: &Console,
    return_to: &str,
    requested_action: Option<RequiredAction>,
) -> Response {
    tracing::debug!(realm = %console.realm, user_id = %console.user.id, "account change asks for a fresh login");
    let start = LoginStart {
        return_to: return_to.to_owned(),
        session: Some((console.session.clone(), false)),
        requested_action,
        login_hint: Some(console.user.username.clone()),
    };
    start_login(actions, &console.realm, &console.settings, start).await
}

/// Runs a required action of the login flow for the signed-in user (adding a device) without
/// asking for the password and code again: only for a fresh session.
pub(crate) async fn run_action(
    actions: &Actions,
    console: &Console,
    return_to: &str,
    action: RequiredAction,
) -> Response {
    let start = LoginStart {
        return_to: return_to.to_owned(),
        session: Some((console.session.clone(), true)),
        requested_action: Some(action),
        login_hint: None,
    };
    start_login(actions, &console.realm, &console.settings, start).await
}

/// How a login of the console starts.
struct LoginStart {
    /// The console path to come back to.
    return_to: String,
    /// The browser session in use, and whether its authentication counts (no fresh login).
    session: Option<(UserSessionRow, bool)>,
    /// An action to run after the login steps.
    requested_action: Option<RequiredAction>,
    /// The username to prefill on the login page.
    login_hint: Option<String>,
}

/// Stores a login session for the console and sends the browser to the login pages.
async fn start_login(
    actions: &Actions,
    realm: &str,
    settings: &RealmSettings,
    start: LoginStart,
) -> Response {
    let provider = &actions.provider;
    let now = provider.clock.now();
    let mut flow = Flow {
        requested_action: start.requested_action,
        account: Some(AccountReturn {
            return_to: start.return_to,
            session_id: start
                .session
                .as_ref()
                .map(|(session, _)| session.id.clone()),
            reauthenticate: true,
            login_hint: start.login_hint,
        }),
        ..Flow::default()
    };
    if let Some((session, true)) = &start.session {
        // The session's own authentication stands: the flow starts with the user known and
        // the methods the session used, and goes straight to the requested action.
        flow.user_id = Some(session.user_id.clone());
        flow.amr = session.amr.split(' ').map(str::to_owned).collect();
        if let Some(account) = &mut flow.account {
            account.reauthenticate = false;
        }
    }
    let login = NewLogin {
        client_id: ACCOUNT_CONSOLE.to_owned(),
        request: "null".to_owned(),
        flow: serde_json::to_string(&flow).unwrap_or_default(),
    };
    open_login(provider, realm, settings, login, now, StatusCode::SEE_OTHER).await
}

/// Ends a login of the console: the browser session it was started from gets the new
/// authentication time (a fresh login) or, when there is none or it belongs to someone else,
/// a new browser session opens; then back to the console.
pub(crate) async fn finish_login(
    actions: &Actions,
    login: &Login,
    user: &User,
    account: &AccountReturn,
) -> Response {
    let provider = &actions.provider;
    let now = provider.clock.now();
    let existing = match account.session_id.clone() {
        Some(session_id) => provider
            .db
            .run(move |conn| sesame_store::find_user_session(conn, &session_id))
            .await
            .map(|session| {
                session.filter(|session| {
                    session.user_id == user.id
                        && session.realm == login.realm
                        && session.ended_at.is_none()
                        && session.expires_at > now
                })
            }),
        None => Ok(None),
    };
    let existing = match existing {
        Ok(existing) => existing,
        Err(err) => return server_error_page(provider, &err),
    };

    let auth_session_id = login.session.id.clone();
    if existing.is_none() && !account.reauthenticate {
        // The session this login relied on ended meanwhile and nobody typed a password: no
        // session is opened; the console asks for a login.
        let deleted = provider
            .db
            .run(move |conn| sesame_store::delete_auth_session(conn, &auth_session_id))
            .await;
        if let Err(err) = deleted {
            return server_error_page(provider, &err);
        }
        let mut response = see_other(&format!(
            "{}/realms/{}/account",
            provider.public_url, login.realm
        ));
        finish_cookies(provider, login, None, &mut response);
        return response;
    }
    let mut new_cookie = None;
    let authenticated = existing.is_none() || account.reauthenticate;
    let stored = match existing {
        Some(mut session) => {
            session.auth_time = now;
            session.acr = session_acr(login);
            session.amr = login.flow.amr.join(" ");
            let event = authenticated.then(|| crate::audit::login(actions, login, &session));
            provider
                .db
                .run(move |conn| {
                    sesame_store::in_transaction(conn, |conn| {
                        if let Some(event) = &event {
                            sesame_store::update_user_session_authentication(
                                conn,
                                &session.id,
                                now,
                                &session.acr,
                                &session.amr,
                            )?;
                            crate::audit::insert_login(conn, event)?;
                        }
                        sesame_store::delete_auth_session(conn, &auth_session_id)
                    })
                })
                .await
        }
        None => {
            let (cookie, session) = new_browser_session(login, user, now);
            new_cookie = Some(cookie);
            let event = crate::audit::login(actions, login, &session);
            provider
                .db
                .run(move |conn| {
                    sesame_store::in_transaction(conn, |conn| {
                        sesame_store::insert_user_session(conn, &session)?;
                        crate::audit::insert_login(conn, &event)?;
                        sesame_store::delete_auth_session(conn, &auth_session_id)
                    })
                })
                .await
        }
    };
    if let Err(err) = stored {
        return server_error_page(provider, &err);
    }
    if authenticated {
        tracing::info!(realm = %login.realm, user_id = %user.id, ip = %login.address, amr = %login.flow.amr.join(" "), "user signed in to the account console");
        provider.metrics.login(&login.realm, LoginOutcome::Success);
    }

    // The way back is one of the console's own paths, built by the console; anything else
    // (which would be a bug) goes to its first page.
    let console_path = format!("/realms/{}/account", login.realm);
    let return_to = Some(account.return_to.as_str())
        .filter(|path| {
            path.starts_with(&console_path)
                && !path
                    .chars()
                    .any(|character| character.is_control() || character == ' ')
        })
        .unwrap_or(&console_path);
    let mut response = see_other(&format!("{}{return_to}", provider.public_url));
    finish_cookies(provider, login, new_cookie.as_deref(), &mut response);
    response
}

/// Renders a console page with the context every console page shares: the realm, the CSRF
/// token, the console's links, the error summary and the message of the last change.
pub(crate) fn console_page(
    actions: &Actions,
    console: &Console,
    template: &str,
    extra: Value,
    error: Option<&str>,
    errors: &Map<String, Value>,
) -> Response {
    let mut context = Map::new();
    context.insert("realm_name".into(), json!(console.realm_name()));
    context.insert("theme".into(), json!(console.settings.login_theme));
    context.insert("csrf_token".into(), json!(console.csrf_token));
    context.insert("account_url".into(), json!(console.url(actions, "")));
    context.insert(
        "logout_url".into(),
        json!(format!(
            "{}/protocol/openid-connect/logout",
            actions.provider.issuer(&console.realm)
        )),
    );
    context.insert("user_name".into(), json!(console.user.display_name()));
    context.insert("error".into(), json!(error));
    context.insert("errors".into(), Value::Object(errors.clone()));
    if let Value::Object(extra) = extra {
        context.extend(extra);
    }
    page(
        &actions.provider,
        StatusCode::OK,
        template,
        &console.locale,
        &Value::Object(context),
    )
}

/// The message shown after a change, from the `done` query parameter of the console page. Only
/// these keys are accepted, so a link cannot make the page say anything else.
pub(crate) fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "profile" => Some("accountProfileUpdatedMessage"),
        "password" => Some("accountPasswordUpdatedMessage"),
        "device-added" => Some("accountDeviceAddedMessage"),
        "device-deleted" => Some("accountDeviceDeletedMessage"),
        "session-ended" => Some("accountSessionEndedMessage"),
        "sessions-ended" => Some("accountOtherSessionsEndedMessage"),
        _ => None,
    }
}

/// A translated message for a field error.
pub(crate) fn message(actions: &Actions, console: &Console, key: &str, params: &[&str]) -> Value {
    json!(actions.provider.ui.message(&console.locale, key, params))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_known_changes_are_announced() {
        assert_eq!(
            super::done_message(Some("password")),
            Some("accountPasswordUpdatedMessage")
        );
        assert_eq!(super::done_message(Some("invalidUserMessage")), None);
        assert_eq!(super::done_message(None), None);
    }

    #[test]
    fn csrf_token_differs_from_the_stored_cookie_digest() {
        let cookie = "abc";
        assert_ne!(super::csrf_token(cookie), sesame_oidc::sha256_hex(cookie));
        assert_eq!(super::csrf_token(cookie), super::csrf_token(cookie));
        assert_ne!(super::csrf_token(cookie), super::csrf_token("abd"));
    }
}
