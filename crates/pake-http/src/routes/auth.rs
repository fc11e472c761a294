//! `/api/v1/auth/*` and `/.well-known/jwks.json`.

use actix_web::{HttpResponse, web};
use pake_core::LoginInput;
use pake_domain::SessionId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::dto::{SessionDto, UserDto, permission_names};
use crate::error::ApiError;
use crate::extract::{Auth, AuthAllowingPasswordChange, Meta};
use crate::json::Json;
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/.well-known/jwks.json").get(jwks))
        .service(resource("/api/v1/auth/login").post(login))
        .service(resource("/api/v1/auth/refresh").post(refresh))
        .service(resource("/api/v1/auth/logout").post(logout))
        .service(resource("/api/v1/auth/logout-all").post(logout_all))
        .service(resource("/api/v1/auth/me").get(me))
        .service(resource("/api/v1/auth/password").post(change_password))
        .service(resource("/api/v1/auth/sessions").get(sessions))
        .service(resource("/api/v1/auth/sessions/{id}").delete(revoke_session));
}

/// Login body: the tenant (here or in `X-Tenant-ID`, by id or slug), a username or an e-mail, and
/// the password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Tenant id or slug (`platform` for super admins); else `X-Tenant-ID`.
    pub tenant: Option<String>,
    /// Username (or give `email`).
    pub username: Option<String>,
    /// E-mail address (or give `username`).
    pub email: Option<String>,
    /// Password.
    pub password: String,
    /// A 30-day session instead of a one-day one.
    #[serde(default)]
    pub remember_me: bool,
}

/// Tokens and the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Access token (JWT, EdDSA).
    pub access_token: String,
    /// Opaque refresh token (single use; rotates).
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: i64,
    /// The user.
    pub user: UserDto,
    /// What the user may do.
    pub permissions: Vec<String>,
    /// Set for one-time passwords: until changed, the token serves only `/auth/me` and
    /// `/auth/password`.
    pub must_change_password: bool,
}

/// Refresh body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The current refresh token.
    pub refresh_token: String,
}

/// Password change body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password in use.
    pub current_password: String,
    /// The new password (policy: 8–128 characters, upper, lower, digit, symbol, not common, not
    /// containing the username).
    pub new_password: String,
}

/// The tokens of the new session after a password change.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// Access token of the new session.
    pub access_token: String,
    /// Refresh token of the new session.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: i64,
}

/// `{user, permissions}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The caller.
    pub user: UserDto,
    /// What the caller may do.
    pub permissions: Vec<String>,
    /// The tenant this request acts on.
    pub tenant_id: Uuid,
}

/// `{sessions}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsResponse {
    /// Active sessions, newest first.
    pub sessions: Vec<SessionDto>,
}

/// Public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JWK set (Ed25519)", content_type = "application/json")))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(state.services.auth.jwks())
}

/// Logs in. Every failure answers the same 401 `invalid_credentials`; five consecutive failures
/// lock the account for 15 minutes.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    params(("X-Tenant-ID" = Option<String>, Header, description = "Tenant id or slug, when not in the body")),
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = crate::error::Problem),
        (status = 401, description = "invalid_credentials", body = crate::error::Problem)))]
pub async fn login(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: Json<LoginRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    crate::extract::admit_address(&state, &req).await?;
    let body = body.into_inner();
    let login = body
        .username
        .or(body.email)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            ApiError::from(pake_domain::ValidationError::new(
                "username",
                pake_domain::Reason::Empty,
            ))
        })?;
    let header_tenant = req
        .headers()
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let input = LoginInput {
        tenant: body.tenant.or(header_tenant),
        login,
        password: body.password,
        remember_me: body.remember_me,
    };
    let out = state.services.auth.login(input, &meta.0).await?;
    Ok(tokens_response(out.tokens, &out.user))
}

/// Rotates a refresh token: the old one dies; presenting a used one revokes its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem)))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: Json<RefreshRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    crate::extract::admit_address(&state, &req).await?;
    let out = state
        .services
        .auth
        .refresh(&body.refresh_token, &meta.0)
        .await?;
    Ok(tokens_response(out.tokens, &out.user))
}

/// The answer of a login or refresh: tokens, the user and what they may do. Never cached.
fn tokens_response(tokens: pake_core::TokenPair, user: &pake_domain::User) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(LoginResponse {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            must_change_password: user.must_change_password,
            permissions: permission_names(&user.role.permissions()),
            user: UserDto::new(user, OffsetDateTime::now_utc()),
        })
}

/// Ends this session; its access tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn logout(
    state: web::Data<AppState>,
    auth: AuthAllowingPasswordChange,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    state.services.auth.logout(&auth.0, &meta.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends every session of the caller.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn logout_all(
    state: web::Data<AppState>,
    auth: AuthAllowingPasswordChange,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    state.services.auth.logout_all(&auth.0, &meta.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = crate::error::Problem)))]
pub async fn me(
    state: web::Data<AppState>,
    auth: AuthAllowingPasswordChange,
) -> Result<HttpResponse, ApiError> {
    let user = state.services.auth.me(&auth.0).await?;
    Ok(HttpResponse::Ok().json(MeResponse {
        permissions: permission_names(&user.role.permissions()),
        tenant_id: auth.0.tenant_id.as_uuid(),
        user: UserDto::new(&user, OffsetDateTime::now_utc()),
    }))
}

/// Changes the caller's password. Every session of the user ends, this one included; the answer
/// is the token pair of a new session (the old access and refresh tokens stop working at once).
/// A wrong `current_password` counts towards the account's lockout.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 200, body = PasswordChanged), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem)))]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: AuthAllowingPasswordChange,
    body: Json<ChangePasswordRequest>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    let tokens = state
        .services
        .auth
        .change_password(&auth.0, &body.current_password, &body.new_password, &meta.0)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(PasswordChanged {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
        }))
}

/// The caller's active sessions.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionsResponse), (status = 401, body = crate::error::Problem)))]
pub async fn sessions(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let list = state.services.auth.sessions(&auth.0).await?;
    Ok(HttpResponse::Ok().json(SessionsResponse {
        sessions: list.iter().map(SessionDto::from).collect(),
    }))
}

/// Ends one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    meta: Meta,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .auth
        .revoke_session(&auth.0, SessionId::from_uuid(*id), &meta.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
