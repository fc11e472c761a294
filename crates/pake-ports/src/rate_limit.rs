//! The rate-limiter port: GCRA (a token bucket expressed as a theoretical arrival time).

use std::time::Duration;

use async_trait::async_trait;

use crate::CacheKey;

/// A rate: `limit` requests per `period`, with bursts up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed per period (and the burst size).
    pub limit: u32,
    /// The period.
    pub period: Duration,
}

/// The limiter's answer, with what the `RateLimit-*` headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota's limit.
    pub limit: u32,
    /// Requests still allowed right now.
    pub remaining: u32,
    /// Time until the bucket is full again.
    pub reset_after: Duration,
    /// When refused: time until one request would be allowed.
    pub retry_after: Option<Duration>,
}

/// A limiter failure.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// The backend cannot be reached; the caller falls back to a local limiter.
    #[error("rate limiter unavailable")]
    Unavailable(#[source] crate::BoxError),
}

/// Checks and records requests against quotas, atomically per key.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes `cost` units from the bucket under `key` if it has them. A refused request takes
    /// nothing.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn check(
        &self,
        key: &CacheKey,
        quota: Quota,
        cost: u32,
    ) -> Result<RateDecision, LimitError>;

    /// Puts back `units` taken earlier under `quota` but never used (a lease's leftovers): the
    /// bucket never holds more than a full burst afterwards.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn refund(&self, key: &CacheKey, quota: Quota, units: u32) -> Result<(), LimitError>;
}

/// What a quota counter granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaTake {
    /// Units taken: between 0 and what was asked.
    pub granted: u64,
    /// The counter after the call.
    pub used: u64,
}

/// A fixed cap over a window that ends when the counter's key expires (the daily API-call quota:
/// the key names the day). Atomic per key.
#[async_trait]
pub trait QuotaCounter: Send + Sync {
    /// Takes up to `want` units without passing `limit`; a counter that does not exist yet starts
    /// at `start` (what the store already recorded) and expires after `ttl`.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn take(
        &self,
        key: &CacheKey,
        limit: u64,
        want: u64,
        start: u64,
        ttl: Duration,
    ) -> Result<QuotaTake, LimitError>;

    /// Gives back `units` taken but not used (the counter never goes below zero).
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn give_back(&self, key: &CacheKey, units: u64) -> Result<(), LimitError>;

    /// The counter, if it exists.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn current(&self, key: &CacheKey) -> Result<Option<u64>, LimitError>;
}

/// Slots held at once (concurrent searches of a tenant). Each slot is a lease that expires unless
/// renewed, so a replica that dies mid-search cannot hold a slot for ever.
#[async_trait]
pub trait ConcurrencyLimiter: Send + Sync {
    /// Takes a slot for `holder` when fewer than `limit` unexpired leases are held under `key`;
    /// `true` when taken.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn acquire(
        &self,
        key: &CacheKey,
        holder: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<bool, LimitError>;

    /// Extends `holder`'s lease by `ttl` from now; `false` when it had expired already.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn renew(&self, key: &CacheKey, holder: &str, ttl: Duration) -> Result<bool, LimitError>;

    /// Frees `holder`'s slot (nothing when it holds none).
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn release(&self, key: &CacheKey, holder: &str) -> Result<(), LimitError>;

    /// Unexpired leases held under `key`.
    ///
    /// # Errors
    /// [`LimitError::Unavailable`] when the backend cannot be reached.
    async fn held(&self, key: &CacheKey) -> Result<u32, LimitError>;
}
