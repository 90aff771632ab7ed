//! Clients of a realm.

use diesel::prelude::*;
use sesame_domain::{Client, ClientAuthMethod};

use crate::schema::clients;
use crate::{DbConnection, StoreError, from_json, to_json};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: String,
    realm: String,
    client_id: String,
    name: String,
    enabled: bool,
    auth_method: String,
    secret_sha256: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    base_url: Option<String>,
    standard_flow_enabled: bool,
    service_accounts_enabled: bool,
    pkce_required: bool,
    jwks: Option<String>,
    realm_admin: bool,
    created_at: i64,
}

impl ClientRow {
    fn from_domain(client: &Client, created_at: i64) -> Self {
        Self {
            id: client.id.clone(),
            realm: client.realm.clone(),
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            enabled: client.enabled,
            auth_method: auth_method_name(client.auth_method).to_owned(),
            secret_sha256: client.secret_sha256.clone(),
            redirect_uris: to_json(&client.redirect_uris),
            post_logout_redirect_uris: to_json(&client.post_logout_redirect_uris),
            base_url: client.base_url.clone(),
            standard_flow_enabled: client.standard_flow_enabled,
            service_accounts_enabled: client.service_accounts_enabled,
            pkce_required: client.pkce_required,
            jwks: client.jwks.clone(),
            realm_admin: client.realm_admin,
            created_at,
        }
    }

    fn into_domain(self) -> Result<Client, StoreError> {
        let auth_method = match self.auth_method.as_str() {
            "client-secret" => ClientAuthMethod::ClientSecret,
            "client-jwt" => ClientAuthMethod::PrivateKeyJwt,
            "none" => ClientAuthMethod::None,
            other => return Err(StoreError::Corrupt(format!("client auth method {other}"))),
        };
        Ok(Client {
            id: self.id,
            realm: self.realm,
            client_id: self.client_id,
            name: self.name,
            enabled: self.enabled,
            auth_method,
            secret_sha256: self.secret_sha256,
            redirect_uris: from_json(&self.redirect_uris, "redirect uris")?,
            post_logout_redirect_uris: from_json(
                &self.post_logout_redirect_uris,
                "post-logout redirect uris",
            )?,
            base_url: self.base_url,
            standard_flow_enabled: self.standard_flow_enabled,
            service_accounts_enabled: self.service_accounts_enabled,
            pkce_required: self.pkce_required,
            jwks: self.jwks,
            realm_admin: self.realm_admin,
        })
    }
}

/// Keycloak's name for a client authentication method.
pub fn auth_method_name(method: ClientAuthMethod) -> &'static str {
    match method {
        ClientAuthMethod::ClientSecret => "client-secret",
        ClientAuthMethod::PrivateKeyJwt => "client-jwt",
        ClientAuthMethod::None => "none",
    }
}

/// Finds a client by its OAuth `client_id`.
pub fn find_client(
    conn: &mut DbConnection,
    realm: &str,
    client_id: &str,
) -> Result<Option<Client>, StoreError> {
    clients::table
        .filter(
            clients::realm
                .eq(realm)
                .and(clients::client_id.eq(client_id)),
        )
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ClientRow::into_domain)
        .transpose()
}

/// Finds a client by its internal id.
pub fn find_client_by_id(
    conn: &mut DbConnection,
    realm: &str,
    id: &str,
) -> Result<Option<Client>, StoreError> {
    clients::table
        .filter(clients::realm.eq(realm).and(clients::id.eq(id)))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ClientRow::into_domain)
        .transpose()
}

/// Lists a realm's clients by `client_id`.
pub fn list_clients(conn: &mut DbConnection, realm: &str) -> Result<Vec<Client>, StoreError> {
    clients::table
        .filter(clients::realm.eq(realm))
        .order(clients::client_id)
        .select(ClientRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ClientRow::into_domain)
        .collect()
}

/// Creates a client; `Conflict` when the realm has one with the same `client_id`.
pub fn insert_client(conn: &mut DbConnection, client: &Client, now: i64) -> Result<(), StoreError> {
    diesel::insert_into(clients::table)
        .values(ClientRow::from_domain(client, now))
        .execute(conn)?;
    Ok(())
}

/// Replaces a client's settings (its id, realm and creation time stay).
pub fn update_client(conn: &mut DbConnection, client: &Client) -> Result<(), StoreError> {
    let created_at: i64 = clients::table
        .filter(clients::id.eq(&client.id))
        .select(clients::created_at)
        .first(conn)?;
    let changed = diesel::update(clients::table.filter(clients::id.eq(&client.id)))
        .set(ClientRow::from_domain(client, created_at))
        .execute(conn)?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes a client.
pub fn delete_client(conn: &mut DbConnection, realm: &str, id: &str) -> Result<(), StoreError> {
    let deleted =
        diesel::delete(clients::table.filter(clients::realm.eq(realm).and(clients::id.eq(id))))
            .execute(conn)?;
    if deleted == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
