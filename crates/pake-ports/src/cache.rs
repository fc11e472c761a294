//! The cache port: bytes under tenant-scoped keys, with a time to live.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use pake_domain::TenantId;

/// Whose key space a key lives in. Tenant keys can never collide with another tenant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheScope {
    /// One tenant's keys.
    Tenant(TenantId),
    /// Platform-wide keys (upstream budgets, revocations): only allow-listed namespaces.
    Global,
}

/// Cache lookups by outcome since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answered by the in-process layer.
    pub memory_hits: u64,
    /// Answered by Redis.
    pub redis_hits: u64,
    /// Not found in any layer.
    pub misses: u64,
}

/// A cache key: a scope, a namespace and a key inside it. Rendered as `t:{<tenant>}:<ns>:<key>` or
/// `g:<ns>:<key>`; the braces are a Redis Cluster hash tag, so one tenant's keys share a slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    scope: CacheScope,
    namespace: &'static str,
    key: String,
}

impl CacheKey {
    /// A key in a tenant's space.
    pub fn tenant(tenant: TenantId, namespace: &'static str, key: impl Into<String>) -> Self {
        Self {
            scope: CacheScope::Tenant(tenant),
            namespace,
            key: key.into(),
        }
    }

    /// A platform-wide key.
    pub fn global(namespace: &'static str, key: impl Into<String>) -> Self {
        Self {
            scope: CacheScope::Global,
            namespace,
            key: key.into(),
        }
    }

    /// Its scope.
    pub const fn scope(&self) -> CacheScope {
        self.scope
    }

    /// Its namespace.
    pub const fn namespace(&self) -> &'static str {
        self.namespace
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            CacheScope::Tenant(t) => write!(f, "t:{{{t}}}:{}:{}", self.namespace, self.key),
            CacheScope::Global => write!(f, "g:{}:{}", self.namespace, self.key),
        }
    }
}

/// A cache failure. Callers treat every cache error as a miss: the cache is never the source of
/// truth.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache cannot be reached.
    #[error("cache unavailable")]
    Unavailable(#[source] crate::BoxError),
    /// A platform-wide key outside the allow-listed namespaces.
    #[error("global cache namespace not allowed: {0}")]
    NotAllowed(&'static str),
}

/// A key-value cache with expiry.
#[async_trait]
pub trait Cache: Send + Sync {
    /// Lookups so far by where they were answered (for metrics); zero when not counted.
    fn stats(&self) -> CacheStats {
        CacheStats::default()
    }

    /// The value under `key`, if present and not expired.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn set(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;

    /// Removes `key`; removing a missing key is not an error.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_with_hash_tags() {
        let t = TenantId::new();
        assert_eq!(
            CacheKey::tenant(t, "search", "abc").to_string(),
            format!("t:{{{t}}}:search:abc")
        );
        assert_eq!(
            CacheKey::global("upstream", "arxiv").to_string(),
            "g:upstream:arxiv"
        );
    }
}
