//! A stand-in for Sésame, enough for the portal: discovery, a JWKS that tests can change and
//! whose fetches are counted, a token endpoint for the authorization code grant with PKCE and
//! `client_secret_basic`, and tokens signed with throwaway EC P-256 keys.
//!
//! The end-to-end tests against the real Sésame live in Sésame's own test binary; these check
//! the portal's side of each rule, with tokens no real provider would issue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::extract::{Form, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use url::Url;

use sesame_demo_portal::{ClientSecret, Config, RunningPortal};

/// The portal's client id at the mock.
pub(crate) const CLIENT_ID: &str = "smart-oa-portal";
/// The portal's secret, with characters `client_secret_basic` must form-encode.
pub(crate) const CLIENT_SECRET: &str = "portal secret+with:odd&chars";
/// The audience access tokens are issued for.
pub(crate) const AUDIENCE: &str = "smart-oa-api";

/// A running mock provider, stopped when dropped.
pub(crate) struct MockIdp {
    /// `http://127.0.0.1:PORT/realms/test`.
    pub(crate) issuer: String,
    /// The key discovery publishes first, which signs the ID tokens.
    pub(crate) key: TestKey,
    state: Arc<MockState>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// An EC P-256 key pair with its `kid`.
#[derive(Clone)]
pub(crate) struct TestKey {
    /// The key's id in the JWKS and in token headers.
    pub(crate) kid: String,
    pkcs8: Vec<u8>,
    x: String,
    y: String,
}

/// What the test decided the user did at the provider: who signed in, for which request.
#[derive(Clone)]
pub(crate) struct Approval {
    /// The user's subject.
    pub(crate) subject: String,
    /// `given_name`.
    pub(crate) given_name: String,
    /// `family_name`.
    pub(crate) family_name: String,
    /// The `nonce` of the authorization request (or another, to test the check).
    pub(crate) nonce: String,
    /// The `code_challenge` of the authorization request.
    pub(crate) code_challenge: String,
}

struct MockState {
    issuer: String,
    signing_key: TestKey,
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
    codes: Mutex<HashMap<String, Approval>>,
}

impl MockIdp {
    /// Starts the provider on `127.0.0.1:0`.
    pub(crate) async fn start() -> MockIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the mock provider");
        Self::start_on(listener).await
    }

    /// Starts the provider on a listener bound beforehand.
    pub(crate) async fn start_on(listener: tokio::net::TcpListener) -> MockIdp {
        let address = listener.local_addr().expect("mock address");
        let issuer = format!("http://{address}/realms/test");
        let key = TestKey::generate("key-1");
        let state = Arc::new(MockState {
            issuer: issuer.clone(),
            signing_key: key.clone(),
            jwks: Mutex::new(json!({ "keys": [key.jwk()] })),
            jwks_fetches: AtomicUsize::new(0),
            codes: Mutex::new(HashMap::new()),
        });
        let router = Router::new()
            .route(
                "/realms/test/.well-known/openid-configuration",
                get(get_discovery),
            )
            .route("/realms/test/protocol/openid-connect/certs", get(get_certs))
            .route(
                "/realms/test/protocol/openid-connect/token",
                post(post_token),
            )
            .with_state(state.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await;
        });
        MockIdp {
            issuer,
            key,
            state,
            shutdown: Some(shutdown),
        }
    }

    /// An OpenID Connect endpoint, such as `auth` or `logout`.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}/protocol/openid-connect/{path}", self.issuer)
    }

    /// How many times the JWKS was fetched.
    pub(crate) fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Publishes `key` beside the current keys, as a key rotation does.
    pub(crate) fn publish(&self, key: &TestKey) {
        let mut jwks = self.state.jwks.lock().expect("JWKS lock");
        if let Some(keys) = jwks["keys"].as_array_mut() {
            keys.push(key.jwk());
        }
    }

    /// Records that a user approved an authorization request: the next token request with
    /// `code` gets tokens for them.
    pub(crate) fn approve(&self, code: &str, approval: Approval) {
        self.state
            .codes
            .lock()
            .expect("codes lock")
            .insert(code.to_owned(), approval);
    }

    /// An access token as Sésame issues it for a user (`auth_time` set), with `changes`
    /// applied to the claims.
    pub(crate) fn user_access_token(&self, subject: &str, changes: Value) -> String {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": [CLIENT_ID, AUDIENCE],
            "exp": now() + 300,
            "iat": now(),
            "auth_time": now() - 10,
            "client_id": CLIENT_ID,
            "azp": CLIENT_ID,
            "scope": "openid profile email",
        });
        merge(&mut claims, changes);
        self.key.sign("at+jwt", &claims)
    }

    /// An access token as Sésame issues it with client credentials (no `auth_time`).
    pub(crate) fn service_access_token(&self, client_id: &str) -> String {
        let claims = json!({
            "iss": self.issuer,
            "sub": format!("client-{client_id}"),
            "aud": [client_id, AUDIENCE],
            "exp": now() + 300,
            "iat": now(),
            "client_id": client_id,
            "azp": client_id,
            "preferred_username": format!("service-account-{client_id}"),
        });
        self.key.sign("at+jwt", &claims)
    }

    /// A portal configuration for this provider, listening on `listener`'s address.
    pub(crate) fn portal_config(&self, listener: &std::net::TcpListener) -> Config {
        let address = listener.local_addr().expect("portal address");
        let mut config = Config::new(
            Url::parse(&self.issuer).expect("issuer URL"),
            CLIENT_ID,
            ClientSecret::new(CLIENT_SECRET),
            Url::parse(&format!("http://{address}/")).expect("portal URL"),
        );
        config.listen = address;
        config
    }

    /// Starts a portal for this provider on `127.0.0.1:0`.
    pub(crate) async fn start_portal(&self) -> RunningPortal {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the portal");
        let config = self.portal_config(&listener);
        sesame_demo_portal::spawn_on(config, listener)
            .await
            .unwrap_or_else(|err| panic!("the portal did not start: {err}"))
    }
}

impl Drop for MockIdp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl TestKey {
    /// A fresh key.
    pub(crate) fn generate(kid: &str) -> TestKey {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
            .expect("generate a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("read the generated key");
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        TestKey {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            x: BASE64URL_NOPAD.encode(&point[1..33]),
            y: BASE64URL_NOPAD.encode(&point[33..]),
        }
    }

    /// The same key pair under another `kid`.
    pub(crate) fn renamed(&self, kid: &str) -> TestKey {
        TestKey {
            kid: kid.to_owned(),
            ..self.clone()
        }
    }

    /// The public key as a JWK.
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
            "x": self.x,
            "y": self.y,
        })
    }

    /// A JWT of type `typ` signed with ES256.
    pub(crate) fn sign(&self, typ: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        self.sign_with_header(&header, claims)
    }

    /// A JWT with `header` as it is, signed with this key (`header.alg` must be ES256).
    pub(crate) fn sign_with_header(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_ec_der(&self.pkcs8))
            .expect("sign a test token")
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit in i64")
}

/// Sets each field of `changes` in `claims`; a `null` removes the field.
pub(crate) fn merge(claims: &mut Value, changes: Value) {
    let (Some(claims), Value::Object(changes)) = (claims.as_object_mut(), changes) else {
        return;
    };
    for (name, value) in changes {
        if value.is_null() {
            claims.remove(&name);
        } else {
            claims.insert(name, value);
        }
    }
}

async fn get_discovery(State(state): State<Arc<MockState>>) -> Json<Value> {
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
        "end_session_endpoint": format!("{issuer}/protocol/openid-connect/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn get_certs(State(state): State<Arc<MockState>>) -> Json<Value> {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(state.jwks.lock().expect("JWKS lock").clone())
}

/// The authorization code grant: `client_secret_basic`, a known code, and the PKCE verifier of
/// its challenge.
async fn post_token(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refuse = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": error })));
    if !client_authenticated(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refuse("unsupported_grant_type").into_response();
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(approval) = state.codes.lock().expect("codes lock").remove(&code) else {
        return refuse("invalid_grant").into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if BASE64URL_NOPAD.encode(digest.as_ref()) != approval.code_challenge {
        return refuse("invalid_grant").into_response();
    }

    let access_claims = json!({
        "iss": state.issuer,
        "sub": approval.subject,
        "aud": [CLIENT_ID, AUDIENCE],
        "exp": now() + 300,
        "iat": now(),
        "auth_time": now(),
        "client_id": CLIENT_ID,
        "azp": CLIENT_ID,
        "scope": "openid profile email",
    });
    let access_token = state.signing_key.sign("at+jwt", &access_claims);
    let access_digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    let at_hash = BASE64URL_NOPAD.encode(&access_digest.as_ref()[..16]);
    let id_claims = json!({
        "iss": state.issuer,
        "sub": approval.subject,
        "aud": CLIENT_ID,
        "exp": now() + 300,
        "iat": now(),
        "auth_time": now(),
        "nonce": approval.nonce,
        "at_hash": at_hash,
        "given_name": approval.given_name,
        "family_name": approval.family_name,
        "email": "producteur@example.test",
    });
    let id_token = state.signing_key.sign("JWT", &id_claims);
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
        "scope": "openid profile email",
    }))
    .into_response()
}

/// Whether `Authorization: Basic` holds the portal's form-encoded id and secret (RFC 6749
/// §2.3.1).
fn client_authenticated(headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = BASE64.decode(encoded.as_bytes()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return false;
    };
    let form_decode = |text: &str| -> String {
        url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    form_decode(id) == CLIENT_ID && form_decode(secret) == CLIENT_SECRET
}
