//! `[auth]`, `[passwords]` and `[bootstrap]`: tokens, sessions, lockout, signing keys, password
//! hashing and the first super admin.

use std::path::{Path, PathBuf};

use pake_core::{AuthPolicy, BootstrapOptions};
use pake_crypto::{HashingOptions, JwtOptions};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid, redact};

/// Authentication settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The `iss` of access tokens.
    pub issuer: String,
    /// The `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime, seconds.
    pub access_token_ttl_secs: u64,
    /// Session (refresh-token family) lifetime with `remember_me`, days.
    pub session_ttl_days: u64,
    /// Session lifetime without `remember_me`, hours.
    pub short_session_ttl_hours: u64,
    /// Consecutive failed logins that lock an account.
    pub lockout_threshold: u32,
    /// Lock duration, minutes.
    pub lockout_minutes: u64,
    /// Directory of Ed25519 signing keys (PKCS#8 PEM); default `<data_dir>/keys`. A key is
    /// generated there on first start when none exists.
    pub keys_dir: Option<PathBuf>,
    /// The kid of the key that signs (default: the newest key file).
    pub signing_kid: Option<String>,
    /// How often the tenant directory and revocations are re-read from the store, seconds (how
    /// soon another replica's changes arrive).
    pub sync_interval_secs: u64,
    /// With PostgreSQL: the key-encryption key that seals the signing keys kept in the store, 32
    /// random bytes in base64 (`openssl rand -base64 32`), the same on every replica. Required
    /// with `store.database_url`; unused by the embedded store, which keeps key files.
    #[serde(serialize_with = "redact")]
    pub key_encryption_key: Option<SecretString>,
    /// Seconds a key added by `pake keys rotate` waits before it signs, so every replica has
    /// loaded it (it verifies at once); never less than twice `sync_interval_secs`.
    pub key_activation_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "pake".into(),
            audience: "pake-api".into(),
            access_token_ttl_secs: 15 * 60,
            session_ttl_days: 30,
            short_session_ttl_hours: 24,
            lockout_threshold: 5,
            lockout_minutes: 15,
            keys_dir: None,
            signing_kid: None,
            sync_interval_secs: 5,
            key_encryption_key: None,
            key_activation_secs: 60,
        }
    }
}

/// argon2id parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Memory in KiB.
    pub argon2_memory_kib: u32,
    /// Iterations.
    pub argon2_iterations: u32,
    /// Lanes.
    pub argon2_parallelism: u32,
    /// Hashes allowed at once (0 = one per CPU), plus one spare only a tenant with no hash
    /// running may take.
    pub max_concurrent_hashes: usize,
}

/// Bootstrap settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// The first super admin's username.
    pub admin_username: String,
    /// The first super admin's e-mail address.
    pub admin_email: String,
    /// The first super admin's password; generated (and printed once) when absent.
    #[serde(serialize_with = "redact")]
    pub admin_password: Option<SecretString>,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let d = pake_crypto::HashingOptions::default();
        Self {
            argon2_memory_kib: d.memory_kib,
            argon2_iterations: d.iterations,
            argon2_parallelism: d.parallelism,
            max_concurrent_hashes: 0,
        }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        let d = pake_core::BootstrapOptions::default();
        Self {
            admin_username: d.admin_username,
            admin_email: d.admin_email,
            admin_password: None,
        }
    }
}

impl AuthConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.access_token_ttl_secs < 30
            || self.session_ttl_days == 0
            || self.short_session_ttl_hours == 0
        {
            return Err(invalid(
                "auth lifetimes must be positive (access tokens ≥ 30 s)",
            ));
        }
        if self.lockout_threshold == 0 || self.lockout_minutes == 0 || self.sync_interval_secs == 0
        {
            return Err(invalid(
                "auth.lockout_* and auth.sync_interval_secs must be at least 1",
            ));
        }
        Ok(())
    }

    /// The authentication rules.
    pub fn policy(&self) -> AuthPolicy {
        let secs = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 4));
        AuthPolicy {
            access_ttl: secs(self.access_token_ttl_secs),
            session_ttl: secs(self.session_ttl_days * 86_400),
            short_session_ttl: secs(self.short_session_ttl_hours * 3_600),
            lockout_threshold: self.lockout_threshold,
            lockout_duration: secs(self.lockout_minutes * 60),
            ..AuthPolicy::default()
        }
    }

    /// The token issuer's and verifier's options under `policy`.
    pub fn jwt_options(&self, policy: &AuthPolicy) -> JwtOptions {
        JwtOptions {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            leeway_secs: u64::try_from(policy.leeway.whole_seconds()).unwrap_or(30),
            ..JwtOptions::default()
        }
    }

    /// The directory of the embedded store's key files (default `<data_dir>/keys`).
    pub fn keys_dir(&self, data_dir: &Path) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("keys"))
    }
}

impl PasswordConfig {
    /// The argon2id parameters and how many hashes run at once (0: one per CPU).
    pub fn hashing_options(&self) -> HashingOptions {
        let d = HashingOptions::default();
        HashingOptions {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
            max_concurrent: if self.max_concurrent_hashes == 0 {
                d.max_concurrent
            } else {
                self.max_concurrent_hashes
            },
        }
    }
}

impl BootstrapConfig {
    /// What the first start creates.
    pub fn options(&self) -> BootstrapOptions {
        BootstrapOptions {
            admin_username: self.admin_username.clone(),
            admin_email: self.admin_email.clone(),
            admin_password: self
                .admin_password
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
        }
    }
}
