//! `GET /admin/openapi.json`: the OpenAPI 3 description of the admin API, kept beside the crate
//! as `openapi.json` and served as written. A test compares it with the routes of
//! [`crate::router`] both ways, so neither can change without the other.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document, embedded at build time.
const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /admin/openapi.json`: public, like any API description; it holds no data.
pub(crate) async fn get_openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
