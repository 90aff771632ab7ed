//! "Authentification à deux facteurs": the user's authenticator devices, adding one through the
//! configure-TOTP step of the login flow, and deleting one after a confirmation page.
//!
//! Both changes ask for a fresh login first when the session's authentication is old. Deleting
//! goes through the store's last-device rule, shared with the admin API.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use sesame_domain::{EventType, RequiredAction};
use sesame_oidc::ClientAddress;
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::pages::error_page;
use sesame_store::{Credential, CredentialKind, CredentialRemoval, StoreError};

use super::{
    Console, SecurityAlert, console_page, open, open_form, reauthenticate, run_action,
    send_security_alert,
};
use crate::Actions;
use crate::authenticate::see_other;

/// The user's devices as the console's first page lists them, oldest first.
pub(crate) async fn list(actions: &Actions, console: &Console) -> Result<Vec<Value>, StoreError> {
    let user_id = console.user.id.clone();
    let devices = actions
        .provider
        .db
        .run(move |conn| sesame_store::list_credentials(conn, &user_id, CredentialKind::Otp))
        .await?;
    Ok(devices
        .iter()
        .map(|device| {
            json!({
                "id": device.id,
                "label": device.label.clone().unwrap_or_default(),
                "created_at": device.created_at,
                "delete_url": console.url(actions, &format!("/totp/{}/delete", device.id)),
            })
        })
        .collect())
}

/// `POST /realms/{realm}/account/totp`: "Configurer Application d'authentification" runs the
/// configure-TOTP step of the login flow, after a fresh login when the session's is old.
pub(crate) async fn post_configure_totp(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let return_to = format!("/realms/{realm}/account");
    let (console, _) = match open_form(&actions, &realm, &headers, address, &return_to, &body).await
    {
        Ok(opened) => opened,
        Err(response) => return response,
    };

    let return_to = console.path("?done=device-added");
    if console.is_fresh() {
        run_action(
            &actions,
            &console,
            &return_to,
            RequiredAction::ConfigureTotp,
        )
        .await
    } else {
        reauthenticate(
            &actions,
            &console,
            &return_to,
            Some(RequiredAction::ConfigureTotp),
        )
        .await
    }
}

/// `GET /realms/{realm}/account/totp/{credential_id}/delete`: the confirmation page.
pub(crate) async fn get_delete_device(
    State(actions): State<Arc<Actions>>,
    Path((realm, credential_id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let console_path = format!("/realms/{realm}/account");
    let console = match open(&actions, &realm, &headers, address, &console_path).await {
        Ok(console) => console,
        Err(response) => return response,
    };
    // The device is looked up first: only the id of one of the user's devices goes into the
    // address a fresh login comes back to.
    let (device, count) = match find_device(&actions, &console, &credential_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return unknown_device(&actions, &console),
        Err(err) => return server_error_page(&actions.provider, &err),
    };
    if !console.is_fresh() {
        let return_to = console.path(&format!("/totp/{}/delete", device.id));
        return reauthenticate(&actions, &console, &return_to, None).await;
    }

    let extra = json!({
        "device_label": device.label.clone().unwrap_or_default(),
        "device_created_at": device.created_at,
        "delete_url": console.url(&actions, &format!("/totp/{credential_id}/delete")),
        "last_device": count == 1 && console.settings.otp_required,
    });
    console_page(
        &actions,
        &console,
        "account-delete-device.html",
        extra,
        None,
        &Map::new(),
    )
}

/// `POST /realms/{realm}/account/totp/{credential_id}/delete`: deletes the device.
pub(crate) async fn post_delete_device(
    State(actions): State<Arc<Actions>>,
    Path((realm, credential_id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let console_path = format!("/realms/{realm}/account");
    let (console, _) =
        match open_form(&actions, &realm, &headers, address, &console_path, &body).await {
            Ok(opened) => opened,
            Err(response) => return response,
        };
    // Only a device: the password is not deleted from here.
    let device = match find_device(&actions, &console, &credential_id).await {
        Ok(Some((device, _))) => device,
        Ok(None) => return unknown_device(&actions, &console),
        Err(err) => return server_error_page(&actions.provider, &err),
    };
    if !console.is_fresh() {
        let return_to = console.path(&format!("/totp/{}/delete", device.id));
        return reauthenticate(&actions, &console, &return_to, None).await;
    }

    let provider = &actions.provider;
    let event = console
        .event(&actions, EventType::RemoveTotp)
        .detail("credential_id", &credential_id)
        .detail("otp_device", device.label.as_deref().unwrap_or_default());
    let (realm_name, user_id, key) = (
        console.realm.clone(),
        console.user.id.clone(),
        credential_id.clone(),
    );
    let otp_required = console.settings.otp_required;
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
                if matches!(removal, CredentialRemoval::Removed { .. }) {
                    sesame_store::insert_event(conn, &event)?;
                }
                Ok(removal)
            })
        })
        .await;
    let (label, configure_totp) = match removal {
        Ok(CredentialRemoval::Removed {
            kind: _,
            label,
            configure_totp,
        }) => (label.unwrap_or_default(), configure_totp),
        Ok(CredentialRemoval::UnknownUser | CredentialRemoval::UnknownCredential) => {
            return unknown_device(&actions, &console);
        }
        Err(err) => return server_error_page(provider, &err),
    };
    tracing::info!(
        realm = %console.realm,
        user_id = %console.user.id,
        device = %credential_id,
        configure_totp,
        ip = %console.address,
        "OTP device deleted from the account console"
    );
    send_security_alert(
        &actions,
        &console.realm,
        &console.settings,
        &console.user,
        &SecurityAlert::DeviceRemoved(label),
    )
    .await;
    see_other(&format!(
        "{}?done=device-deleted",
        console.url(&actions, "")
    ))
}

/// One of the user's devices, and how many the user has.
async fn find_device(
    actions: &Actions,
    console: &Console,
    credential_id: &str,
) -> Result<Option<(Credential, usize)>, StoreError> {
    let (user_id, credential_id) = (console.user.id.clone(), credential_id.to_owned());
    actions
        .provider
        .db
        .run(move |conn| {
            let devices = sesame_store::list_credentials(conn, &user_id, CredentialKind::Otp)?;
            let count = devices.len();
            Ok(devices
                .into_iter()
                .find(|device| device.id == credential_id)
                .map(|device| (device, count)))
        })
        .await
}

fn unknown_device(actions: &Actions, console: &Console) -> Response {
    error_page(
        &actions.provider,
        StatusCode::NOT_FOUND,
        &console.locale,
        "accountUnknownDeviceMessage",
    )
}
