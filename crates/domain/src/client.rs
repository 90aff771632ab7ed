//! Clients (relying parties) of a realm.

/// How a client proves its identity at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// A shared secret, sent with HTTP Basic or in the form.
    ClientSecret,
    /// A JWT signed with the client's private key (OIDC Core §9, `private_key_jwt`).
    PrivateKeyJwt,
    /// No authentication: a public client (browser or native app).
    None,
}

/// A client of a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Internal identifier; also the `sub` of the client's service-account tokens.
    pub id: String,
    /// The realm it belongs to.
    pub realm: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    /// A name for people.
    pub name: String,
    /// A disabled client gets no token.
    pub enabled: bool,
    /// How the client authenticates.
    pub auth_method: ClientAuthMethod,
    /// SHA-256 of the client secret, hex-encoded; never the secret itself.
    pub secret_sha256: Option<String>,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// The client's home page: where "back to the application" links lead.
    pub base_url: Option<String>,
    /// Whether the authorization code flow is allowed.
    pub standard_flow_enabled: bool,
    /// Whether the client may use the client credentials grant.
    pub service_accounts_enabled: bool,
    /// Whether authorization requests must carry a PKCE challenge.
    pub pkce_required: bool,
    /// The client's public keys (a JWKS document) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Whether the client's service account may use the admin API of its realm (and of every
    /// realm when its realm is `master`).
    pub realm_admin: bool,
}

impl Client {
    /// Whether the client is public (cannot keep a secret).
    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }

    /// Whether PKCE is required: always for public clients (OAuth 2.0 Security BCP §2.1.1).
    pub fn requires_pkce(&self) -> bool {
        self.pkce_required || self.is_public()
    }
}
