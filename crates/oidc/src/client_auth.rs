//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post` (RFC 6749 §2.3.1), `private_key_jwt`
//! (OIDC Core §9, RFC 7523) and public clients that send only their `client_id`.

use axum::http::{HeaderMap, header};
use data_encoding::BASE64;
use serde_json::Value;
use sesame_domain::{Client, ClientAuthMethod, constant_time_eq};

use crate::error::{ErrorCode, OAuthError};
use crate::jwt::UnverifiedJwt;
use crate::keys::PublicJwk;
use crate::params::Params;
use crate::{Provider, sha256_hex};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest lifetime accepted for a client assertion: it is meant for one request.
const MAX_ASSERTION_LIFETIME: i64 = 600;

/// What the request presented as client credentials.
enum Presented {
    Secret {
        client_id: String,
        secret: String,
    },
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    PublicClient {
        client_id: String,
    },
}

/// Authenticates the client of a back-channel request. Every failure is `invalid_client`,
/// without saying which check failed; the log says it.
pub(crate) async fn authenticate_client(
    provider: &Provider,
    realm: &str,
    headers: &HeaderMap,
    params: &Params,
    endpoint_url: &str,
) -> Result<Client, OAuthError> {
    let presented = presented_credentials(headers, params)?;
    let client_id = match &presented {
        Presented::Secret { client_id, .. } | Presented::PublicClient { client_id } => {
            client_id.clone()
        }
        Presented::Assertion {
            client_id,
            assertion,
        } => match client_id {
            Some(client_id) => client_id.clone(),
            None => assertion_subject(assertion).ok_or_else(OAuthError::invalid_client)?,
        },
    };
    let (realm_name, lookup_id) = (realm.to_owned(), client_id.clone());
    let client = provider
        .db
        .run(move |conn| sesame_store::find_client(conn, &realm_name, &lookup_id))
        .await
        .map_err(|err| {
            tracing::error!(realm, error = %err, "client lookup failed");
            OAuthError::server()
        })?;
    let Some(client) = client.filter(|client| client.enabled) else {
        tracing::debug!(
            realm,
            client_id,
            "client authentication failed: unknown or disabled client"
        );
        return Err(OAuthError::invalid_client());
    };

    let outcome = match (&presented, client.auth_method) {
        (Presented::Secret { secret, .. }, ClientAuthMethod::ClientSecret) => {
            let digest = sha256_hex(secret);
            let matches = client
                .secret_sha256
                .as_deref()
                .is_some_and(|stored| constant_time_eq(stored.as_bytes(), digest.as_bytes()));
            if matches { Ok(()) } else { Err("wrong secret") }
        }
        (Presented::Assertion { assertion, .. }, ClientAuthMethod::PrivateKeyJwt) => {
            check_assertion(provider, realm, &client, assertion, endpoint_url).await
        }
        (Presented::PublicClient { .. }, ClientAuthMethod::None) => Ok(()),
        _ => Err("authentication method not allowed for this client"),
    };
    match outcome {
        Ok(()) => Ok(client),
        Err(reason) => {
            tracing::info!(realm, client_id, reason, "client authentication failed");
            Err(OAuthError::invalid_client())
        }
    }
}

fn presented_credentials(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim());
    let methods = [
        basic.is_some(),
        params.has("client_secret"),
        params.has("client_assertion"),
    ];
    if methods.iter().filter(|used| **used).count() > 1 {
        // RFC 6749 §2.3: a client must not use more than one method in a request.
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "more than one client authentication method",
        ));
    }
    if let Some(credentials) = basic {
        let (client_id, secret) =
            decode_basic(credentials).ok_or_else(OAuthError::invalid_client)?;
        if params
            .get("client_id")
            .is_some_and(|form_id| form_id != client_id)
        {
            return Err(OAuthError::invalid_client());
        }
        return Ok(Presented::Secret { client_id, secret });
    }
    if let Some(secret) = params.get("client_secret") {
        let client_id = params
            .get("client_id")
            .ok_or_else(OAuthError::invalid_client)?;
        return Ok(Presented::Secret {
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
        });
    }
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "unsupported client_assertion_type",
            ));
        }
        return Ok(Presented::Assertion {
            client_id: params.get("client_id").map(str::to_owned),
            assertion: assertion.to_owned(),
        });
    }
    match params.get("client_id") {
        Some(client_id) => Ok(Presented::PublicClient {
            client_id: client_id.to_owned(),
        }),
        None => Err(OAuthError::invalid_client()),
    }
}

/// Decodes HTTP Basic credentials. RFC 6749 §2.3.1 has the client id and secret
/// form-urlencoded before Base64, so a secret with `%`, `+`, `:` or `&` arrives encoded.
fn decode_basic(credentials: &str) -> Option<(String, String)> {
    let decoded = BASE64.decode(credentials.as_bytes()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (client_id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| -> String {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(client_id), unescape(secret)))
}

fn assertion_subject(assertion: &str) -> Option<String> {
    let jwt = UnverifiedJwt::parse(assertion).ok()?;
    jwt.claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Checks a `private_key_jwt` assertion (RFC 7523 §3): signed by a key of the client, `iss`
/// and `sub` equal to its `client_id`, `aud` naming this endpoint or the issuer, not expired,
/// short-lived, and its `jti` never seen before.
async fn check_assertion(
    provider: &Provider,
    realm: &str,
    client: &Client,
    assertion: &str,
    endpoint_url: &str,
) -> Result<(), &'static str> {
    let jwt = UnverifiedJwt::parse(assertion).map_err(|_| "malformed assertion")?;
    let jwks: Value = client
        .jwks
        .as_deref()
        .and_then(|jwks| serde_json::from_str(jwks).ok())
        .ok_or("client has no usable JWKS")?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("client JWKS has no keys")?;
    let key = keys
        .iter()
        .filter_map(|jwk| PublicJwk::from_jwk(jwk).ok())
        .find(|key| jwt.kid().is_none_or(|kid| kid == key.kid))
        .ok_or("no client key matches the assertion")?;
    jwt.verify(&key).map_err(|_| "bad assertion signature")?;

    let claim = |name: &str| jwt.claims.get(name).and_then(Value::as_str);
    if claim("iss") != Some(client.client_id.as_str())
        || claim("sub") != Some(client.client_id.as_str())
    {
        return Err("assertion iss or sub is not the client");
    }
    let issuer = provider.issuer(realm);
    let audience_ok = match jwt.claims.get("aud") {
        Some(Value::String(aud)) => aud == endpoint_url || *aud == issuer,
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| aud == endpoint_url || aud == issuer),
        _ => false,
    };
    if !audience_ok {
        return Err("assertion audience is not this server");
    }
    let now = provider.clock.now();
    let expires_at = jwt
        .claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("assertion without exp")?;
    if expires_at <= now || expires_at > now + MAX_ASSERTION_LIFETIME {
        return Err("assertion expired or too long-lived");
    }
    let jti = claim("jti").ok_or("assertion without jti")?;
    let mark = format!("assertion:{}:{}:{jti}", client.id, client.client_id);
    let first_use = provider
        .db
        .run(move |conn| sesame_store::insert_token_mark(conn, &mark, expires_at))
        .await
        .map_err(|_| "could not record the assertion")?;
    if first_use {
        Ok(())
    } else {
        Err("assertion replayed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // RFC 6749 §2.3.1: "%", "+", ":" and "&" in a secret arrive percent-encoded.
        let encoded = BASE64.encode(b"my%20client:p%25a%2Bs%3As%26");
        assert_eq!(
            decode_basic(&encoded),
            Some(("my client".to_owned(), "p%a+s:s&".to_owned()))
        );
        assert_eq!(decode_basic("!!!"), None);
        assert_eq!(decode_basic(&BASE64.encode(b"no-colon")), None);
    }
}
