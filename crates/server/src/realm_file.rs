//! Realm files: a realm's settings and its clients in TOML, under Keycloak's camelCase names,
//! such as `config/realms/smart-oa.toml`. They are imported at start-up and by the realm import
//! command.
//!
//! Parsing checks everything a file can get wrong before anything is written. Importing never
//! undoes what an administrator changed unless asked: an existing realm is skipped, or, with
//! `overwrite`, its settings are replaced and the listed clients updated in place.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use sesame_domain::{Client, ClientAuthMethod, RealmSettings, RedirectUri, Secret};
use sesame_oidc::{new_id, random_token, sha256_hex};
use sesame_store::{DbConnection, StoreError};

/// A parsed and checked realm file.
#[derive(Debug, Clone)]
pub(crate) struct RealmFile {
    /// The realm's name, as in its URLs: 1 to 64 characters of `a-z`, `0-9`, `-` and `_`.
    pub(crate) realm: String,
    /// The realm's settings; those the file leaves out keep their defaults.
    pub(crate) settings: RealmSettings,
    /// The clients the file lists, in its order.
    pub(crate) clients: Vec<ClientFile>,
}

/// A client as a realm file describes it, checked.
#[derive(Debug, Clone)]
pub(crate) struct ClientFile {
    /// The OAuth `client_id`, unique in the file.
    pub(crate) client_id: String,
    /// A name for people; the client id when the file gives none.
    pub(crate) name: String,
    /// `enabled`, true by default.
    pub(crate) enabled: bool,
    /// From `publicClient` and `clientAuthenticatorType`.
    pub(crate) auth_method: ClientAuthMethod,
    /// `secret`, for `client-secret` clients only; one is generated when the file has none
    /// (and no `secret_sha256`).
    pub(crate) secret: Option<Secret>,
    /// `secretSha256`: the secret's SHA-256 digest, hex-encoded, as `sesame realm export`
    /// writes it, so that an exported realm keeps its clients' secrets without revealing them.
    pub(crate) secret_sha256: Option<String>,
    /// `redirectUris`, absolute and without fragment.
    pub(crate) redirect_uris: Vec<String>,
    /// `postLogoutRedirectUris`, absolute and without fragment.
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// `baseUrl`: where "back to the application" links lead.
    pub(crate) base_url: Option<String>,
    /// `standardFlowEnabled`, true by default.
    pub(crate) standard_flow_enabled: bool,
    /// `serviceAccountsEnabled`, false by default.
    pub(crate) service_accounts_enabled: bool,
    /// `pkceRequired`, true by default: the OAuth security BCP recommends PKCE for every client.
    pub(crate) pkce_required: bool,
    /// `jwks`, the public keys of a `client-jwt` client, as a JWKS JSON document.
    pub(crate) jwks: Option<String>,
    /// `realmAdmin`: whether the client's service account may use the realm's admin API.
    pub(crate) realm_admin: bool,
}

/// What [`import`] did.
pub(crate) enum ImportOutcome {
    /// The realm did not exist and was created with its clients. `generated_secrets` holds the
    /// `(client_id, secret)` of each confidential client the file gave no secret: the only copy
    /// of those secrets, for the caller to hand over (never to log).
    Created {
        generated_secrets: Vec<(String, String)>,
    },
    /// The realm exists and `overwrite` was not asked: nothing was changed.
    Skipped,
    /// The realm existed; its settings were replaced and the listed clients updated or added.
    /// `generated_secrets` as for `Created`, for clients that had no secret yet.
    Updated {
        generated_secrets: Vec<(String, String)>,
    },
}

/// Why a realm file cannot be used or imported.
#[derive(Debug)]
pub(crate) enum RealmFileError {
    /// The file could not be read.
    Unreadable { path: PathBuf, reason: String },
    /// An error found in a file, with its path.
    InFile {
        path: PathBuf,
        error: Box<RealmFileError>,
    },
    /// Not valid TOML, a value of the wrong type, a missing key or an unknown client field.
    Malformed {
        line: usize,
        column: usize,
        reason: String,
    },
    /// `realm` is not a usable realm name.
    InvalidRealmName { name: String },
    /// A key that is not a realm setting.
    UnknownSetting { key: String },
    /// The realm settings are out of range.
    InvalidSettings { reason: String },
    /// A client field is wrong; `client` is its client id, or its position when it has none.
    InvalidClient {
        client: String,
        field: &'static str,
        reason: String,
    },
    /// Two clients have the same client id.
    DuplicateClient { client_id: String },
    /// The database refused the import; nothing of it was kept.
    NotStored(StoreError),
}

/// Parses and checks the text of a realm file.
pub(crate) fn parse(text: &str) -> Result<RealmFile, RealmFileError> {
    let raw: RawRealmFile = toml::from_str(text).map_err(|err| malformed(text, &err))?;
    // Realm settings accept unknown keys (serde's `flatten` cannot deny them), so a misspelt
    // lifespan would silently keep its default; compare the keys with the known ones instead.
    let table: toml::Table = toml::from_str(text).map_err(|err| malformed(text, &err))?;
    check_setting_keys(&table)?;

    if !is_realm_name(&raw.realm) {
        return Err(RealmFileError::InvalidRealmName { name: raw.realm });
    }
    raw.settings
        .validate()
        .map_err(|reason| RealmFileError::InvalidSettings { reason })?;

    let mut clients: Vec<ClientFile> = Vec::with_capacity(raw.clients.len());
    for (index, raw_client) in raw.clients.into_iter().enumerate() {
        let client = check_client(index, raw_client)?;
        if clients
            .iter()
            .any(|other| other.client_id == client.client_id)
        {
            return Err(RealmFileError::DuplicateClient {
                client_id: client.client_id,
            });
        }
        clients.push(client);
    }

    Ok(RealmFile {
        realm: raw.realm,
        settings: raw.settings,
        clients,
    })
}

/// Reads and parses a realm file; errors carry its path.
pub(crate) fn read(path: &Path) -> Result<RealmFile, RealmFileError> {
    let text = std::fs::read_to_string(path).map_err(|err| RealmFileError::Unreadable {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    parse(&text).map_err(|err| RealmFileError::InFile {
        path: path.to_owned(),
        error: Box::new(err),
    })
}

/// Imports a realm file, in one transaction.
///
/// A realm that does not exist is created with its clients. An existing realm is left alone
/// unless `overwrite` is set; then its settings are replaced and each listed client updated by
/// client id, keeping its internal id and, when the file gives no secret, its current secret.
/// Clients the file does not list are kept. `now` is the time of the import, in Unix seconds.
pub(crate) fn import(
    conn: &mut DbConnection,
    file: &RealmFile,
    overwrite: bool,
    now: i64,
) -> Result<ImportOutcome, RealmFileError> {
    let existing =
        sesame_store::find_realm(conn, &file.realm).map_err(RealmFileError::NotStored)?;
    if existing.is_some() && !overwrite {
        return Ok(ImportOutcome::Skipped);
    }

    if existing.is_none() {
        match sesame_store::in_transaction(conn, |conn| create_realm(conn, file, now)) {
            Ok(generated_secrets) => return Ok(ImportOutcome::Created { generated_secrets }),
            // Another node created the realm between the check and the insert.
            Err(StoreError::Conflict(_)) if !overwrite => return Ok(ImportOutcome::Skipped),
            Err(StoreError::Conflict(_)) => {}
            Err(err) => return Err(RealmFileError::NotStored(err)),
        }
    }

    let generated_secrets =
        sesame_store::in_transaction(conn, |conn| update_realm(conn, file, now))
            .map_err(RealmFileError::NotStored)?;
    Ok(ImportOutcome::Updated { generated_secrets })
}

/// Checks one client described as a realm file's `[[clients]]` entry would describe it.
pub(crate) fn parse_client(entry: toml::Table) -> Result<ClientFile, RealmFileError> {
    let raw: RawClient = toml::Value::Table(entry)
        .try_into()
        .map_err(|err: toml::de::Error| RealmFileError::Malformed {
            line: 0,
            column: 0,
            reason: err.message().trim().to_owned(),
        })?;
    check_client(0, raw)
}

/// A new client of `realm` with a new internal id, and the secret generated for it, if the
/// description asks for a secret and gives none: the only copy, for the caller to hand over.
pub(crate) fn new_client(realm: &str, client_file: &ClientFile) -> (Client, Option<String>) {
    let mut generated_secrets = Vec::new();
    let secret_sha256 = secret_digest(client_file, None, &mut generated_secrets);
    let client = to_client(realm, new_id(), client_file, secret_sha256);
    let secret = generated_secrets.pop().map(|(_, secret)| secret);
    (client, secret)
}

impl fmt::Debug for ImportOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Generated secrets exist only here: show whose they are, never their value.
        let client_ids = |secrets: &[(String, String)]| -> Vec<String> {
            secrets
                .iter()
                .map(|(client_id, _)| client_id.clone())
                .collect()
        };
        match self {
            Self::Created { generated_secrets } => f
                .debug_struct("Created")
                .field("generated_secrets_for", &client_ids(generated_secrets))
                .finish(),
            Self::Skipped => f.write_str("Skipped"),
            Self::Updated { generated_secrets } => f
                .debug_struct("Updated")
                .field("generated_secrets_for", &client_ids(generated_secrets))
                .finish(),
        }
    }
}

impl fmt::Display for RealmFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { path, reason } => {
                write!(f, "cannot read the realm file {}: {reason}", path.display())
            }
            Self::InFile { path, error } => write!(f, "realm file {}: {error}", path.display()),
            Self::Malformed {
                line,
                column,
                reason,
            } => {
                write!(f, "line {line}, column {column}: {reason}")
            }
            Self::InvalidRealmName { name } => write!(
                f,
                "realm: expected 1 to 64 characters of a-z, 0-9, '-' and '_', got {name:?}"
            ),
            Self::UnknownSetting { key } => write!(f, "unknown realm setting `{key}`"),
            Self::InvalidSettings { reason } => write!(f, "realm settings: {reason}"),
            Self::InvalidClient {
                client,
                field,
                reason,
            } => {
                write!(f, "client {client}: {field}: {reason}")
            }
            Self::DuplicateClient { client_id } => {
                write!(f, "client {client_id:?}: clientId: listed more than once")
            }
            Self::NotStored(err) => write!(f, "the realm could not be stored: {err}"),
        }
    }
}

impl std::error::Error for RealmFileError {}

/// A realm file as written.
#[derive(Deserialize)]
struct RawRealmFile {
    realm: String,
    #[serde(default)]
    clients: Vec<RawClient>,
    #[serde(flatten)]
    settings: RealmSettings,
}

/// A client as written, with Keycloak's field names and nothing checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawClient {
    client_id: String,
    name: Option<String>,
    enabled: Option<bool>,
    public_client: Option<bool>,
    client_authenticator_type: Option<String>,
    secret: Option<Secret>,
    secret_sha256: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    base_url: Option<String>,
    standard_flow_enabled: Option<bool>,
    service_accounts_enabled: Option<bool>,
    pkce_required: Option<bool>,
    jwks: Option<String>,
    realm_admin: Option<bool>,
}

fn create_realm(
    conn: &mut DbConnection,
    file: &RealmFile,
    now: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut generated_secrets = Vec::new();
    sesame_store::insert_realm(conn, &file.realm, &file.settings, now)?;
    for client_file in &file.clients {
        let secret_sha256 = secret_digest(client_file, None, &mut generated_secrets);
        let client = to_client(&file.realm, new_id(), client_file, secret_sha256);
        sesame_store::insert_client(conn, &client, now)?;
    }
    Ok(generated_secrets)
}

fn update_realm(
    conn: &mut DbConnection,
    file: &RealmFile,
    now: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut generated_secrets = Vec::new();
    sesame_store::update_realm(conn, &file.realm, &file.settings, now)?;
    for client_file in &file.clients {
        match sesame_store::find_client(conn, &file.realm, &client_file.client_id)? {
            Some(current) => {
                let secret_sha256 = secret_digest(
                    client_file,
                    current.secret_sha256.as_deref(),
                    &mut generated_secrets,
                );
                let client = to_client(&file.realm, current.id, client_file, secret_sha256);
                sesame_store::update_client(conn, &client)?;
            }
            None => {
                let secret_sha256 = secret_digest(client_file, None, &mut generated_secrets);
                let client = to_client(&file.realm, new_id(), client_file, secret_sha256);
                sesame_store::insert_client(conn, &client, now)?;
            }
        }
    }
    Ok(generated_secrets)
}

/// The stored digest of a client's secret: the file's secret (or its digest), else the current
/// one, else a new random one, which is added to `generated_secrets`. Clients without a secret
/// get none.
fn secret_digest(
    client_file: &ClientFile,
    current: Option<&str>,
    generated_secrets: &mut Vec<(String, String)>,
) -> Option<String> {
    let secret = client_file.secret.as_ref();
    match client_file.auth_method {
        ClientAuthMethod::ClientSecret => {
            Some(match (secret, &client_file.secret_sha256, current) {
                (Some(secret), _, _) => sha256_hex(secret.expose()),
                (None, Some(digest), _) => digest.clone(),
                (None, None, Some(digest)) => digest.to_owned(),
                (None, None, None) => {
                    let secret = random_token(32);
                    let digest = sha256_hex(&secret);
                    generated_secrets.push((client_file.client_id.clone(), secret));
                    digest
                }
            })
        }
        ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::None => None,
    }
}

fn to_client(
    realm: &str,
    id: String,
    client_file: &ClientFile,
    secret_sha256: Option<String>,
) -> Client {
    Client {
        id,
        realm: realm.to_owned(),
        client_id: client_file.client_id.clone(),
        name: client_file.name.clone(),
        enabled: client_file.enabled,
        auth_method: client_file.auth_method,
        secret_sha256,
        redirect_uris: client_file.redirect_uris.clone(),
        post_logout_redirect_uris: client_file.post_logout_redirect_uris.clone(),
        base_url: client_file.base_url.clone(),
        standard_flow_enabled: client_file.standard_flow_enabled,
        service_accounts_enabled: client_file.service_accounts_enabled,
        pkce_required: client_file.pkce_required,
        jwks: client_file.jwks.clone(),
        realm_admin: client_file.realm_admin,
    }
}

fn malformed(text: &str, err: &toml::de::Error) -> RealmFileError {
    let (line, column) = err.span().map_or((0, 0), |span| position(text, span.start));
    RealmFileError::Malformed {
        line,
        column,
        reason: err.message().trim().to_owned(),
    }
}

/// One-based line and column of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

/// Rejects top-level keys, and keys of nested settings tables, that no realm setting has.
fn check_setting_keys(table: &toml::Table) -> Result<(), RealmFileError> {
    // RealmSettings is a plain struct: it always serialises to an object.
    let Ok(serde_json::Value::Object(defaults)) = serde_json::to_value(RealmSettings::default())
    else {
        return Ok(());
    };
    for (key, value) in table {
        if key == "realm" || key == "clients" {
            continue;
        }
        let Some(default) = defaults.get(key) else {
            return Err(RealmFileError::UnknownSetting { key: key.clone() });
        };
        if let (toml::Value::Table(nested), serde_json::Value::Object(known)) = (value, default)
            && let Some(unknown) = nested
                .keys()
                .find(|nested_key| !known.contains_key(*nested_key))
        {
            return Err(RealmFileError::UnknownSetting {
                key: format!("{key}.{unknown}"),
            });
        }
    }
    Ok(())
}

fn is_realm_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        })
}

fn check_client(index: usize, raw: RawClient) -> Result<ClientFile, RealmFileError> {
    let label = if raw.client_id.is_empty() {
        format!("#{}", index + 1)
    } else {
        format!("{:?}", raw.client_id)
    };
    let error = |field: &'static str, reason: &str| RealmFileError::InvalidClient {
        client: label.clone(),
        field,
        reason: reason.to_owned(),
    };

    let client_id_acceptable = !raw.client_id.is_empty()
        && raw
            .client_id
            .chars()
            .all(|character| character.is_ascii_graphic());
    if !client_id_acceptable {
        return Err(error(
            "clientId",
            "expected printable ASCII characters without spaces",
        ));
    }
    let public_client = raw.public_client.unwrap_or(false);
    let auth_method = match (public_client, raw.client_authenticator_type.as_deref()) {
        (true, None) => ClientAuthMethod::None,
        (true, Some(_)) => {
            return Err(error(
                "clientAuthenticatorType",
                "a public client does not authenticate",
            ));
        }
        (false, None | Some("client-secret")) => ClientAuthMethod::ClientSecret,
        (false, Some("client-jwt")) => ClientAuthMethod::PrivateKeyJwt,
        (false, Some(_)) => {
            return Err(error(
                "clientAuthenticatorType",
                "expected \"client-secret\" or \"client-jwt\"",
            ));
        }
    };
    match (auth_method, &raw.secret) {
        (ClientAuthMethod::ClientSecret, Some(secret)) if secret.expose().chars().count() < 16 => {
            return Err(error("secret", "expected at least 16 characters"));
        }
        (ClientAuthMethod::ClientSecret, _) | (_, None) => {}
        (ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::None, Some(_)) => {
            return Err(error("secret", "only a client-secret client has a secret"));
        }
    }
    match (auth_method, &raw.secret, &raw.secret_sha256) {
        (_, _, None) => {}
        (_, Some(_), Some(_)) => {
            return Err(error("secretSha256", "give either secret or secretSha256"));
        }
        (ClientAuthMethod::ClientSecret, None, Some(digest)) if !is_sha256_hex(digest) => {
            return Err(error(
                "secretSha256",
                "expected 64 lower-case hexadecimal digits",
            ));
        }
        (ClientAuthMethod::ClientSecret, None, Some(_)) => {}
        (ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::None, None, Some(_)) => {
            return Err(error(
                "secretSha256",
                "only a client-secret client has a secret",
            ));
        }
    }
    match (auth_method, &raw.jwks) {
        (ClientAuthMethod::PrivateKeyJwt, None) => {
            return Err(error("jwks", "a client-jwt client needs its public keys"));
        }
        (ClientAuthMethod::PrivateKeyJwt, Some(jwks)) if !is_jwks(jwks) => {
            return Err(error(
                "jwks",
                "expected a JWKS JSON document with a \"keys\" array",
            ));
        }
        (ClientAuthMethod::PrivateKeyJwt, Some(_)) | (_, None) => {}
        (ClientAuthMethod::ClientSecret | ClientAuthMethod::None, Some(_)) => {
            return Err(error("jwks", "only a client-jwt client has keys"));
        }
    }

    let service_accounts_enabled = raw.service_accounts_enabled.unwrap_or(false);
    if service_accounts_enabled && public_client {
        return Err(error(
            "serviceAccountsEnabled",
            "a public client cannot have a service account",
        ));
    }
    let realm_admin = raw.realm_admin.unwrap_or(false);
    if realm_admin && !service_accounts_enabled {
        return Err(error(
            "realmAdmin",
            "needs serviceAccountsEnabled, as its service account acts",
        ));
    }
    let standard_flow_enabled = raw.standard_flow_enabled.unwrap_or(true);
    if standard_flow_enabled && raw.redirect_uris.is_empty() {
        return Err(error(
            "redirectUris",
            "the standard flow needs at least one redirect URI",
        ));
    }
    for (field, uris) in [
        ("redirectUris", &raw.redirect_uris),
        ("postLogoutRedirectUris", &raw.post_logout_redirect_uris),
    ] {
        for uri in uris {
            RedirectUri::check_registration(uri)
                .map_err(|reason| error(field, &format!("{uri:?}: {reason}")))?;
        }
    }
    if let Some(base_url) = &raw.base_url {
        RedirectUri::check_base_url(base_url).map_err(|_| {
            error(
                "baseUrl",
                "expected an absolute http(s) URL without fragment",
            )
        })?;
    }

    Ok(ClientFile {
        name: raw
            .name
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| raw.client_id.clone()),
        client_id: raw.client_id,
        enabled: raw.enabled.unwrap_or(true),
        auth_method,
        secret: raw.secret,
        secret_sha256: raw.secret_sha256,
        redirect_uris: raw.redirect_uris,
        post_logout_redirect_uris: raw.post_logout_redirect_uris,
        base_url: raw.base_url,
        standard_flow_enabled,
        service_accounts_enabled,
        pkce_required: raw.pkce_required.unwrap_or(true),
        jwks: raw.jwks,
        realm_admin,
    })
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

fn is_jwks(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|document| {
        document
            .get("keys")
            .is_some_and(serde_json::Value::is_array)
    })
}

#[cfg(test)]
mod tests;
