//! `/api/v1/search/*`: federated search and quick search here; history, analytics and popular
//! queries in `history`, saved searches in `saved`.
use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use pake_core::search::{
    Facets, SearchFilters, SearchInput, SearchOutcome, SearchResult, SourceStatus,
};
use pake_domain::search::SourceId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Auth;
use crate::json::Json;
use crate::routes::resource;

pub mod history;
pub mod saved;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/search").post(search))
        .service(resource("/api/v1/search/").post(search))
        .service(resource("/api/v1/search/quick").post(quick))
        .service(resource("/api/v1/search/history").get(history::history))
        .service(resource("/api/v1/search/analytics").get(history::analytics))
        .service(resource("/api/v1/search/popular").get(history::popular))
        .service(
            resource("/api/v1/search/saved")
                .get(saved::list_saved)
                .post(saved::create_saved),
        )
        .service(
            resource("/api/v1/search/saved/")
                .get(saved::list_saved)
                .post(saved::create_saved),
        )
        .service(
            resource("/api/v1/search/saved/{id}")
                .get(saved::get_saved)
                .patch(saved::update_saved)
                .put(saved::update_saved)
                .delete(saved::delete_saved),
        )
        .service(resource("/api/v1/search/saved/{id}/run").post(saved::run_saved));
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
    /// Answer within this many milliseconds with what the sources gave by then (1 to the
    /// server's `search.budget_ms`, default that budget; more is a 400).
    #[schema(minimum = 1)]
    pub timeout_ms: Option<u32>,
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
            timeout_ms: self.timeout_ms,
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
    /// Counts over the merged results.
    pub facets: FacetsDto,
}

/// Counts over a search's merged results, to narrow it by.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsDto {
    /// Results per publication year (`"2024": 3`; results without a date are not counted).
    pub year: BTreeMap<String, u32>,
    /// Results each source found (`"arxiv": 10`; a result two sources found counts for both).
    pub source: BTreeMap<String, u32>,
}

impl From<Facets> for FacetsDto {
    fn from(f: Facets) -> Self {
        Self {
            year: f
                .year
                .into_iter()
                .map(|(y, n)| (y.to_string(), n))
                .collect(),
            source: f
                .source
                .into_iter()
                .map(|(s, n)| (s.as_str().to_owned(), n))
                .collect(),
        }
    }
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
            facets: o.facets.into(),
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
