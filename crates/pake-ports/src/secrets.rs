//! Randomness the core needs: one-time passwords and opaque tokens.

use pake_domain::Password;

/// A source of secrets from a cryptographically secure generator.
pub trait SecretGenerator: Send + Sync {
    /// A generated password that satisfies the password policy.
    fn one_time_password(&self) -> Password;

    /// 32 random bytes (refresh tokens, token ids).
    fn token_bytes(&self) -> [u8; 32];

    /// The SHA-256 digest of `data` (refresh tokens are stored only as digests).
    fn digest(&self, data: &[u8]) -> [u8; 32];
}
