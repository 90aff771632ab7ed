//! The portal's pages and the browser side of OpenID Connect: the authorization code flow with
//! PKCE (`/login`, `/callback`), RP-initiated logout (`/logout`), and the pages of the menu.
//! Tokens stay on the server; the browser only ever holds random session keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, CsrfToken, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl, Scope, TokenResponse,
};

use crate::backchannel::BackChannelError;
use crate::messages::{self, Message};
use crate::orders::OrdersResponse;
use crate::pages::{self, ApiExample, Viewer};
use crate::portal::{Portal, PortalState, error_chain};
use crate::session::{
    LOGIN_COOKIE, PendingLogin, SESSION_COOKIE, SessionKey, TooManyLogins, UserSession,
    clear_cookie, set_cookie,
};
use crate::template::RenderError;

/// The client the "Gestion Accès API" page uses in its examples: the realm's example consumer.
const EXAMPLE_API_CLIENT: &str = "smart-oa-api-consumer-example";
/// The access token's lifetime when the token response does not give one (RFC 6749 §5.1 makes
/// `expires_in` only recommended); short, so that a stale token is replaced soon.
const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// A page of the menu, or the home page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    /// `/`
    Home,
    /// `/contrats`
    Contracts,
    /// `/gestion-acces-api`
    ApiAccess,
    /// `/ordres-effacement`
    Orders,
    /// `/tuto-initialisation`
    Tutorial,
}

/// Why a page could not be shown. Each becomes an error page with a [`Message`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// The user cancelled at Sésame (`error=access_denied`).
    #[error("the user cancelled the login")]
    LoginCancelled,
    /// No login is in progress for this browser, or it expired.
    #[error("no login in progress for this browser")]
    NoPendingLogin,
    /// The callback's `state` is not the login's.
    #[error("the callback's state does not match the login in progress")]
    StateMismatch,
    /// A callback parameter appears more than once.
    #[error("the callback repeats the parameter {0}")]
    RepeatedParameter(&'static str),
    /// Sésame answered the authorization request with another error.
    #[error("Sésame answered the authorization request with an error")]
    AuthorizationError {
        /// The `error` code, as received.
        code: String,
    },
    /// The callback's `iss` is not the issuer (RFC 9207 §2.4: a mix-up).
    #[error("the callback comes from another issuer")]
    IssuerMismatch,
    /// The callback has neither `code` nor `error`.
    #[error("the callback has no authorization code")]
    MissingCode,
    /// The token request failed.
    #[error("the code exchange failed: {0}")]
    CodeExchange(String),
    /// The ID token is missing or does not verify.
    #[error("the ID token was refused: {0}")]
    IdTokenRefused(String),
    /// Too many logins are in progress.
    #[error(transparent)]
    TooManyLogins(#[from] TooManyLogins),
    /// The API could not be called.
    #[error("the API could not be called: {0}")]
    ApiUnavailable(String),
    /// The API refused the session's access token.
    #[error("the API refused the session's access token")]
    ApiRefused,
    /// No page at this address.
    #[error("no page at this address")]
    NotFound,
    /// A template is broken.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The pages, the login and logout routes, and the stylesheet.
pub(crate) fn router() -> Router<Portal> {
    Router::new()
        .route("/", get(get_home))
        .route("/contrats", get(get_contracts))
        .route("/gestion-acces-api", get(get_api_access))
        .route("/ordres-effacement", get(get_orders))
        .route("/tuto-initialisation", get(get_tutorial))
        .route("/login", get(get_login))
        .route("/callback", get(get_callback))
        .route("/logout", get(get_logout))
        .route("/static/portail.css", get(get_stylesheet))
}

/// Any other address.
pub(crate) async fn not_found() -> PageError {
    PageError::NotFound
}

impl Page {
    /// The page's path.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Page::Home => "/",
            Page::Contracts => "/contrats",
            Page::ApiAccess => "/gestion-acces-api",
            Page::Orders => "/ordres-effacement",
            Page::Tutorial => "/tuto-initialisation",
        }
    }

    /// The page at `path`, if it is one: only these may follow a login, so that `next` cannot
    /// send the user to another site.
    fn from_path(path: &str) -> Option<Page> {
        [
            Page::Home,
            Page::Contracts,
            Page::ApiAccess,
            Page::Orders,
            Page::Tutorial,
        ]
        .into_iter()
        .find(|page| page.path() == path)
    }
}

impl PageError {
    fn message(&self) -> Message {
        match self {
            PageError::LoginCancelled => Message::LoginCancelled,
            PageError::NoPendingLogin
            | PageError::StateMismatch
            | PageError::RepeatedParameter(_) => Message::LoginExpired,
            PageError::AuthorizationError { .. }
            | PageError::IssuerMismatch
            | PageError::MissingCode
            | PageError::CodeExchange(_)
            | PageError::IdTokenRefused(_) => Message::LoginFailed,
            PageError::TooManyLogins(_) => Message::TooManyLogins,
            PageError::ApiUnavailable(_) => Message::OrdersUnavailable,
            PageError::ApiRefused => Message::OrdersRefused,
            PageError::NotFound => Message::NotFound,
            PageError::Render(_) => Message::Internal,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            PageError::LoginCancelled => StatusCode::OK,
            PageError::NoPendingLogin
            | PageError::StateMismatch
            | PageError::RepeatedParameter(_)
            | PageError::MissingCode => StatusCode::BAD_REQUEST,
            PageError::AuthorizationError { .. }
            | PageError::IssuerMismatch
            | PageError::CodeExchange(_)
            | PageError::IdTokenRefused(_)
            | PageError::ApiUnavailable(_)
            | PageError::ApiRefused => StatusCode::BAD_GATEWAY,
            PageError::TooManyLogins(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs the error once, at the level its cause deserves.
    fn log(&self) {
        match self {
            PageError::LoginCancelled
            | PageError::NoPendingLogin
            | PageError::StateMismatch
            | PageError::RepeatedParameter(_)
            | PageError::MissingCode
            | PageError::NotFound => tracing::debug!(reason = %self, "page refused"),
            PageError::AuthorizationError { code } => {
                tracing::info!(error = ?code, "Sésame refused the login");
            }
            PageError::IssuerMismatch
            | PageError::CodeExchange(_)
            | PageError::IdTokenRefused(_)
            | PageError::ApiUnavailable(_)
            | PageError::ApiRefused
            | PageError::TooManyLogins(_) => tracing::warn!(reason = %self, "page failed"),
            PageError::Render(_) => tracing::error!(reason = %self, "page failed"),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        match pages::error(self.message()) {
            Ok(page) => (status, Html(page.into_string())).into_response(),
            Err(err) => {
                tracing::error!(reason = %err, "error page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Erreur du portail").into_response()
            }
        }
    }
}

async fn get_home(State(portal): State<Portal>, headers: HeaderMap) -> Result<Response, PageError> {
    show(&portal, &headers, pages::home)
}

async fn get_contracts(
    State(portal): State<Portal>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    show(&portal, &headers, pages::contracts)
}

async fn get_tutorial(
    State(portal): State<Portal>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    show(&portal, &headers, pages::tutorial)
}

async fn get_api_access(
    State(portal): State<Portal>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let state = portal.state();
    let token_endpoint = match &state.token_endpoint {
        Some(endpoint) => endpoint.to_string(),
        None => format!(
            "{}/protocol/openid-connect/token",
            state.config.issuer.as_str().trim_end_matches('/')
        ),
    };
    let api_url = format!("{}api/ordres-effacement", state.portal_base);

    let example = ApiExample {
        client_id: EXAMPLE_API_CLIENT,
        token_endpoint: &token_endpoint,
        api_url: &api_url,
    };
    show(&portal, &headers, |viewer| {
        pages::api_access(viewer, example)
    })
}

/// The signed-in user's orders, read from the portal's own API with the session's access
/// token, exactly as an API consumer would read them.
async fn get_orders(
    State(portal): State<Portal>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let state = portal.state();
    let Some(session) = current_session(state, &headers) else {
        return Ok(redirect_to_login(Page::Orders));
    };
    if session.access_token_expires_at <= Instant::now() {
        // Signing in again renews the token; with Sésame's single sign-on, without a prompt.
        return Ok(redirect_to_login(Page::Orders));
    }

    let answer: OrdersResponse = state
        .backchannel
        .get_json(&state.own_api_url, Some(session.access_token.secret()))
        .await
        .map_err(|err| match err {
            BackChannelError::Status { status: 401, .. } => PageError::ApiRefused,
            other => PageError::ApiUnavailable(error_chain(&other)),
        })?;

    let (display_name, profile_url) = viewer_parts(state, &session);
    let viewer = Viewer::SignedIn {
        display_name: &display_name,
        profile_url: &profile_url,
    };
    let page = pages::orders(viewer, &answer.orders)?;
    Ok(Html(page.into_string()).into_response())
}

/// Starts the authorization code flow: PKCE S256, `state` and `nonce`, kept server-side under a
/// fresh login cookie.
async fn get_login(State(portal): State<Portal>, uri: Uri) -> Result<Response, PageError> {
    let state = portal.state();
    let params = QueryParams::parse(&uri);
    let next = params
        .first("next")
        .and_then(Page::from_path)
        .unwrap_or(Page::Home);

    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorization_url, csrf_state, nonce) = state
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let login = PendingLogin::new(csrf_state, nonce, pkce_verifier, next);
    let key = state.sessions.insert_login(login)?;

    let cookie = set_cookie(LOGIN_COOKIE, key.cookie_value(), state.secure_cookies);
    Ok(redirect(authorization_url.as_str(), &[cookie]))
}

/// Completes the flow: checks `state` and `iss`, exchanges the code with the PKCE verifier,
/// verifies the ID token and its nonce, then opens a session.
async fn get_callback(
    State(portal): State<Portal>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let state = portal.state();
    let params = QueryParams::parse(&uri);
    let login_key =
        SessionKey::from_cookie(&headers, LOGIN_COOKIE).ok_or(PageError::NoPendingLogin)?;
    let login = state
        .sessions
        .take_login(&login_key)
        .ok_or(PageError::NoPendingLogin)?;
    let returned_state = params.single("state")?.ok_or(PageError::StateMismatch)?;
    if !same_secret(returned_state, login.state.secret()) {
        return Err(PageError::StateMismatch);
    }
    if let Some(error) = params.single("error")? {
        return Err(match error {
            "access_denied" => PageError::LoginCancelled,
            other => PageError::AuthorizationError {
                code: other.to_owned(),
            },
        });
    }
    if let Some(issuer) = params.single("iss")?
        && issuer != state.config.issuer.as_str()
    {
        return Err(PageError::IssuerMismatch);
    }
    let code = params
        .single("code")?
        .filter(|code| !code.is_empty())
        .ok_or(PageError::MissingCode)?;

    let tokens = state
        .client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|err| PageError::CodeExchange(error_chain(&err)))?
        .set_pkce_verifier(login.pkce_verifier)
        .request_async(&state.backchannel)
        .await
        .map_err(|err| PageError::CodeExchange(error_chain(&err)))?;
    let session = verified_session(state, &tokens, &login.nonce)?;

    let subject = session.subject.clone();
    // A new key at each sign-in: a key planted in the browser before cannot become a session.
    if let Some(old_key) = SessionKey::from_cookie(&headers, SESSION_COOKIE) {
        state.sessions.delete_session(&old_key);
    }
    let key = state.sessions.insert_session(session);
    tracing::info!(user_id = %subject, "user signed in");
    let cookies = [
        set_cookie(SESSION_COOKIE, key.cookie_value(), state.secure_cookies),
        clear_cookie(LOGIN_COOKIE, state.secure_cookies),
    ];
    Ok(redirect(login.next.path(), &cookies))
}

/// Ends the portal's session, then Sésame's: RP-initiated logout with `id_token_hint`, back to
/// the portal's home page.
async fn get_logout(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let state = portal.state();
    let session = SessionKey::from_cookie(&headers, SESSION_COOKIE)
        .and_then(|key| state.sessions.delete_session(&key));

    let target = match (&session, &state.end_session_endpoint) {
        (Some(session), Some(endpoint)) => {
            tracing::info!(user_id = %session.subject, "user signed out");
            LogoutRequest::from(endpoint.clone())
                .set_id_token_hint(&session.id_token)
                .set_client_id(ClientId::new(state.config.client_id.clone()))
                .set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(
                    state.portal_base.clone(),
                ))
                .set_state(CsrfToken::new_random())
                .http_get_url()
                .to_string()
        }
        (Some(_), None) | (None, _) => Page::Home.path().to_owned(),
    };
    redirect(
        &target,
        &[clear_cookie(SESSION_COOKIE, state.secure_cookies)],
    )
}

async fn get_stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLESHEET,
    )
        .into_response()
}

/// Checks the ID token (signature, issuer, audience, expiry, nonce) and its `at_hash`, and
/// builds the session from its claims.
fn verified_session(
    state: &PortalState,
    tokens: &openidconnect::core::CoreTokenResponse,
    nonce: &Nonce,
) -> Result<UserSession, PageError> {
    let refused = |reason: String| PageError::IdTokenRefused(reason);
    let id_token = tokens
        .id_token()
        .ok_or_else(|| refused("no ID token in the token response".to_owned()))?;
    let verifier = state.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .map_err(|err| refused(error_chain(&err)))?;
    // OIDC Core §3.1.3.8: `at_hash` is optional in the code flow, but binds the two tokens
    // when present.
    if let Some(expected_hash) = claims.access_token_hash() {
        let algorithm = id_token
            .signing_alg()
            .map_err(|err| refused(error_chain(&err)))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|err| refused(error_chain(&err)))?;
        let actual_hash = AccessTokenHash::from_token(tokens.access_token(), algorithm, key)
            .map_err(|err| refused(error_chain(&err)))?;
        if actual_hash != *expected_hash {
            return Err(refused(
                "at_hash does not match the access token".to_owned(),
            ));
        }
    }

    let given_name = claims
        .given_name()
        .and_then(|name| name.get(None))
        .map(|name| name.as_str().to_owned());
    let family_name = claims
        .family_name()
        .and_then(|name| name.get(None))
        .map(|name| name.as_str().to_owned());
    let email = claims.email().map(|email| email.as_str().to_owned());
    let lifetime = tokens.expires_in().unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME);
    Ok(UserSession::new(
        claims.subject().as_str().to_owned(),
        given_name,
        family_name,
        email,
        id_token.clone(),
        tokens.access_token().clone(),
        Instant::now() + lifetime,
    ))
}

/// Renders a page for whoever is signed in (or not).
fn show(
    portal: &Portal,
    headers: &HeaderMap,
    render: impl FnOnce(Viewer<'_>) -> Result<crate::template::Html, RenderError>,
) -> Result<Response, PageError> {
    let state = portal.state();
    let page = match current_session(state, headers) {
        Some(session) => {
            let (display_name, profile_url) = viewer_parts(state, &session);
            render(Viewer::SignedIn {
                display_name: &display_name,
                profile_url: &profile_url,
            })?
        }
        None => render(Viewer::SignedOut)?,
    };
    Ok(Html(page.into_string()).into_response())
}

fn current_session(state: &PortalState, headers: &HeaderMap) -> Option<Arc<UserSession>> {
    let key = SessionKey::from_cookie(headers, SESSION_COOKIE)?;
    state.sessions.find_session(&key)
}

/// The name the header shows and the account console's URL.
fn viewer_parts(state: &PortalState, session: &UserSession) -> (String, String) {
    let full_name = [&session.given_name, &session.family_name]
        .into_iter()
        .flatten()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = if !full_name.is_empty() {
        full_name
    } else {
        session
            .email
            .clone()
            .unwrap_or_else(|| messages::UNNAMED_ACCOUNT.to_owned())
    };
    let profile_url = format!(
        "{}/account",
        state.config.issuer.as_str().trim_end_matches('/')
    );
    (display_name, profile_url)
}

fn redirect_to_login(next: Page) -> Response {
    redirect(&format!("/login?next={}", next.path()), &[])
}

/// A `303 See Other` to `location`, setting `cookies`.
fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(LOCATION, value);
        }
        Err(_) => {
            // Every location here is a URL or a path this crate built, all ASCII.
            tracing::error!("redirect location is not a valid header value");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

/// Compares two secrets in constant time.
fn same_secret(left: &str, right: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(left.as_bytes(), right.as_bytes()).is_ok()
}

/// A request's query parameters, decoded; parsing never fails.
struct QueryParams(HashMap<String, Vec<String>>);

impl QueryParams {
    fn parse(uri: &Uri) -> QueryParams {
        let mut params: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            params
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        QueryParams(params)
    }

    /// The first value of `name`.
    fn first(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.first().map(String::as_str)
    }

    /// The value of `name`, which must not be repeated (RFC 6749 §3.1).
    fn single(&self, name: &'static str) -> Result<Option<&str>, PageError> {
        match self.0.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(value.as_str())),
            Some(_) => Err(PageError::RepeatedParameter(name)),
        }
    }
}
