//! Proof Key for Code Exchange, [RFC 7636](https://www.rfc-editor.org/rfc/rfc7636).
//!
//! Only `S256` is offered: `plain` protects nothing against an attacker who can read the
//! authorization request, which is the attack PKCE exists for.

use data_encoding::BASE64URL_NOPAD;

/// Why a PKCE value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PkceError {
    /// The method is not `S256`.
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    /// The challenge is not the base64url encoding of a SHA-256 digest.
    #[error("code_challenge must be 43 base64url characters")]
    MalformedChallenge,
    /// The verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1).
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")]
    MalformedVerifier,
    /// The verifier does not hash to the challenge.
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

/// A checked `S256` code challenge, kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Checks a challenge and its method from an authorization request. A missing method means
    /// `plain` (RFC 7636 §4.3), which is refused.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, PkceError> {
        if method != Some("S256") {
            return Err(PkceError::UnsupportedMethod);
        }
        match BASE64URL_NOPAD.decode(challenge.as_bytes()) {
            Ok(digest) if digest.len() == 32 => Ok(Self(challenge.to_owned())),
            _ => Err(PkceError::MalformedChallenge),
        }
    }

    /// Restores a challenge stored after [`CodeChallenge::parse`] accepted it.
    pub fn from_stored(challenge: String) -> Self {
        Self(challenge)
    }

    /// The challenge as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a verifier against this challenge, given a SHA-256 function (the domain crate
    /// carries no cryptography of its own).
    pub fn verify(
        &self,
        verifier: &CodeVerifier,
        sha256: impl Fn(&[u8]) -> [u8; 32],
    ) -> Result<(), PkceError> {
        let computed = BASE64URL_NOPAD.encode(&sha256(verifier.0.as_bytes()));
        if crate::constant_time_eq(computed.as_bytes(), self.0.as_bytes()) {
            Ok(())
        } else {
            Err(PkceError::Mismatch)
        }
    }
}

/// A code verifier from a token request, checked for length and alphabet.
#[derive(Clone)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Checks the verifier's form (RFC 7636 §4.1).
    pub fn parse(verifier: &str) -> Result<Self, PkceError> {
        let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        if (43..=128).contains(&verifier.len()) && verifier.bytes().all(allowed) {
            Ok(Self(verifier.to_owned()))
        } else {
            Err(PkceError::MalformedVerifier)
        }
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of the RFC 7636 Appendix B verifier, as listed in the RFC.
    fn appendix_b_sha256(input: &[u8]) -> [u8; 32] {
        assert_eq!(input, b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120,
            173, 109, 241, 68, 86, 110, 225, 137, 74, 203, 112, 249, 195,
        ]
    }

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
                .unwrap();
        let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(challenge.verify(&verifier, appendix_b_sha256), Ok(()));
    }

    #[test]
    fn other_digest_is_a_mismatch() {
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
                .unwrap();
        let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            challenge.verify(&verifier, |_| [0; 32]),
            Err(PkceError::Mismatch)
        );
    }

    #[test]
    fn challenge_and_verifier_forms() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(
            CodeChallenge::parse(challenge, None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse(challenge, Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse("short", Some("S256")),
            Err(PkceError::MalformedChallenge)
        );

        let check = |verifier: &str, ok: bool| {
            assert_eq!(CodeVerifier::parse(verifier).is_ok(), ok, "{verifier}");
        };
        check(&"a".repeat(42), false);
        check(&"a".repeat(43), true);
        check(&"a".repeat(128), true);
        check(&"a".repeat(129), false);
        check(&format!("{}+", "a".repeat(43)), false);
        check(&format!("{}-._~", "a".repeat(43)), true);
    }
}
