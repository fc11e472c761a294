//! `SearchHistoryRepository` on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pake_domain::search::{
    HistoryFilter, PopularQuery, QueryText, SearchRecord, SearchStats, SnapshotPage, SourceId,
};
use pake_domain::{Page, PageRequest, SavedSearchId, SearchId, TenantId, UserId};
use pake_ports::{RepoError, SearchHistoryRepository};
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::convert::{TxError, count};
use crate::paging::load_page;
use crate::schema::{search_history, search_snapshots};
use crate::{PgStore, tenant_tx};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = search_history, check_for_backend(diesel::pg::Pg))]
struct HistoryRow {
    tenant_id: Uuid,
    id: Uuid,
    user_id: Uuid,
    query: String,
    query_norm: String,
    sources: String,
    result_count: i32,
    execution_ms: i32,
    cache_hit: bool,
    source_status: serde_json::Value,
    saved_search_id: Option<Uuid>,
    created_at: OffsetDateTime,
    pages: i32,
    paging: Option<serde_json::Value>,
}

/// One tenant's share of a batch: its history rows and their first kept pages.
type TenantRows = (Vec<HistoryRow>, Vec<SnapshotRow>);

/// One kept page of a search's results.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = search_snapshots, check_for_backend(diesel::pg::Pg))]
struct SnapshotRow {
    tenant_id: Uuid,
    search_id: Uuid,
    page: i32,
    created_at: OffsetDateTime,
    body: Vec<u8>,
}

impl SnapshotRow {
    fn first_of(r: &SearchRecord) -> Option<Self> {
        r.snapshot.as_ref().map(|body| Self {
            tenant_id: r.tenant_id.as_uuid(),
            search_id: r.id.as_uuid(),
            page: 1,
            created_at: r.created_at,
            body: body.clone(),
        })
    }
}

impl HistoryRow {
    fn from_domain(r: &SearchRecord) -> Self {
        Self {
            tenant_id: r.tenant_id.as_uuid(),
            id: r.id.as_uuid(),
            user_id: r.user_id.as_uuid(),
            query: r.query.as_str().to_owned(),
            query_norm: r.query.grouping_key(),
            sources: r
                .sources
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            result_count: i32::try_from(r.result_count).unwrap_or(i32::MAX),
            execution_ms: i32::try_from(r.execution_ms).unwrap_or(i32::MAX),
            cache_hit: r.cache_hit,
            source_status: r.source_status.clone(),
            saved_search_id: r.saved_search_id.map(|s| s.as_uuid()),
            created_at: r.created_at,
            pages: i32::try_from(r.pages).unwrap_or(i32::MAX),
            paging: r.paging.clone(),
        }
    }

    fn into_domain(self) -> Result<SearchRecord, RepoError> {
        Ok(SearchRecord {
            tenant_id: TenantId::from_uuid(self.tenant_id),
            id: SearchId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            query: QueryText::parse(&self.query).map_err(RepoError::corrupt)?,
            sources: self
                .sources
                .split(',')
                .filter(|s| !s.is_empty())
                .map(SourceId::parse)
                .collect::<Result<_, _>>()
                .map_err(RepoError::corrupt)?,
            result_count: u32::try_from(self.result_count).unwrap_or(0),
            execution_ms: u32::try_from(self.execution_ms).unwrap_or(0),
            cache_hit: self.cache_hit,
            source_status: self.source_status,
            saved_search_id: self.saved_search_id.map(SavedSearchId::from_uuid),
            created_at: self.created_at,
            pages: u32::try_from(self.pages).unwrap_or(1),
            paging: self.paging,
            snapshot: None,
        })
    }
}

/// The WHERE clause shared by the aggregate queries: tenant ($1), optional user ($2), since ($3).
const FILTER: &str =
    "tenant_id = $1::uuid AND ($2::uuid IS NULL OR user_id = $2::uuid) AND created_at >= $3";

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    hits: i64,
    #[diesel(sql_type = BigInt)]
    ms: i64,
}

#[derive(QueryableByName)]
struct Labelled {
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(Clone, Copy)]
struct Binds {
    tenant: Uuid,
    user: Option<Uuid>,
    since: OffsetDateTime,
}

impl Binds {
    fn new(tenant: TenantId, filter: &HistoryFilter) -> Self {
        Self {
            tenant: tenant.as_uuid(),
            user: filter.user_id.map(|u| u.as_uuid()),
            since: filter.since.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }

    fn apply(
        self,
        sql: String,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        diesel::pg::Pg,
        diesel::query_builder::SqlQuery,
    > {
        diesel::sql_query(sql)
            .into_boxed()
            .bind::<Text, _>(self.tenant.to_string())
            .bind::<Nullable<Text>, _>(self.user.map(|u| u.to_string()))
            .bind::<Timestamptz, _>(self.since)
    }
}

async fn stats(c: &mut AsyncPgConnection, b: Binds) -> Result<SearchStats, TxError> {
    let totals: Totals = b
        .apply(format!(
            "SELECT COUNT(*)::int8 AS total, COALESCE(SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END), 0)::int8 AS hits, \
             COALESCE(SUM(execution_ms), 0)::int8 AS ms FROM search_history WHERE {FILTER}"
        ))
        .get_result(c)
        .await?;
    let mut by_source = Vec::new();
    for source in SourceId::ALL {
        let n: Labelled = b
            .apply(format!(
                "SELECT '{0}' AS label, COUNT(*)::int8 AS n FROM search_history WHERE {FILTER} \
                 AND (',' || sources || ',') LIKE '%,{0},%'",
                source.as_str()
            ))
            .get_result(c)
            .await?;
        by_source.push((source, count(n.n)));
    }
    let days: Vec<Labelled> = b
        .apply(format!(
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS label, COUNT(*)::int8 AS n \
             FROM search_history WHERE {FILTER} GROUP BY label ORDER BY label"
        ))
        .load(c)
        .await?;
    let fmt = format_description!("[year]-[month]-[day]");
    let per_day = days
        .into_iter()
        .map(|d| {
            Ok((
                Date::parse(&d.label, fmt).map_err(RepoError::internal)?,
                count(d.n),
            ))
        })
        .collect::<Result<_, RepoError>>()?;
    Ok(SearchStats::from_aggregates(
        count(totals.total),
        count(totals.hits),
        count(totals.ms),
        by_source,
        per_day,
    ))
}

#[async_trait]
impl SearchHistoryRepository for PgStore {
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError> {
        self.append_many(std::slice::from_ref(record)).await
    }

    async fn append_many(&self, records: &[SearchRecord]) -> Result<(), RepoError> {
        if records.is_empty() {
            return Ok(());
        }
        // one transaction; RLS checks each tenant's rows under that tenant's setting
        let mut groups: Vec<(uuid::Uuid, TenantRows)> = Vec::new();
        for record in records {
            let row = HistoryRow::from_domain(record);
            let page = SnapshotRow::first_of(record);
            let i = if let Some(i) = groups.iter().position(|(t, _)| *t == row.tenant_id) {
                i
            } else {
                groups.push((row.tenant_id, (Vec::new(), Vec::new())));
                groups.len() - 1
            };
            let (rows, pages) = &mut groups[i].1;
            rows.push(row);
            pages.extend(page);
        }
        let mut conn = self.conn().await?;
        let result: Result<(), crate::convert::TxError> =
            diesel_async::AsyncConnection::transaction(
                &mut *conn,
                async move |c: &mut diesel_async::AsyncPgConnection| {
                    for (tenant, (rows, pages)) in groups {
                        crate::set_tenant(c, tenant).await?;
                        diesel::insert_into(search_history::table)
                            .values(&rows)
                            .execute(c)
                            .await?;
                        if !pages.is_empty() {
                            diesel::insert_into(search_snapshots::table)
                                .values(&pages)
                                .execute(c)
                                .await?;
                        }
                    }
                    Ok(())
                },
            )
            .await;
        result.map_err(|e| e.0)
    }

    async fn get(&self, tenant: TenantId, id: SearchId) -> Result<Option<SearchRecord>, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let row: Option<HistoryRow> = search_history::table
                .filter(search_history::tenant_id.eq(t))
                .filter(search_history::id.eq(id))
                .select(HistoryRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(HistoryRow::into_domain).transpose()?)
        })
    }

    async fn add_page(
        &self,
        tenant: TenantId,
        id: SearchId,
        pages: u32,
        paging: &serde_json::Value,
        added: u32,
        snapshot: &SnapshotPage,
    ) -> Result<bool, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        let paging = paging.clone();
        let pages = i32::try_from(pages).unwrap_or(i32::MAX);
        let added = i32::try_from(added).unwrap_or(i32::MAX);
        let page = SnapshotRow {
            tenant_id: t,
            search_id: id,
            page: pages.saturating_add(1),
            created_at: snapshot.created_at,
            body: snapshot.body.clone(),
        };
        tenant_tx!(self, t, |c| {
            let n = diesel::update(
                search_history::table
                    .filter(search_history::tenant_id.eq(t))
                    .filter(search_history::id.eq(id))
                    .filter(search_history::pages.eq(pages)),
            )
            .set((
                search_history::pages.eq(pages.saturating_add(1)),
                search_history::paging.eq(Some(paging)),
                search_history::result_count.eq(search_history::result_count + added),
            ))
            .execute(c)
            .await?;
            if n == 1 {
                diesel::insert_into(search_snapshots::table)
                    .values(&page)
                    .execute(c)
                    .await?;
            }
            Ok(n == 1)
        })
    }

    async fn snapshot(
        &self,
        tenant: TenantId,
        id: SearchId,
    ) -> Result<Vec<SnapshotPage>, RepoError> {
        let (t, id) = (tenant.as_uuid(), id.as_uuid());
        tenant_tx!(self, t, |c| {
            let rows: Vec<SnapshotRow> = search_snapshots::table
                .filter(search_snapshots::tenant_id.eq(t))
                .filter(search_snapshots::search_id.eq(id))
                .order(search_snapshots::page.asc())
                .select(SnapshotRow::as_select())
                .load(c)
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| SnapshotPage {
                    page: u32::try_from(r.page).unwrap_or(1),
                    created_at: r.created_at,
                    body: r.body,
                })
                .collect())
        })
    }

    async fn latest_of_saved(
        &self,
        tenant: TenantId,
        saved: SavedSearchId,
    ) -> Result<Option<SearchRecord>, RepoError> {
        let (t, saved) = (tenant.as_uuid(), saved.as_uuid());
        tenant_tx!(self, t, |c| {
            let row: Option<HistoryRow> = search_history::table
                .filter(search_history::tenant_id.eq(t))
                .filter(search_history::saved_search_id.eq(saved))
                .order((search_history::created_at.desc(), search_history::id.desc()))
                .select(HistoryRow::as_select())
                .first(c)
                .await
                .optional()?;
            Ok(row.map(HistoryRow::into_domain).transpose()?)
        })
    }

    async fn purge_snapshots(
        &self,
        tenant: TenantId,
        before: OffsetDateTime,
    ) -> Result<u64, RepoError> {
        let t = tenant.as_uuid();
        tenant_tx!(self, t, |c| {
            let n = diesel::delete(
                search_snapshots::table
                    .filter(search_snapshots::tenant_id.eq(t))
                    .filter(search_snapshots::created_at.lt(before)),
            )
            .execute(c)
            .await?;
            Ok(n as u64)
        })
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, RepoError> {
        let t = tenant.as_uuid();
        let filter = filter.clone();
        tenant_tx!(self, t, |c| {
            let query = || {
                let mut q = search_history::table
                    .filter(search_history::tenant_id.eq(t))
                    .into_boxed();
                if let Some(user) = filter.user_id {
                    q = q.filter(search_history::user_id.eq(user.as_uuid()));
                }
                if let Some(since) = filter.since {
                    q = q.filter(search_history::created_at.ge(since));
                }
                q
            };
            let order = (search_history::created_at.desc(), search_history::id.desc());
            load_page(c, query, order, page, HistoryRow::into_domain).await
        })
    }

    async fn stats(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
    ) -> Result<SearchStats, RepoError> {
        let binds = Binds::new(tenant, filter);
        tenant_tx!(self, binds.tenant, |c| stats(c, binds).await)
    }

    async fn popular(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, RepoError> {
        let binds = Binds::new(tenant, filter);
        tenant_tx!(self, binds.tenant, |c| {
            let rows: Vec<Labelled> = binds
                .apply(format!(
                    "SELECT MIN(query) AS label, COUNT(*)::int8 AS n FROM search_history WHERE {FILTER} \
                     GROUP BY query_norm ORDER BY n DESC, query_norm ASC LIMIT {limit}"
                ))
                .load(c)
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| PopularQuery {
                    query: r.label,
                    count: count(r.n),
                })
                .collect())
        })
    }
}
