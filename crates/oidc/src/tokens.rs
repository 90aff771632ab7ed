//! Random identifiers and tokens, and the digests under which tokens are stored.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};

/// A random token of `bytes` bytes, base64url without padding: codes, refresh tokens, cookies,
/// CSRF tokens and generated client secrets (32 bytes, so 256 bits, for all of them).
pub fn random_token(bytes: usize) -> String {
    BASE64URL_NOPAD.encode(&random_bytes(bytes))
}

/// A random identifier in the UUID version 4 format, as Keycloak's ids are.
pub fn new_id() -> String {
    let mut bytes = random_bytes(16);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = HEXLOWER.encode(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// SHA-256 of a string, hex-encoded: how tokens and client secrets are stored.
pub fn sha256_hex(value: &str) -> String {
    HEXLOWER.encode(&sha256(value.as_bytes()))
}

/// SHA-256 of bytes.
pub fn sha256(value: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, value);
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// `count` bytes from the operating system's random source.
pub fn random_bytes(count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count];
    // The system random source failing means the OS cannot give entropy: nothing secure can
    // go on, so stopping is the only safe answer.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random source failed");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_have_their_shapes() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(new_id(), id);
        assert_eq!(random_token(32).len(), 43);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
