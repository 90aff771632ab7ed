//! The mail that asks a user to complete required actions (the initialisation mail), sent by
//! the admin API's execute-actions-email and by `sesame user invite`.

use std::path::PathBuf;

use serde_json::json;
use sesame_domain::{RedirectUri, RequiredAction};
use sesame_mail::{Mail, MailError};
use sesame_store::{ActionTokenRow, StoreError};

use crate::Actions;

/// What to send.
#[derive(Debug, Clone)]
pub struct ActionsMailRequest {
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
    let lifespan = request
        .lifespan
        .unwrap_or(settings.action_token_generated_by_admin_lifespan);
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
        actions: ActionTokenRow::encode_actions(&wanted),
        client_id: client.as_ref().map(|client| client.client_id.clone()),
        redirect_uri,
        created_at: now,
        expires_at: now + lifespan,
        completed_at: None,
    };
    let (owner, to_add) = (user.id.clone(), wanted.clone());
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                let mut pending = sesame_store::list_required_actions(conn, &owner)?;
                pending.extend(to_add);
                sesame_store::set_required_actions(conn, &owner, &pending)?;
                sesame_store::insert_action_token(conn, &row)
            })
        })
        .await?;

    let link = format!(
        "{}/realms/{realm}/login-actions/action-token?key={key}",
        provider.public_url
    );
    let locale = user
        .locale
        .clone()
        .filter(|locale| settings.supported_locales.contains(locale))
        .unwrap_or_else(|| settings.default_locale.clone());
    let realm_label = if settings.display_name.is_empty() {
        realm.clone()
    } else {
        settings.display_name.clone()
    };
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
    });
    let rendered = provider
        .ui
        .render_email("execute-actions", &locale, &[&realm_label], &context)
        .map_err(|err| ActionsMailError::Render(err.to_string()))?;
    let mail = Mail {
        from_address: settings.smtp_server.from.clone(),
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
