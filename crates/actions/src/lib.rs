//! The login flow: the pages under `/realms/{realm}/login-actions/`, the password check, and
//! the browser session a finished login opens.
//!
//! A login starts at the authorization endpoint (`sesame-oidc`), which stores the request in a
//! login session and sends the browser here; once the user is authenticated, this crate opens
//! a browser session and hands back to [`sesame_oidc::authorize::complete_login`].

mod login;
pub mod passwords;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use sesame_oidc::Provider;

pub use passwords::{PasswordError, PasswordHasher};

/// What the login pages need: the provider and the password hasher.
pub struct Actions {
    /// The protocol side: database, keys, pages, clock.
    pub provider: Arc<Provider>,
    /// The argon2id pool.
    pub passwords: PasswordHasher,
}

/// The login pages of every realm.
pub fn router(actions: Arc<Actions>) -> Router {
    Router::new()
        .route(
            "/realms/{realm}/login-actions/authenticate",
            get(login::get_authenticate).post(login::post_authenticate),
        )
        .with_state(actions)
}
