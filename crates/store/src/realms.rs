//! Realms and their settings.

use diesel::prelude::*;
use sesame_domain::RealmSettings;

use crate::schema::realms;
use crate::{DbConnection, StoreError, from_json, to_json};

/// Reads a realm's settings.
pub fn find_realm(
    conn: &mut DbConnection,
    name: &str,
) -> Result<Option<RealmSettings>, StoreError> {
    let settings: Option<String> = realms::table
        .filter(realms::name.eq(name))
        .select(realms::settings)
        .first(conn)
        .optional()?;
    settings
        .map(|text| from_json(&text, "realm settings"))
        .transpose()
}

/// Lists the names of all realms.
pub fn list_realm_names(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(realms::table
        .select(realms::name)
        .order(realms::name)
        .load(conn)?)
}

/// Creates a realm; fails with `Conflict` when it exists.
pub fn insert_realm(
    conn: &mut DbConnection,
    name: &str,
    settings: &RealmSettings,
    now: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(realms::table)
        .values((
            realms::name.eq(name),
            realms::settings.eq(to_json(settings)),
            realms::created_at.eq(now),
            realms::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces a realm's settings.
pub fn update_realm(
    conn: &mut DbConnection,
    name: &str,
    settings: &RealmSettings,
    now: i64,
) -> Result<(), StoreError> {
    let changed = diesel::update(realms::table.filter(realms::name.eq(name)))
        .set((
            realms::settings.eq(to_json(settings)),
            realms::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
