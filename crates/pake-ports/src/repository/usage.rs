//! Usage counters (per tenant, UTC day and metric).

use async_trait::async_trait;
use pake_domain::TenantId;
use pake_domain::usage::UsageMetric;
use time::Date;

use crate::RepoError;

/// Usage counters (per tenant, UTC day and metric).
#[async_trait]
pub trait UsageRepository: Send + Sync {
    /// Adds `by` to the counter and returns its new value, atomically.
    async fn increment(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
        by: u64,
    ) -> Result<u64, RepoError>;

    /// The counter's value (0 when never incremented).
    async fn get(&self, tenant: TenantId, day: Date, metric: UsageMetric)
    -> Result<u64, RepoError>;

    /// Non-zero counters for days in `from..=to`, oldest first.
    async fn series(
        &self,
        tenant: TenantId,
        from: Date,
        to: Date,
        metric: UsageMetric,
    ) -> Result<Vec<(Date, u64)>, RepoError>;
}
