//! `/api/v1/search/*`: federated search, quick search, history, analytics, popular queries and
//! saved searches.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use pake_core::search::{
    SavedSearchChanges, SavedSearchInput, SearchFilters, SearchInput, SearchOutcome, SearchPatch,
    SearchResult, SourceStatus,
};
use pake_domain::search::{SavedSearch, SearchRecord, SourceId};
use pake_domain::{PageRequest, SavedSearchId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::dto::{Pagination, double_option};
use crate::error::ApiError;
use crate::extract::Auth;
use crate::json::Json;
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/search").post(search))
        .service(resource("/api/v1/search/").post(search))
        .service(resource("/api/v1/search/quick").post(quick))
        .service(resource("/api/v1/search/history").get(history))
        .service(resource("/api/v1/search/analytics").get(analytics))
        .service(resource("/api/v1/search/popular").get(popular))
        .service(
            resource("/api/v1/search/saved")
                .get(list_saved)
                .post(create_saved),
        )
        .service(
            resource("/api/v1/search/saved/")
                .get(list_saved)
                .post(create_saved),
        )
        .service(
            resource("/api/v1/search/saved/{id}")
                .get(get_saved)
                .patch(update_saved)
                .put(update_saved)
                .delete(delete_saved),
        )
        .service(resource("/api/v1/search/saved/{id}/run").post(run_saved));
}

/// Filters of a search.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiltersDto {
    /// Published on or after (`YYYY-MM-DD`).
    #[serde(default, with = "pake_core::search::iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_from: Option<time::Date>,
    /// Published on or before (`YYYY-MM-DD`).
    #[serde(default, with = "pake_core::search::iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_to: Option<time::Date>,
    /// arXiv categories (`cs.LG`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// PubMed publication types (`Review`).
    #[serde(default)]
    pub publication_types: Vec<String>,
    /// `relevance` (default) or `date`.
    pub sort: Option<String>,
}

impl From<FiltersDto> for SearchFilters {
    fn from(f: FiltersDto) -> Self {
        Self {
            date_from: f.date_from,
            date_to: f.date_to,
            categories: f.categories,
            publication_types: f.publication_types,
            sort: f.sort,
        }
    }
}

/// `web`, `arxiv`, `pubmed` as sources (an unknown one: 400 naming `sources`).
fn parse_sources(list: &[String]) -> Result<Vec<SourceId>, ApiError> {
    Ok(list
        .iter()
        .map(|s| SourceId::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(pake_core::CoreError::from)?)
}

/// A search.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// 1–500 characters after trimming. Any words: the text is data, never code.
    pub query: String,
    /// `web`, `arxiv`, `pubmed` (default all).
    pub sources: Option<Vec<String>>,
    /// Records per source, 1–50 (default 10).
    pub max_results: Option<u32>,
    /// Filters.
    #[serde(default)]
    pub filters: FiltersDto,
    /// Key topics (default true).
    pub enable_ml_enhancement: Option<bool>,
    /// Summaries (default: as `enable_ml_enhancement`).
    pub enable_summarization: Option<bool>,
}

impl SearchRequest {
    fn into_input(self) -> Result<SearchInput, ApiError> {
        let sources = self.sources.as_deref().map(parse_sources).transpose()?;
        Ok(SearchInput {
            query: self.query,
            sources,
            max_results: self.max_results,
            filters: self.filters.into(),
            enable_ml_enhancement: self.enable_ml_enhancement,
            enable_summarization: self.enable_summarization,
        })
    }
}

/// A quick search: the sources are chosen from the query's words.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickRequest {
    /// 1–500 characters after trimming.
    pub query: String,
}

/// How a result's relevance score was made.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreDto {
    /// BM25 of the query over title (counted twice) and abstract or snippet.
    pub bm25: f64,
    /// BM25 relative to the best of this result set (0–1).
    pub bm25_normalised: f64,
    /// Reciprocal-rank fusion of the sources' own positions, relative to the best (0–1).
    pub source_rank: f64,
    /// The formula.
    pub method: &'static str,
}

/// One merged result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultDto {
    /// Title.
    pub title: String,
    /// Landing page.
    pub url: String,
    /// The source that ranked it best.
    #[schema(value_type = String)]
    pub source: SourceId,
    /// Every source that found it.
    #[schema(value_type = Vec<String>)]
    pub sources: Vec<SourceId>,
    /// Authors.
    pub authors: Vec<String>,
    /// Publication date (`YYYY-MM-DD`).
    pub published: Option<String>,
    /// DOI.
    pub doi: Option<String>,
    /// arXiv id (no version).
    pub arxiv_id: Option<String>,
    /// PubMed id.
    pub pmid: Option<String>,
    /// PDF link.
    pub pdf_url: Option<String>,
    /// Abstract.
    #[serde(rename = "abstract")]
    pub abstract_text: Option<String>,
    /// Snippet (web).
    pub snippet: Option<String>,
    /// The fused relevance, 0–1.
    pub relevance_score: f64,
    /// How it was made.
    pub score: ScoreDto,
    /// Extractive summary (when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl From<SearchResult> for ResultDto {
    fn from(r: SearchResult) -> Self {
        Self {
            title: r.title,
            url: r.url,
            source: r.source,
            sources: r.sources,
            authors: r.authors,
            published: r.published.map(|d| d.to_string()),
            doi: r.doi,
            arxiv_id: r.arxiv_id,
            pmid: r.pmid,
            pdf_url: r.pdf_url,
            abstract_text: r.abstract_text,
            snippet: r.snippet,
            relevance_score: r.relevance_score,
            score: ScoreDto {
                bm25: r.score.bm25,
                bm25_normalised: r.score.bm25_normalised,
                source_rank: r.score.source_rank,
                method: "0.7 × bm25_normalised + 0.3 × source_rank",
            },
            summary: r.summary,
        }
    }
}

/// A source's part in a search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceStatusDto {
    /// `ok | cached | timeout | rate_limited | error | skipped | unavailable`.
    pub status: &'static str,
    /// Records it contributed.
    pub results: u32,
    /// Milliseconds it took.
    pub ms: u32,
    /// Why, when it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn status_map(status: BTreeMap<SourceId, SourceStatus>) -> BTreeMap<String, SourceStatusDto> {
    status
        .into_iter()
        .map(|(id, s)| {
            (
                id.as_str().to_owned(),
                SourceStatusDto {
                    status: s.status.as_str(),
                    results: s.results,
                    ms: s.ms,
                    detail: s.detail,
                },
            )
        })
        .collect()
}

/// A search's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Its id in the history.
    #[schema(value_type = String)]
    pub search_id: Uuid,
    /// The query (as JSON data; never interpreted).
    pub query: String,
    /// Merged, de-duplicated results, best first.
    pub results: Vec<ResultDto>,
    /// How many.
    pub total_results: usize,
    /// Each source's part.
    pub source_status: BTreeMap<String, SourceStatusDto>,
    /// Milliseconds.
    pub execution_time_ms: u32,
    /// Every source answered from the cache.
    pub cache_hit: bool,
    /// A digest of the result set (when summaries were asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Key topics of the result set (when enhancement was asked).
    pub key_topics: Vec<String>,
    /// Quick search: the expanded words the sources were chosen from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded_terms: Option<Vec<String>>,
}

impl From<SearchOutcome> for SearchResponse {
    fn from(o: SearchOutcome) -> Self {
        Self {
            search_id: o.id.as_uuid(),
            query: o.query,
            total_results: o.results.len(),
            results: o.results.into_iter().map(ResultDto::from).collect(),
            source_status: status_map(o.source_status),
            execution_time_ms: o.execution_ms,
            cache_hit: o.cache_hit,
            summary: o.summary,
            key_topics: o.key_topics,
            expanded_terms: o.expanded_terms,
        }
    }
}

/// Runs a federated search (not for viewers). A source that fails never fails the search.
#[utoipa::path(post, path = "/api/v1/search/", tag = "search", security(("bearer" = [])),
    request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn search(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<SearchRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input()?;
    let outcome = state.services.search.search(&auth.0, &input).await?;
    state.metrics.observe_search(&outcome);
    Ok(HttpResponse::Ok().json(SearchResponse::from(outcome)))
}

/// Runs a quick search: sources chosen from the (expanded) query words.
#[utoipa::path(post, path = "/api/v1/search/quick", tag = "search", security(("bearer" = [])),
    request_body = QuickRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn quick(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<QuickRequest>,
) -> Result<HttpResponse, ApiError> {
    let outcome = state.services.search.quick(&auth.0, &body.query).await?;
    state.metrics.observe_search(&outcome);
    Ok(HttpResponse::Ok().json(SearchResponse::from(outcome)))
}

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
    #[allow(clippy::cast_precision_loss)]
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

/// A saved search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchDto {
    /// Id.
    #[schema(value_type = String)]
    pub id: Uuid,
    /// Owner.
    #[schema(value_type = String)]
    pub owner_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The query.
    pub query: String,
    /// The whole search (sources, max_results, filters, enhancement).
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// Visible to the tenant.
    pub is_public: bool,
    /// Runs.
    pub run_count: u64,
    /// Last run.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Updated.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<SavedSearch> for SavedSearchDto {
    fn from(s: SavedSearch) -> Self {
        Self {
            id: s.id.as_uuid(),
            owner_id: s.owner_id.as_uuid(),
            name: s.name.as_str().to_owned(),
            description: s.description,
            query: s.query.as_str().to_owned(),
            parameters: s.parameters,
            is_public: s.is_public,
            run_count: s.run_count,
            last_run_at: s.last_run_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A saved search to create: a name and a search (the fields of `POST /api/v1/search/`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedSearchRequest {
    /// Name.
    pub name: Option<String>,
    /// Description (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    /// The query.
    pub query: Option<String>,
    /// Sources.
    pub sources: Option<Vec<String>>,
    /// Records per source.
    pub max_results: Option<u32>,
    /// Filters.
    pub filters: Option<FiltersDto>,
    /// Key topics.
    pub enable_ml_enhancement: Option<bool>,
    /// Summaries.
    pub enable_summarization: Option<bool>,
    /// Visible to the tenant.
    pub is_public: Option<bool>,
}

impl SavedSearchRequest {
    fn into_input(self) -> Result<SavedSearchInput, ApiError> {
        let search = match self.query {
            Some(query) => Some(
                SearchRequest {
                    query,
                    sources: self.sources,
                    max_results: self.max_results,
                    filters: self.filters.unwrap_or_default(),
                    enable_ml_enhancement: self.enable_ml_enhancement,
                    enable_summarization: self.enable_summarization,
                }
                .into_input()?,
            ),
            None => None,
        };
        Ok(SavedSearchInput {
            name: self.name,
            description: self.description,
            search,
            is_public: self.is_public,
        })
    }
}

/// Changes to a saved search. Each field given is validated as on create and applied (an
/// invalid one: 400 `validation_failed` naming it, and nothing changes); each field left out
/// keeps its stored value. `null` clears `description` and returns `sources`, `max_results`,
/// `filters`, `enable_ml_enhancement` and `enable_summarization` to their defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedSearchPatch {
    /// Name.
    pub name: Option<String>,
    /// Description (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    /// The query, 1–500 characters after trimming.
    pub query: Option<String>,
    /// `web`, `arxiv`, `pubmed`, at least one (`null`: all).
    #[serde(default, deserialize_with = "double_option")]
    pub sources: Option<Option<Vec<String>>>,
    /// Records per source, 1–50 (`null`: 10).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 1, maximum = 50)]
    pub max_results: Option<Option<u32>>,
    /// Filters, replacing the stored ones as a whole (`null`: none).
    #[serde(default, deserialize_with = "double_option")]
    pub filters: Option<Option<FiltersDto>>,
    /// Key topics (`null`: the default, on).
    #[serde(default, deserialize_with = "double_option")]
    pub enable_ml_enhancement: Option<Option<bool>>,
    /// Summaries (`null`: the default, as `enable_ml_enhancement`).
    #[serde(default, deserialize_with = "double_option")]
    pub enable_summarization: Option<Option<bool>>,
    /// Visible to the tenant.
    pub is_public: Option<bool>,
}

impl SavedSearchPatch {
    fn into_changes(self) -> Result<SavedSearchChanges, ApiError> {
        let sources = match self.sources {
            Some(Some(list)) => Some(Some(parse_sources(&list)?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(SavedSearchChanges {
            name: self.name,
            description: self.description,
            search: SearchPatch {
                query: self.query,
                sources,
                max_results: self.max_results,
                filters: self
                    .filters
                    .map(|f| f.map(SearchFilters::from).unwrap_or_default()),
                enable_ml_enhancement: self.enable_ml_enhancement,
                enable_summarization: self.enable_summarization,
            },
            is_public: self.is_public,
        })
    }
}

/// `{saved_search}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchResponse {
    /// The saved search.
    pub saved_search: SavedSearchDto,
}

/// `{saved_searches, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchesResponse {
    /// The page, newest first.
    pub saved_searches: Vec<SavedSearchDto>,
    /// Totals.
    pub pagination: Pagination,
}

/// `?limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size 1–100.
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u64>,
}

/// Saves a search (not for viewers).
#[utoipa::path(post, path = "/api/v1/search/saved", tag = "search", security(("bearer" = [])),
    request_body = SavedSearchRequest,
    responses((status = 201, body = SavedSearchResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn create_saved(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<SavedSearchRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input()?;
    let saved = state.services.saved_searches.create(&auth.0, input).await?;
    Ok(HttpResponse::Created().json(SavedSearchResponse {
        saved_search: saved.into(),
    }))
}

/// Saved searches: own and public ones (admins and managers: all of the tenant).
#[utoipa::path(get, path = "/api/v1/search/saved", tag = "search", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = SavedSearchesResponse)))]
pub async fn list_saved(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::new(query.limit, query.offset)?;
    let result = state.services.saved_searches.list(&auth.0, page).await?;
    Ok(HttpResponse::Ok().json(SavedSearchesResponse {
        saved_searches: result.items.into_iter().map(SavedSearchDto::from).collect(),
        pagination: Pagination {
            total: result.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}

/// Reads a saved search (own, public, or any for admins and managers).
#[utoipa::path(get, path = "/api/v1/search/saved/{id}", tag = "search", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SavedSearchResponse), (status = 404, body = crate::error::Problem)))]
pub async fn get_saved(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let saved = state
        .services
        .saved_searches
        .get(&auth.0, SavedSearchId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::Ok().json(SavedSearchResponse {
        saved_search: saved.into(),
    }))
}

/// Changes a saved search (its owner): the fields given, validated as on create; the others
/// keep their stored values.
#[utoipa::path(patch, path = "/api/v1/search/saved/{id}", tag = "search", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SavedSearchPatch,
    responses((status = 200, body = SavedSearchResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn update_saved(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<SavedSearchPatch>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_changes()?;
    let saved = state
        .services
        .saved_searches
        .update(&auth.0, SavedSearchId::from_uuid(*id), input)
        .await?;
    Ok(HttpResponse::Ok().json(SavedSearchResponse {
        saved_search: saved.into(),
    }))
}

/// Deletes a saved search (its owner).
#[utoipa::path(delete, path = "/api/v1/search/saved/{id}", tag = "search", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn delete_saved(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .saved_searches
        .delete(&auth.0, SavedSearchId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Runs a saved search as the caller (counted on the saved search and in the history).
#[utoipa::path(post, path = "/api/v1/search/saved/{id}/run", tag = "search", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SearchResponse), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn run_saved(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let outcome = state
        .services
        .saved_searches
        .run(&auth.0, SavedSearchId::from_uuid(*id))
        .await?;
    state.metrics.observe_search(&outcome);
    Ok(HttpResponse::Ok().json(SearchResponse::from(outcome)))
}
