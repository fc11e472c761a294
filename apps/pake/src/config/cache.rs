//! `[cache]`: the in-process cache and Redis (the shared L2, the identity events, the limits).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::redact;

/// Cache settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Redis URL (also `REDIS_URL`): the shared L2 cache and the cross-replica identity events.
    #[serde(serialize_with = "redact")]
    pub redis_url: Option<SecretString>,
    /// Size of the in-process cache, MiB.
    pub memory_mib: u64,
    /// How long a value read from Redis stays in the in-process layer, seconds.
    pub l1_ttl_secs: u64,
    /// Redis connections in the pool.
    pub redis_pool_size: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            memory_mib: 64,
            l1_ttl_secs: 30,
            redis_pool_size: 16,
        }
    }
}
