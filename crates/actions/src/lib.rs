//! The login flow: the pages under `/realms/{realm}/login-actions/`, from the password to the
//! one-time code and the required actions, the links of mails, and the browser session a
//! finished login opens.
//!
//! A login starts at the authorization endpoint (`sesame-oidc`), which stores the request in a
//! login session and sends the browser here; once every step is done, this crate opens a
//! browser session and hands back to [`sesame_oidc::authorize::complete_login`]. Which step
//! comes next is decided in one place, `flow`; each step and each required action is a module
//! of its own with the same shape: `show` renders it, `submit` validates and applies its form.

mod account;
mod action_token;
mod audit;
mod authenticate;
mod configure_totp;
mod flow;
mod invite;
mod otp;
mod password;
pub mod passwords;
mod reset_credentials;
mod throttle;
pub mod totp;
mod update_password;
mod update_profile;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use sesame_mail::Mailer;
use sesame_oidc::Provider;

pub use invite::{
    ActionsMailError, ActionsMailKind, ActionsMailRequest, SentActionsMail, send_actions_mail,
};
pub use passwords::{PasswordError, PasswordHasher};
pub use update_password::realm_password_policy;

/// What the login pages need.
pub struct Actions {
    /// The protocol side: database, keys, pages, clock.
    pub provider: Arc<Provider>,
    /// The argon2id pool.
    pub passwords: PasswordHasher,
    /// Where mail goes.
    pub mailer: Mailer,
}

/// The login pages and the account console of every realm.
pub fn router(actions: Arc<Actions>) -> Router {
    Router::new()
        .route(
            "/realms/{realm}/login-actions/authenticate",
            get(authenticate::get_authenticate).post(authenticate::post_authenticate),
        )
        .route(
            "/realms/{realm}/login-actions/action-token",
            get(action_token::get_action_token),
        )
        .route(
            "/realms/{realm}/login-actions/reset-credentials",
            get(reset_credentials::get_reset_credentials)
                .post(reset_credentials::post_reset_credentials),
        )
        .merge(account::routes())
        .with_state(actions)
}
