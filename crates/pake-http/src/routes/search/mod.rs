//! `/api/v1/search/*`: federated search and quick search here; history, analytics and popular
//! queries in `history`, saved searches in `saved`.
use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use pake_core::search::{
    Facets, SearchFilters, SearchInput, SearchOutcome, SearchResult, SourceStatus, VersionKind,
    score_method,
};
use pake_domain::collection::CollectionRef;
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
        .service(resource("/api/v1/search/{search_id}/more").post(more))
        .service(resource("/api/v1/search/history").get(history::history))
        .service(resource("/api/v1/search/history/{id}").get(history::entry))
        .service(resource("/api/v1/search/history/{id}/export").get(history::export))
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
        .service(resource("/api/v1/search/saved/{id}/run").post(saved::run_saved))
        .service(resource("/api/v1/search/saved/{id}/export").get(saved::export_saved));
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
    /// Publication types, at most 10: `journal_article`, `review`, `preprint`,
    /// `conference_paper`, `book`, `book_chapter`, `dataset`, … (PubMed's names such as
    /// `Clinical Trial` work too: compared lower case, words joined by `_`).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub publication_types: Vec<String>,
    /// `relevance` (default; BM25 fused with the sources' order and a citation prior), `date`
    /// (newest first) or `citations` (most cited first).
    #[schema(pattern = "^(relevance|date|citations)$")]
    pub sort: Option<String>,
    /// Published in or after this year (1000–9999; with `date_from`, the later bound wins).
    #[schema(minimum = 1000, maximum = 9999)]
    pub year_from: Option<i32>,
    /// Published in or before this year (1000–9999; with `date_to`, the earlier bound wins).
    #[schema(minimum = 1000, maximum = 9999)]
    pub year_to: Option<i32>,
    /// Only results with one of these authors (at most 10; matched by surname after the
    /// merge where a source cannot filter by author).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub authors: Vec<String>,
    /// Only results in one of these venues (at most 10; a venue whose name contains the words).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub venues: Vec<String>,
    /// Only results free to read.
    #[serde(default)]
    pub open_access_only: bool,
}

impl From<FiltersDto> for SearchFilters {
    fn from(f: FiltersDto) -> Self {
        Self {
            date_from: f.date_from,
            date_to: f.date_to,
            categories: f.categories,
            publication_types: f.publication_types,
            sort: f.sort,
            year_from: f.year_from,
            year_to: f.year_to,
            authors: f.authors,
            venues: f.venues,
            open_access_only: f.open_access_only,
        }
    }
}

/// Source names (an unknown one: 400 naming `sources`).
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
    /// `web`, `arxiv`, `pubmed`, `europepmc`, `crossref`, `openalex`, `semantic_scholar`
    /// (default all).
    pub sources: Option<Vec<String>>,
    /// Records asked of each source per page, 1–50 (default 20).
    #[schema(minimum = 1, maximum = 50)]
    pub page_size: Option<u32>,
    /// The former name of `page_size` (used when `page_size` is absent).
    #[schema(minimum = 1, maximum = 50)]
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
            page_size: self.page_size,
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
    /// `ln(1 + citations) / ln(1 + most citations of the page)` (0–1; 0 without counts).
    pub citation_prior: f64,
    /// The formula (the citation prior takes part when the order is by relevance and some
    /// result of the page has a citation count).
    pub method: &'static str,
}

/// A result's identifiers.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdsDto {
    /// DOI (bare, lower case; the version of record's when both are known).
    pub doi: Option<String>,
    /// arXiv id (no version).
    pub arxiv: Option<String>,
    /// PubMed id.
    pub pmid: Option<String>,
    /// PubMed Central id (`PMC…`).
    pub pmcid: Option<String>,
    /// OpenAlex work id (`W…`).
    pub openalex: Option<String>,
    /// Semantic Scholar paper id.
    pub s2: Option<String>,
}

/// How a result can be read for free.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAccessDto {
    /// Free to read.
    pub is_oa: bool,
    /// Where, when known.
    pub url: Option<String>,
    /// Its licence, when known.
    pub license: Option<String>,
}

/// One version of a work.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    /// `preprint` or `published`.
    #[schema(pattern = "^(preprint|published)$")]
    pub kind: &'static str,
    /// Its DOI.
    pub doi: Option<String>,
    /// Its arXiv id (an arXiv preprint).
    pub arxiv_id: Option<String>,
    /// Where it is.
    pub url: Option<String>,
    /// Its venue.
    pub venue: Option<String>,
    /// The source that named it.
    pub source: String,
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
    /// Journal, proceedings or repository.
    pub venue: Option<String>,
    /// Publication type (`journal_article`, `preprint`, `review`, …).
    pub publication_type: Option<String>,
    /// Citations (the most any source counts).
    pub citation_count: Option<u32>,
    /// Open access, when a source says.
    pub open_access: Option<OpenAccessDto>,
    /// A source marks it retracted.
    pub retracted: bool,
    /// Every identifier known.
    pub ids: IdsDto,
    /// Its preprint and published versions, when both are known (else empty).
    pub versions: Vec<VersionDto>,
    /// arXiv's primary category, when known.
    pub primary_category: Option<String>,
    /// The caller's collections (that the caller may read) already holding it.
    pub in_collections: Vec<CollectionRefDto>,
}

/// A collection holding a result.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionRefDto {
    /// Its id.
    #[schema(value_type = String)]
    pub id: Uuid,
    /// Its name.
    pub name: String,
}

impl From<CollectionRef> for CollectionRefDto {
    fn from(c: CollectionRef) -> Self {
        Self {
            id: c.id.as_uuid(),
            name: c.name,
        }
    }
}

impl ResultDto {
    /// The result with the collections holding it.
    pub(crate) fn marked(r: SearchResult, held: Vec<CollectionRef>) -> Self {
        let mut dto = Self::from(r);
        dto.in_collections = held.into_iter().map(CollectionRefDto::from).collect();
        dto
    }

    /// Results zipped with their marks (a missing mark is none).
    pub(crate) fn all_marked(
        results: Vec<SearchResult>,
        marks: Vec<Vec<CollectionRef>>,
    ) -> Vec<Self> {
        let mut marks = marks.into_iter();
        results
            .into_iter()
            .map(|r| Self::marked(r, marks.next().unwrap_or_default()))
            .collect()
    }
}

impl From<SearchResult> for ResultDto {
    fn from(r: SearchResult) -> Self {
        let ids = IdsDto {
            doi: r.doi.clone(),
            arxiv: r.arxiv_id.clone(),
            pmid: r.pmid.clone(),
            pmcid: r.pmcid.clone(),
            openalex: r.openalex_id.clone(),
            s2: r.s2_id.clone(),
        };
        Self {
            venue: r.venue,
            publication_type: r.publication_type,
            citation_count: r.citation_count,
            open_access: r.open_access.map(|o| OpenAccessDto {
                is_oa: o.is_oa,
                url: o.url,
                license: o.license,
            }),
            retracted: r.retracted,
            ids,
            versions: r
                .versions
                .into_iter()
                .map(|v| VersionDto {
                    kind: match v.kind {
                        VersionKind::Preprint => "preprint",
                        VersionKind::Published => "published",
                    },
                    doi: v.doi,
                    arxiv_id: v.arxiv_id,
                    url: v.url,
                    venue: v.venue,
                    source: v.source.as_str().to_owned(),
                })
                .collect(),
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
                citation_prior: r.score.citation_prior,
                method: score_method(r.score.with_citations),
            },
            summary: r.summary,
            primary_category: r.primary_category,
            in_collections: Vec::new(),
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
    /// The search's filters this source applied upstream (`dates`, `authors`, `venues`,
    /// `publication_types`, `open_access`, `categories`, `sort`); the others were applied to
    /// the merged results.
    pub filters_applied: Vec<&'static str>,
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
                    filters_applied: s.filters_applied.iter().map(|f| f.as_str()).collect(),
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
    /// Which page of the search this is (1 for its first).
    pub page: u32,
    /// The next page's cursor for `POST /api/v1/search/{search_id}/more`; null at the end.
    pub next_cursor: Option<String>,
}

/// Counts over a search's merged results, to narrow it by.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsDto {
    /// Results per publication year (`"2024": 3`; results without a date are not counted).
    pub year: BTreeMap<String, u32>,
    /// Results each source found (`"arxiv": 10`; a result two sources found counts for both).
    pub source: BTreeMap<String, u32>,
    /// Results per venue (the 20 most frequent).
    pub venue: BTreeMap<String, u32>,
    /// Results per publication type.
    pub publication_type: BTreeMap<String, u32>,
    /// Results by open access (`"true"`, `"false"`; unknown not counted).
    pub open_access: BTreeMap<String, u32>,
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
            venue: f.venue,
            publication_type: f.publication_type,
            open_access: f
                .open_access
                .into_iter()
                .map(|(oa, n)| (oa.to_string(), n))
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
            results: ResultDto::all_marked(o.results, o.in_collections),
            source_status: status_map(o.source_status),
            execution_time_ms: o.execution_ms,
            cache_hit: o.cache_hit,
            summary: o.summary,
            key_topics: o.key_topics,
            expanded_terms: o.expanded_terms,
            facets: o.facets.into(),
            page: o.page,
            next_cursor: o.next_cursor,
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

/// Where to continue a search.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoreRequest {
    /// The `next_cursor` of the search's latest page.
    #[schema(max_length = 200)]
    pub cursor: String,
}

/// The next page of one of the caller's searches: each source that has more is asked where it
/// left off (same pacing and limits), results earlier pages returned are left out, and the page
/// is recorded on the same history entry. A cursor not of the caller's searches is a 404 (like a
/// missing search); one already used, or a search with no more pages, a 409.
#[utoipa::path(post, path = "/api/v1/search/{search_id}/more", tag = "search",
    security(("bearer" = [])),
    params(("search_id" = String, Path, description = "The search's id")),
    request_body = MoreRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn more(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Json<MoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = pake_domain::SearchId::parse(&path)
        .map_err(|_| ApiError::from(pake_core::CoreError::NotFound))?;
    let outcome = state
        .services
        .search
        .more(&auth.0, id, &body.cursor)
        .await?;
    state.metrics.observe_search(&outcome);
    Ok(HttpResponse::Ok().json(SearchResponse::from(outcome)))
}
