use std::collections::HashMap;

use super::*;

const ISSUER: &str = "http://127.0.0.1:8080/realms/smart-oa";

fn load(variables: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let variables: HashMap<String, String> = variables
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    Config::from_env(|name| variables.get(name).cloned())
}

fn refusal(variables: &[(&str, &str)]) -> String {
    load(variables)
        .expect_err("configuration refused")
        .to_string()
}

#[test]
fn defaults_fill_everything_but_the_issuer_and_secret() {
    let config = load(&[
        ("PORTAL_ISSUER", ISSUER),
        ("PORTAL_CLIENT_SECRET", "s3cret"),
    ])
    .expect("configuration accepted");
    assert_eq!(config.issuer.as_str(), ISSUER);
    assert_eq!(config.client_id, "smart-oa-portal");
    assert_eq!(config.client_secret.secret(), "s3cret");
    assert_eq!(config.portal_url.as_str(), "http://127.0.0.1:8081/");
    assert_eq!(config.listen, "127.0.0.1:8081".parse().expect("address"));
    assert_eq!(config.api_audience, "smart-oa-api");
    assert_eq!(config.backchannel_url, None);
    assert!(!config.danger_accept_invalid_certs);
    assert_eq!(config.discovery_timeout, Duration::from_secs(30));
}

#[test]
fn every_variable_is_read() {
    let config = load(&[
        ("PORTAL_ISSUER", "https://sso.example/realms/smart-oa"),
        ("PORTAL_CLIENT_ID", "portal"),
        ("PORTAL_CLIENT_SECRET", "s3cret"),
        ("PORTAL_URL", "https://portal.example/oa"),
        ("PORTAL_LISTEN", "0.0.0.0:9000"),
        ("PORTAL_API_AUDIENCE", "api"),
        ("PORTAL_BACKCHANNEL_URL", "http://sesame:8080"),
    ])
    .expect("configuration accepted");
    assert_eq!(config.client_id, "portal");
    assert_eq!(config.listen, "0.0.0.0:9000".parse().expect("address"));
    assert_eq!(config.api_audience, "api");
    assert_eq!(config.portal_base().as_str(), "https://portal.example/oa/");
    assert_eq!(
        config.backchannel_url.as_ref().map(Url::as_str),
        Some("http://sesame:8080/")
    );
}

#[test]
fn the_default_portal_url_follows_the_listen_address() {
    let config = load(&[
        ("PORTAL_ISSUER", ISSUER),
        ("PORTAL_CLIENT_SECRET", "s"),
        ("PORTAL_LISTEN", "0.0.0.0:9000"),
    ])
    .expect("configuration accepted");
    assert_eq!(config.portal_url.as_str(), "http://127.0.0.1:9000/");
    let config = load(&[
        ("PORTAL_ISSUER", ISSUER),
        ("PORTAL_CLIENT_SECRET", "s"),
        ("PORTAL_LISTEN", "[::1]:9001"),
    ])
    .expect("configuration accepted");
    assert_eq!(config.portal_url.as_str(), "http://[::1]:9001/");
}

#[test]
fn the_secret_can_come_from_a_file() {
    let path = std::env::temp_dir().join(format!(
        "demo-portal-secret-{}",
        SessionKeyForTests::random()
    ));
    std::fs::write(&path, "from-a-file\n").expect("write the secret file");
    let path_text = path.display().to_string();
    let config = load(&[
        ("PORTAL_ISSUER", ISSUER),
        ("PORTAL_CLIENT_SECRET_FILE", &path_text),
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        config
            .expect("configuration accepted")
            .client_secret
            .secret(),
        "from-a-file"
    );
}

#[test]
fn bad_values_are_refused_with_the_setting_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PORTAL_CLIENT_SECRET", "s")], "PORTAL_ISSUER is not set"),
        (
            &[("PORTAL_ISSUER", ISSUER)],
            "PORTAL_CLIENT_SECRET is not set",
        ),
        (
            &[
                ("PORTAL_ISSUER", "127.0.0.1:8080"),
                ("PORTAL_CLIENT_SECRET", "s"),
            ],
            "PORTAL_ISSUER = \"127.0.0.1:8080\" is not usable",
        ),
        (
            &[
                ("PORTAL_ISSUER", "ftp://sso.test/r"),
                ("PORTAL_CLIENT_SECRET", "s"),
            ],
            "the scheme must be http or https",
        ),
        (
            &[
                ("PORTAL_ISSUER", "http://sso.test/r?x=1"),
                ("PORTAL_CLIENT_SECRET", "s"),
            ],
            "a query or fragment is not allowed",
        ),
        (
            &[
                ("PORTAL_ISSUER", ISSUER),
                ("PORTAL_CLIENT_SECRET", "s"),
                ("PORTAL_LISTEN", "localhost"),
            ],
            "PORTAL_LISTEN = \"localhost\" is not an address and port",
        ),
        (
            &[
                ("PORTAL_ISSUER", ISSUER),
                ("PORTAL_CLIENT_SECRET", "s"),
                ("PORTAL_CLIENT_SECRET_FILE", "/nonexistent"),
            ],
            "not both",
        ),
        (
            &[
                ("PORTAL_ISSUER", ISSUER),
                ("PORTAL_CLIENT_SECRET_FILE", "/nonexistent/secret"),
            ],
            "PORTAL_CLIENT_SECRET_FILE = \"/nonexistent/secret\" cannot be read",
        ),
        (
            &[
                ("PORTAL_ISSUER", ISSUER),
                ("PORTAL_CLIENT_SECRET", "s"),
                ("PORTAL_URL", "http://user:pw@portal.test/"),
            ],
            "credentials in the URL are not allowed",
        ),
    ];
    for (variables, expected) in cases {
        let message = refusal(variables);
        assert!(message.contains(expected), "{variables:?}: {message}");
    }
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let config = load(&[
        ("PORTAL_ISSUER", ISSUER),
        ("PORTAL_CLIENT_SECRET", "s3cret-value"),
    ])
    .expect("configuration accepted");
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret-value"), "{shown}");
    assert!(shown.contains("ClientSecret([redacted])"), "{shown}");
}

/// A random file name part, so parallel test runs do not share a file.
struct SessionKeyForTests;

impl SessionKeyForTests {
    fn random() -> String {
        crate::session::SessionKey::generate()
            .cookie_value()
            .to_owned()
    }
}
