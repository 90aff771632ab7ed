//! `/admin/realms/{realm}/clients`: Keycloak's client representation.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sesame_actions::Actions;
use sesame_domain::{Client, ClientAuthMethod, OperationType, RedirectUri, ResourceType, Secret};
use sesame_oidc::ClientAddress;

use crate::AdminError;
use crate::auth::authorize;
use crate::error::parse_json;

const POST_LOGOUT_REDIRECT_URIS: &str = "post.logout.redirect.uris";
const PKCE_METHOD: &str = "pkce.code.challenge.method";
const JWKS: &str = "jwks.string";
const REALM_ADMIN: &str = "sesame.realm.admin";

/// Keycloak's `ClientRepresentation`, for the fields Sésame has.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ClientRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    client_id: Option<String>,
    name: Option<String>,
    enabled: Option<bool>,
    public_client: Option<bool>,
    #[serde(skip_serializing)]
    secret: Option<Secret>,
    client_authenticator_type: Option<String>,
    redirect_uris: Option<Vec<String>>,
    base_url: Option<String>,
    standard_flow_enabled: Option<bool>,
    service_accounts_enabled: Option<bool>,
    attributes: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientQuery {
    client_id: Option<String>,
}

/// `POST /admin/realms/{realm}/clients`: 201 with the new client's URL in `Location`.
pub(crate) async fn post_client(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;
    let representation: ClientRepresentation = parse_json(&body)?;
    let client_id = representation
        .client_id
        .clone()
        .filter(|client_id| !client_id.trim().is_empty() && client_id.len() <= 255)
        .ok_or_else(|| AdminError::BadRequest("clientId is required".to_owned()))?;
    let mut client = Client {
        id: sesame_oidc::new_id(),
        realm: realm.clone(),
        client_id,
        name: String::new(),
        enabled: true,
        auth_method: ClientAuthMethod::ClientSecret,
        secret_sha256: None,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        base_url: None,
        standard_flow_enabled: true,
        service_accounts_enabled: false,
        pkce_required: false,
        jwks: None,
        realm_admin: false,
    };
    apply(&mut client, &representation)?;
    if client.auth_method == ClientAuthMethod::ClientSecret && client.secret_sha256.is_none() {
        // A confidential client created without a secret gets one; the administrator reads
        // it once through the client-secret endpoint's regeneration.
        client.secret_sha256 = Some(sesame_oidc::sha256_hex(&sesame_oidc::random_token(32)));
    }
    let row = client.clone();
    let now = provider.clock.now();
    let path = format!("clients/{}", client.id);
    let event = admin.event(
        provider,
        &realm,
        (OperationType::Create, ResourceType::Client, path),
        &address,
    );
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::insert_client(conn, &row, now)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
        .map_err(|err| match err {
            sesame_store::StoreError::Conflict(_) => {
                AdminError::Conflict(format!("Client {} already exists", client.client_id))
            }
            other => AdminError::from(other),
        })?;
    tracing::info!(realm, client_id = %client.client_id, admin = %admin.client_id, "client created");
    let location = format!(
        "{}/admin/realms/{realm}/clients/{}",
        provider.public_url, client.id
    );
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /admin/realms/{realm}/clients`, optionally filtered by `clientId`.
pub(crate) async fn get_clients(
    State(actions): State<Arc<Actions>>,
    Path(realm): Path<String>,
    Query(query): Query<ClientQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<ClientRepresentation>>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let clients = provider
        .db
        .run(move |conn| sesame_store::list_clients(conn, &realm))
        .await?;
    let wanted = query.client_id;
    Ok(Json(
        clients
            .iter()
            .filter(|client| {
                wanted
                    .as_ref()
                    .is_none_or(|wanted| *wanted == client.client_id)
            })
            .map(represent)
            .collect(),
    ))
}

/// `GET /admin/realms/{realm}/clients/{id}`.
pub(crate) async fn get_client(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<ClientRepresentation>, AdminError> {
    let provider = &actions.provider;
    authorize(provider, &headers, &realm).await?;
    let client = provider
        .db
        .run(move |conn| sesame_store::find_client_by_id(conn, &realm, &id))
        .await?;
    client
        .as_ref()
        .map(represent)
        .map(Json)
        .ok_or(AdminError::NotFound("client"))
}

/// `PUT /admin/realms/{realm}/clients/{id}`: changes the fields present in the body.
pub(crate) async fn put_client(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;
    let representation: ClientRepresentation = parse_json(&body)?;
    let (realm_name, client_key) = (realm.clone(), id.clone());
    let mut client = provider
        .db
        .run(move |conn| sesame_store::find_client_by_id(conn, &realm_name, &client_key))
        .await?
        .ok_or(AdminError::NotFound("client"))?;
    if let Some(client_id) = representation
        .client_id
        .as_deref()
        .filter(|client_id| !client_id.trim().is_empty())
    {
        client.client_id = client_id.to_owned();
    }
    apply(&mut client, &representation)?;
    let row = client.clone();
    let change = (
        OperationType::Update,
        ResourceType::Client,
        format!("clients/{id}"),
    );
    let event = admin.event(provider, &realm, change, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::update_client(conn, &row)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
        .map_err(|err| match err {
            sesame_store::StoreError::Conflict(_) => {
                AdminError::Conflict(format!("Client {} already exists", client.client_id))
            }
            other => AdminError::from(other),
        })?;
    tracing::info!(realm, client_id = %client.client_id, admin = %admin.client_id, "client updated");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/realms/{realm}/clients/{id}`.
pub(crate) async fn delete_client(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;
    let (realm_name, client_key) = (realm.clone(), id.clone());
    let change = (
        OperationType::Delete,
        ResourceType::Client,
        format!("clients/{id}"),
    );
    let event = admin.event(provider, &realm, change, &address);
    provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::delete_client(conn, &realm_name, &client_key)?;
                sesame_store::insert_event(conn, &event)
            })
        })
        .await
        .map_err(|err| match err {
            sesame_store::StoreError::NotFound => AdminError::NotFound("client"),
            other => AdminError::from(other),
        })?;
    tracing::info!(realm, client = %id, admin = %admin.client_id, "client deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/realms/{realm}/clients/{id}/client-secret`: a new secret, shown this once.
pub(crate) async fn post_client_secret(
    State(actions): State<Arc<Actions>>,
    Path((realm, id)): Path<(String, String)>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, AdminError> {
    let provider = &actions.provider;
    let (admin, _) = authorize(provider, &headers, &realm).await?;
    let secret = sesame_oidc::random_token(32);
    let digest = sesame_oidc::sha256_hex(&secret);
    let realm_name = realm.clone();
    let path = format!("clients/{id}/client-secret");
    let event = admin.event(
        provider,
        &realm,
        (OperationType::Action, ResourceType::Client, path),
        &address,
    );
    let client = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                let Some(mut client) = sesame_store::find_client_by_id(conn, &realm_name, &id)?
                else {
                    return Ok(None);
                };
                // Only a secret client gets one: a public or a key-authenticated client would
                // otherwise keep a digest nothing uses, after a refusal.
                if client.auth_method == ClientAuthMethod::ClientSecret {
                    client.secret_sha256 = Some(digest);
                    sesame_store::update_client(conn, &client)?;
                    sesame_store::insert_event(conn, &event)?;
                }
                Ok(Some(client))
            })
        })
        .await?
        .ok_or(AdminError::NotFound("client"))?;
    if client.auth_method != ClientAuthMethod::ClientSecret {
        return Err(AdminError::BadRequest(
            "the client does not use a secret".to_owned(),
        ));
    }
    tracing::info!(realm, client_id = %client.client_id, admin = %admin.client_id, "client secret regenerated");
    Ok(Json(json!({ "type": "secret", "value": secret })))
}

fn represent(client: &Client) -> ClientRepresentation {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        POST_LOGOUT_REDIRECT_URIS.to_owned(),
        client.post_logout_redirect_uris.join("##"),
    );
    if client.pkce_required {
        attributes.insert(PKCE_METHOD.to_owned(), "S256".to_owned());
    }
    if let Some(jwks) = &client.jwks {
        attributes.insert(JWKS.to_owned(), jwks.clone());
    }
    attributes.insert(REALM_ADMIN.to_owned(), client.realm_admin.to_string());
    ClientRepresentation {
        id: Some(client.id.clone()),
        client_id: Some(client.client_id.clone()),
        name: Some(client.name.clone()),
        enabled: Some(client.enabled),
        public_client: Some(client.is_public()),
        secret: None,
        client_authenticator_type: Some(
            sesame_store::auth_method_name(client.auth_method).to_owned(),
        ),
        redirect_uris: Some(client.redirect_uris.clone()),
        base_url: client.base_url.clone(),
        standard_flow_enabled: Some(client.standard_flow_enabled),
        service_accounts_enabled: Some(client.service_accounts_enabled),
        attributes: Some(attributes),
    }
}

/// Applies the fields present in a representation, checking each.
fn apply(client: &mut Client, representation: &ClientRepresentation) -> Result<(), AdminError> {
    let bad = |message: &str| AdminError::BadRequest(message.to_owned());
    if let Some(name) = &representation.name {
        client.name = name.clone();
    }
    if let Some(enabled) = representation.enabled {
        client.enabled = enabled;
    }
    match (
        representation.public_client,
        representation.client_authenticator_type.as_deref(),
    ) {
        (Some(true), _) => client.auth_method = ClientAuthMethod::None,
        (_, Some("client-jwt")) => client.auth_method = ClientAuthMethod::PrivateKeyJwt,
        (_, Some("client-secret")) | (Some(false), None) => {
            client.auth_method = ClientAuthMethod::ClientSecret
        }
        (_, Some(_)) => {
            return Err(bad(
                "clientAuthenticatorType must be client-secret or client-jwt",
            ));
        }
        (None, None) => {}
    }
    if let Some(secret) = &representation.secret {
        if secret.expose().len() < 16 {
            return Err(bad("secret must be at least 16 characters"));
        }
        client.secret_sha256 = Some(sesame_oidc::sha256_hex(secret.expose()));
    }
    if let Some(uris) = &representation.redirect_uris {
        check_uris("redirectUris", uris)?;
        client.redirect_uris = uris.clone();
    }
    if let Some(base_url) = &representation.base_url {
        if !base_url.is_empty() {
            RedirectUri::check_base_url(base_url).map_err(|err| {
                AdminError::BadRequest(format!("baseUrl: {base_url} is refused: {err}"))
            })?;
        }
        client.base_url = Some(base_url.clone()).filter(|url| !url.is_empty());
    }
    if let Some(enabled) = representation.standard_flow_enabled {
        client.standard_flow_enabled = enabled;
    }
    if let Some(enabled) = representation.service_accounts_enabled {
        client.service_accounts_enabled = enabled;
    }
    if let Some(attributes) = &representation.attributes {
        if let Some(uris) = attributes.get(POST_LOGOUT_REDIRECT_URIS) {
            let uris: Vec<String> = uris
                .split("##")
                .filter(|uri| !uri.is_empty())
                .map(str::to_owned)
                .collect();
            check_uris(POST_LOGOUT_REDIRECT_URIS, &uris)?;
            client.post_logout_redirect_uris = uris;
        }
        if let Some(method) = attributes.get(PKCE_METHOD) {
            client.pkce_required = match method.as_str() {
                "S256" => true,
                "" => false,
                _ => return Err(bad("pkce.code.challenge.method must be S256 or empty")),
            };
        }
        if let Some(jwks) = attributes.get(JWKS) {
            let parsed: serde_json::Value = serde_json::from_str(jwks)
                .map_err(|_| bad("jwks.string must be a JWKS document"))?;
            if !parsed.get("keys").is_some_and(serde_json::Value::is_array) {
                return Err(bad("jwks.string must be a JWKS document"));
            }
            client.jwks = Some(jwks.clone());
        }
        if let Some(admin) = attributes.get(REALM_ADMIN) {
            client.realm_admin = admin == "true";
        }
    }
    if client.realm_admin && !client.service_accounts_enabled {
        return Err(bad(
            "a realm administrator client needs serviceAccountsEnabled",
        ));
    }
    if client.is_public() && client.service_accounts_enabled {
        return Err(bad("a public client cannot have a service account"));
    }
    Ok(())
}

/// Refuses the first URI that cannot be registered, naming the field it came from.
fn check_uris(field: &str, uris: &[String]) -> Result<(), AdminError> {
    for uri in uris {
        RedirectUri::check_registration(uri)
            .map_err(|err| AdminError::BadRequest(format!("{field}: {uri} is refused: {err}")))?;
    }
    Ok(())
}
