//! The test server: a real Sésame on `127.0.0.1:0` over HTTPS with a throwaway certificate, a
//! fresh database (a SQLite file or a PostgreSQL database of its own) and a `test` realm with
//! known clients; HTTP clients that trust it and never follow redirects; and the browser steps
//! every flow needs (open the login page, submit it, read forms).
//!
//! Each test starts its own server and drops it at the end: nothing is shared between tests,
//! so they run in parallel and in any order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IntrospectionUrl, IssuerUrl, ProviderMetadata, RedirectUrl, RevocationUrl,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;
use url::Url;

use sesame_oidc::Provider;
use sesame_server::Sesame;
use sesame_server::config::{self, Mode};

/// The confidential web application: `client_secret_basic`, PKCE optional.
pub const PORTAL: &str = "portal";
/// Its secret holds the characters RFC 6749 §2.3.1 makes clients form-encode in Basic auth.
pub const PORTAL_SECRET: &str = "portal-secret-with-%+:&-chars";
/// The portal's only redirect URI.
pub const PORTAL_REDIRECT: &str = "https://portal.test/callback";
/// The portal's only post-logout redirect URI.
pub const PORTAL_LOGOUT_REDIRECT: &str = "https://portal.test/";
/// A public client (no secret, PKCE required) with the redirect URIs `http://127.0.0.1/callback`
/// (loopback: any port matches, RFC 8252 §7.3) and `https://spa.test/cb`.
pub const SPA: &str = "spa";
/// A service client: client credentials only, no browser flow.
pub const API: &str = "api";
/// The service client's secret.
pub const API_SECRET: &str = "api-consumer-secret-0123456789";
/// A second confidential client (PKCE required, the default), redirect `https://other.test/cb`.
pub const OTHER: &str = "other";
/// The second client's secret.
pub const OTHER_SECRET: &str = "other-client-secret-0123456789";

/// The client id of the bootstrap administrator, in the `master` realm.
const ADMIN_CLIENT_ID: &str = "bootstrap-admin";
/// The PostgreSQL server used when `SESAME_TEST_POSTGRES_URL` is not set.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database the server under test stores its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the server's data directory.
    Sqlite,
    /// A database created for this server on the PostgreSQL of `SESAME_TEST_POSTGRES_URL`.
    Postgres,
}

/// A running Sésame, stopped (and its data removed) when dropped.
pub struct TestServer {
    /// `https://127.0.0.1:PORT`, the public URL the server was configured with.
    pub base_url: String,
    /// The server's protocol state, to move its clock or reach its database.
    pub sesame_provider: Arc<Provider>,
    /// The server's data directory (database file, key, realm files, certificate).
    pub data_dir: PathBuf,
    /// The secret of the bootstrap administrator.
    admin_secret: String,
    /// The server's certificate, trusted by the clients of this harness.
    cert_pem: String,
    /// Fired on drop: the server stops.
    shutdown: Option<oneshot::Sender<()>>,
    /// The PostgreSQL database to drop with the server.
    postgres: Option<PostgresDatabase>,
}

/// A database created on the PostgreSQL server for one test.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

/// The relying party most tests use: every endpoint of the discovery document configured.
pub type RelyingParty = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider metadata with the two endpoints OIDC Discovery leaves to extensions.
pub type SesameProviderMetadata = ProviderMetadata<
    ExtraEndpoints,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// `revocation_endpoint` (RFC 7009) and `introspection_endpoint` (RFC 7662), as discovered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtraEndpoints {
    /// RFC 8414 `revocation_endpoint`.
    pub revocation_endpoint: String,
    /// RFC 8414 `introspection_endpoint`.
    pub introspection_endpoint: String,
}

impl AdditionalProviderMetadata for ExtraEndpoints {}

/// A login form as the browser received it.
#[derive(Debug, Clone)]
pub struct LoginForm {
    /// Where the form posts to.
    pub action: String,
    /// Its hidden fields (CSRF token, step), in page order.
    pub fields: Vec<(String, String)>,
    /// The whole page.
    pub html: String,
}

impl TestServer {
    /// Starts a server on a fresh database of `backend`, with the `test` realm imported.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, &[]).await
    }

    /// Starts a server whose mail goes to the SMTP server at `smtp_url`.
    pub async fn start_with_smtp(backend: Backend, smtp_url: &str) -> TestServer {
        Self::start_with(backend, &[("SESAME_SMTP_URL", smtp_url.to_owned())]).await
    }

    /// Starts a server with extra `SESAME_*` settings.
    pub async fn start_with(backend: Backend, settings: &[(&'static str, String)]) -> TestServer {
        let data_dir = unique_temp_dir();
        std::fs::create_dir_all(data_dir.join("realms")).expect("create the test data directory");
        std::fs::write(data_dir.join("realms").join("test.toml"), realm_file())
            .expect("write the test realm file");

        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("generate a test certificate");
        let cert_pem = certified.cert.pem();
        std::fs::write(data_dir.join("cert.pem"), &cert_pem).expect("write cert.pem");
        std::fs::write(
            data_dir.join("key.pem"),
            certified.signing_key.serialize_pem(),
        )
        .expect("write key.pem");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("listener address").port();
        let base_url = format!("https://127.0.0.1:{port}");

        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PostgresDatabase::create()),
        };
        let database_url = match &postgres {
            Some(database) => database.url(),
            None => data_dir.join("sesame.db").display().to_string(),
        };
        let admin_secret = random_hex(16);
        let path = |name: &str| data_dir.join(name).display().to_string();
        let mut variables: HashMap<&str, String> = HashMap::from([
            ("SESAME_DATA_DIR", data_dir.display().to_string()),
            ("SESAME_DATABASE_URL", database_url),
            ("SESAME_DATABASE_MAX_CONNECTIONS", "4".to_owned()),
            ("SESAME_PUBLIC_URL", base_url.clone()),
            ("SESAME_TLS_CERT", path("cert.pem")),
            ("SESAME_TLS_KEY", path("key.pem")),
            ("SESAME_REALMS_DIR", path("realms")),
            (
                "SESAME_BOOTSTRAP_ADMIN_CLIENT_ID",
                ADMIN_CLIENT_ID.to_owned(),
            ),
            ("SESAME_BOOTSTRAP_ADMIN_CLIENT_SECRET", admin_secret.clone()),
            ("SESAME_LOG_LEVEL", "warn".to_owned()),
        ]);
        variables.extend(settings.iter().cloned());
        let env = |name: &str| variables.get(name).cloned();
        let config = config::load(Mode::Dev, None, &env)
            .unwrap_or_else(|err| panic!("test configuration refused: {err:?}"));

        // Server logs go to the output of the test that produced them (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_max_level(config.log_level)
            .with_test_writer()
            .try_init();

        let sesame = Sesame::build(&config)
            .await
            .unwrap_or_else(|err| panic!("Sésame did not start: {err:#}"));
        let router = sesame.router();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let tls = config.tls.clone();
        tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            if let Err(err) = sesame_server::serve(listener, router, tls.as_ref(), stop).await {
                eprintln!("the test server stopped with an error: {err:#}");
            }
        });

        TestServer {
            base_url,
            sesame_provider: sesame.provider,
            data_dir,
            admin_secret,
            cert_pem,
            shutdown: Some(shutdown),
            postgres,
        }
    }

    /// The issuer of the `test` realm.
    pub fn issuer(&self) -> String {
        format!("{}/realms/test", self.base_url)
    }

    /// An OpenID Connect endpoint of the `test` realm, such as `token` or `token/introspect`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}/protocol/openid-connect/{path}", self.issuer())
    }

    /// A back-channel client: trusts the test certificate, follows no redirect, keeps no cookie.
    pub fn http(&self) -> reqwest::Client {
        self.client_builder()
            .build()
            .expect("build the test HTTP client")
    }

    /// A browser: like [`TestServer::http`], with its own cookie store.
    pub fn browser(&self) -> reqwest::Client {
        self.client_builder()
            .cookie_store(true)
            .build()
            .expect("build the test browser")
    }

    /// An access token of the bootstrap administrator (client credentials, `master` realm).
    pub async fn admin_token(&self) -> String {
        let response = self
            .http()
            .post(format!(
                "{}/realms/master/protocol/openid-connect/token",
                self.base_url
            ))
            .basic_auth(ADMIN_CLIENT_ID, Some(&self.admin_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request of the administrator");
        let status = response.status();
        let body: Value = response.json().await.expect("token response is JSON");
        assert_eq!(
            status,
            StatusCode::OK,
            "administrator token refused: {body}"
        );
        body["access_token"]
            .as_str()
            .expect("access_token in the administrator's token response")
            .to_owned()
    }

    /// Creates an enabled user of the `test` realm with a verified address and a password,
    /// through the admin API, and returns its id.
    pub async fn create_user(&self, username: &str, email: &str, password: &str) -> String {
        let user = serde_json::json!({
            "username": username,
            "email": email,
            "emailVerified": true,
            "enabled": true,
            "credentials": [{ "type": "password", "value": password, "temporary": false }],
        });
        let response = self
            .http()
            .post(format!("{}/admin/realms/test/users", self.base_url))
            .bearer_auth(self.admin_token().await)
            .json(&user)
            .send()
            .await
            .expect("user creation request");
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::CREATED, "user not created: {body}");
        let location = location.expect("Location of the created user");
        location
            .rsplit('/')
            .next()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("no user id in {location}"))
            .to_owned()
    }

    /// `GET {auth endpoint}?params` with `browser`.
    pub async fn authorize(
        &self,
        browser: &reqwest::Client,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        browser
            .get(self.endpoint("auth"))
            .query(params)
            .send()
            .await
            .expect("authorization request")
    }

    /// The whole browser login: authorization request, login page, password form. Returns the
    /// URL the final redirect points to: the client's redirect URI with `code`, `state`, `iss`.
    pub async fn login(
        &self,
        browser: &reqwest::Client,
        auth_params: &[(&str, &str)],
        username: &str,
        password: &str,
    ) -> Url {
        let response = self
            .login_response(browser, auth_params, username, password)
            .await;
        let status = response.status();
        let location = location(&response);
        if status != StatusCode::FOUND {
            let body = response.text().await.unwrap_or_default();
            panic!("the login ended with {status} instead of a redirect:\n{body}");
        }
        let location = location.expect("Location of the login's redirect");
        Url::parse(&location).unwrap_or_else(|err| panic!("bad redirect {location}: {err}"))
    }

    /// Like [`TestServer::login`], but returns the last response as is (a redirect, a
    /// form-post page, or the login page again with an error).
    pub async fn login_response(
        &self,
        browser: &reqwest::Client,
        auth_params: &[(&str, &str)],
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let form = self.open_login(browser, auth_params).await;
        self.submit_login(browser, &form, username, password).await
    }

    /// Sends the authorization request and opens the login page it leads to.
    pub async fn open_login(
        &self,
        browser: &reqwest::Client,
        auth_params: &[(&str, &str)],
    ) -> LoginForm {
        let response = self.authorize(browser, auth_params).await;
        let status = response.status();
        let login_url = location(&response);
        if status != StatusCode::FOUND {
            let body = response.text().await.unwrap_or_default();
            panic!("the authorization request answered {status} instead of a redirect:\n{body}");
        }
        let login_url = login_url.expect("Location of the login page");
        let login_prefix = format!("{}/login-actions/authenticate", self.issuer());
        assert!(
            login_url.starts_with(&login_prefix),
            "the authorization request redirected to {login_url}, not to the login page"
        );
        let page = browser
            .get(&login_url)
            .send()
            .await
            .expect("login page request");
        let status = page.status();
        let html = page.text().await.expect("login page body");
        assert_eq!(status, StatusCode::OK, "login page:\n{html}");
        login_form(&html)
    }

    /// Submits the login form with a username and password, following the login's own
    /// redirects between its steps; returns the first response that leaves them.
    pub async fn submit_login(
        &self,
        browser: &reqwest::Client,
        form: &LoginForm,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let mut fields = form.fields.clone();
        fields.push(("username".to_owned(), username.to_owned()));
        fields.push(("password".to_owned(), password.to_owned()));
        let mut response = browser
            .post(&form.action)
            .form(&fields)
            .send()
            .await
            .expect("login form submission");
        let steps = format!("{}/login-actions/", self.issuer());
        // A 303 to the next step of the login (Post/Redirect/Get): the browser follows it.
        while response.status() == StatusCode::SEE_OTHER {
            let Some(next) = location(&response).filter(|next| next.starts_with(&steps)) else {
                break;
            };
            response = browser.get(next).send().await.expect("next login step");
        }
        response
    }

    /// Moves the server's clock forward by `seconds`.
    pub fn advance_clock(&self, seconds: i64) {
        self.sesame_provider.clock.advance_for_tests(seconds);
    }

    /// The discovered provider metadata of the `test` realm.
    pub async fn discover(&self) -> SesameProviderMetadata {
        let issuer = IssuerUrl::new(self.issuer()).expect("issuer URL");
        SesameProviderMetadata::discover_async(issuer, &self.http())
            .await
            .unwrap_or_else(|err| panic!("discovery failed: {}", error_chain(&err)))
    }

    /// An `openidconnect` relying party for a client of the `test` realm, built from discovery,
    /// with the revocation and introspection endpoints set. `client_secret_basic` when a secret
    /// is given, the client id in the body otherwise.
    pub async fn relying_party(
        &self,
        client_id: &str,
        secret: Option<&str>,
        redirect_uri: Option<&str>,
    ) -> RelyingParty {
        let metadata = self.discover().await;
        let extra = metadata.additional_metadata().clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_owned()),
            secret.map(|secret| ClientSecret::new(secret.to_owned())),
        )
        .set_revocation_url(RevocationUrl::new(extra.revocation_endpoint).expect("revocation URL"))
        .set_introspection_url(
            IntrospectionUrl::new(extra.introspection_endpoint).expect("introspection URL"),
        );
        match redirect_uri {
            Some(uri) => client.set_redirect_uri(RedirectUrl::new(uri.to_owned()).expect("URI")),
            None => client,
        }
    }

    fn client_builder(&self) -> reqwest::ClientBuilder {
        let certificate = reqwest::Certificate::from_pem(self.cert_pem.as_bytes())
            .expect("the test certificate parses");
        reqwest::Client::builder()
            .add_root_certificate(certificate)
            .redirect(reqwest::redirect::Policy::none())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(database) = &self.postgres {
            database.drop_database();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl PostgresDatabase {
    /// Creates an empty database with a random name on the test PostgreSQL server.
    fn create() -> Self {
        let admin_url = std::env::var("SESAME_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        let name = format!("sesame_test_{}", random_hex(8));
        let mut conn = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|err| {
            panic!("cannot reach PostgreSQL (set SESAME_TEST_POSTGRES_URL): {err}")
        });
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|err| panic!("cannot create the test database {name}: {err}"));
        Self { admin_url, name }
    }

    /// The URL of this database: the admin URL with its database replaced.
    fn url(&self) -> String {
        let mut url = Url::parse(&self.admin_url).expect("SESAME_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{}", self.name));
        url.to_string()
    }

    /// Drops the database, closing the server's connections; failures are ignored.
    fn drop_database(&self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A PKCE pair (RFC 7636): a random verifier and its `S256` challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = BASE64URL_NOPAD.encode(&random_bytes(32));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = BASE64URL_NOPAD.encode(digest.as_ref());
    (verifier, challenge)
}

/// The `Location` header of a response.
pub fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The query parameters of a URL, decoded.
pub fn query_params(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The header and claims of a JWT, decoded without any check.
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = |what: &str| -> Value {
        let encoded = parts
            .next()
            .unwrap_or_else(|| panic!("the JWT has no {what}: {token}"));
        let bytes = BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .unwrap_or_else(|err| panic!("the JWT's {what} is not base64url: {err}"));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|err| panic!("the JWT's {what} is not JSON: {err}"))
    };
    let header = part("header");
    let claims = part("claims");
    (header, claims)
}

/// The login form of a login page: `#login-form`, else the page's first form.
pub fn login_form(html: &str) -> LoginForm {
    let form = form_by_id(html, "login-form")
        .or_else(|| forms(html).into_iter().next())
        .unwrap_or_else(|| panic!("no form on the page:\n{html}"));
    LoginForm {
        action: form.action,
        fields: form.fields,
        html: html.to_owned(),
    }
}

/// A form of a page, with what a browser would submit without user input: its hidden inputs
/// and, if it has a name, its first submit button.
#[derive(Debug, Clone)]
pub struct HtmlForm {
    /// The `id` attribute, if any.
    pub id: Option<String>,
    /// The `action` attribute, entities decoded.
    pub action: String,
    /// The `method` attribute, lower case, `get` by default.
    pub method: String,
    /// Hidden inputs and the named submit button, in page order, entities decoded.
    pub fields: Vec<(String, String)>,
}

/// The form with this `id`.
pub fn form_by_id(html: &str, id: &str) -> Option<HtmlForm> {
    forms(html)
        .into_iter()
        .find(|form| form.id.as_deref() == Some(id))
}

/// Every form of a page.
pub fn forms(html: &str) -> Vec<HtmlForm> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let after = &rest[start..];
        let end = after.find("</form>").unwrap_or(after.len());
        let body = &after[..end];
        let open_tag = body.split('>').next().unwrap_or_default();
        let mut fields = Vec::new();
        let mut named_button_seen = false;
        for tag in tags(body, "input") {
            let kind = attribute(&tag, "type").unwrap_or_else(|| "text".to_owned());
            if let (true, Some(name)) = (kind == "hidden", attribute(&tag, "name")) {
                fields.push((name, attribute(&tag, "value").unwrap_or_default()));
            }
        }
        for tag in tags(body, "button") {
            let kind = attribute(&tag, "type").unwrap_or_else(|| "submit".to_owned());
            if let (false, "submit", Some(name)) =
                (named_button_seen, kind.as_str(), attribute(&tag, "name"))
            {
                fields.push((name, attribute(&tag, "value").unwrap_or_default()));
                named_button_seen = true;
            }
        }
        found.push(HtmlForm {
            id: attribute(open_tag, "id"),
            action: attribute(open_tag, "action").unwrap_or_default(),
            method: attribute(open_tag, "method")
                .unwrap_or_else(|| "get".to_owned())
                .to_ascii_lowercase(),
            fields,
        });
        rest = &after[end..];
    }
    found
}

/// Decodes the character references Tera's escaping produces (`&amp;`, `&#x27;`, `&#39;`…).
pub fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let decoded = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &after[1..end];
            let character = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            character.map(|character| (character, end))
        });
        match decoded {
            Some((character, end)) => {
                out.push(character);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The chain of an error's causes, on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The opening tags `<{name} …>` in `html`.
fn tags(html: &str, name: &str) -> Vec<String> {
    let opening = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&opening) {
        let after = &rest[start..];
        let end = after.find('>').unwrap_or(after.len());
        let tag = &after[..end];
        // `<inputs` or `<buttonx` are other elements.
        if tag[opening.len()..].starts_with(|c: char| c.is_whitespace()) {
            found.push(tag.to_owned());
        }
        rest = &after[end..];
    }
    found
}

/// A double-quoted attribute of a tag, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let pattern = format!("{name}=\"");
    let mut search = tag;
    loop {
        let start = search.find(&pattern)?;
        let preceded_by_space = search[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let value_start = start + pattern.len();
        if preceded_by_space {
            let value = &search[value_start..];
            let end = value.find('"')?;
            return Some(unescape_html(&value[..end]));
        }
        search = &search[value_start..];
    }
}

/// The `test` realm: defaults, an 8-character password policy, and the clients of the tests.
fn realm_file() -> String {
    format!(
        r#"realm = "test"
displayName = "Test"
passwordPolicy = "length(8)"

[[clients]]
clientId = "{PORTAL}"
publicClient = false
clientAuthenticatorType = "client-secret"
secret = "{PORTAL_SECRET}"
redirectUris = ["{PORTAL_REDIRECT}"]
postLogoutRedirectUris = ["{PORTAL_LOGOUT_REDIRECT}"]
pkceRequired = false

[[clients]]
clientId = "{SPA}"
publicClient = true
redirectUris = ["http://127.0.0.1/callback", "https://spa.test/cb"]

[[clients]]
clientId = "{API}"
publicClient = false
clientAuthenticatorType = "client-secret"
secret = "{API_SECRET}"
standardFlowEnabled = false
serviceAccountsEnabled = true

[[clients]]
clientId = "{OTHER}"
publicClient = false
clientAuthenticatorType = "client-secret"
secret = "{OTHER_SECRET}"
redirectUris = ["https://other.test/cb"]
"#
    )
}

/// A directory under the system's temporary directory that no other test uses.
pub fn unique_temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("sesame-it-{}", random_hex(8)))
}

fn random_hex(bytes: usize) -> String {
    HEXLOWER.encode(&random_bytes(bytes))
}

fn random_bytes(count: usize) -> Vec<u8> {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = vec![0; count];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source works");
    bytes
}
