//! Errors as `application/problem+json` (RFC 9457), with one table of stable codes.
//!
//! Every error a client can see is an [`ApiError`]: a stable `code` (see `docs/errors.md`), the
//! HTTP status it maps to, a human-readable `detail` and optional field errors. Internal errors
//! carry no detail: their cause is logged with the request id, never sent.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use pake_core::CoreError;
use pake_domain::ValidationError;
use pake_ports::Conflict;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

/// The stable error codes. Clients switch on these, never on `title` or `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON, or does not match the expected shape.
    MalformedJson,
    /// A field failed validation (see `errors`).
    ValidationFailed,
    /// The body is larger than the configured limit.
    PayloadTooLarge,
    /// The request's content type is not `application/json`.
    UnsupportedMediaType,
    /// No credentials, or invalid, expired or revoked ones.
    Unauthorized,
    /// A login failed (the same answer for every cause).
    InvalidCredentials,
    /// Authenticated but not allowed.
    Forbidden,
    /// A one-time password must be changed before anything else.
    PasswordChangeRequired,
    /// A plan limit is reached (for example `max_users`).
    PlanLimitReached,
    /// The tenant's plan does not include this feature.
    FeatureNotInPlan,
    /// The object's state does not allow this change.
    InvalidState,
    /// The tenant's requests per minute are used up.
    TenantRateLimited,
    /// The user's share of the tenant's requests per minute is used up.
    UserRateLimited,
    /// Too many login or refresh attempts from this address.
    AddressRateLimited,
    /// The tenant's API calls of the day are used up.
    DailyQuotaExceeded,
    /// The tenant's concurrent searches are all running.
    ConcurrentSearchLimit,
    /// The resource does not exist (or belongs to another tenant).
    NotFound,
    /// The method is not allowed on this path (`Allow` lists the methods it has).
    MethodNotAllowed,
    /// The request body did not arrive within `server.client_body_timeout_ms`.
    RequestTimeout,
    /// A unique value is taken.
    Conflict,
    /// A dependency (the database) is unavailable; retry later.
    ServiceUnavailable,
    /// An unexpected error; the request id identifies it in the logs.
    InternalError,
}

impl ErrorCode {
    /// The HTTP status of this code.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::ValidationFailed => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::PasswordChangeRequired
            | Self::PlanLimitReached
            | Self::FeatureNotInPlan => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict | Self::InvalidState => StatusCode::CONFLICT,
            Self::TenantRateLimited
            | Self::UserRateLimited
            | Self::AddressRateLimited
            | Self::DailyQuotaExceeded
            | Self::ConcurrentSearchLimit => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::ValidationFailed => "validation_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::PasswordChangeRequired => "password_change_required",
            Self::PlanLimitReached => "plan_limit_reached",
            Self::FeatureNotInPlan => "feature_not_in_plan",
            Self::InvalidState => "invalid_state",
            Self::TenantRateLimited => "tenant_rate_limited",
            Self::UserRateLimited => "user_rate_limited",
            Self::AddressRateLimited => "address_rate_limited",
            Self::DailyQuotaExceeded => "daily_quota_exceeded",
            Self::ConcurrentSearchLimit => "concurrent_search_limit",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::Conflict => "conflict",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }

    /// A short title for the code.
    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedJson => "Malformed request body",
            Self::ValidationFailed => "Validation failed",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Unauthorized => "Unauthorized",
            Self::InvalidCredentials => "Invalid credentials",
            Self::Forbidden => "Forbidden",
            Self::PasswordChangeRequired => "Password change required",
            Self::PlanLimitReached => "Plan limit reached",
            Self::FeatureNotInPlan => "Feature not in plan",
            Self::InvalidState => "Invalid state",
            Self::TenantRateLimited => "Tenant rate limit reached",
            Self::UserRateLimited => "User rate limit reached",
            Self::AddressRateLimited => "Too many attempts from this address",
            Self::DailyQuotaExceeded => "Daily API quota used up",
            Self::ConcurrentSearchLimit => "Too many concurrent searches",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RequestTimeout => "Request timeout",
            Self::Conflict => "Conflict",
            Self::ServiceUnavailable => "Service unavailable",
            Self::InternalError => "Internal server error",
        }
    }
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name in the request.
    pub field: String,
    /// A stable reason code (`too_short`, `invalid_format`, …).
    pub code: String,
    /// A human-readable message.
    pub message: String,
}

/// The problem document (RFC 9457) every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:pake:error:<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong for this request.
    pub detail: String,
    /// The stable error code.
    pub code: ErrorCode,
    /// The request's id, as in the `X-Request-ID` header and the logs.
    pub request_id: String,
    /// Invalid fields, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    rate: Option<pake_ports::RateDecision>,
}

impl ApiError {
    /// An error with `code` and `detail`.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            rate: None,
        }
    }

    /// Its code.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// Adds a `Retry-After` header (seconds).
    #[must_use]
    pub const fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A `validation_failed` error listing `errors`.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            code: ErrorCode::ValidationFailed,
            detail,
            errors,
            retry_after: None,
            rate: None,
        }
    }

    /// The 404 for unknown routes.
    pub fn route_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such resource")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.code.status();
        let problem = Problem {
            type_uri: format!("urn:pake:error:{}", self.code.as_str()),
            title: self.code.title(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            request_id: request_id::current().unwrap_or_default(),
            errors: self.errors.clone(),
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        if let Some(decision) = &self.rate {
            for (name, value) in rate_headers(decision) {
                response.insert_header((name, value));
            }
        }
        if self.code == ErrorCode::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.body(serde_json::to_vec(&problem).unwrap_or_default())
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::validation(vec![FieldError {
            field: err.field.to_owned(),
            code: err.reason.code().to_owned(),
            message: err.reason.to_string(),
        }])
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::Validation(v) => v.into(),
            CoreError::NotFound => Self::new(ErrorCode::NotFound, "no such resource"),
            CoreError::Unauthorized => {
                Self::new(ErrorCode::Unauthorized, "a valid bearer token is required")
            }
            CoreError::InvalidCredentials => {
                Self::new(ErrorCode::InvalidCredentials, "invalid credentials")
            }
            CoreError::Forbidden(why) => Self::new(ErrorCode::Forbidden, why),
            CoreError::PasswordChangeRequired => Self::new(
                ErrorCode::PasswordChangeRequired,
                "change your one-time password first (POST /api/v1/auth/password)",
            ),
            CoreError::PlanLimitReached(why) => Self::new(ErrorCode::PlanLimitReached, why),
            CoreError::FeatureNotInPlan(feature) => Self::new(
                ErrorCode::FeatureNotInPlan,
                format!(
                    "the tenant's plan does not include {}",
                    serde_json::to_value(feature)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            ),
            CoreError::InvalidState(why) => Self::new(ErrorCode::InvalidState, why),
            CoreError::RateLimited(kind, decision) => {
                let (code, detail) = match kind {
                    pake_core::LimitKind::TenantRate => (
                        ErrorCode::TenantRateLimited,
                        "the tenant's requests per minute are used up",
                    ),
                    pake_core::LimitKind::UserRate => (
                        ErrorCode::UserRateLimited,
                        "your share of the tenant's requests per minute is used up",
                    ),
                    pake_core::LimitKind::AddressRate => (
                        ErrorCode::AddressRateLimited,
                        "too many attempts from this address",
                    ),
                    pake_core::LimitKind::DailyQuota => (
                        ErrorCode::DailyQuotaExceeded,
                        "the tenant's API calls for today are used up; the quota resets at 00:00 UTC",
                    ),
                    pake_core::LimitKind::ConcurrentSearches => (
                        ErrorCode::ConcurrentSearchLimit,
                        "the tenant's plan allows no more searches at once; retry when one ends",
                    ),
                };
                let retry = decision
                    .retry_after
                    .unwrap_or_default()
                    .as_millis()
                    .div_ceil(1000);
                let mut error =
                    Self::new(code, detail).retry_after(u64::try_from(retry).unwrap_or(60).max(1));
                error.rate = Some(decision);
                error
            }
            CoreError::Conflict(c) => {
                let what = match c {
                    Conflict::Id => "an object with this id already exists",
                    Conflict::TenantSlug => "a tenant with this name already exists",
                    Conflict::Username => "a user with this username already exists",
                    Conflict::Email => "a user with this e-mail address already exists",
                    Conflict::SavedSearchName => "a saved search with this name already exists",
                };
                Self::new(ErrorCode::Conflict, what)
            }
            CoreError::Unavailable(source) => {
                tracing::warn!(error = %source, "dependency unavailable");
                Self::new(
                    ErrorCode::ServiceUnavailable,
                    "a dependency is unavailable; retry later",
                )
                .retry_after(5)
            }
            CoreError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                Self::new(ErrorCode::InternalError, "an unexpected error occurred")
            }
        }
    }
}

/// Maps actix's JSON extractor errors: bodies over the limit → 413, wrong content type → 415,
/// anything else (syntax, types, unknown fields) → 400. Never a 5xx.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. }
        | E::Overflow { .. }
        | E::Payload(actix_web::error::PayloadError::Overflow) => ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than allowed",
        ),
        E::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the request body must be application/json",
        ),
        E::Deserialize(e) => {
            ApiError::new(ErrorCode::MalformedJson, format!("invalid JSON body: {e}"))
        }
        _ => ApiError::new(
            ErrorCode::MalformedJson,
            "the request body could not be read",
        ),
    }
}

/// Maps query-string extractor errors to 400.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape actix's error handlers take"
)]
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("invalid query string: {err}"),
    )
}

/// Maps path extractor errors (a malformed id) to 404: a path that cannot name an object names
/// none.
pub fn path_error(_err: actix_web::error::PathError) -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such resource")
}

/// The `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds) headers of a
/// decision.
pub fn rate_headers(d: &pake_ports::RateDecision) -> [(&'static str, String); 3] {
    let reset = d.reset_after.as_millis().div_ceil(1000);
    [
        ("ratelimit-limit", d.limit.to_string()),
        ("ratelimit-remaining", d.remaining.to_string()),
        ("ratelimit-reset", reset.to_string()),
    ]
}
