//! The process configuration of `sesame`: where it listens, the URL clients reach it at, its
//! database, mail transport, TLS files, key-encryption key, bootstrap administrator and logging.
//!
//! Read in two stages. [`RawConfig`] mirrors the TOML file with every value optional and takes
//! the `SESAME_*` variables on top of it; [`load`] then validates it into [`Config`], with the
//! defaults applied and the cross-field checks done, so only checked values travel into the
//! program. Realm settings are not here: they come from realm files and the database.
//!
//! Relative paths are relative to the working directory, not to the configuration file, so that
//! a path means the same thing whether it comes from the file or from a variable.

use std::fmt;
use std::fs;
use std::io::{ErrorKind, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD};
use serde::Deserialize;
use url::Url;

use sesame_domain::Secret;

/// How strictly [`load`] treats missing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sesame start-dev`: every setting has a working default, and a key-encryption key is
    /// generated under the data directory on the first start.
    Dev,
    /// `sesame start`: the database URL and the key-encryption key must be given.
    Production,
}

/// The validated configuration of a Sésame node.
pub struct Config {
    /// The address the HTTP server listens on; `127.0.0.1:8080` by default.
    pub http_addr: SocketAddr,
    /// The URL browsers and clients reach Sésame at, without query or fragment and with trailing
    /// slashes removed from its path (a bare origin keeps the single `/` a URL cannot lose). By
    /// default `http://{http_addr}`, or `https://` when TLS is configured. Issuers derive from it.
    pub public_url: Url,
    /// Where the embedded database and the development key live; `data` by default.
    pub data_dir: PathBuf,
    /// The database to connect to; `{data_dir}/sesame.db` (SQLite) by default in development.
    pub database_url: DatabaseUrl,
    /// The size of the database connection pool; 16 by default, from 1 to 512.
    pub db_max_connections: u32,
    /// The SMTP transport URL (`smtp://` or `smtps://`, possibly with a password). Without it,
    /// mails go to `{data_dir}/outbox/`.
    pub smtp_url: Option<Secret>,
    /// The certificate and key to serve HTTPS with; plain HTTP (behind a TLS proxy) without.
    pub tls: Option<TlsFiles>,
    /// The key that encrypts secrets at rest (TOTP secrets, private signing keys).
    pub key_encryption_key: [u8; 32],
    /// A client of the `master` realm created at start-up with the right to administer every
    /// realm, so that the admin API can be used before anything else exists.
    pub bootstrap_admin: Option<BootstrapAdmin>,
    /// Human-readable lines or one JSON object per line; text by default.
    pub log_format: LogFormat,
    /// The most verbose level logged; INFO by default.
    pub log_level: tracing::Level,
    /// The realm files imported at start-up; `config/realms` by default.
    pub realms_dir: PathBuf,
    /// A directory whose files replace the built-in theme's files of the same path, if given.
    pub theme_dir: Option<PathBuf>,
    /// The port of the demo Smart OA portal started beside Sésame, or `None` when it is off.
    /// On (8081) by default with `start-dev`, off by default with `start`.
    pub demo_portal_port: Option<u16>,
}

/// A database URL: `postgres://` or `postgresql://`, `sqlite://` followed by a path, or a plain
/// SQLite file path. Its `Debug` hides a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

/// The PEM files of the HTTPS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// The credentials of the bootstrap administration client.
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// Its OAuth `client_id` in the `master` realm.
    pub client_id: String,
    /// Its client secret, at least 16 characters.
    pub client_secret: Secret,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A setting, named by its key in the file and by its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The dotted key in the TOML file, such as `http.port`.
    pub key: &'static str,
    /// The environment variable, such as `SESAME_HTTP_PORT`.
    pub variable: &'static str,
}

/// Why the configuration cannot be used. Messages name the setting and what is expected, and
/// never contain the value of a secret.
#[derive(Debug)]
pub enum ConfigError {
    /// The configuration file could not be read.
    FileUnreadable { path: PathBuf, reason: String },
    /// The configuration file is not valid TOML, has an unknown key or a value of the wrong type.
    FileMalformed {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    /// A setting has a value it cannot take. `got` is `None` for secrets.
    InvalidValue {
        setting: Setting,
        expected: &'static str,
        got: Option<String>,
    },
    /// A setting that this mode requires was not given.
    Missing {
        setting: Setting,
        reason: &'static str,
    },
    /// One of two settings that go together was given without the other.
    Incomplete { given: Setting, missing: Setting },
    /// Two settings that exclude each other were both given.
    Conflicting { first: Setting, second: Setting },
    /// A key-encryption key file could not be read or does not hold a key.
    KeyFileInvalid { path: PathBuf, reason: String },
    /// The generated development key file may be read by other users.
    KeyFileExposed { path: PathBuf, mode: u32 },
    /// A new development key file could not be written.
    KeyFileNotWritten { path: PathBuf, reason: String },
}

/// The configuration file as written, every value optional; `SESAME_*` variables are applied on
/// top of it by [`RawConfig::with_env`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[http]`.
    #[serde(default)]
    pub http: RawHttp,
    /// `[tls]`.
    #[serde(default)]
    pub tls: RawTls,
    /// `[database]`.
    #[serde(default)]
    pub database: RawDatabase,
    /// `[mail]`.
    #[serde(default)]
    pub mail: RawMail,
    /// `[keys]`.
    #[serde(default)]
    pub keys: RawKeys,
    /// `[bootstrap_admin]`.
    #[serde(default)]
    pub bootstrap_admin: RawBootstrapAdmin,
    /// `[log]`.
    #[serde(default)]
    pub log: RawLog,
    /// `data_dir`.
    pub data_dir: Option<String>,
    /// `realms_dir`.
    pub realms_dir: Option<String>,
    /// `theme_dir`.
    pub theme_dir: Option<String>,
    /// `[demo_portal]`.
    #[serde(default)]
    pub demo_portal: RawDemoPortal,
}

/// `[demo_portal]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDemoPortal {
    pub enabled: Option<bool>,
    pub port: Option<i64>,
}

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub public_url: Option<String>,
}

/// `[tls]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// `[database]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<Secret>,
    pub max_connections: Option<i64>,
}

/// `[mail]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMail {
    pub smtp_url: Option<Secret>,
}

/// `[keys]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    pub encryption_key: Option<Secret>,
    pub encryption_key_file: Option<String>,
}

/// `[bootstrap_admin]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBootstrapAdmin {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
}

/// `[log]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<String>,
    pub level: Option<String>,
}

/// Reads the configuration: the file if one is given, then the variables `env` returns, which
/// win over the file; then validates it for `mode`.
///
/// `env` is usually `&|name| std::env::var(name).ok()`; tests hand a map instead. An empty
/// variable counts as unset, as container tools often pass empty values for absent ones.
pub fn load(
    mode: Mode,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let raw = match file {
        Some(path) => RawConfig::read(path)?,
        None => RawConfig::default(),
    };
    raw.with_env(env)?.validate(mode)
}

const HTTP_HOST: Setting = setting("http.host", "SESAME_HTTP_HOST");
const HTTP_PORT: Setting = setting("http.port", "SESAME_HTTP_PORT");
const PUBLIC_URL: Setting = setting("http.public_url", "SESAME_PUBLIC_URL");
const TLS_CERT: Setting = setting("tls.cert", "SESAME_TLS_CERT");
const TLS_KEY: Setting = setting("tls.key", "SESAME_TLS_KEY");
const DATABASE_URL: Setting = setting("database.url", "SESAME_DATABASE_URL");
const DATABASE_MAX_CONNECTIONS: Setting = setting(
    "database.max_connections",
    "SESAME_DATABASE_MAX_CONNECTIONS",
);
const SMTP_URL: Setting = setting("mail.smtp_url", "SESAME_SMTP_URL");
const ENCRYPTION_KEY: Setting = setting("keys.encryption_key", "SESAME_KEY_ENCRYPTION_KEY");
const ENCRYPTION_KEY_FILE: Setting =
    setting("keys.encryption_key_file", "SESAME_KEY_ENCRYPTION_KEY_FILE");
const ADMIN_CLIENT_ID: Setting = setting(
    "bootstrap_admin.client_id",
    "SESAME_BOOTSTRAP_ADMIN_CLIENT_ID",
);
const ADMIN_CLIENT_SECRET: Setting = setting(
    "bootstrap_admin.client_secret",
    "SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET",
);
const LOG_FORMAT: Setting = setting("log.format", "SESAME_LOG_FORMAT");
const LOG_LEVEL: Setting = setting("log.level", "SESAME_LOG_LEVEL");
const DATA_DIR: Setting = setting("data_dir", "SESAME_DATA_DIR");
const REALMS_DIR: Setting = setting("realms_dir", "SESAME_REALMS_DIR");
const THEME_DIR: Setting = setting("theme_dir", "SESAME_THEME_DIR");
const DEMO_PORTAL: Setting = setting("demo_portal.enabled", "SESAME_DEMO_PORTAL");
const DEMO_PORTAL_PORT: Setting = setting("demo_portal.port", "SESAME_DEMO_PORTAL_PORT");

const PORT_EXPECTED: &str = "a port number 1-65535";
const MAX_CONNECTIONS_EXPECTED: &str = "a number of connections 1-512";
const KEY_EXPECTED: &str = "base64 of 32 random bytes, such as the output of \
                            `openssl rand -base64 32` (value not shown)";
const DEV_KEY_FILE: &str = "master.key";

impl Config {
    /// The issuer of a realm: `{public_url}/realms/{realm}`, as Keycloak's.
    pub fn issuer(&self, realm: &str) -> String {
        format!(
            "{}/realms/{realm}",
            self.public_url.as_str().trim_end_matches('/')
        )
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand for the key: every other secret redacts itself.
        f.debug_struct("Config")
            .field("http_addr", &self.http_addr)
            .field("public_url", &self.public_url.as_str())
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url)
            .field("db_max_connections", &self.db_max_connections)
            .field("smtp_url", &self.smtp_url)
            .field("tls", &self.tls)
            .field("key_encryption_key", &"[redacted]")
            .field("bootstrap_admin", &self.bootstrap_admin)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("realms_dir", &self.realms_dir)
            .field("theme_dir", &self.theme_dir)
            .field("demo_portal_port", &self.demo_portal_port)
            .finish()
    }
}

impl DatabaseUrl {
    /// The URL as given, to connect with. It may hold a password: never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it names a PostgreSQL database rather than a SQLite file.
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }

    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let candidate = Self(text.to_owned());
        let acceptable = if candidate.is_postgres() {
            Url::parse(text).is_ok()
        } else if let Some(path) = text.strip_prefix("sqlite://") {
            !path.is_empty()
        } else {
            // Anything else with a scheme is a database we do not speak.
            !text.contains("://")
        };
        acceptable.then_some(candidate)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_postgres() {
            return f.debug_tuple("DatabaseUrl").field(&self.0).finish();
        }
        let Ok(url) = Url::parse(&self.0) else {
            return f.write_str("DatabaseUrl([unparseable, redacted])");
        };
        // Rebuilt by hand: the password may sit in the user part or in a query parameter.
        let mut shown = format!("{}://", url.scheme());
        if !url.username().is_empty() {
            shown.push_str(url.username());
        }
        if url.password().is_some() {
            shown.push_str(":[redacted]");
        }
        if !url.username().is_empty() || url.password().is_some() {
            shown.push('@');
        }
        shown.push_str(url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            shown.push_str(&format!(":{port}"));
        }
        shown.push_str(url.path());
        if url.query().is_some() {
            shown.push_str("?[redacted]");
        }
        f.debug_tuple("DatabaseUrl").field(&shown).finish()
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.key, self.variable)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FileUnreadable { path, reason } => {
                write!(
                    f,
                    "cannot read the configuration file {}: {reason}",
                    path.display()
                )
            }
            Self::FileMalformed {
                path,
                line,
                column,
                reason,
            } => write!(
                f,
                "configuration file {}, line {line}, column {column}: {reason}",
                path.display()
            ),
            Self::InvalidValue {
                setting,
                expected,
                got: Some(got),
            } => {
                write!(f, "{setting}: expected {expected}, got {got:?}")
            }
            Self::InvalidValue {
                setting,
                expected,
                got: None,
            } => {
                write!(f, "{setting}: expected {expected}")
            }
            Self::Missing { setting, reason } => write!(f, "{setting}: {reason}"),
            Self::Incomplete { given, missing } => {
                write!(f, "{missing} is required when {given} is set")
            }
            Self::Conflicting { first, second } => {
                write!(f, "{first} and {second} are both set; give only one")
            }
            Self::KeyFileInvalid { path, reason } => {
                write!(f, "key-encryption key file {}: {reason}", path.display())
            }
            Self::KeyFileExposed { path, mode } => write!(
                f,
                "key-encryption key file {}: other users may read it (mode {mode:o}); \
                 run `chmod 600` on it",
                path.display()
            ),
            Self::KeyFileNotWritten { path, reason } => write!(
                f,
                "cannot write a new key-encryption key to {}: {reason}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl RawConfig {
    /// Reads and parses a configuration file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = fs::read_to_string(path).map_err(|err| ConfigError::FileUnreadable {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a configuration file; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|err| {
            // The position and toml's message, but not its excerpt of the file: the offending
            // line may be an unquoted secret.
            let (line, column) = err.span().map_or((0, 0), |span| position(text, span.start));
            ConfigError::FileMalformed {
                path: path.to_owned(),
                line,
                column,
                reason: err.message().trim().to_owned(),
            }
        })
    }

    /// Applies the `SESAME_*` variables that `env` returns over the file's values.
    pub fn with_env(mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |setting: Setting| env(setting.variable).filter(|value| !value.is_empty());
        let secret = |setting: Setting| read(setting).map(Secret::new);
        let integer = |setting: Setting, expected: &'static str| {
            read(setting)
                .map(|value| {
                    value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| ConfigError::InvalidValue {
                            setting,
                            expected,
                            got: Some(value),
                        })
                })
                .transpose()
        };

        self.http.host = read(HTTP_HOST).or(self.http.host);
        self.http.port = integer(HTTP_PORT, PORT_EXPECTED)?.or(self.http.port);
        self.http.public_url = read(PUBLIC_URL).or(self.http.public_url);
        self.tls.cert = read(TLS_CERT).or(self.tls.cert);
        self.tls.key = read(TLS_KEY).or(self.tls.key);
        self.database.url = secret(DATABASE_URL).or(self.database.url);
        self.database.max_connections =
            integer(DATABASE_MAX_CONNECTIONS, MAX_CONNECTIONS_EXPECTED)?
                .or(self.database.max_connections);
        self.mail.smtp_url = secret(SMTP_URL).or(self.mail.smtp_url);
        self.keys.encryption_key = secret(ENCRYPTION_KEY).or(self.keys.encryption_key);
        self.keys.encryption_key_file = read(ENCRYPTION_KEY_FILE).or(self.keys.encryption_key_file);
        self.bootstrap_admin.client_id = read(ADMIN_CLIENT_ID).or(self.bootstrap_admin.client_id);
        self.bootstrap_admin.client_secret =
            secret(ADMIN_CLIENT_SECRET).or(self.bootstrap_admin.client_secret);
        self.log.format = read(LOG_FORMAT).or(self.log.format);
        self.log.level = read(LOG_LEVEL).or(self.log.level);
        self.data_dir = read(DATA_DIR).or(self.data_dir);
        self.realms_dir = read(REALMS_DIR).or(self.realms_dir);
        self.theme_dir = read(THEME_DIR).or(self.theme_dir);
        self.demo_portal.enabled = match read(DEMO_PORTAL) {
            Some(value) => Some(parse_switch(DEMO_PORTAL, &value)?),
            None => self.demo_portal.enabled,
        };
        self.demo_portal.port = integer(DEMO_PORTAL_PORT, PORT_EXPECTED)?.or(self.demo_portal.port);
        Ok(self)
    }

    /// Applies the defaults and checks every value, for `mode`.
    pub fn validate(self, mode: Mode) -> Result<Config, ConfigError> {
        let tls = match both_or_neither((TLS_CERT, self.tls.cert), (TLS_KEY, self.tls.key))? {
            Some((cert, key)) => Some(TlsFiles {
                cert: existing_file(TLS_CERT, &cert)?,
                key: existing_file(TLS_KEY, &key)?,
            }),
            None => None,
        };
        let http_addr = SocketAddr::new(
            parse_host(self.http.host.as_deref().unwrap_or("127.0.0.1"))?,
            parse_port(self.http.port.unwrap_or(8080))?,
        );
        let public_url = match self.http.public_url {
            Some(text) => parse_public_url(&text)?,
            None if http_addr.ip().is_unspecified() => {
                return Err(ConfigError::Missing {
                    setting: PUBLIC_URL,
                    reason: "required when http.host is 0.0.0.0 or ::, which no client can \
                             reach; expected the URL clients use, such as https://sso.example",
                });
            }
            None => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                parse_public_url(&format!("{scheme}://{http_addr}"))?
            }
        };
        let data_dir = path_setting(DATA_DIR, self.data_dir.as_deref().unwrap_or("data"))?;

        let database_url = match self.database.url {
            Some(url) => DatabaseUrl::parse(url.expose()).ok_or(ConfigError::InvalidValue {
                setting: DATABASE_URL,
                expected: "a postgres:// or postgresql:// URL, a sqlite:// URL or a SQLite file \
                           path (value not shown)",
                got: None,
            })?,
            None => match mode {
                Mode::Dev => DatabaseUrl(data_dir.join("sesame.db").display().to_string()),
                Mode::Production => {
                    return Err(ConfigError::Missing {
                        setting: DATABASE_URL,
                        reason: "required by `sesame start`; expected a postgres:// URL (or, \
                                 explicitly, a SQLite file path)",
                    });
                }
            },
        };
        let db_max_connections = self
            .database
            .max_connections
            .map_or(Ok(16), parse_max_connections)?;
        let smtp_url = self.mail.smtp_url.map(parse_smtp_url).transpose()?;

        let key_encryption_key = match (self.keys.encryption_key, self.keys.encryption_key_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflicting {
                    first: ENCRYPTION_KEY,
                    second: ENCRYPTION_KEY_FILE,
                });
            }
            (Some(key), None) => decode_key(key.expose()).ok_or(ConfigError::InvalidValue {
                setting: ENCRYPTION_KEY,
                expected: KEY_EXPECTED,
                got: None,
            })?,
            (None, Some(path)) => read_key_file(&path_setting(ENCRYPTION_KEY_FILE, &path)?)?,
            (None, None) => match mode {
                Mode::Dev => insecure_dev_key(&data_dir)?,
                Mode::Production => {
                    return Err(ConfigError::Missing {
                        setting: ENCRYPTION_KEY,
                        reason: "required by `sesame start` (or keys.encryption_key_file, \
                                 SESAME_KEY_ENCRYPTION_KEY_FILE); expected base64 of 32 random \
                                 bytes, such as the output of `openssl rand -base64 32`",
                    });
                }
            },
        };

        let bootstrap_admin = match both_or_neither(
            (ADMIN_CLIENT_ID, self.bootstrap_admin.client_id),
            (ADMIN_CLIENT_SECRET, self.bootstrap_admin.client_secret),
        )? {
            Some((client_id, client_secret)) => {
                Some(parse_bootstrap_admin(client_id, client_secret)?)
            }
            None => None,
        };
        let log_format = match self.log.format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(invalid(LOG_FORMAT, "\"text\" or \"json\"", other)),
        };
        let log_level = self
            .log
            .level
            .as_deref()
            .map_or(Ok(tracing::Level::INFO), parse_level)?;
        let realms_dir = path_setting(
            REALMS_DIR,
            self.realms_dir.as_deref().unwrap_or("config/realms"),
        )?;
        let theme_dir = self
            .theme_dir
            .map(|dir| existing_dir(THEME_DIR, &dir))
            .transpose()?;
        let demo_portal_enabled = self.demo_portal.enabled.unwrap_or(mode == Mode::Dev);
        let demo_portal_port = match self.demo_portal.port {
            Some(port) => u16::try_from(port)
                .ok()
                .filter(|port| *port != 0)
                .ok_or_else(|| invalid(DEMO_PORTAL_PORT, PORT_EXPECTED, &port.to_string()))?,
            None => 8081,
        };

        Ok(Config {
            http_addr,
            public_url,
            data_dir,
            database_url,
            db_max_connections,
            smtp_url,
            tls,
            key_encryption_key,
            bootstrap_admin,
            log_format,
            log_level,
            realms_dir,
            theme_dir,
            demo_portal_port: demo_portal_enabled.then_some(demo_portal_port),
        })
    }
}

const fn setting(key: &'static str, variable: &'static str) -> Setting {
    Setting { key, variable }
}

fn invalid(setting: Setting, expected: &'static str, got: &str) -> ConfigError {
    ConfigError::InvalidValue {
        setting,
        expected,
        got: Some(got.to_owned()),
    }
}

/// One-based line and column of a byte offset, for error messages.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

fn both_or_neither<A, B>(
    first: (Setting, Option<A>),
    second: (Setting, Option<B>),
) -> Result<Option<(A, B)>, ConfigError> {
    match (first.1, second.1) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::Incomplete {
            given: first.0,
            missing: second.0,
        }),
        (None, Some(_)) => Err(ConfigError::Incomplete {
            given: second.0,
            missing: first.0,
        }),
    }
}

fn parse_host(text: &str) -> Result<IpAddr, ConfigError> {
    let trimmed = text.trim();
    let unbracketed = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'));
    unbracketed.unwrap_or(trimmed).parse().map_err(|_| {
        invalid(
            HTTP_HOST,
            "an IP address such as 127.0.0.1, 0.0.0.0 or ::1 (not a host name)",
            text,
        )
    })
}

fn parse_switch(setting: Setting, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(invalid(setting, "on or off", value)),
    }
}

fn parse_port(port: i64) -> Result<u16, ConfigError> {
    u16::try_from(port)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| invalid(HTTP_PORT, PORT_EXPECTED, &port.to_string()))
}

fn parse_max_connections(count: i64) -> Result<u32, ConfigError> {
    u32::try_from(count)
        .ok()
        .filter(|count| (1..=512).contains(count))
        .ok_or_else(|| {
            invalid(
                DATABASE_MAX_CONNECTIONS,
                MAX_CONNECTIONS_EXPECTED,
                &count.to_string(),
            )
        })
}

fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    const EXPECTED: &str = "an http:// or https:// URL without user, query or fragment, \
                            such as https://sso.example";
    let mut url = Url::parse(text.trim()).map_err(|_| invalid(PUBLIC_URL, EXPECTED, text))?;
    let acceptable = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !acceptable {
        return Err(invalid(PUBLIC_URL, EXPECTED, text));
    }
    // Issuers are built by appending `/realms/{realm}`; a trailing slash would double it.
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

fn parse_smtp_url(url: Secret) -> Result<Secret, ConfigError> {
    let acceptable = Url::parse(url.expose())
        .is_ok_and(|parsed| matches!(parsed.scheme(), "smtp" | "smtps") && parsed.host().is_some());
    if acceptable {
        Ok(url)
    } else {
        Err(ConfigError::InvalidValue {
            setting: SMTP_URL,
            expected: "an smtp:// or smtps:// URL, such as smtp://user:password@mail.example:587?tls=required \
                       (value not shown)",
            got: None,
        })
    }
}

fn parse_bootstrap_admin(
    client_id: String,
    client_secret: Secret,
) -> Result<BootstrapAdmin, ConfigError> {
    let client_id_acceptable = !client_id.is_empty()
        && client_id
            .chars()
            .all(|character| character.is_ascii_graphic());
    if !client_id_acceptable {
        return Err(invalid(
            ADMIN_CLIENT_ID,
            "a client id of printable ASCII characters without spaces",
            &client_id,
        ));
    }
    if client_secret.expose().chars().count() < 16 {
        return Err(ConfigError::InvalidValue {
            setting: ADMIN_CLIENT_SECRET,
            expected: "a secret of at least 16 characters (value not shown)",
            got: None,
        });
    }
    Ok(BootstrapAdmin {
        client_id,
        client_secret,
    })
}

fn parse_level(text: &str) -> Result<tracing::Level, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "error" => Ok(tracing::Level::ERROR),
        "warn" => Ok(tracing::Level::WARN),
        "info" => Ok(tracing::Level::INFO),
        "debug" => Ok(tracing::Level::DEBUG),
        "trace" => Ok(tracing::Level::TRACE),
        _ => Err(invalid(
            LOG_LEVEL,
            "one of error, warn, info, debug, trace",
            text,
        )),
    }
}

fn path_setting(setting: Setting, text: &str) -> Result<PathBuf, ConfigError> {
    if text.trim().is_empty() {
        return Err(invalid(setting, "a path", text));
    }
    Ok(PathBuf::from(text))
}

fn existing_file(setting: Setting, text: &str) -> Result<PathBuf, ConfigError> {
    let path = path_setting(setting, text)?;
    if !path.is_file() {
        return Err(invalid(setting, "the path of an existing file", text));
    }
    Ok(path)
}

fn existing_dir(setting: Setting, text: &str) -> Result<PathBuf, ConfigError> {
    let path = path_setting(setting, text)?;
    if !path.is_dir() {
        return Err(invalid(setting, "the path of an existing directory", text));
    }
    Ok(path)
}

/// Decodes a key written in base64, standard or URL-safe, with or without padding.
fn decode_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim().as_bytes();
    [&BASE64, &BASE64_NOPAD, &BASE64URL, &BASE64URL_NOPAD]
        .into_iter()
        .find_map(|encoding| encoding.decode(text).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}

fn read_key_file(path: &Path) -> Result<[u8; 32], ConfigError> {
    let text = fs::read_to_string(path).map_err(|err| ConfigError::KeyFileInvalid {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    decode_key(&text).ok_or_else(|| ConfigError::KeyFileInvalid {
        path: path.to_owned(),
        reason: "expected base64 of 32 bytes".to_owned(),
    })
}

/// The development key: `{data_dir}/master.key`, generated on the first start and reused after.
///
/// Insecure by design: the key sits beside the data it protects, so anyone who copies the data
/// directory can read the encrypted secrets. Production mode never calls this.
fn insecure_dev_key(data_dir: &Path) -> Result<[u8; 32], ConfigError> {
    let path = data_dir.join(DEV_KEY_FILE);
    match fs::metadata(&path) {
        Ok(metadata) => {
            // A key others can read protects nothing; refusing beats silently fixing the mode,
            // since the key may already have leaked.
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(ConfigError::KeyFileExposed { path, mode });
            }
            read_key_file(&path)
        }
        Err(err) if err.kind() == ErrorKind::NotFound => write_new_key(&path),
        Err(err) => Err(ConfigError::KeyFileInvalid {
            path,
            reason: err.to_string(),
        }),
    }
}

fn write_new_key(path: &Path) -> Result<[u8; 32], ConfigError> {
    let not_written = |reason: String| ConfigError::KeyFileNotWritten {
        path: path.to_owned(),
        reason,
    };
    let mut key = [0_u8; 32];
    aws_lc_rs::rand::fill(&mut key)
        .map_err(|_| not_written("the system random source failed".to_owned()))?;
    if let Some(parent) = path.parent() {
        // A new data directory is the owner's alone: it holds this key, the SQLite database
        // and the generated client secrets.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|err| not_written(err.to_string()))?;
    }
    // `create_new` fails rather than overwrite a key another process wrote meanwhile, and the
    // mode is set at creation so that the key is never readable by others, even briefly.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| not_written(err.to_string()))?;
    file.write_all(format!("{}\n", BASE64.encode(&key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| not_written(err.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests;
