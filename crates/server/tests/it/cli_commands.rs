//! The administration commands of the `sesame` binary, run as an operator runs them against a
//! configured database (`SESAME_DATABASE_URL`, so production rules): realm export and import,
//! client create and rotate-secret, user list and disable.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::path::PathBuf;
use std::process::Command;

use data_encoding::BASE64;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use sesame_domain::{Client, EventKind, OperationType, ResourceType};
use sesame_store::{Database, EventQuery};

use crate::harness::{Backend, unique_temp_dir};

on_both_backends!(
    export_then_import_into_an_empty_database_gives_the_same_realm,
    users_are_listed_and_disabled,
);

const REALM_FILE: &str = r#"realm = "cli-test"
displayName = "CLI test"
otpRequired = true
requiredActionOrder = ["UPDATE_PASSWORD", "CONFIGURE_TOTP"]
passwordPolicy = "length(10) and notUsername"
accessTokenAudience = ["cli-api"]

[smtpServer]
from = "no-reply@cli.test"

[[clients]]
clientId = "portal"
secret = "portal-secret-0123456789"
redirectUris = ["https://portal.test/cb"]
postLogoutRedirectUris = ["https://portal.test/"]
baseUrl = "https://portal.test/"

[[clients]]
clientId = "spa"
publicClient = true
redirectUris = ["http://127.0.0.1/callback"]

[[clients]]
clientId = "signed"
clientAuthenticatorType = "client-jwt"
jwks = '{"keys": []}'
standardFlowEnabled = false
serviceAccountsEnabled = true

[[clients]]
clientId = "generated"
standardFlowEnabled = false
serviceAccountsEnabled = true
"#;

async fn export_then_import_into_an_empty_database_gives_the_same_realm(backend: Backend) {
    let source = Installation::new(backend);
    let target = Installation::new(backend);
    let file = source.dir.join("source.toml");
    std::fs::write(&file, REALM_FILE).unwrap();
    let out = source.run_ok(&["realm", "import", file.to_str().unwrap()]);
    assert!(out.contains("realm cli-test created"), "{out}");

    // A client made at the command line; its secret is shown once and stored as a digest.
    let out = source.run_ok(&[
        "client",
        "create",
        "--realm",
        "cli-test",
        "--client-id",
        "reporting",
        "--service-account",
        "--realm-admin",
    ]);
    let secret = after(&out, "secret: ");
    let reporting = source.client("reporting").await;
    assert_eq!(
        reporting.secret_sha256.as_deref(),
        Some(sesame_oidc::sha256_hex(&secret).as_str())
    );
    assert!(reporting.realm_admin && reporting.service_accounts_enabled);
    assert!(!reporting.standard_flow_enabled);
    let refused = source.run_err(&[
        "client",
        "create",
        "--realm",
        "cli-test",
        "--client-id",
        "reporting",
        "--service-account",
    ]);
    assert!(
        refused.contains("already has a client reporting"),
        "{refused}"
    );
    let refused = source.run_err(&[
        "client",
        "create",
        "--realm",
        "cli-test",
        "--client-id",
        "bad",
        "--redirect-uri",
        "https://bad.test/#fragment",
    ]);
    assert!(refused.contains("redirectUris"), "{refused}");
    let refused = source.run_err(&[
        "client",
        "create",
        "--realm",
        "nowhere",
        "--client-id",
        "x",
        "--service-account",
    ]);
    assert!(
        refused.contains("realm nowhere does not exist"),
        "{refused}"
    );

    // A rotated secret replaces the old one at once.
    let out = source.run_ok(&[
        "client",
        "rotate-secret",
        "--realm",
        "cli-test",
        "--client-id",
        "portal",
    ]);
    let rotated = after(&out, "new secret ");
    let portal = source.client("portal").await;
    assert_eq!(
        portal.secret_sha256.as_deref(),
        Some(sesame_oidc::sha256_hex(&rotated).as_str())
    );
    let rotate = |client_id: &str| {
        source.run_err(&[
            "client",
            "rotate-secret",
            "--realm",
            "cli-test",
            "--client-id",
            client_id,
        ])
    };
    assert!(rotate("spa").contains("does not authenticate with a secret"));
    assert!(rotate("nobody").contains("has no client nobody"));

    // Export, import into an empty database, export again: the same file.
    let exported = source.dir.join("exported.toml");
    source.run_ok(&[
        "realm",
        "export",
        "--realm",
        "cli-test",
        "--output",
        exported.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(!text.contains("portal-secret-0123456789"), "{text}");
    assert!(
        !text.contains(&rotated) && !text.contains(&secret),
        "{text}"
    );
    assert_eq!(
        source.run_ok(&["realm", "export", "--realm", "cli-test"]),
        text
    );
    let out = target.run_ok(&["realm", "import", exported.to_str().unwrap()]);
    assert!(out.contains("realm cli-test created"), "{out}");
    let again = target.run_ok(&["realm", "export", "--realm", "cli-test"]);
    assert_eq!(again, text);

    // The stored realms are the same: settings, and every client but for its internal id.
    let (source_settings, source_clients) = source.realm().await;
    let (target_settings, target_clients) = target.realm().await;
    assert_eq!(source_settings, target_settings);
    assert_eq!(source_clients.len(), 5);
    assert_eq!(without_ids(source_clients), without_ids(target_clients));

    let refused = source.run_err(&["realm", "export", "--realm", "nowhere"]);
    assert!(
        refused.contains("realm nowhere does not exist"),
        "{refused}"
    );
}

async fn users_are_listed_and_disabled(backend: Backend) {
    let installation = Installation::new(backend);
    let file = installation.dir.join("source.toml");
    std::fs::write(&file, REALM_FILE).unwrap();
    installation.run_ok(&["realm", "import", file.to_str().unwrap()]);
    for email in ["anne@cli.test", "bruno@cli.test"] {
        installation.run_ok(&["user", "invite", "--realm", "cli-test", "--email", email]);
    }

    let listed = installation.run_ok(&["user", "list", "--realm", "cli-test"]);
    let lines: Vec<Vec<&str>> = listed
        .lines()
        .map(|line| line.split('\t').collect())
        .collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert_eq!(lines[0][..4], ["id", "username", "email", "enabled"]);
    assert_eq!(lines[1][1..4], ["anne@cli.test", "anne@cli.test", "true"]);
    assert_eq!(lines[2][1..4], ["bruno@cli.test", "bruno@cli.test", "true"]);
    let anne_id = lines[1][0].to_owned();

    let out = installation.run_ok(&[
        "user",
        "disable",
        "--realm",
        "cli-test",
        "--email",
        "Anne@CLI.test",
    ]);
    assert!(out.contains("disabled"), "{out}");
    let listed = installation.run_ok(&["user", "list", "--realm", "cli-test"]);
    let enabled: Vec<&str> = listed
        .lines()
        .skip(1)
        .map(|line| line.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(enabled, ["false", "true"], "{listed}");

    let refused = installation.run_err(&[
        "user",
        "disable",
        "--realm",
        "cli-test",
        "--email",
        "nobody@cli.test",
    ]);
    assert!(refused.contains("has no user nobody@cli.test"), "{refused}");
    let refused = installation.run_err(&["user", "list", "--realm", "nowhere"]);
    assert!(
        refused.contains("realm nowhere does not exist"),
        "{refused}"
    );

    // The change is in the audit trail, made at the command line.
    let database = installation.database();
    let query = EventQuery {
        admin: true,
        ..EventQuery::default()
    };
    let events = database
        .run(move |conn| sesame_store::list_events(conn, "cli-test", &query, 0, 10))
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].client_id.as_deref(), Some("sesame-cli"));
    assert_eq!(
        events[0].kind,
        EventKind::Admin {
            operation: OperationType::Update,
            resource_type: ResourceType::User,
            resource_path: format!("users/{anne_id}"),
            auth_realm: "cli-test".to_owned(),
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A database and a data directory for the commands, removed when dropped.
struct Installation {
    dir: PathBuf,
    database_url: String,
    key: String,
    postgres: Option<(String, String)>,
}

impl Installation {
    fn new(backend: Backend) -> Self {
        let dir = unique_temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let (database_url, postgres) = match backend {
            Backend::Sqlite => (dir.join("sesame.db").display().to_string(), None),
            Backend::Postgres => {
                let admin_url = std::env::var("SESAME_TEST_POSTGRES_URL")
                    .ok()
                    .filter(|url| !url.is_empty())
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
                let name = format!(
                    "sesame_cli_{}",
                    dir.file_name().unwrap().to_str().unwrap().replace('-', "_")
                );
                let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&format!("/{name}"));
                (url.to_string(), Some((admin_url, name)))
            }
        };
        let key = BASE64.encode(&sesame_oidc::random_bytes(32));
        Self {
            dir,
            database_url,
            key,
            postgres,
        }
    }

    /// Runs `sesame ARGS` against this installation: its exit status, stdout and stderr.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_sesame"))
            .args(args)
            .env("SESAME_DATABASE_URL", &self.database_url)
            .env("SESAME_KEY_ENCRYPTION_KEY", &self.key)
            .env("SESAME_DATA_DIR", self.dir.join("data"))
            .env("SESAME_REALMS_DIR", self.dir.join("realms"))
            .env("SESAME_LOG_LEVEL", "warn")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The standard output of a command that must succeed.
    fn run_ok(&self, args: &[&str]) -> String {
        let (success, stdout, stderr) = self.run(args);
        assert!(success, "sesame {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }

    /// The standard error of a command that must fail.
    fn run_err(&self, args: &[&str]) -> String {
        let (success, stdout, stderr) = self.run(args);
        assert!(!success, "sesame {args:?} succeeded:\n{stdout}");
        stderr
    }

    fn database(&self) -> Database {
        Database::connect(&self.database_url, 2).unwrap()
    }

    async fn client(&self, client_id: &str) -> Client {
        let client_id = client_id.to_owned();
        self.database()
            .run(move |conn| sesame_store::find_client(conn, "cli-test", &client_id))
            .await
            .unwrap()
            .unwrap()
    }

    async fn realm(&self) -> (sesame_domain::RealmSettings, Vec<Client>) {
        self.database()
            .run(|conn| {
                let settings = sesame_store::find_realm(conn, "cli-test")?;
                Ok((
                    settings.unwrap(),
                    sesame_store::list_clients(conn, "cli-test")?,
                ))
            })
            .await
            .unwrap()
    }
}

impl Drop for Installation {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut conn) = diesel::PgConnection::establish(admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The rest of the line of `text` that follows `prefix`.
fn after(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} in {text}"))
        + prefix.len();
    text[start..].lines().next().unwrap().trim().to_owned()
}

fn without_ids(clients: Vec<Client>) -> Vec<Client> {
    let mut clients: Vec<Client> = clients
        .into_iter()
        .map(|client| Client {
            id: String::new(),
            ..client
        })
        .collect();
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    clients
}
