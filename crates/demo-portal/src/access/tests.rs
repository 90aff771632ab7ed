use serde_json::json;

use super::*;

/// The `kid`s and algorithms kept from a JWKS document, sorted.
fn kept(document: &Value) -> Vec<(String, Algorithm)> {
    let mut keys: Vec<(String, Algorithm)> = usable_keys(document)
        .into_iter()
        .map(|(kid, key)| (kid, key.algorithm))
        .collect();
    keys.sort_by(|left, right| left.0.cmp(&right.0));
    keys
}

fn rsa(kid: &str) -> Value {
    json!({ "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB" })
}

fn ec(kid: &str, curve: &str) -> Value {
    json!({ "kty": "EC", "kid": kid, "crv": curve, "x": "f83O", "y": "x_FE" })
}

#[test]
fn rsa_and_p256_signing_keys_are_kept_with_their_algorithm() {
    let document = json!({ "keys": [rsa("r1"), ec("e1", "P-256")] });
    assert_eq!(
        kept(&document),
        vec![
            ("e1".to_owned(), Algorithm::ES256),
            ("r1".to_owned(), Algorithm::RS256)
        ]
    );
}

#[test]
fn keys_the_api_must_not_use_are_left_out_without_hiding_the_others() {
    let mut encryption = rsa("enc");
    encryption["use"] = json!("enc");
    let mut declared_other = rsa("rs512");
    declared_other["alg"] = json!("RS512");
    let mut mismatched = rsa("mismatch");
    mismatched["alg"] = json!("ES256");
    let mut no_kid = rsa("x");
    no_kid.as_object_mut().expect("object").remove("kid");
    let document = json!({ "keys": [
        rsa("good"),
        encryption,
        declared_other,
        mismatched,
        no_kid,
        ec("p384", "P-384"),
        { "kty": "oct", "kid": "secret", "k": "c2VjcmV0" },
        { "kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qY" },
        { "kty": "RSA", "kid": "broken" },
        { "kty": "unknown", "kid": "future" },
        "not even an object",
    ]});
    assert_eq!(kept(&document), vec![("good".to_owned(), Algorithm::RS256)]);
}

#[test]
fn a_document_without_keys_yields_none() {
    assert!(kept(&json!({})).is_empty());
    assert!(kept(&json!({ "keys": "nope" })).is_empty());
    assert!(kept(&json!([])).is_empty());
}

#[test]
fn only_tokens_without_a_user_authentication_are_service_accounts() {
    let claims = |auth_time: Option<i64>| AccessClaims {
        sub: "s".to_owned(),
        auth_time,
        client_id: None,
    };
    assert!(claims(None).is_service_account());
    assert!(!claims(Some(1_780_000_000)).is_service_account());
}
