//! `sesame realm export`: a realm as a realm file (the format of `config/realms/*.toml`), so
//! that importing it into an empty database gives the same realm.
//!
//! Client secrets are never written: a confidential client's secret appears as its SHA-256
//! digest (`secretSha256`), which is what the database keeps and what the import accepts. Users
//! are not part of a realm file.

use serde::Serialize;

use sesame_domain::{Client, ClientAuthMethod};
use sesame_store::DbConnection;

/// The realm file of `realm`, or `None` when the realm does not exist.
pub(crate) fn export(conn: &mut DbConnection, realm: &str) -> anyhow::Result<Option<String>> {
    let Some(settings) = sesame_store::find_realm(conn, realm)? else {
        return Ok(None);
    };
    let clients = sesame_store::list_clients(conn, realm)?;

    // The realm's name first, then its settings (plain keys before nested tables, as TOML
    // requires), then the clients.
    let name = toml::to_string(&RealmName { realm })?;
    let settings = toml::to_string(&settings)?;
    let clients = toml::to_string(&ClientList {
        clients: clients.iter().map(ExportedClient::from).collect(),
    })?;
    Ok(Some(format!(
        "# Realm {realm}, exported by `sesame realm export`. Client secrets are given as their \
         SHA-256\n# digests (secretSha256): the secrets themselves are not stored anywhere.\n\n\
         {name}{settings}\n{clients}"
    )))
}

#[derive(Serialize)]
struct RealmName<'a> {
    realm: &'a str,
}

#[derive(Serialize)]
struct ClientList<'a> {
    clients: Vec<ExportedClient<'a>>,
}

/// A client as a realm file lists it, with the import's field names and defaults written out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedClient<'a> {
    client_id: &'a str,
    name: &'a str,
    enabled: bool,
    public_client: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_authenticator_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_sha256: Option<&'a str>,
    redirect_uris: &'a [String],
    post_logout_redirect_uris: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<&'a str>,
    standard_flow_enabled: bool,
    service_accounts_enabled: bool,
    pkce_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks: Option<&'a str>,
    realm_admin: bool,
}

impl<'a> From<&'a Client> for ExportedClient<'a> {
    fn from(client: &'a Client) -> Self {
        let client_authenticator_type = match client.auth_method {
            ClientAuthMethod::ClientSecret => Some("client-secret"),
            ClientAuthMethod::PrivateKeyJwt => Some("client-jwt"),
            ClientAuthMethod::None => None,
        };
        Self {
            client_id: &client.client_id,
            name: &client.name,
            enabled: client.enabled,
            public_client: client.is_public(),
            client_authenticator_type,
            secret_sha256: client.secret_sha256.as_deref(),
            redirect_uris: &client.redirect_uris,
            post_logout_redirect_uris: &client.post_logout_redirect_uris,
            base_url: client.base_url.as_deref(),
            standard_flow_enabled: client.standard_flow_enabled,
            service_accounts_enabled: client.service_accounts_enabled,
            pkce_required: client.pkce_required,
            jwks: client.jwks.as_deref(),
            realm_admin: client.realm_admin,
        }
    }
}
