//! The OpenID Connect provider: discovery, signing keys and JWKS, the authorization, token,
//! userinfo, introspection, revocation and logout endpoints, at Keycloak's paths.
//!
//! It owns the protocol and nothing else: the login pages that authenticate a user live in
//! `sesame-actions`, which hands a finished login back through [`authorize::complete_login`].

pub mod access;
pub mod audit;
pub mod authorize;
mod client_address;
mod client_auth;
mod context;
pub mod cookies;
mod discovery;
pub mod error;
mod introspect;
pub mod issue;
pub mod jwt;
pub mod keys;
mod logout;
pub mod metrics;
pub mod pages;
pub mod params;
mod revoke;
mod token;
mod tokens;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use client_address::ClientAddress;
pub use context::{Clock, Provider};

pub use tokens::{new_id, random_bytes, random_token, sha256, sha256_hex};

/// The protocol endpoints of every realm, at Keycloak's paths.
pub fn router(provider: Arc<Provider>) -> Router {
    let base = "/realms/{realm}/protocol/openid-connect";
    Router::new()
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(discovery::get_openid_configuration),
        )
        .route(&format!("{base}/certs"), get(discovery::get_certs))
        .route(
            &format!("{base}/auth"),
            get(authorize::get_auth).post(authorize::post_auth),
        )
        .route(&format!("{base}/token"), post(token::post_token))
        .route(
            &format!("{base}/token/introspect"),
            post(introspect::post_introspect),
        )
        .route(&format!("{base}/revoke"), post(revoke::post_revoke))
        .route(
            &format!("{base}/userinfo"),
            get(userinfo::get_userinfo).post(userinfo::post_userinfo),
        )
        .route(
            &format!("{base}/logout"),
            get(logout::get_logout).post(logout::post_logout),
        )
        .with_state(provider)
}
