//! Password hashing.

use async_trait::async_trait;
use pake_domain::{Password, PasswordHash};

/// Hashing failure.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The stored hash cannot be parsed (corrupt data).
    #[error("malformed password hash")]
    Malformed,
    /// Hashing failed or its worker pool is gone.
    #[error("password hashing failed")]
    Internal(#[source] crate::BoxError),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches. `needs_rehash` is set when the hash uses outdated parameters and
    /// should be replaced by a fresh hash of the same password.
    Match {
        /// Whether to store a fresh hash.
        needs_rehash: bool,
    },
    /// It does not match.
    Mismatch,
}

/// Hashes and verifies passwords. Implementations run the work off the async runtime with a bound
/// on concurrent hashes, so logins never starve other requests.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a policy-checked password into a PHC string.
    ///
    /// # Errors
    /// [`HashError::Internal`] when hashing fails.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Checks `candidate` against `hash`. With `hash = None` (unknown user) it checks against a
    /// dummy hash of the same cost and returns [`PasswordCheck::Mismatch`], so both cases take the
    /// same time.
    ///
    /// # Errors
    /// [`HashError::Malformed`] for an unparsable stored hash; [`HashError::Internal`] otherwise.
    async fn verify(
        &self,
        candidate: &str,
        hash: Option<&PasswordHash>,
    ) -> Result<PasswordCheck, HashError>;
}
