//! Login sessions (one authorization request on its way through the login pages) and browser
//! sessions (single sign-on), both kept in the database so any node can serve any request.

use diesel::prelude::*;

use crate::schema::{auth_sessions, grants, user_sessions};
use crate::{DbConnection, StoreError};

/// A login in progress. `request` holds the validated authorization request and `flow` the
/// state of the login steps, both as JSON owned by the crates that read them.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_sessions)]
pub struct AuthSessionRow {
    /// SHA-256 of the browser's login-session cookie.
    pub id: String,
    /// Realm.
    pub realm: String,
    /// The OAuth `client_id` of the request.
    pub client_id: String,
    /// The authorization request, as JSON.
    pub request: String,
    /// The login steps' state, as JSON.
    pub flow: String,
    /// The CSRF token the login forms carry.
    pub csrf_token: String,
    /// Start of the login.
    pub created_at: i64,
    /// End of the current step's time.
    pub step_expires_at: i64,
    /// End of the whole login's time.
    pub expires_at: i64,
}

/// Stores a new login session.
pub fn insert_auth_session(
    conn: &mut DbConnection,
    session: &AuthSessionRow,
) -> Result<(), StoreError> {
    diesel::insert_into(auth_sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

/// Finds a login session by the hash of its cookie.
pub fn find_auth_session(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<AuthSessionRow>, StoreError> {
    Ok(auth_sessions::table
        .filter(auth_sessions::id.eq(id))
        .select(AuthSessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Saves a login session's step state and step deadline.
pub fn update_auth_session_flow(
    conn: &mut DbConnection,
    id: &str,
    flow: &str,
    step_expires_at: i64,
) -> Result<(), StoreError> {
    diesel::update(auth_sessions::table.filter(auth_sessions::id.eq(id)))
        .set((
            auth_sessions::flow.eq(flow),
            auth_sessions::step_expires_at.eq(step_expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes a login session once it ended, well or badly.
pub fn delete_auth_session(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::delete(auth_sessions::table.filter(auth_sessions::id.eq(id))).execute(conn)?;
    Ok(())
}

/// Deletes login sessions past their deadline; returns how many.
pub fn delete_expired_auth_sessions(
    conn: &mut DbConnection,
    now: i64,
) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(auth_sessions::table.filter(auth_sessions::expires_at.lt(now)))
            .execute(conn)?,
    )
}

/// A browser session: one sign-in, shared by the clients that browser uses.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_sessions)]
pub struct UserSessionRow {
    /// Public identifier, the `sid` claim.
    pub id: String,
    /// SHA-256 of the session cookie.
    pub token_sha256: String,
    /// Realm.
    pub realm: String,
    /// User.
    pub user_id: String,
    /// When the user last authenticated (OIDC `auth_time`).
    pub auth_time: i64,
    /// Authentication context class reached.
    pub acr: String,
    /// Methods used, space-separated (`pwd otp`).
    pub amr: String,
    /// The address the login came from.
    pub ip: String,
    /// The browser's `User-Agent`.
    pub user_agent: String,
    /// Start.
    pub created_at: i64,
    /// Last request that used it.
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// When it was ended by logout or by an administrator.
    pub ended_at: Option<i64>,
}

/// Stores a new browser session.
pub fn insert_user_session(
    conn: &mut DbConnection,
    session: &UserSessionRow,
) -> Result<(), StoreError> {
    diesel::insert_into(user_sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

/// Finds a live browser session by the hash of its cookie: not ended, not past its absolute
/// end, and used within `idle_timeout` seconds.
pub fn find_live_user_session(
    conn: &mut DbConnection,
    realm: &str,
    token_sha256: &str,
    now: i64,
    idle_timeout: i64,
) -> Result<Option<UserSessionRow>, StoreError> {
    Ok(user_sessions::table
        .filter(user_sessions::token_sha256.eq(token_sha256))
        .filter(user_sessions::realm.eq(realm))
        .filter(user_sessions::ended_at.is_null())
        .filter(user_sessions::expires_at.gt(now))
        .filter(user_sessions::last_seen_at.gt(now - idle_timeout))
        .select(UserSessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Finds a browser session by its public id, live or not.
pub fn find_user_session(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<UserSessionRow>, StoreError> {
    Ok(user_sessions::table
        .filter(user_sessions::id.eq(id))
        .select(UserSessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether the session `id` is live at `now` (used to refuse refreshes after logout).
pub fn is_user_session_live(
    conn: &mut DbConnection,
    id: &str,
    now: i64,
    idle_timeout: i64,
) -> Result<bool, StoreError> {
    let count: i64 = user_sessions::table
        .filter(user_sessions::id.eq(id))
        .filter(user_sessions::ended_at.is_null())
        .filter(user_sessions::expires_at.gt(now))
        .filter(user_sessions::last_seen_at.gt(now - idle_timeout))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Records a use of the session.
pub fn touch_user_session(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(user_sessions::table.filter(user_sessions::id.eq(id)))
        .set(user_sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Ends a browser session and revokes every grant issued through it, in one transaction.
pub fn end_user_session(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    crate::in_transaction(conn, |conn| {
        diesel::update(user_sessions::table.filter(user_sessions::id.eq(id)))
            .filter(user_sessions::ended_at.is_null())
            .set(user_sessions::ended_at.eq(now))
            .execute(conn)?;
        diesel::update(grants::table.filter(grants::session_id.eq(id)))
            .filter(grants::revoked_at.is_null())
            .set(grants::revoked_at.eq(now))
            .execute(conn)?;
        Ok(())
    })
}

/// The user's live browser sessions, newest first.
pub fn list_user_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
) -> Result<Vec<UserSessionRow>, StoreError> {
    Ok(user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::ended_at.is_null())
        .filter(user_sessions::expires_at.gt(now))
        .order(user_sessions::created_at.desc())
        .select(UserSessionRow::as_select())
        .load(conn)?)
}

/// The OAuth `client_id`s that hold an unrevoked grant issued through the browser session
/// `id`, each once, sorted.
pub fn list_session_client_ids(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(grants::table
        .filter(grants::session_id.eq(id))
        .filter(grants::revoked_at.is_null())
        .select(grants::client_id)
        .distinct()
        .order(grants::client_id)
        .load(conn)?)
}

/// Ends every live browser session of a user ("sign out of other devices"), revoking the
/// grants issued through them. Returns how many ended.
pub fn end_all_user_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
) -> Result<usize, StoreError> {
    crate::in_transaction(conn, |conn| {
        let ids: Vec<String> = user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::ended_at.is_null())
            .select(user_sessions::id)
            .load(conn)?;
        for id in &ids {
            end_user_session(conn, id, now)?;
        }
        Ok(ids.len())
    })
}

/// Moves a login session's overall deadline (a journey restarted after a timeout).
pub fn extend_auth_session(
    conn: &mut DbConnection,
    id: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    diesel::update(auth_sessions::table.filter(auth_sessions::id.eq(id)))
        .set(auth_sessions::expires_at.eq(expires_at))
        .execute(conn)?;
    Ok(())
}

/// Records a fresh authentication in a live browser session (the account console asked for
/// the password and code again): its `auth_time`, context class and methods.
pub fn update_user_session_authentication(
    conn: &mut DbConnection,
    id: &str,
    auth_time: i64,
    acr: &str,
    amr: &str,
) -> Result<(), StoreError> {
    diesel::update(user_sessions::table.filter(user_sessions::id.eq(id)))
        .filter(user_sessions::ended_at.is_null())
        .set((
            user_sessions::auth_time.eq(auth_time),
            user_sessions::acr.eq(acr),
            user_sessions::amr.eq(amr),
            user_sessions::last_seen_at.eq(auth_time),
        ))
        .execute(conn)?;
    Ok(())
}
