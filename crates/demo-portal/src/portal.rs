//! The portal's shared state: Sésame as discovered (the OIDC client, the end-session endpoint,
//! the access-token validator), the sessions, and the configuration. Built once at start-up,
//! retrying discovery while Sésame starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::CoreClient;
use openidconnect::{
    ClientId, ClientSecret, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, ProviderMetadataWithLogout, RedirectUrl,
};
use url::Url;

use crate::access::AccessTokenValidator;
use crate::backchannel::{BackChannel, HttpClientError};
use crate::config::{Config, ConfigError};
use crate::session::SessionStore;

/// The first pause between two discovery attempts; it doubles up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause between two discovery attempts.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// The `openidconnect` client as discovery configures it: authorization and token endpoints set
/// (the token endpoint "maybe", as discovery may omit it), user info "maybe".
pub(crate) type PortalClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The running portal's state, shared by every request; cheap to clone.
#[derive(Clone)]
pub struct Portal {
    inner: Arc<PortalState>,
}

/// Why the portal could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// A setting is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be set up from the settings.
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
    /// Sésame's discovery document or JWKS could not be read in time.
    #[error(
        "Sésame did not answer discovery at {issuer} within {} s: {reason}",
        waited.as_secs()
    )]
    Discovery {
        /// The issuer.
        issuer: String,
        /// How long start-up tried.
        waited: Duration,
        /// The last attempt's failure.
        reason: String,
    },
    /// The listening address cannot be used.
    #[error("{}", bind_message(*address, error))]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The operating system's refusal, already part of the message.
        error: std::io::Error,
    },
    /// The HTTP server failed while running.
    #[error("the portal's HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// What every handler reads.
pub(crate) struct PortalState {
    pub(crate) config: Config,
    pub(crate) client: PortalClient,
    pub(crate) end_session_endpoint: Option<EndSessionUrl>,
    pub(crate) token_endpoint: Option<Url>,
    pub(crate) validator: AccessTokenValidator,
    pub(crate) backchannel: BackChannel,
    pub(crate) sessions: SessionStore,
    /// `{portal}/` with a final slash.
    pub(crate) portal_base: Url,
    /// The API as the portal itself calls it: on the address it listens on.
    pub(crate) own_api_url: Url,
    /// Whether cookies get `Secure`: the portal is served over https.
    pub(crate) secure_cookies: bool,
}

impl Portal {
    /// Validates `config`, then reads Sésame's discovery document and JWKS, retrying for up to
    /// [`Config::discovery_timeout`] while Sésame is not answering yet.
    ///
    /// The portal calls its own API on [`Config::listen`]: set it to the address the router
    /// is actually served on.
    pub async fn connect(config: Config) -> Result<Portal, PortalError> {
        config.validate()?;
        let backchannel = BackChannel::new(&config)?;
        let started = Instant::now();
        let mut pause = FIRST_RETRY_PAUSE;
        let mut attempt = 1_u32;
        loop {
            match discover(&config, &backchannel).await {
                Ok(state) => {
                    tracing::info!(issuer = %config.issuer, "Sésame discovered");
                    return Ok(Portal {
                        inner: Arc::new(state),
                    });
                }
                Err(reason) => {
                    if started.elapsed() + pause > config.discovery_timeout {
                        return Err(PortalError::Discovery {
                            issuer: config.issuer.to_string(),
                            waited: started.elapsed(),
                            reason,
                        });
                    }
                    if attempt == 1 {
                        tracing::info!(issuer = %config.issuer, %reason, "waiting for Sésame");
                    } else {
                        tracing::debug!(attempt, %reason, "Sésame not ready yet");
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_RETRY_PAUSE);
            attempt += 1;
        }
    }

    /// The configuration the portal runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn state(&self) -> &PortalState {
        &self.inner
    }
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Portal")
            .field("issuer", &self.inner.config.issuer.as_str())
            .field("portal_url", &self.inner.portal_base.as_str())
            .finish_non_exhaustive()
    }
}

/// One discovery attempt: the provider metadata (with its JWKS, for ID tokens) and the JWKS
/// again for the API's validator, which keeps its own cache.
async fn discover(config: &Config, backchannel: &BackChannel) -> Result<PortalState, String> {
    let issuer = IssuerUrl::from_url(config.issuer.clone());
    let metadata = ProviderMetadataWithLogout::discover_async(issuer, backchannel)
        .await
        .map_err(|err| error_chain(&err))?;
    let end_session_endpoint = metadata.additional_metadata().end_session_endpoint.clone();
    let token_endpoint = metadata.token_endpoint().map(|url| url.url().clone());
    let jwks_uri = metadata.jwks_uri().url().clone();

    let validator = AccessTokenValidator::fetch(
        config.issuer.as_str(),
        &config.api_audience,
        jwks_uri,
        backchannel,
    )
    .await
    .map_err(|err| error_chain(&err))?;

    let portal_base = config.portal_base();
    let callback = portal_base
        .join("callback")
        .map_err(|err| format!("the portal URL cannot take a path: {err}"))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.secret().to_owned())),
    )
    .set_redirect_uri(RedirectUrl::from_url(callback));
    let own_address = crate::server::reachable_address(config.listen);
    let own_api_url = Url::parse(&format!("http://{own_address}/api/ordres-effacement"))
        .map_err(|err| format!("the listen address makes no URL: {err}"))?;

    Ok(PortalState {
        secure_cookies: portal_base.scheme() == "https",
        config: config.clone(),
        client,
        end_session_endpoint,
        token_endpoint,
        validator,
        backchannel: backchannel.clone(),
        sessions: SessionStore::default(),
        portal_base,
        own_api_url,
    })
}

/// An error and its sources on one line, for logs and start-up messages.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn bind_message(address: SocketAddr, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "the portal cannot listen on {address}: the port is already in use by another \
             program; stop it or choose another port"
        ),
        _ => format!("the portal cannot listen on {address}: {error}"),
    }
}
