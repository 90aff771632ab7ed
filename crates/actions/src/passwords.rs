//! Password hashing with argon2id on a bounded pool, off the HTTP workers.
//!
//! One verification costs about 16 ms of one core at OWASP's parameters. Hashing runs on
//! tokio's blocking threads, at most one job per core at a time; when more requests than a
//! few per core are waiting, new ones are refused with [`PasswordError::Busy`] (the caller
//! answers 503 with `Retry-After`) instead of queueing without limit.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sesame_domain::{Secret, normalize_password};
use tokio::sync::Semaphore;

/// Why hashing could not be done.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too many hashing jobs are waiting: try again shortly.
    #[error("password hashing is saturated")]
    Busy,
    /// The stored hash could not be read, or hashing failed.
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// The argon2id hasher shared by the login pages and the admin API.
#[derive(Clone)]
pub struct PasswordHasher {
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    params: Params,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("running", &self.running.available_permits())
            .finish()
    }
}

/// OWASP's argon2id recommendation: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;

/// A hash of a password nobody has, verified when the account does not exist so that a
/// missing account takes as long to refuse as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2VzYW1lLWR1bW15LXNhbHQ$Hk6QJ3V2OqKXmF0vH1bJ2a7aPqjHc4sRrjQ8hX2yWbY";

impl PasswordHasher {
    /// A hasher running at most `cores` jobs at once and keeping at most `8 × cores` waiting.
    pub fn new(cores: usize) -> Self {
        let cores = cores.max(1);
        // These constants are within argon2's accepted ranges.
        let params =
            Params::new(MEMORY_KIB, PASSES, 1, None).expect("OWASP argon2id parameters are valid");
        Self {
            running: Arc::new(Semaphore::new(cores)),
            waiting: Arc::new(Semaphore::new(cores * 8)),
            params,
        }
    }

    /// Hashes a password (normalised to NFC first) into a PHC string.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let password = normalize_password(password.expose());
        let params = self.params.clone();
        self.run(move || {
            let salt = SaltString::encode_b64(&sesame_oidc::random_bytes(16))
                .map_err(|err| PasswordError::Hashing(err.to_string()))?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|err| PasswordError::Hashing(err.to_string()))
        })
        .await
    }

    /// Checks a password against a stored PHC string, or against a dummy hash when there is
    /// no account, so both cases cost the same.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: &Secret,
    ) -> Result<bool, PasswordError> {
        let exists = stored.is_some();
        let stored = stored.unwrap_or(DUMMY_HASH).to_owned();
        let password = normalize_password(password.expose());
        let matches = self
            .run(move || {
                let hash = PasswordHash::new(&stored)
                    .map_err(|err| PasswordError::Hashing(err.to_string()))?;
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok())
            })
            .await?;
        Ok(exists && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _waiting = self
            .waiting
            .clone()
            .try_acquire_owned()
            .map_err(|_| PasswordError::Busy)?;
        let _running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Busy)?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|err| PasswordError::Hashing(format!("hashing task failed: {err}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash(&Secret::new("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify(Some(&hash), &Secret::new("correct horse"))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(Some(&hash), &Secret::new("wrong horse"))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(None, &Secret::new("correct horse"))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn composed_and_decomposed_accents_are_the_same_password() {
        let hasher = PasswordHasher::new(1);
        let hash = hasher
            .hash(&Secret::new("caf\u{e9} cr\u{e8}me"))
            .await
            .unwrap();
        assert!(
            hasher
                .verify(Some(&hash), &Secret::new("cafe\u{301} cre\u{300}me"))
                .await
                .unwrap()
        );
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
