//! `UsageRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use pake_domain::TenantId;
use pake_domain::usage::UsageMetric;
use pake_ports::{RepoError, UsageRepository};
use time::Date;

use crate::convert::count;
use crate::schema::usage_counters;
use crate::{PgStore, tenant_tx};

#[async_trait]
impl UsageRepository for PgStore {
    async fn increment(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
        by: u64,
    ) -> Result<u64, RepoError> {
        let t = tenant.as_uuid();
        let by = i64::try_from(by).map_err(RepoError::internal)?;
        tenant_tx!(self, t, |c| {
            let value: i64 = diesel::insert_into(usage_counters::table)
                .values((
                    usage_counters::tenant_id.eq(t),
                    usage_counters::day.eq(day),
                    usage_counters::metric.eq(metric.as_str()),
                    usage_counters::value.eq(by),
                ))
                .on_conflict((
                    usage_counters::tenant_id,
                    usage_counters::day,
                    usage_counters::metric,
                ))
                .do_update()
                .set(
                    usage_counters::value
                        .eq(usage_counters::value + excluded(usage_counters::value)),
                )
                .returning(usage_counters::value)
                .get_result(c)
                .await?;
            Ok(count(value))
        })
    }

    async fn get(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
    ) -> Result<u64, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let value: Option<i64> = usage_counters::table
                .find((t, day, metric.as_str()))
                .select(usage_counters::value)
                .first(c)
                .await
                .optional()?;
            Ok(value.map_or(0, count))
        })
    }

    async fn series(
        &self,
        tenant: TenantId,
        from: Date,
        to: Date,
        metric: UsageMetric,
    ) -> Result<Vec<(Date, u64)>, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let rows: Vec<(Date, i64)> = usage_counters::table
                .filter(usage_counters::tenant_id.eq(t))
                .filter(usage_counters::metric.eq(metric.as_str()))
                .filter(usage_counters::day.between(from, to))
                .filter(usage_counters::value.gt(0))
                .order(usage_counters::day.asc())
                .select((usage_counters::day, usage_counters::value))
                .load(c)
                .await?;
            Ok(rows.into_iter().map(|(d, v)| (d, count(v))).collect())
        })
    }
}
