//! Daily quotas (capped counters that expire with their day) and concurrency slots (leases that
//! expire unless renewed), in process and atomically in Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::redis::Script;
use deadpool_redis::redis::aio::MultiplexedConnection;
use pake_ports::{CacheKey, ConcurrencyLimiter, LimitError, QuotaCounter, QuotaTake};

use crate::conn::SharedConnection;
use crate::lock;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Counters and slots of this process alone (the embedded default, and the fallback while Redis
/// is down).
#[derive(Default)]
pub struct MemoryQuotas {
    counters: Mutex<HashMap<String, (u64, Instant)>>,
    slots: Mutex<HashMap<String, HashMap<String, Instant>>>,
}

impl MemoryQuotas {
    /// Empty counters and slots.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl QuotaCounter for MemoryQuotas {
    async fn take(
        &self,
        key: &CacheKey,
        limit: u64,
        want: u64,
        start: u64,
        ttl: Duration,
    ) -> Result<QuotaTake, LimitError> {
        let now = Instant::now();
        let mut map = lock(&self.counters);
        if map.len() > 10_000 {
            map.retain(|_, (_, expires)| *expires > now);
        }
        let entry = map.entry(key.to_string()).or_insert((start, now + ttl));
        if entry.1 <= now {
            *entry = (start, now + ttl);
        }
        let granted = want.min(limit.saturating_sub(entry.0));
        entry.0 += granted;
        Ok(QuotaTake {
            granted,
            used: entry.0,
        })
    }

    async fn give_back(&self, key: &CacheKey, units: u64) -> Result<(), LimitError> {
        if let Some(entry) = lock(&self.counters).get_mut(&key.to_string()) {
            entry.0 = entry.0.saturating_sub(units);
        }
        Ok(())
    }

    async fn current(&self, key: &CacheKey) -> Result<Option<u64>, LimitError> {
        let now = Instant::now();
        Ok(lock(&self.counters)
            .get(&key.to_string())
            .filter(|(_, expires)| *expires > now)
            .map(|(used, _)| *used))
    }
}

#[async_trait]
impl ConcurrencyLimiter for MemoryQuotas {
    async fn acquire(
        &self,
        key: &CacheKey,
        holder: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<bool, LimitError> {
        let now = Instant::now();
        let mut map = lock(&self.slots);
        let leases = map.entry(key.to_string()).or_default();
        leases.retain(|_, expires| *expires > now);
        if leases.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return Ok(false);
        }
        leases.insert(holder.to_owned(), now + ttl);
        Ok(true)
    }

    async fn renew(&self, key: &CacheKey, holder: &str, ttl: Duration) -> Result<bool, LimitError> {
        let now = Instant::now();
        let mut map = lock(&self.slots);
        let lease = map
            .get_mut(&key.to_string())
            .and_then(|leases| leases.get_mut(holder))
            .filter(|expires| **expires > now);
        Ok(lease.map(|expires| *expires = now + ttl).is_some())
    }

    async fn release(&self, key: &CacheKey, holder: &str) -> Result<(), LimitError> {
        let mut map = lock(&self.slots);
        let key = key.to_string();
        if let Some(leases) = map.get_mut(&key) {
            leases.remove(holder);
            if leases.is_empty() {
                map.remove(&key);
            }
        }
        Ok(())
    }

    async fn held(&self, key: &CacheKey) -> Result<u32, LimitError> {
        let now = Instant::now();
        let map = lock(&self.slots);
        let n = map
            .get(&key.to_string())
            .map_or(0, |leases| leases.values().filter(|e| **e > now).count());
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

/// Take up to `want` without passing the limit; a missing counter starts at `start`.
const TAKE: &str = r"
local current = redis.call('GET', KEYS[1])
local used = tonumber(current or ARGV[3])
local granted = math.max(0, math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - used))
used = used + granted
if not current then
  redis.call('SET', KEYS[1], used, 'PX', ARGV[4])
elseif granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
end
return {granted, used}
";

/// Give back, never below zero, never creating the counter (DECRBY keeps the expiry).
const GIVE_BACK: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(used, tonumber(ARGV[1]))
if back > 0 then redis.call('DECRBY', KEYS[1], back) end
return back
";

/// Slots as a sorted set of holders scored by lease expiry (the server's clock, milliseconds).
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
";

const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expires or tonumber(expires) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
";

const HELD: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
";

/// Counters and slots shared by every replica through Redis: one script call per operation, on
/// the port's tenant-scoped keys (a tenant's keys share its Cluster slot).
pub struct RedisQuotas {
    conn: SharedConnection,
    take: Script,
    give_back: Script,
    acquire: Script,
    renew: Script,
    held: Script,
}

impl RedisQuotas {
    /// Counters and slots on `pool`.
    pub fn new(pool: deadpool_redis::Pool) -> Self {
        Self {
            conn: SharedConnection::new(pool),
            take: Script::new(TAKE),
            give_back: Script::new(GIVE_BACK),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            held: Script::new(HELD),
        }
    }

    async fn conn(&self) -> Result<MultiplexedConnection, LimitError> {
        self.conn.get().await
    }
}

#[async_trait]
impl QuotaCounter for RedisQuotas {
    async fn take(
        &self,
        key: &CacheKey,
        limit: u64,
        want: u64,
        start: u64,
        ttl: Duration,
    ) -> Result<QuotaTake, LimitError> {
        let mut conn = self.conn().await?;
        let (granted, used): (u64, u64) = self
            .take
            .key(key.to_string())
            .arg(limit)
            .arg(want)
            .arg(start)
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))?;
        Ok(QuotaTake { granted, used })
    }

    async fn give_back(&self, key: &CacheKey, units: u64) -> Result<(), LimitError> {
        let mut conn = self.conn().await?;
        let _: i64 = self
            .give_back
            .key(key.to_string())
            .arg(units)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))?;
        Ok(())
    }

    async fn current(&self, key: &CacheKey) -> Result<Option<u64>, LimitError> {
        let mut conn = self.conn().await?;
        deadpool_redis::redis::cmd("GET")
            .arg(key.to_string())
            .query_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))
    }
}

#[async_trait]
impl ConcurrencyLimiter for RedisQuotas {
    async fn acquire(
        &self,
        key: &CacheKey,
        holder: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<bool, LimitError> {
        let mut conn = self.conn().await?;
        let taken: i64 = self
            .acquire
            .key(key.to_string())
            .arg(holder)
            .arg(limit)
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))?;
        Ok(taken == 1)
    }

    async fn renew(&self, key: &CacheKey, holder: &str, ttl: Duration) -> Result<bool, LimitError> {
        let mut conn = self.conn().await?;
        let renewed: i64 = self
            .renew
            .key(key.to_string())
            .arg(holder)
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))?;
        Ok(renewed == 1)
    }

    async fn release(&self, key: &CacheKey, holder: &str) -> Result<(), LimitError> {
        let mut conn = self.conn().await?;
        let _: i64 = deadpool_redis::redis::cmd("ZREM")
            .arg(key.to_string())
            .arg(holder)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))?;
        Ok(())
    }

    async fn held(&self, key: &CacheKey) -> Result<u32, LimitError> {
        let mut conn = self.conn().await?;
        self.held
            .key(key.to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.conn.fail(e))
    }
}
