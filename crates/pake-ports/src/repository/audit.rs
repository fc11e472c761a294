//! The audit trail.

use async_trait::async_trait;
use pake_domain::audit::{AuditEvent, AuditFilter};
use pake_domain::{Page, PageRequest, TenantId};

use crate::RepoError;

/// The audit trail.
#[async_trait]
pub trait AuditRepository: Send + Sync {
    /// Appends an event.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`) for a duplicate id.
    async fn append(&self, event: &AuditEvent) -> Result<(), RepoError>;

    /// The tenant's events matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, RepoError>;
}
