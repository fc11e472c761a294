//! Rate limiting with GCRA (the generic cell rate algorithm: a token bucket kept as one
//! "theoretical arrival time" per key), in process and atomically in Redis.
//!
//! A quota of `limit` per `period` admits bursts of up to `limit` and then one request every
//! `period / limit`. A refused request takes nothing from the bucket.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::redis::Script;
use pake_ports::{
    CacheKey, ConcurrencyLimiter, LimitError, Quota, QuotaCounter, QuotaTake, RateDecision,
    RateLimiter,
};

use crate::conn::SharedConnection;
use crate::lease::{LeasePolicy, LeasedQuota, LeasedRateLimiter};
use crate::quota::{MemoryQuotas, RedisQuotas};

/// A quota's period and emission interval (`period / limit`), in microseconds, both at least 1.
fn interval(quota: Quota) -> (i64, i64) {
    let period = i64::try_from(quota.period.as_micros())
        .unwrap_or(i64::MAX)
        .max(1);
    (period, (period / i64::from(quota.limit.max(1))).max(1))
}

/// The arithmetic of one GCRA step. Times in microseconds, so even a million requests a second
/// per bucket keep an exact interval.
fn step(tat: i64, now: i64, quota: Quota, cost: u32) -> (bool, i64, RateDecision) {
    let (period, tau) = interval(quota);
    let tat = tat.max(now);
    let new_tat = tat + i64::from(cost) * tau;
    let allow_at = new_tat - period;
    let ms = |v: i64| Duration::from_micros(u64::try_from(v.max(0)).unwrap_or(0));
    let remaining = |t: i64| u32::try_from(((period - (t - now)) / tau).max(0)).unwrap_or(0);
    if now < allow_at {
        let decision = RateDecision {
            allowed: false,
            limit: quota.limit,
            remaining: remaining(tat),
            reset_after: ms(tat - now),
            retry_after: Some(ms(allow_at - now)),
        };
        return (false, tat, decision);
    }
    let decision = RateDecision {
        allowed: true,
        limit: quota.limit,
        remaining: remaining(new_tat),
        reset_after: ms(new_tat - now),
        retry_after: None,
    };
    (true, new_tat, decision)
}

const SHARDS: usize = 16;

/// The in-process limiter: exact for one replica; each replica counts alone.
pub struct MemoryRateLimiter {
    epoch: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<String, i64>>>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl MemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The locked shard holding `key`'s bucket.
    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        let shard = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        crate::lock(&self.shards[shard])
    }

    fn now_us(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(i64::MAX)
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        cost: u32,
    ) -> Result<RateDecision, LimitError> {
        let key = key.to_string();
        let now = self.now_us();
        let mut map = self.shard(&key);
        if map.len() > 10_000 {
            // Buckets that are full again carry no state worth keeping.
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(&key).copied().unwrap_or(now);
        let (allowed, new_tat, decision) = step(tat, now, quota, cost);
        if allowed {
            map.insert(key, new_tat);
        }
        Ok(decision)
    }

    async fn refund(&self, key: &CacheKey, quota: Quota, units: u32) -> Result<(), LimitError> {
        let key = key.to_string();
        let now = self.now_us();
        if let Some(tat) = self.shard(&key).get_mut(&key) {
            let (_, tau) = interval(quota);
            *tat = (*tat - i64::from(units) * tau).max(now);
        }
        Ok(())
    }
}

/// GCRA in one Lua script: read, decide and write the key atomically on the Redis server, with
/// the server's clock, so every replica shares one bucket.
///
/// Times are milliseconds as floats (the interval `period / limit` may be a fraction of a
/// millisecond); the stored arrival time is written with explicit precision because Redis' Lua
/// would otherwise round large numbers when turning them into strings.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local period = tonumber(ARGV[1])
local tau = period / tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + cost * tau
local allow_at = new_tat - period
if now < allow_at then
  return {0, math.floor((period - (tat - now)) / tau), math.ceil(tat - now), math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, math.floor((period - (new_tat - now)) / tau), math.ceil(new_tat - now), 0}
";

/// Puts back unused tokens: moves the arrival time back, never before now.
const REFUND: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat <= now then return 0 end
local new_tat = tat - tonumber(ARGV[3]) * tonumber(ARGV[1]) / tonumber(ARGV[2])
if new_tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
end
return 1
";

/// The Redis limiter: one script call per check; keys are the port's tenant-scoped keys, so a
/// tenant's buckets share its Cluster slot.
pub struct RedisRateLimiter {
    conn: SharedConnection,
    script: Script,
    refund: Script,
}

impl RedisRateLimiter {
    /// A limiter on `pool`.
    pub fn new(pool: deadpool_redis::Pool) -> Self {
        Self {
            conn: SharedConnection::new(pool),
            script: Script::new(GCRA),
            refund: Script::new(REFUND),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        cost: u32,
    ) -> Result<RateDecision, LimitError> {
        let period = u64::try_from(quota.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut conn = self.conn.get().await?;
        let (allowed, remaining, reset, retry): (i64, i64, i64, i64) = self.conn.check(
            self.script
                .key(key.to_string())
                .arg(period)
                .arg(quota.limit.max(1))
                .arg(cost)
                .invoke_async(&mut conn)
                .await,
        )?;
        let ms = |v: i64| Duration::from_millis(u64::try_from(v.max(0)).unwrap_or(0));
        Ok(RateDecision {
            allowed: allowed == 1,
            limit: quota.limit,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            reset_after: ms(reset),
            retry_after: (allowed != 1).then(|| ms(retry)),
        })
    }

    async fn refund(&self, key: &CacheKey, quota: Quota, units: u32) -> Result<(), LimitError> {
        let period = u64::try_from(quota.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut conn = self.conn.get().await?;
        let _: i64 = self.conn.check(
            self.refund
                .key(key.to_string())
                .arg(period)
                .arg(quota.limit.max(1))
                .arg(units)
                .invoke_async(&mut conn)
                .await,
        )?;
        Ok(())
    }
}

/// The limiters shared through Redis (rates and quotas leased in batches).
struct Shared {
    rates: LeasedRateLimiter<RedisRateLimiter>,
    quotas: LeasedQuota<RedisQuotas>,
    slots: RedisQuotas,
}

/// Every limit (rates, quotas, concurrency slots): through Redis when it answers, in process when
/// it does not. Each replica then limits on its own (degraded, logged once, visible in readiness)
/// instead of failing requests or dropping limits, and goes back to the shared state as soon as
/// Redis answers.
pub struct FallbackLimits {
    shared: Option<Shared>,
    local: MemoryRateLimiter,
    local_quotas: MemoryQuotas,
    degraded: AtomicBool,
}

impl FallbackLimits {
    /// Shared through `redis` when given (with local leases by `lease`), in process otherwise.
    pub fn new(redis: Option<deadpool_redis::Pool>, lease: LeasePolicy) -> Self {
        Self {
            shared: redis.map(|pool| Shared {
                rates: LeasedRateLimiter::new(RedisRateLimiter::new(pool.clone()), lease),
                quotas: LeasedQuota::new(RedisQuotas::new(pool.clone()), lease),
                slots: RedisQuotas::new(pool),
            }),
            local: MemoryRateLimiter::new(),
            local_quotas: MemoryQuotas::new(),
            degraded: AtomicBool::new(false),
        }
    }

    /// Whether the last operation fell back to this replica's own state.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Gives back quota units leased but not used in time (run every lease lifetime or so).
    pub async fn sweep(&self) {
        if let Some(shared) = &self.shared {
            self.note(shared.rates.sweep().await);
            self.note(shared.quotas.sweep().await);
        }
    }

    /// The shared answer, or `None` (and degraded) when Redis failed.
    fn note<T>(&self, result: Result<T, LimitError>) -> Option<T> {
        match result {
            Ok(value) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis answers again: limits are shared again");
                }
                Some(value)
            }
            Err(e) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "redis unavailable: limits fall back to this replica alone");
                }
                None
            }
        }
    }
}

#[async_trait]
impl pake_ports::Probe for FallbackLimits {
    async fn probe(&self) -> Result<(), String> {
        if self.is_degraded() {
            Err("redis unavailable: each replica limits on its own".into())
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl RateLimiter for FallbackLimits {
    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        cost: u32,
    ) -> Result<RateDecision, LimitError> {
        if let Some(shared) = &self.shared
            && let Some(d) = self.note(shared.rates.check(key, quota, cost).await)
        {
            return Ok(d);
        }
        self.local.check(key, quota, cost).await
    }

    async fn refund(&self, key: &CacheKey, quota: Quota, units: u32) -> Result<(), LimitError> {
        if let Some(shared) = &self.shared
            && self
                .note(shared.rates.refund(key, quota, units).await)
                .is_some()
        {
            return Ok(());
        }
        self.local.refund(key, quota, units).await
    }
}

#[async_trait]
impl QuotaCounter for FallbackLimits {
    async fn take(
        &self,
        key: &CacheKey,
        limit: u64,
        want: u64,
        start: u64,
        ttl: Duration,
    ) -> Result<QuotaTake, LimitError> {
        if let Some(shared) = &self.shared {
            let taken = shared.quotas.take(key, limit, want, start, ttl).await;
            if let Some(t) = self.note(taken) {
                return Ok(t);
            }
        }
        self.local_quotas.take(key, limit, want, start, ttl).await
    }

    async fn give_back(&self, key: &CacheKey, units: u64) -> Result<(), LimitError> {
        if let Some(shared) = &self.shared
            && self
                .note(shared.quotas.give_back(key, units).await)
                .is_some()
        {
            return Ok(());
        }
        self.local_quotas.give_back(key, units).await
    }

    async fn current(&self, key: &CacheKey) -> Result<Option<u64>, LimitError> {
        if let Some(shared) = &self.shared
            && let Some(n) = self.note(shared.quotas.current(key).await)
        {
            return Ok(n);
        }
        self.local_quotas.current(key).await
    }
}

#[async_trait]
impl ConcurrencyLimiter for FallbackLimits {
    async fn acquire(
        &self,
        key: &CacheKey,
        holder: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<bool, LimitError> {
        if let Some(shared) = &self.shared {
            let taken = shared.slots.acquire(key, holder, limit, ttl).await;
            if let Some(t) = self.note(taken) {
                return Ok(t);
            }
        }
        self.local_quotas.acquire(key, holder, limit, ttl).await
    }

    async fn renew(&self, key: &CacheKey, holder: &str, ttl: Duration) -> Result<bool, LimitError> {
        if let Some(shared) = &self.shared
            && let Some(r) = self.note(shared.slots.renew(key, holder, ttl).await)
        {
            return Ok(r);
        }
        self.local_quotas.renew(key, holder, ttl).await
    }

    async fn release(&self, key: &CacheKey, holder: &str) -> Result<(), LimitError> {
        if let Some(shared) = &self.shared
            && self.note(shared.slots.release(key, holder).await).is_some()
        {
            return Ok(());
        }
        self.local_quotas.release(key, holder).await
    }

    async fn held(&self, key: &CacheKey) -> Result<u32, LimitError> {
        if let Some(shared) = &self.shared
            && let Some(n) = self.note(shared.slots.held(key).await)
        {
            return Ok(n);
        }
        self.local_quotas.held(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_quotas_keep_their_rate() {
        // 600 000 a minute is 10 000 a second: an interval of 100 µs, not a rounded millisecond
        let quota = Quota {
            limit: 600_000,
            period: Duration::from_secs(60),
        };
        let (mut tat, mut admitted) = (0, 0);
        for _ in 0..700_000 {
            let (ok, next, _) = step(tat, 0, quota, 1);
            if ok {
                admitted += 1;
                tat = next;
            }
        }
        assert_eq!(admitted, 600_000);
    }

    #[test]
    fn a_quota_admits_its_burst_then_one_per_interval() {
        let quota = Quota {
            limit: 3,
            period: Duration::from_secs(3),
        };
        let mut tat = 0;
        for expected_remaining in [2, 1, 0] {
            let (ok, next, d) = step(tat, 0, quota, 1);
            assert!(ok);
            assert_eq!(d.remaining, expected_remaining);
            tat = next;
        }
        let (ok, same, d) = step(tat, 0, quota, 1);
        assert!(!ok && same == tat, "a refusal takes nothing");
        assert_eq!(d.retry_after, Some(Duration::from_secs(1)));
        let (ok, _, _) = step(tat, 1_000_000, quota, 1);
        assert!(ok, "one more after one interval");
    }
}
