//! Redirect URIs: registered values and the exact matching RFC 6749 §3.1.2 and the OAuth security
//! BCP ask for, with the one exception RFC 8252 §7.3 makes for native apps on loopback; and the
//! rule every registered URI (redirect, post-logout redirect, base URL) must pass, whichever way
//! it is registered (admin API, command line, realm file).

use url::Url;

/// A redirect URI from a request, kept byte for byte as received once it matched a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

/// Why a redirect URI from a request was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    /// Not an absolute URI (RFC 6749 §3.1.2), or one with spaces or control characters.
    #[error("expected an absolute URI")]
    Malformed,
    /// An absolute URI with a fragment, which RFC 6749 §3.1.2 forbids.
    #[error("a redirect URI cannot have a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    /// Not one of the client's registered redirect URIs.
    #[error("redirect_uri is not registered for this client")]
    NotRegistered,
    /// The request omitted it and the client has more than one, so none can be chosen.
    #[error("redirect_uri is required")]
    Missing,
    /// A `*`: registered URIs match exactly, so a Keycloak-style wildcard would match nothing.
    #[error("wildcards are not supported, redirect URIs match exactly")]
    Wildcard,
    /// A scheme a browser runs or reads locally (`javascript`, `data`, `file`…) instead of
    /// going to the client: sending a user there after login is script injection.
    #[error("the {0} scheme is refused")]
    DangerousScheme(String),
    /// A base URL that is not `http` or `https`: it is a link for people, shown in our pages.
    #[error("expected an http or https URL")]
    NotWeb,
}

/// Schemes that never lead to a client: the browser runs the URL as script, renders it as a
/// document of its own, or reads a local resource. Checked after parsing, which lowercases the
/// scheme, so `JavaScript:` is caught too.
const DANGEROUS_SCHEMES: [&str; 7] = [
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "filesystem",
    "about",
];

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
        // A dangerous URI registered before registration was checked must not match either.
        let parsed = checked_uri(requested)?;
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

    /// Checks a URI before it is registered as a redirect or post-logout redirect URI.
    ///
    /// It must parse as an absolute URI (RFC 6749 §3.1.2), without fragment or wildcard, and
    /// its scheme must lead to a client: `http`, `https`, or a native app's private-use scheme
    /// such as `com.example.app:/cb` (RFC 8252 §7.1). `javascript`, `data`, `vbscript`, `file`
    /// and other schemes a browser handles itself are refused. The admin API, the command line
    /// and realm files all register through this one check.
    pub fn check_registration(uri: &str) -> Result<(), RedirectUriError> {
        checked_uri(uri).map(|_| ())
    }

    /// Checks a client's base URL (its home page, linked from our pages): the rule of
    /// [`RedirectUri::check_registration`], and `http` or `https` only.
    pub fn check_base_url(uri: &str) -> Result<(), RedirectUriError> {
        let parsed = checked_uri(uri)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RedirectUriError::NotWeb);
        }
        Ok(())
    }

    /// Whether a URI passes [`RedirectUri::check_registration`] with an `http` or `https`
    /// scheme: the only URIs a page of ours may link to or post a form to.
    pub fn is_web(uri: &str) -> bool {
        Self::check_base_url(uri).is_ok()
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

/// Parses a URI under the registration rule of [`RedirectUri::check_registration`].
fn checked_uri(uri: &str) -> Result<Url, RedirectUriError> {
    // The URL parser drops tabs and newlines and trims spaces, so " javascript:x" would parse
    // as a javascript URL while being stored and compared as something else: refuse them.
    if uri
        .chars()
        .any(|character| character.is_control() || character.is_whitespace())
    {
        return Err(RedirectUriError::Malformed);
    }
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard);
    }
    let parsed = Url::parse(uri).map_err(|_| RedirectUriError::Malformed)?;
    if parsed.fragment().is_some() {
        return Err(RedirectUriError::Fragment);
    }
    if DANGEROUS_SCHEMES.contains(&parsed.scheme()) {
        return Err(RedirectUriError::DangerousScheme(
            parsed.scheme().to_owned(),
        ));
    }
    Ok(parsed)
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
            Err(RedirectUriError::Fragment),
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

    fn check_registered(uri: &str, expected: Result<(), RedirectUriError>) {
        let result = RedirectUri::check_registration(uri);
        assert_eq!(result.err(), expected.err(), "{uri:?}");
    }

    #[test]
    fn registration_rules() {
        for uri in [
            "https://portal.example/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb?x=1",
            "com.example.app:/oauth2redirect",
            "com.example.app://cb",
        ] {
            check_registered(uri, Ok(()));
        }
        let dangerous = |scheme: &str| Err(RedirectUriError::DangerousScheme(scheme.to_owned()));
        check_registered("javascript:alert(1)", dangerous("javascript"));
        check_registered("JavaScript:alert(1)", dangerous("javascript"));
        check_registered(
            "data:text/html,<script>alert(1)</script>",
            dangerous("data"),
        );
        check_registered("vbscript:msgbox(1)", dangerous("vbscript"));
        check_registered("file:///etc/passwd", dangerous("file"));
        check_registered(" javascript:alert(1)", Err(RedirectUriError::Malformed));
        check_registered("java\tscript:alert(1)", Err(RedirectUriError::Malformed));
        check_registered(
            "https://portal.example/cb#x",
            Err(RedirectUriError::Fragment),
        );
        check_registered("/callback", Err(RedirectUriError::Malformed));
        check_registered("portal.example/cb", Err(RedirectUriError::Malformed));
        check_registered(
            "https://*.portal.example/cb",
            Err(RedirectUriError::Wildcard),
        );
    }

    #[test]
    fn base_url_is_a_web_page() {
        assert_eq!(
            RedirectUri::check_base_url("https://portal.example/"),
            Ok(())
        );
        assert_eq!(
            RedirectUri::check_base_url("com.example.app:/home"),
            Err(RedirectUriError::NotWeb)
        );
        assert_eq!(
            RedirectUri::check_base_url("javascript:alert(1)"),
            Err(RedirectUriError::DangerousScheme("javascript".to_owned()))
        );
    }

    #[test]
    fn a_dangerous_registered_uri_never_matches() {
        check(
            Some("javascript:alert(1)"),
            &["javascript:alert(1)"],
            false,
            Err(RedirectUriError::DangerousScheme("javascript".to_owned())),
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
