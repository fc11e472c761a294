//! PAKE's cache adapters and the cross-replica identity bus.
//!
//! - [`MemoryCache`]: the in-process cache (moka, bounded by bytes, per-entry expiry).
//! - [`RedisCache`]: Redis through a deadpool-redis pool. Keys come from the port's typed
//!   [`CacheKey`](pake_ports::CacheKey): `t:{<tenant>}:<ns>:<key>` (the braces are a Redis Cluster
//!   hash tag, so a tenant's keys share a slot) or `g:<ns>:<key>` for the allow-listed
//!   platform-wide namespaces.
//! - [`TieredCache`]: the in-process layer over Redis. When Redis fails the server keeps serving
//!   from the in-process layer, marks itself degraded (visible in readiness), logs the transition
//!   once, and uses Redis again as soon as it answers.
//! - [`RedisEvents`]: identity events (ended sessions, changed tenants) over Redis pub/sub, with a
//!   subscriber that reconnects by itself.
//!
//! - [`MemoryRateLimiter`] and [`RedisRateLimiter`]: GCRA rate limits in process and atomically in
//!   Redis (one script call per check); [`MemoryQuotas`] and [`RedisQuotas`]: daily quotas
//!   (capped counters expiring with their day) and concurrency slots (leases that expire unless
//!   renewed); [`LeasedRateLimiter`] and [`LeasedQuota`]: batches taken from Redis in one round
//!   trip and spent in process; [`FallbackLimits`]: all of them through Redis, in process while
//!   Redis is down.
//!
//! Nothing that must survive lives only here: the services run with Redis persistence off.

mod conn;
mod events;
mod lease;
mod limits;
mod memory;
mod quota;
mod redis;
mod tiered;

pub use events::RedisEvents;
pub use lease::{LeasePolicy, LeasedQuota, LeasedRateLimiter};
pub use limits::{FallbackLimits, MemoryRateLimiter, RedisRateLimiter};
pub use memory::MemoryCache;
pub use quota::{MemoryQuotas, RedisQuotas};
pub use redis::{GLOBAL_NAMESPACES, RedisCache};
pub use tiered::TieredCache;

/// Locks `m`, carrying on after a panic elsewhere poisoned it (every critical section leaves
/// the data consistent).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
