//! The provider's cookies: the login session of an authorization request and the browser's
//! single sign-on session. Both are scoped to their realm's path, `HttpOnly`, `SameSite=Lax`
//! (the relying party's redirect to us is a top-level navigation, which must carry them) and
//! `Secure` whenever the public URL is HTTPS.

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie of a login in progress.
pub const AUTH_SESSION_COOKIE: &str = "SESAME_AUTH_SESSION";
/// The cookie of a signed-in browser.
pub const SESSION_COOKIE: &str = "SESAME_SESSION";
/// The language the user chose with the page's language switcher.
pub const LOCALE_COOKIE: &str = "SESAME_LOCALE";

/// Reads a cookie from the request.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value for a realm's cookie; `max_age` of zero deletes it.
pub fn set_cookie(name: &str, value: &str, realm: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; Path=/realms/{realm}/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    );
    // Names, realm names and our tokens are all header-safe ASCII; an impossible failure falls
    // back to a deleting cookie rather than a panic.
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; SESAME_SESSION=abc".parse().unwrap());
        headers.append(header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(read_cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(read_cookie(&headers, "b"), Some("2"));
        assert_eq!(read_cookie(&headers, AUTH_SESSION_COOKIE), None);
        let cookie = set_cookie(SESSION_COOKIE, "v", "smart-oa", 60, true);
        assert_eq!(
            cookie.to_str().unwrap(),
            "SESAME_SESSION=v; Path=/realms/smart-oa/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
