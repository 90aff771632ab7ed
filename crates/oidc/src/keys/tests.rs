use std::path::PathBuf;
use std::sync::OnceLock;

use sesame_domain::RealmSettings;
use sesame_store::insert_realm;

use super::*;
use crate::jwt::UnverifiedJwt;

/// The example public key of RFC 7638 §3.1 (also RFC 7517 Appendix A.1).
const RFC7638_N: &str = concat!(
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc",
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ",
    "R0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bF",
    "TWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
);
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// One RSA key for every test: generating one costs far more than everything else here.
fn rsa_key() -> &'static (SigningKey, Vec<u8>) {
    static KEY: OnceLock<(SigningKey, Vec<u8>)> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(SigningAlgorithm::Rs256).unwrap())
}

fn ec_key() -> SigningKey {
    SigningKey::generate(SigningAlgorithm::Es256).unwrap().0
}

fn kek(byte: u8) -> KeyEncryptionKey {
    KeyEncryptionKey::from_bytes(&[byte; 32]).unwrap()
}

fn claims() -> Value {
    json!({ "iss": "https://sso.example/realms/demo", "sub": "alice", "exp": 1_900_000_000 })
}

/// Signs, parses and verifies a token with `key`, returning the parsed token.
fn round_trip(key: &SigningKey) -> UnverifiedJwt {
    let token = key.sign_jwt("JWT", &claims()).unwrap();
    let jwt = UnverifiedJwt::parse(&token).unwrap();
    jwt.verify(key.public()).unwrap();
    jwt
}

/// The token with one byte of its decoded signature flipped.
fn with_flipped_signature_byte(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = BASE64URL_NOPAD.decode(signature.as_bytes()).unwrap();
    signature[10] ^= 0x01;
    format!("{signing_input}.{}", BASE64URL_NOPAD.encode(&signature))
}

fn check_refused_jwk(jwk: &Value) {
    assert!(
        matches!(PublicJwk::from_jwk(jwk), Err(KeyError::MalformedKey(_))),
        "accepted {jwk}"
    );
}

#[test]
fn sealed_keys_open_with_the_same_kek_and_aad() {
    let sealed = kek(1).seal(b"private key", b"demo").unwrap();

    assert_eq!(kek(1).open(&sealed, b"demo").unwrap(), b"private key");
    assert_ne!(
        kek(1).seal(b"private key", b"demo").unwrap(),
        sealed,
        "nonces must differ"
    );
}

#[test]
fn sealed_keys_do_not_open_with_another_kek_aad_or_text() {
    let sealed = kek(1).seal(b"private key", b"demo").unwrap();
    let mut tampered = BASE64URL_NOPAD.decode(sealed.as_bytes()).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let tampered = BASE64URL_NOPAD.encode(&tampered);

    assert!(matches!(
        kek(2).open(&sealed, b"demo"),
        Err(KeyError::Unsealing)
    ));
    assert!(matches!(
        kek(1).open(&sealed, b"other"),
        Err(KeyError::Unsealing)
    ));
    assert!(matches!(
        kek(1).open(&tampered, b"demo"),
        Err(KeyError::Unsealing)
    ));
    assert!(matches!(
        kek(1).open(&sealed[..20], b"demo"),
        Err(KeyError::Unsealing)
    ));
    assert!(matches!(
        kek(1).open("not base64!", b"demo"),
        Err(KeyError::Unsealing)
    ));
}

#[test]
fn kek_must_be_32_bytes_and_never_prints() {
    assert!(matches!(
        KeyEncryptionKey::from_bytes(&[0; 16]),
        Err(KeyError::BadKeyEncryptionKey)
    ));
    assert!(matches!(
        KeyEncryptionKey::from_bytes(&[0; 33]),
        Err(KeyError::BadKeyEncryptionKey)
    ));
    assert_eq!(format!("{:?}", kek(7)), "KeyEncryptionKey([redacted])");
}

#[test]
fn es256_tokens_verify_through_parse() {
    let key = ec_key();

    let jwt = round_trip(&key);

    assert_eq!(jwt.alg(), Some("ES256"));
    assert_eq!(jwt.kid(), Some(key.kid()));
    assert_eq!(jwt.typ(), Some("JWT"));
    assert_eq!(Value::Object(jwt.claims), claims());
}

#[test]
fn es256_signatures_are_fixed_r_s_of_64_bytes() {
    let token = ec_key().sign_jwt("JWT", &claims()).unwrap();
    let (_, signature) = token.rsplit_once('.').unwrap();

    assert_eq!(
        BASE64URL_NOPAD.decode(signature.as_bytes()).unwrap().len(),
        64
    );
}

#[test]
fn rs256_tokens_verify_through_parse() {
    let (key, _) = rsa_key();

    let jwt = round_trip(key);

    assert_eq!(jwt.alg(), Some("RS256"));
    assert_eq!(jwt.kid(), Some(key.kid()));
    assert_eq!(Value::Object(jwt.claims), claims());
}

#[test]
fn rfc7515_es256_example_verifies() {
    // RFC 7515 Appendix A.3: the example key and token, with a line break-laden payload.
    let jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    });
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6\
Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8\
ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let key = PublicJwk::from_jwk(&jwk).unwrap();

    let jwt = UnverifiedJwt::parse(token).unwrap();

    jwt.verify(&key).unwrap();
    assert_eq!(jwt.claims.get("iss"), Some(&json!("joe")));
}

#[test]
fn flipped_signature_byte_is_refused() {
    for key in [&rsa_key().0, &ec_key()] {
        let token = key.sign_jwt("JWT", &claims()).unwrap();
        let jwt = UnverifiedJwt::parse(&with_flipped_signature_byte(&token)).unwrap();

        assert!(
            matches!(jwt.verify(key.public()), Err(JwtError::BadSignature)),
            "{key:?}"
        );
    }
}

#[test]
fn token_of_another_key_is_refused() {
    let token = ec_key().sign_jwt("JWT", &claims()).unwrap();
    let jwt = UnverifiedJwt::parse(&token).unwrap();

    assert!(matches!(
        jwt.verify(ec_key().public()),
        Err(JwtError::BadSignature)
    ));
}

#[test]
fn alg_none_and_alg_other_than_the_keys_are_refused() {
    let (rsa, _) = rsa_key();
    let ec = ec_key();
    let ec_token = ec.sign_jwt("JWT", &claims()).unwrap();
    let claims_b64 = ec_token.split('.').nth(1).unwrap();
    let unsigned = format!(
        "{}.{claims_b64}.",
        BASE64URL_NOPAD.encode(br#"{"alg":"none"}"#)
    );

    // An ES256 token offered to the RSA key, and an unsigned token offered to both.
    let cases = [
        (&ec_token, rsa.public()),
        (&unsigned, rsa.public()),
        (&unsigned, ec.public()),
    ];
    for (token, key) in cases {
        let jwt = UnverifiedJwt::parse(token).unwrap();
        assert!(
            matches!(jwt.verify(key), Err(JwtError::UnsupportedAlgorithm)),
            "{token}"
        );
    }
}

#[test]
fn header_alg_is_bound_to_the_key_not_taken_from_the_token() {
    // An RS256 header on an ES256 signature: the algorithm comes from the key, so the token is
    // refused before the signature is even looked at.
    let ec = ec_key();
    let token = ec.sign_jwt("JWT", &claims()).unwrap();
    let (_, rest) = token.split_once('.').unwrap();
    let header =
        BASE64URL_NOPAD.encode(format!(r#"{{"alg":"RS256","kid":"{}"}}"#, ec.kid()).as_bytes());
    let jwt = UnverifiedJwt::parse(&format!("{header}.{rest}")).unwrap();

    assert!(matches!(
        jwt.verify(ec.public()),
        Err(JwtError::UnsupportedAlgorithm)
    ));
}

#[test]
fn jwks_round_trip_keeps_keys_verifying() {
    for key in [&rsa_key().0, &ec_key()] {
        let token = key.sign_jwt("at+jwt", &claims()).unwrap();
        let jwk = key.public().to_jwk();

        let public = PublicJwk::from_jwk(&jwk).unwrap();

        assert_eq!(public.kid, key.kid());
        assert_eq!(public.alg, key.alg());
        assert_eq!(public.to_jwk(), jwk);
        UnverifiedJwt::parse(&token)
            .unwrap()
            .verify(&public)
            .unwrap();
    }
}

#[test]
fn published_jwks_have_the_expected_members() {
    let ec = ec_key();
    let jwk = ec.public().to_jwk();
    let mut names: Vec<&str> = jwk
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert_eq!(
        (&jwk["kty"], &jwk["crv"], &jwk["use"]),
        (&json!("EC"), &json!("P-256"), &json!("sig"))
    );

    let jwk = rsa_key().0.public().to_jwk();
    let mut names: Vec<&str> = jwk
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["e"]),
        (&json!("RSA"), &json!("RS256"), &json!("AQAB"))
    );
}

#[test]
fn kid_is_the_rfc7638_thumbprint() {
    let with_kid =
        json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29" });
    let without_kid = json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB" });

    let with_kid = PublicJwk::from_jwk(&with_kid).unwrap();
    let without_kid = PublicJwk::from_jwk(&without_kid).unwrap();

    assert_eq!(with_kid.kid, "2011-04-29");
    assert_eq!(with_kid.thumbprint(), RFC7638_THUMBPRINT);
    assert_eq!(without_kid.kid, RFC7638_THUMBPRINT);
    assert_eq!(without_kid.alg, SigningAlgorithm::Rs256);
}

#[test]
fn generated_kids_are_thumbprints_and_survive_pkcs8() {
    let (rsa, rsa_pkcs8) = rsa_key();
    let (ec, ec_pkcs8) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();

    for (key, pkcs8) in [(rsa, rsa_pkcs8), (&ec, &ec_pkcs8)] {
        let reread = SigningKey::from_pkcs8(key.alg(), pkcs8).unwrap();

        assert_eq!(key.kid(), key.public().thumbprint());
        assert_eq!(reread.kid(), key.kid());
        assert_eq!(reread.public().to_jwk(), key.public().to_jwk());
        round_trip(&reread);
    }
}

#[test]
fn pkcs8_of_the_other_algorithm_is_refused() {
    let (_, rsa_pkcs8) = rsa_key();
    let (_, ec_pkcs8) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();

    for (alg, pkcs8) in [
        (SigningAlgorithm::Es256, rsa_pkcs8),
        (SigningAlgorithm::Rs256, &ec_pkcs8),
    ] {
        assert!(matches!(
            SigningKey::from_pkcs8(alg, pkcs8),
            Err(KeyError::MalformedKey(_))
        ));
    }
    assert!(matches!(
        SigningKey::from_pkcs8(SigningAlgorithm::Es256, b"garbage"),
        Err(KeyError::MalformedKey(_))
    ));
}

#[test]
fn debug_output_holds_no_private_material() {
    let (key, _) = rsa_key();
    let printed = format!("{key:?}");

    assert!(printed.contains(key.kid()));
    assert!(!printed.contains("RsaKeyPair"));
}

#[test]
fn unusable_jwks_are_refused() {
    let ec = ec_key().public().to_jwk();
    let with = |name: &str, value: Value| {
        let mut jwk = ec.clone();
        jwk[name] = value;
        jwk
    };
    let short_n = BASE64URL_NOPAD.encode(&[0xc3; 128]);

    check_refused_jwk(&json!("not an object"));
    check_refused_jwk(&json!({ "kty": "oct", "k": "AAAA" }));
    check_refused_jwk(&json!({ "kty": "RSA", "n": short_n, "e": "AQAB" }));
    check_refused_jwk(&json!({ "kty": "RSA", "n": RFC7638_N }));
    check_refused_jwk(&json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "ES256" }));
    check_refused_jwk(&json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB", "d": "AQAB" }));
    check_refused_jwk(&with("crv", json!("P-384")));
    check_refused_jwk(&with("alg", json!("none")));
    check_refused_jwk(&with("alg", json!("HS256")));
    check_refused_jwk(&with("use", json!("enc")));
    check_refused_jwk(&with("kid", json!(42)));
    check_refused_jwk(&with("x", json!("AAAA")));
    check_refused_jwk(&with("y", json!(BASE64URL_NOPAD.encode(&[0x01; 32]))));
    check_refused_jwk(&with("x", json!("not base64url!")));
}

/// A SQLite database in the temporary directory, deleted when dropped.
struct TempDb {
    path: PathBuf,
    db: Database,
}

impl TempDb {
    async fn new(name: &str) -> Self {
        let file = format!("sesame-oidc-keys-{}-{name}.db", std::process::id());
        let path = std::env::temp_dir().join(file);
        remove_database_files(&path);
        let db = Database::connect(path.to_str().unwrap(), 2).unwrap();
        db.migrate().unwrap();
        db.run(|conn| insert_realm(conn, "demo", &RealmSettings::default(), 0))
            .await
            .unwrap();
        Self { path, db }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_database_files(&self.path);
    }
}

fn remove_database_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[tokio::test]
async fn first_use_creates_a_sealed_key_and_caches_it() {
    let temp = TempDb::new("first-use").await;
    let ring = KeyRing::new(kek(1));

    let keys = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1000)
        .await
        .unwrap();
    let cached = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1029)
        .await
        .unwrap();
    let reloaded = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1030)
        .await
        .unwrap();

    assert_eq!(keys.active.alg(), SigningAlgorithm::Es256);
    assert!(Arc::ptr_eq(&keys, &cached));
    assert!(!Arc::ptr_eq(&keys, &reloaded));
    assert_eq!(reloaded.active.kid(), keys.active.kid());
    assert_eq!(keys.published.len(), 1);
    assert!(keys.find(keys.active.kid()).is_some());
    assert!(keys.find("unknown").is_none());
    let jwks: Value = serde_json::from_str(&keys.jwks).unwrap();
    assert_eq!(jwks, json!({ "keys": [keys.active.public().to_jwk()] }));

    let rows = temp
        .db
        .run(|conn| list_signing_keys(conn, "demo", 1000))
        .await
        .unwrap();
    let [row] = rows.as_slice() else {
        panic!("expected one key, got {rows:?}")
    };
    assert_eq!(row.kid, keys.active.kid());
    assert_eq!(row.algorithm, "ES256");
    assert!(
        !row.private_key.contains("MIG"),
        "the private key must not be stored in clear"
    );
}

#[tokio::test]
async fn rotation_publishes_old_keys_until_they_expire() {
    let temp = TempDb::new("rotation").await;
    let ring = KeyRing::new(kek(1));
    let first = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1000)
        .await
        .unwrap();
    let old_token = first.active.sign_jwt("JWT", &claims()).unwrap();

    let new_kid = ring
        .rotate(&temp.db, "demo", SigningAlgorithm::Es256, 1010, 1310)
        .await
        .unwrap();
    let during = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1011)
        .await
        .unwrap();
    ring.forget("demo");
    let after = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1310)
        .await
        .unwrap();

    assert_ne!(new_kid, first.active.kid());
    assert_eq!(during.active.kid(), new_kid);
    let kids: Vec<&str> = during
        .published
        .iter()
        .map(|key| key.kid.as_str())
        .collect();
    assert_eq!(kids, [new_kid.as_str(), first.active.kid()]);
    let old_jwt = UnverifiedJwt::parse(&old_token).unwrap();
    old_jwt
        .verify(during.find(first.active.kid()).unwrap())
        .unwrap();
    assert_eq!(after.active.kid(), new_kid);
    assert_eq!(after.published.len(), 1);
    assert!(after.find(first.active.kid()).is_none());
}

#[tokio::test]
async fn rotation_can_change_the_algorithm() {
    let temp = TempDb::new("change-alg").await;
    let ring = KeyRing::new(kek(1));
    ring.realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1000)
        .await
        .unwrap();

    ring.rotate(&temp.db, "demo", SigningAlgorithm::Rs256, 1010, 1310)
        .await
        .unwrap();
    let keys = ring
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1011)
        .await
        .unwrap();

    assert_eq!(keys.active.alg(), SigningAlgorithm::Rs256);
    assert_eq!(keys.published[1].alg, SigningAlgorithm::Es256);
    round_trip(&keys.active);
}

#[tokio::test]
async fn keys_sealed_under_another_kek_do_not_load() {
    let temp = TempDb::new("other-kek").await;
    KeyRing::new(kek(1))
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1000)
        .await
        .unwrap();

    let result = KeyRing::new(kek(2))
        .realm_keys(&temp.db, "demo", SigningAlgorithm::Es256, 1000)
        .await;

    assert!(matches!(result, Err(KeyError::Unsealing)), "{result:?}");
}

#[test]
fn sealed_keys_are_bound_to_their_realm_and_kid() {
    let sealed = kek(1)
        .seal(b"pkcs8", &sealing_aad("demo", "kid-1"))
        .unwrap();

    assert!(kek(1).open(&sealed, &sealing_aad("demo", "kid-1")).is_ok());
    assert!(
        kek(1)
            .open(&sealed, &sealing_aad("other", "kid-1"))
            .is_err()
    );
    assert!(kek(1).open(&sealed, &sealing_aad("demo", "kid-2")).is_err());
    assert!(kek(1).open(&sealed, &sealing_aad("demok", "id-1")).is_err());
}

#[test]
fn rsa_public_keys_survive_der() {
    let (n, e) = (vec![0x80, 0x01, 0x02], vec![0x01, 0x00, 0x01]);
    let der = rsa_public_key_der(&n, &e);

    assert_eq!(
        der,
        [
            0x30, 0x0b, 0x02, 0x04, 0x00, 0x80, 0x01, 0x02, 0x02, 0x03, 0x01, 0x00, 0x01
        ]
    );
    assert_eq!(rsa_public_key_from_der(&der), Some((n, e)));
    assert_eq!(rsa_public_key_from_der(&der[..der.len() - 1]), None);
    let mut long = Vec::new();
    der_length(300, &mut long);
    assert_eq!(long, [0x82, 0x01, 0x2c]);
}
