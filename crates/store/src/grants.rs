//! Grants (the family of tokens one authorization produced), authorization codes, refresh
//! tokens and revoked access tokens.
//!
//! Codes and refresh tokens are stored as SHA-256 digests: a copy of the database gives no
//! usable token. Revoking a grant revokes everything issued under it.

use diesel::prelude::*;

use crate::schema::{authorization_codes, grants, refresh_tokens, revoked_tokens};
use crate::{DbConnection, StoreError};

/// One authorization of a client by a user (or by itself, for client credentials).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    /// Identifier; access tokens carry it in their `jti`.
    pub id: String,
    /// Realm.
    pub realm: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    /// The user, absent for client credentials.
    pub user_id: Option<String>,
    /// The browser session it came from, if any.
    pub session_id: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Authentication context class.
    pub acr: String,
    /// Authentication methods, space-separated.
    pub amr: String,
    /// Creation time.
    pub created_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// A stored authorization code.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCodeRow {
    /// SHA-256 of the code.
    pub code_sha256: String,
    /// The grant it will start.
    pub grant_id: String,
    /// The redirect URI of the request, which the token request must repeat.
    pub redirect_uri: String,
    /// The request's nonce, for the ID token.
    pub nonce: Option<String>,
    /// The PKCE challenge.
    pub code_challenge: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was exchanged.
    pub used_at: Option<i64>,
}

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    /// SHA-256 of the token.
    pub token_sha256: String,
    /// Its grant.
    pub grant_id: String,
    /// Its scopes, space-separated.
    pub scope: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was exchanged for a new one.
    pub used_at: Option<i64>,
}

/// What happened when a code or refresh token was presented.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per token request and never stored"
)]
pub enum Redemption<T> {
    /// First use: the row (now marked used) and its grant.
    Redeemed(T, GrantRow),
    /// Used before: the grant has just been revoked, with everything issued under it.
    Replayed,
    /// Issued to another client: nothing was changed, so a stolen code presented by the wrong
    /// client cannot burn the right client's grant.
    WrongClient,
    /// Not a token this realm issued.
    Unknown,
}

/// Stores a grant and its authorization code in one transaction.
pub fn insert_grant_with_code(
    conn: &mut DbConnection,
    grant: &GrantRow,
    code: &AuthorizationCodeRow,
) -> Result<(), StoreError> {
    crate::in_transaction(conn, |conn| {
        diesel::insert_into(grants::table)
            .values(grant)
            .execute(conn)?;
        diesel::insert_into(authorization_codes::table)
            .values(code)
            .execute(conn)?;
        Ok(())
    })
}

/// Stores a grant with no code (client credentials).
pub fn insert_grant(conn: &mut DbConnection, grant: &GrantRow) -> Result<(), StoreError> {
    diesel::insert_into(grants::table)
        .values(grant)
        .execute(conn)?;
    Ok(())
}

/// Finds a grant.
pub fn find_grant(conn: &mut DbConnection, id: &str) -> Result<Option<GrantRow>, StoreError> {
    Ok(grants::table
        .filter(grants::id.eq(id))
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?)
}

/// Revokes a grant; its refresh tokens and access tokens stop working.
pub fn revoke_grant(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(
        grants::table
            .filter(grants::id.eq(id))
            .filter(grants::revoked_at.is_null()),
    )
    .set(grants::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Exchanges an authorization code issued to `client_id`: marks it used if it was not,
/// atomically. A second presentation revokes the grant the first one started (RFC 6749 §4.1.2).
pub fn redeem_code(
    conn: &mut DbConnection,
    code_sha256: &str,
    client_id: &str,
    now: i64,
) -> Result<Redemption<AuthorizationCodeRow>, StoreError> {
    crate::in_transaction(conn, |conn| {
        let found = authorization_codes::table
            .inner_join(grants::table)
            .filter(authorization_codes::code_sha256.eq(code_sha256))
            .select((AuthorizationCodeRow::as_select(), GrantRow::as_select()))
            .first::<(AuthorizationCodeRow, GrantRow)>(conn)
            .optional()?;
        let Some((row, grant)) = found else {
            return Ok(Redemption::Unknown);
        };
        if grant.client_id != client_id {
            return Ok(Redemption::WrongClient);
        }
        let claimed = diesel::update(
            authorization_codes::table
                .filter(authorization_codes::code_sha256.eq(code_sha256))
                .filter(authorization_codes::used_at.is_null()),
        )
        .set(authorization_codes::used_at.eq(now))
        .execute(conn)?;
        if claimed == 0 {
            revoke_grant(conn, &row.grant_id, now)?;
            return Ok(Redemption::Replayed);
        }
        Ok(Redemption::Redeemed(row, grant))
    })
}

/// Stores a refresh token.
pub fn insert_refresh_token(
    conn: &mut DbConnection,
    token: &RefreshTokenRow,
) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)?;
    Ok(())
}

/// Exchanges a refresh token of `client_id` for rotation: marks it used if it was not,
/// atomically. Presenting a rotated token again means it leaked: the whole grant is revoked
/// (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
pub fn redeem_refresh_token(
    conn: &mut DbConnection,
    token_sha256: &str,
    client_id: &str,
    now: i64,
) -> Result<Redemption<RefreshTokenRow>, StoreError> {
    crate::in_transaction(conn, |conn| {
        let Some((row, grant)) = find_refresh_token(conn, token_sha256)? else {
            return Ok(Redemption::Unknown);
        };
        if grant.client_id != client_id {
            return Ok(Redemption::WrongClient);
        }
        let claimed = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_sha256.eq(token_sha256))
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)?;
        if claimed == 0 {
            revoke_grant(conn, &row.grant_id, now)?;
            return Ok(Redemption::Replayed);
        }
        Ok(Redemption::Redeemed(row, grant))
    })
}

/// Finds a refresh token and its grant without using it (introspection, revocation).
pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_sha256: &str,
) -> Result<Option<(RefreshTokenRow, GrantRow)>, StoreError> {
    Ok(refresh_tokens::table
        .inner_join(grants::table)
        .filter(refresh_tokens::token_sha256.eq(token_sha256))
        .select((RefreshTokenRow::as_select(), GrantRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Records a one-time mark (a revoked access token's `jti`, or a client assertion's `jti`
/// against replay) until `expires_at`. Returns false when the mark already existed.
pub fn insert_token_mark(
    conn: &mut DbConnection,
    jti: &str,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let inserted = diesel::insert_into(revoked_tokens::table)
        .values((
            revoked_tokens::jti.eq(jti),
            revoked_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Whether an access token is revoked, by its own `jti` or through its grant.
pub fn is_access_token_revoked(
    conn: &mut DbConnection,
    jti: &str,
    grant_id: Option<&str>,
) -> Result<bool, StoreError> {
    let revoked: i64 = revoked_tokens::table
        .filter(revoked_tokens::jti.eq(jti))
        .count()
        .get_result(conn)?;
    if revoked > 0 {
        return Ok(true);
    }
    let Some(grant_id) = grant_id else {
        return Ok(false);
    };
    let grant_revoked: Option<Option<i64>> = grants::table
        .filter(grants::id.eq(grant_id))
        .select(grants::revoked_at)
        .first(conn)
        .optional()?;
    // A grant that no longer exists (its user was deleted) revokes its tokens too.
    Ok(!matches!(grant_revoked, Some(None)))
}

/// Deletes rows that can no longer matter: expired codes, refresh tokens and revocation marks.
pub fn delete_expired_tokens(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    let codes =
        diesel::delete(authorization_codes::table.filter(authorization_codes::expires_at.lt(now)))
            .execute(conn)?;
    let refresh = diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(now)))
        .execute(conn)?;
    let marks = diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now)))
        .execute(conn)?;
    Ok(codes + refresh + marks)
}
