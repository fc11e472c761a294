//! The in-process cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pake_ports::{Cache, CacheError, CacheKey};

#[derive(Clone)]
struct Entry {
    value: Arc<Vec<u8>>,
    expires: Instant,
}

/// A bounded in-process cache: at most `max_bytes` of values, each entry living its own TTL.
#[derive(Clone)]
pub struct MemoryCache {
    inner: moka::sync::Cache<String, Entry>,
}

impl MemoryCache {
    /// A cache holding at most `max_bytes` of values.
    pub fn new(max_bytes: u64) -> Self {
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &Entry| {
                u32::try_from(k.len() + v.value.len()).unwrap_or(u32::MAX)
            })
            .build();
        Self { inner }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        let key = key.to_string();
        match self.inner.get(&key) {
            Some(e) if e.expires > Instant::now() => Ok(Some(e.value.as_ref().clone())),
            Some(_) => {
                self.inner.invalidate(&key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let entry = Entry {
            value: Arc::new(value),
            expires: Instant::now() + ttl,
        };
        self.inner.insert(key.to_string(), entry);
        Ok(())
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.inner.invalidate(&key.to_string());
        Ok(())
    }
}
