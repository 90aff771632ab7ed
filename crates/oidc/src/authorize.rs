//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1), and the end of a login: the
//! authorization code sent back to the client.
//!
//! Errors found before the client and its redirect URI are trusted get an error page and never
//! a redirect, so this endpoint cannot be used as an open redirector; later errors go back to
//! the client with `error`, `state` and `iss`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sesame_domain::{Client, CodeChallenge, RealmSettings, RedirectUri, RequiredAction, Scopes};
use sesame_store::{AuthSessionRow, AuthorizationCodeRow, GrantRow, UserSessionRow};

use crate::cookies::{AUTH_SESSION_COOKIE, SESSION_COOKIE, read_cookie, set_cookie};
use crate::error::{ErrorCode, OAuthError};
use crate::pages::{ResponseMode, authorization_response, error_page, found};
use crate::params::{Params, ParamsError, is_form};
use crate::{Provider, random_token, sha256_hex};

/// The largest query string or form body accepted at the authorization endpoint, in bytes:
/// 16 KiB. A request above it gets an error page, never a redirect, since nothing in it has
/// been checked yet.
pub const MAX_AUTHORIZATION_REQUEST_BYTES: usize = 16 * 1024;

/// The longest value accepted, in bytes, for each parameter of an authorization request that is
/// stored with the login session. The session lives for the realm's
/// `access_code_lifespan_login` (30 minutes by default) before anyone has signed in, so without
/// these limits any visitor could make the server store as much as it would accept. A longer
/// value is refused with `invalid_request` (RFC 6749 §4.1.2.1), sent back to the client; an
/// over-long `state` is then not echoed back. `client_id`, `redirect_uri`, `prompt`, `max_age`
/// and `kc_action` are checked against known values instead, and other parameters are not kept.
pub const MAX_PARAMETER_BYTES: [(&str, usize); 7] = [
    // Clients often carry a signed or encrypted blob of their own state here.
    ("state", 2048),
    ("nonce", 2048),
    // Space-separated scope names; room for many custom scopes.
    ("scope", 1024),
    // An S256 challenge is 43 characters (RFC 7636 §4.2 allows at most 128).
    ("code_challenge", 512),
    // A username or an e-mail address (at most 254 characters, RFC 5321 §4.5.3.1).
    ("login_hint", 512),
    ("ui_locales", 512),
    ("acr_values", 512),
];

/// A validated authorization request, kept with the login session while the user signs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client's `client_id`.
    pub client_id: String,
    /// The matched redirect URI, as the client sent it.
    pub redirect_uri: String,
    /// How to answer.
    pub response_mode: ResponseMode,
    /// Returned to the client byte for byte.
    pub state: Option<String>,
    /// Copied into the ID token.
    pub nonce: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: Option<String>,
    /// `prompt=login`: authenticate again even with a browser session.
    pub force_login: bool,
    /// Maximum age in seconds of the user's last authentication.
    pub max_age: Option<i64>,
    /// A username or address to prefill.
    pub login_hint: Option<String>,
    /// Preferred languages of the end user.
    pub ui_locales: Option<String>,
    /// Requested authentication context classes.
    pub acr_values: Option<String>,
    /// Keycloak's `kc_action`: a required action the application asks the user to run now
    /// (`CONFIGURE_TOTP` to add an authenticator), after a full login.
    #[serde(default)]
    pub kc_action: Option<RequiredAction>,
}

/// `GET /realms/{realm}/protocol/openid-connect/auth`.
pub async fn get_auth(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    authorize(&provider, &realm, query.as_bytes(), &headers).await
}

/// `POST /realms/{realm}/protocol/openid-connect/auth` (OIDC Core §3.1.2.1 allows both).
pub async fn post_auth(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return error_page(
            &provider,
            StatusCode::BAD_REQUEST,
            "fr",
            "invalidRequestMessage",
        );
    }
    authorize(&provider, &realm, &body, &headers).await
}

/// Answers an authorization request given as its raw query string or form body.
async fn authorize(
    provider: &Provider,
    realm_name: &str,
    raw_params: &[u8],
    headers: &HeaderMap,
) -> Response {
    let settings = match provider.realm(realm_name).await {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            return error_page(
                provider,
                StatusCode::NOT_FOUND,
                "fr",
                "realmNotFoundMessage",
            );
        }
        Err(err) => return server_error_page(provider, &err),
    };
    let params = if raw_params.len() > MAX_AUTHORIZATION_REQUEST_BYTES {
        Err(None)
    } else {
        Params::parse(raw_params).map_err(Some)
    };
    let params = match params {
        Ok(params) => params,
        Err(err) => return refuse_unparsed(provider, realm_name, &settings, err.as_ref()),
    };
    let locale = provider.page_locale(&settings, headers, params.get("ui_locales"));

    // Who is asking, and where the answer may go: until both are trusted, only an error page.
    let Some(client_id) = params.get("client_id") else {
        return error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &locale,
            "unknownClientMessage",
        );
    };
    let client = match find_client(provider, realm_name, client_id).await {
        Ok(Some(client)) if client.enabled => client,
        Ok(_) => {
            tracing::debug!(
                realm = realm_name,
                client_id,
                "authorization request from an unknown client"
            );
            return error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &locale,
                "unknownClientMessage",
            );
        }
        Err(err) => return server_error_page(provider, &err),
    };
    let redirect_uri = match RedirectUri::matching(
        params.get("redirect_uri"),
        &client.redirect_uris,
        client.is_public(),
    ) {
        Ok(uri) => uri,
        Err(err) => {
            tracing::debug!(realm = realm_name, client_id, reason = %err, "redirect_uri refused");
            return error_page(
                provider,
                StatusCode::BAD_REQUEST,
                &locale,
                "invalidRedirectUriMessage",
            );
        }
    };
    let response_mode = match params.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => {
            let error = OAuthError::new(ErrorCode::InvalidRequest, "unsupported response_mode");
            return error_response(
                provider,
                realm_name,
                redirect_uri.as_str(),
                ResponseMode::Query,
                &params,
                &error,
            );
        }
    };
    let fail = |error: OAuthError| {
        error_response(
            provider,
            realm_name,
            redirect_uri.as_str(),
            response_mode,
            &params,
            &error,
        )
    };

    let request = match validate(&params, &client, &redirect_uri, response_mode) {
        Ok(request) => request,
        Err(error) => return fail(error),
    };
    let prompt_none = params
        .get("prompt")
        .is_some_and(|prompt| prompt.split(' ').any(|value| value == "none"));

    // A browser session can answer without showing a page, unless the client asks for a fresh
    // login or the last authentication is older than max_age.
    let now = provider.clock.now();
    let session = match live_session(provider, realm_name, &settings, headers, now).await {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(realm = realm_name, error = %err, "browser session lookup failed");
            return fail(OAuthError::server());
        }
    };
    // An application action (`kc_action`) always goes through the login pages: adding an
    // authenticator asks for the password and a code first.
    let usable_session = session.filter(|session| {
        !request.force_login
            && request.kc_action.is_none()
            && request
                .max_age
                .is_none_or(|max_age| now - session.auth_time <= max_age)
    });
    if let Some(session) = usable_session {
        return complete_login(provider, realm_name, &settings, &client, &request, &session).await;
    }
    if prompt_none {
        return fail(OAuthError::new(
            ErrorCode::LoginRequired,
            "the user is not signed in",
        ));
    }
    start_login(provider, realm_name, &settings, &request, now).await
}

/// The error page for a request whose parameters could not be read (`None`: it is larger than
/// [`MAX_AUTHORIZATION_REQUEST_BYTES`]). Its client and redirect URI are unknown, so there is no
/// redirect.
fn refuse_unparsed(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    err: Option<&ParamsError>,
) -> Response {
    let reason = err.map_or("the request is too large", ParamsError::description);
    tracing::debug!(realm, reason, "authorization request refused");
    error_page(
        provider,
        StatusCode::BAD_REQUEST,
        &settings.default_locale,
        "invalidRequestMessage",
    )
}

/// Checks every parameter after the client and redirect URI are trusted.
fn validate(
    params: &Params,
    client: &Client,
    redirect_uri: &RedirectUri,
    response_mode: ResponseMode,
) -> Result<AuthorizationRequest, OAuthError> {
    if MAX_PARAMETER_BYTES
        .iter()
        .any(|(name, limit)| params.get(name).is_some_and(|value| value.len() > *limit))
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "a parameter is longer than this server accepts",
        ));
    }
    if params.has("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.has("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "response_type is required",
            ));
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !client.standard_flow_enabled {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the code flow",
        ));
    }
    let code_challenge = match params.get("code_challenge") {
        Some(challenge) => Some(
            CodeChallenge::parse(challenge, params.get("code_challenge_method")).map_err(|_| {
                OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "invalid code_challenge or method",
                )
            })?,
        ),
        None if client.requires_pkce() => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "code_challenge (S256) is required",
            ));
        }
        None => None,
    };
    let prompts: Vec<&str> = params
        .get("prompt")
        .map(|prompt| prompt.split(' ').collect())
        .unwrap_or_default();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined",
        ));
    }
    let max_age = match params.get("max_age") {
        Some(value) => Some(
            value
                .parse::<i64>()
                .ok()
                .filter(|max_age| *max_age >= 0)
                .ok_or(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ))?,
        ),
        None => None,
    };
    let kc_action = match params.get("kc_action") {
        Some(alias) => Some(
            RequiredAction::from_alias(alias)
                .filter(|action| *action != RequiredAction::VerifyEmail)
                .ok_or(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "unsupported kc_action",
                ))?,
        ),
        None => None,
    };
    let scopes = Scopes::parse_supported(params.get("scope"));
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.as_str().to_owned(),
        response_mode,
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        scope: scopes.to_param(),
        code_challenge: code_challenge.map(|challenge| challenge.as_str().to_owned()),
        force_login: prompts.contains(&"login"),
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        ui_locales: params.get("ui_locales").map(str::to_owned),
        acr_values: params.get("acr_values").map(str::to_owned),
        kc_action,
    })
}

/// Creates a login session for the request and sends the browser to the login pages.
async fn start_login(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    request: &AuthorizationRequest,
    now: i64,
) -> Response {
    let login = NewLogin {
        client_id: request.client_id.clone(),
        request: serde_json::to_string(request).unwrap_or_default(),
        flow: "{}".to_owned(),
    };
    let response = open_login(provider, realm, settings, login, now, StatusCode::FOUND).await;
    tracing::debug!(realm, client_id = %request.client_id, "login started");
    response
}

/// A login session to open: for which client, from which authorization request (JSON, `null`
/// for a login no client asked for), in which state of the flow (JSON).
pub struct NewLogin {
    /// The client the login is for; empty when none.
    pub client_id: String,
    /// The authorization request, as JSON.
    pub request: String,
    /// The flow's starting state, as JSON.
    pub flow: String,
}

/// Stores a new login session and sends the browser to the login pages with its cookie;
/// `status` is the redirect's (302, or 303 after a form).
pub async fn open_login(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    login: NewLogin,
    now: i64,
    status: StatusCode,
) -> Response {
    let cookie = random_token(32);
    let row = AuthSessionRow {
        id: sha256_hex(&cookie),
        realm: realm.to_owned(),
        client_id: login.client_id,
        request: login.request,
        flow: login.flow,
        csrf_token: random_token(32),
        created_at: now,
        step_expires_at: now + settings.access_code_lifespan_user_action,
        expires_at: now + settings.access_code_lifespan_login,
    };
    if let Err(err) = provider
        .db
        .run(move |conn| sesame_store::insert_auth_session(conn, &row))
        .await
    {
        tracing::error!(realm, error = %err, "could not store a login session");
        return server_error_page(provider, &err);
    }
    let mut response = found(&format!(
        "{}/realms/{realm}/login-actions/authenticate",
        provider.public_url
    ));
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            AUTH_SESSION_COOKIE,
            &cookie,
            realm,
            settings.access_code_lifespan_login,
            provider.secure_cookies(),
        ),
    );
    response
}

/// Ends a login: issues an authorization code for the signed-in browser session and sends it
/// to the client. The login pages call this once every step is done.
pub async fn complete_login(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    client: &Client,
    request: &AuthorizationRequest,
    session: &UserSessionRow,
) -> Response {
    let now = provider.clock.now();
    let code = random_token(32);
    let grant = GrantRow {
        id: crate::new_id(),
        realm: realm.to_owned(),
        client_id: client.client_id.clone(),
        user_id: Some(session.user_id.clone()),
        session_id: Some(session.id.clone()),
        scope: request.scope.clone(),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.clone(),
        created_at: now,
        revoked_at: None,
    };
    let code_row = AuthorizationCodeRow {
        code_sha256: sha256_hex(&code),
        grant_id: grant.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        created_at: now,
        expires_at: now + settings.access_code_lifespan,
        used_at: None,
    };
    let session_id = session.id.clone();
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::insert_grant_with_code(conn, &grant, &code_row)?;
            sesame_store::touch_user_session(conn, &session_id, now)
        })
        .await;
    if let Err(err) = stored {
        tracing::error!(realm, error = %err, "could not store an authorization code");
        let error = OAuthError::server();
        return redirect_with(provider, realm, request, error.to_params());
    }
    tracing::info!(realm, client_id = %client.client_id, user_id = %session.user_id, "authorization code issued");
    redirect_with(provider, realm, request, vec![("code", code)])
}

fn redirect_with(
    provider: &Provider,
    realm: &str,
    request: &AuthorizationRequest,
    mut params: Vec<(&'static str, String)>,
) -> Response {
    if let Some(state) = &request.state {
        params.push(("state", state.clone()));
    }
    // RFC 9207: the issuer in the response lets the client detect mix-up attacks.
    params.push(("iss", provider.issuer(realm)));
    authorization_response(
        provider,
        &request.redirect_uri,
        request.response_mode,
        &params,
    )
}

fn error_response(
    provider: &Provider,
    realm: &str,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &Params,
    error: &OAuthError,
) -> Response {
    tracing::debug!(
        realm,
        error = error.code.as_str(),
        "authorization request refused"
    );
    let mut response_params = error.to_params();
    // An over-long state is refused, not echoed: it would only make the redirect as long.
    if let Some(state) = params
        .get("state")
        .filter(|state| state.len() <= max_parameter_bytes("state"))
    {
        response_params.push(("state", state.to_owned()));
    }
    response_params.push(("iss", provider.issuer(realm)));
    authorization_response(provider, redirect_uri, mode, &response_params)
}

/// The browser's live single sign-on session in this realm, if its user can still sign in.
pub async fn live_session(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<UserSessionRow>, sesame_store::StoreError> {
    let Some(cookie) = read_cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token_sha256 = sha256_hex(cookie);
    let realm = realm.to_owned();
    let idle = settings.sso_session_idle_timeout;
    provider
        .db
        .run(move |conn| {
            let Some(session) =
                sesame_store::find_live_user_session(conn, &realm, &token_sha256, now, idle)?
            else {
                return Ok(None);
            };
            let user = sesame_store::find_user(conn, &realm, &session.user_id)?;
            Ok(user.filter(|user| user.enabled).map(|_| session))
        })
        .await
}

/// The limit [`MAX_PARAMETER_BYTES`] sets for a parameter; unlimited for one it does not list.
fn max_parameter_bytes(name: &str) -> usize {
    MAX_PARAMETER_BYTES
        .iter()
        .find(|(limited, _)| *limited == name)
        .map_or(usize::MAX, |(_, limit)| *limit)
}

async fn find_client(
    provider: &Provider,
    realm: &str,
    client_id: &str,
) -> Result<Option<Client>, sesame_store::StoreError> {
    let (realm, client_id) = (realm.to_owned(), client_id.to_owned());
    provider
        .db
        .run(move |conn| sesame_store::find_client(conn, &realm, &client_id))
        .await
}

/// The page for a failure on our side; the cause goes to the log only.
pub fn server_error_page(provider: &Provider, err: &sesame_store::StoreError) -> Response {
    tracing::error!(error = %err, "database failure on a browser request");
    error_page(
        provider,
        StatusCode::SERVICE_UNAVAILABLE,
        "fr",
        "internalServerErrorMessage",
    )
    .into_response()
}
