//! `/api/v1/users/*`, inside the caller's tenant.

use actix_web::{HttpResponse, web};
use pake_core::{NewUser, UserPatch};
use pake_domain::{PageRequest, Role, UserId, UserStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::dto::{PageQuery, Pagination, UserDto, double_option};
use crate::error::ApiError;
use crate::extract::{Auth, Meta};
use crate::json::{Json, OptionalJson};
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/users").get(list).post(create))
        .service(resource("/api/v1/users/").get(list).post(create))
        .service(
            resource("/api/v1/users/{id}")
                .get(get)
                .patch(update)
                .put(update)
                .delete(delete),
        )
        .service(resource("/api/v1/users/{id}/unlock").post(unlock))
        .service(resource("/api/v1/users/{id}/reset-password").post(reset_password));
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Login name, unique in the tenant.
    pub username: String,
    /// E-mail, unique in the tenant.
    pub email: String,
    /// Full name.
    pub full_name: Option<String>,
    /// Role up to the caller's own (default `user`).
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Password; without it a one-time password is generated and returned once.
    pub password: Option<String>,
}

/// Changes to a user. Anyone may change their own `email` and `full_name`; `role` and `status`
/// need user management.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// E-mail.
    pub email: Option<String>,
    /// Full name (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    pub full_name: Option<Option<String>>,
    /// Role.
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// `active` or `disabled`.
    #[schema(value_type = Option<String>)]
    pub status: Option<UserStatus>,
}

/// Optional chosen password for a reset.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// A chosen password; without it a one-time password is generated.
    pub password: Option<String>,
}

/// `{user}` (with the generated password when one was made).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// The user.
    pub user: UserDto,
    /// A generated one-time password, shown only now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `{users, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersResponse {
    /// The page.
    pub users: Vec<UserDto>,
    /// Totals.
    pub pagination: Pagination,
}

fn user_response(
    user: &pake_domain::User,
    password: Option<pake_domain::Password>,
) -> UserResponse {
    UserResponse {
        user: UserDto::new(user, OffsetDateTime::now_utc()),
        password: password.map(|p| p.expose().to_owned()),
    }
}

/// Creates a user (admins; `max_users` of the plan enforced).
#[utoipa::path(post, path = "/api/v1/users/", tag = "users", security(("bearer" = [])),
    params(("X-Tenant-ID" = Option<String>, Header, description = "Super admin only: the tenant to act on")),
    request_body = CreateUserRequest,
    responses((status = 201, body = UserResponse), (status = 400, body = crate::error::Problem),
        (status = 403, description = "forbidden or plan_limit_reached", body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateUserRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = NewUser {
        username: b.username,
        email: b.email,
        full_name: b.full_name,
        role: b.role,
        password: b.password,
    };
    let created = state.services.users.create(&auth.0, input, &meta.0).await?;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(user_response(&created.user, created.generated_password)))
}

/// Lists the tenant's users (users and viewers see only themselves).
#[utoipa::path(get, path = "/api/v1/users/", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = UsersResponse), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::new(query.limit, query.offset)?;
    let result = state.services.users.list(&auth.0, page).await?;
    let now = OffsetDateTime::now_utc();
    Ok(HttpResponse::Ok().json(UsersResponse {
        users: result.items.iter().map(|u| UserDto::new(u, now)).collect(),
        pagination: Pagination {
            total: result.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}

/// Reads a user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .services
        .users
        .get(&auth.0, UserId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::Ok().json(user_response(&user, None)))
}

/// Updates a user; a role change or disabling ends their sessions at once.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = UpdateUserRequest,
    responses((status = 200, body = UserResponse), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<UpdateUserRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let patch = UserPatch {
        email: b.email,
        full_name: b.full_name,
        role: b.role,
        status: b.status,
    };
    let user = state
        .services
        .users
        .update(&auth.0, UserId::from_uuid(*id), patch, &meta.0)
        .await?;
    Ok(HttpResponse::Ok().json(user_response(&user, None)))
}

/// Deletes a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .users
        .delete(&auth.0, UserId::from_uuid(*id), &meta.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Clears a lockout.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn unlock(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .services
        .users
        .unlock(&auth.0, UserId::from_uuid(*id), &meta.0)
        .await?;
    Ok(HttpResponse::Ok().json(user_response(&user, None)))
}

/// Resets another user's password (generated one-time password unless one is given); ends the
/// user's sessions. Not for one's own account (`/auth/password` proves the current password): 403.
/// No body, or an empty one, generates a password; a body that is present must be valid.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Option<ResetPasswordRequest>),
    responses((status = 200, body = UserResponse), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn reset_password(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: OptionalJson<ResetPasswordRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let chosen = body.0.and_then(|b| b.password);
    let (user, generated) = state
        .services
        .users
        .reset_password(&auth.0, UserId::from_uuid(*id), chosen.as_deref(), &meta.0)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(user_response(&user, generated)))
}
