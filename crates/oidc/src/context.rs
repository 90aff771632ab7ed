//! What every request handler shares: the database, the signing keys, the page renderer, the
//! public URL and the clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use sesame_domain::RealmSettings;
use sesame_login_ui::Ui;
use sesame_store::{Database, StoreError};

use crate::cookies::{LOCALE_COOKIE, read_cookie};
use crate::keys::KeyRing;

/// The shared state of the provider, held in an `Arc` by the HTTP server.
pub struct Provider {
    /// The database.
    pub db: Database,
    /// Signing keys of every realm.
    pub keys: KeyRing,
    /// Page renderer.
    pub ui: Ui,
    /// The base URL clients see, without a trailing slash.
    pub public_url: String,
    /// The time source.
    pub clock: Clock,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
}

impl Provider {
    /// The issuer of a realm: `{public_url}/realms/{realm}`.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.public_url)
    }

    /// Whether cookies get the `Secure` attribute: whenever clients reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The language of a page: `preferred` (the request's `ui_locales`, else the user's saved
    /// language), then the language cookie, then `Accept-Language`, then the realm's default,
    /// keeping only languages the realm supports.
    pub fn page_locale(
        &self,
        settings: &RealmSettings,
        headers: &HeaderMap,
        preferred: Option<&str>,
    ) -> String {
        self.ui.negotiate_locale(
            preferred,
            read_cookie(headers, LOCALE_COOKIE),
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok()),
            &settings.supported_locales,
            &settings.default_locale,
        )
    }

    /// The settings of an enabled realm, or `None` when it does not exist or is disabled.
    pub async fn realm(&self, name: &str) -> Result<Option<RealmSettings>, StoreError> {
        let name = name.to_owned();
        let settings = self
            .db
            .run(move |conn| sesame_store::find_realm(conn, &name))
            .await?;
        Ok(settings.filter(|settings| settings.enabled))
    }
}

/// Unix time in seconds, with an offset that tests move forward instead of sleeping.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    /// The current time, in Unix seconds.
    pub fn now(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        i64::try_from(system).unwrap_or(i64::MAX) + self.offset.load(Ordering::Relaxed)
    }

    /// Moves this clock forward. Only tests call it: a running server never changes its time.
    pub fn advance_for_tests(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}
