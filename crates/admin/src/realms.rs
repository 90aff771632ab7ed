//! `/admin/realms/{realm}`: realm settings with Keycloak's field names.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use sesame_actions::Actions;
use sesame_domain::{OperationType, RealmSettings, ResourceType};
use sesame_oidc::ClientAddress;

use crate::AdminError;
use crate::auth::authorize;
use crate::error::parse_json;

/// `GET /admin/realms/{realm}`.
pub(crate) async fn get_realm(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AdminError> {
    let (_, settings) = authorize(&actions.provider, &headers, &realm).await?;
    let mut representation = serde_json::to_value(&settings).map_err(|_| AdminError::Internal)?;
    if let Value::Object(fields) = &mut representation {
        fields.insert("id".into(), Value::String(realm.clone()));
        fields.insert("realm".into(), Value::String(realm));
    }
    Ok(Json(representation))
}

/// `PUT /admin/realms/{realm}`: changes the settings present in the body; the others stay.
pub(crate) async fn put_realm(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, settings) = authorize(provider, &headers, &realm).await?;
    let changes: Value = parse_json(&body)?;
    let Value::Object(changes) = changes else {
        return Err(AdminError::BadRequest("expected a JSON object".to_owned()));
    };
    if changes
        .get("realm")
        .and_then(Value::as_str)
        .is_some_and(|name| name != realm)
    {
        return Err(AdminError::BadRequest(
            "renaming a realm is not supported".to_owned(),
        ));
    }
    let mut merged = serde_json::to_value(&settings).map_err(|_| AdminError::Internal)?;
    if let Value::Object(fields) = &mut merged {
        for (name, value) in changes {
            // Keycloak's representation has many fields Sésame does not: ignore them, as
            // Keycloak ignores unknown ones, so that whole exported documents can be sent back.
            if fields.contains_key(&name) {
                fields.insert(name, value);
            }
        }
    }
    let updated: RealmSettings = serde_json::from_value(merged)
        .map_err(|err| AdminError::BadRequest(format!("invalid realm settings: {err}")))?;
    updated.validate().map_err(AdminError::BadRequest)?;
    let themes = provider.ui.themes();
    if !themes.contains(&updated.login_theme) {
        return Err(AdminError::BadRequest(format!(
            "loginTheme {:?} is not a theme of this server (themes: {})",
            updated.login_theme,
            themes.join(", ")
        )));
    }
    let now = provider.clock.now();
    let realm_name = realm.clone();
    // Keycloak records realm changes with an empty resource path: the realm itself.
    let change = (OperationType::Update, ResourceType::Realm, String::new());
    let event = admin.event(provider, &realm, change, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::update_realm(conn, &realm_name, &updated, now)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await?;
    tracing::info!(realm, admin = %admin.client_id, admin_realm = %admin.realm, "realm settings updated");
    Ok(StatusCode::NO_CONTENT)
}
