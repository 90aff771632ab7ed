//! Brute-force protection: failed logins counted per account and per address in the database,
//! so every node sees them. A key that failed too often is locked for a while; until then its
//! logins are refused with the same generic message as a wrong password, so an attacker learns
//! nothing about which accounts exist.

use std::time::Duration;

use sesame_domain::RealmSettings;
use sesame_oidc::Provider;
use sesame_store::StoreError;

/// An address may fail this many times more than one account before it is locked: several
/// people can share an address (an office behind one NAT).
const ADDRESS_FACTOR: i64 = 3;

/// The keys a login attempt is counted under.
pub(crate) struct Keys {
    account: Option<String>,
    address: String,
}

impl Keys {
    /// The keys of an attempt on `user_id` (if known) from `address`.
    pub(crate) fn new(realm: &str, user_id: Option<&str>, address: &str) -> Self {
        Self {
            account: user_id.map(|user_id| format!("{realm}:user:{user_id}")),
            address: format!("{realm}:ip:{address}"),
        }
    }
}

/// Whether the account or the address is locked now.
pub(crate) async fn is_locked(
    provider: &Provider,
    settings: &RealmSettings,
    keys: &Keys,
) -> Result<bool, StoreError> {
    if !settings.brute_force_protected {
        return Ok(false);
    }
    let now = provider.clock.now();
    let (account, address) = (keys.account.clone(), keys.address.clone());
    provider
        .db
        .run(move |conn| {
            if let Some(account) = &account
                && sesame_store::find_lock(conn, account, now)?.is_some()
            {
                return Ok(true);
            }
            Ok(sesame_store::find_lock(conn, &address, now)?.is_some())
        })
        .await
}

/// Counts a failure, then waits a little longer with each one, which slows a guessing attack
/// long before the lock engages.
pub(crate) async fn record_failure(
    provider: &Provider,
    settings: &RealmSettings,
    keys: &Keys,
) -> Result<(), StoreError> {
    if !settings.brute_force_protected {
        return Ok(());
    }
    let now = provider.clock.now();
    let threshold = i64::from(settings.failure_factor.max(1));
    let lock = settings.wait_increment_seconds.max(1);
    // Failures older than a quarter of an hour past the lock are forgotten.
    let forget_after = lock + 900;
    let (account, address) = (keys.account.clone(), keys.address.clone());
    let (address_failures, account_failures) = provider
        .db
        .run(move |conn| {
            let address_failures = sesame_store::record_failure(
                conn,
                &address,
                now,
                threshold * ADDRESS_FACTOR,
                lock,
                forget_after,
            )?;
            let account_failures = match &account {
                Some(account) => {
                    sesame_store::record_failure(conn, account, now, threshold, lock, forget_after)?
                }
                None => 0,
            };
            Ok((address_failures, account_failures))
        })
        .await?;
    // The keys name an account by its id and an address; neither is a secret.
    if address_failures >= threshold * ADDRESS_FACTOR {
        tracing::warn!(key = %keys.address, failures = address_failures, "login throttling engaged");
    }
    if let Some(account) = &keys.account
        && account_failures >= threshold
    {
        tracing::warn!(key = %account, failures = account_failures, "login throttling engaged");
    }
    let failures = address_failures.max(account_failures);
    let delay = u64::try_from(failures.clamp(0, 5)).unwrap_or(0) * 100;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    Ok(())
}

/// Forgets the account's failures after a success.
pub(crate) async fn clear(provider: &Provider, keys: &Keys) -> Result<(), StoreError> {
    let Some(account) = keys.account.clone() else {
        return Ok(());
    };
    provider
        .db
        .run(move |conn| sesame_store::clear_failures(conn, &account))
        .await
}
