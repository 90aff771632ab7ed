//! Checking tokens we signed: access tokens presented to userinfo, introspection and the admin
//! API, and ID tokens presented as logout hints.

use serde_json::{Map, Value};
use sesame_domain::{RealmSettings, Scopes};

use crate::Provider;
use crate::jwt::UnverifiedJwt;
use crate::keys::KeyError;

/// An access token whose signature, issuer, expiry and revocation were checked.
#[derive(Debug, Clone)]
pub struct VerifiedAccessToken {
    /// All claims.
    pub claims: Map<String, Value>,
    /// `sub`: a user id, or a client's internal id for a service account.
    pub subject: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Its scopes.
    pub scopes: Scopes,
    /// Its `jti`.
    pub jti: String,
    /// The grant it belongs to, absent for client credentials.
    pub grant_id: Option<String>,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused. Callers answer all of them the same way to the client.
#[derive(Debug, thiserror::Error)]
pub enum TokenCheckError {
    /// Not a JWT, or not one of ours.
    #[error("malformed token")]
    Malformed,
    /// Signed by no key of the realm, or the signature is wrong.
    #[error("bad signature or unknown key")]
    BadSignature,
    /// Issued by another realm or server.
    #[error("wrong issuer")]
    WrongIssuer,
    /// Past its expiry.
    #[error("expired")]
    Expired,
    /// Revoked, or its grant or session was.
    #[error("revoked")]
    Revoked,
    /// Our keys or database failed.
    #[error("could not check the token: {0}")]
    Unavailable(String),
}

impl From<KeyError> for TokenCheckError {
    fn from(err: KeyError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// Checks the signature and issuer of a JWT signed by one of the realm's published keys. An
/// unknown `kid` reloads the keys once: another node may have rotated them.
pub async fn verify_signed(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    token: &str,
) -> Result<UnverifiedJwt, TokenCheckError> {
    let jwt = UnverifiedJwt::parse(token).map_err(|_| TokenCheckError::Malformed)?;
    let kid = jwt.kid().ok_or(TokenCheckError::Malformed)?.to_owned();
    let now = provider.clock.now();
    let algorithm = settings.default_signature_algorithm;
    let mut keys = provider
        .keys
        .realm_keys(&provider.db, realm, algorithm, now)
        .await?;
    if keys.find(&kid).is_none() {
        provider.keys.forget(realm);
        keys = provider
            .keys
            .realm_keys(&provider.db, realm, algorithm, now)
            .await?;
    }
    let key = keys.find(&kid).ok_or(TokenCheckError::BadSignature)?;
    jwt.verify(key).map_err(|_| TokenCheckError::BadSignature)?;
    if jwt.claims.get("iss").and_then(Value::as_str) != Some(provider.issuer(realm).as_str()) {
        return Err(TokenCheckError::WrongIssuer);
    }
    Ok(jwt)
}

/// Checks an access token of the realm completely: signature, issuer, type, expiry, and
/// revocation of the token, its grant and its browser session.
pub async fn verify_access_token(
    provider: &Provider,
    realm: &str,
    settings: &RealmSettings,
    token: &str,
) -> Result<VerifiedAccessToken, TokenCheckError> {
    let jwt = verify_signed(provider, realm, settings, token).await?;
    if jwt.typ() != Some("at+jwt") {
        return Err(TokenCheckError::Malformed);
    }
    let claims = jwt.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let expires_at = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(TokenCheckError::Malformed)?;
    if expires_at <= provider.clock.now() {
        return Err(TokenCheckError::Expired);
    }
    let subject = text("sub").ok_or(TokenCheckError::Malformed)?;
    let client_id = text("client_id").ok_or(TokenCheckError::Malformed)?;
    let jti = text("jti").ok_or(TokenCheckError::Malformed)?;
    let grant_id = jti.split_once('.').map(|(grant_id, _)| grant_id.to_owned());
    let scopes = Scopes::parse_supported(claims.get("scope").and_then(Value::as_str));

    let (jti_for_check, grant_for_check) = (jti.clone(), grant_id.clone());
    let revoked = provider
        .db
        .run(move |conn| {
            sesame_store::is_access_token_revoked(conn, &jti_for_check, grant_for_check.as_deref())
        })
        .await
        .map_err(|err| TokenCheckError::Unavailable(err.to_string()))?;
    if revoked {
        return Err(TokenCheckError::Revoked);
    }
    Ok(VerifiedAccessToken {
        claims,
        subject,
        client_id,
        scopes,
        jti,
        grant_id,
        expires_at,
    })
}

/// Reads a bearer token from an `Authorization` header value (RFC 6750 §2.1).
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}
