//! The signing keys of each realm: generating them, sealing their private part for storage,
//! keeping them parsed in memory, signing tokens, and publishing the JWKS.
//!
//! A realm has one active key, which signs, and may still publish retired keys until every token
//! they signed has expired ([`KeyRing::rotate`]). Private keys are stored as PKCS#8 sealed with
//! AES-256-GCM under the node's key-encryption key ([`KeyEncryptionKey`]); the database never
//! sees them in clear. All cryptography is aws-lc-rs, whose RSA is constant-time (the pure-Rust
//! `rsa` crate is not: RUSTSEC-2023-0071).
//!
//! This module does not parse tokens (see [`crate::jwt`]) nor serve the JWKS over HTTP: it hands
//! the ready document to the endpoint in [`RealmKeys::jwks`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};

use sesame_domain::SigningAlgorithm;
use sesame_store::{
    Database, DbConnection, SigningKeyRow, StoreError, list_signing_keys, rotate_signing_key,
};

use crate::jwt::{self, JwtError};

/// How long a realm's keys are served from memory before being read again, in seconds.
///
/// A rotation made by another node or by the CLI reaches this node within this delay.
pub const KEY_CACHE_SECONDS: i64 = 30;

/// The smallest RSA modulus accepted, in bits
/// ([RFC 7518 §3.3](https://www.rfc-editor.org/rfc/rfc7518#section-3.3)).
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits: what aws-lc-rs verifies for RS256.
const MAX_RSA_BITS: usize = 8192;
/// The length of a P-256 coordinate, in bytes.
const P256_COORDINATE_LEN: usize = 32;
/// The length of an AES-GCM tag, in bytes.
const GCM_TAG_LEN: usize = 16;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key-encryption key is not exactly 32 bytes.
    #[error("the key-encryption key must be 32 bytes")]
    BadKeyEncryptionKey,
    /// Encrypting a private key failed (no randomness).
    #[error("could not seal a private key")]
    Sealing,
    /// A sealed private key did not open: wrong key-encryption key, or the stored value was
    /// tampered with, truncated, or moved to another realm or kid.
    #[error("could not open a sealed private key (wrong key-encryption key or tampered value)")]
    Unsealing,
    /// Generating a key pair failed.
    #[error("could not generate a signing key")]
    Generation,
    /// A key (JWK, PKCS#8 or stored row) is malformed, of an unsupported type or too weak.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Producing a signature failed.
    #[error("could not sign a token")]
    Signing,
}

/// The node's key-encryption key: AES-256-GCM, sealing the private signing keys at rest.
pub struct KeyEncryptionKey(LessSafeKey);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// Takes the 32 bytes of an AES-256 key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::BadKeyEncryptionKey);
        }
        let key =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KeyError::BadKeyEncryptionKey)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad`.
    ///
    /// Returns `base64url(nonce || ciphertext || tag)` with a fresh random 96-bit nonce. Random
    /// nonces are safe for far more seals than a node ever makes (NIST SP 800-38D §8.3 allows
    /// 2³² under one key); each seal is one key generation.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Sealing)?;

        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + GCM_TAG_LEN);
        sealed.extend_from_slice(&nonce);
        let mut ciphertext = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut ciphertext,
            )
            .map_err(|_| KeyError::Sealing)?;
        sealed.extend_from_slice(&ciphertext);

        Ok(BASE64URL_NOPAD.encode(&sealed))
    }

    /// Decrypts what [`KeyEncryptionKey::seal`] produced with the same `aad`.
    ///
    /// Fails with [`KeyError::Unsealing`] on a wrong key, a different `aad`, or any change to
    /// the sealed text.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sealed = BASE64URL_NOPAD
            .decode(sealed.as_bytes())
            .map_err(|_| KeyError::Unsealing)?;
        if sealed.len() < NONCE_LEN + GCM_TAG_LEN {
            return Err(KeyError::Unsealing);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unsealing)?;

        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| KeyError::Unsealing)?;
        Ok(plaintext.to_vec())
    }
}

/// A public signing key as published in a JWKS
/// ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)), parsed once for verification.
#[derive(Clone)]
pub struct PublicJwk {
    /// The key id, the `kid` of tokens it verifies.
    pub kid: String,
    /// The one algorithm this key verifies.
    pub alg: SigningAlgorithm,
    /// The JWK members that define the key.
    material: PublicKeyMaterial,
    /// The key, parsed by aws-lc-rs.
    parsed: ParsedPublicKey,
}

/// The members of a public JWK that define the key, big-endian without leading zeros (RSA) or
/// at the curve's full length (EC).
#[derive(Clone)]
enum PublicKeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PublicJwk {
    /// Reads a public JWK: RSA (`kty` `RSA`, `n`, `e`, a modulus of 2048 to 8192 bits) or EC
    /// P-256 (`kty` `EC`, `crv` `P-256`, `x`, `y`).
    ///
    /// `alg`, when present, must be `RS256` or `ES256` and fit the key type; when absent it is
    /// inferred from the key type. `use`, when present, must be `sig`. A JWK without `kid` gets
    /// its [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) thumbprint as kid. A JWK carrying
    /// private members is refused: it is a private key sent where a public one belongs.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let Value::Object(members) = jwk else {
            return Err(malformed("a JWK must be a JSON object"));
        };
        let member = |name: &str| members.get(name).and_then(Value::as_str);
        if let Some(key_use) = members.get("use")
            && key_use.as_str() != Some("sig")
        {
            return Err(malformed("the JWK's use is not sig"));
        }
        if ["d", "p", "q", "dp", "dq", "qi", "oth"]
            .iter()
            .any(|name| members.contains_key(*name))
        {
            return Err(malformed("the JWK holds private key material"));
        }

        let (inferred_alg, material) = match member("kty") {
            Some("RSA") => {
                let n = strip_leading_zeros(&decode_member(member("n"), "n")?);
                let e = strip_leading_zeros(&decode_member(member("e"), "e")?);
                (SigningAlgorithm::Rs256, PublicKeyMaterial::Rsa { n, e })
            }
            Some("EC") => {
                if member("crv") != Some("P-256") {
                    return Err(malformed("only the P-256 curve is supported"));
                }
                let x = decode_member(member("x"), "x")?;
                let y = decode_member(member("y"), "y")?;
                (SigningAlgorithm::Es256, PublicKeyMaterial::Ec { x, y })
            }
            Some(_) | None => return Err(malformed("only RSA and EC keys are supported")),
        };
        let alg = match members.get("alg") {
            None => inferred_alg,
            Some(alg) => alg
                .as_str()
                .and_then(SigningAlgorithm::parse)
                .filter(|alg| *alg == inferred_alg)
                .ok_or_else(|| malformed("the JWK's alg is unsupported or does not fit its kty"))?,
        };

        let parsed = material.parse()?;
        let kid = match members.get("kid") {
            None => material.thumbprint(),
            Some(kid) => kid
                .as_str()
                .ok_or_else(|| malformed("the JWK's kid is not a string"))?
                .to_owned(),
        };
        Ok(Self {
            kid,
            alg,
            material,
            parsed,
        })
    }

    /// The JWK to publish: `kty`, `kid`, `use` (`sig`), `alg`, and `n`, `e` for RSA or `crv`,
    /// `x`, `y` for EC.
    pub fn to_jwk(&self) -> Value {
        let mut jwk = match &self.material {
            PublicKeyMaterial::Rsa { n, e } => json!({
                "kty": "RSA",
                "n": BASE64URL_NOPAD.encode(n),
                "e": BASE64URL_NOPAD.encode(e),
            }),
            PublicKeyMaterial::Ec { x, y } => json!({
                "kty": "EC",
                "crv": "P-256",
                "x": BASE64URL_NOPAD.encode(x),
                "y": BASE64URL_NOPAD.encode(y),
            }),
        };
        if let Value::Object(members) = &mut jwk {
            members.insert("kid".to_owned(), Value::String(self.kid.clone()));
            members.insert("use".to_owned(), Value::String("sig".to_owned()));
            members.insert(
                "alg".to_owned(),
                Value::String(self.alg.as_str().to_owned()),
            );
        }
        jwk
    }

    /// The key's [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) SHA-256 thumbprint, in
    /// base64url: the kid Sésame gives its own keys.
    pub fn thumbprint(&self) -> String {
        self.material.thumbprint()
    }

    /// Checks a JWS signature over `message`.
    ///
    /// RS256 is RSASSA-PKCS1-v1_5 with SHA-256; ES256 is ECDSA P-256 with SHA-256 in the fixed
    /// 64-byte `r || s` form JWS uses
    /// ([RFC 7518 §3.4](https://www.rfc-editor.org/rfc/rfc7518#section-3.4)), never ASN.1 DER.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JwtError> {
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| JwtError::BadSignature)
    }
}

impl PublicKeyMaterial {
    /// Checks the key and parses it for the algorithm of its type.
    fn parse(&self) -> Result<ParsedPublicKey, KeyError> {
        match self {
            Self::Rsa { n, e } => {
                let bits = bit_length(n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(malformed("the RSA modulus must have 2048 to 8192 bits"));
                }
                if e.is_empty() || e.len() > 4 {
                    return Err(malformed("the RSA exponent is out of range"));
                }
                ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public_key_der(n, e))
                    .map_err(|err| malformed(&format!("the RSA key is invalid: {err}")))
            }
            Self::Ec { x, y } => {
                if x.len() != P256_COORDINATE_LEN || y.len() != P256_COORDINATE_LEN {
                    return Err(malformed("a P-256 coordinate must be 32 bytes"));
                }
                // The SEC 1 uncompressed point; aws-lc checks that it lies on the curve.
                let mut point = Vec::with_capacity(1 + 2 * P256_COORDINATE_LEN);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|err| malformed(&format!("the EC key is invalid: {err}")))
            }
        }
    }

    /// The RFC 7638 thumbprint: SHA-256 of the required members, sorted, without whitespace.
    fn thumbprint(&self) -> String {
        // Base64url values need no JSON escaping, so the canonical form can be written directly.
        let canonical = match self {
            Self::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                BASE64URL_NOPAD.encode(e),
                BASE64URL_NOPAD.encode(n),
            ),
            Self::Ec { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                BASE64URL_NOPAD.encode(x),
                BASE64URL_NOPAD.encode(y),
            ),
        };
        BASE64URL_NOPAD.encode(digest(&SHA256, canonical.as_bytes()).as_ref())
    }
}

/// A private signing key, parsed once and kept in memory.
pub struct SigningKey {
    kid: String,
    alg: SigningAlgorithm,
    pair: PrivateKeyPair,
    public: PublicJwk,
    random: SystemRandom,
}

/// The aws-lc-rs key pair of a [`SigningKey`].
enum PrivateKeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key pair for `alg`: RSA 2048 bits or P-256.
    ///
    /// Returns the key and its PKCS#8 (v1) DER encoding, to be sealed before it is stored. The
    /// kid is the key's RFC 7638 thumbprint. RSA generation takes tens to hundreds of
    /// milliseconds: call it off the async workers.
    pub fn generate(alg: SigningAlgorithm) -> Result<(Self, Vec<u8>), KeyError> {
        let (pair, pkcs8) = match alg {
            SigningAlgorithm::Rs256 => {
                let pair =
                    RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
                let pkcs8 = pair
                    .as_der()
                    .map_err(|_| KeyError::Generation)?
                    .as_ref()
                    .to_vec();
                (PrivateKeyPair::Rsa(pair), pkcs8)
            }
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Generation)?;
                let pkcs8 = pair
                    .to_pkcs8v1()
                    .map_err(|_| KeyError::Generation)?
                    .as_ref()
                    .to_vec();
                (PrivateKeyPair::Ec(pair), pkcs8)
            }
        };
        Ok((Self::from_pair(alg, pair)?, pkcs8))
    }

    /// Reads a PKCS#8 DER private key for `alg`: RSA of at least 2048 bits, or P-256.
    pub fn from_pkcs8(alg: SigningAlgorithm, der: &[u8]) -> Result<Self, KeyError> {
        let pair = match alg {
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(|err| malformed(&format!("not an RSA PKCS#8 key: {err}")))?;
                PrivateKeyPair::Rsa(pair)
            }
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|err| malformed(&format!("not a P-256 PKCS#8 key: {err}")))?;
                PrivateKeyPair::Ec(pair)
            }
        };
        Self::from_pair(alg, pair)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// The public half, as published.
    pub fn public(&self) -> &PublicJwk {
        &self.public
    }

    /// Signs `claims` as a compact JWS with the header `{"alg", "typ", "kid"}`.
    ///
    /// `typ` is the media type of the token, such as `JWT` or `at+jwt`
    /// ([RFC 9068 §2.1](https://www.rfc-editor.org/rfc/rfc9068#section-2.1)). `claims` should be
    /// a JSON object ([RFC 7519 §7.1](https://www.rfc-editor.org/rfc/rfc7519#section-7.1)).
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let header = json!({ "alg": self.alg.as_str(), "typ": typ, "kid": self.kid });
        let signing_input = jwt::signing_input(&header, claims).map_err(|_| KeyError::Signing)?;
        let signature = self.sign(signing_input.as_bytes())?;
        Ok(jwt::compact(&signing_input, &signature))
    }

    /// The JWS signature of `message`: PKCS#1 v1.5 for RSA, fixed `r || s` for ECDSA.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            PrivateKeyPair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.random, message, &mut signature)
                    .map_err(|_| KeyError::Signing)?;
                Ok(signature)
            }
            PrivateKeyPair::Ec(pair) => {
                let signature = pair
                    .sign(&self.random, message)
                    .map_err(|_| KeyError::Signing)?;
                Ok(signature.as_ref().to_vec())
            }
        }
    }

    fn from_pair(alg: SigningAlgorithm, pair: PrivateKeyPair) -> Result<Self, KeyError> {
        let material = match &pair {
            PrivateKeyPair::Rsa(pair) => {
                let (n, e) = rsa_public_key_from_der(pair.public_key().as_ref())
                    .ok_or_else(|| malformed("the RSA public key does not decode"))?;
                PublicKeyMaterial::Rsa { n, e }
            }
            PrivateKeyPair::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let coordinates = match point.split_first() {
                    Some((0x04, coordinates)) if coordinates.len() == 2 * P256_COORDINATE_LEN => {
                        coordinates
                    }
                    _ => return Err(malformed("the EC public key is not an uncompressed point")),
                };
                let (x, y) = coordinates.split_at(P256_COORDINATE_LEN);
                PublicKeyMaterial::Ec {
                    x: x.to_vec(),
                    y: y.to_vec(),
                }
            }
        };
        // Also enforces the RSA size bounds on keys read from PKCS#8.
        let parsed = material.parse()?;
        let kid = material.thumbprint();
        let public = PublicJwk {
            kid: kid.clone(),
            alg,
            material,
            parsed,
        };
        Ok(Self {
            kid,
            alg,
            pair,
            public,
            random: SystemRandom::new(),
        })
    }
}

/// The keys of one realm, as loaded at one moment.
#[derive(Debug)]
pub struct RealmKeys {
    /// The key that signs new tokens.
    pub active: SigningKey,
    /// Every key still published, the active one first, then the retired ones, newest first.
    pub published: Vec<PublicJwk>,
    /// The JWKS document `{"keys": [...]}` of `published`, ready to serve.
    pub jwks: String,
}

impl RealmKeys {
    /// The published key with this kid.
    pub fn find(&self, kid: &str) -> Option<&PublicJwk> {
        self.published.iter().find(|key| key.kid == kid)
    }
}

/// The signing keys of every realm, loaded from the database and cached.
pub struct KeyRing {
    kek: Arc<KeyEncryptionKey>,
    cache: RwLock<HashMap<String, CachedKeys>>,
}

/// A realm's keys and when they were read.
struct CachedKeys {
    keys: Arc<RealmKeys>,
    loaded_at: i64,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("kek", &self.kek)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// An empty key ring sealing and opening private keys with `kek`.
    pub fn new(kek: KeyEncryptionKey) -> Self {
        Self {
            kek: Arc::new(kek),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The keys of `realm` at `now` (seconds since the epoch).
    ///
    /// Served from memory, and read again from the database once older than
    /// [`KEY_CACHE_SECONDS`], so that a rotation made by another node or by the CLI is picked
    /// up. When the realm has no active key yet, one is generated for `alg`, sealed and stored;
    /// `alg` is ignored otherwise (changing a realm's algorithm takes a [`KeyRing::rotate`]).
    pub async fn realm_keys(
        &self,
        db: &Database,
        realm: &str,
        alg: SigningAlgorithm,
        now: i64,
    ) -> Result<Arc<RealmKeys>, KeyError> {
        if let Some(keys) = self.cached(realm, now) {
            return Ok(keys);
        }

        let kek = Arc::clone(&self.kek);
        let realm_name = realm.to_owned();
        // Key generation and unsealing are CPU work: both run on the blocking pool too.
        let keys = db
            .run(move |conn| Ok(load_or_create(conn, &kek, &realm_name, alg, now)))
            .await??;

        let keys = Arc::new(keys);
        let entry = CachedKeys {
            keys: Arc::clone(&keys),
            loaded_at: now,
        };
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(realm.to_owned(), entry);
        Ok(keys)
    }

    /// Makes a new active key for `realm` and returns its kid.
    ///
    /// The previous keys stop signing now but stay published until `old_keys_expire_at`, which
    /// should be after the expiry of every token they signed; then they leave the JWKS. This
    /// node sees the new key at once; other nodes within [`KEY_CACHE_SECONDS`].
    pub async fn rotate(
        &self,
        db: &Database,
        realm: &str,
        alg: SigningAlgorithm,
        now: i64,
        old_keys_expire_at: i64,
    ) -> Result<String, KeyError> {
        let kek = Arc::clone(&self.kek);
        let realm_name = realm.to_owned();
        let kid = db
            .run(move |conn| {
                Ok(create_key(
                    conn,
                    &kek,
                    &realm_name,
                    alg,
                    now,
                    old_keys_expire_at,
                ))
            })
            .await??;

        self.forget(realm);
        tracing::info!(realm, kid, alg = alg.as_str(), "signing key rotated");
        Ok(kid)
    }

    /// Seals a secret other than a signing key (a TOTP device's key) with the key-encryption
    /// key; `purpose` binds the ciphertext to where it is stored, so it cannot be moved.
    pub fn seal_secret(&self, plaintext: &[u8], purpose: &str) -> Result<String, KeyError> {
        self.kek
            .seal(plaintext, format!("sesame-secret\0{purpose}").as_bytes())
    }

    /// Opens a secret sealed by [`KeyRing::seal_secret`] with the same `purpose`.
    pub fn open_secret(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, KeyError> {
        self.kek
            .open(sealed, format!("sesame-secret\0{purpose}").as_bytes())
    }

    /// Drops the cached keys of `realm`, so that the next call reads the database (for example
    /// when a token names a kid this node does not know yet).
    pub fn forget(&self, realm: &str) {
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(realm);
    }

    fn cached(&self, realm: &str, now: i64) -> Option<Arc<RealmKeys>> {
        // A poisoned lock only means a panic elsewhere; each entry is replaced whole, so the
        // map is still consistent.
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let entry = cache.get(realm)?;
        let age = now.checked_sub(entry.loaded_at)?;
        // A clock that went backwards (negative age) also triggers a reload.
        (0..KEY_CACHE_SECONDS)
            .contains(&age)
            .then(|| Arc::clone(&entry.keys))
    }
}

/// Loads the realm's keys, creating its first key when it has no active one.
fn load_or_create(
    conn: &mut DbConnection,
    kek: &KeyEncryptionKey,
    realm: &str,
    alg: SigningAlgorithm,
    now: i64,
) -> Result<RealmKeys, KeyError> {
    let rows = list_signing_keys(conn, realm, now)?;
    if has_active_key(&rows) {
        return realm_keys_from_rows(kek, realm, &rows);
    }

    let (key, pkcs8) = SigningKey::generate(alg)?;
    let row = sealed_row(kek, realm, &key, &pkcs8, now)?;
    // Generation is slow: another node may have stored the realm's first key meanwhile. Keep
    // theirs rather than retiring it at once. Two nodes can still both pass this check: the
    // second insert then retires the first key at once (it expires `now`), and a node that
    // reloaded in between signs with that unpublished key until its cache entry expires. This
    // only concerns a realm's very first key, and was judged acceptable.
    if !has_active_key(&list_signing_keys(conn, realm, now)?) {
        rotate_signing_key(conn, &row, now)?;
        tracing::info!(
            realm,
            kid = key.kid(),
            alg = alg.as_str(),
            "signing key created"
        );
    }

    realm_keys_from_rows(kek, realm, &list_signing_keys(conn, realm, now)?)
}

/// Generates, seals and stores a new active key, retiring the current ones.
fn create_key(
    conn: &mut DbConnection,
    kek: &KeyEncryptionKey,
    realm: &str,
    alg: SigningAlgorithm,
    now: i64,
    old_keys_expire_at: i64,
) -> Result<String, KeyError> {
    let (key, pkcs8) = SigningKey::generate(alg)?;
    let row = sealed_row(kek, realm, &key, &pkcs8, now)?;
    rotate_signing_key(conn, &row, old_keys_expire_at)?;
    Ok(row.kid)
}

fn has_active_key(rows: &[SigningKeyRow]) -> bool {
    rows.iter().any(|row| row.retired_at.is_none())
}

/// The row storing `key`, its PKCS#8 sealed to the realm and kid.
fn sealed_row(
    kek: &KeyEncryptionKey,
    realm: &str,
    key: &SigningKey,
    pkcs8: &[u8],
    now: i64,
) -> Result<SigningKeyRow, KeyError> {
    Ok(SigningKeyRow {
        kid: key.kid().to_owned(),
        realm: realm.to_owned(),
        algorithm: key.alg().as_str().to_owned(),
        private_key: kek.seal(pkcs8, &sealing_aad(realm, key.kid()))?,
        public_jwk: key.public().to_jwk().to_string(),
        created_at: now,
        retired_at: None,
        expires_at: None,
    })
}

/// Builds the realm's keys from its published rows, newest first.
fn realm_keys_from_rows(
    kek: &KeyEncryptionKey,
    realm: &str,
    rows: &[SigningKeyRow],
) -> Result<RealmKeys, KeyError> {
    let active_row = rows
        .iter()
        .find(|row| row.retired_at.is_none())
        .ok_or(KeyError::Store(StoreError::NotFound))?;
    let alg = SigningAlgorithm::parse(&active_row.algorithm).ok_or_else(|| {
        malformed(&format!(
            "stored key {} has an unknown algorithm",
            active_row.kid
        ))
    })?;
    let pkcs8 = kek.open(
        &active_row.private_key,
        &sealing_aad(realm, &active_row.kid),
    )?;
    let active = SigningKey::from_pkcs8(alg, &pkcs8)?;
    if active.kid() != active_row.kid {
        return Err(malformed(&format!(
            "stored key {} does not match its kid",
            active_row.kid
        )));
    }

    // The active key first: some relying parties try the first key of a JWKS.
    let mut published = vec![active.public().clone()];
    for row in rows.iter().filter(|row| row.kid != active_row.kid) {
        published.push(stored_public_jwk(row)?);
    }
    let jwks = json!({ "keys": published.iter().map(PublicJwk::to_jwk).collect::<Vec<_>>() });

    Ok(RealmKeys {
        active,
        published,
        jwks: jwks.to_string(),
    })
}

fn stored_public_jwk(row: &SigningKeyRow) -> Result<PublicJwk, KeyError> {
    let jwk: Value = serde_json::from_str(&row.public_jwk)
        .map_err(|err| malformed(&format!("stored JWK of {}: {err}", row.kid)))?;
    let key = PublicJwk::from_jwk(&jwk)?;
    if key.kid != row.kid || key.alg.as_str() != row.algorithm {
        return Err(malformed(&format!(
            "stored JWK of {} does not match its row",
            row.kid
        )));
    }
    Ok(key)
}

/// The additional data a private key is sealed with: a sealed key copied to another realm's
/// row, or to another kid, no longer opens.
fn sealing_aad(realm: &str, kid: &str) -> Vec<u8> {
    // The separator keeps ("ab", "c") and ("a", "bc") apart; realm names hold no NUL byte.
    format!("sesame-signing-key\0{realm}\0{kid}").into_bytes()
}

fn malformed(reason: &str) -> KeyError {
    KeyError::MalformedKey(reason.to_owned())
}

/// Decodes a base64url JWK member.
fn decode_member(value: Option<&str>, name: &str) -> Result<Vec<u8>, KeyError> {
    let value = value.ok_or_else(|| malformed(&format!("the JWK has no {name}")))?;
    BASE64URL_NOPAD
        .decode(value.as_bytes())
        .map_err(|_| malformed(&format!("the JWK's {name} is not base64url")))
}

fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default().to_vec()
}

/// The number of significant bits of a big-endian integer without leading zero bytes.
fn bit_length(integer: &[u8]) -> usize {
    match integer.first() {
        None => 0,
        Some(first) => integer.len() * 8 - first.leading_zeros() as usize,
    }
}

/// DER of the PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
/// ([RFC 8017 §A.1.1](https://www.rfc-editor.org/rfc/rfc8017#appendix-A.1.1)).
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut integers = Vec::with_capacity(n.len() + e.len() + 16);
    der_unsigned_integer(n, &mut integers);
    der_unsigned_integer(e, &mut integers);
    let mut der = Vec::with_capacity(integers.len() + 4);
    der.push(0x30);
    der_length(integers.len(), &mut der);
    der.extend_from_slice(&integers);
    der
}

/// Reads `n` and `e` back from a PKCS#1 `RSAPublicKey`, without leading zeros.
fn rsa_public_key_from_der(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (sequence, rest) = der_read(der, 0x30)?;
    let (n, sequence) = der_read(sequence, 0x02)?;
    let (e, sequence) = der_read(sequence, 0x02)?;
    if !rest.is_empty() || !sequence.is_empty() {
        return None;
    }
    Some((strip_leading_zeros(n), strip_leading_zeros(e)))
}

/// Appends a positive INTEGER; a leading zero byte keeps its high bit from reading as a sign.
fn der_unsigned_integer(value: &[u8], out: &mut Vec<u8>) {
    let needs_zero = value.first().is_none_or(|first| first & 0x80 != 0);
    out.push(0x02);
    der_length(value.len() + usize::from(needs_zero), out);
    if needs_zero {
        out.push(0);
    }
    out.extend_from_slice(value);
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let significant = strip_leading_zeros(&bytes);
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(&significant);
}

/// Splits one DER element with `tag` off `input`: its contents and what follows it.
fn der_read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found_tag, rest) = input.split_first()?;
    if found_tag != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (len_bytes, rest) = rest.split_at_checked(count)?;
        (
            len_bytes
                .iter()
                .fold(0usize, |len, byte| (len << 8) | usize::from(*byte)),
            rest,
        )
    };
    rest.split_at_checked(len)
}

#[cfg(test)]
mod tests;
