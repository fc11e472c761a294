//! Tenants: the platform's organisations, their plans and settings.

use async_trait::async_trait;
use pake_domain::{Page, PageRequest, PlanId, Tenant, TenantId, TenantSlug, TenantStatus, User};

use crate::RepoError;

/// Which tenants to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantFilter {
    /// Only this status.
    pub status: Option<TenantStatus>,
    /// Only this plan.
    pub plan: Option<PlanId>,
}

/// Tenants.
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// Stores a new tenant.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] with `Conflict::TenantSlug` when the slug is taken, `Conflict::Id`
    /// when the id is.
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError>;

    /// Stores a new tenant together with its first admin, atomically: both or neither.
    ///
    /// # Errors
    /// As [`TenantRepository::create`], plus [`RepoError::Conflict`] (`Username`, `Email`) from the
    /// admin.
    async fn create_with_admin(&self, tenant: &Tenant, admin: &User) -> Result<(), RepoError>;

    /// The tenant with this id, if any.
    async fn find(&self, id: TenantId) -> Result<Option<Tenant>, RepoError>;

    /// The tenant with this slug, if any (*platform-wide*: used to resolve a login's tenant).
    async fn find_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RepoError>;

    /// Tenants matching `filter`, newest first, with the total (*platform-wide*).
    async fn list(
        &self,
        filter: TenantFilter,
        page: PageRequest,
    ) -> Result<Page<Tenant>, RepoError>;

    /// Replaces the stored tenant with `tenant` (matched by id).
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when no such tenant exists.
    async fn update(&self, tenant: &Tenant) -> Result<(), RepoError>;

    /// Deletes the tenant and every row it owns, in every table, in one transaction
    /// (*platform-wide*). Afterwards nothing of it is readable and its slug is free.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when no such tenant exists.
    async fn purge(&self, id: TenantId) -> Result<(), RepoError>;
}
