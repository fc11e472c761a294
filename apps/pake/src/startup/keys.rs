//! The signing keys: key files of the embedded store, or sealed keys every replica shares through
//! PostgreSQL (re-read every sync interval), and `pake keys rotate`.

use std::sync::Arc;
use std::time::Duration;

use pake_core::AuthPolicy;
use pake_crypto::{JwtTokens, KeySealer, KeySet};
use pake_ports::{Clock, SigningKeyStore};
use secrecy::ExposeSecret;

use crate::config::Config;

use super::StartupError;
use super::store::{Store, open_store, private_keys_dir};

/// The key-encryption key that seals the signing keys in a shared store.
///
/// # Errors
/// [`StartupError::Other`] saying what to set when it is missing or malformed.
fn key_sealer(config: &Config) -> Result<KeySealer, StartupError> {
    let kek = config.auth.key_encryption_key.as_ref().ok_or_else(|| {
        StartupError::Other(
            "with store.database_url (DATABASE_URL) set, the signing keys live in the database, \
             sealed with a key-encryption key: set auth.key_encryption_key \
             (PAKE_AUTH__KEY_ENCRYPTION_KEY) to 32 random bytes in base64 \
             (openssl rand -base64 32), the same on every replica"
                .into(),
        )
    })?;
    KeySealer::from_base64(kek.expose_secret()).map_err(|e| StartupError::Other(e.to_string()))
}

/// The signing keys in a shared store, with a first key added (once, whichever replica gets
/// there first) when it holds none.
async fn store_keys(
    keys: &dyn SigningKeyStore,
    sealer: &KeySealer,
    now: time::OffsetDateTime,
) -> Result<KeySet, StartupError> {
    let store_err = |e: pake_ports::RepoError| StartupError::Store(format!("signing keys: {e}"));
    let key_err = |e: pake_crypto::KeyError| StartupError::Other(e.to_string());
    let mut stored = keys.list_signing_keys().await.map_err(store_err)?;
    if stored.is_empty() {
        let first = KeySet::generate_stored(sealer, now, now).map_err(key_err)?;
        keys.add_first_signing_key(&first)
            .await
            .map_err(store_err)?;
        stored = keys.list_signing_keys().await.map_err(store_err)?;
    }
    KeySet::from_stored(&stored, sealer, now).map_err(key_err)
}

/// The access-token service: over the key files of the embedded store, or over the keys every
/// replica shares through PostgreSQL (then also kept current by [`spawn_key_reload`]).
pub(super) async fn build_tokens(
    config: &Config,
    policy: &AuthPolicy,
    store: &Store,
    clock: &dyn Clock,
) -> Result<Arc<JwtTokens>, StartupError> {
    let keys = match store {
        Store::Embedded(_) => {
            let dir = config.auth.keys_dir(&config.store.data_dir);
            private_keys_dir(&dir)?;
            KeySet::load_or_generate(&dir, config.auth.signing_kid.as_deref())
                .map_err(|e| StartupError::Other(e.to_string()))?
        }
        Store::Postgres(pg) => store_keys(pg, &key_sealer(config)?, clock.now()).await?,
    };
    Ok(Arc::new(JwtTokens::new(
        keys,
        config.auth.jwt_options(policy),
    )))
}

/// With a shared store, re-reads the signing keys every `every`: a key another replica or
/// `pake keys rotate` added verifies here from then on, and signs once its activation time comes.
pub(super) fn spawn_key_reload(
    config: &Config,
    store: &Store,
    tokens: &Arc<JwtTokens>,
    clock: Arc<dyn Clock>,
) -> Result<(), StartupError> {
    let Store::Postgres(pg) = store else {
        return Ok(());
    };
    let (pg, tokens, sealer) = (pg.clone(), Arc::clone(tokens), key_sealer(config)?);
    let every = Duration::from_secs(config.auth.sync_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let stored = match pg.list_signing_keys().await {
                Ok(stored) => stored,
                Err(e) => {
                    tracing::warn!(error = %e, "signing keys not re-read; keeping the loaded ones");
                    continue;
                }
            };
            match KeySet::from_stored(&stored, &sealer, clock.now()) {
                Ok(keys) => {
                    let current = tokens.keys();
                    if keys.signing_kid() != current.signing_kid()
                        || keys.kids().count() != current.kids().count()
                    {
                        tracing::info!(
                            signing_kid = keys.signing_kid(),
                            keys = keys.kids().count(),
                            "signing keys reloaded"
                        );
                        tokens.replace_keys(keys);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "stored signing keys do not open; keeping the loaded ones");
                }
            }
        }
    });
    Ok(())
}

/// `pake keys rotate`: adds a new signing key. With PostgreSQL it is stored sealed and signs after
/// `auth.key_activation_secs` (every replica verifies with it as soon as it has re-read the keys);
/// the embedded store gets a new key file, which signs from the next start. Returns its kid and
/// when it signs.
///
/// # Errors
/// [`StartupError`] naming what failed.
pub async fn rotate_keys(config: &Config) -> Result<(String, String), StartupError> {
    match open_store(config)? {
        Store::Embedded(_) => {
            let dir = config.auth.keys_dir(&config.store.data_dir);
            private_keys_dir(&dir)?;
            let path =
                KeySet::generate_into(&dir).map_err(|e| StartupError::Other(e.to_string()))?;
            Ok((path.display().to_string(), "at the next start".into()))
        }
        Store::Postgres(pg) => {
            let sealer = key_sealer(config)?;
            let now = time::OffsetDateTime::now_utc();
            let a = &config.auth;
            let wait = a.key_activation_secs.max(2 * a.sync_interval_secs);
            let delay = time::Duration::seconds(i64::try_from(wait).unwrap_or(i64::MAX / 4));
            let key = KeySet::generate_stored(&sealer, now, now + delay)
                .map_err(|e| StartupError::Other(e.to_string()))?;
            // Every stored key must open with this replica's key-encryption key.
            let stored = pg
                .list_signing_keys()
                .await
                .map_err(|e| StartupError::Store(e.to_string()))?;
            if !stored.is_empty() {
                KeySet::from_stored(&stored, &sealer, now)
                    .map_err(|e| StartupError::Other(e.to_string()))?;
            }
            pg.add_signing_key(&key)
                .await
                .map_err(|e| StartupError::Store(e.to_string()))?;
            Ok((key.kid, (now + delay).to_string()))
        }
    }
}
