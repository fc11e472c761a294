//! The Redis cache.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::cmd;
use deadpool_redis::{Config, Connection, Pool, Runtime};
use pake_ports::{Cache, CacheError, CacheKey, CacheScope};

/// The namespaces platform-wide keys may use (`g:<ns>:…`); everything else is tenant-scoped.
pub const GLOBAL_NAMESPACES: &[&str] = &["upstream", "identity", "ratelimit"];

/// Redis through a connection pool.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> CacheError {
    CacheError::Unavailable(Box::new(e))
}

impl RedisCache {
    /// A pool for `url` (`redis://host:port/db`); connections are made lazily.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] for a malformed URL.
    pub fn connect(url: &str, pool_size: usize, timeout: Duration) -> Result<Self, CacheError> {
        let mut config = Config::from_url(url);
        let mut pool = config.get_pool_config();
        pool.max_size = pool_size;
        pool.timeouts.wait = Some(timeout);
        pool.timeouts.create = Some(timeout);
        pool.timeouts.recycle = Some(timeout);
        config.pool = Some(pool);
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(unavailable)?;
        Ok(Self { pool })
    }

    /// The pool (shared with the identity event bus).
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    async fn conn(&self) -> Result<Connection, CacheError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// A round trip to Redis (readiness).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`].
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn().await?;
        cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    fn checked(key: &CacheKey) -> Result<String, CacheError> {
        if key.scope() == CacheScope::Global && !GLOBAL_NAMESPACES.contains(&key.namespace()) {
            return Err(CacheError::NotAllowed(key.namespace()));
        }
        Ok(key.to_string())
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        let key = Self::checked(key)?;
        let mut conn = self.conn().await?;
        cmd("GET")
            .arg(key)
            .query_async::<Option<Vec<u8>>>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn set(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let key = Self::checked(key)?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn().await?;
        cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(millis)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        let key = Self::checked(key)?;
        let mut conn = self.conn().await?;
        cmd("DEL")
            .arg(key)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }
}
