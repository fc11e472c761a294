//! Response bodies shared by several routes, converted from domain values at the edge.

use pake_core::SessionView;
use pake_domain::audit::AuditEvent;
use pake_domain::{Permission, PlanCatalog, Tenant, User};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `{total, limit, offset}` of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    /// Items matching, over every page.
    pub total: u64,
    /// Page size.
    pub limit: u32,
    /// Items skipped.
    pub offset: u64,
}

/// `?limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–100 (default 50).
    pub limit: Option<u32>,
    /// Items to skip (default 0).
    pub offset: Option<u64>,
}

/// Deserialises a present field (even `null`) as `Some`, so `null` can mean "clear it".
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A user as the API shows it. Never the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Full name.
    pub full_name: Option<String>,
    /// `viewer`, `user`, `manager`, `admin` or `super_admin`.
    pub role: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Whether a one-time password must be changed.
    pub must_change_password: bool,
    /// Whether the account is locked now.
    pub is_locked: bool,
    /// Until when it is locked.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<OffsetDateTime>,
    /// Last login.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl UserDto {
    /// The view of `user` at `now`.
    pub fn new(user: &User, now: OffsetDateTime) -> Self {
        Self {
            id: user.id.as_uuid(),
            tenant_id: user.tenant_id.as_uuid(),
            username: user.username.to_string(),
            email: user.email.to_string(),
            full_name: user.full_name.as_ref().map(ToString::to_string),
            role: user.role.as_str().into(),
            status: user.status.as_str().into(),
            must_change_password: user.must_change_password,
            is_locked: user.is_locked(now),
            locked_until: user.locked_until,
            last_login_at: user.last_login_at,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A plan's limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitsDto {
    /// Users.
    pub max_users: u32,
    /// API calls per UTC day.
    pub max_api_calls_per_day: u64,
    /// Requests per minute.
    pub requests_per_minute: u32,
    /// Concurrent searches.
    pub max_concurrent_searches: u32,
}

/// Provisioning progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisioningDto {
    /// Steps done.
    pub completed_steps: Vec<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
}

/// A tenant as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDto {
    /// Id.
    pub id: Uuid,
    /// Slug.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Domain.
    pub domain: Option<String>,
    /// Plan.
    pub plan: String,
    /// `provisioning`, `active`, `suspended` or `deleted`.
    pub status: String,
    /// The limits in force (plan with overrides).
    pub limits: LimitsDto,
    /// Features in force.
    #[schema(value_type = Vec<String>)]
    pub features: Vec<pake_domain::Feature>,
    /// The super admin's overrides.
    #[schema(value_type = Object)]
    pub limits_override: pake_domain::LimitsOverride,
    /// Settings.
    #[schema(value_type = Object)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Provisioning progress.
    pub provisioning: ProvisioningDto,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl TenantDto {
    /// The view of `tenant` under `plans`.
    pub fn new(tenant: &Tenant, plans: &PlanCatalog) -> Self {
        let plan = plans.effective(tenant.plan, &tenant.limits_override);
        let l = plan.limits;
        Self {
            id: tenant.id.as_uuid(),
            name: tenant.slug.to_string(),
            display_name: tenant.display_name.to_string(),
            domain: tenant.domain.as_ref().map(|d| d.as_str().to_owned()),
            plan: tenant.plan.as_str().into(),
            status: tenant.status.as_str().into(),
            limits: LimitsDto {
                max_users: l.max_users,
                max_api_calls_per_day: l.max_api_calls_per_day,
                requests_per_minute: l.requests_per_minute,
                max_concurrent_searches: l.max_concurrent_searches,
            },
            features: plan.features.into_iter().collect(),
            limits_override: tenant.limits_override,
            settings: tenant.settings.clone(),
            provisioning: ProvisioningDto {
                completed_steps: tenant.provisioning.completed_steps.clone(),
                attempts: tenant.provisioning.attempts,
                last_error: tenant.provisioning.last_error.clone(),
                finished_at: tenant.provisioning.finished_at,
            },
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

/// A login session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    /// Id.
    pub id: Uuid,
    /// Whether the calling token belongs to it.
    pub current: bool,
    /// Login time.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last refresh.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: OffsetDateTime,
    /// Absolute expiry.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client at login.
    pub user_agent: Option<String>,
}

impl From<&SessionView> for SessionDto {
    fn from(v: &SessionView) -> Self {
        let s = &v.session;
        Self {
            id: s.id.as_uuid(),
            current: v.current,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventDto {
    /// Id.
    pub id: Uuid,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// The actor's tenant when it is another (a super admin).
    pub actor_tenant_id: Option<Uuid>,
    /// What it was done to.
    pub target: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Client.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Further facts.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventDto {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id.as_uuid(),
            kind: e.kind.as_str().into(),
            at: e.at,
            actor_id: e.actor_id.map(|a| a.as_uuid()),
            actor_tenant_id: e.actor_tenant_id.map(|a| a.as_uuid()),
            target: e.target.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            request_id: e.request_id.clone(),
            details: e.details.clone(),
        }
    }
}

/// Permission names for a login answer.
pub fn permission_names(permissions: &[Permission]) -> Vec<String> {
    permissions
        .iter()
        .filter_map(|p| {
            serde_json::to_value(p)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        })
        .collect()
}
