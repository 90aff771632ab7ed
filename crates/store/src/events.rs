//! Audit events: recorded by the flows (in the transaction of the change they describe, where
//! there is one) and read back by the admin API, newest first.

use std::collections::BTreeMap;

use diesel::prelude::*;
use sesame_domain::{AuditEvent, EventKind, EventType, OperationType, ResourceType};

use crate::connection::MultiBackend;
use crate::schema::events;
use crate::{DbConnection, StoreError, from_json, to_json};

/// Which events a query selects: every criterion given must match. The lists select any of
/// their values; an empty list selects all.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Admin events instead of user events.
    pub admin: bool,
    /// User event types.
    pub types: Vec<EventType>,
    /// Admin operations.
    pub operations: Vec<OperationType>,
    /// Admin resource types.
    pub resource_types: Vec<ResourceType>,
    /// The user concerned (user events) or acting (admin events).
    pub user_id: Option<String>,
    /// The OAuth `client_id` involved (user events) or acting (admin events).
    pub client_id: Option<String>,
    /// Admin events on resources whose path starts with this.
    pub resource_path_prefix: Option<String>,
    /// At or after this time, in Unix seconds.
    pub from: Option<i64>,
    /// At or before this time, in Unix seconds.
    pub to: Option<i64>,
}

/// Records an event.
pub fn insert_event(conn: &mut DbConnection, event: &AuditEvent) -> Result<(), StoreError> {
    diesel::insert_into(events::table)
        .values(NewEventRow::from(event))
        .execute(conn)?;
    Ok(())
}

/// The events of `realm` that `query` selects, newest first, a page at a time: `first`
/// skipped, at most `max` (capped at 1000) returned.
pub fn list_events(
    conn: &mut DbConnection,
    realm: &str,
    query: &EventQuery,
    first: i64,
    max: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    matching_events(realm, query)
        .order((events::time.desc(), events::seq.desc()))
        .offset(first.max(0))
        .limit(max.clamp(0, 1000))
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EventRow::into_domain)
        .collect()
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEventRow {
    id: String,
    realm: String,
    time: i64,
    event_type: Option<String>,
    operation: Option<String>,
    resource_type: Option<String>,
    resource_path: Option<String>,
    auth_realm: Option<String>,
    user_id: Option<String>,
    client_id: Option<String>,
    session_id: Option<String>,
    ip_address: String,
    error: Option<String>,
    details: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: String,
    realm: String,
    time: i64,
    event_type: Option<String>,
    operation: Option<String>,
    resource_type: Option<String>,
    resource_path: Option<String>,
    auth_realm: Option<String>,
    user_id: Option<String>,
    client_id: Option<String>,
    session_id: Option<String>,
    ip_address: String,
    error: Option<String>,
    details: String,
}

impl From<&AuditEvent> for NewEventRow {
    fn from(event: &AuditEvent) -> Self {
        let (event_type, operation, resource_type, resource_path, auth_realm) = match &event.kind {
            EventKind::User(event_type) => (Some(event_type.as_str()), None, None, None, None),
            EventKind::Admin {
                operation,
                resource_type,
                resource_path,
                auth_realm,
            } => (
                None,
                Some(operation.as_str()),
                Some(resource_type.as_str()),
                Some(resource_path.clone()),
                Some(auth_realm.clone()),
            ),
        };
        Self {
            id: event.id.clone(),
            realm: event.realm.clone(),
            time: event.time,
            event_type: event_type.map(str::to_owned),
            operation: operation.map(str::to_owned),
            resource_type: resource_type.map(str::to_owned),
            resource_path,
            auth_realm,
            user_id: event.user_id.clone(),
            client_id: event.client_id.clone(),
            session_id: event.session_id.clone(),
            ip_address: event.ip_address.clone(),
            error: event.error.clone(),
            details: to_json(&event.details),
        }
    }
}

impl EventRow {
    fn into_domain(self) -> Result<AuditEvent, StoreError> {
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt(format!("event {what} {value}"));
        let kind = match (self.event_type, self.operation) {
            (Some(name), None) => {
                EventKind::User(EventType::parse(&name).ok_or_else(|| corrupt("type", &name))?)
            }
            (None, Some(name)) => {
                let resource_type = self.resource_type.unwrap_or_default();
                EventKind::Admin {
                    operation: OperationType::parse(&name)
                        .ok_or_else(|| corrupt("operation", &name))?,
                    resource_type: ResourceType::parse(&resource_type)
                        .ok_or_else(|| corrupt("resource type", &resource_type))?,
                    resource_path: self.resource_path.unwrap_or_default(),
                    auth_realm: self.auth_realm.unwrap_or_default(),
                }
            }
            _ => return Err(corrupt("kind", &self.id)),
        };
        let details: BTreeMap<String, String> = from_json(&self.details, "event details")?;
        Ok(AuditEvent {
            id: self.id,
            realm: self.realm,
            time: self.time,
            kind,
            user_id: self.user_id,
            client_id: self.client_id,
            session_id: self.session_id,
            ip_address: self.ip_address,
            error: self.error,
            details,
        })
    }
}

/// The query selecting the events of `realm` that `query` selects.
fn matching_events<'a>(realm: &'a str, query: &EventQuery) -> events::BoxedQuery<'a, MultiBackend> {
    let mut select = events::table.filter(events::realm.eq(realm)).into_boxed();
    select = if query.admin {
        select.filter(events::operation.is_not_null())
    } else {
        select.filter(events::event_type.is_not_null())
    };
    if !query.types.is_empty() {
        let names: Vec<&str> = query.types.iter().map(|kind| kind.as_str()).collect();
        select = select.filter(events::event_type.eq_any(names));
    }
    if !query.operations.is_empty() {
        let names: Vec<&str> = query.operations.iter().map(|kind| kind.as_str()).collect();
        select = select.filter(events::operation.eq_any(names));
    }
    if !query.resource_types.is_empty() {
        let names: Vec<&str> = query
            .resource_types
            .iter()
            .map(|kind| kind.as_str())
            .collect();
        select = select.filter(events::resource_type.eq_any(names));
    }
    if let Some(user_id) = &query.user_id {
        select = select.filter(events::user_id.eq(user_id.clone()));
    }
    if let Some(client_id) = &query.client_id {
        select = select.filter(events::client_id.eq(client_id.clone()));
    }
    if let Some(prefix) = &query.resource_path_prefix {
        select = select.filter(
            events::resource_path
                .like(format!("{}%", escape_like(prefix)))
                .escape('\\'),
        );
    }
    if let Some(from) = query.from {
        select = select.filter(events::time.ge(from));
    }
    if let Some(to) = query.to {
        select = select.filter(events::time.le(to));
    }
    select
}

/// `text` with `%`, `_` and `\` escaped for a `LIKE` pattern using `\` as escape character.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}
