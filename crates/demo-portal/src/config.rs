//! The portal's configuration: where Sésame is, who the portal is to it, and where the portal
//! itself answers. Read from `PORTAL_*` variables by the binary, or built in code by tests and
//! by Sésame's `start-dev`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// The address the binary listens on when `PORTAL_LISTEN` is not set.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8081));
/// The client id the binary uses when `PORTAL_CLIENT_ID` is not set: the Smart OA realm's portal.
pub const DEFAULT_CLIENT_ID: &str = "smart-oa-portal";
/// The audience the API requires in access tokens unless told otherwise.
pub const DEFAULT_API_AUDIENCE: &str = "smart-oa-api";
/// How long start-up waits for Sésame's discovery document unless told otherwise.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the portal needs to know, validated by [`Config::validate`] before use.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer of the Sésame realm, such as `http://127.0.0.1:8080/realms/smart-oa`.
    ///
    /// Discovery is read from `{issuer}/.well-known/openid-configuration`, and the issuer in
    /// tokens must equal this value exactly (OIDC Discovery §4.3).
    pub issuer: Url,
    /// The portal's client id at Sésame.
    pub client_id: String,
    /// The portal's client secret, sent with `client_secret_basic`.
    pub client_secret: ClientSecret,
    /// The portal's own public base URL, as browsers reach it, such as `http://127.0.0.1:8081/`.
    ///
    /// The redirect URI is `{portal_url}callback` and the post-logout redirect URI is this URL;
    /// both must be registered for the client at Sésame. Session cookies get `Secure` when it is
    /// `https`.
    pub portal_url: Url,
    /// The address to listen on; 127.0.0.1:8081 by default. The portal also calls its own API
    /// there, on the loopback address when it is an unspecified address such as `0.0.0.0`.
    pub listen: SocketAddr,
    /// The audience the API requires in access tokens (RFC 9068 §4); `smart-oa-api` by default,
    /// as listed in the realm's `accessTokenAudience`.
    pub api_audience: String,
    /// Where the portal's server-to-server requests reach Sésame when that is not the issuer's
    /// origin, such as `http://sesame:8080` inside a container network whose browsers use
    /// `http://localhost:8080`. Only the scheme, host and port are used; `None` by default.
    pub backchannel_url: Option<Url>,
    /// Accepts any TLS certificate from Sésame. For tests against a throwaway certificate only:
    /// it lets anyone on the path impersonate Sésame. `false` by default.
    pub danger_accept_invalid_certs: bool,
    /// A PEM certificate to trust for Sésame besides the system's roots, such as a test or
    /// company CA; `None` by default.
    pub extra_root_certificate_pem: Option<String>,
    /// How long start-up keeps retrying Sésame's discovery document, for a Sésame started at
    /// the same time; 30 seconds by default.
    pub discovery_timeout: Duration,
}

/// The portal's client secret: never printed, read only through [`ClientSecret::secret`].
#[derive(Clone)]
pub struct ClientSecret(String);

/// A setting that is missing or has a bad value; the message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{variable} is not set: {hint}")]
    Missing {
        /// The variable.
        variable: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// A URL setting is not an absolute `http` or `https` URL without query or fragment.
    #[error("{setting} = {value:?} is not usable: {reason}")]
    InvalidUrl {
        /// The variable or field.
        setting: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `PORTAL_LISTEN` is not an address and port.
    #[error("{setting} = {value:?} is not an address and port such as 127.0.0.1:8081")]
    InvalidListen {
        /// The variable.
        setting: &'static str,
        /// The value as given.
        value: String,
    },
    /// Both the secret and the secret file are set.
    #[error("set either PORTAL_CLIENT_SECRET or PORTAL_CLIENT_SECRET_FILE, not both")]
    ConflictingSecrets,
    /// The client secret is empty.
    #[error("{setting} is empty: the portal needs its client secret")]
    EmptySecret {
        /// The variable or field.
        setting: &'static str,
    },
    /// A file named by a setting cannot be read.
    #[error("{setting} = {path:?} cannot be read: {source}")]
    UnreadableFile {
        /// The variable.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A text setting is empty.
    #[error("{setting} is empty")]
    Empty {
        /// The variable or field.
        setting: &'static str,
    },
}

impl Config {
    /// A configuration with the defaults for everything but the four required settings.
    pub fn new(
        issuer: Url,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
        portal_url: Url,
    ) -> Config {
        Config {
            issuer,
            client_id: client_id.into(),
            client_secret,
            portal_url,
            listen: DEFAULT_LISTEN,
            api_audience: DEFAULT_API_AUDIENCE.to_owned(),
            backchannel_url: None,
            danger_accept_invalid_certs: false,
            extra_root_certificate_pem: None,
            discovery_timeout: DEFAULT_DISCOVERY_TIMEOUT,
        }
    }

    /// Reads the binary's variables through `env` (an empty value counts as unset):
    ///
    /// - `PORTAL_ISSUER` (required): the realm's issuer.
    /// - `PORTAL_CLIENT_ID`: `smart-oa-portal` by default.
    /// - `PORTAL_CLIENT_SECRET`, or `PORTAL_CLIENT_SECRET_FILE` naming a file holding it
    ///   (one trailing newline is ignored): exactly one is required.
    /// - `PORTAL_URL`: the portal's public base URL; `http://` and the listen address by
    ///   default (`127.0.0.1` for an unspecified address).
    /// - `PORTAL_LISTEN`: `127.0.0.1:8081` by default.
    /// - `PORTAL_API_AUDIENCE`: `smart-oa-api` by default.
    /// - `PORTAL_BACKCHANNEL_URL`: see [`Config::backchannel_url`].
    /// - `PORTAL_CA_FILE`: a PEM file, see [`Config::extra_root_certificate_pem`].
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| env(name).filter(|value| !value.is_empty());

        let issuer_value = var("PORTAL_ISSUER").ok_or(ConfigError::Missing {
            variable: "PORTAL_ISSUER",
            hint: "the issuer of the Sésame realm, such as \
                   http://127.0.0.1:8080/realms/smart-oa",
        })?;
        let issuer = parse_base_url("PORTAL_ISSUER", &issuer_value)?;
        let client_id = var("PORTAL_CLIENT_ID").unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned());
        let client_secret = read_secret(&var)?;
        let listen = match var("PORTAL_LISTEN") {
            Some(value) => value.parse().map_err(|_| ConfigError::InvalidListen {
                setting: "PORTAL_LISTEN",
                value,
            })?,
            None => DEFAULT_LISTEN,
        };
        let portal_url = match var("PORTAL_URL") {
            Some(value) => parse_base_url("PORTAL_URL", &value)?,
            None => default_portal_url(listen),
        };
        let backchannel_url = var("PORTAL_BACKCHANNEL_URL")
            .map(|value| parse_base_url("PORTAL_BACKCHANNEL_URL", &value))
            .transpose()?;
        let extra_root_certificate_pem = var("PORTAL_CA_FILE")
            .map(|path| {
                std::fs::read_to_string(&path).map_err(|source| ConfigError::UnreadableFile {
                    setting: "PORTAL_CA_FILE",
                    path: PathBuf::from(path),
                    source,
                })
            })
            .transpose()?;

        let mut config = Config::new(issuer, client_id, client_secret, portal_url);
        config.listen = listen;
        config.backchannel_url = backchannel_url;
        config.extra_root_certificate_pem = extra_root_certificate_pem;
        if let Some(audience) = var("PORTAL_API_AUDIENCE") {
            config.api_audience = audience;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types do not: URLs are absolute `http(s)` base URLs, text is not empty.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_base_url("issuer", &self.issuer)?;
        check_base_url("portal_url", &self.portal_url)?;
        if let Some(backchannel_url) = &self.backchannel_url {
            check_base_url("backchannel_url", backchannel_url)?;
        }
        if self.client_id.is_empty() {
            return Err(ConfigError::Empty {
                setting: "client_id",
            });
        }
        if self.client_secret.secret().is_empty() {
            return Err(ConfigError::EmptySecret {
                setting: "client_secret",
            });
        }
        if self.api_audience.is_empty() {
            return Err(ConfigError::Empty {
                setting: "api_audience",
            });
        }
        Ok(())
    }

    /// The portal's base URL with a final `/`, so that joining a page name keeps its path.
    pub(crate) fn portal_base(&self) -> Url {
        let mut base = self.portal_url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base
    }
}

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    /// The secret itself, to send to Sésame.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ClientSecret([redacted])")
    }
}

/// `http://` and the listen address, with the loopback address for an unspecified one.
fn default_portal_url(listen: SocketAddr) -> Url {
    let reachable = crate::server::reachable_address(listen);
    Url::parse(&format!("http://{reachable}/"))
        .expect("an IP address and a port always form a valid URL authority")
}

fn parse_base_url(setting: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|_| ConfigError::InvalidUrl {
        setting,
        value: value.to_owned(),
        reason: "not an absolute URL",
    })?;
    check_base_url(setting, &url)?;
    Ok(url)
}

fn check_base_url(setting: &'static str, url: &Url) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidUrl {
        setting,
        value: url.to_string(),
        reason,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("a host is required"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the URL are not allowed"));
    }
    Ok(())
}

fn read_secret(var: &impl Fn(&str) -> Option<String>) -> Result<ClientSecret, ConfigError> {
    let secret = match (
        var("PORTAL_CLIENT_SECRET"),
        var("PORTAL_CLIENT_SECRET_FILE"),
    ) {
        (Some(_), Some(_)) => return Err(ConfigError::ConflictingSecrets),
        (Some(secret), None) => secret,
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::UnreadableFile {
                    setting: "PORTAL_CLIENT_SECRET_FILE",
                    path: PathBuf::from(&path),
                    source,
                })?;
            let secret = text
                .strip_suffix('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .unwrap_or(&text);
            if secret.is_empty() {
                return Err(ConfigError::EmptySecret {
                    setting: "PORTAL_CLIENT_SECRET_FILE",
                });
            }
            secret.to_owned()
        }
        (None, None) => {
            return Err(ConfigError::Missing {
                variable: "PORTAL_CLIENT_SECRET",
                hint: "the portal's client secret (or PORTAL_CLIENT_SECRET_FILE naming a file \
                       that holds it)",
            });
        }
    };
    Ok(ClientSecret::new(secret))
}

#[cfg(test)]
mod tests;
