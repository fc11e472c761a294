//! The fakes for crypto, time and randomness.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pake_domain::{Password, PasswordHash};
use pake_ports::{
    AccessClaims, Clock, HashError, IssuedToken, PasswordCheck, PasswordHasher, SecretGenerator,
    TokenError, TokenIssuer, TokenVerifier,
};
use time::OffsetDateTime;

use crate::util::lock;

/// A clock the test sets and moves.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(now)))
    }

    /// Moves the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *lock(&self.0) = to;
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: time::Duration) {
        *lock(&self.0) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *lock(&self.0)
    }
}

/// The prefix of [`PlainHasher`]'s hashes.
const PLAIN: &str = "$plain$";

/// A "hasher" that stores the password as it is, behind a prefix: instant, and a test can read
/// what was stored. Decoy checks (no hash) and foreign hashes never match.
pub struct PlainHasher;

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        Ok(PasswordHash::new(format!("{PLAIN}{}", password.expose())))
    }

    async fn verify(
        &self,
        candidate: &str,
        hash: Option<&PasswordHash>,
    ) -> Result<PasswordCheck, HashError> {
        let Some(hash) = hash else {
            return Ok(PasswordCheck::Mismatch);
        };
        let stored = hash
            .as_str()
            .strip_prefix(PLAIN)
            .ok_or(HashError::Malformed)?;
        Ok(if stored == candidate {
            PasswordCheck::Match {
                needs_rehash: false,
            }
        } else {
            PasswordCheck::Mismatch
        })
    }
}

/// Access tokens that are numbers (`fake-1`, `fake-2`, …) the issuer remembers the claims of:
/// verifying looks them up and checks the expiry on the given clock. Any other text is
/// malformed.
pub struct FakeTokens {
    clock: Arc<dyn Clock>,
    next: AtomicU64,
    issued: Mutex<HashMap<String, AccessClaims>>,
}

impl FakeTokens {
    /// Tokens that expire by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            next: AtomicU64::new(1),
            issued: Mutex::default(),
        }
    }
}

impl TokenIssuer for FakeTokens {
    fn issue(&self, claims: AccessClaims) -> Result<IssuedToken, TokenError> {
        let token = format!("fake-{}", self.next.fetch_add(1, Ordering::Relaxed));
        lock(&self.issued).insert(token.clone(), claims.clone());
        Ok(IssuedToken { token, claims })
    }

    fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [] })
    }
}

impl TokenVerifier for FakeTokens {
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let claims = lock(&self.issued)
            .get(token)
            .cloned()
            .ok_or(TokenError::Malformed)?;
        if claims.expires_at <= self.clock.now() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Predictable secrets: one-time passwords and token bytes from a counter, and a digest that is
/// deterministic and, for test-sized inputs, collision-free (four FNV-1a lanes; not a
/// cryptographic hash).
#[derive(Default)]
pub struct CountingSecrets(AtomicU64);

impl SecretGenerator for CountingSecrets {
    fn one_time_password(&self) -> Password {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Password::parse(&format!("Quartz-Lantern-{n:06}!"), None)
            .unwrap_or_else(|e| unreachable!("the pattern meets the policy: {e}"))
    }

    fn token_bytes(&self) -> [u8; 32] {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        self.digest(&n.to_le_bytes())
    }

    fn digest(&self, data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let seeds: [u64; 4] = [0, 0x9e37_79b9, 0x3c6e_f372, 0xdaa6_6d2b];
        for (seed, chunk) in seeds.iter().zip(out.chunks_exact_mut(8)) {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
            for b in data {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            chunk.copy_from_slice(&h.to_le_bytes());
        }
        out
    }
}
