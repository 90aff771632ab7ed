//! The audit events of the login flow, built from the login in progress so that each place
//! that records one stays a single line. Events carry what a reviewer needs (who, which
//! client, from where, which OTP device, why a step refused) and never what was typed as a
//! password or a code.

use sesame_domain::{AuditEvent, EventType};
use sesame_oidc::audit;
use sesame_store::{DbConnection, StoreError, UserSessionRow};

use crate::Actions;
use crate::authenticate::Login;

impl Login {
    /// A user event of this login: its realm, address, client and, once known, user.
    pub(crate) fn event(&self, actions: &Actions, event_type: EventType) -> AuditEvent {
        let client_id = match &self.request {
            Some(request) => request.client_id.as_str(),
            None => self.session.client_id.as_str(),
        };
        let event = audit::event(&actions.provider, &self.realm, event_type, &self.address)
            .client(client_id);
        match (&self.flow.user_id, &self.user) {
            (Some(user_id), _) => event.user_id(user_id),
            (None, Some(user)) => event.user_id(&user.id),
            (None, None) => event,
        }
    }
}

/// Records a refused password step. `reason` is the one the log line gives ("unknown user",
/// "disabled", "wrong password", "locked"); `username` is what was typed in the username field.
pub(crate) async fn password_refused(
    actions: &Actions,
    login: &Login,
    reason: &str,
    user_id: &str,
    username: &str,
) {
    let event = login
        .event(actions, EventType::LoginError)
        .user_id(user_id)
        .error(error_code(reason))
        .detail("auth_step", "password")
        .detail("username", username);
    audit::record(&actions.provider, event).await;
}

/// Records a refused one-time code of the OTP device `device_id` ("wrong code" or "locked").
pub(crate) async fn code_refused(actions: &Actions, login: &Login, device_id: &str, reason: &str) {
    let event = login
        .event(actions, EventType::LoginError)
        .error(error_code(reason))
        .detail("auth_step", "otp")
        .detail("credential_id", device_id);
    audit::record(&actions.provider, event).await;
}

/// The LOGIN event of a finished login that opened `session`.
pub(crate) fn login(actions: &Actions, login: &Login, session: &UserSessionRow) -> AuditEvent {
    let event = login
        .event(actions, EventType::Login)
        .user_id(&session.user_id)
        .session(&session.id)
        .detail("auth_method", "openid-connect")
        .detail("amr", &session.amr);
    let event = match &login.request {
        Some(request) => event.detail("redirect_uri", &request.redirect_uri),
        None => event,
    };
    match &login.flow.selected_device {
        Some(device) if login.flow.amr.iter().any(|method| method == "otp") => {
            event.detail("credential_id", device)
        }
        _ => event,
    }
}

/// Stores a LOGIN event in the caller's transaction, naming the OTP device by its label.
pub(crate) fn insert_login(conn: &mut DbConnection, event: &AuditEvent) -> Result<(), StoreError> {
    let device = match (&event.user_id, event.details.get("credential_id")) {
        (Some(user_id), Some(device)) => sesame_store::find_credential(conn, user_id, device)?,
        _ => None,
    };
    match device.and_then(|device| device.label) {
        Some(label) => {
            sesame_store::insert_event(conn, &event.clone().detail("otp_device", &label))
        }
        None => sesame_store::insert_event(conn, event),
    }
}

/// Keycloak's error code for the reason a login step gives in its log line.
fn error_code(reason: &str) -> &'static str {
    match reason {
        "unknown user" => "user_not_found",
        "disabled" => "user_disabled",
        "locked" => "user_temporarily_disabled",
        _ => "invalid_user_credentials",
    }
}
