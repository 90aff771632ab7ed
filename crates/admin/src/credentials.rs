//! `/admin/realms/{realm}/users/{id}/credentials` and `reset-password`: what a user signs in
//! with, seen and changed by an administrator. Secrets and hashes never leave the store.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use sesame_actions::Actions;
use sesame_domain::{OperationType, RequiredAction, ResourceType};
use sesame_oidc::ClientAddress;
use sesame_store::{Credential, CredentialKind, CredentialRemoval};

use crate::AdminError;
use crate::auth::authorize;
use crate::error::parse_json;
use crate::users::{CredentialRepresentation as NewCredential, new_password};

/// Keycloak's `CredentialRepresentation` as its credential list shows it: no secret, no hash.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CredentialRepresentation {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_label: Option<String>,
    created_date: i64,
}

/// `GET /admin/realms/{realm}/users/{id}/credentials`: the password first, then the OTP
/// devices, oldest first.
pub(crate) async fn get_credentials(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Vec<CredentialRepresentation>>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;

    let credentials = provider
        .db
        .run(move |conn| {
            if sesame_store::find_user(conn, &realm, &id)?.is_none() {
                return Ok(None);
            }
            let mut credentials = Vec::new();
            for kind in [CredentialKind::Password, CredentialKind::Otp] {
                credentials.extend(sesame_store::list_credentials(conn, &id, kind)?);
            }
            Ok(Some(credentials))
        })
        .await?
        .ok_or(AdminError::NotFound("user"))?;

    Ok(Json(credentials.iter().map(represent).collect()))
}

/// `DELETE /admin/realms/{realm}/users/{id}/credentials/{credentialId}`.
///
/// Removing the last OTP device of a user in a realm that requires OTP makes CONFIGURE_TOTP
/// pending in the same transaction: the account is never left to sign in with its password
/// alone.
pub(crate) async fn delete_credential(
    State(actions): State<Arc<Actions>>,
    Path((realm, id, credential_id)): Path<(String, String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, settings) = authorize(provider, &headers, &realm).await?;

    let (realm_name, user_id, key) = (realm.clone(), id.clone(), credential_id.clone());
    let otp_required = settings.otp_required;
    let path = format!("users/{id}/credentials/{credential_id}");
    let change = (OperationType::Delete, ResourceType::User, path);
    let event = admin.event(provider, &realm, change, &address);
    let removal = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                let removal = sesame_store::remove_credential(
                    conn,
                    &realm_name,
                    &user_id,
                    &key,
                    otp_required,
                )?;
                let removed = matches!(removal, CredentialRemoval::Removed { .. });
                crate::events::insert_event_if(conn, removed, &event)?;
                Ok(removal)
            })
        })
        .await?;

    match removal {
        CredentialRemoval::UnknownUser => Err(AdminError::NotFound("user")),
        CredentialRemoval::UnknownCredential => Err(AdminError::NotFound("credential")),
        CredentialRemoval::Removed {
            kind,
            label: _,
            configure_totp,
        } => {
            tracing::info!(
                realm,
                user_id = %id,
                credential = %credential_id,
                kind,
                configure_totp,
                admin = %admin.client_id,
                admin_realm = %admin.realm,
                "credential deleted"
            );
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// `PUT /admin/realms/{realm}/users/{id}/reset-password`: Keycloak's contract, a
/// `{"type": "password", "value": "…", "temporary": true}` body. The realm's password policy
/// applies; a temporary password makes UPDATE_PASSWORD pending, a permanent one clears it.
pub(crate) async fn put_reset_password(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, settings) = authorize(provider, &headers, &realm).await?;
    let credential: NewCredential = parse_json(&body)?;
    if !credential.is_password() {
        return Err(AdminError::BadRequest(
            "only a password can be reset".to_owned(),
        ));
    }
    let (realm_name, user_id) = (realm.clone(), id.clone());
    let user = provider
        .db
        .run(move |conn| sesame_store::find_user(conn, &realm_name, &user_id))
        .await?
        .ok_or(AdminError::NotFound("user"))?;
    let temporary = credential.temporary;
    let hash = new_password(
        &actions,
        &settings,
        &user,
        Some(std::slice::from_ref(&credential)),
        &mut Vec::new(),
    )
    .await?
    .ok_or_else(|| AdminError::BadRequest("a password value is required".to_owned()))?;

    let now = provider.clock.now();
    let user_id = user.id.clone();
    let path = format!("users/{id}/reset-password");
    let change = (OperationType::Action, ResourceType::User, path);
    let event = admin.event(provider, &realm, change, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::set_password(conn, &user_id, &sesame_oidc::new_id(), &hash, now)?;
                sesame_store::insert_event(conn, &event)?;
                if temporary {
                    sesame_store::insert_required_action(
                        conn,
                        &user_id,
                        RequiredAction::UpdatePassword,
                    )
                } else {
                    sesame_store::delete_required_action(
                        conn,
                        &user_id,
                        RequiredAction::UpdatePassword,
                    )
                }
            })
        })
        .await?;

    tracing::info!(
        realm,
        user_id = %id,
        temporary,
        admin = %admin.client_id,
        admin_realm = %admin.realm,
        "password reset"
    );
    Ok(StatusCode::NO_CONTENT)
}

fn represent(credential: &Credential) -> CredentialRepresentation {
    CredentialRepresentation {
        id: credential.id.clone(),
        kind: credential.kind.clone(),
        user_label: credential.label.clone(),
        created_date: credential.created_at * 1000,
    }
}
