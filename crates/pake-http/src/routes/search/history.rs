//! `/api/v1/search/history`, `analytics` and `popular`: what was searched, scoped to what the
//! caller may read.

use actix_web::{HttpResponse, web};
use pake_domain::search::{SearchRecord, SourceId};
use pake_domain::{PageRequest, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ResultDto;
use crate::AppState;
use crate::dto::Pagination;
use crate::error::ApiError;
use crate::extract::{Auth, Meta};
use crate::routes::export::{ExportQuery, file};

/// A search in the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryDto {
    /// Id.
    #[schema(value_type = String)]
    pub id: Uuid,
    /// Who searched.
    #[schema(value_type = String)]
    pub user_id: Uuid,
    /// The query.
    pub query: String,
    /// Sources asked.
    #[schema(value_type = Vec<String>)]
    pub sources: Vec<SourceId>,
    /// Results returned.
    pub result_count: u32,
    /// Milliseconds.
    pub execution_time_ms: u32,
    /// Answered entirely from cache.
    pub cache_hit: bool,
    /// Each source's part.
    #[schema(value_type = Object)]
    pub source_status: serde_json::Value,
    /// The saved search it ran, if any.
    #[schema(value_type = Option<String>)]
    pub saved_search_id: Option<Uuid>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Pages fetched (1, plus one per `POST /search/{id}/more`); `result_count` counts them all.
    pub pages: u32,
}

impl From<SearchRecord> for HistoryDto {
    fn from(r: SearchRecord) -> Self {
        Self {
            id: r.id.as_uuid(),
            user_id: r.user_id.as_uuid(),
            query: r.query.as_str().to_owned(),
            sources: r.sources,
            result_count: r.result_count,
            execution_time_ms: r.execution_ms,
            cache_hit: r.cache_hit,
            source_status: r.source_status,
            saved_search_id: r.saved_search_id.map(|s| s.as_uuid()),
            created_at: r.created_at,
            pages: r.pages,
        }
    }
}

/// `?user_id=&limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only this user's searches (admins and managers; others see only their own).
    pub user_id: Option<Uuid>,
    /// Page size 1–100.
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u64>,
}

/// `{search_history, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// The page, newest first.
    pub search_history: Vec<HistoryDto>,
    /// Totals.
    pub pagination: Pagination,
}

/// Search history: the caller's own; admins and managers the tenant's.
#[utoipa::path(get, path = "/api/v1/search/history", tag = "search", security(("bearer" = [])),
    params(HistoryQuery),
    responses((status = 200, body = HistoryResponse), (status = 403, body = crate::error::Problem)))]
pub async fn history(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.offset)?;
    let result = state
        .services
        .search
        .history(&auth.0, q.user_id.map(UserId::from_uuid), page)
        .await?;
    Ok(HttpResponse::Ok().json(HistoryResponse {
        search_history: result.items.into_iter().map(HistoryDto::from).collect(),
        pagination: Pagination {
            total: result.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}

/// A history entry reopened: the search, what it answered, each source's part.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntryResponse {
    /// The search.
    pub search: HistoryDto,
    /// Every kept page's results, first page first (empty once the plan's retention swept
    /// them: see `results_kept`).
    pub results: Vec<ResultDto>,
    /// Each source's part (of the first page).
    #[schema(value_type = Object)]
    pub source_status: serde_json::Value,
    /// Whether the results are still kept (the plan's retention: basic 30 days, professional
    /// 365, enterprise as long as the entry).
    pub results_kept: bool,
    /// Results left out of the kept pages to bound their size (0 almost always).
    pub results_dropped: u32,
}

/// Parses a path id; anything but a UUID is a 404, like a missing object.
pub(crate) fn path_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::from(pake_core::CoreError::NotFound))
}

/// One history entry with its kept results: the caller's own, one run from a public saved
/// search, or (admins and managers) any of the tenant's.
#[utoipa::path(get, path = "/api/v1/search/history/{id}", tag = "search", security(("bearer" = [])),
    params(("id" = String, Path, description = "The search's id")),
    responses((status = 200, body = HistoryEntryResponse), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn entry(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = pake_domain::SearchId::from_uuid(path_id(&id)?);
    let e = state.services.search.entry(&auth.0, id).await?;
    let source_status = e.record.source_status.clone();
    Ok(HttpResponse::Ok().json(HistoryEntryResponse {
        search: HistoryDto::from(e.record),
        results: ResultDto::all_marked(e.results, e.in_collections),
        source_status,
        results_kept: e.kept,
        results_dropped: e.dropped,
    }))
}

/// Exports a history entry's kept results (plan feature `export`): BibTeX, RIS, CSL-JSON or
/// CSV, as an attachment. Audited (`results_exported`) and counted.
#[utoipa::path(get, path = "/api/v1/search/history/{id}/export", tag = "export", security(("bearer" = [])),
    params(("id" = String, Path, description = "The search's id"), ExportQuery),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`)",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"pake-….<ext>\"`"),
                ("X-Export-Records" = u32, description = "Records in the file")),
            content((String = "application/x-bibtex"), (String = "application/x-research-info-systems"),
                (String = "application/vnd.citationstyles.csl+json"), (String = "text/csv"))),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "The results were swept (plan retention)")))]
pub async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    meta: Meta,
    id: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = query.format()?;
    let id = pake_domain::SearchId::from_uuid(path_id(&id)?);
    let out = state
        .services
        .exports
        .history(&auth.0, id, format, &meta.0)
        .await?;
    Ok(file(out))
}

/// `?days=` (1–365, default 30).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    /// The period, today included.
    pub days: Option<u32>,
    /// (popular only) how many queries, 1–100, default 10.
    pub limit: Option<u32>,
}

/// A count of one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayCountDto {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Searches.
    pub count: u64,
}

/// A source's share.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceCountDto {
    /// Source.
    pub source: String,
    /// Searches that asked it.
    pub searches: u64,
}

/// Search analytics.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsDto {
    /// The period in days.
    pub days: u32,
    /// Searches.
    pub total_searches: u64,
    /// Of which answered from cache.
    pub cache_hits: u64,
    /// `cache_hits / total_searches` (0 without searches).
    pub cache_hit_rate: f64,
    /// Mean execution time, ms.
    pub average_execution_ms: f64,
    /// Sources by searches, most asked first.
    pub top_sources: Vec<SourceCountDto>,
    /// Searches per day (days without searches omitted).
    pub per_day: Vec<DayCountDto>,
}

/// `{analytics}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsResponse {
    /// The figures.
    pub analytics: AnalyticsDto,
}

/// Search analytics: the caller's own; admins and managers the tenant's.
#[utoipa::path(get, path = "/api/v1/search/analytics", tag = "search", security(("bearer" = [])),
    params(DaysQuery),
    responses((status = 200, body = AnalyticsResponse), (status = 400, body = crate::error::Problem)))]
pub async fn analytics(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let days = query.days.unwrap_or(30);
    let figures = state.services.search.analytics(&auth.0, days).await?;
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let rate = if figures.total == 0 {
        0.0
    } else {
        figures.cache_hits as f64 / figures.total as f64
    };
    Ok(HttpResponse::Ok().json(AnalyticsResponse {
        analytics: AnalyticsDto {
            days,
            total_searches: figures.total,
            cache_hits: figures.cache_hits,
            cache_hit_rate: (rate * 1e4).round() / 1e4,
            average_execution_ms: (figures.average_ms * 10.0).round() / 10.0,
            top_sources: figures
                .by_source
                .iter()
                .map(|(s, n)| SourceCountDto {
                    source: s.as_str().to_owned(),
                    searches: *n,
                })
                .collect(),
            per_day: figures
                .per_day
                .iter()
                .map(|(d, n)| DayCountDto {
                    date: d.to_string(),
                    count: *n,
                })
                .collect(),
        },
    }))
}

/// A popular query.
#[derive(Debug, Serialize, ToSchema)]
pub struct PopularDto {
    /// The query (grouped case-insensitively).
    pub query: String,
    /// Times searched.
    pub count: u64,
}

/// `{popular_queries}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PopularResponse {
    /// Most searched first.
    pub popular_queries: Vec<PopularDto>,
}

/// Most searched queries: the caller's own; admins and managers the tenant's.
#[utoipa::path(get, path = "/api/v1/search/popular", tag = "search", security(("bearer" = [])),
    params(DaysQuery),
    responses((status = 200, body = PopularResponse), (status = 400, body = crate::error::Problem)))]
pub async fn popular(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = state
        .services
        .search
        .popular(&auth.0, query.days.unwrap_or(30), query.limit.unwrap_or(10))
        .await?;
    Ok(HttpResponse::Ok().json(PopularResponse {
        popular_queries: list
            .into_iter()
            .map(|p| PopularDto {
                query: p.query,
                count: p.count,
            })
            .collect(),
    }))
}
