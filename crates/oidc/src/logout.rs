//! RP-initiated logout ([OpenID Connect RP-Initiated Logout 1.0](https://openid.net/specs/openid-connect-rpinitiated-1_0.html)).
//!
//! The session ends at once only when `id_token_hint` is an ID token of this realm (expired ones
//! are accepted: they only identify, §2) naming the user of the browser's session, and its
//! session when it has a `sid`. Any other signed token, such as an access token, or an ID token
//! of someone else leads to a confirmation page, which protects the user from being signed out
//! by any page or API consumer that links here. `post_logout_redirect_uri` must be registered
//! by the client exactly.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use sesame_domain::{AuditEvent, EventType, RealmSettings, RedirectUri, constant_time_eq};
use sesame_store::UserSessionRow;

use crate::access::verify_signed;
use crate::authorize::live_session;
use crate::cookies::{SESSION_COOKIE, read_cookie, set_cookie};
use crate::jwt::UnverifiedJwt;
use crate::pages::{error_page, found, page};
use crate::params::{Params, is_form};
use crate::{ClientAddress, Provider, audit, random_token};

const LOGOUT_CSRF_COOKIE: &str = "SESAME_LOGOUT_CSRF";

/// `GET /realms/{realm}/protocol/openid-connect/logout`.
pub(crate) async fn get_logout(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).ok();
    logout(&provider, &realm, params, (&headers, &address), false).await
}

/// `POST /realms/{realm}/protocol/openid-connect/logout`: the same parameters as a form, or the
/// confirmation form.
pub(crate) async fn post_logout(
    State(provider): State<Arc<Provider>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = if is_form(&headers) {
        Params::parse(&body).ok()
    } else {
        None
    };
    logout(&provider, &realm, params, (&headers, &address), true).await
}

async fn logout(
    provider: &Provider,
    realm: &str,
    params: Option<Params>,
    (headers, address): (&HeaderMap, &str),
    is_post: bool,
) -> Response {
    let settings = match provider.realm(realm).await {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            return error_page(
                provider,
                StatusCode::NOT_FOUND,
                "fr",
                "realmNotFoundMessage",
            );
        }
        Err(err) => return crate::authorize::server_error_page(provider, &err),
    };
    let locale = provider.page_locale(
        &settings,
        headers,
        params.as_ref().and_then(|params| params.get("ui_locales")),
    );
    let bad_request = || {
        error_page(
            provider,
            StatusCode::BAD_REQUEST,
            &locale,
            "invalidRequestMessage",
        )
    };
    let Some(params) = params else {
        return bad_request();
    };

    // Who the hint names. Its expiry does not matter; its signature and issuer do.
    let verified_hint = match params.get("id_token_hint") {
        Some(hint) => match verify_signed(provider, realm, &settings, hint).await {
            Ok(jwt) => Some(jwt),
            Err(err) => {
                tracing::debug!(realm, reason = %err, "logout with an invalid id_token_hint");
                return bad_request();
            }
        },
        None => None,
    };
    let hint_client = verified_hint
        .as_ref()
        .and_then(|jwt| match jwt.claims.get("aud") {
            Some(Value::String(aud)) => Some(aud.clone()),
            Some(Value::Array(auds)) => auds.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        });
    let id_token_hint = verified_hint.as_ref().and_then(IdTokenHint::from_jwt);
    if verified_hint.is_some() && id_token_hint.is_none() {
        tracing::debug!(realm, "logout hint is a token of ours but not an ID token");
    }
    let client_id = match (params.get("client_id"), hint_client.as_deref()) {
        (Some(param), Some(from_hint)) if param != from_hint => return bad_request(),
        (Some(param), _) => Some(param.to_owned()),
        (None, from_hint) => from_hint.map(str::to_owned),
    };

    let redirect = match params.get("post_logout_redirect_uri") {
        Some(uri) => {
            let Some(client_id) = client_id.clone() else {
                return bad_request();
            };
            let realm_name = realm.to_owned();
            let client = provider
                .db
                .run(move |conn| sesame_store::find_client(conn, &realm_name, &client_id))
                .await;
            match client {
                // A dangerous URI stored before registration checked schemes is not followed.
                Ok(Some(client))
                    if client
                        .post_logout_redirect_uris
                        .iter()
                        .any(|registered| registered == uri)
                        && RedirectUri::check_registration(uri).is_ok() =>
                {
                    Some(uri.to_owned())
                }
                Ok(_) => {
                    return error_page(
                        provider,
                        StatusCode::BAD_REQUEST,
                        &locale,
                        "invalidRedirectUriMessage",
                    );
                }
                Err(err) => return crate::authorize::server_error_page(provider, &err),
            }
        }
        None => None,
    };

    let browser_session =
        match live_session(provider, realm, &settings, headers, provider.clock.now()).await {
            Ok(session) => session,
            Err(err) => return crate::authorize::server_error_page(provider, &err),
        };
    let trusted_hint =
        id_token_hint.filter(|hint| hint.names_the_session_of(browser_session.as_ref()));
    if trusted_hint.is_none() {
        // The confirmation form carries the token of its double-submit cookie; nothing else can.
        let confirmed = is_post && csrf_matches(headers, params.get("csrf_token"));
        if !confirmed {
            return confirmation_page(
                provider,
                (realm, &settings),
                &locale,
                &params,
                client_id.as_deref(),
            );
        }
    }

    let event = audit::event(provider, realm, EventType::Logout, address);
    let event = event.client(client_id.as_deref().unwrap_or_default());
    let ended = end_sessions(provider, browser_session, trusted_hint.as_ref(), event).await;
    if let Err(err) = ended {
        return crate::authorize::server_error_page(provider, &err);
    }
    let mut response = match redirect {
        Some(uri) => {
            let Ok(mut url) = url::Url::parse(&uri) else {
                return bad_request();
            };
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            found(url.as_str())
        }
        None => page(
            provider,
            StatusCode::OK,
            "logged_out.html",
            &locale,
            &json!({ "realm_name": settings.display_name, "theme": settings.login_theme }),
        ),
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", realm, 0, provider.secure_cookies()),
    );
    response
}

/// An `id_token_hint` that is one of our ID tokens, as [`IdTokenHint::from_jwt`] recognises them.
struct IdTokenHint {
    /// `sub`: the user.
    subject: String,
    /// `sid`: the browser session it was issued in, when there was one.
    session_id: Option<String>,
}

impl IdTokenHint {
    /// Recognises an ID token among the tokens the realm signs (its signature and issuer are
    /// already checked). Access tokens are signed by the same keys, so the signature alone
    /// proves nothing: an API consumer holds access tokens of its own. An ID token has the
    /// header `typ` `JWT` (access tokens: `at+jwt`, RFC 9068 §2.1), the claim `typ` `ID`, a
    /// single audience that is also its `azp`, and no `scope` or `client_id`, which every
    /// access token carries.
    fn from_jwt(jwt: &UnverifiedJwt) -> Option<Self> {
        let claims = &jwt.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let is_id_token = jwt.typ() == Some("JWT")
            && text("typ") == Some("ID")
            && text("aud").is_some_and(|aud| Some(aud) == text("azp"))
            && !claims.contains_key("scope")
            && !claims.contains_key("client_id");
        if !is_id_token {
            return None;
        }
        Some(Self {
            subject: text("sub")?.to_owned(),
            session_id: text("sid").map(str::to_owned),
        })
    }

    /// Whether the hint speaks of the browser's session: same user, and same session when the
    /// hint names one. Without a browser session, only the hint's own session can end, and
    /// [`end_sessions`] checks that it belongs to the hint's user.
    fn names_the_session_of(&self, browser_session: Option<&UserSessionRow>) -> bool {
        browser_session.is_none_or(|session| {
            session.user_id == self.subject
                && self
                    .session_id
                    .as_ref()
                    .is_none_or(|sid| *sid == session.id)
        })
    }
}

/// Ends the browser's session and the session the trusted hint names (its `sid`, if it belongs
/// to the hint's user). The caller checked that a hint names the browser's user, or that the
/// user confirmed.
async fn end_sessions(
    provider: &Provider,
    browser_session: Option<UserSessionRow>,
    hint: Option<&IdTokenHint>,
    event: AuditEvent,
) -> Result<(), sesame_store::StoreError> {
    let (realm, now) = (event.realm.as_str(), event.time);
    let hint_subject = hint.map(|hint| hint.subject.clone());
    let hint_sid = hint.and_then(|hint| hint.session_id.clone());
    let mut to_end = Vec::new();
    if let Some(session) = browser_session {
        to_end.push((session.id, session.user_id));
    }
    let realm_name = realm.to_owned();
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                if let (Some(sid), Some(subject)) = (hint_sid, hint_subject) {
                    let session = sesame_store::find_user_session(conn, &sid)?;
                    // An ended session has nothing left to end, and no logout to record.
                    if session.is_some_and(|session| {
                        session.user_id == subject
                            && session.realm == realm_name
                            && session.ended_at.is_none()
                    }) && !to_end.iter().any(|(id, _)| *id == sid)
                    {
                        to_end.push((sid, subject));
                    }
                }
                for (session_id, user_id) in &to_end {
                    sesame_store::end_user_session(conn, session_id, now)?;
                    let mut ended = event.clone().user_id(user_id).session(session_id);
                    // One event per session ended, each with its own id.
                    ended.id = crate::new_id();
                    sesame_store::insert_event(conn, &ended)?;
                    tracing::info!(realm = %realm_name, session_id, "browser session ended by logout");
                }
                Ok(())
            })
        })
        .await
}

/// The page asking the user to confirm. `client_id` is the one of the request or of its hint,
/// so that the confirmed form can still check `post_logout_redirect_uri`.
fn confirmation_page(
    provider: &Provider,
    (realm, settings): (&str, &RealmSettings),
    locale: &str,
    params: &Params,
    client_id: Option<&str>,
) -> Response {
    let csrf_token = random_token(32);
    let fields: Vec<Value> = [
        ("client_id", client_id),
        (
            "post_logout_redirect_uri",
            params.get("post_logout_redirect_uri"),
        ),
        ("state", params.get("state")),
        ("ui_locales", params.get("ui_locales")),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|value| json!({ "name": name, "value": value })))
    .collect();
    let context = json!({
        "realm_name": settings.shown_name(realm),
        "theme": settings.login_theme,
        "action_url": format!("{}/protocol/openid-connect/logout", provider.issuer(realm)),
        "csrf_token": csrf_token,
        "fields": fields,
    });
    let mut response = page(
        provider,
        StatusCode::OK,
        "logout_confirm.html",
        locale,
        &context,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LOGOUT_CSRF_COOKIE,
            &csrf_token,
            realm,
            600,
            provider.secure_cookies(),
        ),
    );
    response
}

/// Double-submit check: the form's token must equal the cookie set with the confirmation page.
fn csrf_matches(headers: &HeaderMap, form_token: Option<&str>) -> bool {
    match (read_cookie(headers, LOGOUT_CSRF_COOKIE), form_token) {
        (Some(cookie), Some(form)) => constant_time_eq(cookie.as_bytes(), form.as_bytes()),
        _ => false,
    }
}
