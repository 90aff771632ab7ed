//! Storage for Sésame: the diesel schema, one connection type over SQLite and PostgreSQL, and
//! the repository functions every other crate uses.
//!
//! Repository functions take a `&mut DbConnection`, so a caller composes several of them in one
//! transaction with [`in_transaction`]. They return domain types, or small row
//! structs for what only the protocol layers read. `find_*` returns an `Option`; `insert`,
//! `update_*` and `delete_*` return `Result`.

mod action_tokens;
mod clients;
mod connection;
mod credentials;
mod events;
mod grants;
mod keys;
mod realms;
mod schema;
mod sessions;
mod users;

pub use action_tokens::*;
pub use clients::*;
pub use connection::{Database, DbConnection, PooledDb, in_transaction, migration_names};
pub use credentials::*;
pub use events::{EventQuery, insert_event, list_events};
pub use grants::*;
pub use keys::*;
pub use realms::*;
pub use sessions::*;
pub use users::*;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or the pool had no free connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A migration failed at start-up.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A row with the same unique key exists.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// A stored value could not be read back (a JSON column that no longer parses).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for StoreError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::Conflict(info.message().to_owned())
            }
            Error::NotFound => Self::NotFound,
            other => Self::Query(other),
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising our own plain structs and string lists cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("{what}: {err}")))
}

#[cfg(test)]
mod tests;
