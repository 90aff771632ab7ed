//! `/admin/realms/{realm}/events` and `/admin-events`: the audit trail, with Keycloak's query
//! parameters and its `EventRepresentation` and `AdminEventRepresentation`; and the admin
//! events every change through this API records.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::Serialize;
use sesame_actions::Actions;
use sesame_domain::{AuditEvent, EventKind, EventType, OperationType, ResourceType};
use sesame_oidc::Provider;
use sesame_store::EventQuery;

use crate::AdminError;
use crate::auth::{Admin, authorize};

/// Keycloak's `EventRepresentation`: `time` in milliseconds, absent fields left out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventRepresentation {
    id: String,
    time: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    realm_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    ip_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    details: BTreeMap<String, String>,
}

/// Keycloak's `AdminEventRepresentation`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminEventRepresentation {
    id: String,
    time: i64,
    realm_id: String,
    auth_details: AuthDetailsRepresentation,
    operation_type: &'static str,
    resource_type: &'static str,
    resource_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    details: BTreeMap<String, String>,
}

/// Keycloak's `AuthDetailsRepresentation`: who made an admin change, from where.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthDetailsRepresentation {
    realm_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    ip_address: String,
}

/// `GET /admin/realms/{realm}/events`: user events, newest first. Keycloak's parameters:
/// `type` (repeatable), `user`, `client`, `dateFrom`, `dateTo` (`yyyy-MM-dd`, the whole day
/// for `dateTo`, or milliseconds since the epoch), `first` and `max` (100 by default).
pub(crate) async fn get_events(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Vec<EventRepresentation>>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let (query, first, max) = parse_query(query.as_deref().unwrap_or_default(), false)?;

    let events = provider
        .db
        .run(move |conn| sesame_store::list_events(conn, &realm, &query, first, max))
        .await?;
    Ok(Json(events.into_iter().filter_map(represent).collect()))
}

/// `GET /admin/realms/{realm}/admin-events`: changes made through the admin API, newest first.
/// Keycloak's parameters: `operationTypes` and `resourceTypes` (repeatable), `authClient`,
/// `authUser`, `resourcePath` (a prefix), `dateFrom`, `dateTo`, `first` and `max`.
pub(crate) async fn get_admin_events(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Vec<AdminEventRepresentation>>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let (query, first, max) = parse_query(query.as_deref().unwrap_or_default(), true)?;

    let events = provider
        .db
        .run(move |conn| sesame_store::list_events(conn, &realm, &query, first, max))
        .await?;
    Ok(Json(
        events.into_iter().filter_map(represent_admin).collect(),
    ))
}

impl Admin {
    /// The admin event of a change this administrator makes in `realm` from `address`:
    /// `operation` on the resource of `resource_type` at `resource_path` (relative to
    /// `/admin/realms/{realm}/`, as Keycloak records it).
    pub(crate) fn event(
        &self,
        provider: &Provider,
        realm: &str,
        (operation, resource_type, resource_path): (OperationType, ResourceType, String),
        address: &str,
    ) -> AuditEvent {
        AuditEvent::admin(
            sesame_oidc::new_id(),
            realm,
            provider.clock.now(),
            (operation, resource_type, resource_path),
            (&self.realm, &self.client_id),
            address,
        )
    }
}

/// Stores `event` in the caller's transaction when `changed` says that the change it describes
/// happened.
pub(crate) fn insert_event_if(
    conn: &mut sesame_store::DbConnection,
    changed: bool,
    event: &AuditEvent,
) -> Result<(), sesame_store::StoreError> {
    if changed {
        sesame_store::insert_event(conn, event)?;
    }
    Ok(())
}

/// Reads the query string of either endpoint; unknown parameters are ignored, as Keycloak
/// does, and malformed values are a 400 naming the parameter.
fn parse_query(text: &str, admin: bool) -> Result<(EventQuery, i64, i64), AdminError> {
    let mut query = EventQuery {
        admin,
        ..EventQuery::default()
    };
    let (mut first, mut max) = (0, 100);
    for (name, value) in url::form_urlencoded::parse(text.as_bytes()) {
        let value = value.trim();
        let bad = |what: &str| AdminError::BadRequest(format!("{name}: {what}"));
        match (admin, name.as_ref()) {
            (false, "type") => {
                for part in value.split(',').filter(|part| !part.is_empty()) {
                    let kind = EventType::parse(part).ok_or_else(|| bad("unknown event type"))?;
                    query.types.push(kind);
                }
            }
            (true, "operationTypes") => {
                for part in value.split(',').filter(|part| !part.is_empty()) {
                    let kind =
                        OperationType::parse(part).ok_or_else(|| bad("unknown operation"))?;
                    query.operations.push(kind);
                }
            }
            (true, "resourceTypes") => {
                for part in value.split(',').filter(|part| !part.is_empty()) {
                    let kind =
                        ResourceType::parse(part).ok_or_else(|| bad("unknown resource type"))?;
                    query.resource_types.push(kind);
                }
            }
            (false, "user") | (true, "authUser") => query.user_id = non_empty(value),
            (false, "client") | (true, "authClient") => query.client_id = non_empty(value),
            (true, "resourcePath") => {
                // Keycloak's resource path filter accepts a trailing `*`; a prefix either way.
                query.resource_path_prefix = non_empty(value.trim_end_matches('*'));
            }
            (_, "dateFrom") => {
                query.from = Some(parse_date(value, false).ok_or_else(|| bad(DATE_FORMAT))?);
            }
            (_, "dateTo") => {
                query.to = Some(parse_date(value, true).ok_or_else(|| bad(DATE_FORMAT))?);
            }
            (_, "first") => first = parse_count(value).ok_or_else(|| bad(COUNT_FORMAT))?,
            (_, "max") => max = parse_count(value).ok_or_else(|| bad(COUNT_FORMAT))?,
            _ => {}
        }
    }
    Ok((query, first, max))
}

const DATE_FORMAT: &str = "expected yyyy-MM-dd or milliseconds since the epoch";
const COUNT_FORMAT: &str = "expected a number from 0";

fn non_empty(value: &str) -> Option<String> {
    Some(value.to_owned()).filter(|value| !value.is_empty())
}

fn parse_count(value: &str) -> Option<i64> {
    value.parse::<i64>().ok().filter(|count| *count >= 0)
}

/// A `dateFrom` or `dateTo` value in Unix seconds: a day (`yyyy-MM-dd`, UTC; its first second,
/// or its last for the end of a range) or milliseconds since the epoch.
fn parse_date(value: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(milliseconds) = value.parse::<i64>() {
        return (milliseconds >= 0).then_some(milliseconds.div_euclid(1000));
    }
    let mut parts = value.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&year) || !(1..=days_in_month).contains(&day) {
        return None;
    }
    let start = days_from_epoch(year, month, day) * 86_400;
    Some(if end_of_day { start + 86_399 } else { start })
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`: years counted from March so that the leap day ends a year).
fn days_from_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn represent(event: AuditEvent) -> Option<EventRepresentation> {
    let EventKind::User(event_type) = event.kind else {
        return None;
    };
    Some(EventRepresentation {
        id: event.id,
        time: event.time * 1000,
        kind: event_type.as_str(),
        realm_id: event.realm,
        client_id: event.client_id,
        user_id: event.user_id,
        session_id: event.session_id,
        ip_address: event.ip_address,
        error: event.error,
        details: event.details,
    })
}

fn represent_admin(event: AuditEvent) -> Option<AdminEventRepresentation> {
    let EventKind::Admin {
        operation,
        resource_type,
        resource_path,
        auth_realm,
    } = event.kind
    else {
        return None;
    };
    Some(AdminEventRepresentation {
        id: event.id,
        time: event.time * 1000,
        realm_id: event.realm,
        auth_details: AuthDetailsRepresentation {
            realm_id: auth_realm,
            client_id: event.client_id,
            user_id: event.user_id,
            ip_address: event.ip_address,
        },
        operation_type: operation.as_str(),
        resource_type: resource_type.as_str(),
        resource_path,
        error: event.error,
        details: event.details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str, end_of_day: bool, expected: Option<i64>) {
        assert_eq!(parse_date(value, end_of_day), expected, "{value}");
    }

    #[test]
    fn dates_are_days_in_utc_or_milliseconds() {
        check("1970-01-01", false, Some(0));
        check("1970-01-01", true, Some(86_399));
        check("2000-03-01", false, Some(951_868_800));
        check("2024-02-29", false, Some(1_709_164_800));
        check("2026-12-04", false, Some(1_796_342_400));
        check("1796342400123", false, Some(1_796_342_400));
        check("2023-02-29", false, None);
        check("2026-13-01", false, None);
        check("yesterday", false, None);
        check("-5", false, None);
    }
}
