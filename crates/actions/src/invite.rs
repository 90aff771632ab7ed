//! The mail that asks a user to complete required actions (the initialisation mail), sent by
//! the admin API's execute-actions-email and by `sesame user invite`.

use std::path::PathBuf;

use serde_json::json;
use sesame_domain::{RedirectUri, RequiredAction};
use sesame_mail::{Mail, MailError};
use sesame_store::{ActionTokenRow, StoreError};

use crate::Actions;

/// Which mail carries the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionsMailKind {
    /// An administrator asks the user to complete actions (the initialisation mail); the link
    /// lives `actionTokenGeneratedByAdminLifespan` by default.
    ExecuteActions,
    /// The user asked to reset a forgotten password; the link lives
    /// `actionTokenGeneratedByUserLifespan`.
    PasswordReset,
}

impl ActionsMailKind {
    /// The name of the mail's templates, also stored with the token.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Self::ExecuteActions => "execute-actions",
            Self::PasswordReset => "password-reset",
        }
    }
}

/// What to send.
#[derive(Debug, Clone)]
pub struct ActionsMailRequest {
    /// Which mail.
    pub kind: ActionsMailKind,
    /// Realm.
    pub realm: String,
    /// The user.
    pub user_id: String,
    /// The actions to ask for; empty means the realm's whole order.
    pub actions: Vec<RequiredAction>,
    /// Validity of the link in seconds; default `actionTokenGeneratedByAdminLifespan`.
    pub lifespan: Option<i64>,
    /// The client whose page ends the journey.
    pub client_id: Option<String>,
    /// Where the final page's link leads; must be registered for the client.
    pub redirect_uri: Option<String>,
}

/// What was sent.
#[derive(Debug)]
pub struct SentActionsMail {
    /// The link in the mail. Only `start-dev` may show it, by design.
    pub link: String,
    /// The outbox file, in development.
    pub outbox_file: Option<PathBuf>,
}

/// Why the mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ActionsMailError {
    /// No such realm.
    #[error("realm not found")]
    UnknownRealm,
    /// No such user in the realm.
    #[error("user not found")]
    UnknownUser,
    /// The user has no e-mail address.
    #[error("the user has no e-mail address")]
    NoAddress,
    /// The user is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// No such client in the realm.
    #[error("client not found")]
    UnknownClient,
    /// A redirect URI without a client, or one the client does not allow.
    #[error("redirect_uri is not allowed for the client")]
    RedirectUriNotAllowed,
    /// The lifespan is not a positive number of seconds.
    #[error("lifespan must be a positive number of seconds")]
    BadLifespan,
    /// The mail could not be rendered.
    #[error("the mail could not be rendered: {0}")]
    Render(String),
    /// The mail transport failed.
    #[error("the mail could not be sent: {0}")]
    Send(MailError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores an action token for the user's actions, marks them pending, and mails the link.
pub async fn send_actions_mail(
    actions: &Actions,
    request: ActionsMailRequest,
) -> Result<SentActionsMail, ActionsMailError> {
    let provider = &actions.provider;
    let realm = request.realm.clone();
    let settings = provider
        .realm(&realm)
        .await?
        .ok_or(ActionsMailError::UnknownRealm)?;
    let default_lifespan = match request.kind {
        ActionsMailKind::ExecuteActions => settings.action_token_generated_by_admin_lifespan,
        ActionsMailKind::PasswordReset => settings.action_token_generated_by_user_lifespan,
    };
    let lifespan = request.lifespan.unwrap_or(default_lifespan);
    if !(1..=365 * 24 * 3600).contains(&lifespan) {
        return Err(ActionsMailError::BadLifespan);
    }
    let wanted = if request.actions.is_empty() {
        settings.required_action_order.clone()
    } else {
        request.actions.clone()
    };

    let (realm_name, user_id, client_id) = (
        realm.clone(),
        request.user_id.clone(),
        request.client_id.clone(),
    );
    let (user, client) = provider
        .db
        .run(move |conn| {
            let user = sesame_store::find_user(conn, &realm_name, &user_id)?;
            let client = match &client_id {
                Some(client_id) => {
                    sesame_store::find_client(conn, &realm_name, client_id)?.map(Some)
                }
                None => Some(None),
            };
            Ok((user, client))
        })
        .await?;
    let user = user.ok_or(ActionsMailError::UnknownUser)?;
    let client = client.ok_or(ActionsMailError::UnknownClient)?;
    if !user.enabled {
        return Err(ActionsMailError::UserDisabled);
    }
    let address = user.email.clone().ok_or(ActionsMailError::NoAddress)?;
    let redirect_uri = match (&request.redirect_uri, &client) {
        (None, _) => None,
        (Some(_), None) => return Err(ActionsMailError::RedirectUriNotAllowed),
        (Some(uri), Some(client)) => Some(
            RedirectUri::matching(Some(uri), &client.redirect_uris, client.is_public())
                .map_err(|_| ActionsMailError::RedirectUriNotAllowed)?
                .as_str()
                .to_owned(),
        ),
    };

    let now = provider.clock.now();
    let key = sesame_oidc::random_token(32);
    let row = ActionTokenRow {
        token_sha256: sesame_oidc::sha256_hex(&key),
        realm: realm.clone(),
        user_id: user.id.clone(),
        kind: request.kind.template().to_owned(),
        actions: ActionTokenRow::encode_actions(&wanted),
        client_id: client.as_ref().map(|client| client.client_id.clone()),
        redirect_uri,
        created_at: now,
        expires_at: now + lifespan,
        completed_at: None,
    };
    let (owner, to_add, kind) = (user.id.clone(), wanted.clone(), request.kind);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                // An administrator's request makes the actions pending at once, so that a login
                // asks for them too; a reset request does so only when its link is opened.
                if kind == ActionsMailKind::ExecuteActions {
                    let mut pending = sesame_store::list_required_actions(conn, &owner)?;
                    pending.extend(to_add);
                    sesame_store::set_required_actions(conn, &owner, &pending)?;
                }
                sesame_store::insert_action_token(conn, &row)
            })
        })
        .await?;

    let link = format!(
        "{}/realms/{realm}/login-actions/action-token?key={key}",
        provider.public_url
    );
    let locale = settings.locale_for(user.locale.as_deref());
    let realm_label = settings.shown_name(&realm);
    let action_names: Vec<String> = wanted
        .iter()
        .map(|action| {
            provider
                .ui
                .message(&locale, action_message_key(*action), &[])
        })
        .collect();
    let context = json!({
        "realm_name": realm_label,
        "user_name": user.first_name.clone().unwrap_or_default(),
        "link": link,
        "link_expiration": provider.ui.format_duration(&locale, lifespan),
        "actions": action_names,
           "theme": settings.login_theme,
    });
    let rendered = provider
        .ui
        .render_email(request.kind.template(), &locale, &[&realm_label], &context)
        .map_err(|err| ActionsMailError::Render(err.to_string()))?;
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
    let outbox_file = actions
        .mailer
        .send(&mail)
        .await
        .map_err(ActionsMailError::Send)?;
    tracing::info!(realm, user_id = %user.id, actions = ?wanted.iter().map(|action| action.alias()).collect::<Vec<_>>(), "actions mail sent");
    Ok(SentActionsMail { link, outbox_file })
}

fn action_message_key(action: RequiredAction) -> &'static str {
    match action {
        RequiredAction::ConfigureTotp => "actionConfigureTotp",
        RequiredAction::UpdatePassword => "actionUpdatePassword",
        RequiredAction::UpdateProfile => "actionUpdateProfile",
        RequiredAction::VerifyEmail => "actionVerifyEmail",
    }
}

/// The realm's sender, or `no-reply@` the public host when the realm names none, so that a
/// realm set up without mail settings can still send its links.
pub(crate) fn sender_address(configured: &str, public_url: &str) -> String {
    if !configured.trim().is_empty() {
        return configured.trim().to_owned();
    }
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .filter(|host| host.contains('.') && !host.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| "localhost.localdomain".to_owned());
    format!("no-reply@{host}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sender_falls_back_to_the_public_host() {
        use super::sender_address;
        assert_eq!(
            sender_address("oa@exaion.example", "https://x.example"),
            "oa@exaion.example"
        );
        assert_eq!(
            sender_address("", "https://id.smart-oa.example"),
            "no-reply@id.smart-oa.example"
        );
        assert_eq!(
            sender_address(" ", "https://127.0.0.1:8443"),
            "no-reply@localhost.localdomain"
        );
    }
}
