//! Users, their pending required actions, and their credentials' owner lookups.

use diesel::prelude::*;
use sesame_domain::{RequiredAction, User};

use crate::schema::{required_actions, users};
use crate::{DbConnection, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserRow {
    id: String,
    realm: String,
    username: String,
    email: Option<String>,
    email_verified: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    enabled: bool,
    locale: Option<String>,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            realm: row.realm,
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            first_name: row.first_name,
            last_name: row.last_name,
            enabled: row.enabled,
            locale: row.locale,
            created_at: row.created_at,
        }
    }
}

impl From<&User> for UserRow {
    fn from(user: &User) -> Self {
        // Usernames and addresses are compared case-insensitively: store them lower-case so the
        // unique constraints enforce that on both backends.
        Self {
            id: user.id.clone(),
            realm: user.realm.clone(),
            username: user.username.to_lowercase(),
            email: user.email.as_ref().map(|email| email.to_lowercase()),
            email_verified: user.email_verified,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            enabled: user.enabled,
            locale: user.locale.clone(),
            created_at: user.created_at,
        }
    }
}

/// Finds a user by username or e-mail address, case-insensitively.
pub fn find_user_by_login(
    conn: &mut DbConnection,
    realm: &str,
    login: &str,
) -> Result<Option<User>, StoreError> {
    let login = login.trim().to_lowercase();
    Ok(users::table
        .filter(users::realm.eq(realm))
        .filter(users::username.eq(&login).or(users::email.eq(&login)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::from))
}

/// Finds a user by id.
pub fn find_user(
    conn: &mut DbConnection,
    realm: &str,
    id: &str,
) -> Result<Option<User>, StoreError> {
    Ok(users::table
        .filter(users::realm.eq(realm).and(users::id.eq(id)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::from))
}

/// Lists users of a realm whose username, e-mail or names contain `search`, a page at a time.
pub fn list_users(
    conn: &mut DbConnection,
    realm: &str,
    search: Option<&str>,
    first: i64,
    max: i64,
) -> Result<Vec<User>, StoreError> {
    let mut query = users::table.filter(users::realm.eq(realm)).into_boxed();
    if let Some(search) = search.filter(|search| !search.is_empty()) {
        let pattern = format!("%{}%", search.to_lowercase().replace(['%', '_'], ""));
        query = query.filter(
            users::username
                .like(pattern.clone())
                .or(users::email.like(pattern.clone()))
                .or(users::first_name.like(pattern.clone()))
                .or(users::last_name.like(pattern)),
        );
    }
    Ok(query
        .order(users::username)
        .offset(first.max(0))
        .limit(max.clamp(0, 1000))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(User::from)
        .collect())
}

/// Creates a user; `Conflict` when the username or address is taken in the realm.
pub fn insert_user(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    diesel::insert_into(users::table)
        .values(UserRow::from(user))
        .execute(conn)?;
    Ok(())
}

/// Replaces a user's profile (its id, realm and creation time stay).
pub fn update_user(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    let changed = diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set(UserRow::from(user))
        .execute(conn)?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes a user with everything that belongs to it.
pub fn delete_user(conn: &mut DbConnection, realm: &str, id: &str) -> Result<(), StoreError> {
    let deleted = diesel::delete(users::table.filter(users::realm.eq(realm).and(users::id.eq(id))))
        .execute(conn)?;
    if deleted == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The user's pending required actions, in no particular order (the realm orders them).
pub fn list_required_actions(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<RequiredAction>, StoreError> {
    let aliases: Vec<String> = required_actions::table
        .filter(required_actions::user_id.eq(user_id))
        .select(required_actions::action)
        .load(conn)?;
    Ok(aliases
        .iter()
        .filter_map(|alias| RequiredAction::from_alias(alias))
        .collect())
}

/// Replaces the user's pending required actions.
pub fn set_required_actions(
    conn: &mut DbConnection,
    user_id: &str,
    actions: &[RequiredAction],
) -> Result<(), StoreError> {
    diesel::delete(required_actions::table.filter(required_actions::user_id.eq(user_id)))
        .execute(conn)?;
    let mut seen = Vec::new();
    for action in actions {
        if seen.contains(action) {
            continue;
        }
        seen.push(*action);
        diesel::insert_into(required_actions::table)
            .values((
                required_actions::user_id.eq(user_id),
                required_actions::action.eq(action.alias()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes one pending action once the user completed it.
pub fn delete_required_action(
    conn: &mut DbConnection,
    user_id: &str,
    action: RequiredAction,
) -> Result<(), StoreError> {
    diesel::delete(
        required_actions::table
            .filter(required_actions::user_id.eq(user_id))
            .filter(required_actions::action.eq(action.alias())),
    )
    .execute(conn)?;
    Ok(())
}
