//! `/realms/{realm}/login-actions/authenticate`: the one address of every step of a login or
//! of a journey from a mail link. GET shows the current step; POST processes the form of the
//! step it names, or shows the current step again when the form is stale (back button, second
//! tab, double submit).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sesame_domain::{RealmSettings, RequiredAction, User, constant_time_eq};
use sesame_oidc::authorize::{AuthorizationRequest, complete_login, server_error_page};
use sesame_oidc::cookies::{
    AUTH_SESSION_COOKIE, LOCALE_COOKIE, SESSION_COOKIE, read_cookie, set_cookie,
};
use sesame_oidc::metrics::LoginOutcome;
use sesame_oidc::pages::{authorization_response, error_page, found, page};
use sesame_oidc::params::{Params, ParamsError, is_form};
use sesame_oidc::{ClientAddress, Provider, random_token, sha256_hex};
use sesame_store::{AuthSessionRow, CredentialKind, StoreError, UserSessionRow};

use crate::flow::{AccountReturn, Flow, Step, UserState};
use crate::{Actions, configure_totp, otp, password, update_password, update_profile};

/// A login or journey in progress, loaded for one request.
pub(crate) struct Login {
    /// Realm name.
    pub(crate) realm: String,
    /// Realm settings.
    pub(crate) settings: RealmSettings,
    /// The stored login session.
    pub(crate) session: AuthSessionRow,
    /// The authorization request, absent for a journey from a mail link.
    pub(crate) request: Option<AuthorizationRequest>,
    /// What is done so far.
    pub(crate) flow: Flow,
    /// The page language.
    pub(crate) locale: String,
    /// Whether the step's time ran out and the step restarted.
    pub(crate) timed_out: bool,
    /// The user, once known.
    pub(crate) user: Option<User>,
    /// The client's address.
    pub(crate) address: String,
    /// The browser's user agent.
    pub(crate) user_agent: String,
}

/// What processing a step's form gave.
pub(crate) enum Outcome {
    /// The step is done: go on to the next one.
    Advance,
    /// Show this (the same step with errors, or a final page).
    Show(Response),
}

/// `GET /realms/{realm}/login-actions/authenticate`.
pub(crate) async fn get_authenticate(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let mut login = match load(&actions, &realm, &headers, address).await {
        Ok(login) => login,
        Err(response) => return response,
    };
    let query = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    // The language switcher's links: the choice is kept in a cookie for the following pages.
    let chosen = query
        .get("kc_locale")
        .filter(|code| {
            login
                .settings
                .supported_locales
                .iter()
                .any(|supported| supported == code)
        })
        .map(str::to_owned);
    if let Some(code) = &chosen {
        login.locale.clone_from(code);
    }
    let mut response = match current_step(&actions, &login).await {
        Ok(Step::Finished) => finish(&actions, &mut login).await,
        Ok(step) => show(&actions, &mut login, step, &query).await,
        Err(err) => server_error_page(&actions.provider, &err),
    };
    if let Some(code) = chosen {
        let one_year = 365 * 24 * 3600;
        let cookie = set_cookie(
            LOCALE_COOKIE,
            &code,
            &login.realm,
            one_year,
            actions.provider.secure_cookies(),
        );
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /realms/{realm}/login-actions/authenticate`.
pub(crate) async fn post_authenticate(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut login = match load(&actions, &realm, &headers, address).await {
        Ok(login) => login,
        Err(response) => return response,
    };
    let step = match current_step(&actions, &login).await {
        Ok(step) => step,
        Err(err) => return server_error_page(&actions.provider, &err),
    };
    // A form that is not UTF-8 is refused, not read as an empty form: the browser would only be
    // shown the step again, with nothing saying why. (A repeated field still reads as an empty
    // form, which the CSRF check turns back to the current step.)
    let form = match is_form(&headers).then(|| Params::parse(&body)) {
        Some(Ok(form)) => form,
        None | Some(Err(ParamsError::Repeated(_))) => Params::default(),
        Some(Err(err @ ParamsError::NotUtf8)) => {
            tracing::debug!(realm, ip = %login.address, reason = %err, "login form refused");
            return error_page(
                &actions.provider,
                StatusCode::BAD_REQUEST,
                &login.locale,
                "invalidRequestMessage",
            );
        }
    };
    let csrf_ok = form.get("csrf_token").is_some_and(|token| {
        constant_time_eq(token.as_bytes(), login.session.csrf_token.as_bytes())
    });
    let stale = form.get("step") != Some(step.name());
    if login.timed_out || !csrf_ok || stale || step == Step::Finished {
        if !csrf_ok {
            tracing::info!(realm, ip = %login.address, "login form with a bad CSRF token");
        }
        // A form for another step, from an old page or a second submit: show where the user is.
        return match step {
            Step::Finished => finish(&actions, &mut login).await,
            step => show(&actions, &mut login, step, &Params::default()).await,
        };
    }

    let outcome = match step {
        Step::Password => password::submit(&actions, &mut login, &form).await,
        Step::Otp => otp::submit(&actions, &mut login, &form).await,
        Step::Action(RequiredAction::ConfigureTotp) => {
            configure_totp::submit(&actions, &mut login, &form).await
        }
        Step::Action(RequiredAction::UpdatePassword) => {
            update_password::submit(&actions, &mut login, &form).await
        }
        Step::Action(RequiredAction::UpdateProfile) => {
            update_profile::submit(&actions, &mut login, &form).await
        }
        Step::Action(RequiredAction::VerifyEmail) | Step::Finished => Outcome::Advance,
    };
    match outcome {
        Outcome::Show(response) => response,
        Outcome::Advance => advance(&actions, &mut login).await,
    }
}

/// After a step: finish when nothing is left, else save and send the browser to the next step
/// with a redirect, so that reloading the page does not submit the form again.
async fn advance(actions: &Actions, login: &mut Login) -> Response {
    let provider = &actions.provider;
    match current_step(actions, login).await {
        Ok(Step::Finished) => finish(actions, login).await,
        Ok(step) => {
            tracing::debug!(realm = %login.realm, step = step.name(), "next login step");
            let now = provider.clock.now();
            login.session.step_expires_at = now + login.settings.access_code_lifespan_user_action;
            if let Err(err) = save(provider, login).await {
                return server_error_page(provider, &err);
            }
            see_other(&format!(
                "{}/realms/{}/login-actions/authenticate",
                provider.public_url, login.realm
            ))
        }
        Err(err) => server_error_page(provider, &err),
    }
}

async fn show(actions: &Actions, login: &mut Login, step: Step, query: &Params) -> Response {
    match step {
        Step::Password => password::show(actions, login),
        Step::Otp => otp::show(actions, login).await,
        Step::Action(RequiredAction::ConfigureTotp) => {
            configure_totp::show(actions, login, query).await
        }
        Step::Action(RequiredAction::UpdatePassword) => update_password::show(actions, login),
        Step::Action(RequiredAction::UpdateProfile) => update_profile::show(actions, login),
        Step::Action(RequiredAction::VerifyEmail) | Step::Finished => finish(actions, login).await,
    }
}

/// The current step, from the flow and the user's stored state.
async fn current_step(actions: &Actions, login: &Login) -> Result<Step, StoreError> {
    let Some(user) = &login.user else {
        return Ok(login.flow.next_step(&login.settings, None));
    };
    let user_id = user.id.clone();
    let state = actions
        .provider
        .db
        .run(move |conn| {
            let pending = sesame_store::list_required_actions(conn, &user_id)?;
            let devices = sesame_store::list_credentials(conn, &user_id, CredentialKind::Otp)?;
            Ok(UserState {
                pending,
                has_otp_device: !devices.is_empty(),
            })
        })
        .await?;
    Ok(login.flow.next_step(&login.settings, Some(&state)))
}

/// Ends a finished login (browser session, then the code to the client) or journey ("your
/// account was updated", with a link back to the application).
async fn finish(actions: &Actions, login: &mut Login) -> Response {
    let provider = &actions.provider;
    let Some(user) = login.user.clone() else {
        return error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &login.locale,
            "sessionExpiredMessage",
        );
    };
    let now = provider.clock.now();
    if let Some(token_sha256) = login.flow.action_token.clone() {
        let (session_id, client_id, realm) = (
            login.session.id.clone(),
            login.session.client_id.clone(),
            login.realm.clone(),
        );
        let done = provider
            .db
            .run(move |conn| {
                sesame_store::in_transaction(conn, |conn| {
                    sesame_store::complete_action_token(conn, &token_sha256, now)?;
                    let token = sesame_store::find_action_token(conn, &token_sha256)?;
                    sesame_store::delete_auth_session(conn, &session_id)?;
                    let client = sesame_store::find_client(conn, &realm, &client_id)?;
                    Ok((token, client))
                })
            })
            .await;
        let (token, client) = match done {
            Ok(found) => found,
            Err(err) => return server_error_page(provider, &err),
        };
        tracing::info!(realm = %login.realm, user_id = %user.id, "account set up from a mail link");
        let back = token
            .and_then(|token| token.redirect_uri)
            .or_else(|| client.and_then(|client| client.base_url));
        let context = json!({
            "realm_name": realm_name(login),
            "theme": login.settings.login_theme,
            "title": "accountUpdatedTitle",
            "message": "accountUpdatedMessage",
            "link_url": back,
            "link_text": "clickHereToLogIn",
        });
        let mut response = page(
            provider,
            StatusCode::OK,
            "info.html",
            &login.locale,
            &context,
        );
        clear_auth_cookie(provider, &login.realm, &mut response);
        return response;
    }

    if let Some(account) = login.flow.account.clone() {
        return crate::account::finish_login(actions, login, &user, &account).await;
    }
    let Some(request) = login.request.clone() else {
        return error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &login.locale,
            "sessionExpiredMessage",
        );
    };
    let (cookie, session) = new_browser_session(login, &user, now);
    let event = crate::audit::login(actions, login, &session);
    let (row, auth_session_id, realm, client_id) = (
        session.clone(),
        login.session.id.clone(),
        login.realm.clone(),
        request.client_id.clone(),
    );
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::insert_user_session(conn, &row)?;
                crate::audit::insert_login(conn, &event)?;
                sesame_store::delete_auth_session(conn, &auth_session_id)?;
                sesame_store::find_client(conn, &realm, &client_id)
            })
        })
        .await;
    let client = match stored {
        Ok(Some(client)) if client.enabled => client,
        Ok(_) => {
            return error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &login.locale,
                "unknownClientMessage",
            );
        }
        Err(err) => return server_error_page(provider, &err),
    };
    tracing::info!(realm = %login.realm, user_id = %user.id, client_id = %client.client_id, ip = %login.address, amr = %session.amr, "user signed in");
    provider.metrics.login(&login.realm, LoginOutcome::Success);
    let mut response = complete_login(
        provider,
        &login.realm,
        &login.settings,
        &client,
        &request,
        &session,
    )
    .await;
    finish_cookies(provider, login, Some(&cookie), &mut response);
    response
}

/// The cookies of a finished login: the browser session's, when the login opened one, and the
/// login session's, cleared.
pub(crate) fn finish_cookies(
    provider: &Provider,
    login: &Login,
    session_cookie: Option<&str>,
    response: &mut Response,
) {
    if let Some(cookie) = session_cookie {
        let cookie = set_cookie(
            SESSION_COOKIE,
            cookie,
            &login.realm,
            login.settings.sso_session_max_lifespan,
            provider.secure_cookies(),
        );
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    clear_auth_cookie(provider, &login.realm, response);
}

/// A new browser session for a finished login, and the cookie that names it.
pub(crate) fn new_browser_session(
    login: &Login,
    user: &User,
    now: i64,
) -> (String, UserSessionRow) {
    let cookie = random_token(32);
    let session = UserSessionRow {
        id: sesame_oidc::new_id(),
        token_sha256: sha256_hex(&cookie),
        realm: login.realm.clone(),
        user_id: user.id.clone(),
        auth_time: now,
        acr: session_acr(login),
        amr: login.flow.amr.join(" "),
        ip: login.address.clone(),
        user_agent: login.user_agent.chars().take(512).collect(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + login.settings.sso_session_max_lifespan,
        ended_at: None,
    };
    (cookie, session)
}

/// The authentication context class a finished login reached.
pub(crate) fn session_acr(login: &Login) -> String {
    if login.flow.is_strong() {
        login.settings.strong_acr.clone()
    } else {
        "1".to_owned()
    }
}

/// Abandons a login at the user's request: the client hears `access_denied`; a journey shows
/// a page saying so and keeps its link usable.
pub(crate) async fn cancel(actions: &Actions, login: &Login) -> Response {
    let provider = &actions.provider;
    let session_id = login.session.id.clone();
    if let Err(err) = provider
        .db
        .run(move |conn| sesame_store::delete_auth_session(conn, &session_id))
        .await
    {
        return server_error_page(provider, &err);
    }
    // A login of the account console goes back to the console's first page.
    if login.flow.account.is_some() {
        let mut response = see_other(&format!(
            "{}/realms/{}/account",
            provider.public_url, login.realm
        ));
        clear_auth_cookie(provider, &login.realm, &mut response);
        return response;
    }
    let mut response = match &login.request {
        Some(request) => {
            let mut params = vec![("error", "access_denied".to_owned())];
            if let Some(state) = &request.state {
                params.push(("state", state.clone()));
            }
            params.push(("iss", provider.issuer(&login.realm)));
            authorization_response(
                provider,
                &request.redirect_uri,
                request.response_mode,
                &params,
            )
        }
        None => {
            let context = json!({ "realm_name": realm_name(login), "title": "errorTitle", "message": "loginCancelledMessage" });
            page(
                provider,
                StatusCode::OK,
                "info.html",
                &login.locale,
                &context,
            )
        }
    };
    clear_auth_cookie(provider, &login.realm, &mut response);
    response
}

/// Renders a step's page with the context every step page shares.
pub(crate) fn step_page(
    actions: &Actions,
    login: &Login,
    template: &str,
    step: Step,
    extra: Value,
    error: Option<&str>,
    errors: &Map<String, Value>,
) -> Response {
    let provider = &actions.provider;
    let mut context = Map::new();
    context.insert("realm_name".into(), json!(realm_name(login)));
    context.insert("theme".into(), json!(login.settings.login_theme));
    context.insert(
        "action_url".into(),
        json!(format!(
            "{}/realms/{}/login-actions/authenticate",
            provider.public_url, login.realm
        )),
    );
    context.insert("csrf_token".into(), json!(login.session.csrf_token));
    context.insert("step".into(), json!(step.name()));
    context.insert(
        "info".into(),
        json!(login.timed_out.then_some("loginTimeout")),
    );
    context.insert("error".into(), json!(error));
    context.insert("errors".into(), Value::Object(errors.clone()));
    let languages: Vec<Value> = login
        .settings
        .supported_locales
        .iter()
        .map(|code| json!({ "code": code, "name": language_name(code) }))
        .collect();
    if languages.len() > 1 {
        context.insert("language_switcher".into(), Value::Array(languages));
    }
    if let Value::Object(extra) = extra {
        context.extend(extra);
    }
    page(
        provider,
        StatusCode::OK,
        template,
        &login.locale,
        &Value::Object(context),
    )
}

/// Saves the flow and the step deadline.
pub(crate) async fn save(provider: &Provider, login: &Login) -> Result<(), StoreError> {
    let id = login.session.id.clone();
    let flow = serde_json::to_string(&login.flow).unwrap_or_default();
    let step_expires_at = login.session.step_expires_at;
    provider
        .db
        .run(move |conn| sesame_store::update_auth_session_flow(conn, &id, &flow, step_expires_at))
        .await
}

/// Finds the browser's login session and checks its deadlines. Past the step's time (or the
/// whole login's), a login restarts from the password with the same request, and a journey from
/// its first unfinished step; either way the page says the time ran out.
async fn load(
    actions: &Actions,
    realm: &str,
    headers: &HeaderMap,
    address: String,
) -> Result<Login, Response> {
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
    let negotiate = |ui_locales: Option<&str>, user_locale: Option<&str>| {
        provider.page_locale(&settings, headers, ui_locales.or(user_locale))
    };
    let Some(cookie) = read_cookie(headers, AUTH_SESSION_COOKIE) else {
        return Err(error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &negotiate(None, None),
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
                &negotiate(None, None),
                "sessionExpiredMessage",
            ));
        }
        Err(err) => return Err(server_error_page(provider, &err)),
    };
    let request: Option<AuthorizationRequest> =
        serde_json::from_str(&session.request).ok().flatten();
    let mut flow: Flow = serde_json::from_str(&session.flow).unwrap_or_default();
    if request.is_none() && !flow.is_journey() && flow.account.is_none() {
        return Err(error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &negotiate(None, None),
            "sessionExpiredMessage",
        ));
    }

    let now = provider.clock.now();
    let timed_out = now >= session.step_expires_at || now >= session.expires_at;
    if timed_out {
        tracing::debug!(
            realm,
            journey = flow.is_journey(),
            "login step timed out: restarting"
        );
        if !flow.is_journey() {
            // A login of the account console keeps where it goes back to and what it asked.
            flow = Flow {
                requested_action: flow.requested_action.filter(|_| flow.account.is_some()),
                account: flow.account.take().map(|account| AccountReturn {
                    reauthenticate: true,
                    ..account
                }),
                ..Flow::default()
            };
        }
        session.step_expires_at = now + settings.access_code_lifespan_user_action;
        if now >= session.expires_at {
            session.expires_at = now + settings.access_code_lifespan_login;
        }
    }
    // The application's `kc_action` is run once, after the login steps.
    if flow.requested_action.is_none() && !flow.requested_action_done {
        flow.requested_action = request.as_ref().and_then(|request| request.kc_action);
    }
    let user = match flow.user_id.clone() {
        Some(user_id) => {
            let realm_name = realm.to_owned();
            match provider
                .db
                .run(move |conn| sesame_store::find_user(conn, &realm_name, &user_id))
                .await
            {
                Ok(Some(user)) if user.enabled => Some(user),
                Ok(_) => {
                    return Err(error_page(
                        provider,
                        StatusCode::BAD_REQUEST,
                        &negotiate(None, None),
                        "accountDisabledMessage",
                    ));
                }
                Err(err) => return Err(server_error_page(provider, &err)),
            }
        }
        None => None,
    };
    let locale = negotiate(
        request
            .as_ref()
            .and_then(|request| request.ui_locales.as_deref()),
        user.as_ref().and_then(|user| user.locale.as_deref()),
    );
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let login = Login {
        realm: realm.to_owned(),
        settings,
        session,
        request,
        flow,
        locale,
        timed_out,
        user,
        address,
        user_agent: user_agent.to_owned(),
    };
    if timed_out {
        if let Err(err) = save(provider, &login).await {
            return Err(server_error_page(provider, &err));
        }
        let (id, expires_at) = (login.session.id.clone(), login.session.expires_at);
        let extended = provider
            .db
            .run(move |conn| sesame_store::extend_auth_session(conn, &id, expires_at))
            .await;
        if let Err(err) = extended {
            return Err(server_error_page(provider, &err));
        }
    }
    Ok(login)
}

/// A language's name in that language, as a switcher shows it.
fn language_name(code: &str) -> &str {
    match code {
        "fr" => "Français",
        "en" => "English",
        other => other,
    }
}

fn realm_name(login: &Login) -> String {
    login.settings.shown_name(&login.realm)
}

pub(crate) fn clear_auth_cookie(provider: &Provider, realm: &str, response: &mut Response) {
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(AUTH_SESSION_COOKIE, "", realm, 0, provider.secure_cookies()),
    );
}

/// A 303 to a page of ours, after a form was processed.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = found(location);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// The 503 page when password hashing is saturated.
pub(crate) fn busy_page(provider: &Provider, locale: &str) -> Response {
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

/// Translated message for a field error.
pub(crate) fn message(actions: &Actions, login: &Login, key: &str, params: &[&str]) -> Value {
    json!(actions.provider.ui.message(&login.locale, key, params))
}
