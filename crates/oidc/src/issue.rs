//! Minting tokens: JWT access tokens after RFC 9068, ID tokens after OIDC Core §2, and opaque
//! refresh tokens stored as digests.

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value, json};
use sesame_domain::{Client, RealmSettings, Scopes, User};
use sesame_store::{GrantRow, RefreshTokenRow};

use crate::keys::{KeyError, SigningKey};
use crate::{random_token, sha256, sha256_hex};

/// The tokens of one successful token request.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The ID token, when `openid` was granted.
    pub id_token: Option<String>,
    /// The refresh token and the row to store for it.
    pub refresh: Option<(String, RefreshTokenRow)>,
    /// The granted scopes.
    pub scope: String,
}

/// What the tokens speak of.
pub struct Subject<'a> {
    /// The user, absent for a client's own service account.
    pub user: Option<&'a User>,
    /// The grant, absent for client credentials.
    pub grant: Option<&'a GrantRow>,
}

/// Signs the tokens for a grant (or for a client alone, with client credentials).
#[allow(
    clippy::too_many_arguments,
    reason = "each input is a distinct fact of the token"
)]
pub fn issue_tokens(
    key: &SigningKey,
    issuer: &str,
    settings: &RealmSettings,
    client: &Client,
    subject: &Subject<'_>,
    scopes: &Scopes,
    nonce: Option<&str>,
    refresh_expires_at: Option<i64>,
    now: i64,
) -> Result<IssuedTokens, KeyError> {
    let expires_in = settings.access_token_lifespan;
    let scope = scopes.to_param();
    // The jti of a grant's access token starts with the grant id, so revoking the grant
    // revokes the token without storing every token issued.
    let jti = match subject.grant {
        Some(grant) => format!("{}.{}", grant.id, random_token(16)),
        None => random_token(16),
    };
    let sub = subject
        .user
        .map_or_else(|| client.id.clone(), |user| user.id.clone());

    let mut access = Map::new();
    access.insert("iss".into(), json!(issuer));
    access.insert("sub".into(), json!(sub));
    // RFC 9068 §3: `aud` names the resource servers; the client's own id stays for clients
    // that read their token, and the realm adds the APIs it serves.
    let mut audience = vec![client.client_id.clone()];
    audience.extend(
        settings
            .access_token_audience
            .iter()
            .filter(|aud| **aud != client.client_id)
            .cloned(),
    );
    if audience.len() == 1 {
        access.insert("aud".into(), json!(client.client_id));
    } else {
        access.insert("aud".into(), json!(audience));
    }
    access.insert("exp".into(), json!(now + expires_in));
    access.insert("iat".into(), json!(now));
    access.insert("jti".into(), json!(jti));
    access.insert("client_id".into(), json!(client.client_id));
    access.insert("azp".into(), json!(client.client_id));
    access.insert("scope".into(), json!(scope));
    access.insert("typ".into(), json!("Bearer"));
    match (subject.user, subject.grant) {
        (Some(user), Some(grant)) => {
            access.insert("auth_time".into(), json!(grant.auth_time));
            access.insert("acr".into(), json!(grant.acr));
            if let Some(session_id) = &grant.session_id {
                access.insert("sid".into(), json!(session_id));
            }
            access.insert("preferred_username".into(), json!(user.username));
        }
        _ => {
            access.insert(
                "preferred_username".into(),
                json!(format!("service-account-{}", client.client_id)),
            );
        }
    }
    let access_token = key.sign_jwt("at+jwt", &Value::Object(access))?;

    let id_token = match (subject.user, subject.grant) {
        (Some(user), Some(grant)) if scopes.contains("openid") => {
            let mut id = Map::new();
            id.insert("iss".into(), json!(issuer));
            id.insert("sub".into(), json!(user.id));
            id.insert("aud".into(), json!(client.client_id));
            id.insert("exp".into(), json!(now + expires_in));
            id.insert("iat".into(), json!(now));
            id.insert("auth_time".into(), json!(grant.auth_time));
            if let Some(nonce) = nonce {
                id.insert("nonce".into(), json!(nonce));
            }
            id.insert("azp".into(), json!(client.client_id));
            // Keycloak's claim: with the header's `typ`, what tells an ID token from an access
            // token signed by the same key (RP-initiated logout trusts only ID tokens).
            id.insert("typ".into(), json!("ID"));
            id.insert("at_hash".into(), json!(at_hash(&access_token)));
            if let Some(session_id) = &grant.session_id {
                id.insert("sid".into(), json!(session_id));
            }
            id.insert("acr".into(), json!(grant.acr));
            let amr: Vec<&str> = grant
                .amr
                .split(' ')
                .filter(|method| !method.is_empty())
                .collect();
            id.insert("amr".into(), json!(amr));
            id.extend(user_claims(user, scopes));
            Some(key.sign_jwt("JWT", &Value::Object(id))?)
        }
        _ => None,
    };

    let refresh = match (subject.grant, refresh_expires_at) {
        (Some(grant), Some(expires_at)) => {
            let token = random_token(32);
            let row = RefreshTokenRow {
                token_sha256: sha256_hex(&token),
                grant_id: grant.id.clone(),
                scope: scope.clone(),
                created_at: now,
                expires_at,
                used_at: None,
            };
            Some((token, row))
        }
        _ => None,
    };
    Ok(IssuedTokens {
        access_token,
        expires_in,
        id_token,
        refresh,
        scope,
    })
}

/// The claims about a user that the granted scopes release (OIDC Core §5.4).
pub fn user_claims(user: &User, scopes: &Scopes) -> Map<String, Value> {
    let mut claims = Map::new();
    if scopes.contains("profile") {
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert("name".into(), json!(user.display_name()));
        if let Some(first_name) = &user.first_name {
            claims.insert("given_name".into(), json!(first_name));
        }
        if let Some(last_name) = &user.last_name {
            claims.insert("family_name".into(), json!(last_name));
        }
        if let Some(locale) = &user.locale {
            claims.insert("locale".into(), json!(locale));
        }
    }
    if scopes.contains("email") {
        if let Some(email) = &user.email {
            claims.insert("email".into(), json!(email));
        }
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}

/// The ID token's `at_hash`: the left half of the access token's SHA-256, base64url
/// (OIDC Core §3.1.3.6, for RS256 and ES256 alike).
pub fn at_hash(access_token: &str) -> String {
    let digest = sha256(access_token.as_bytes());
    BASE64URL_NOPAD.encode(&digest[..16])
}

/// The JSON body of a token response (RFC 6749 §5.1).
pub fn token_response_body(tokens: &IssuedTokens, now: i64) -> Value {
    let mut body = Map::new();
    body.insert("access_token".into(), json!(tokens.access_token));
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(tokens.expires_in));
    if let Some((refresh_token, row)) = &tokens.refresh {
        body.insert("refresh_token".into(), json!(refresh_token));
        body.insert("refresh_expires_in".into(), json!(row.expires_at - now));
    }
    if let Some(id_token) = &tokens.id_token {
        body.insert("id_token".into(), json!(id_token));
    }
    body.insert("scope".into(), json!(tokens.scope));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use sesame_domain::{ClientAuthMethod, SigningAlgorithm};

    use super::*;

    fn client() -> Client {
        Client {
            id: "c-id".to_owned(),
            realm: "smart-oa".to_owned(),
            client_id: "api-consumer".to_owned(),
            name: String::new(),
            enabled: true,
            auth_method: ClientAuthMethod::ClientSecret,
            secret_sha256: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            base_url: None,
            standard_flow_enabled: false,
            service_accounts_enabled: true,
            pkce_required: false,
            jwks: None,
            realm_admin: false,
        }
    }

    fn audience_of(settings: &RealmSettings) -> Value {
        let (key, _) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
        let subject = Subject {
            user: None,
            grant: None,
        };
        let scopes = Scopes::parse_supported(Some("profile"));
        let tokens = issue_tokens(
            &key,
            "https://id.example/realms/smart-oa",
            settings,
            &client(),
            &subject,
            &scopes,
            None,
            None,
            1000,
        )
        .unwrap();
        let payload = tokens.access_token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).unwrap()).unwrap();
        assert_eq!(claims["typ"], "Bearer");
        assert!(tokens.refresh.is_none() && tokens.id_token.is_none());
        claims["aud"].clone()
    }

    #[test]
    fn access_token_audience_names_the_realm_apis() {
        assert_eq!(
            audience_of(&RealmSettings::default()),
            json!("api-consumer")
        );
        let settings = RealmSettings {
            access_token_audience: vec!["smart-oa-api".to_owned(), "api-consumer".to_owned()],
            ..RealmSettings::default()
        };
        assert_eq!(
            audience_of(&settings),
            json!(["api-consumer", "smart-oa-api"])
        );
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_digest() {
        // OIDC Core §3.1.3.6 with a known SHA-256: the first 16 bytes, base64url.
        assert_eq!(at_hash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
    }
}
