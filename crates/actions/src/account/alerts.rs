//! Security mails: the user hears of every new or deleted authenticator and of every password
//! change, so that a change they did not make does not go unnoticed.
//!
//! A mail that cannot be sent does not undo the change: it is logged, and the change stands.

use serde_json::json;
use sesame_domain::{RealmSettings, User};
use sesame_mail::Mail;

use crate::Actions;
use crate::invite::sender_address;

/// The mail template of the alerts.
const TEMPLATE: &str = "security-alert";

/// What happened to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecurityAlert {
    /// A device of this name was added.
    DeviceAdded(String),
    /// The device of this name was deleted.
    DeviceRemoved(String),
    /// The password changed.
    PasswordChanged,
}

impl SecurityAlert {
    /// The message keys of the subject and of the body, and the body's parameter.
    fn keys(&self) -> (&'static str, &'static str, &str) {
        match self {
            Self::DeviceAdded(label) => (
                "securityAlertDeviceAddedSubject",
                "securityAlertDeviceAddedMessage",
                label,
            ),
            Self::DeviceRemoved(label) => (
                "securityAlertDeviceRemovedSubject",
                "securityAlertDeviceRemovedMessage",
                label,
            ),
            Self::PasswordChanged => (
                "securityAlertPasswordChangedSubject",
                "securityAlertPasswordChangedMessage",
                "",
            ),
        }
    }

    /// A short name for the log.
    fn kind(&self) -> &'static str {
        match self {
            Self::DeviceAdded(_) => "device added",
            Self::DeviceRemoved(_) => "device removed",
            Self::PasswordChanged => "password changed",
        }
    }
}

/// Mails `alert` to the user's address, in the user's language; a user without an address gets
/// nothing.
pub(crate) async fn send_security_alert(
    actions: &Actions,
    realm: &str,
    settings: &RealmSettings,
    user: &User,
    alert: &SecurityAlert,
) {
    let provider = &actions.provider;
    let Some(address) = user.email.clone().filter(|address| !address.is_empty()) else {
        return;
    };
    let locale = settings.locale_for(user.locale.as_deref());
    let realm_label = settings.shown_name(realm);
    let (subject_key, message_key, parameter) = alert.keys();
    let context = json!({
        "realm_name": realm_label,
        "user_name": user.first_name.clone().unwrap_or_default(),
        "subject_key": subject_key,
        "message_key": message_key,
        "message_param": parameter,
        "account_url": format!("{}/realms/{realm}/account", provider.public_url),
           "theme": settings.login_theme,
    });
    let rendered = match provider
        .ui
        .render_email(TEMPLATE, &locale, &[&realm_label], &context)
    {
        Ok(rendered) => rendered,
        Err(err) => {
            tracing::error!(realm, user_id = %user.id, error = %err, "security mail rendering failed");
            return;
        }
    };
    let mail = Mail {
        from_address: sender_address(&settings.smtp_server.from, &provider.public_url),
        from_name: settings.smtp_server.from_display_name.clone(),
        reply_to: Some(settings.smtp_server.reply_to.clone())
            .filter(|reply_to| !reply_to.is_empty()),
        to_address: address,
        to_name: Some(user.display_name()),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    };
    match actions.mailer.send(&mail).await {
        Ok(_) => {
            tracing::info!(realm, user_id = %user.id, alert = alert.kind(), "security mail sent")
        }
        Err(err) => {
            tracing::error!(realm, user_id = %user.id, alert = alert.kind(), error = %err, "security mail not sent");
        }
    }
}
