//! What `start-dev` adds for a newcomer: the demo Smart OA portal beside Sésame, and a demo
//! producer with an initialisation mail, so that one command shows the whole journey.
//!
//! This is the one place that prints an invitation link, by design: in development the link
//! is what the newcomer clicks. Nothing here runs with `sesame start`.

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use sesame_demo_portal::{ClientSecret, RunningPortal};
use sesame_store::DbConnection;

use crate::Sesame;
use crate::config::Config;

/// The realm and client the demo portal uses, from `config/realms/smart-oa.toml`.
const REALM: &str = "smart-oa";
const PORTAL_CLIENT: &str = "smart-oa-portal";
/// The demo producer's address.
pub(crate) const DEMO_PRODUCER: &str = "producteur.demo@smart-oa.example";

/// The running demo and what to tell the newcomer.
pub(crate) struct Demo {
    /// The portal, stopped when dropped.
    pub(crate) portal: RunningPortal,
    /// The link of the demo producer's initialisation mail, when one was sent now.
    pub(crate) invitation: Option<Invitation>,
}

/// A fresh initialisation mail.
pub(crate) struct Invitation {
    /// The link in the mail.
    pub(crate) link: String,
    /// Where the mail was written.
    pub(crate) mail_file: Option<std::path::PathBuf>,
}

/// Binds the portal's port first, so that a port in use stops start-up with a clear message.
pub(crate) fn bind_portal(config: &Config, port: u16) -> anyhow::Result<std::net::TcpListener> {
    let address = SocketAddr::new(config.http_addr.ip(), port);
    std::net::TcpListener::bind(address).with_context(|| {
        format!(
            "cannot listen on {address} for the demo portal: is the port already in use? Choose \
             another with SESAME_DEMO_PORTAL_PORT, or turn the portal off with SESAME_DEMO_PORTAL=off"
        )
    })
}

/// Starts the portal on `listener` against the running Sésame, and invites the demo producer
/// unless their account is already set up.
pub(crate) async fn start(
    sesame: &Sesame,
    config: &Config,
    listener: std::net::TcpListener,
) -> anyhow::Result<Demo> {
    let address = listener.local_addr()?;
    let portal_url = url::Url::parse(&format!("http://{address}/"))?;
    let secret = portal_secret(sesame, config, &portal_url).await?;

    let issuer = url::Url::parse(&config.issuer(REALM))?;
    let mut portal_config = sesame_demo_portal::Config::new(
        issuer,
        PORTAL_CLIENT,
        ClientSecret::new(secret),
        portal_url,
    );
    if let Some(tls) = &config.tls {
        portal_config.extra_root_certificate_pem = Some(
            std::fs::read_to_string(&tls.cert)
                .with_context(|| format!("reading {}", tls.cert.display()))?,
        );
    }
    let portal = sesame_demo_portal::spawn_on(portal_config, listener)
        .await
        .map_err(|err| anyhow::anyhow!("the demo portal did not start: {err}"))?;
    let invitation = invite_demo_producer(sesame).await?;
    Ok(Demo { portal, invitation })
}

/// The portal client's secret: the one generated at the realm's first import, or a new one
/// when that file is gone. The client also learns the portal's address when it runs on
/// another port than the realm file says.
async fn portal_secret(
    sesame: &Sesame,
    config: &Config,
    portal_url: &url::Url,
) -> anyhow::Result<String> {
    let file = config
        .data_dir
        .join("secrets")
        .join(format!("{REALM}.{PORTAL_CLIENT}.secret"));
    let known = std::fs::read_to_string(&file)
        .ok()
        .map(|secret| secret.trim().to_owned())
        .filter(|secret| !secret.is_empty());
    let secret = known
        .clone()
        .unwrap_or_else(|| sesame_oidc::random_token(32));
    let base = portal_url.as_str().to_owned();
    let digest = sesame_oidc::sha256_hex(&secret);
    let update_secret = known.is_none();
    let updated = sesame
        .provider
        .db
        .run(move |conn| register_portal(conn, &base, update_secret.then_some(digest)))
        .await?;
    anyhow::ensure!(
        updated,
        "the realm {REALM} has no client {PORTAL_CLIENT}: the demo portal cannot run"
    );
    if known.is_none() {
        write_secret(&file, &secret)?;
    }
    Ok(secret)
}

fn register_portal(
    conn: &mut DbConnection,
    base: &str,
    digest: Option<String>,
) -> Result<bool, sesame_store::StoreError> {
    let Some(mut client) = sesame_store::find_client(conn, REALM, PORTAL_CLIENT)? else {
        return Ok(false);
    };
    let callback = format!("{base}callback");
    let mut changed = digest.is_some();
    if let Some(digest) = digest {
        client.secret_sha256 = Some(digest);
    }
    if !client.redirect_uris.contains(&callback) {
        client.redirect_uris.push(callback);
        changed = true;
    }
    if !client
        .post_logout_redirect_uris
        .iter()
        .any(|uri| uri == base)
    {
        client.post_logout_redirect_uris.push(base.to_owned());
        changed = true;
    }
    if changed {
        client.base_url = Some(base.to_owned());
        sesame_store::update_client(conn, &client)?;
    }
    Ok(true)
}

fn write_secret(file: &Path, secret: &str) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut handle = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    std::io::Write::write_all(&mut handle, secret.as_bytes())?;
    Ok(())
}

/// Creates the demo producer if needed and sends the initialisation mail while their account
/// still has steps to do; a producer who finished the journey gets none.
async fn invite_demo_producer(sesame: &Sesame) -> anyhow::Result<Option<Invitation>> {
    let pending = sesame
        .provider
        .db
        .run(|conn| {
            let Some(user) = sesame_store::find_user_by_login(conn, REALM, DEMO_PRODUCER)? else {
                return Ok(true);
            };
            Ok(!sesame_store::list_required_actions(conn, &user.id)?.is_empty())
        })
        .await?;
    if !pending {
        return Ok(None);
    }
    let sent = sesame
        .invite_for_client(REALM, DEMO_PRODUCER, Some(PORTAL_CLIENT))
        .await?;
    Ok(Some(Invitation {
        link: sent.link,
        mail_file: sent.outbox_file,
    }))
}
