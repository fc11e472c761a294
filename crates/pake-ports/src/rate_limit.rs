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
}
