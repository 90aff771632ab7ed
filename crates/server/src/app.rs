//! Wiring: the database, the realms from configuration, the bootstrap administrator, the keys,
//! the routers of every area, the security headers, and the HTTP(S) server.

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{MatchedPath, Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sesame_actions::{Actions, PasswordHasher};
use sesame_domain::{Client, ClientAuthMethod, RealmSettings};
use sesame_login_ui::Ui;
use sesame_mail::Mailer;
use sesame_oidc::keys::{KeyEncryptionKey, KeyRing};
use sesame_oidc::{Clock, Provider};
use sesame_store::Database;

use crate::config::{BootstrapAdmin, Config, TlsFiles};
use crate::realm_file::{self, ImportOutcome};

/// A built Sésame: its shared state and its routes, ready to serve.
pub struct Sesame {
    /// The protocol side, shared by every area (tests move its clock).
    pub provider: Arc<Provider>,
    /// The login side.
    pub actions: Arc<Actions>,
}

impl Sesame {
    /// Connects to the database, runs the migrations, imports the realm files that create new
    /// realms, and ensures the master realm and its bootstrap administrator.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let database =
            Database::connect(config.database_url.expose(), config.db_max_connections)
                .context("could not open the database (database.url, SESAME_DATABASE_URL)")?;
        let applied = database.migrate().context("database migrations failed")?;
        tracing::info!(
            applied,
            postgres = config.database_url.is_postgres(),
            "database ready"
        );

        let clock = Clock::default();
        let now = clock.now();
        let ui = Ui::load(config.theme_dir.as_deref())
            .context("the theme could not be loaded (theme_dir)")?;
        import_realm_files(&database, config, &ui.themes(), now)?;
        ensure_master_realm(&database, config.bootstrap_admin.as_ref(), now)?;

        let key_encryption_key = KeyEncryptionKey::from_bytes(&config.key_encryption_key)
            .context("keys.encryption_key (SESAME_KEY_ENCRYPTION_KEY)")?;
        let provider = Arc::new(Provider {
            db: database,
            keys: KeyRing::new(key_encryption_key),
            ui,
            public_url: config.public_url.as_str().trim_end_matches('/').to_owned(),
            clock,
            metrics: sesame_oidc::metrics::Metrics::default(),
        });
        let mailer = match &config.smtp_url {
            Some(url) => Mailer::smtp(url.expose()).context("mail.smtp_url (SESAME_SMTP_URL)")?,
            None => {
                let outbox = config.data_dir.join("outbox");
                tracing::warn!(dir = %outbox.display(), "no SMTP server configured: mail is written to the outbox");
                Mailer::dangerous_outbox(outbox)
            }
        };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let actions = Arc::new(Actions {
            provider: provider.clone(),
            passwords: PasswordHasher::new(cores),
            mailer,
        });
        Ok(Self { provider, actions })
    }

    /// Every route of Sésame, with request spans and security headers.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(sesame_oidc::router(self.provider.clone()))
            .merge(sesame_actions::router(self.actions.clone()))
            .merge(sesame_admin::router(self.actions.clone()))
            .merge(
                Router::new()
                    .route("/resources/{*path}", get(get_resource))
                    .route("/health/live", get(get_live))
                    .route("/health/ready", get(get_ready))
                    .route("/metrics", get(get_metrics))
                    .with_state(self.provider.clone()),
            )
            .fallback({
                let provider = self.provider.clone();
                move |headers: axum::http::HeaderMap| not_found(provider, headers)
            })
            .layer(middleware::from_fn(security_headers))
            .layer(middleware::from_fn_with_state(
                self.provider.clone(),
                request_span,
            ))
    }
}

/// Serves `router` on an already bound listener, over TLS when `tls` is given, until
/// `shutdown` completes; requests in flight get ten seconds to finish.
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    tls: Option<&TlsFiles>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let handle = axum_server::Handle::new();
    let on_shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        on_shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(files) => {
            let config = rustls_config(files)?;
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(service)
                .await?;
        }
        None => {
            axum_server::from_tcp(listener)
                .handle(handle)
                .serve(service)
                .await?
        }
    }
    Ok(())
}

/// A TLS configuration from PEM files, with the aws-lc-rs provider named explicitly (the
/// process may link another provider, and then rustls would not pick one by itself).
pub(crate) fn rustls_config(
    files: &TlsFiles,
) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certificates = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| {
            format!(
                "tls.cert (SESAME_TLS_CERT): cannot read {}",
                files.cert.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "tls.key (SESAME_TLS_KEY): cannot read {}",
            files.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .context("tls.cert and tls.key do not form a usable certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}

/// Imports each `*.toml` of the realms directory whose realm does not exist yet.
fn import_realm_files(
    database: &Database,
    config: &Config,
    themes: &[String],
    now: i64,
) -> anyhow::Result<()> {
    let (dir, data_dir) = (config.realms_dir.as_path(), config.data_dir.as_path());
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(dir = %dir.display(), "no realms directory: no realm file imported");
            return Ok(());
        }
        Err(err) => {
            return Err(err).with_context(|| format!("realms_dir: cannot read {}", dir.display()));
        }
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    let mut conn = database.get()?;
    for path in files {
        // Its errors name the file already.
        let file = realm_file::read(&path)?;
        check_theme(&file, themes).with_context(|| format!("realm file {}", path.display()))?;
        let outcome = realm_file::import(&mut conn, &file, false, now)
            .with_context(|| format!("importing realm file {}", path.display()))?;
        match outcome {
            ImportOutcome::Created { generated_secrets } => {
                tracing::info!(realm = %file.realm, file = %path.display(), "realm created from file");
                write_generated_secrets(data_dir, &file.realm, &generated_secrets)?;
            }
            ImportOutcome::Skipped => {
                tracing::debug!(realm = %file.realm, "realm exists: its file was not applied");
            }
            ImportOutcome::Updated { generated_secrets } => {
                write_generated_secrets(data_dir, &file.realm, &generated_secrets)?;
            }
        }
    }
    Ok(())
}

/// Writes each generated client secret to `{data_dir}/secrets/{realm}.{client}.secret`, readable
/// by the owner only, and logs where: the secret itself never reaches a log.
pub(crate) fn write_generated_secrets(
    data_dir: &Path,
    realm: &str,
    secrets: &[(String, String)],
) -> anyhow::Result<()> {
    if secrets.is_empty() {
        return Ok(());
    }
    let dir = data_dir.join("secrets");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (client_id, secret) in secrets {
        let path = dir.join(format!("{realm}.{client_id}.secret"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        std::io::Write::write_all(&mut file, secret.as_bytes())?;
        tracing::info!(realm, client_id, file = %path.display(), "client secret generated");
    }
    Ok(())
}

/// Creates the `master` realm when missing, and makes the bootstrap client (if configured) a
/// confidential service account that administers every realm, with the configured secret.
fn ensure_master_realm(
    database: &Database,
    admin: Option<&BootstrapAdmin>,
    now: i64,
) -> anyhow::Result<()> {
    let mut conn = database.get()?;
    if sesame_store::find_realm(&mut conn, "master")?.is_none() {
        let settings = RealmSettings {
            display_name: "Sésame".to_owned(),
            ..RealmSettings::default()
        };
        match sesame_store::insert_realm(&mut conn, "master", &settings, now) {
            Ok(()) | Err(sesame_store::StoreError::Conflict(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    let Some(admin) = admin else { return Ok(()) };
    let digest = sesame_oidc::sha256_hex(admin.client_secret.expose());
    match sesame_store::find_client(&mut conn, "master", &admin.client_id)? {
        Some(mut client) => {
            client.secret_sha256 = Some(digest);
            client.auth_method = ClientAuthMethod::ClientSecret;
            client.service_accounts_enabled = true;
            client.realm_admin = true;
            client.enabled = true;
            sesame_store::update_client(&mut conn, &client)?;
        }
        None => {
            let client = Client {
                id: sesame_oidc::new_id(),
                realm: "master".to_owned(),
                client_id: admin.client_id.clone(),
                name: "Bootstrap administrator".to_owned(),
                enabled: true,
                auth_method: ClientAuthMethod::ClientSecret,
                secret_sha256: Some(digest),
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                base_url: None,
                standard_flow_enabled: false,
                service_accounts_enabled: true,
                pkce_required: false,
                jwks: None,
                realm_admin: true,
            };
            sesame_store::insert_client(&mut conn, &client, now)?;
        }
    }
    tracing::info!(client_id = %admin.client_id, "bootstrap administrator ready in the master realm");
    Ok(())
}

/// Serves a static file of a theme. Pages link `/resources/{hash}/{theme}/{path}`, whose bytes
/// never change, so browsers and proxies may keep them for a year without asking again; the
/// older `/resources/{path}` (base theme only, for templates written before the hashed URLs)
/// is cached for an hour.
async fn get_resource(
    State(provider): State<Arc<Provider>>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    let (found, cache_control) = match provider.ui.hashed_resource(&path) {
        Some(found) => (Some(found), "public, max-age=31536000, immutable"),
        None => (provider.ui.resource(&path), "public, max-age=3600"),
    };
    match found {
        Some((bytes, content_type)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(cache_control),
                ),
            ],
            bytes.to_vec(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn get_live() -> Response {
    axum::Json(serde_json::json!({ "status": "UP" })).into_response()
}

async fn get_ready(State(provider): State<Arc<Provider>>) -> Response {
    if provider.db.is_ready().await {
        axum::Json(serde_json::json!({ "status": "UP" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "DOWN" })),
        )
            .into_response()
    }
}

/// `GET /metrics`: Prometheus' text format.
async fn get_metrics(State(provider): State<Arc<Provider>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        provider.metrics.render(),
    )
        .into_response()
}

/// An unknown path: a page for a browser, in the language it asks for; JSON for a program.
async fn not_found(provider: Arc<Provider>, headers: axum::http::HeaderMap) -> Response {
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        let settings = RealmSettings::default();
        let locale = provider.page_locale(&settings, &headers, None);
        return sesame_oidc::pages::error_page(
            &provider,
            StatusCode::NOT_FOUND,
            &locale,
            "pageNotFoundMessage",
        );
    }
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": "not_found" })),
    )
        .into_response()
}

/// Headers every answer carries: no framing, no sniffing, no referrer, and a content security
/// policy that allows only our own scripts and styles.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action *; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// One span per request with the method and the matched route template (never the raw URI:
/// queries carry codes and state), one line when it ends, and its count and latency in the
/// metrics.
async fn request_span(
    State(provider): State<Arc<Provider>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, route = %route);
    let started = std::time::Instant::now();
    let response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    let elapsed = started.elapsed();
    provider
        .metrics
        .observe_request(method.as_str(), &route, response.status().as_u16(), elapsed);
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms,
            "request done"
        )
    });
    response
}

/// A realm may only pick a theme this server has.
fn check_theme(file: &realm_file::RealmFile, themes: &[String]) -> anyhow::Result<()> {
    let theme = &file.settings.login_theme;
    anyhow::ensure!(
        themes.contains(theme),
        "loginTheme {theme:?} is not a theme of this server (themes: {})",
        themes.join(", ")
    );
    Ok(())
}

impl Sesame {
    /// The names of all realms.
    pub async fn realm_names(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.provider.db.run(sesame_store::list_realm_names).await?)
    }
}

/// `sesame realm import FILE [--overwrite]`.
pub(crate) fn import_realm_file(
    config: &Config,
    path: &Path,
    overwrite: bool,
) -> anyhow::Result<()> {
    let database = Database::connect(config.database_url.expose(), 2)?;
    database.migrate()?;
    // Its errors name the file already.
    let file = realm_file::read(path)?;
    let themes = Ui::load(config.theme_dir.as_deref())
        .context("the theme could not be loaded (theme_dir)")?
        .themes();
    check_theme(&file, &themes).with_context(|| format!("realm file {}", path.display()))?;
    let now = Clock::default().now();
    let mut conn = database.get()?;
    let outcome = realm_file::import(&mut conn, &file, overwrite, now)?;
    match outcome {
        ImportOutcome::Created { generated_secrets } => {
            write_generated_secrets(&config.data_dir, &file.realm, &generated_secrets)?;
            println!("realm {} created", file.realm);
        }
        ImportOutcome::Updated { generated_secrets } => {
            write_generated_secrets(&config.data_dir, &file.realm, &generated_secrets)?;
            println!("realm {} updated", file.realm);
        }
        ImportOutcome::Skipped => {
            println!(
                "realm {} exists: nothing changed (use --overwrite to apply the file)",
                file.realm
            );
        }
    }
    Ok(())
}

/// `sesame keys rotate --realm R`.
pub(crate) async fn rotate_keys(
    config: &Config,
    realm: &str,
    algorithm: Option<&str>,
) -> anyhow::Result<()> {
    let database = Database::connect(config.database_url.expose(), 2)?;
    database.migrate()?;
    let name = realm.to_owned();
    let settings = database
        .run(move |conn| sesame_store::find_realm(conn, &name))
        .await?
        .with_context(|| format!("realm {realm} does not exist"))?;
    let algorithm = match algorithm {
        Some(alg) => sesame_domain::SigningAlgorithm::parse(alg)
            .with_context(|| format!("unknown algorithm {alg}: use RS256 or ES256"))?,
        None => settings.default_signature_algorithm,
    };
    let keys = KeyRing::new(KeyEncryptionKey::from_bytes(&config.key_encryption_key)?);
    let now = Clock::default().now();
    // Old keys stay published while tokens they signed may still be presented: access and ID
    // tokens live accessTokenLifespan; a minute of margin covers clock skew.
    let old_keys_expire_at = now + settings.access_token_lifespan + 60;
    let kid = keys
        .rotate(&database, realm, algorithm, now, old_keys_expire_at)
        .await?;
    println!(
        "realm {realm}: new signing key {kid} ({})",
        algorithm.as_str()
    );
    Ok(())
}

/// `sesame user invite --realm R --email E`: the user (created when missing, with the address
/// as username) gets the initialisation mail for the realm's required actions.
pub(crate) async fn invite_user(config: &Config, realm: &str, email: &str) -> anyhow::Result<()> {
    let sesame = Sesame::build(config).await?;
    let user = sesame.invite(realm, email).await?;
    match user.outbox_file {
        Some(file) => println!("invitation for {email} written to {}", file.display()),
        None => println!("invitation sent to {email}"),
    }
    Ok(())
}

impl Sesame {
    /// Creates the user when missing and sends the initialisation mail.
    pub async fn invite(
        &self,
        realm: &str,
        email: &str,
    ) -> anyhow::Result<sesame_actions::SentActionsMail> {
        self.invite_for_client(realm, email, None).await
    }

    /// Like [`Sesame::invite`], with the client whose home page ends the journey.
    pub async fn invite_for_client(
        &self,
        realm: &str,
        email: &str,
        client_id: Option<&str>,
    ) -> anyhow::Result<sesame_actions::SentActionsMail> {
        let email = email.trim().to_lowercase();
        anyhow::ensure!(
            email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')),
            "{email} is not an e-mail address"
        );
        let provider = &self.provider;
        let now = provider.clock.now();
        let (realm_name, address) = (realm.to_owned(), email.clone());
        let user_id = provider
            .db
            .run(move |conn| {
                require_realm(conn, &realm_name)?;
                if let Some(user) = sesame_store::find_user_by_login(conn, &realm_name, &address)? {
                    return Ok(user.id);
                }
                let user = sesame_domain::User {
                    id: sesame_oidc::new_id(),
                    realm: realm_name.clone(),
                    username: address.clone(),
                    email: Some(address.clone()),
                    email_verified: false,
                    first_name: None,
                    last_name: None,
                    enabled: true,
                    locale: None,
                    created_at: now,
                };
                sesame_store::insert_user(conn, &user)?;
                Ok(user.id)
            })
            .await
            .with_context(|| format!("realm {realm}"))?;
        let request = sesame_actions::ActionsMailRequest {
            kind: sesame_actions::ActionsMailKind::ExecuteActions,
            realm: realm.to_owned(),
            user_id,
            actions: Vec::new(),
            lifespan: None,
            client_id: client_id.map(str::to_owned),
            redirect_uri: None,
        };
        Ok(sesame_actions::send_actions_mail(&self.actions, request).await?)
    }
}

fn require_realm(
    conn: &mut sesame_store::DbConnection,
    realm: &str,
) -> Result<(), sesame_store::StoreError> {
    match sesame_store::find_realm(conn, realm)? {
        Some(_) => Ok(()),
        None => Err(sesame_store::StoreError::NotFound),
    }
}
