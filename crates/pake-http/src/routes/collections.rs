//! `/api/v1/collections`: shared reading lists — collections, their items, their export.

use actix_web::{HttpResponse, web};
use pake_core::collections::{CollectionInput, ItemChanges, ItemSource};
use pake_domain::collection::{Collection, CollectionItem};
use pake_domain::{CollectionId, CollectionItemId, PageRequest, SearchId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::search::ResultDto;
use super::search::history::path_id;
use crate::AppState;
use crate::dto::{PageQuery, Pagination, double_option};
use crate::error::ApiError;
use crate::extract::{Auth, Meta};
use crate::json::Json;
use crate::routes::export::{ExportQuery, file};
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/collections").post(create).get(list))
        .service(
            resource("/api/v1/collections/{id}")
                .get(get)
                .patch(update)
                .delete(delete),
        )
        .service(
            resource("/api/v1/collections/{id}/items")
                .post(add_item)
                .get(items),
        )
        .service(
            resource("/api/v1/collections/{id}/items/{item}")
                .patch(update_item)
                .delete(delete_item),
        )
        .service(resource("/api/v1/collections/{id}/export").get(export));
}

/// A collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionDto {
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
    /// `private` (its owner, managers and admins) or `tenant` (everyone in the tenant reads).
    pub visibility: String,
    /// Items it holds.
    pub item_count: u32,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Updated.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Collection> for CollectionDto {
    fn from(c: Collection) -> Self {
        Self {
            id: c.id.as_uuid(),
            owner_id: c.owner_id.as_uuid(),
            name: c.name.as_str().to_owned(),
            description: c.description,
            visibility: c.visibility.as_str().to_owned(),
            item_count: c.item_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// `{collection}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionResponse {
    /// The collection.
    pub collection: CollectionDto,
}

/// `{collections, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionsResponse {
    /// The page, newest first.
    pub collections: Vec<CollectionDto>,
    /// Totals.
    pub pagination: Pagination,
}

/// A new collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionRequest {
    /// Name (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Description (at most 2000 characters).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `private` (default) or `tenant`.
    #[schema(pattern = "^(private|tenant)$")]
    pub visibility: Option<String>,
}

/// Changes to a collection (absent fields keep their values; `description: null` clears it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionPatch {
    /// Name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Description.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    /// `private` or `tenant`.
    #[schema(pattern = "^(private|tenant)$")]
    pub visibility: Option<String>,
}

/// A paper in a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDto {
    /// Id.
    #[schema(value_type = String)]
    pub id: Uuid,
    /// The paper as a search returned it.
    pub record: ResultDto,
    /// Tags.
    pub tags: Vec<String>,
    /// Note.
    pub note: Option<String>,
    /// Who added it.
    #[schema(value_type = String)]
    pub added_by: Uuid,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: OffsetDateTime,
    /// Last change of its tags or note.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl TryFrom<CollectionItem> for ItemDto {
    type Error = ApiError;

    fn try_from(i: CollectionItem) -> Result<Self, ApiError> {
        let record: pake_core::search::SearchResult = serde_json::from_value(i.record)
            .map_err(|e| ApiError::from(pake_core::CoreError::Internal(e.into())))?;
        Ok(Self {
            id: i.id.as_uuid(),
            record: ResultDto::from(record),
            tags: i.tags,
            note: i.note,
            added_by: i.added_by.as_uuid(),
            added_at: i.added_at,
            updated_at: i.updated_at,
        })
    }
}

/// `{item}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemResponse {
    /// The item.
    pub item: ItemDto,
}

/// `{items, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsResponse {
    /// The page, first added first.
    pub items: Vec<ItemDto>,
    /// Totals.
    pub pagination: Pagination,
}

/// A paper to add: a history entry's result by its index, or one id (`doi`, `arxiv` or `pmid`)
/// resolved to a record the tenant kept (in a collection or the caller's recent searches).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    /// The history entry (with `index`).
    #[schema(value_type = Option<String>)]
    pub search_id: Option<Uuid>,
    /// The result's position in the entry's kept results (0-based; with `search_id`).
    #[schema(minimum = 0)]
    pub index: Option<u32>,
    /// A DOI.
    #[schema(max_length = 200)]
    pub doi: Option<String>,
    /// An arXiv id.
    #[schema(max_length = 200)]
    pub arxiv: Option<String>,
    /// A PubMed id.
    #[schema(max_length = 200)]
    pub pmid: Option<String>,
    /// Tags (at most 20, each 1–50 characters).
    pub tags: Option<Vec<String>>,
    /// A note (at most 2000 characters).
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

impl AddItemRequest {
    fn into_parts(self) -> Result<(ItemSource, ItemChanges), ApiError> {
        let ids = [
            ("doi", self.doi),
            ("arxiv", self.arxiv),
            ("pmid", self.pmid),
        ];
        let named: Vec<(&'static str, String)> = ids
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let source = match (self.search_id, self.index, named.as_slice()) {
            (Some(search), Some(index), []) => ItemSource::Search {
                search_id: SearchId::from_uuid(search),
                index,
            },
            (None, None, [(kind, value)]) => ItemSource::Id {
                kind,
                value: value.clone(),
            },
            _ => {
                return Err(ApiError::validation(vec![crate::error::FieldError {
                    field: "search_id".into(),
                    code: "invalid_format".into(),
                    message: "name a paper one way: search_id with index, or one of doi, arxiv, \
                              pmid"
                        .into(),
                }]));
            }
        };
        Ok((
            source,
            ItemChanges {
                tags: self.tags,
                note: self.note.map(Some),
            },
        ))
    }
}

/// Changes to an item (absent fields keep their values; `note: null` clears it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    /// Tags, replaced as a whole.
    pub tags: Option<Vec<String>>,
    /// Note.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub note: Option<Option<String>>,
}

fn collection_id(text: &str) -> Result<CollectionId, ApiError> {
    Ok(CollectionId::from_uuid(path_id(text)?))
}

/// Creates a collection owned by the caller (not for viewers).
#[utoipa::path(post, path = "/api/v1/collections", tag = "collections", security(("bearer" = [])),
    request_body = CollectionRequest,
    responses((status = 201, body = CollectionResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    meta: Meta,
    body: Json<CollectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = CollectionInput {
        name: Some(b.name),
        description: Some(b.description),
        visibility: b.visibility,
    };
    let c = state
        .services
        .collections
        .create(&auth.0, input, &meta.0)
        .await?;
    Ok(HttpResponse::Created().json(CollectionResponse {
        collection: c.into(),
    }))
}

/// The collections the caller may read: their own and the tenant-visible ones (managers and
/// admins: every one of the tenant).
#[utoipa::path(get, path = "/api/v1/collections", tag = "collections", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = CollectionsResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::new(query.limit, query.offset)?;
    let found = state.services.collections.list(&auth.0, page).await?;
    Ok(HttpResponse::Ok().json(CollectionsResponse {
        collections: found.items.into_iter().map(CollectionDto::from).collect(),
        pagination: Pagination {
            total: found.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}

/// A collection the caller may read.
#[utoipa::path(get, path = "/api/v1/collections/{id}", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CollectionResponse), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .services
        .collections
        .get(&auth.0, collection_id(&id)?)
        .await?;
    Ok(HttpResponse::Ok().json(CollectionResponse {
        collection: c.into(),
    }))
}

/// Changes a collection (its owner, managers and admins).
#[utoipa::path(patch, path = "/api/v1/collections/{id}", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CollectionPatch,
    responses((status = 200, body = CollectionResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    meta: Meta,
    id: web::Path<String>,
    body: Json<CollectionPatch>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let changes = CollectionInput {
        name: b.name,
        description: b.description,
        visibility: b.visibility,
    };
    let c = state
        .services
        .collections
        .update(&auth.0, collection_id(&id)?, changes, &meta.0)
        .await?;
    Ok(HttpResponse::Ok().json(CollectionResponse {
        collection: c.into(),
    }))
}

/// Deletes a collection and its items (its owner, managers and admins).
#[utoipa::path(delete, path = "/api/v1/collections/{id}", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    meta: Meta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .collections
        .delete(&auth.0, collection_id(&id)?, &meta.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a paper (201), or answers the item already holding it (200): the same paper, by any of
/// its ids, is one item.
#[utoipa::path(post, path = "/api/v1/collections/{id}/items", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AddItemRequest,
    responses((status = 201, body = ItemResponse), (status = 200, body = ItemResponse, description = "Already held"),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn add_item(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: Json<AddItemRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = collection_id(&id)?;
    let (source, changes) = body.into_inner().into_parts()?;
    let (item, created) = state
        .services
        .collections
        .add_item(&auth.0, id, source, changes)
        .await?;
    let body = ItemResponse {
        item: item.try_into()?,
    };
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// A collection's items, first added first.
#[utoipa::path(get, path = "/api/v1/collections/{id}/items", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = ItemsResponse), (status = 400, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn items(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::new(query.limit, query.offset)?;
    let found = state
        .services
        .collections
        .items(&auth.0, collection_id(&id)?, page)
        .await?;
    Ok(HttpResponse::Ok().json(ItemsResponse {
        items: found
            .items
            .into_iter()
            .map(ItemDto::try_from)
            .collect::<Result<_, _>>()?,
        pagination: Pagination {
            total: found.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}

fn item_path(path: &(String, String)) -> Result<(CollectionId, CollectionItemId), ApiError> {
    Ok((
        collection_id(&path.0)?,
        CollectionItemId::from_uuid(path_id(&path.1)?),
    ))
}

/// Changes an item's tags or note.
#[utoipa::path(patch, path = "/api/v1/collections/{id}/items/{item}", tag = "collections",
    security(("bearer" = [])),
    params(("id" = String, Path), ("item" = String, Path)), request_body = ItemPatch,
    responses((status = 200, body = ItemResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn update_item(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    body: Json<ItemPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, item) = item_path(&path)?;
    let b = body.into_inner();
    let it = state
        .services
        .collections
        .update_item(
            &auth.0,
            id,
            item,
            ItemChanges {
                tags: b.tags,
                note: b.note,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ItemResponse {
        item: it.try_into()?,
    }))
}

/// Removes an item.
#[utoipa::path(delete, path = "/api/v1/collections/{id}/items/{item}", tag = "collections",
    security(("bearer" = [])),
    params(("id" = String, Path), ("item" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn delete_item(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item) = item_path(&path)?;
    state
        .services
        .collections
        .delete_item(&auth.0, id, item)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Exports a collection's items (plan feature `export`).
#[utoipa::path(get, path = "/api/v1/collections/{id}/export", tag = "export", security(("bearer" = [])),
    params(("id" = String, Path), ExportQuery),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`)",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"pake-….<ext>\"`"),
                ("X-Export-Records" = u32, description = "Records in the file")),
            content((String = "application/x-bibtex"), (String = "application/x-research-info-systems"),
                (String = "application/vnd.citationstyles.csl+json"), (String = "text/csv"))),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    meta: Meta,
    id: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = query.format()?;
    let out = state
        .services
        .exports
        .collection(&auth.0, collection_id(&id)?, format, &meta.0)
        .await?;
    Ok(file(out))
}
