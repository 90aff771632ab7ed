//! Server-side sessions: the browser holds only a random cookie, the portal holds what it
//! refers to. Two kinds: a login in progress (state, nonce and PKCE verifier between `/login`
//! and `/callback`) and a signed-in user (claims and tokens). Both live in memory and are lost
//! when the portal stops, which for a demo only means signing in again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use data_encoding::BASE64URL_NOPAD;
use openidconnect::core::CoreIdToken;
use openidconnect::{AccessToken, CsrfToken, Nonce, PkceCodeVerifier};

use crate::web::Page;

/// The cookie naming a signed-in user's session.
pub(crate) const SESSION_COOKIE: &str = "smartoa_session";
/// The cookie naming a login in progress.
pub(crate) const LOGIN_COOKIE: &str = "smartoa_login";
/// How long a session lasts after signing in, whatever happens at Sésame meanwhile.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a login may take between `/login` and `/callback`.
const LOGIN_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// The most logins in progress kept at once: anyone can start one, so this bounds memory.
const MAX_PENDING_LOGINS: usize = 10_000;
/// The number of random bytes in a cookie value: 256 bits.
const KEY_BYTES: usize = 32;

/// The random value of a session or login cookie. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SessionKey(String);

/// A signed-in user, as the callback verified it.
pub(crate) struct UserSession {
    /// The user's subject at Sésame.
    pub(crate) subject: String,
    /// `given_name`, if the ID token has it.
    pub(crate) given_name: Option<String>,
    /// `family_name`, if the ID token has it.
    pub(crate) family_name: Option<String>,
    /// `email`, if the ID token has it.
    pub(crate) email: Option<String>,
    /// The ID token, sent back as `id_token_hint` at logout.
    pub(crate) id_token: CoreIdToken,
    /// The access token, sent to the API only.
    pub(crate) access_token: AccessToken,
    /// When the access token stops being accepted.
    pub(crate) access_token_expires_at: Instant,
    created_at: Instant,
}

/// A login between `/login` and `/callback`.
pub(crate) struct PendingLogin {
    /// The `state` sent with the authorization request.
    pub(crate) state: CsrfToken,
    /// The `nonce` the ID token must carry.
    pub(crate) nonce: Nonce,
    /// The PKCE verifier of the challenge sent.
    pub(crate) pkce_verifier: PkceCodeVerifier,
    /// Where to go once signed in.
    pub(crate) next: Page,
    created_at: Instant,
}

/// Too many logins are in progress to start another.
#[derive(Debug, thiserror::Error)]
#[error("{MAX_PENDING_LOGINS} logins are already in progress")]
pub(crate) struct TooManyLogins;

/// Every session and login in progress.
#[derive(Default)]
pub(crate) struct SessionStore {
    sessions: Mutex<HashMap<SessionKey, Arc<UserSession>>>,
    logins: Mutex<HashMap<SessionKey, PendingLogin>>,
}

impl SessionKey {
    /// A fresh random key.
    pub(crate) fn generate() -> SessionKey {
        let mut bytes = [0_u8; KEY_BYTES];
        // Without randomness no session can be safe; aws-lc-rs fails only if the operating
        // system's random source does.
        aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
        SessionKey(BASE64URL_NOPAD.encode(&bytes))
    }

    /// The key in a request's cookie `name`, if there is one of the right shape.
    pub(crate) fn from_cookie(headers: &HeaderMap, name: &str) -> Option<SessionKey> {
        let value = cookie_value(headers, name)?;
        let decoded = BASE64URL_NOPAD.decode(value.as_bytes()).ok()?;
        (decoded.len() == KEY_BYTES).then(|| SessionKey(value.to_owned()))
    }

    /// The cookie value, to send in `Set-Cookie`.
    pub(crate) fn cookie_value(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SessionKey([redacted])")
    }
}

impl UserSession {
    /// A session starting now.
    pub(crate) fn new(
        subject: String,
        given_name: Option<String>,
        family_name: Option<String>,
        email: Option<String>,
        id_token: CoreIdToken,
        access_token: AccessToken,
        access_token_expires_at: Instant,
    ) -> UserSession {
        UserSession {
            subject,
            given_name,
            family_name,
            email,
            id_token,
            access_token,
            access_token_expires_at,
            created_at: Instant::now(),
        }
    }
}

impl PendingLogin {
    /// A login starting now.
    pub(crate) fn new(
        state: CsrfToken,
        nonce: Nonce,
        pkce_verifier: PkceCodeVerifier,
        next: Page,
    ) -> PendingLogin {
        PendingLogin {
            state,
            nonce,
            pkce_verifier,
            next,
            created_at: Instant::now(),
        }
    }
}

impl SessionStore {
    /// The session of `key`, unless it has ended.
    pub(crate) fn find_session(&self, key: &SessionKey) -> Option<Arc<UserSession>> {
        let sessions = lock(&self.sessions);
        sessions
            .get(key)
            .filter(|session| session.created_at.elapsed() < SESSION_LIFETIME)
            .cloned()
    }

    /// Stores a session under a new key and returns the key.
    pub(crate) fn insert_session(&self, session: UserSession) -> SessionKey {
        let key = SessionKey::generate();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, session| session.created_at.elapsed() < SESSION_LIFETIME);
        sessions.insert(key.clone(), Arc::new(session));
        key
    }

    /// Ends a session; ending one that does not exist is not an error.
    pub(crate) fn delete_session(&self, key: &SessionKey) -> Option<Arc<UserSession>> {
        lock(&self.sessions).remove(key)
    }

    /// Stores a login in progress under a new key and returns the key.
    pub(crate) fn insert_login(&self, login: PendingLogin) -> Result<SessionKey, TooManyLogins> {
        let mut logins = lock(&self.logins);
        logins.retain(|_, login| login.created_at.elapsed() < LOGIN_LIFETIME);
        if logins.len() >= MAX_PENDING_LOGINS {
            return Err(TooManyLogins);
        }
        let key = SessionKey::generate();
        logins.insert(key.clone(), login);
        Ok(key)
    }

    /// Removes and returns a login in progress: each can complete once.
    pub(crate) fn take_login(&self, key: &SessionKey) -> Option<PendingLogin> {
        lock(&self.logins)
            .remove(key)
            .filter(|login| login.created_at.elapsed() < LOGIN_LIFETIME)
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (the callback arrives by a top-level
/// navigation from Sésame, which Lax allows), `Secure` on an https portal.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that removes cookie `name`.
pub(crate) fn clear_cookie(name: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

/// The value of the first cookie `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, value)| value.trim())
}

/// Locks a map; a panic while it was held leaves it consistent (each change is one call).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(COOKIE, HeaderValue::from_str(cookie).expect("header value"));
        }
        headers
    }

    #[test]
    fn keys_are_random_and_read_back_from_cookies() {
        let key = SessionKey::generate();
        assert_ne!(key, SessionKey::generate());
        assert_eq!(key.cookie_value().len(), 43);
        let cookie = format!("other=1; {SESSION_COOKIE}={}", key.cookie_value());
        let found = SessionKey::from_cookie(&headers(&["a=b", &cookie]), SESSION_COOKIE);
        assert_eq!(found, Some(key));
        assert_eq!(format!("{found:?}"), "Some(SessionKey([redacted]))");
    }

    #[test]
    fn malformed_cookies_name_no_session() {
        for cookie in [
            "",
            "smartoa_session",
            "smartoa_session=",
            "smartoa_session=short",
            "smartoa_session=!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            "smartoa_sessionx=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                SessionKey::from_cookie(&headers(&[cookie]), SESSION_COOKIE),
                None,
                "{cookie}"
            );
        }
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        assert_eq!(
            set_cookie("n", "v", false),
            "n=v; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            set_cookie("n", "v", true),
            "n=v; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear_cookie("n", true),
            "n=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn a_login_completes_once() {
        let store = SessionStore::default();
        let key = store
            .insert_login(PendingLogin::new(
                CsrfToken::new("state".to_owned()),
                Nonce::new("nonce".to_owned()),
                PkceCodeVerifier::new("verifier".to_owned()),
                Page::Home,
            ))
            .expect("room for a login");
        assert!(store.take_login(&key).is_some());
        assert!(store.take_login(&key).is_none());
    }
}
