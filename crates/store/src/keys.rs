//! Signing keys of a realm, with their private part encrypted by the caller.

use diesel::prelude::*;

use crate::schema::signing_keys;
use crate::{DbConnection, StoreError};

/// A stored signing key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// Key id, the JWS `kid`.
    pub kid: String,
    /// Realm.
    pub realm: String,
    /// JWS algorithm.
    pub algorithm: String,
    /// The PKCS#8 private key, encrypted at rest (the `oidc` crate seals and opens it).
    pub private_key: String,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    /// Creation time.
    pub created_at: i64,
    /// When a newer key replaced it for signing; `None` for the active key.
    pub retired_at: Option<i64>,
    /// When it leaves the JWKS: after every token it signed has expired.
    pub expires_at: Option<i64>,
}

/// The realm's keys still published at `now`, newest first; the first unretired one signs.
pub fn list_signing_keys(
    conn: &mut DbConnection,
    realm: &str,
    now: i64,
) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm.eq(realm))
        .filter(
            signing_keys::expires_at
                .is_null()
                .or(signing_keys::expires_at.gt(now)),
        )
        .order((signing_keys::created_at.desc(), signing_keys::kid))
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Makes `key` the active key: the current ones are retired and stay published until
/// `old_keys_expire_at`. One transaction, so a realm never has zero or two active keys.
pub fn rotate_signing_key(
    conn: &mut DbConnection,
    key: &SigningKeyRow,
    old_keys_expire_at: i64,
) -> Result<(), StoreError> {
    crate::in_transaction(conn, |conn| {
        diesel::update(
            signing_keys::table
                .filter(signing_keys::realm.eq(&key.realm))
                .filter(signing_keys::retired_at.is_null()),
        )
        .set((
            signing_keys::retired_at.eq(key.created_at),
            signing_keys::expires_at.eq(old_keys_expire_at),
        ))
        .execute(conn)?;
        diesel::insert_into(signing_keys::table)
            .values(key)
            .execute(conn)?;
        Ok(())
    })
}
