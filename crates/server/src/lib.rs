//! The `sesame` binary's library: configuration, realm files, wiring and the command line, so
//! that integration tests start exactly what the binary starts.

mod admin_commands;
mod app;
pub mod cli;
pub mod config;
mod demo;
mod realm_export;
mod realm_file;

pub use app::{Sesame, serve};
