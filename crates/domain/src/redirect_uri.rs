//! Redirect URIs: registered values and the exact matching RFC 6749 §3.1.2 and the OAuth security
//! BCP ask for, with the one exception RFC 8252 §7.3 makes for native apps on loopback.

use url::Url;

/// A redirect URI from a request, kept byte for byte as received once it matched a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

/// Why a redirect URI from a request was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    /// Not an absolute URI, or one with a fragment (RFC 6749 §3.1.2).
    #[error("redirect_uri is not an absolute URI without a fragment")]
    Malformed,
    /// Not one of the client's registered redirect URIs.
    #[error("redirect_uri is not registered for this client")]
    NotRegistered,
    /// The request omitted it and the client has more than one, so none can be chosen.
    #[error("redirect_uri is required")]
    Missing,
}

impl RedirectUri {
    /// Matches a requested redirect URI against the registered ones.
    ///
    /// Matching is exact. When `allow_loopback_port` is set (public, native clients), a registered
    /// `http://127.0.0.1/...` or `http://[::1]/...` URI also matches the same URI on any port,
    /// since the operating system picks the port at run time (RFC 8252 §7.3).
    pub fn matching(
        requested: Option<&str>,
        registered: &[String],
        allow_loopback_port: bool,
    ) -> Result<Self, RedirectUriError> {
        let Some(requested) = requested else {
            // OIDC Core requires redirect_uri, but RFC 6749 §3.1.2.3 lets a client with a single
            // registered URI omit it.
            return match registered {
                [only] => Ok(Self(only.clone())),
                _ => Err(RedirectUriError::Missing),
            };
        };
        let parsed = Url::parse(requested).map_err(|_| RedirectUriError::Malformed)?;
        if parsed.fragment().is_some() {
            return Err(RedirectUriError::Malformed);
        }
        if registered.iter().any(|candidate| candidate == requested) {
            return Ok(Self(requested.to_owned()));
        }
        if allow_loopback_port && is_loopback(&parsed) {
            let matches_ignoring_port = registered.iter().any(|candidate| {
                Url::parse(candidate).is_ok_and(|candidate| {
                    is_loopback(&candidate) && same_except_port(&candidate, &parsed)
                })
            });
            if matches_ignoring_port {
                return Ok(Self(requested.to_owned()));
            }
        }
        Err(RedirectUriError::NotRegistered)
    }

    /// Restores a redirect URI stored after it matched.
    pub fn from_stored(uri: String) -> Self {
        Self(uri)
    }

    /// The URI as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || url.scheme() == "http"
            && matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
}

fn same_except_port(registered: &Url, requested: &Url) -> bool {
    registered.host() == requested.host()
        && registered.path() == requested.path()
        && registered.query() == requested.query()
        && registered.username() == requested.username()
        && registered.password().is_none()
        && requested.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        requested: Option<&str>,
        registered: &[&str],
        loopback: bool,
        expected: Result<&str, RedirectUriError>,
    ) {
        let registered: Vec<String> = registered.iter().map(|uri| (*uri).to_owned()).collect();
        let result = RedirectUri::matching(requested, &registered, loopback);
        assert_eq!(
            result.map(|uri| uri.as_str().to_owned()),
            expected.map(str::to_owned),
            "{requested:?}"
        );
    }

    #[test]
    fn matching_rules() {
        let portal = ["https://portal.example/callback"];
        check(
            Some("https://portal.example/callback"),
            &portal,
            false,
            Ok("https://portal.example/callback"),
        );
        check(
            Some("https://portal.example/callback/"),
            &portal,
            false,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("https://portal.example/callbackx"),
            &portal,
            false,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("https://portal.example/callback?x=1"),
            &portal,
            false,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("https://PORTAL.example/callback"),
            &portal,
            false,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("https://portal.example/callback#frag"),
            &portal,
            false,
            Err(RedirectUriError::Malformed),
        );
        check(
            Some("/callback"),
            &portal,
            false,
            Err(RedirectUriError::Malformed),
        );
        check(None, &portal, false, Ok("https://portal.example/callback"));
        check(
            None,
            &["https://a.example/cb", "https://b.example/cb"],
            false,
            Err(RedirectUriError::Missing),
        );
    }

    #[test]
    fn loopback_port_varies_only_for_native_clients() {
        let native = ["http://127.0.0.1/cb", "http://[::1]/cb"];
        check(
            Some("http://127.0.0.1:51004/cb"),
            &native,
            true,
            Ok("http://127.0.0.1:51004/cb"),
        );
        check(
            Some("http://[::1]:8000/cb"),
            &native,
            true,
            Ok("http://[::1]:8000/cb"),
        );
        check(
            Some("http://127.0.0.1:51004/cb"),
            &native,
            false,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("http://127.0.0.1:51004/other"),
            &native,
            true,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("http://localhost:51004/cb"),
            &native,
            true,
            Err(RedirectUriError::NotRegistered),
        );
        check(
            Some("https://127.0.0.1:51004/cb"),
            &native,
            true,
            Err(RedirectUriError::NotRegistered),
        );
    }
}
