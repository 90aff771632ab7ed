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

/// What [`remove_credential`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialRemoval {
    /// The realm has no such user.
    UnknownUser,
    /// The user has no such credential.
    UnknownCredential,
    /// The credential is gone.
    Removed {
        /// Keycloak's type of the deleted credential (`password`, `otp`).
        kind: String,
        /// The device name of a deleted OTP credential.
        label: Option<String>,
        /// Whether CONFIGURE_TOTP became pending because the user's last device went.
        configure_totp: bool,
    },
}

/// Deletes one of a user's credentials and applies the last-device rule: when the realm
/// requires OTP (`otp_required`) and the user's last device goes, CONFIGURE_TOTP becomes
/// pending, so the account is never left to sign in with its password alone. Runs inside the
/// caller's transaction; the admin API and the account console both go through it.
pub fn remove_credential(
    conn: &mut DbConnection,
    realm: &str,
    user_id: &str,
    credential_id: &str,
    otp_required: bool,
) -> Result<CredentialRemoval, StoreError> {
    if crate::find_user(conn, realm, user_id)?.is_none() {
        return Ok(CredentialRemoval::UnknownUser);
    }
    // Two deletions of a user's last two devices must not both see the other device left.
    crate::lock_user(conn, user_id)?;
    let Some(credential) = find_credential(conn, user_id, credential_id)? else {
        return Ok(CredentialRemoval::UnknownCredential);
    };

    delete_credential(conn, user_id, credential_id)?;
    let is_device = credential.kind == CredentialKind::Otp.as_str();
    let configure_totp = is_device
        && otp_required
        && list_credentials(conn, user_id, CredentialKind::Otp)?.is_empty();
    if configure_totp {
        crate::insert_required_action(conn, user_id, sesame_domain::RequiredAction::ConfigureTotp)?;
    }

    Ok(CredentialRemoval::Removed {
        kind: credential.kind,
        label: credential.label,
        configure_totp,
    })
}
