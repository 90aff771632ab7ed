//! The portal's server-to-server HTTP client: discovery, the JWKS, the token endpoint, and the
//! portal's own API. It never follows redirects, trusts what the configuration says, and can
//! send requests meant for the issuer's origin to another address (a container network).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use url::{Origin, Url};

use crate::config::Config;

/// How long one back-channel request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take: a stopped Sésame should fail fast so start-up can retry.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest response body read, far above a discovery document or a JWKS.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An HTTP client for requests that do not go through the browser.
#[derive(Debug, Clone)]
pub(crate) struct BackChannel {
    client: reqwest::Client,
    rewrite: Option<OriginRewrite>,
}

/// A back-channel request that failed; the URL is logged without its query.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackChannelError {
    /// `openidconnect` built a request whose URI is not an absolute URL.
    #[error("the request's URI is not an absolute URL")]
    NotAUrl,
    /// The request could not be built or sent, or no answer came.
    #[error("no answer from {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not a success.
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    /// The body was larger than any expected answer.
    #[error("{url} answered with a body over {MAX_BODY_BYTES} bytes")]
    TooLarge { url: String },
    /// The body was not the expected JSON.
    #[error("{url} answered with unexpected JSON: {source}")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The HTTP client could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// `extra_root_certificate_pem` holds no usable certificate.
    #[error("the extra root certificate is not a usable PEM certificate")]
    BadRootCertificate(#[source] Option<reqwest::Error>),
    /// The TLS stack refused the settings.
    #[error("the HTTP client cannot be built: {0}")]
    Build(#[source] reqwest::Error),
}

/// Sends requests for `public` (the issuer's origin) to the scheme, host and port of `internal`.
#[derive(Debug, Clone)]
struct OriginRewrite {
    public: Origin,
    internal: Url,
}

impl BackChannel {
    /// A client with the configuration's trust settings and back-channel address.
    pub(crate) fn new(config: &Config) -> Result<BackChannel, HttpClientError> {
        let mut builder = reqwest::Client::builder()
            // Following a redirect would let an answer send the portal's requests elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(pem) = &config.extra_root_certificate_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|err| HttpClientError::BadRootCertificate(Some(err)))?;
            if certificates.is_empty() {
                return Err(HttpClientError::BadRootCertificate(None));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if config.danger_accept_invalid_certs {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder.build().map_err(HttpClientError::Build)?;
        let rewrite = config
            .backchannel_url
            .as_ref()
            .map(|internal| OriginRewrite {
                public: config.issuer.origin(),
                internal: internal.clone(),
            });
        Ok(BackChannel { client, rewrite })
    }

    /// `GET url` with an optional bearer token, expecting a JSON success.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        bearer: Option<&str>,
    ) -> Result<T, BackChannelError> {
        let mut request = self.client.get(self.route(url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|source| BackChannelError::Unreachable {
                url: loggable(url),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(BackChannelError::Status {
                url: loggable(url),
                status: status.as_u16(),
            });
        }
        let body = read_body(url, response).await?;
        serde_json::from_slice(&body).map_err(|source| BackChannelError::Json {
            url: loggable(url),
            source,
        })
    }

    /// Sends a request built by `openidconnect`, whatever its answer's status.
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, BackChannelError> {
        let Ok(url) = Url::parse(&request.uri().to_string()) else {
            return Err(BackChannelError::NotAUrl);
        };
        let mut request = reqwest::Request::try_from(request).map_err(|source| {
            BackChannelError::Unreachable {
                url: loggable(&url),
                source,
            }
        })?;
        *request.url_mut() = self.route(&url);

        let response =
            self.client
                .execute(request)
                .await
                .map_err(|source| BackChannelError::Unreachable {
                    url: loggable(&url),
                    source,
                })?;

        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(&url, response).await?;
        let mut answer = HttpResponse::new(body);
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Ok(answer)
    }

    /// The URL to actually request: the back-channel address for the issuer's origin.
    fn route(&self, url: &Url) -> Url {
        let Some(rewrite) = &self.rewrite else {
            return url.clone();
        };
        if url.origin() != rewrite.public {
            return url.clone();
        }
        let mut routed = url.clone();
        // Both schemes are "special" in the URL standard, so switching between them, and
        // setting the host and port of an http(s) URL, cannot fail.
        let _ = routed.set_scheme(rewrite.internal.scheme());
        let _ = routed.set_host(rewrite.internal.host_str());
        let _ = routed.set_port(rewrite.internal.port());
        routed
    }
}

impl<'c> AsyncHttpClient<'c> for BackChannel {
    type Error = BackChannelError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BackChannelError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}

/// Reads a body up to [`MAX_BODY_BYTES`].
async fn read_body(
    url: &Url,
    mut response: reqwest::Response,
) -> Result<Vec<u8>, BackChannelError> {
    let mut body = Vec::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|source| BackChannelError::Unreachable {
                url: loggable(url),
                source,
            })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BackChannelError::TooLarge { url: loggable(url) });
        }
        body.extend_from_slice(&chunk);
    }
}

/// A URL without its query and fragment, which may carry codes or tokens.
fn loggable(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientSecret;

    fn config(backchannel: Option<&str>) -> Config {
        let mut config = Config::new(
            Url::parse("http://localhost:8080/realms/smart-oa").expect("issuer"),
            "portal",
            ClientSecret::new("secret"),
            Url::parse("http://localhost:8081/").expect("portal URL"),
        );
        config.backchannel_url = backchannel.map(|url| Url::parse(url).expect("back channel"));
        config
    }

    fn check(backchannel: Option<&str>, url: &str, expected: &str) {
        let channel = BackChannel::new(&config(backchannel)).expect("client");
        let routed = channel.route(&Url::parse(url).expect("URL"));
        assert_eq!(routed.as_str(), expected);
    }

    #[test]
    fn only_the_issuers_origin_is_sent_to_the_back_channel_address() {
        let certs = "http://localhost:8080/realms/smart-oa/protocol/openid-connect/certs";
        check(None, certs, certs);
        check(
            Some("http://sesame:8080"),
            certs,
            "http://sesame:8080/realms/smart-oa/protocol/openid-connect/certs",
        );
        check(
            Some("https://sesame.internal"),
            "http://localhost:8080/x?y=1",
            "https://sesame.internal/x?y=1",
        );
        check(
            Some("http://sesame:8080"),
            "http://localhost:8081/api/ordres-effacement",
            "http://localhost:8081/api/ordres-effacement",
        );
    }

    #[test]
    fn a_bad_extra_root_certificate_is_refused() {
        let mut config = config(None);
        config.extra_root_certificate_pem = Some("not a certificate".to_owned());
        let err = BackChannel::new(&config).expect_err("no certificate in the PEM");
        assert!(
            matches!(err, HttpClientError::BadRootCertificate(_)),
            "{err:?}"
        );
    }

    #[test]
    fn logged_urls_lose_their_query() {
        let url = Url::parse("https://sso.test/cb?code=secret#frag").expect("URL");
        assert_eq!(loggable(&url), "https://sso.test/cb");
    }
}
