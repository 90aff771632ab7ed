//! The vocabulary of Sésame: realms and their policies, clients, users, credentials, and the
//! protocol values that travel between them.
//!
//! This crate does no I/O: no database, no HTTP, no clock and no random source. Callers hand it
//! the current time and any random bytes it needs, so every rule here is tested without waiting.

mod client;
mod event;
mod password_policy;
mod pkce;
mod realm;
mod redirect_uri;
mod scope;
mod secret;
mod user;

pub use client::{Client, ClientAuthMethod};
pub use event::{AuditEvent, EventKind, EventType, OperationType, ResourceType};
pub use password_policy::{PasswordPolicy, PasswordPolicyError, PasswordRule, normalize_password};
pub use pkce::{CodeChallenge, CodeVerifier, PkceError};
pub use realm::{MailSettings, OtpPolicy, RealmSettings, RequiredAction, SigningAlgorithm};
pub use redirect_uri::{RedirectUri, RedirectUriError};
pub use scope::{SUPPORTED_SCOPES, Scopes};
pub use secret::{Secret, constant_time_eq};
pub use user::User;
