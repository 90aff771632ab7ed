//! Front-channel answers: error pages, and authorization responses by redirect or by an
//! auto-posting form (OAuth 2.0 Form Post Response Mode).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use sesame_domain::RedirectUri;

use crate::Provider;
use crate::error::no_store;

/// How the authorization response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query (the default for `code`).
    Query,
    /// Parameters in a form the browser posts to the redirect URI.
    FormPost,
}

/// Renders the error page with a localised title and message. The page never redirects: it is
/// what a browser sees when the client or its redirect URI cannot be trusted.
pub fn error_page(
    provider: &Provider,
    status: StatusCode,
    locale: &str,
    message_key: &str,
) -> Response {
    page(
        provider,
        status,
        "error.html",
        locale,
        &json!({ "title": "errorTitle", "message": message_key }),
    )
}

/// Renders a login-UI template. A rendering failure is logged and becomes the error page with
/// status 500; only when that page cannot be rendered either is the answer a plain 500.
pub fn page(
    provider: &Provider,
    status: StatusCode,
    template: &str,
    locale: &str,
    context: &serde_json::Value,
) -> Response {
    let err = match provider.ui.render(template, locale, context) {
        Ok(html) => return (status, no_store(), Html(html)).into_response(),
        Err(err) => err,
    };

    tracing::error!(template, error = %err, "page rendering failed");
    let context = json!({ "title": "errorTitle", "message": "internalServerErrorMessage" });
    match provider.ui.render("error.html", locale, &context) {
        Ok(html) => (StatusCode::INTERNAL_SERVER_ERROR, no_store(), Html(html)).into_response(),
        Err(err) => {
            tracing::error!(template = "error.html", error = %err, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Sends authorization response parameters to the client's redirect URI.
pub fn authorization_response(
    provider: &Provider,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, String)],
) -> Response {
    // Registration refuses URIs a browser would run (`javascript:`, `data:`…), but a database
    // may still hold one registered before that check. The form-post page can only post to a
    // web URL (its template refuses anything else), so a native app's scheme is refused there.
    let acceptable = match mode {
        ResponseMode::Query => RedirectUri::check_registration(redirect_uri).is_ok(),
        ResponseMode::FormPost => RedirectUri::is_web(redirect_uri),
    };
    if !acceptable {
        tracing::warn!(
            ?mode,
            "stored redirect URI refused for the authorization response"
        );
        return error_page(
            provider,
            StatusCode::BAD_REQUEST,
            "fr",
            "invalidRedirectUriMessage",
        );
    }

    match mode {
        ResponseMode::Query => {
            let Ok(mut url) = url::Url::parse(redirect_uri) else {
                // Stored redirect URIs were parsed when they matched; this cannot happen.
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(name, value)| (*name, value.as_str())));
            let mut response = Redirect::to(url.as_str()).into_response();
            *response.status_mut() = StatusCode::FOUND;
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        ResponseMode::FormPost => {
            let fields: Vec<_> = params
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            page(
                provider,
                StatusCode::OK,
                "form_post.html",
                "fr",
                &json!({ "redirect_uri": redirect_uri, "fields": fields }),
            )
        }
    }
}

/// A 302 redirect to a URL of ours or of a validated client.
pub fn found(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
