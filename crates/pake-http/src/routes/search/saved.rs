//! `/api/v1/search/saved`: saved searches — create, list, read, change, delete, run.

use actix_web::{HttpResponse, web};
use pake_core::search::{SavedSearchChanges, SavedSearchInput, SearchFilters, SearchPatch};
use pake_domain::search::SavedSearch;
use pake_domain::{PageRequest, SavedSearchId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{FiltersDto, SearchRequest, SearchResponse, parse_sources};
use crate::AppState;
use crate::dto::{PageQuery, Pagination, double_option};
use crate::error::ApiError;
use crate::extract::{Auth, Meta};
use crate::json::Json;
use crate::routes::export::{ExportQuery, file};

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
    /// Records asked of each source per page, 1–50 (default 20).
    #[schema(minimum = 1, maximum = 50)]
    pub page_size: Option<u32>,
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
                    page_size: self.page_size,
                    filters: self.filters.unwrap_or_default(),
                    enable_ml_enhancement: self.enable_ml_enhancement,
                    enable_summarization: self.enable_summarization,
                    // a saved search runs within the server's budget
                    timeout_ms: None,
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

/// Exports the results of a saved search's last run (plan feature `export`). 404 when it never
/// ran (or the caller may not read it).
#[utoipa::path(get, path = "/api/v1/search/saved/{id}/export", tag = "export", security(("bearer" = [])),
    params(("id" = String, Path, description = "The saved search's id"), ExportQuery),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`)",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"pake-….<ext>\"`"),
                ("X-Export-Records" = u32, description = "Records in the file")),
            content((String = "application/x-bibtex"), (String = "application/x-research-info-systems"),
                (String = "application/vnd.citationstyles.csl+json"), (String = "text/csv"))),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "The results were swept (plan retention)")))]
pub async fn export_saved(
    state: web::Data<AppState>,
    auth: Auth,
    meta: Meta,
    id: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = query.format()?;
    let id = SavedSearchId::from_uuid(super::history::path_id(&id)?);
    let out = state
        .services
        .exports
        .saved(&auth.0, id, format, &meta.0)
        .await?;
    Ok(file(out))
}
