//! "Activité récente": the user's latest logins (with the OTP device used), failed attempts
//! and account changes, read from the audit events.

use serde_json::{Value, json};
use sesame_domain::{AuditEvent, EventType};
use sesame_store::{EventQuery, StoreError};

use super::Console;
use crate::Actions;

/// How many events the console shows.
const SHOWN: i64 = 10;

/// The events the user sees: what they did and what was tried on their account.
const SHOWN_TYPES: [EventType; 7] = [
    EventType::Login,
    EventType::LoginError,
    EventType::UpdatePassword,
    EventType::UpdateTotp,
    EventType::RemoveTotp,
    EventType::UpdateProfile,
    EventType::Logout,
];

/// The user's latest events, newest first, as the console's first page lists them.
pub(crate) async fn list(actions: &Actions, console: &Console) -> Result<Vec<Value>, StoreError> {
    let (realm, query) = (
        console.realm.clone(),
        EventQuery {
            types: SHOWN_TYPES.to_vec(),
            user_id: Some(console.user.id.clone()),
            ..EventQuery::default()
        },
    );
    let events = actions
        .provider
        .db
        .run(move |conn| sesame_store::list_events(conn, &realm, &query, 0, SHOWN))
        .await?;
    Ok(events.iter().filter_map(represent).collect())
}

/// An event as the page shows it: what happened, when, from where, with which device.
fn represent(event: &AuditEvent) -> Option<Value> {
    let message = match event.event_type()? {
        EventType::Login => "accountEventLogin",
        EventType::LoginError => "accountEventLoginError",
        EventType::UpdatePassword => "accountEventUpdatePassword",
        EventType::UpdateTotp => "accountEventUpdateTotp",
        EventType::RemoveTotp => "accountEventRemoveTotp",
        EventType::UpdateProfile => "accountEventUpdateProfile",
        EventType::Logout => "accountEventLogout",
        EventType::CodeToToken
        | EventType::CodeToTokenError
        | EventType::RefreshToken
        | EventType::RefreshTokenError
        | EventType::ClientLogin
        | EventType::ClientLoginError => return None,
    };
    Some(json!({
        "message": message,
        "time": event.time,
        "ip": event.ip_address,
        "device": event.details.get("otp_device"),
    }))
}
