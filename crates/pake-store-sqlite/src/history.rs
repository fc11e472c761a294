//! `SearchHistoryRepository` on SQLite.

use async_trait::async_trait;
use diesel::OptionalExtension;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use pake_domain::search::{
    HistoryFilter, PopularQuery, QueryText, SearchRecord, SearchStats, SnapshotPage, SourceId,
};
use pake_domain::{Page, PageRequest, SavedSearchId, SearchId, TenantId, UserId};
use pake_ports::{RepoError, SearchHistoryRepository};
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::SqliteStore;
use crate::convert::{TxError, count, from_micros, json, to_json, to_micros};
use crate::paging::load_page;
use crate::schema::{search_history, search_snapshots};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = search_history, check_for_backend(diesel::sqlite::Sqlite))]
struct HistoryRow {
    tenant_id: String,
    id: String,
    user_id: String,
    query: String,
    query_norm: String,
    sources: String,
    result_count: i32,
    execution_ms: i32,
    cache_hit: bool,
    source_status: String,
    saved_search_id: Option<String>,
    created_at: i64,
    pages: i32,
    paging: Option<String>,
}

/// One kept page of a search's results.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = search_snapshots, check_for_backend(diesel::sqlite::Sqlite))]
struct SnapshotRow {
    tenant_id: String,
    search_id: String,
    page: i32,
    created_at: i64,
    body: Vec<u8>,
}

impl HistoryRow {
    fn from_domain(r: &SearchRecord) -> Result<Self, RepoError> {
        Ok(Self {
            tenant_id: r.tenant_id.to_string(),
            id: r.id.to_string(),
            user_id: r.user_id.to_string(),
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
            source_status: to_json(&r.source_status)?,
            saved_search_id: r.saved_search_id.map(|s| s.to_string()),
            created_at: to_micros(r.created_at),
            pages: i32::try_from(r.pages).unwrap_or(i32::MAX),
            paging: r.paging.as_ref().map(to_json).transpose()?,
        })
    }

    fn into_domain(self) -> Result<SearchRecord, RepoError> {
        Ok(SearchRecord {
            tenant_id: TenantId::parse(&self.tenant_id).map_err(RepoError::corrupt)?,
            id: SearchId::parse(&self.id).map_err(RepoError::corrupt)?,
            user_id: UserId::parse(&self.user_id).map_err(RepoError::corrupt)?,
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
            source_status: json(&self.source_status)?,
            saved_search_id: self
                .saved_search_id
                .as_deref()
                .map(SavedSearchId::parse)
                .transpose()
                .map_err(RepoError::corrupt)?,
            created_at: from_micros(self.created_at)?,
            pages: u32::try_from(self.pages).unwrap_or(1),
            snapshot: None,
            paging: self.paging.as_deref().map(json).transpose()?,
        })
    }
}

/// The WHERE clause shared by the aggregate queries, with its three binds (tenant, user twice,
/// since).
const FILTER: &str = "tenant_id = ? AND (? IS NULL OR user_id = ?) AND created_at >= ?";

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
struct DayCount {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct QueryCount {
    #[diesel(sql_type = Text)]
    query: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

struct Binds {
    tenant: String,
    user: Option<String>,
    since: i64,
}

impl Binds {
    fn new(tenant: TenantId, filter: &HistoryFilter) -> Self {
        Self {
            tenant: tenant.to_string(),
            user: filter.user_id.map(|u| u.to_string()),
            since: filter.since.map_or(i64::MIN, to_micros),
        }
    }

    fn apply(
        &self,
        sql: String,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        diesel::sqlite::Sqlite,
        diesel::query_builder::SqlQuery,
    > {
        diesel::sql_query(sql)
            .into_boxed()
            .bind::<Text, _>(self.tenant.clone())
            .bind::<Nullable<Text>, _>(self.user.clone())
            .bind::<Nullable<Text>, _>(self.user.clone())
            .bind::<BigInt, _>(self.since)
    }
}

fn stats(c: &mut SqliteConnection, b: &Binds) -> Result<SearchStats, TxError> {
    let totals: Totals = b
        .apply(format!(
            "SELECT COUNT(*) AS total, COALESCE(SUM(cache_hit), 0) AS hits, \
             COALESCE(SUM(execution_ms), 0) AS ms FROM search_history WHERE {FILTER}"
        ))
        .get_result(c)?;
    let mut by_source = Vec::new();
    for source in SourceId::ALL {
        let n: Count = b
            .apply(format!(
                "SELECT COUNT(*) AS n FROM search_history WHERE {FILTER} \
                 AND (',' || sources || ',') LIKE '%,{},%'",
                source.as_str()
            ))
            .get_result(c)?;
        by_source.push((source, count(n.n)));
    }
    let days: Vec<DayCount> = b
        .apply(format!(
            "SELECT date(created_at / 1000000, 'unixepoch') AS day, COUNT(*) AS n \
             FROM search_history WHERE {FILTER} GROUP BY day ORDER BY day"
        ))
        .load(c)?;
    let fmt = format_description!("[year]-[month]-[day]");
    let per_day = days
        .into_iter()
        .map(|d| {
            Ok((
                Date::parse(&d.day, fmt).map_err(RepoError::internal)?,
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
impl SearchHistoryRepository for SqliteStore {
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError> {
        self.append_many(std::slice::from_ref(record)).await
    }

    async fn append_many(&self, records: &[SearchRecord]) -> Result<(), RepoError> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records
            .iter()
            .map(HistoryRow::from_domain)
            .collect::<Result<Vec<_>, _>>()?;
        let pages: Vec<SnapshotRow> = records
            .iter()
            .filter_map(|r| {
                r.snapshot.as_ref().map(|body| SnapshotRow {
                    tenant_id: r.tenant_id.to_string(),
                    search_id: r.id.to_string(),
                    page: 1,
                    created_at: to_micros(r.created_at),
                    body: body.clone(),
                })
            })
            .collect();
        // one transaction: `write` runs its closure in one
        self.write(move |c| {
            for chunk in rows.chunks(200) {
                diesel::insert_into(search_history::table)
                    .values(chunk)
                    .execute(c)?;
            }
            for chunk in pages.chunks(200) {
                diesel::insert_into(search_snapshots::table)
                    .values(chunk)
                    .execute(c)?;
            }
            Ok(())
        })
        .await
    }

    async fn get(&self, tenant: TenantId, id: SearchId) -> Result<Option<SearchRecord>, RepoError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.read(move |c| {
            let row: Option<HistoryRow> = search_history::table
                .filter(search_history::tenant_id.eq(tenant))
                .filter(search_history::id.eq(id))
                .select(HistoryRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(HistoryRow::into_domain).transpose()?)
        })
        .await
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
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let paging = to_json(paging)?;
        let pages = i32::try_from(pages).unwrap_or(i32::MAX);
        let added = i32::try_from(added).unwrap_or(i32::MAX);
        let page = SnapshotRow {
            tenant_id: tenant.clone(),
            search_id: id.clone(),
            page: pages.saturating_add(1),
            created_at: to_micros(snapshot.created_at),
            body: snapshot.body.clone(),
        };
        self.write(move |c| {
            let n = diesel::update(
                search_history::table
                    .filter(search_history::tenant_id.eq(tenant))
                    .filter(search_history::id.eq(id))
                    .filter(search_history::pages.eq(pages)),
            )
            .set((
                search_history::pages.eq(pages.saturating_add(1)),
                search_history::paging.eq(Some(paging)),
                search_history::result_count.eq(search_history::result_count + added),
            ))
            .execute(c)?;
            if n == 1 {
                diesel::insert_into(search_snapshots::table)
                    .values(&page)
                    .execute(c)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn snapshot(
        &self,
        tenant: TenantId,
        id: SearchId,
    ) -> Result<Vec<SnapshotPage>, RepoError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.read(move |c| {
            let rows: Vec<SnapshotRow> = search_snapshots::table
                .filter(search_snapshots::tenant_id.eq(tenant))
                .filter(search_snapshots::search_id.eq(id))
                .order(search_snapshots::page.asc())
                .select(SnapshotRow::as_select())
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    Ok(SnapshotPage {
                        page: u32::try_from(r.page).unwrap_or(1),
                        created_at: from_micros(r.created_at)?,
                        body: r.body,
                    })
                })
                .collect::<Result<_, RepoError>>()?)
        })
        .await
    }

    async fn latest_of_saved(
        &self,
        tenant: TenantId,
        saved: SavedSearchId,
    ) -> Result<Option<SearchRecord>, RepoError> {
        let (tenant, saved) = (tenant.to_string(), saved.to_string());
        self.read(move |c| {
            let row: Option<HistoryRow> = search_history::table
                .filter(search_history::tenant_id.eq(tenant))
                .filter(search_history::saved_search_id.eq(saved))
                .order((search_history::created_at.desc(), search_history::id.desc()))
                .select(HistoryRow::as_select())
                .first(c)
                .optional()?;
            Ok(row.map(HistoryRow::into_domain).transpose()?)
        })
        .await
    }

    async fn purge_snapshots(
        &self,
        tenant: TenantId,
        before: OffsetDateTime,
    ) -> Result<u64, RepoError> {
        let tenant = tenant.to_string();
        let before = to_micros(before);
        self.write(move |c| {
            let n = diesel::delete(
                search_snapshots::table
                    .filter(search_snapshots::tenant_id.eq(tenant))
                    .filter(search_snapshots::created_at.lt(before)),
            )
            .execute(c)?;
            Ok(n as u64)
        })
        .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, RepoError> {
        let tenant = tenant.to_string();
        let filter = filter.clone();
        self.read(move |c| {
            let query = || {
                let mut q = search_history::table
                    .filter(search_history::tenant_id.eq(tenant.clone()))
                    .into_boxed();
                if let Some(user) = filter.user_id {
                    q = q.filter(search_history::user_id.eq(user.to_string()));
                }
                if let Some(since) = filter.since {
                    q = q.filter(search_history::created_at.ge(to_micros(since)));
                }
                q
            };
            let order = (search_history::created_at.desc(), search_history::id.desc());
            load_page(c, query, order, page, HistoryRow::into_domain)
        })
        .await
    }

    async fn stats(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
    ) -> Result<SearchStats, RepoError> {
        let binds = Binds::new(tenant, filter);
        self.read(move |c| stats(c, &binds)).await
    }

    async fn popular(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, RepoError> {
        let binds = Binds::new(tenant, filter);
        self.read(move |c| {
            let rows: Vec<QueryCount> = binds
                .apply(format!(
                    "SELECT MIN(query) AS query, COUNT(*) AS n FROM search_history WHERE {FILTER} \
                     GROUP BY query_norm ORDER BY n DESC, query_norm ASC LIMIT {limit}"
                ))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|r| PopularQuery {
                    query: r.query,
                    count: count(r.n),
                })
                .collect())
        })
        .await
    }
}
