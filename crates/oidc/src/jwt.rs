//! Compact JWS serialisation ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1))
//! of JSON Web Tokens: splitting and decoding a token, and checking its signature against one
//! public key.
//!
//! This module never decides which key a token should be checked with, nor whether its claims
//! (`iss`, `aud`, `exp`...) are acceptable: callers pick the key by `kid` from the realm's
//! [`RealmKeys`](crate::keys::RealmKeys) and check the claims they care about themselves.
//! Signing lives with the private keys, in [`SigningKey::sign_jwt`](crate::keys::SigningKey).

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value};

use crate::keys::PublicJwk;

/// The largest token [`UnverifiedJwt::parse`] looks at, in bytes: 16 KiB.
///
/// Our own tokens are well under 4 KiB; the limit keeps a hostile request from making us decode
/// and parse megabytes of JSON before the signature check can refuse it.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Not a compact JWS: too long, not three dot-separated parts, bad base64url, a header or
    /// payload that is not a JSON object, or a header listing `crit` extensions.
    #[error("malformed token")]
    Malformed,
    /// The header's `alg` is missing, is `none`, or differs from the algorithm of the key the
    /// token is checked with ([RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)).
    #[error("unsupported or unexpected signature algorithm")]
    UnsupportedAlgorithm,
    /// The signature does not match the signing input under the key.
    #[error("bad signature")]
    BadSignature,
    /// No published key has the token's `kid`.
    #[error("unknown signing key")]
    UnknownKey,
    /// The token's `exp` has passed (checked by callers, which own the clock).
    #[error("token expired")]
    Expired,
}

/// A compact JWS split and decoded, whose signature has not been checked yet.
///
/// Nothing in `header` or `claims` may be trusted before [`UnverifiedJwt::verify`] succeeds
/// with a key chosen by the caller.
#[derive(Clone)]
pub struct UnverifiedJwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The payload: the JWT claims set.
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, exactly as received.
    signing_input: String,
    /// The decoded signature.
    signature: Vec<u8>,
}

impl fmt::Debug for UnverifiedJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The signing input and signature together are the token, often a bearer credential:
        // keep them out of logs.
        f.debug_struct("UnverifiedJwt")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl UnverifiedJwt {
    /// Splits and decodes a compact JWS.
    ///
    /// Refuses tokens longer than [`MAX_TOKEN_LEN`], tokens without exactly three parts (a JWE
    /// has five), parts that are not unpadded base64url, a header or payload that is not a JSON
    /// object, and headers with `crit`: we implement no JWS extension, so
    /// [RFC 7515 §4.1.11](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11) requires the
    /// refusal.
    pub fn parse(token: &str) -> Result<Self, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };

        let header = decode_json_object(header_b64)?;
        if header.contains_key("crit") {
            return Err(JwtError::Malformed);
        }
        let claims = decode_json_object(claims_b64)?;
        let signature = BASE64URL_NOPAD
            .decode(signature_b64.as_bytes())
            .map_err(|_| JwtError::Malformed)?;

        // The signing input is the two first parts as they were received, not a re-encoding
        // of the decoded JSON: any other byte sequence would not match the signature.
        let signing_input_len = header_b64.len() + 1 + claims_b64.len();
        let signing_input = token
            .get(..signing_input_len)
            .ok_or(JwtError::Malformed)?
            .to_owned();
        Ok(Self {
            header,
            claims,
            signing_input,
            signature,
        })
    }

    /// The header's `alg`, when it is a string.
    pub fn alg(&self) -> Option<&str> {
        self.header_str("alg")
    }

    /// The header's `kid`, when it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header_str("kid")
    }

    /// The header's `typ`, when it is a string.
    pub fn typ(&self) -> Option<&str> {
        self.header_str("typ")
    }

    /// Checks the signature with `key`.
    ///
    /// The header's `alg` must be exactly the key's algorithm, so `none` and any algorithm
    /// substitution are refused before any cryptography runs
    /// ([RFC 8725 §2.1](https://www.rfc-editor.org/rfc/rfc8725#section-2.1)).
    pub fn verify(&self, key: &PublicJwk) -> Result<(), JwtError> {
        if self.alg() != Some(key.alg.as_str()) {
            return Err(JwtError::UnsupportedAlgorithm);
        }
        key.verify(self.signing_input.as_bytes(), &self.signature)
    }

    fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }
}

/// `BASE64URL(header) || '.' || BASE64URL(payload)` of a token to be signed.
pub(crate) fn signing_input(header: &Value, claims: &Value) -> Result<String, serde_json::Error> {
    let header = serde_json::to_vec(header)?;
    let claims = serde_json::to_vec(claims)?;
    Ok(format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(&header),
        BASE64URL_NOPAD.encode(&claims)
    ))
}

/// The compact serialisation of a signed token.
pub(crate) fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", BASE64URL_NOPAD.encode(signature))
}

fn decode_json_object(part: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = BASE64URL_NOPAD
        .decode(part.as_bytes())
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) | Err(_) => Err(JwtError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(text: &str) -> String {
        BASE64URL_NOPAD.encode(text.as_bytes())
    }

    fn check_malformed(token: &str) {
        assert!(
            matches!(UnverifiedJwt::parse(token), Err(JwtError::Malformed)),
            "accepted {token:?}"
        );
    }

    #[test]
    fn parse_decodes_header_claims_and_signature() {
        let token = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#),
            b64(r#"{"sub":"alice"}"#),
            BASE64URL_NOPAD.encode(&[1, 2, 3])
        );

        let jwt = UnverifiedJwt::parse(&token).unwrap();

        assert_eq!(jwt.alg(), Some("ES256"));
        assert_eq!(jwt.kid(), Some("k1"));
        assert_eq!(jwt.typ(), Some("JWT"));
        assert_eq!(jwt.claims.get("sub"), Some(&json!("alice")));
        assert_eq!(jwt.signature, [1, 2, 3]);
        assert_eq!(jwt.signing_input.len() + 5, token.len());
    }

    #[test]
    fn parse_refuses_what_is_not_a_compact_jws() {
        let header = b64(r#"{"alg":"ES256"}"#);
        let claims = b64(r#"{"sub":"alice"}"#);
        check_malformed("");
        check_malformed("a.b");
        check_malformed(&format!("{header}.{claims}"));
        check_malformed(&format!("{header}.{claims}.AA.AA"));
        check_malformed(&format!("{header}.{claims}.AA.AA.AA"));
        check_malformed(&format!("{header}.{claims}.A*"));
        check_malformed(&format!("{header}=.{claims}.AA"));
        check_malformed(&format!("{}.{claims}.AA", b64("[1,2]")));
        check_malformed(&format!("{header}.{}.AA", b64("\"alice\"")));
        check_malformed(&format!("{header}.{}.AA", b64("{\"sub\":")));
        check_malformed(&format!(
            "{}.{claims}.AA",
            b64(r#"{"alg":"ES256","crit":["exp"]}"#)
        ));
        let padding = "A".repeat(MAX_TOKEN_LEN);
        check_malformed(&format!("{header}.{claims}.{padding}"));
    }

    #[test]
    fn missing_or_none_alg_is_refused_before_any_key_is_used() {
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        });
        let key = PublicJwk::from_jwk(&jwk).unwrap();
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"RS256"}"#,
        ] {
            let token = format!("{}.{}.", b64(header), b64("{}"));
            let jwt = UnverifiedJwt::parse(&token).unwrap();
            assert!(
                matches!(jwt.verify(&key), Err(JwtError::UnsupportedAlgorithm)),
                "{header}"
            );
        }
    }
}
