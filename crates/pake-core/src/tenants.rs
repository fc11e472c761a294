//! Tenants: create (with their first admin), list, read, update, suspend, delete and purge.

use std::sync::Arc;

use pake_domain::audit::AuditKind;
use pake_domain::tenant::Provisioning;
use pake_domain::{
    DisplayName, Email, LimitsOverride, Page, PageRequest, Password, Permission, PlanId, Role,
    Tenant, TenantDomain, TenantId, TenantSlug, TenantStatus, User, Username,
};
use pake_ports::{
    IdentityEvent, Repositories, SearchHistoryRepository, SessionRepository, TenantFilter,
    TenantRepository, UsageRepository, UserRepository,
};

use crate::audit::{AuditService, Entry};
use crate::caller::{Caller, RequestMeta};
use crate::limits::LimitService;
use crate::provisioning::ProvisioningService;
use crate::{Access, CoreError, Credentials, Environment, Identity};

/// A tenant to create, with its first admin.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Slug.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Optional domain.
    pub domain: Option<String>,
    /// Plan.
    pub plan: PlanId,
    /// The admin's e-mail.
    pub admin_email: String,
    /// The admin's username (default `admin`).
    pub admin_username: Option<String>,
    /// The admin's full name.
    pub admin_full_name: Option<String>,
    /// A chosen admin password; without one a one-time password is generated.
    pub admin_password: Option<String>,
}

/// A created tenant.
#[derive(Debug)]
pub struct CreatedTenant {
    /// The tenant (status `provisioning` until the background job finishes).
    pub tenant: Tenant,
    /// Its admin.
    pub admin: User,
    /// The admin's one-time password, shown once.
    pub generated_password: Option<Password>,
}

/// Changes to a tenant; `None` leaves a field alone. Plan, status and limits are the super
/// admin's; a tenant admin may change the display name, domain and settings.
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    /// Display name.
    pub display_name: Option<String>,
    /// Domain (`Some(None)` clears it).
    pub domain: Option<Option<String>>,
    /// Settings (a JSON object; replaces the stored one).
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
    /// Plan (super admin).
    pub plan: Option<PlanId>,
    /// Status (super admin).
    pub status: Option<TenantStatus>,
    /// Limit overrides (super admin; replaces the stored ones).
    pub limits: Option<LimitsOverride>,
}

/// A tenant's figures over the last `days` days (UTC), today included. Every number is read from
/// the store or the shared limit counters; nothing is estimated.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantAnalytics {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The period's length in days.
    pub days: u32,
    /// Its first day.
    pub since: time::Date,
    /// Users now.
    pub users_total: u64,
    /// Users who logged in during the period.
    pub users_active: u64,
    /// The plan's user limit.
    pub users_limit: u32,
    /// API calls today, and the plan's daily limit.
    pub api_calls_today: crate::DailyUsage,
    /// API calls per day in the period (days without calls omitted; today as counted now).
    pub api_calls_per_day: Vec<(time::Date, u64)>,
    /// Searches in the period.
    pub searches: pake_domain::search::SearchStats,
    /// Searches today.
    pub searches_today: u64,
    /// The plan's concurrent searches.
    pub concurrent_searches_limit: u32,
    /// Exports of results per day in the period (days without exports omitted).
    pub exports_per_day: Vec<(time::Date, u64)>,
}

/// The largest settings document a tenant may store, in bytes of JSON.
const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// Tenant use cases.
#[derive(Clone)]
pub struct TenantService {
    tenants: Arc<dyn TenantRepository>,
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    usage: Arc<dyn UsageRepository>,
    history: Arc<dyn SearchHistoryRepository>,
    env: Environment,
    access: Access,
    identity: Identity,
    credentials: Credentials,
    audit: AuditService,
    provisioning: ProvisioningService,
    limits: LimitService,
}

/// The services a tenant service calls.
pub(crate) struct TenantCollaborators {
    pub(crate) audit: AuditService,
    pub(crate) provisioning: ProvisioningService,
    pub(crate) limits: LimitService,
}

impl TenantService {
    pub(crate) fn new(
        repos: &Repositories,
        env: Environment,
        access: Access,
        identity: Identity,
        credentials: Credentials,
        with: TenantCollaborators,
    ) -> Self {
        Self {
            tenants: Arc::clone(&repos.tenants),
            users: Arc::clone(&repos.users),
            sessions: Arc::clone(&repos.sessions),
            usage: Arc::clone(&repos.usage),
            history: Arc::clone(&repos.history),
            env,
            access,
            identity,
            credentials,
            audit: with.audit,
            provisioning: with.provisioning,
            limits: with.limits,
        }
    }

    /// The tenant's analytics over the last `days` (1–365) days.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] (another tenant, or a role without analytics),
    /// [`CoreError::Validation`] for `days` out of range, [`CoreError::NotFound`].
    pub async fn analytics(
        &self,
        caller: &Caller,
        id: TenantId,
        days: u32,
    ) -> Result<TenantAnalytics, CoreError> {
        self.require_own(caller, id, Permission::ViewTenantAnalytics)?;
        if !(1..=365).contains(&days) {
            return Err(pake_domain::ValidationError::new(
                "days",
                pake_domain::Reason::OutOfRange { min: 1, max: 365 },
            )
            .into());
        }
        let tenant = self.tenants.find(id).await?.ok_or(CoreError::NotFound)?;
        let limits = self
            .access
            .plans
            .effective(tenant.plan, &tenant.limits_override)
            .limits;
        let now = self.env.clock.now();
        let today = now.date();
        let since = today - time::Duration::days(i64::from(days) - 1);
        let since_instant = since.midnight().assume_utc();
        let users_total = self.users.count(id).await?;
        let users_active = self.users.count_active_since(id, since_instant).await?;
        let calls_today = self.limits.calls_today(id).await?;
        let mut per_day = self
            .usage
            .series(id, since, today, pake_domain::usage::UsageMetric::ApiCalls)
            .await?;
        per_day.retain(|(d, _)| *d != today);
        if calls_today.used > 0 {
            per_day.push((today, calls_today.used));
        }
        let searches = self
            .history
            .stats(
                id,
                &pake_domain::search::HistoryFilter {
                    user_id: None,
                    since: Some(since_instant),
                },
            )
            .await?;
        let exports_per_day = self
            .usage
            .series(id, since, today, pake_domain::usage::UsageMetric::Exports)
            .await?;
        let searches_today = searches
            .per_day
            .iter()
            .find(|(d, _)| *d == today)
            .map_or(0, |(_, n)| *n);
        Ok(TenantAnalytics {
            tenant_id: id,
            days,
            since,
            users_total,
            users_active,
            users_limit: limits.max_users,
            api_calls_today: calls_today,
            api_calls_per_day: per_day,
            searches,
            searches_today,
            concurrent_searches_limit: limits.max_concurrent_searches,
            exports_per_day,
        })
    }

    /// Non-super-admins may only name their own tenant in a path: 403 otherwise.
    fn require_own(&self, caller: &Caller, id: TenantId, p: Permission) -> Result<(), CoreError> {
        if caller.role == Role::SuperAdmin {
            return Ok(());
        }
        if id != caller.home_tenant {
            return Err(CoreError::Forbidden("this tenant is not yours"));
        }
        self.access.authorize(caller, p)
    }

    /// Creates a tenant and its admin atomically, then provisions it in the background.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`], [`CoreError::Validation`], [`CoreError::Conflict`].
    #[tracing::instrument(skip_all)]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewTenant,
        meta: &RequestMeta,
    ) -> Result<CreatedTenant, CoreError> {
        self.access.authorize(caller, Permission::ManageTenants)?;
        let slug = TenantSlug::parse(&input.name)?;
        let display_name = DisplayName::parse(&input.display_name)?;
        let domain = input
            .domain
            .as_deref()
            .map(TenantDomain::parse)
            .transpose()?;
        let username = Username::parse(input.admin_username.as_deref().unwrap_or("admin"))
            .map_err(|e| e.for_field("admin_username"))?;
        let email = Email::parse(&input.admin_email).map_err(|e| e.for_field("admin_email"))?;
        let full_name = input
            .admin_full_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| e.for_field("admin_full_name"))?;
        let chosen = input
            .admin_password
            .as_deref()
            .map(|p| Password::parse(p, Some(&username)).map_err(|e| e.for_field("admin_password")))
            .transpose()?;
        let generated = chosen.is_none();
        let password = chosen.unwrap_or_else(|| self.env.secrets.one_time_password());
        let now = self.env.clock.now();
        let tenant = Tenant {
            id: TenantId::new(),
            slug,
            display_name,
            domain,
            plan: input.plan,
            status: TenantStatus::Provisioning,
            limits_override: LimitsOverride::default(),
            settings: serde_json::Map::new(),
            provisioning: Provisioning::default(),
            created_at: now,
            updated_at: now,
        };
        let hash = self.credentials.hash_password(tenant.id, &password).await?;
        let admin = User {
            full_name,
            must_change_password: generated,
            ..User::new(tenant.id, username, email, Role::Admin, hash, now)
        };
        self.tenants.create_with_admin(&tenant, &admin).await?;
        self.identity.directory.upsert(&tenant);
        let entry = Entry::new(tenant.id, AuditKind::TenantCreated, meta)
            .by(caller)
            .on(tenant.slug.as_str())
            .with(
                serde_json::json!({"plan": tenant.plan.as_str(), "admin_id": admin.id.to_string()}),
            );
        self.audit.record(entry).await;
        self.provisioning.start(tenant.id);
        Ok(CreatedTenant {
            tenant,
            admin,
            generated_password: generated.then_some(password),
        })
    }

    /// Lists tenants (super admin).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`].
    pub async fn list(
        &self,
        caller: &Caller,
        filter: TenantFilter,
        page: PageRequest,
        meta: &RequestMeta,
    ) -> Result<Page<Tenant>, CoreError> {
        self.access.authorize(caller, Permission::ManageTenants)?;
        let result = self.tenants.list(filter, page).await?;
        // A platform-wide read: on the trail of the caller's (platform) tenant.
        let entry = Entry::new(caller.home_tenant, AuditKind::TenantsListed, meta)
            .by(caller)
            .with(serde_json::json!({
                "status": filter.status.map(TenantStatus::as_str),
                "plan": filter.plan.map(PlanId::as_str),
                "returned": result.items.len(),
            }));
        self.audit.record(entry).await;
        Ok(result)
    }

    /// Reads a tenant: any for the super admin; their own for its admins and managers.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] for another tenant; [`CoreError::NotFound`].
    pub async fn get(&self, caller: &Caller, id: TenantId) -> Result<Tenant, CoreError> {
        self.require_own(caller, id, Permission::ReadTenant)?;
        self.tenants.find(id).await?.ok_or(CoreError::NotFound)
    }

    /// Updates a tenant.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] (another tenant, or plan/status/limits by a non-super-admin),
    /// [`CoreError::InvalidState`] for a status change the lifecycle forbids,
    /// [`CoreError::Validation`], [`CoreError::NotFound`].
    #[tracing::instrument(skip_all, fields(tenant_id = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: TenantId,
        patch: TenantPatch,
        meta: &RequestMeta,
    ) -> Result<Tenant, CoreError> {
        self.require_own(caller, id, Permission::UpdateTenant)?;
        let platform_fields =
            patch.plan.is_some() || patch.status.is_some() || patch.limits.is_some();
        if platform_fields && !caller.can(Permission::ManageTenants) {
            return Err(CoreError::Forbidden(
                "plan, status and limits are set by the platform operator",
            ));
        }
        let mut tenant = self.tenants.find(id).await?.ok_or(CoreError::NotFound)?;
        let old_status = tenant.status;
        if let Some(name) = &patch.display_name {
            tenant.display_name = DisplayName::parse(name)?;
        }
        if let Some(domain) = &patch.domain {
            tenant.domain = domain.as_deref().map(TenantDomain::parse).transpose()?;
        }
        if let Some(settings) = patch.settings {
            if serde_json::to_vec(&settings).map_or(usize::MAX, |v| v.len()) > MAX_SETTINGS_BYTES {
                return Err(pake_domain::ValidationError::new(
                    "settings",
                    pake_domain::Reason::TooLong {
                        max: MAX_SETTINGS_BYTES,
                    },
                )
                .into());
            }
            tenant.settings = settings;
        }
        if let Some(plan) = patch.plan {
            tenant.plan = plan;
        }
        if let Some(limits) = patch.limits {
            limits.validate("limits")?;
            tenant.limits_override = limits;
        }
        if let Some(status) = patch.status
            && status != tenant.status
        {
            if tenant.is_platform()
                || status == TenantStatus::Deleted
                || !tenant.status.can_transition_to(status)
            {
                return Err(CoreError::InvalidState("this status change is not allowed"));
            }
            tenant.status = status;
        }
        tenant.updated_at = self.env.clock.now();
        self.tenants.update(&tenant).await?;
        self.identity.directory.upsert(&tenant);
        self.identity
            .publish(IdentityEvent::TenantChanged(id))
            .await;
        if tenant.status == TenantStatus::Suspended && old_status != TenantStatus::Suspended {
            self.identity
                .end_tenant_sessions(self.sessions.as_ref(), id, self.env.clock.now())
                .await?;
        }
        let kind = if tenant.status == old_status {
            AuditKind::TenantUpdated
        } else {
            AuditKind::TenantStatusChanged
        };
        let entry = Entry::new(id, kind, meta)
            .by(caller)
            .on(tenant.slug.as_str())
            .with(
                serde_json::json!({"status": tenant.status.as_str(), "plan": tenant.plan.as_str()}),
            );
        self.audit.record(entry).await;
        Ok(tenant)
    }

    /// Deletes a tenant: an active tenant is suspended; with `force` it is deleted and every row
    /// it owns purged, its sessions end at once and its name is free again.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] (also for the platform tenant), [`CoreError::NotFound`].
    #[tracing::instrument(skip_all, fields(tenant_id = %id))]
    pub async fn delete(
        &self,
        caller: &Caller,
        id: TenantId,
        force: bool,
        meta: &RequestMeta,
    ) -> Result<Option<Tenant>, CoreError> {
        self.access.authorize(caller, Permission::ManageTenants)?;
        let mut tenant = self.tenants.find(id).await?.ok_or(CoreError::NotFound)?;
        if tenant.is_platform() {
            return Err(CoreError::Forbidden(
                "the platform tenant cannot be deleted",
            ));
        }
        let platform = caller.home_tenant;
        if force {
            // Out of the directory first: its tokens stop working before the rows go.
            self.identity.directory.remove(id);
            self.tenants.purge(id).await?;
            self.identity
                .publish(IdentityEvent::TenantChanged(id))
                .await;
            let entry = Entry::new(platform, AuditKind::TenantDeleted, meta)
                .by(caller)
                .on(id)
                .with(serde_json::json!({"slug": tenant.slug.as_str(), "purged": true}));
            self.audit.record(entry).await;
            return Ok(None);
        }
        if tenant.status != TenantStatus::Suspended {
            if !tenant.status.can_transition_to(TenantStatus::Suspended) {
                return Err(CoreError::InvalidState(
                    "only an active tenant can be suspended; use force=true to delete",
                ));
            }
            tenant.status = TenantStatus::Suspended;
            tenant.updated_at = self.env.clock.now();
            self.tenants.update(&tenant).await?;
            self.identity.directory.upsert(&tenant);
            self.identity
                .publish(IdentityEvent::TenantChanged(id))
                .await;
            // Its sessions end for good: reactivating the tenant does not revive them.
            self.identity
                .end_tenant_sessions(self.sessions.as_ref(), id, self.env.clock.now())
                .await?;
            let entry = Entry::new(id, AuditKind::TenantStatusChanged, meta)
                .by(caller)
                .on(tenant.slug.as_str())
                .with(serde_json::json!({"status": "suspended"}));
            self.audit.record(entry).await;
        }
        Ok(Some(tenant))
    }
}
