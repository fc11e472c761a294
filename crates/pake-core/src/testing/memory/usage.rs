use async_trait::async_trait;
use pake_domain::TenantId;
use pake_domain::usage::UsageMetric;
use pake_ports::{RepoError, UsageRepository};
use time::Date;

use super::MemoryStore;

#[async_trait]
impl UsageRepository for MemoryStore {
    async fn increment(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
        by: u64,
    ) -> Result<u64, RepoError> {
        let mut s = self.state();
        if !s.tenants.contains_key(&tenant) {
            return Err(RepoError::NotFound);
        }
        let value = s
            .usage
            .entry((tenant, day))
            .or_default()
            .entry(metric)
            .or_default();
        *value = value.saturating_add(by);
        Ok(*value)
    }

    async fn get(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
    ) -> Result<u64, RepoError> {
        Ok(self
            .state()
            .usage
            .get(&(tenant, day))
            .and_then(|m| m.get(&metric).copied())
            .unwrap_or(0))
    }

    async fn series(
        &self,
        tenant: TenantId,
        from: Date,
        to: Date,
        metric: UsageMetric,
    ) -> Result<Vec<(Date, u64)>, RepoError> {
        if from > to {
            return Ok(Vec::new());
        }
        Ok(self
            .state()
            .usage
            .range((tenant, from)..=(tenant, to))
            .filter_map(|((_, day), m)| m.get(&metric).map(|v| (*day, *v)))
            .filter(|(_, v)| *v > 0)
            .collect())
    }
}
