//! OAuth 2.0 and OpenID Connect errors: the registered codes, and their two shapes on the wire
//! (JSON from the back-channel endpoints, a redirect or an error page at the front channel).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A registered error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed
    /// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)).
    InvalidRequest,
    /// Client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// The code, refresh token or credentials are invalid, expired, revoked, or were issued to
    /// another client or redirect URI (RFC 6749 §5.2).
    InvalidGrant,
    /// The client may not use this grant or response type (RFC 6749 §4.1.2.1, §5.2).
    UnauthorizedClient,
    /// The grant type is not supported (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The response type is not supported (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// The requested scope is invalid or exceeds what was granted (RFC 6749 §3.3).
    InvalidScope,
    /// The resource owner or server denied the request (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// An unexpected condition on our side (RFC 6749 §4.1.2.1).
    ServerError,
    /// The server is overloaded or in maintenance (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// `prompt=none` was asked but the user must sign in
    /// ([OIDC Core §3.1.2.6](https://openid.net/specs/openid-connect-core-1_0.html#AuthError)).
    LoginRequired,
    /// `prompt=none` was asked but the user must interact (OIDC Core §3.1.2.6).
    InteractionRequired,
    /// The `request` parameter is not supported (OIDC Core §3.1.2.6).
    RequestNotSupported,
    /// The `request_uri` parameter is not supported (OIDC Core §3.1.2.6).
    RequestUriNotSupported,
    /// The access token is invalid, expired or revoked
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)).
    InvalidToken,
    /// The access token lacks the scope the resource needs (RFC 6750 §3.1).
    InsufficientScope,
    /// The token type cannot be revoked
    /// ([RFC 7009 §2.2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1)).
    UnsupportedTokenType,
}

impl ErrorCode {
    /// The registered string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
        }
    }
}

/// An OAuth error with an optional ASCII description that carries no user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The registered code.
    pub code: ErrorCode,
    /// A short explanation for the client's developer.
    pub description: Option<&'static str>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        Self {
            code,
            description: Some(description),
        }
    }

    /// `server_error`, for failures on our side; the cause is logged where it happened.
    pub fn server() -> Self {
        Self {
            code: ErrorCode::ServerError,
            description: None,
        }
    }

    /// `invalid_client`.
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// The parameters of the error for a front-channel redirect.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("error", self.code.as_str().to_owned())];
        if let Some(description) = self.description {
            params.push(("error_description", description.to_owned()));
        }
        params
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'static str>,
}

/// The JSON shape of back-channel errors (RFC 6749 §5.2), with `Cache-Control: no-store`, and
/// 401 with `WWW-Authenticate` when client authentication failed.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = ErrorBody {
            error: self.code,
            error_description: self.description,
        };
        let mut response = (status, no_store(), Json(body)).into_response();
        if self.code == ErrorCode::InvalidClient {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sesame\""),
            );
        }
        if self.code == ErrorCode::TemporarilyUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The headers that keep token responses out of every cache (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// A bearer-token error at a protected resource (RFC 6750 §3): 401 with a `WWW-Authenticate`
/// challenge, without an error code when no token was sent at all (§3.1).
pub fn bearer_error(realm: &str, code: Option<ErrorCode>) -> Response {
    let (status, challenge) = match code {
        None => (
            StatusCode::UNAUTHORIZED,
            format!("Bearer realm=\"{realm}\""),
        ),
        Some(ErrorCode::InsufficientScope) => (
            StatusCode::FORBIDDEN,
            format!("Bearer realm=\"{realm}\", error=\"insufficient_scope\""),
        ),
        Some(ErrorCode::InvalidRequest) => (
            StatusCode::BAD_REQUEST,
            format!("Bearer realm=\"{realm}\", error=\"invalid_request\""),
        ),
        Some(other) => (
            StatusCode::UNAUTHORIZED,
            format!("Bearer realm=\"{realm}\", error=\"{}\"", other.as_str()),
        ),
    };
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
