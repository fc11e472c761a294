//! `UsageRepository` on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use pake_domain::TenantId;
use pake_domain::usage::UsageMetric;
use pake_ports::{RepoError, UsageRepository};
use time::Date;
use time::macros::format_description;

use crate::SqliteStore;
use crate::convert::count;
use crate::schema::usage_counters;

const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

fn day_text(day: Date) -> Result<String, RepoError> {
    day.format(DAY).map_err(RepoError::internal)
}

#[async_trait]
impl UsageRepository for SqliteStore {
    async fn increment(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
        by: u64,
    ) -> Result<u64, RepoError> {
        let (tenant, day) = (tenant.to_string(), day_text(day)?);
        let by = i64::try_from(by).map_err(RepoError::internal)?;
        self.write(move |c| {
            let value: i64 = diesel::insert_into(usage_counters::table)
                .values((
                    usage_counters::tenant_id.eq(tenant),
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
                .get_result(c)?;
            Ok(count(value))
        })
        .await
    }

    async fn get(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
    ) -> Result<u64, RepoError> {
        let (tenant, day) = (tenant.to_string(), day_text(day)?);
        self.read(move |c| {
            let value: Option<i64> = usage_counters::table
                .find((tenant, day, metric.as_str()))
                .select(usage_counters::value)
                .first(c)
                .optional()?;
            Ok(value.map_or(0, count))
        })
        .await
    }

    async fn series(
        &self,
        tenant: TenantId,
        from: Date,
        to: Date,
        metric: UsageMetric,
    ) -> Result<Vec<(Date, u64)>, RepoError> {
        let (tenant, from, to) = (tenant.to_string(), day_text(from)?, day_text(to)?);
        self.read(move |c| {
            let rows: Vec<(String, i64)> = usage_counters::table
                .filter(usage_counters::tenant_id.eq(tenant))
                .filter(usage_counters::metric.eq(metric.as_str()))
                .filter(usage_counters::day.between(from, to))
                .filter(usage_counters::value.gt(0))
                .order(usage_counters::day.asc())
                .select((usage_counters::day, usage_counters::value))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(d, v)| Ok((Date::parse(&d, DAY).map_err(RepoError::internal)?, count(v))))
                .collect::<Result<_, RepoError>>()?)
        })
        .await
    }
}
