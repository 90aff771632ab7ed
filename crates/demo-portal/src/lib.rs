//! The Smart OA demo portal and API: a relying party and a resource server of Sésame, built
//! only on public libraries (`openidconnect`, `jsonwebtoken`), so that it uses Sésame exactly
//! as the real portal and API consumers do.
//!
//! - The portal (`/`, the menu's pages, `/login`, `/callback`, `/logout`) signs users in with
//!   the authorization code flow and PKCE, keeps tokens in server-side sessions, and signs out
//!   at Sésame too (RP-initiated logout).
//! - The API (`GET /api/ordres-effacement`) accepts only JWT access tokens from Sésame, checked
//!   against its JWKS, and answers 401 with `WWW-Authenticate` otherwise (RFC 6750).
//!
//! Run it with the `demo-portal` binary, or in-process with [`spawn`] / [`spawn_on`] (tests,
//! Sésame's `start-dev`), or [`serve`], or mount [`router`] in your own server.
#![warn(missing_docs)]

mod access;
mod api;
mod backchannel;
mod config;
mod messages;
mod orders;
mod pages;
mod portal;
mod server;
mod session;
mod template;
mod web;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::{self, Next};
use axum::response::Response;
use tracing::Instrument;

pub use backchannel::HttpClientError;
pub use config::{
    ClientSecret, Config, ConfigError, DEFAULT_API_AUDIENCE, DEFAULT_CLIENT_ID,
    DEFAULT_DISCOVERY_TIMEOUT, DEFAULT_LISTEN,
};
pub use orders::{
    CurtailmentOrder, OrderKind, OrdersResponse, all_sample_orders, orders_for_producer,
};
pub use portal::{Portal, PortalError};
pub use server::{RunningPortal, bind, serve, spawn, spawn_on};

/// Pages allow nothing but their own stylesheet: no script, no frame, no form elsewhere.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'self'; \
    img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The portal's routes: pages, login, logout, the stylesheet and the API.
pub fn router(portal: Portal) -> Router {
    Router::new()
        .merge(web::router())
        .merge(api::router())
        .fallback(web::not_found)
        .layer(middleware::from_fn(trace_request))
        .with_state(portal)
}

/// One span per request with the route template, never the URI: on `/callback` the query holds
/// the authorization code. Also sets the headers every answer carries.
async fn trace_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(none)".to_owned(), |path| path.as_str().to_owned());
    let span = tracing::debug_span!("request", %method, route = %route);

    let mut response = next.run(request).instrument(span.clone()).await;

    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "answered"));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages carry no secret in their URL, but Sésame's logout URL does (`id_token_hint`).
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Pages show personal data: no cache keeps them, unless the route said otherwise.
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
