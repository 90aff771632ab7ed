//! Action tokens (the links of mails) and failed-login counters.

use diesel::prelude::*;
use sesame_domain::RequiredAction;

use crate::schema::{action_tokens, login_failures};
use crate::{DbConnection, StoreError, from_json, to_json};

/// A stored action token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = action_tokens)]
pub struct ActionTokenRow {
    /// SHA-256 of the token in the link.
    pub token_sha256: String,
    /// Realm.
    pub realm: String,
    /// The user it acts for.
    pub user_id: String,
    /// Which mail carried it: `execute-actions` (an administrator's) or `password-reset`.
    pub kind: String,
    /// The required actions it allows, as a JSON list of aliases.
    pub actions: String,
    /// The client whose page ends the journey.
    pub client_id: Option<String>,
    /// Where "back to the application" leads at the end.
    pub redirect_uri: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When the journey it started was finished; the link is dead from then on.
    pub completed_at: Option<i64>,
}

impl ActionTokenRow {
    /// The actions the token allows.
    pub fn required_actions(&self) -> Result<Vec<RequiredAction>, StoreError> {
        let aliases: Vec<String> = from_json(&self.actions, "action token actions")?;
        Ok(aliases
            .iter()
            .filter_map(|alias| RequiredAction::from_alias(alias))
            .collect())
    }

    /// Encodes a list of actions for [`ActionTokenRow::actions`].
    pub fn encode_actions(actions: &[RequiredAction]) -> String {
        to_json(
            &actions
                .iter()
                .map(|action| action.alias())
                .collect::<Vec<_>>(),
        )
    }
}

/// Stores an action token.
pub fn insert_action_token(
    conn: &mut DbConnection,
    token: &ActionTokenRow,
) -> Result<(), StoreError> {
    diesel::insert_into(action_tokens::table)
        .values(token)
        .execute(conn)?;
    Ok(())
}

/// Finds an action token by the digest of the link's token.
pub fn find_action_token(
    conn: &mut DbConnection,
    token_sha256: &str,
) -> Result<Option<ActionTokenRow>, StoreError> {
    Ok(action_tokens::table
        .filter(action_tokens::token_sha256.eq(token_sha256))
        .select(ActionTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks an action token's journey finished.
pub fn complete_action_token(
    conn: &mut DbConnection,
    token_sha256: &str,
    now: i64,
) -> Result<(), StoreError> {
    diesel::update(action_tokens::table.filter(action_tokens::token_sha256.eq(token_sha256)))
        .filter(action_tokens::completed_at.is_null())
        .set(action_tokens::completed_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// When the account or address behind `key` is locked until, if it is locked at `now`.
pub fn find_lock(conn: &mut DbConnection, key: &str, now: i64) -> Result<Option<i64>, StoreError> {
    let locked_until: Option<i64> = login_failures::table
        .filter(login_failures::failure_key.eq(key))
        .select(login_failures::locked_until)
        .first(conn)
        .optional()?;
    Ok(locked_until.filter(|until| *until > now))
}

/// Counts a failure for `key`; from `threshold` failures on, the key is locked for
/// `lock_seconds`. Failures older than `forget_after` seconds are forgotten. Returns the count.
pub fn record_failure(
    conn: &mut DbConnection,
    key: &str,
    now: i64,
    threshold: i64,
    lock_seconds: i64,
    forget_after: i64,
) -> Result<i64, StoreError> {
    // Two first failures racing on PostgreSQL may both try to insert the row: the loser's
    // transaction fails on the unique key and is simply run again, now as an update.
    match count_failure(conn, key, now, threshold, lock_seconds, forget_after) {
        Err(StoreError::Conflict(_)) => {
            count_failure(conn, key, now, threshold, lock_seconds, forget_after)
        }
        other => other,
    }
}

fn count_failure(
    conn: &mut DbConnection,
    key: &str,
    now: i64,
    threshold: i64,
    lock_seconds: i64,
    forget_after: i64,
) -> Result<i64, StoreError> {
    crate::in_transaction(conn, |conn| {
        let previous: Option<(i64, i64)> = login_failures::table
            .filter(login_failures::failure_key.eq(key))
            .select((login_failures::failures, login_failures::last_failure_at))
            .first(conn)
            .optional()?;
        let failures = match previous {
            Some((failures, last)) if now - last <= forget_after => failures + 1,
            _ => 1,
        };
        let locked_until = if failures >= threshold {
            now + lock_seconds
        } else {
            0
        };
        if previous.is_some() {
            diesel::update(login_failures::table.filter(login_failures::failure_key.eq(key)))
                .set((
                    login_failures::failures.eq(failures),
                    login_failures::last_failure_at.eq(now),
                    login_failures::locked_until.eq(locked_until),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(login_failures::table)
                .values((
                    login_failures::failure_key.eq(key),
                    login_failures::failures.eq(failures),
                    login_failures::last_failure_at.eq(now),
                    login_failures::locked_until.eq(locked_until),
                ))
                .execute(conn)?;
        }
        Ok(failures)
    })
}

/// Forgets the failures of `key` after a successful login.
pub fn clear_failures(conn: &mut DbConnection, key: &str) -> Result<(), StoreError> {
    diesel::delete(login_failures::table.filter(login_failures::failure_key.eq(key)))
        .execute(conn)?;
    Ok(())
}
