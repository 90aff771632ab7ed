//! End-to-end tests of Sésame: each test starts the real server over HTTPS on `127.0.0.1:0`
//! with its own database and talks to it as relying parties and browsers do, through the
//! `openidconnect` crate where a real client would use it and through raw HTTP where the bytes
//! on the wire are what is checked.
//!
//! One binary for every topic (STYLE.md §10): each file under `tests/` would link its own.

/// Generates, for each `async fn scenario(backend: Backend)` listed, one test per database:
/// `on_sqlite::scenario` and `on_postgres::scenario`. Written before the modules so that every
/// topic module can use it.
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::harness::Backend::Sqlite).await;
                }
            )+
        }

        mod on_postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::harness::Backend::Postgres).await;
                }
            )+
        }
    };
}

mod account;
mod admin_api;
mod admin_openapi;
mod audit_events;
mod browser;
mod cli_commands;
mod demo;
mod errors;
mod invite_command;
mod journey;
mod language;
mod mail;
mod pages;
mod private_key_jwt;
mod python_keycloak;
mod reset;
mod security_fixes_input;
mod security_fixes_logout;
mod strong_login;
mod themes;
// `pub`: the harness is the API every topic codes against; helpers one topic does not use are
// not dead code, and its `pub` items are not unreachable.
pub mod harness;
mod oidc_flow;
mod operations;
