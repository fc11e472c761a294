//! `/api/v1/audit/`.

use actix_web::{HttpResponse, web};
use pake_domain::audit::{AuditFilter, AuditKind};
use pake_domain::{PageRequest, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::dto::{AuditEventDto, Pagination};
use crate::error::ApiError;
use crate::extract::Auth;
use crate::routes::resource;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/audit").get(list))
        .service(resource("/api/v1/audit/").get(list));
}

/// `?type=&user_id=&since=&limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this event type (`login_failed`, `role_changed`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Only events by this user.
    pub user_id: Option<Uuid>,
    /// Only events at or after this instant (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Page size 1–100.
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u64>,
}

/// `{audit_events, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    /// Newest first.
    pub audit_events: Vec<AuditEventDto>,
    /// Totals.
    pub pagination: Pagination,
}

/// The tenant's audit trail (admins with the plan feature `audit_logs`, and the super admin).
#[utoipa::path(get, path = "/api/v1/audit/", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditResponse),
        (status = 403, description = "forbidden or feature_not_in_plan", body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.offset)?;
    let kind = q.kind.as_deref().map(AuditKind::parse).transpose()?;
    let filter = AuditFilter {
        kind,
        actor_id: q.user_id.map(UserId::from_uuid),
        since: q.since,
    };
    let result = state.services.audit.list(&auth.0, &filter, page).await?;
    Ok(HttpResponse::Ok().json(AuditResponse {
        audit_events: result.items.iter().map(AuditEventDto::from).collect(),
        pagination: Pagination {
            total: result.total,
            limit: page.limit(),
            offset: page.offset(),
        },
    }))
}
