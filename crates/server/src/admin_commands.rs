//! The administration commands that work on the configured database directly: `realm export`,
//! `user list`, `user disable`, `client create` and `client rotate-secret`.
//!
//! Each change is one transaction with its admin event, recorded as made by `sesame-cli` from
//! `local`, so that the audit trail shows changes made at the command line beside those made
//! through the admin API.

use std::path::Path;

use anyhow::Context;

use sesame_domain::{AuditEvent, ClientAuthMethod, OperationType, ResourceType};
use sesame_oidc::Clock;
use sesame_store::{Database, DbConnection, StoreError, UserSearch};

use crate::config::Config;
use crate::realm_file;

/// The client an admin event names for a change made at the command line.
const CLI_CLIENT: &str = "sesame-cli";
/// The address an admin event names for a change made at the command line.
const CLI_ADDRESS: &str = "local";

/// What `sesame client create` was given.
#[derive(Debug, Default)]
pub(crate) struct NewClient {
    /// The OAuth `client_id`.
    pub(crate) client_id: String,
    /// A name for people.
    pub(crate) name: Option<String>,
    /// A public client: no secret, PKCE required.
    pub(crate) public: bool,
    /// Redirect URIs; none makes a service client (client credentials only).
    pub(crate) redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// The client's home page.
    pub(crate) base_url: Option<String>,
    /// Whether the client may use the client credentials grant.
    pub(crate) service_account: bool,
    /// Whether its service account administers the realm.
    pub(crate) realm_admin: bool,
}

/// `sesame realm export --realm R [--output FILE]`.
pub(crate) fn export_realm(
    config: &Config,
    realm: &str,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let text = crate::realm_export::export(&mut conn, realm)?
        .with_context(|| format!("realm {realm} does not exist"))?;
    match output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("realm {realm} exported to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `sesame user list --realm R`: one line per user, tab-separated, with a header.
pub(crate) fn list_users(config: &Config, realm: &str) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    require_realm(&mut conn, realm)?;
    println!("id\tusername\temail\tenabled\tfirst name\tlast name\trequired actions");
    let page = 1000;
    let mut first = 0;
    loop {
        let users =
            sesame_store::search_users(&mut conn, realm, &UserSearch::default(), first, page)?;
        for user in &users {
            let actions = sesame_store::list_required_actions(&mut conn, &user.id)?;
            let actions: Vec<&str> = actions.iter().map(|action| action.alias()).collect();
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                user.id,
                user.username,
                user.email.as_deref().unwrap_or_default(),
                user.enabled,
                user.first_name.as_deref().unwrap_or_default(),
                user.last_name.as_deref().unwrap_or_default(),
                actions.join(",")
            );
        }
        if users.len() < usize::try_from(page).unwrap_or(usize::MAX) {
            return Ok(());
        }
        first += page;
    }
}

/// `sesame user disable --realm R --email E`: the user can no longer sign in, and their
/// browser sessions end (which revokes the tokens issued through them).
pub(crate) fn disable_user(config: &Config, realm: &str, email: &str) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    require_realm(&mut conn, realm)?;
    let now = Clock::default().now();
    let ended = sesame_store::in_transaction(&mut conn, |conn| {
        let Some(mut user) = sesame_store::find_user_by_login(conn, realm, email)? else {
            return Err(StoreError::NotFound);
        };
        user.enabled = false;
        sesame_store::update_user(conn, &user)?;
        let ended = sesame_store::end_all_user_sessions(conn, &user.id, now)?;
        let path = format!("users/{}", user.id);
        sesame_store::insert_event(
            conn,
            &event(realm, now, OperationType::Update, ResourceType::User, path),
        )?;
        Ok((user, ended))
    });
    let (user, ended) = match ended {
        Ok(done) => done,
        Err(StoreError::NotFound) => anyhow::bail!("realm {realm} has no user {email}"),
        Err(err) => return Err(err.into()),
    };
    println!(
        "user {} ({}) disabled; {ended} session(s) ended",
        user.username, user.id
    );
    Ok(())
}

/// `sesame client create --realm R --client-id ID …`: prints the generated secret once.
pub(crate) fn create_client(config: &Config, realm: &str, new: &NewClient) -> anyhow::Result<()> {
    let mut entry = toml::Table::new();
    entry.insert("clientId".into(), new.client_id.clone().into());
    if let Some(name) = &new.name {
        entry.insert("name".into(), name.clone().into());
    }
    entry.insert("publicClient".into(), new.public.into());
    entry.insert("redirectUris".into(), new.redirect_uris.clone().into());
    entry.insert(
        "postLogoutRedirectUris".into(),
        new.post_logout_redirect_uris.clone().into(),
    );
    if let Some(base_url) = &new.base_url {
        entry.insert("baseUrl".into(), base_url.clone().into());
    }
    entry.insert(
        "standardFlowEnabled".into(),
        (!new.redirect_uris.is_empty()).into(),
    );
    entry.insert("serviceAccountsEnabled".into(), new.service_account.into());
    entry.insert("realmAdmin".into(), new.realm_admin.into());
    let checked = realm_file::parse_client(entry).map_err(|err| anyhow::anyhow!("{err}"))?;
    let (client, secret) = realm_file::new_client(realm, &checked);

    let mut conn = open(config)?;
    require_realm(&mut conn, realm)?;
    let now = Clock::default().now();
    let path = format!("clients/{}", client.id);
    let created = sesame_store::in_transaction(&mut conn, |conn| {
        sesame_store::insert_client(conn, &client, now)?;
        sesame_store::insert_event(
            conn,
            &event(
                realm,
                now,
                OperationType::Create,
                ResourceType::Client,
                path,
            ),
        )
    });
    match created {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            anyhow::bail!("realm {realm} already has a client {}", client.client_id)
        }
        Err(err) => return Err(err.into()),
    }
    println!(
        "client {} created in realm {realm} (id {})",
        client.client_id, client.id
    );
    if let Some(secret) = secret {
        // The one place this secret is ever shown: it is stored as a digest only.
        println!("secret: {secret}");
    }
    Ok(())
}

/// `sesame client rotate-secret --realm R --client-id ID`: a new random secret, printed once;
/// the old one stops working at once.
pub(crate) fn rotate_client_secret(
    config: &Config,
    realm: &str,
    client_id: &str,
) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    require_realm(&mut conn, realm)?;
    let secret = sesame_oidc::random_token(32);
    let digest = sesame_oidc::sha256_hex(&secret);
    let now = Clock::default().now();
    let rotated = sesame_store::in_transaction(&mut conn, |conn| {
        let Some(mut client) = sesame_store::find_client(conn, realm, client_id)? else {
            return Ok(None);
        };
        if client.auth_method != ClientAuthMethod::ClientSecret {
            return Ok(Some(false));
        }
        client.secret_sha256 = Some(digest);
        sesame_store::update_client(conn, &client)?;
        let path = format!("clients/{}/client-secret", client.id);
        sesame_store::insert_event(
            conn,
            &event(
                realm,
                now,
                OperationType::Action,
                ResourceType::Client,
                path,
            ),
        )?;
        Ok(Some(true))
    })?;
    match rotated {
        None => anyhow::bail!("realm {realm} has no client {client_id}"),
        Some(false) => anyhow::bail!("client {client_id} does not authenticate with a secret"),
        Some(true) => {
            // The one place this secret is ever shown: it is stored as a digest only.
            println!("client {client_id}: new secret {secret}");
            Ok(())
        }
    }
}

/// A pooled connection to the configured database, migrated.
fn open(config: &Config) -> anyhow::Result<sesame_store::PooledDb> {
    let database = Database::connect(config.database_url.expose(), 2)?;
    database.migrate()?;
    Ok(database.get()?)
}

fn require_realm(conn: &mut DbConnection, realm: &str) -> anyhow::Result<()> {
    match sesame_store::find_realm(conn, realm)? {
        Some(_) => Ok(()),
        None => anyhow::bail!("realm {realm} does not exist"),
    }
}

fn event(
    realm: &str,
    now: i64,
    operation: OperationType,
    resource_type: ResourceType,
    path: String,
) -> AuditEvent {
    AuditEvent::admin(
        sesame_oidc::new_id(),
        realm,
        now,
        (operation, resource_type, path),
        (realm, CLI_CLIENT),
        CLI_ADDRESS,
    )
}
