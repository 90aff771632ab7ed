//! The admin REST API under `/admin/realms/{realm}`, with Keycloak's paths and JSON
//! representations so that existing admin scripts keep working.
//!
//! Every call needs a bearer access token of a client whose service account administers the
//! realm; a `master` realm administrator administers every realm. Every change made through it
//! is an admin event, in the transaction of the change; `events` and `admin-events` read the
//! audit trail back. The API's OpenAPI description is served, without a token, at
//! `/admin/openapi.json` (kept in `openapi.json`, checked against the router by a test).

mod auth;
mod clients;
mod credentials;
mod error;
mod events;
mod openapi;
mod realms;
mod sessions;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post, put};
use sesame_actions::Actions;

pub use error::AdminError;

/// The admin API of every realm.
pub fn router(actions: Arc<Actions>) -> Router {
    Router::new()
        .route("/admin/openapi.json", get(openapi::get_openapi))
        .route(
            "/admin/realms/{realm}",
            get(realms::get_realm).put(realms::put_realm),
        )
        .route(
            "/admin/realms/{realm}/users",
            get(users::get_users).post(users::post_user),
        )
        .route(
            "/admin/realms/{realm}/users/count",
            get(users::get_users_count),
        )
        .route(
            "/admin/realms/{realm}/users/{id}",
            get(users::get_user)
                .put(users::put_user)
                .delete(users::delete_user),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/execute-actions-email",
            put(users::put_execute_actions_email),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/reset-password",
            put(credentials::put_reset_password),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials",
            get(credentials::get_credentials),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials/{credential_id}",
            delete(credentials::delete_credential),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/sessions",
            get(sessions::get_user_sessions),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/logout",
            post(sessions::post_user_logout),
        )
        .route(
            "/admin/realms/{realm}/sessions/{session_id}",
            delete(sessions::delete_session),
        )
        .route(
            "/admin/realms/{realm}/clients",
            get(clients::get_clients).post(clients::post_client),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}",
            get(clients::get_client)
                .put(clients::put_client)
                .delete(clients::delete_client),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/client-secret",
            post(clients::post_client_secret),
        )
        .route("/admin/realms/{realm}/events", get(events::get_events))
        .route(
            "/admin/realms/{realm}/admin-events",
            get(events::get_admin_events),
        )
        .with_state(actions)
}
