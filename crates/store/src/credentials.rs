//! Credentials: password hashes and OTP devices.

use diesel::prelude::*;

use crate::schema::credentials;
use crate::{DbConnection, StoreError};

/// The kind of a credential, with Keycloak's type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An argon2id password hash (PHC string).
    Password,
    /// A TOTP device: its secret, encrypted.
    Otp,
}

impl CredentialKind {
    /// Keycloak's credential type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Otp => "otp",
        }
    }
}

/// A stored credential.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    /// Identifier.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `password` or `otp`.
    pub kind: String,
    /// The device name of an OTP credential.
    pub label: Option<String>,
    /// A PHC hash string, or an encrypted OTP secret.
    pub secret: String,
    /// The last TOTP step accepted, against replay.
    pub last_used_step: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// The user's password credential, if any.
pub fn find_password(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<Credential>, StoreError> {
    Ok(credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::kind.eq(CredentialKind::Password.as_str()))
        .order(credentials::created_at.desc())
        .select(Credential::as_select())
        .first(conn)
        .optional()?)
}

/// One of the user's credentials, of any kind.
pub fn find_credential(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
) -> Result<Option<Credential>, StoreError> {
    Ok(credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::id.eq(id))
        .select(Credential::as_select())
        .first(conn)
        .optional()?)
}

/// The user's credentials of one kind, oldest first.
pub fn list_credentials(
    conn: &mut DbConnection,
    user_id: &str,
    kind: CredentialKind,
) -> Result<Vec<Credential>, StoreError> {
    Ok(credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::kind.eq(kind.as_str()))
        .order((credentials::created_at, credentials::id))
        .select(Credential::as_select())
        .load(conn)?)
}

/// Replaces the user's password hash.
pub fn set_password(
    conn: &mut DbConnection,
    user_id: &str,
    credential_id: &str,
    hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    crate::in_transaction(conn, |conn| {
        diesel::delete(
            credentials::table
                .filter(credentials::user_id.eq(user_id))
                .filter(credentials::kind.eq(CredentialKind::Password.as_str())),
        )
        .execute(conn)?;
        insert_credential(
            conn,
            &Credential {
                id: credential_id.to_owned(),
                user_id: user_id.to_owned(),
                kind: CredentialKind::Password.as_str().to_owned(),
                label: None,
                secret: hash.to_owned(),
                last_used_step: None,
                created_at: now,
            },
        )
    })
}

/// Stores a credential.
pub fn insert_credential(
    conn: &mut DbConnection,
    credential: &Credential,
) -> Result<(), StoreError> {
    diesel::insert_into(credentials::table)
        .values(credential)
        .execute(conn)?;
    Ok(())
}

/// Deletes one of the user's credentials.
pub fn delete_credential(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    let deleted = diesel::delete(
        credentials::table
            .filter(credentials::user_id.eq(user_id))
            .filter(credentials::id.eq(id)),
    )
    .execute(conn)?;
    if deleted == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Records that a TOTP step was used, only if it is newer than the last one: a single
/// conditional update, so two requests racing with the same code cannot both succeed.
/// Returns whether this call recorded it.
pub fn mark_otp_step_used(
    conn: &mut DbConnection,
    id: &str,
    step: i64,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        credentials::table.filter(credentials::id.eq(id)).filter(
            credentials::last_used_step
                .is_null()
                .or(credentials::last_used_step.lt(step)),
        ),
    )
    .set(credentials::last_used_step.eq(step))
    .execute(conn)?;
    Ok(changed == 1)
}
