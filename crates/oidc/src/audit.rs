//! Recording audit events from the request handlers of every area.
//!
//! Where a request changes stored state, its event is inserted in the same transaction as the
//! change (with `sesame_store::insert_event`), so that no change goes unrecorded and no event
//! describes a change that was rolled back. Where nothing else is written (a refused login, a
//! client credentials grant), [`record`] stores the event on its own.

use sesame_domain::{AuditEvent, EventType};

use crate::{Provider, new_id};

/// A user event of `realm` stamped with the provider's clock and a new id.
pub fn event(provider: &Provider, realm: &str, event_type: EventType, address: &str) -> AuditEvent {
    AuditEvent::user(new_id(), realm, provider.clock.now(), event_type, address)
}

/// Stores an event that goes with no other write.
///
/// A failure is logged at ERROR and not returned: the answer to the request does not depend on
/// the event (a refused password stays refused), and turning it into a server error would tell
/// the client nothing more while hiding the refusal it should see.
pub async fn record(provider: &Provider, event: AuditEvent) {
    let (realm, event_type) = (event.realm.clone(), event.event_type());
    let stored = provider
        .db
        .run(move |conn| sesame_store::insert_event(conn, &event))
        .await;
    if let Err(err) = stored {
        let event_type = event_type.map(EventType::as_str).unwrap_or("admin");
        tracing::error!(realm, event_type, error = %err, "an audit event could not be stored");
    }
}
