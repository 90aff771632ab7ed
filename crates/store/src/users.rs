//! Users, their pending required actions, and their credentials' owner lookups.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use sesame_domain::{RequiredAction, User};

use crate::connection::MultiBackend;
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

/// Which users a search selects, with the meaning of Keycloak's `search`, `username`,
/// `email`, `firstName`, `lastName` and `exact` query parameters. Every criterion given must
/// match; none selects every user of the realm. Matching ignores ASCII case.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// Contained in the username, the address, the first or the last name.
    pub search: Option<String>,
    /// Contained in (or, with `exact`, equal to) the username.
    pub username: Option<String>,
    /// Contained in (or, with `exact`, equal to) the address.
    pub email: Option<String>,
    /// Contained in (or, with `exact`, equal to) the first name.
    pub first_name: Option<String>,
    /// Contained in (or, with `exact`, equal to) the last name.
    pub last_name: Option<String>,
    /// Whether `username`, `email`, `first_name` and `last_name` must match whole.
    pub exact: bool,
}

/// Lists users of a realm whose username, e-mail or names contain `search`, a page at a time.
pub fn list_users(
    conn: &mut DbConnection,
    realm: &str,
    search: Option<&str>,
    first: i64,
    max: i64,
) -> Result<Vec<User>, StoreError> {
    let search = UserSearch {
        search: search.map(str::to_owned),
        ..UserSearch::default()
    };
    search_users(conn, realm, &search, first, max)
}

/// The users of a realm that `search` selects, ordered by username, a page at a time: `first`
/// skipped, at most `max` (capped at 1000) returned.
pub fn search_users(
    conn: &mut DbConnection,
    realm: &str,
    search: &UserSearch,
    first: i64,
    max: i64,
) -> Result<Vec<User>, StoreError> {
    Ok(matching_users(realm, search)
        .order(users::username)
        .offset(first.max(0))
        .limit(max.clamp(0, 1000))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(User::from)
        .collect())
}

/// How many users of a realm `search` selects, whatever the page.
pub fn count_users(
    conn: &mut DbConnection,
    realm: &str,
    search: &UserSearch,
) -> Result<i64, StoreError> {
    Ok(matching_users(realm, search).count().get_result(conn)?)
}

/// Creates a user; `Conflict` when the username or address is taken in the realm.
pub fn insert_user(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    refuse_clash(conn, user)?;
    diesel::insert_into(users::table)
        .values(UserRow::from(user))
        .execute(conn)?;
    Ok(())
}

/// Replaces a user's profile (its id, realm and creation time stay).
pub fn update_user(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    refuse_clash(conn, user)?;
    let changed = diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set(UserRow::from(user))
        .execute(conn)?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// `Conflict` when another user of the realm goes by one of this user's names: a username
/// equal to its address, or an address equal to its username. Sign-in accepts either, so the
/// two accounts could no longer be told apart (and mail for one would reach the other).
fn refuse_clash(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    let mut names = vec![user.username.clone()];
    names.extend(user.email.clone());
    let clashes: i64 = users::table
        .filter(users::realm.eq(&user.realm))
        .filter(users::id.ne(&user.id))
        .filter(
            users::username
                .eq_any(names.clone())
                .or(users::email.eq_any(names)),
        )
        .count()
        .get_result(conn)?;
    if clashes > 0 {
        return Err(StoreError::Conflict(
            "another user has this username or address".to_owned(),
        ));
    }
    Ok(())
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

/// Takes the user's row lock until the transaction ends, so that a check on the user's
/// credentials and the change that follows it cannot interleave with another transaction
/// doing the same (two administrators deleting a user's last two devices at once would each
/// still see the other's device).
///
/// Only PostgreSQL needs it: there two transactions run side by side, and only `FOR UPDATE`
/// makes the second wait. SQLite transactions here start with `BEGIN IMMEDIATE`
/// ([`crate::in_transaction`]), which already runs writers one after another; its SQL has no
/// `FOR UPDATE`.
pub fn lock_user(conn: &mut DbConnection, user_id: &str) -> Result<(), StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            users::table
                .filter(users::id.eq(user_id))
                .select(users::id)
                .for_update()
                .load::<String>(pg)?;
        }
        DbConnection::Sqlite(_) => {}
    }
    Ok(())
}

/// Adds one pending action, unless the user already has it.
pub fn insert_required_action(
    conn: &mut DbConnection,
    user_id: &str,
    action: RequiredAction,
) -> Result<(), StoreError> {
    let pending: i64 = required_actions::table
        .filter(required_actions::user_id.eq(user_id))
        .filter(required_actions::action.eq(action.alias()))
        .count()
        .get_result(conn)?;
    if pending == 0 {
        diesel::insert_into(required_actions::table)
            .values((
                required_actions::user_id.eq(user_id),
                required_actions::action.eq(action.alias()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

diesel::define_sql_function! {
    /// SQL `lower()`, which both backends have: ASCII case folding at least.
    fn lower(text: Nullable<Text>) -> Nullable<Text>;
}

/// The query selecting the users of `realm` that `search` selects.
fn matching_users<'a>(realm: &'a str, search: &UserSearch) -> users::BoxedQuery<'a, MultiBackend> {
    let mut query = users::table.filter(users::realm.eq(realm)).into_boxed();
    let term = |value: &Option<String>| {
        value
            .as_deref()
            .map(|value| value.trim().to_lowercase())
            .filter(|value| !value.is_empty())
    };
    // Usernames and addresses are stored lower-case; names as typed.
    if let Some(search) = term(&search.search) {
        let pattern = contains_pattern(&search);
        query = query.filter(
            users::username
                .like(pattern.clone())
                .escape('\\')
                .or(users::email.like(pattern.clone()).escape('\\'))
                .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                .or(lower(users::last_name).like(pattern).escape('\\')),
        );
    }
    if let Some(username) = term(&search.username) {
        query = if search.exact {
            query.filter(users::username.eq(username))
        } else {
            query.filter(
                users::username
                    .like(contains_pattern(&username))
                    .escape('\\'),
            )
        };
    }
    if let Some(email) = term(&search.email) {
        query = if search.exact {
            query.filter(users::email.eq(email))
        } else {
            query.filter(users::email.like(contains_pattern(&email)).escape('\\'))
        };
    }
    if let Some(first_name) = term(&search.first_name) {
        query = if search.exact {
            query.filter(lower(users::first_name).eq(first_name))
        } else {
            query.filter(
                lower(users::first_name)
                    .like(contains_pattern(&first_name))
                    .escape('\\'),
            )
        };
    }
    if let Some(last_name) = term(&search.last_name) {
        query = if search.exact {
            query.filter(lower(users::last_name).eq(last_name))
        } else {
            query.filter(
                lower(users::last_name)
                    .like(contains_pattern(&last_name))
                    .escape('\\'),
            )
        };
    }
    query
}

/// A `LIKE` pattern matching any text that contains `text`, with `\` as the escape character
/// so that `%` and `_` in `text` stand for themselves.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}
