//! The Smart OA API: `GET /api/ordres-effacement`, for bearer tokens only
//! ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750)). A user's token sees that user's
//! orders; a client's own token (client credentials) sees every order of the sample set.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::access::AccessTokenError;
use crate::orders::{self, OrdersResponse};
use crate::portal::Portal;

/// The protection space named in `WWW-Authenticate` (RFC 6750 §3).
const REALM: &str = "smart-oa-api";

/// Why a request was refused, as RFC 6750 §3 answers it.
#[derive(Debug, thiserror::Error)]
enum BearerError {
    /// No `Authorization: Bearer` header: no error code (RFC 6750 §3.1, last paragraph).
    #[error("no bearer token")]
    Missing,
    /// The token was refused: `invalid_token`.
    #[error(transparent)]
    InvalidToken(#[from] AccessTokenError),
}

/// The API's routes.
pub(crate) fn router() -> Router<Portal> {
    Router::new().route("/api/ordres-effacement", get(get_orders))
}

async fn get_orders(
    State(portal): State<Portal>,
    headers: HeaderMap,
) -> Result<Response, BearerError> {
    let state = portal.state();
    let token = bearer_token(&headers).ok_or(BearerError::Missing)?;

    let claims = state.validator.validate(token, &state.backchannel).await?;
    let orders = if claims.is_service_account() {
        orders::all_sample_orders()
    } else {
        orders::orders_for_producer(&claims.sub)
    };

    tracing::debug!(
        user_id = %claims.sub,
        client_id = claims.client_id.as_deref().unwrap_or(""),
        orders = orders.len(),
        "orders served"
    );
    let mut response = Json(OrdersResponse { orders }).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        // A refused token is the caller's problem, not ours: not logged above DEBUG.
        tracing::debug!(reason = %self, "API request refused");
        let (challenge, body) = match &self {
            BearerError::Missing => (
                format!("Bearer realm=\"{REALM}\""),
                json!({ "error": "unauthorized", "error_description": "a bearer token is required" }),
            ),
            BearerError::InvalidToken(err) => {
                let description = err.to_string();
                (
                    format!(
                        "Bearer realm=\"{REALM}\", error=\"invalid_token\", \
                         error_description=\"{description}\""
                    ),
                    json!({ "error": "invalid_token", "error_description": description }),
                )
            }
        };
        let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        let headers = response.headers_mut();
        // The challenge is ASCII built from constants (the descriptions contain no quote).
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The token of an `Authorization: Bearer` header; the scheme is case-insensitive
/// (RFC 9110 §11.1). Another scheme counts as no token.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: Option<&str>, expected: Option<&str>) {
        let mut headers = HeaderMap::new();
        if let Some(header) = header {
            headers.insert(
                AUTHORIZATION,
                HeaderValue::from_str(header).expect("header"),
            );
        }
        assert_eq!(bearer_token(&headers), expected, "{header:?}");
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        check(None, None);
        check(Some("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        check(Some("bearer abc"), Some("abc"));
        check(Some("Bearer   abc  "), Some("abc"));
        check(Some("Bearer "), None);
        check(Some("Bearer"), None);
        check(Some("Basic dXNlcjpwYXNz"), None);
    }
}
