//! The in-process layer over Redis, degrading to the in-process layer alone when Redis fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pake_ports::{Cache, CacheError, CacheKey};

use crate::{MemoryCache, RedisCache};

/// L1 (in-process) over L2 (Redis, optional).
#[derive(Clone)]
pub struct TieredCache {
    l1: MemoryCache,
    l2: Option<RedisCache>,
    /// How long a value read from Redis stays in the in-process layer.
    l1_ttl: Duration,
    degraded: Arc<AtomicBool>,
    counts: Arc<[std::sync::atomic::AtomicU64; 3]>,
}

impl TieredCache {
    /// The two layers; without `l2` this is the in-process cache alone.
    pub fn new(l1: MemoryCache, l2: Option<RedisCache>, l1_ttl: Duration) -> Self {
        Self {
            l1,
            l2,
            l1_ttl,
            counts: Arc::default(),
            degraded: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the last Redis operation failed (the server serves from the in-process layer).
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Whether a Redis layer is configured.
    pub fn has_redis(&self) -> bool {
        self.l2.is_some()
    }

    /// Pings Redis and updates the degraded flag (readiness).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when Redis does not answer.
    pub async fn ping(&self) -> Result<(), CacheError> {
        match &self.l2 {
            Some(l2) => {
                let result = l2.ping().await;
                self.note(result.is_ok());
                result
            }
            None => Ok(()),
        }
    }

    fn note(&self, ok: bool) {
        let was_degraded = self.degraded.swap(!ok, Ordering::Relaxed);
        // Log transitions only, not every operation.
        if was_degraded == ok {
            if ok {
                tracing::info!("redis answers again: the cache is tiered again");
            } else {
                tracing::warn!("redis unavailable: serving from the in-process cache (degraded)");
            }
        }
    }
}

#[async_trait]
impl Cache for TieredCache {
    fn stats(&self) -> pake_ports::CacheStats {
        let n = |i: usize| self.counts[i].load(Ordering::Relaxed);
        pake_ports::CacheStats {
            memory_hits: n(0),
            redis_hits: n(1),
            misses: n(2),
        }
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        let count = |i: usize| self.counts[i].fetch_add(1, Ordering::Relaxed);
        if let Some(v) = self.l1.get(key).await? {
            count(0);
            return Ok(Some(v));
        }
        let Some(l2) = &self.l2 else {
            count(2);
            return Ok(None);
        };
        let found = l2.get(key).await;
        count(if matches!(found, Ok(Some(_))) { 1 } else { 2 });
        match found {
            Ok(Some(v)) => {
                self.note(true);
                self.l1.set(key, v.clone(), self.l1_ttl).await?;
                Ok(Some(v))
            }
            Ok(None) => {
                self.note(true);
                Ok(None)
            }
            Err(CacheError::Unavailable(_)) => {
                self.note(false);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn set(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        self.l1
            .set(key, value.clone(), ttl.min(self.l1_ttl))
            .await?;
        if let Some(l2) = &self.l2 {
            match l2.set(key, value, ttl).await {
                Ok(()) => self.note(true),
                Err(CacheError::Unavailable(_)) => self.note(false),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.l1.delete(key).await?;
        if let Some(l2) = &self.l2 {
            match l2.delete(key).await {
                Ok(()) => self.note(true),
                Err(CacheError::Unavailable(_)) => self.note(false),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl pake_ports::Probe for TieredCache {
    async fn probe(&self) -> Result<(), String> {
        self.ping().await.map_err(|e| e.to_string())
    }
}
