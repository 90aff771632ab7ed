use sesame_domain::{MailSettings, RequiredAction};
use sesame_store::{Database, PooledDb};

use super::*;

/// A migrated SQLite database in a file of its own, removed when dropped.
struct TempDatabase {
    path: PathBuf,
    database: Database,
}

impl TempDatabase {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("sesame-realm-file-{}.db", new_id()));
        let database = Database::connect(path.to_str().unwrap(), 2).unwrap();
        database.migrate().unwrap();
        Self { path, database }
    }

    fn conn(&self) -> PooledDb {
        self.database.get().unwrap()
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

const PORTAL: &str = r#"
realm = "portal-test"
displayName = "Portal test"

[[clients]]
clientId = "portal"
redirectUris = ["https://portal.example/callback"]
"#;

fn check(text: &str, expected: &str) {
    match parse(text) {
        Ok(file) => panic!("expected {expected:?}, got {file:?}"),
        Err(err) => assert_eq!(err.to_string(), expected, "{text}"),
    }
}

/// A one-client realm file whose client has the given extra lines.
fn with_client(lines: &str) -> String {
    format!("realm = \"r\"\n[[clients]]\nclientId = \"app\"\n{lines}\n")
}

#[test]
fn smart_oa_file_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/realms/smart-oa.toml");

    let file = read(&path).unwrap();

    assert_eq!(file.realm, "smart-oa");
    let settings = &file.settings;
    assert_eq!(settings.display_name, "Smart OA");
    assert_eq!(settings.default_locale, "fr");
    assert_eq!(settings.supported_locales, ["fr", "en"]);
    assert_eq!(settings.login_theme, "smart-oa");
    assert_eq!(settings.access_token_lifespan, 300);
    assert_eq!(settings.access_code_lifespan, 60);
    assert_eq!(settings.access_code_lifespan_user_action, 300);
    assert_eq!(settings.access_code_lifespan_login, 1800);
    assert_eq!(settings.action_token_generated_by_admin_lifespan, 604_800);
    assert_eq!(settings.otp_policy().digits, 6);
    assert_eq!(settings.otp_policy().period, 30);
    assert_eq!(settings.otp_policy().look_around, 1);
    assert!(settings.otp_required);
    assert_eq!(
        settings.password_policy,
        "length(12) and maxLength(128) and notUsername and notEmail"
    );
    assert_eq!(
        settings.required_action_order,
        [
            RequiredAction::ConfigureTotp,
            RequiredAction::UpdatePassword,
            RequiredAction::UpdateProfile
        ]
    );
    assert_eq!(
        settings.smtp_server,
        MailSettings {
            from: "no-reply@smart-oa.example".to_owned(),
            from_display_name: "Smart OA".to_owned(),
            reply_to: String::new(),
        }
    );

    let [portal, consumer] = file.clients.as_slice() else {
        panic!("expected two clients, got {:?}", file.clients);
    };
    assert_eq!(portal.client_id, "smart-oa-portal");
    assert_eq!(portal.name, "Portail Smart OA");
    assert_eq!(portal.auth_method, ClientAuthMethod::ClientSecret);
    assert!(portal.secret.is_none());
    assert!(portal.pkce_required && portal.standard_flow_enabled);
    assert!(!portal.service_accounts_enabled && !portal.realm_admin);
    assert_eq!(
        portal.redirect_uris,
        [
            "http://127.0.0.1:8081/callback",
            "http://localhost:8081/callback"
        ]
    );
    assert_eq!(
        portal.post_logout_redirect_uris,
        ["http://127.0.0.1:8081/", "http://localhost:8081/"]
    );
    assert_eq!(portal.base_url.as_deref(), Some("http://127.0.0.1:8081/"));
    assert_eq!(consumer.client_id, "smart-oa-api-consumer-example");
    assert_eq!(consumer.auth_method, ClientAuthMethod::ClientSecret);
    assert!(consumer.service_accounts_enabled && !consumer.standard_flow_enabled);
    assert!(consumer.redirect_uris.is_empty());
}

#[test]
fn defaults_of_a_minimal_file() {
    let file = parse(PORTAL).unwrap();

    let client = &file.clients[0];
    assert_eq!(file.settings.display_name, "Portal test");
    assert_eq!(
        file.settings.access_token_lifespan,
        RealmSettings::default().access_token_lifespan
    );
    assert_eq!(client.name, "portal");
    assert!(client.enabled && client.standard_flow_enabled && client.pkce_required);
    assert!(!client.service_accounts_enabled && !client.realm_admin);
    assert_eq!(client.auth_method, ClientAuthMethod::ClientSecret);

    let public = parse(&with_client(
        "publicClient = true\nredirectUris = [\"app://cb\"]",
    ))
    .unwrap();
    assert_eq!(public.clients[0].auth_method, ClientAuthMethod::None);

    let jwks = r#"{\"keys\": []}"#;
    let jwt = format!(
        "clientAuthenticatorType = \"client-jwt\"\njwks = \"{jwks}\"\nstandardFlowEnabled = false"
    );
    let jwt = parse(&with_client(&jwt)).unwrap();
    assert_eq!(jwt.clients[0].auth_method, ClientAuthMethod::PrivateKeyJwt);
    assert_eq!(jwt.clients[0].jwks.as_deref(), Some(r#"{"keys": []}"#));
}

#[test]
fn bad_files_name_the_field() {
    check(
        "displayName = \"x\"",
        "line 1, column 1: missing field `realm`",
    );
    check(
        "realm = \"Smart OA\"",
        r#"realm: expected 1 to 64 characters of a-z, 0-9, '-' and '_', got "Smart OA""#,
    );
    check(
        &format!("realm = \"{}\"", "a".repeat(65)),
        &format!(
            "realm: expected 1 to 64 characters of a-z, 0-9, '-' and '_', got \"{}\"",
            "a".repeat(65)
        ),
    );
    check(
        "realm = \"r\"\naccessTokenLifspan = 60",
        "unknown realm setting `accessTokenLifspan`",
    );
    check(
        "realm = \"r\"\n[smtpServer]\nform = \"a@b.example\"",
        "unknown realm setting `smtpServer.form`",
    );
    check(
        "realm = \"r\"\notpPolicyDigits = 7",
        "realm settings: otpPolicyDigits must be 6 or 8",
    );
    check(
        "realm = \"r\"\naccessTokenLifespan = 0",
        "realm settings: accessTokenLifespan must be between 1 second and 10 years",
    );
    check(
        "realm = \"r\"\nrealm = \"s\"",
        "line 2, column 1: duplicate key",
    );
    check(
        &with_client("redirectUris = [\"/callback\"]"),
        r#"client "app": redirectUris: "/callback": expected an absolute URI"#,
    );
    check(
        &with_client("redirectUris = [\"https://a.example/cb#x\"]"),
        "client \"app\": redirectUris: \"https://a.example/cb#x\": a redirect URI cannot \
         have a fragment (RFC 6749 §3.1.2)",
    );
    check(
        &with_client("redirectUris = [\"https://a.example/*\"]"),
        "client \"app\": redirectUris: \"https://a.example/*\": wildcards are not \
         supported, redirect URIs match exactly",
    );
    check(
        &with_client(
            "redirectUris = [\"https://a.example/cb\"]\npostLogoutRedirectUris = [\"a.example\"]",
        ),
        r#"client "app": postLogoutRedirectUris: "a.example": expected an absolute URI"#,
    );
    check(
        &with_client(""),
        r#"client "app": redirectUris: the standard flow needs at least one redirect URI"#,
    );
    check(
        &with_client("standardFlowEnabled = false\nbaseUrl = \"portal\""),
        r#"client "app": baseUrl: expected an absolute http(s) URL without fragment"#,
    );
    check(
        &with_client(
            "standardFlowEnabled = false\npublicClient = true\nsecret = \"0123456789abcdef\"",
        ),
        r#"client "app": secret: only a client-secret client has a secret"#,
    );
    check(
        &with_client("standardFlowEnabled = false\nsecret = \"short\""),
        r#"client "app": secret: expected at least 16 characters"#,
    );
    check(
        &with_client(
            "standardFlowEnabled = false\npublicClient = true\n\
             clientAuthenticatorType = \"client-secret\"",
        ),
        r#"client "app": clientAuthenticatorType: a public client does not authenticate"#,
    );
    check(
        &with_client(
            "standardFlowEnabled = false\nclientAuthenticatorType = \"client-secret-jwt\"",
        ),
        r#"client "app": clientAuthenticatorType: expected "client-secret" or "client-jwt""#,
    );
    check(
        &with_client("standardFlowEnabled = false\nclientAuthenticatorType = \"client-jwt\""),
        r#"client "app": jwks: a client-jwt client needs its public keys"#,
    );
    check(
        &with_client(
            "standardFlowEnabled = false\nclientAuthenticatorType = \"client-jwt\"\njwks = \"{}\"",
        ),
        r#"client "app": jwks: expected a JWKS JSON document with a "keys" array"#,
    );
    check(
        &with_client("standardFlowEnabled = false\njwks = '{\"keys\": []}'"),
        r#"client "app": jwks: only a client-jwt client has keys"#,
    );
    check(
        &with_client(
            "standardFlowEnabled = false\npublicClient = true\nserviceAccountsEnabled = true",
        ),
        r#"client "app": serviceAccountsEnabled: a public client cannot have a service account"#,
    );
    check(
        &with_client("standardFlowEnabled = false\nrealmAdmin = true"),
        r#"client "app": realmAdmin: needs serviceAccountsEnabled, as its service account acts"#,
    );
    check(
        "realm = \"r\"\n[[clients]]\nclientId = \"\"",
        "client #1: clientId: expected printable ASCII characters without spaces",
    );
    check(
        "realm = \"r\"\n[[clients]]\nclientId = \"my app\"",
        r#"client "my app": clientId: expected printable ASCII characters without spaces"#,
    );
    check(
        &format!(
            "{}\n[[clients]]\nclientId = \"app\"\nstandardFlowEnabled = false",
            with_client("standardFlowEnabled = false")
        ),
        r#"client "app": clientId: listed more than once"#,
    );
    check(
        &with_client("redirectUri = [\"https://a.example/cb\"]"),
        "line 4, column 1: unknown field `redirectUri`, expected one of `clientId`, `name`, \
         `enabled`, `publicClient`, `clientAuthenticatorType`, `secret`, `secretSha256`, \
         `redirectUris`, `postLogoutRedirectUris`, `baseUrl`, `standardFlowEnabled`, \
         `serviceAccountsEnabled`, `pkceRequired`, `jwks`, `realmAdmin`",
    );
    let digest = "a".repeat(64);
    let redirect = "redirectUris = [\"https://a.example/cb\"]";
    check(
        &with_client(&format!(
            "{redirect}\nsecretSha256 = \"{}\"",
            "A".repeat(64)
        )),
        r#"client "app": secretSha256: expected 64 lower-case hexadecimal digits"#,
    );
    check(
        &with_client(&format!(
            "{redirect}\nsecret = \"0123456789abcdefgh\"\nsecretSha256 = \"{digest}\""
        )),
        r#"client "app": secretSha256: give either secret or secretSha256"#,
    );
    check(
        &with_client(&format!(
            "{redirect}\npublicClient = true\nsecretSha256 = \"{digest}\""
        )),
        r#"client "app": secretSha256: only a client-secret client has a secret"#,
    );
}

#[test]
fn read_errors_carry_the_path() {
    let path = std::env::temp_dir().join(format!("sesame-realm-file-{}.toml", new_id()));
    let err = read(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read the realm file {}: ", path.display())),
        "{err}"
    );

    std::fs::write(&path, "realm = \"Bad Name\"").unwrap();
    let err = read(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "realm file {}: realm: expected 1 to 64 characters of a-z, 0-9, '-' and '_', got \
             \"Bad Name\"",
            path.display()
        )
    );
}

#[test]
fn debug_never_shows_secrets() {
    let file = parse(&with_client(
        "standardFlowEnabled = false\nsecret = \"file-secret-0123456789\"",
    ))
    .unwrap();
    let outcome = ImportOutcome::Created {
        generated_secrets: vec![("app".to_owned(), "generated-secret-value".to_owned())],
    };

    assert!(!format!("{file:?}").contains("file-secret-0123456789"));
    assert_eq!(
        format!("{outcome:?}"),
        r#"Created { generated_secrets_for: ["app"] }"#
    );
}

#[test]
fn import_creates_once_then_skips() {
    let database = TempDatabase::new();
    let mut conn = database.conn();
    let file = parse(PORTAL).unwrap();

    let first = import(&mut conn, &file, false, 1_000).unwrap();
    let ImportOutcome::Created { generated_secrets } = first else {
        panic!("expected Created, got {first:?}");
    };
    let [(client_id, secret)] = generated_secrets.as_slice() else {
        panic!("expected one generated secret, got {generated_secrets:?}");
    };
    assert_eq!(client_id, "portal");
    assert_eq!(secret.len(), 43);
    let stored = sesame_store::find_client(&mut conn, "portal-test", "portal")
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret_sha256, Some(sha256_hex(secret)));
    assert_eq!(stored.redirect_uris, ["https://portal.example/callback"]);
    assert!(stored.pkce_required);

    // A second start must not undo what an administrator changed since.
    let mut changed = file;
    changed.settings.display_name = "Changed in the file".to_owned();
    let second = import(&mut conn, &changed, false, 2_000).unwrap();
    assert!(matches!(second, ImportOutcome::Skipped), "{second:?}");
    let settings = sesame_store::find_realm(&mut conn, "portal-test")
        .unwrap()
        .unwrap();
    assert_eq!(settings.display_name, "Portal test");
    let unchanged = sesame_store::find_client(&mut conn, "portal-test", "portal")
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, stored);
}

#[test]
fn overwrite_updates_settings_and_keeps_client_ids_and_secrets() {
    let database = TempDatabase::new();
    let mut conn = database.conn();
    let file = parse(PORTAL).unwrap();
    import(&mut conn, &file, false, 1_000).unwrap();
    let before = sesame_store::find_client(&mut conn, "portal-test", "portal")
        .unwrap()
        .unwrap();

    let changed = parse(&format!(
        "{PORTAL}name = \"Renamed\"\n\n\
         [[clients]]\nclientId = \"api\"\nstandardFlowEnabled = false\n\
         serviceAccountsEnabled = true\nsecret = \"api-secret-0123456789\"\n"
    ))
    .unwrap();
    let mut changed = changed;
    changed.settings.display_name = "Portal test, renamed".to_owned();
    let outcome = import(&mut conn, &changed, true, 2_000).unwrap();

    let ImportOutcome::Updated { generated_secrets } = &outcome else {
        panic!("expected Updated, got {outcome:?}");
    };
    assert!(generated_secrets.is_empty(), "{outcome:?}");
    let settings = sesame_store::find_realm(&mut conn, "portal-test")
        .unwrap()
        .unwrap();
    assert_eq!(settings.display_name, "Portal test, renamed");
    let after = sesame_store::find_client(&mut conn, "portal-test", "portal")
        .unwrap()
        .unwrap();
    assert_eq!(after.id, before.id);
    assert_eq!(after.secret_sha256, before.secret_sha256);
    assert_eq!(after.name, "Renamed");
    let api = sesame_store::find_client(&mut conn, "portal-test", "api")
        .unwrap()
        .unwrap();
    assert_eq!(api.secret_sha256, Some(sha256_hex("api-secret-0123456789")));
    assert!(api.service_accounts_enabled);
}

#[test]
fn overwrite_of_a_missing_realm_creates_it() {
    let database = TempDatabase::new();
    let mut conn = database.conn();
    let file = parse(&with_client(
        "publicClient = true\nredirectUris = [\"http://127.0.0.1/cb\"]",
    ))
    .unwrap();

    let outcome = import(&mut conn, &file, true, 1_000).unwrap();

    let ImportOutcome::Created { generated_secrets } = &outcome else {
        panic!("expected Created, got {outcome:?}");
    };
    assert!(generated_secrets.is_empty(), "{outcome:?}");
    let client = sesame_store::find_client(&mut conn, "r", "app")
        .unwrap()
        .unwrap();
    assert!(client.is_public());
    assert_eq!(client.secret_sha256, None);
    assert_eq!(client.id.len(), 36);
}

#[test]
fn password_policy_with_a_rule_not_understood_names_it() {
    check(
        "realm = \"r\"\npasswordPolicy = \"length(12) and bogus\"",
        "realm settings: passwordPolicy: unknown password policy rule \"bogus\" \
         (supported: length, maxLength, notUsername, notEmail, digits)",
    );
    check(
        "realm = \"r\"\npasswordPolicy = \"length(abc)\"",
        "realm settings: passwordPolicy: password policy rule \"length(abc)\" takes a whole \
         number, as in length(12)",
    );
}
