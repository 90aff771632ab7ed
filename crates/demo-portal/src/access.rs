//! Access-token validation for the API, as a resource server does it with JWT access tokens
//! ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)): the `at+jwt` type, an
//! allowed algorithm, a signature by a key of Sésame's JWKS, the issuer, the audience and the
//! expiry. The JWKS is cached and fetched again when a token names an unknown key, at most once
//! every ten seconds, so that forged `kid`s cannot make the portal hammer Sésame.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};
use url::Url;

use crate::backchannel::{BackChannel, BackChannelError};

/// The algorithms Sésame signs with. Anything else (`none`, the HMAC family that a public key
/// could be abused as a secret for, EdDSA) is refused before any key is looked at.
const ALLOWED_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];
/// The clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECONDS: u64 = 60;
/// The shortest time between two fetches of the JWKS caused by unknown `kid`s.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// Checks access tokens against one issuer, one audience and the issuer's JWKS.
#[derive(Debug)]
pub(crate) struct AccessTokenValidator {
    issuer: String,
    audience: String,
    jwks_uri: Url,
    keys: RwLock<HashMap<String, VerificationKey>>,
    /// When an unknown `kid` last caused a fetch; held while fetching, so that concurrent
    /// requests with the same new key wait for one fetch rather than each making their own.
    last_refresh: Mutex<Option<Instant>>,
}

/// The claims the API reads from a valid access token.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AccessClaims {
    /// The user, or for client credentials the client's service account.
    pub(crate) sub: String,
    /// When the user authenticated; only tokens issued for a user carry it.
    #[serde(default)]
    pub(crate) auth_time: Option<i64>,
    /// The client the token was issued to.
    #[serde(default)]
    pub(crate) client_id: Option<String>,
}

/// Why a token was refused. Each reason becomes `error="invalid_token"` (RFC 6750 §3.1) with a
/// short ASCII description that reveals nothing about the keys.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccessTokenError {
    /// Not three base64url parts with a JSON header naming a known algorithm.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// The header's `alg` is not RS256 or ES256.
    #[error("the token's signing algorithm is not accepted")]
    AlgorithmNotAllowed,
    /// The header's `typ` is not `at+jwt` (RFC 9068 §4, step 1).
    #[error("the token is not a JWT access token")]
    NotAnAccessToken,
    /// The header names no key.
    #[error("the token names no signing key")]
    NoKeyId,
    /// The key is not in the JWKS, even after fetching it again.
    #[error("the token's signing key is unknown")]
    UnknownKey,
    /// The key does not go with the header's algorithm.
    #[error("the token's signing key does not match its algorithm")]
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is past, beyond the leeway.
    #[error("the token has expired")]
    Expired,
    /// `iss` is not the issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not contain the API's audience.
    #[error("the token is not meant for this API")]
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    #[error("the token's claims are incomplete")]
    BadClaims,
}

/// A key of the JWKS and the one algorithm it may verify.
#[derive(Debug, Clone)]
struct VerificationKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl AccessTokenValidator {
    /// A validator whose JWKS is fetched at once from `jwks_uri`.
    pub(crate) async fn fetch(
        issuer: &str,
        audience: &str,
        jwks_uri: Url,
        backchannel: &BackChannel,
    ) -> Result<AccessTokenValidator, BackChannelError> {
        let keys = fetch_keys(&jwks_uri, backchannel).await?;
        Ok(AccessTokenValidator {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_uri,
            keys: RwLock::new(keys),
            last_refresh: Mutex::new(None),
        })
    }

    /// Checks a token and returns its claims.
    pub(crate) async fn validate(
        &self,
        token: &str,
        backchannel: &BackChannel,
    ) -> Result<AccessClaims, AccessTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessTokenError::Malformed)?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(AccessTokenError::AlgorithmNotAllowed);
        }
        // RFC 9068 §4 accepts the media type with or without its `application/` prefix, and
        // media types compare case-insensitively.
        let is_access_token = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if !is_access_token {
            return Err(AccessTokenError::NotAnAccessToken);
        }
        let kid = header.kid.ok_or(AccessTokenError::NoKeyId)?;

        let key = match self.find_key(&kid).await {
            Some(key) => key,
            None => self
                .refresh_for(&kid, backchannel)
                .await
                .ok_or(AccessTokenError::UnknownKey)?,
        };
        if key.algorithm != header.alg {
            return Err(AccessTokenError::KeyAlgorithmMismatch);
        }

        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.key, &validation)
            .map_err(|err| refusal(&err))?;
        Ok(data.claims)
    }

    async fn find_key(&self, kid: &str) -> Option<VerificationKey> {
        self.keys.read().await.get(kid).cloned()
    }

    /// Fetches the JWKS again for an unknown `kid`, unless that was done less than
    /// [`MIN_REFRESH_INTERVAL`] ago, and returns the key if it is there now.
    async fn refresh_for(&self, kid: &str, backchannel: &BackChannel) -> Option<VerificationKey> {
        let mut last_refresh = self.last_refresh.lock().await;
        // Another request may have fetched the key while this one waited for the lock.
        if let Some(key) = self.find_key(kid).await {
            return Some(key);
        }
        let now = Instant::now();
        if last_refresh.is_some_and(|last| now.duration_since(last) < MIN_REFRESH_INTERVAL) {
            tracing::debug!(kid, "unknown signing key, JWKS fetched recently");
            return None;
        }
        *last_refresh = Some(now);
        match fetch_keys(&self.jwks_uri, backchannel).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "JWKS fetched again for an unknown key");
                let found = keys.get(kid).cloned();
                *self.keys.write().await = keys;
                found
            }
            Err(err) => {
                tracing::warn!(error = %err, "JWKS fetch failed, keeping the cached keys");
                None
            }
        }
    }
}

impl AccessClaims {
    /// Whether the token was issued to a client for itself (client credentials) rather than
    /// for a user: only a user's authentication has a time (`auth_time`, RFC 9068 §2.2.1).
    pub(crate) fn is_service_account(&self) -> bool {
        self.auth_time.is_none()
    }
}

/// Fetches the JWKS and keeps the keys usable for [`ALLOWED_ALGORITHMS`], by `kid`.
async fn fetch_keys(
    jwks_uri: &Url,
    backchannel: &BackChannel,
) -> Result<HashMap<String, VerificationKey>, BackChannelError> {
    let document: Value = backchannel.get_json(jwks_uri, None).await?;
    Ok(usable_keys(&document))
}

/// The usable keys of a JWKS document. Keys are read one by one, so that a key of a kind this
/// crate does not know does not hide the others (RFC 7517 §5 asks for exactly that).
fn usable_keys(document: &Value) -> HashMap<String, VerificationKey> {
    let Some(entries) = document.get("keys").and_then(Value::as_array) else {
        return HashMap::new();
    };
    entries
        .iter()
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let key = verification_key(&jwk)?;
            Some((kid, key))
        })
        .collect()
}

/// The algorithm a key may verify, or `None` for a key the API does not accept.
fn verification_key(jwk: &Jwk) -> Option<VerificationKey> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|key_use| *key_use != PublicKeyUse::Signature)
    {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        // Other curves, symmetric keys (`oct`: a secret has no place in a JWKS), EdDSA and
        // whatever a later version of the crate adds.
        _ => return None,
    };
    // A key that declares its algorithm may verify only that one (RFC 7517 §4.4).
    let declared_matches = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(_) => false,
    };
    if !declared_matches {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerificationKey { algorithm, key })
}

/// The refusal for a `jsonwebtoken` error.
fn refusal(err: &jsonwebtoken::errors::Error) -> AccessTokenError {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::ExpiredSignature => AccessTokenError::Expired,
        ErrorKind::InvalidIssuer => AccessTokenError::WrongIssuer,
        ErrorKind::InvalidAudience => AccessTokenError::WrongAudience,
        ErrorKind::InvalidSignature => AccessTokenError::BadSignature,
        ErrorKind::InvalidAlgorithm => AccessTokenError::KeyAlgorithmMismatch,
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::ImmatureSignature
        | ErrorKind::InvalidSubject => AccessTokenError::BadClaims,
        _ => AccessTokenError::Malformed,
    }
}

#[cfg(test)]
mod tests;
