//! Errors of the admin API, as JSON with a stable `error` code and Keycloak's `errorMessage`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sesame_store::StoreError;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No bearer token, or one that is invalid, expired or revoked.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The token's client may not administer this realm.
    #[error("not allowed to administer this realm")]
    Forbidden,
    /// The realm, user or client does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request body or a parameter is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// A user or client with the same unique name exists.
    #[error("{0}")]
    Conflict(String),
    /// The password hashing pool is full.
    #[error("server busy, try again")]
    Busy,
    /// The database or another part of ours failed.
    #[error("internal error")]
    Internal,
    /// The mail server refused or could not be reached.
    #[error("Failed to send execute actions email")]
    MailFailed,
}

impl AdminError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "invalid_request",
            Self::Conflict(_) => "conflict",
            Self::Busy => "temporarily_unavailable",
            Self::Internal => "server_error",
            Self::MailFailed => "mail_failed",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal | Self::MailFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("object"),
            StoreError::Conflict(_) => {
                Self::Conflict("an object with the same unique name exists".to_owned())
            }
            other => {
                tracing::error!(error = %other, "database failure in the admin API");
                Self::Internal
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code(), "errorMessage": self.to_string() });
        let mut response = (self.status(), Json(body)).into_response();
        match self {
            Self::Unauthenticated => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Busy => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// Parses a JSON request body; a malformed one is a 400 naming what was wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(body)
        .map_err(|err| AdminError::BadRequest(format!("malformed JSON body: {err}")))
}
