use std::collections::HashMap;

use super::*;

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("sesame-config-{}", sesame_oidc::new_id()));
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, contents).unwrap();
        path
    }

    fn text(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn key_text() -> String {
    BASE64.encode(&[42; 32])
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

/// Loads from TOML text and variables. A key and a database URL are given unless `pairs`
/// empties them, so that nothing is written under the working directory.
fn load_text(mode: Mode, toml: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let key = key_text();
    let mut all = vec![
        ("SESAME_KEY_ENCRYPTION_KEY", key.as_str()),
        ("SESAME_DATABASE_URL", "postgres://sesame@db.example/sesame"),
    ];
    all.extend_from_slice(pairs);
    let raw = RawConfig::parse(toml, Path::new("sesame.toml"))?;
    raw.with_env(&env_of(&all))?.validate(mode)
}

fn check(mode: Mode, toml: &str, pairs: &[(&str, &str)], expected: &str) {
    match load_text(mode, toml, pairs) {
        Ok(config) => panic!("expected {expected:?}, got {config:?}"),
        Err(err) => assert_eq!(err.to_string(), expected, "{toml:?} {pairs:?}"),
    }
}

#[test]
fn dev_defaults() {
    let data = TempDir::new();
    let config = load(
        Mode::Dev,
        None,
        &env_of(&[("SESAME_DATA_DIR", &data.text())]),
    )
    .unwrap();

    assert_eq!(config.http_addr, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(
        config.issuer("smart-oa"),
        "http://127.0.0.1:8080/realms/smart-oa"
    );
    assert_eq!(config.data_dir, data.0);
    assert_eq!(
        config.database_url.expose(),
        data.0.join("sesame.db").display().to_string()
    );
    assert!(!config.database_url.is_postgres());
    assert_eq!(config.db_max_connections, 16);
    assert!(config.smtp_url.is_none());
    assert_eq!(config.tls, None);
    assert!(config.bootstrap_admin.is_none());
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(config.log_level, tracing::Level::INFO);
    assert_eq!(config.realms_dir, Path::new("config/realms"));
    assert_eq!(config.theme_dir, None);
}

#[test]
fn environment_overrides_file() {
    let dir = TempDir::new();
    let file = dir.file(
        "sesame.toml",
        r#"
            data_dir = "var/sesame"
            realms_dir = "realms"
            theme_dir = "themes-that-env-replaces"
            [http]
            host = "127.0.0.1"
            port = 9000
            public_url = "https://sso.example/base/"
            [database]
            url = "sqlite://file.db"
            max_connections = 4
            [log]
            level = "debug"
            [bootstrap_admin]
            client_id = "bootstrap"
        "#,
    );
    let env = env_of(&[
        ("SESAME_HTTP_PORT", "9100"),
        ("SESAME_HTTP_HOST", "::1"),
        (
            "SESAME_DATABASE_URL",
            "postgres://sesame:pw@db.example:5432/sesame",
        ),
        ("SESAME_DATABASE_MAX_CONNECTIONS", "32"),
        ("SESAME_LOG_FORMAT", "json"),
        ("SESAME_KEY_ENCRYPTION_KEY", &key_text()),
        ("SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET", "0123456789abcdef"),
        ("SESAME_SMTP_URL", "smtp://mail.example:25"),
        ("SESAME_THEME_DIR", &dir.text()),
        ("SESAME_REALMS_DIR", ""),
    ]);

    let config = load(Mode::Production, Some(&file), &env).unwrap();

    assert_eq!(config.http_addr, "[::1]:9100".parse().unwrap());
    assert_eq!(config.public_url.as_str(), "https://sso.example/base");
    assert_eq!(
        config.issuer("smart-oa"),
        "https://sso.example/base/realms/smart-oa"
    );
    assert_eq!(config.data_dir, Path::new("var/sesame"));
    assert!(config.database_url.is_postgres());
    assert_eq!(
        config.database_url.expose(),
        "postgres://sesame:pw@db.example:5432/sesame"
    );
    assert_eq!(config.db_max_connections, 32);
    assert_eq!(
        config.smtp_url.as_ref().map(Secret::expose),
        Some("smtp://mail.example:25")
    );
    assert_eq!(config.key_encryption_key, [42; 32]);
    let admin = config.bootstrap_admin.as_ref().unwrap();
    assert_eq!(admin.client_id, "bootstrap");
    assert!(admin.client_secret.ct_eq("0123456789abcdef"));
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.log_level, tracing::Level::DEBUG);
    // An empty variable counts as unset: the file's value stays.
    assert_eq!(config.realms_dir, Path::new("realms"));
    assert_eq!(config.theme_dir, Some(dir.0.clone()));
}

#[test]
fn tls_files_make_the_default_public_url_https() {
    let dir = TempDir::new();
    let cert = dir.file("cert.pem", "certificate");
    let key = dir.file("key.pem", "private key");
    let env = [
        ("SESAME_TLS_CERT", cert.to_str().unwrap()),
        ("SESAME_TLS_KEY", key.to_str().unwrap()),
        ("SESAME_HTTP_PORT", "8443"),
    ];

    let config = load_text(Mode::Dev, "", &env).unwrap();

    assert_eq!(config.tls, Some(TlsFiles { cert, key }));
    assert_eq!(config.public_url.as_str(), "https://127.0.0.1:8443/");
    assert_eq!(
        config.issuer("master"),
        "https://127.0.0.1:8443/realms/master"
    );
}

#[test]
fn keys_are_read_in_every_base64_form() {
    let dir = TempDir::new();
    let bytes: Vec<u8> = (200..232).collect();
    let expected = <[u8; 32]>::try_from(bytes.as_slice()).unwrap();
    for encoding in [&BASE64, &BASE64_NOPAD, &BASE64URL, &BASE64URL_NOPAD] {
        let text = encoding.encode(&bytes);
        let config = load_text(
            Mode::Production,
            "",
            &[("SESAME_KEY_ENCRYPTION_KEY", &text)],
        );
        assert_eq!(config.unwrap().key_encryption_key, expected, "{text}");
    }

    let file = dir.file("kek", &format!("{}\n", BASE64URL_NOPAD.encode(&bytes)));
    let toml = format!(
        "[keys]\nencryption_key_file = {:?}",
        file.display().to_string()
    );
    let config = load_text(
        Mode::Production,
        &toml,
        &[("SESAME_KEY_ENCRYPTION_KEY", "")],
    );
    assert_eq!(config.unwrap().key_encryption_key, expected);
}

#[test]
fn bad_values_name_the_setting() {
    use Mode::{Dev, Production};

    check(
        Dev,
        "",
        &[("SESAME_HTTP_PORT", "abc")],
        r#"http.port (SESAME_HTTP_PORT): expected a port number 1-65535, got "abc""#,
    );
    check(
        Dev,
        "[http]\nport = 70000",
        &[],
        r#"http.port (SESAME_HTTP_PORT): expected a port number 1-65535, got "70000""#,
    );
    check(
        Dev,
        "",
        &[("SESAME_HTTP_PORT", "0")],
        r#"http.port (SESAME_HTTP_PORT): expected a port number 1-65535, got "0""#,
    );
    check(
        Dev,
        "",
        &[("SESAME_HTTP_HOST", "localhost")],
        "http.host (SESAME_HTTP_HOST): expected an IP address such as 127.0.0.1, 0.0.0.0 or ::1 \
         (not a host name), got \"localhost\"",
    );
    check(
        Dev,
        "[http]\nhost = \"0.0.0.0\"",
        &[],
        "http.public_url (SESAME_PUBLIC_URL): required when http.host is 0.0.0.0 or ::, which \
         no client can reach; expected the URL clients use, such as https://sso.example",
    );
    let public_url_expected = "http.public_url (SESAME_PUBLIC_URL): expected an http:// or \
                               https:// URL without user, query or fragment, such as \
                               https://sso.example, got";
    for bad in [
        "sso.example",
        "ftp://sso.example",
        "https://sso.example/?tenant=1",
        "https://sso.example/#top",
        "https://admin@sso.example",
    ] {
        let expected = format!("{public_url_expected} {bad:?}");
        check(Dev, "", &[("SESAME_PUBLIC_URL", bad)], &expected);
    }
    check(
        Dev,
        "",
        &[("SESAME_DATABASE_MAX_CONNECTIONS", "many")],
        "database.max_connections (SESAME_DATABASE_MAX_CONNECTIONS): expected a number of \
         connections 1-512, got \"many\"",
    );
    check(
        Dev,
        "[database]\nmax_connections = 513",
        &[],
        "database.max_connections (SESAME_DATABASE_MAX_CONNECTIONS): expected a number of \
         connections 1-512, got \"513\"",
    );
    check(
        Dev,
        "",
        &[("SESAME_DATABASE_URL", "mysql://root@db.example/sesame")],
        "database.url (SESAME_DATABASE_URL): expected a postgres:// or postgresql:// URL, a \
         sqlite:// URL or a SQLite file path (value not shown)",
    );
    check(
        Production,
        "",
        &[("SESAME_DATABASE_URL", "")],
        "database.url (SESAME_DATABASE_URL): required by `sesame start`; expected a postgres:// \
         URL (or, explicitly, a SQLite file path)",
    );
    check(
        Dev,
        "",
        &[("SESAME_SMTP_URL", "http://mail.example")],
        "mail.smtp_url (SESAME_SMTP_URL): expected an smtp:// or smtps:// URL, such as \
         smtp://user:password@mail.example:587?tls=required (value not shown)",
    );
    check(
        Dev,
        "",
        &[("SESAME_TLS_CERT", "cert.pem")],
        "tls.key (SESAME_TLS_KEY) is required when tls.cert (SESAME_TLS_CERT) is set",
    );
    check(
        Dev,
        "[tls]\ncert = \"no/such/cert.pem\"\nkey = \"no/such/key.pem\"",
        &[],
        "tls.cert (SESAME_TLS_CERT): expected the path of an existing file, got \
         \"no/such/cert.pem\"",
    );
    check(
        Dev,
        "",
        &[("SESAME_KEY_ENCRYPTION_KEY", "c2hvcnQ=")],
        "keys.encryption_key (SESAME_KEY_ENCRYPTION_KEY): expected base64 of 32 random bytes, \
         such as the output of `openssl rand -base64 32` (value not shown)",
    );
    check(
        Dev,
        "[keys]\nencryption_key_file = \"kek\"",
        &[],
        "keys.encryption_key (SESAME_KEY_ENCRYPTION_KEY) and keys.encryption_key_file \
         (SESAME_KEY_ENCRYPTION_KEY_FILE) are both set; give only one",
    );
    check(
        Dev,
        "[keys]\nencryption_key_file = \"no/such/kek\"",
        &[("SESAME_KEY_ENCRYPTION_KEY", "")],
        "key-encryption key file no/such/kek: No such file or directory (os error 2)",
    );
    check(
        Production,
        "",
        &[("SESAME_KEY_ENCRYPTION_KEY", "")],
        "keys.encryption_key (SESAME_KEY_ENCRYPTION_KEY): required by `sesame start` (or \
         keys.encryption_key_file, SESAME_KEY_ENCRYPTION_KEY_FILE); expected base64 of 32 \
         random bytes, such as the output of `openssl rand -base64 32`",
    );
    check(
        Dev,
        "",
        &[("SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET", "0123456789abcdef")],
        "bootstrap_admin.client_id (SESAME_BOOTSTRAP_ADMIN_CLIENT_ID) is required when \
         bootstrap_admin.client_secret (SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET) is set",
    );
    check(
        Dev,
        "",
        &[
            ("SESAME_BOOTSTRAP_ADMIN_CLIENT_ID", "admin cli"),
            ("SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET", "0123456789abcdef"),
        ],
        "bootstrap_admin.client_id (SESAME_BOOTSTRAP_ADMIN_CLIENT_ID): expected a client id of \
         printable ASCII characters without spaces, got \"admin cli\"",
    );
    check(
        Dev,
        "",
        &[
            ("SESAME_BOOTSTRAP_ADMIN_CLIENT_ID", "admin-cli"),
            ("SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET", "too-short"),
        ],
        "bootstrap_admin.client_secret (SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET): expected a secret \
         of at least 16 characters (value not shown)",
    );
    check(
        Dev,
        "[log]\nformat = \"xml\"",
        &[],
        r#"log.format (SESAME_LOG_FORMAT): expected "text" or "json", got "xml""#,
    );
    check(
        Dev,
        "",
        &[("SESAME_LOG_LEVEL", "verbose")],
        "log.level (SESAME_LOG_LEVEL): expected one of error, warn, info, debug, trace, \
         got \"verbose\"",
    );
    check(
        Dev,
        "data_dir = \"\"",
        &[],
        r#"data_dir (SESAME_DATA_DIR): expected a path, got """#,
    );
    check(
        Dev,
        "",
        &[("SESAME_THEME_DIR", "no/such/themes")],
        "theme_dir (SESAME_THEME_DIR): expected the path of an existing directory, got \
         \"no/such/themes\"",
    );
    check(
        Dev,
        "[http]\nport = 8080\nhots = \"127.0.0.1\"",
        &[],
        "configuration file sesame.toml, line 3, column 1: unknown field `hots`, expected one of \
         `host`, `port`, `public_url`",
    );
    check(
        Dev,
        "[htp]",
        &[],
        "configuration file sesame.toml, line 1, column 2: unknown field `htp`, expected one of \
         `http`, `tls`, `database`, `mail`, `keys`, `bootstrap_admin`, `log`, `data_dir`, \
         `realms_dir`, `theme_dir`, `demo_portal`",
    );
}

#[test]
fn errors_never_echo_secrets() {
    let cases = [
        (
            "SESAME_DATABASE_URL",
            "mysql://root:db-secret-pw@db.example/sesame",
            "db-secret-pw",
        ),
        (
            "SESAME_SMTP_URL",
            "http://user:smtp-secret-pw@mail.example",
            "smtp-secret-pw",
        ),
        (
            "SESAME_KEY_ENCRYPTION_KEY",
            "a2V5LXNlY3JldC12YWx1ZQ==",
            "a2V5LXNlY3JldC12YWx1ZQ",
        ),
    ];
    for (variable, value, secret) in cases {
        let err = load_text(Mode::Dev, "", &[(variable, value)]).unwrap_err();
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }

    // An unquoted secret is a TOML syntax error: the message gives its place, not the line.
    let err = load_text(
        Mode::Dev,
        "[bootstrap_admin]\nclient_secret = s3cret-value",
        &[],
    );
    let message = err.unwrap_err().to_string();
    assert!(
        message.starts_with("configuration file sesame.toml, line 2, column "),
        "{message}"
    );
    assert!(!message.contains("s3cret-value"), "{message}");
}

#[test]
fn debug_hides_secrets() {
    let env = [
        (
            "SESAME_DATABASE_URL",
            "postgres://sesame:pg-secret-pw@db.example:5432/sesame?sslmode=require",
        ),
        (
            "SESAME_SMTP_URL",
            "smtp://mailer:smtp-secret-pw@mail.example:587",
        ),
        ("SESAME_BOOTSTRAP_ADMIN_CLIENT_ID", "admin-cli"),
        (
            "SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET",
            "admin-secret-0123456789",
        ),
    ];
    let config = load_text(Mode::Production, "", &env).unwrap();

    let debug = format!("{config:?}");

    for secret in [
        "pg-secret-pw",
        "smtp-secret-pw",
        "admin-secret-0123456789",
        &key_text(),
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(
        !debug.contains(&format!("{:?}", config.key_encryption_key)),
        "{debug}"
    );
    assert!(
        debug.contains(
            r#"DatabaseUrl("postgres://sesame:[redacted]@db.example:5432/sesame?[redacted]")"#
        ),
        "{debug}"
    );
    assert!(debug.contains("admin-cli"), "{debug}");
}

#[test]
fn dev_key_is_generated_private_and_reused() {
    let data = TempDir::new();
    let data_dir = data.0.join("nested");
    let env = env_of(&[("SESAME_DATA_DIR", data_dir.to_str().unwrap())]);

    let first = load(Mode::Dev, None, &env).unwrap();
    let key_path = data_dir.join("master.key");
    let mode = fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
    let second = load(Mode::Dev, None, &env).unwrap();

    assert_eq!(mode, 0o600);
    let directory_mode = fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        directory_mode, 0o700,
        "a new data directory is the owner's alone"
    );
    assert_eq!(first.key_encryption_key, second.key_encryption_key);
    assert_ne!(first.key_encryption_key, [0; 32]);
    let stored = fs::read_to_string(&key_path).unwrap();
    assert_eq!(decode_key(&stored), Some(first.key_encryption_key));

    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = load(Mode::Dev, None, &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key-encryption key file {}: other users may read it (mode 644); run `chmod 600` on it",
            key_path.display()
        )
    );
}

#[test]
fn production_never_generates_a_key() {
    let data = TempDir::new();
    let env = env_of(&[
        ("SESAME_DATA_DIR", &data.text()),
        (
            "SESAME_DATABASE_URL",
            &data.0.join("explicit.db").display().to_string(),
        ),
    ]);

    let err = load(Mode::Production, None, &env).unwrap_err();

    assert!(
        matches!(
            err,
            ConfigError::Missing {
                setting: ENCRYPTION_KEY,
                ..
            }
        ),
        "{err}"
    );
    assert!(!data.0.join("master.key").exists());
}

#[test]
fn missing_file_names_its_path() {
    let dir = TempDir::new();
    let path = dir.0.join("absent.toml");

    let err = load(Mode::Dev, Some(&path), &env_of(&[])).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "cannot read the configuration file {}: No such file or directory (os error 2)",
            path.display()
        )
    );
}

#[test]
fn example_file_loads_once_database_and_key_are_given() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sesame.toml");
    let env = env_of(&[
        ("SESAME_DATABASE_URL", "postgres://sesame@db.example/sesame"),
        ("SESAME_KEY_ENCRYPTION_KEY", &key_text()),
    ]);

    let config = load(Mode::Production, Some(&path), &env).unwrap();

    assert_eq!(config.http_addr, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(
        config.issuer("smart-oa"),
        "http://127.0.0.1:8080/realms/smart-oa"
    );
    assert_eq!(config.data_dir, Path::new("data"));
    assert_eq!(config.db_max_connections, 16);
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(config.log_level, tracing::Level::INFO);
    assert_eq!(config.realms_dir, Path::new("config/realms"));
}

#[test]
fn demo_portal_is_on_in_development_only_unless_told() {
    let port = |mode: Mode, toml: &str, pairs: &[(&str, &str)]| {
        load_text(mode, toml, pairs).unwrap().demo_portal_port
    };
    assert_eq!(port(Mode::Dev, "", &[]), Some(8081));
    assert_eq!(port(Mode::Production, "", &[]), None);
    assert_eq!(port(Mode::Dev, "", &[("SESAME_DEMO_PORTAL", "off")]), None);
    assert_eq!(
        port(
            Mode::Production,
            "[demo_portal]\nenabled = true\nport = 9000\n",
            &[]
        ),
        Some(9000)
    );
    assert_eq!(
        port(Mode::Dev, "", &[("SESAME_DEMO_PORTAL_PORT", "9001")]),
        Some(9001)
    );
    check(
        Mode::Dev,
        "",
        &[("SESAME_DEMO_PORTAL_PORT", "0")],
        "demo_portal.port (SESAME_DEMO_PORTAL_PORT): expected a port number 1-65535, got \"0\"",
    );
    check(
        Mode::Dev,
        "",
        &[("SESAME_DEMO_PORTAL", "maybe")],
        "demo_portal.enabled (SESAME_DEMO_PORTAL): expected on or off, got \"maybe\"",
    );
}
