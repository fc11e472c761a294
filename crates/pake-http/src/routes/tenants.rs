//! `/api/v1/tenants/*`.

use actix_web::{HttpResponse, web};
use pake_core::{NewTenant, TenantPatch};
use pake_domain::{LimitsOverride, PageRequest, PlanId, TenantId, TenantStatus};
use pake_ports::TenantFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::dto::{Pagination, TenantDto, UserDto, double_option};
use crate::error::ApiError;
use crate::extract::{Auth, Meta};
use crate::json::Json;
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/tenants").get(list).post(create))
        .service(resource("/api/v1/tenants/").get(list).post(create))
        .service(
            resource("/api/v1/tenants/{id}")
                .get(get)
                .put(update)
                .patch(update)
                .delete(delete),
        )
        .service(resource("/api/v1/tenants/{id}/analytics").get(analytics));
}

/// `?days=` (1–365, default 30).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// The period in days, today included.
    pub days: Option<u32>,
}

/// A count on one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The count.
    pub count: u64,
}

fn series(days: &[(time::Date, u64)]) -> Vec<DayCount> {
    days.iter()
        .map(|(d, n)| DayCount {
            date: d.to_string(),
            count: *n,
        })
        .collect()
}

/// Users of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserFigures {
    /// Users now.
    pub total: u64,
    /// Users who logged in during the period.
    pub active: u64,
    /// The plan's limit.
    pub limit: u32,
}

/// API calls of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiCallFigures {
    /// Calls today (UTC), across every replica.
    pub today: u64,
    /// The plan's calls per day.
    pub limit: u64,
    /// Calls left today.
    pub remaining_today: u64,
    /// Calls per day in the period (days without calls omitted).
    pub per_day: Vec<DayCount>,
}

/// Searches of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchFigures {
    /// Searches in the period.
    pub total: u64,
    /// Searches today.
    pub today: u64,
    /// Of the period's searches, answered from cache.
    pub cache_hits: u64,
    /// Mean execution time in milliseconds.
    pub average_ms: f64,
    /// The plan's searches at once.
    pub concurrent_limit: u32,
    /// Searches per day (days without searches omitted).
    pub per_day: Vec<DayCount>,
}

/// A tenant's analytics.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantAnalyticsDto {
    /// The tenant.
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    /// The period in days.
    pub days: u32,
    /// Its first day.
    pub since: String,
    /// Users.
    pub users: UserFigures,
    /// API calls.
    pub api_calls: ApiCallFigures,
    /// Searches.
    pub searches: SearchFigures,
    /// Exports of results.
    pub exports: ExportFigures,
}

/// Exports of results in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportFigures {
    /// In the period.
    pub total: u64,
    /// Per day (days without exports omitted).
    pub per_day: Vec<DayCount>,
}

/// `{analytics}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantAnalyticsResponse {
    /// The figures.
    pub analytics: TenantAnalyticsDto,
}

/// A tenant's analytics (its admins and managers, or the super admin): users, API calls against
/// the daily quota, searches.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/analytics", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path), AnalyticsQuery),
    responses((status = 200, body = TenantAnalyticsResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn analytics(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: web::Query<AnalyticsQuery>,
) -> Result<HttpResponse, ApiError> {
    let a = state
        .services
        .tenants
        .analytics(&auth.0, TenantId::from_uuid(*id), query.days.unwrap_or(30))
        .await?;
    let calls = a.api_calls_today;
    Ok(HttpResponse::Ok().json(TenantAnalyticsResponse {
        analytics: TenantAnalyticsDto {
            tenant_id: a.tenant_id,
            days: a.days,
            since: a.since.to_string(),
            users: UserFigures {
                total: a.users_total,
                active: a.users_active,
                limit: a.users_limit,
            },
            api_calls: ApiCallFigures {
                today: calls.used,
                limit: calls.limit,
                remaining_today: calls.limit.saturating_sub(calls.used),
                per_day: series(&a.api_calls_per_day),
            },
            searches: SearchFigures {
                total: a.searches.total,
                today: a.searches_today,
                cache_hits: a.searches.cache_hits,
                average_ms: a.searches.average_ms,
                concurrent_limit: a.concurrent_searches_limit,
                per_day: series(&a.searches.per_day),
            },
            exports: ExportFigures {
                total: a.exports_per_day.iter().map(|(_, n)| n).sum(),
                per_day: series(&a.exports_per_day),
            },
        },
    }))
}

/// A new tenant and its first admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// Unique slug: 3–63 of `a-z0-9-`, starting with a letter.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Optional internet domain.
    pub domain: Option<String>,
    /// `basic`, `professional` or `enterprise`.
    #[schema(value_type = String)]
    pub plan: PlanId,
    /// The admin's e-mail.
    pub admin_email: String,
    /// The admin's username (default `admin`).
    pub admin_username: Option<String>,
    /// The admin's full name.
    pub admin_full_name: Option<String>,
    /// The admin's password; without it a one-time password is generated and returned once.
    pub admin_password: Option<String>,
}

/// A created tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateTenantResponse {
    /// The tenant (`provisioning` until the background job finishes).
    pub tenant: TenantDto,
    /// Its admin.
    pub admin_user: UserDto,
    /// The generated one-time password: shown only now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
}

/// Changes to a tenant. Tenant admins: `display_name`, `domain`, `settings`; the super admin also
/// `plan`, `status` and `limits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantRequest {
    /// Display name.
    pub display_name: Option<String>,
    /// Domain (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    pub domain: Option<Option<String>>,
    /// Settings (replaces the stored object).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
    /// Plan (super admin).
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanId>,
    /// Status: `active` or `suspended` (super admin).
    #[schema(value_type = Option<String>)]
    pub status: Option<TenantStatus>,
    /// Limit overrides (super admin).
    #[schema(value_type = Option<Object>)]
    pub limits: Option<LimitsOverride>,
}

/// `?status=&plan=&limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this status.
    #[param(value_type = Option<String>)]
    pub status: Option<TenantStatus>,
    /// Only this plan.
    #[param(value_type = Option<String>)]
    pub plan: Option<PlanId>,
    /// Page size 1–100.
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u64>,
}

/// `?force=true` deletes and purges instead of suspending.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// Delete and purge every row of the tenant.
    #[serde(default)]
    pub force: bool,
}

/// `{tenant}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantResponse {
    /// The tenant.
    pub tenant: TenantDto,
}

/// `{tenants, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantsResponse {
    /// The page.
    pub tenants: Vec<TenantDto>,
    /// Totals.
    pub pagination: Pagination,
}

/// Creates a tenant with its admin (super admin).
#[utoipa::path(post, path = "/api/v1/tenants/", tag = "tenants", security(("bearer" = [])),
    request_body = CreateTenantRequest,
    responses((status = 201, body = CreateTenantResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateTenantRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = NewTenant {
        name: b.name,
        display_name: b.display_name,
        domain: b.domain,
        plan: b.plan,
        admin_email: b.admin_email,
        admin_username: b.admin_username,
        admin_full_name: b.admin_full_name,
        admin_password: b.admin_password,
    };
    let created = state
        .services
        .tenants
        .create(&auth.0, input, &meta.0)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(CreateTenantResponse {
            tenant: TenantDto::new(&created.tenant, &state.plans),
            admin_user: UserDto::new(&created.admin, time::OffsetDateTime::now_utc()),
            admin_password: created.generated_password.map(|p| p.expose().to_owned()),
        }))
}

/// Lists tenants (super admin).
#[utoipa::path(get, path = "/api/v1/tenants/", tag = "tenants", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = TenantsResponse), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListQuery>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.offset)?;
    let result = state
        .services
        .tenants
        .list(
            &auth.0,
            TenantFilter {
                status: q.status,
                plan: q.plan,
            },
            page,
            &meta.0,
        )
        .await?;
    Ok(HttpResponse::Ok().json(TenantsResponse {
        tenants: result
            .items
            .iter()
            .map(|t| TenantDto::new(t, &state.plans))
            .collect(),
        pagination: Pagination {
            total: result.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}

/// Reads a tenant (super admin, or an admin or manager of that tenant).
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TenantResponse), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let tenant = state
        .services
        .tenants
        .get(&auth.0, TenantId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::Ok().json(TenantResponse {
        tenant: TenantDto::new(&tenant, &state.plans),
    }))
}

/// Updates a tenant.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = UpdateTenantRequest,
    responses((status = 200, body = TenantResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<UpdateTenantRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let patch = TenantPatch {
        display_name: b.display_name,
        domain: b.domain,
        settings: b.settings,
        plan: b.plan,
        status: b.status,
        limits: b.limits,
    };
    let tenant = state
        .services
        .tenants
        .update(&auth.0, TenantId::from_uuid(*id), patch, &meta.0)
        .await?;
    Ok(HttpResponse::Ok().json(TenantResponse {
        tenant: TenantDto::new(&tenant, &state.plans),
    }))
}

/// Suspends a tenant, or with `force=true` deletes it and purges all its data (super admin).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = Uuid, Path), DeleteQuery),
    responses((status = 200, description = "Suspended", body = TenantResponse), (status = 204, description = "Deleted and purged"),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: web::Query<DeleteQuery>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let out = state
        .services
        .tenants
        .delete(&auth.0, TenantId::from_uuid(*id), query.force, &meta.0)
        .await?;
    Ok(match out {
        Some(tenant) => HttpResponse::Ok().json(TenantResponse {
            tenant: TenantDto::new(&tenant, &state.plans),
        }),
        None => HttpResponse::NoContent().finish(),
    })
}
