//! Where the access-token signing keys live when replicas share a store.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::RepoError;

/// A signing key as stored: its public half in the clear, its private half sealed with the
/// key-encryption key (which the store never sees).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// Key id (the JWT `kid`).
    pub kid: String,
    /// The raw public key.
    pub public_key: Vec<u8>,
    /// The private key (PKCS#8), sealed.
    pub sealed_key: Vec<u8>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// From when it may sign (every replica verifies with it from the moment it is stored).
    pub activates_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

/// The shared key set (*platform-wide*).
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every stored key, oldest first.
    async fn list_signing_keys(&self) -> Result<Vec<StoredSigningKey>, RepoError>;

    /// Adds `key` only when the store holds no key at all, atomically across replicas starting
    /// at the same time; returns whether it was added.
    async fn add_first_signing_key(&self, key: &StoredSigningKey) -> Result<bool, RepoError>;

    /// Adds a key.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`) when the kid exists.
    async fn add_signing_key(&self, key: &StoredSigningKey) -> Result<(), RepoError>;
}
