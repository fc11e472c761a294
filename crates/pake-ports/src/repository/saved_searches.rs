//! Saved searches.

use async_trait::async_trait;
use pake_domain::search::{SavedSearch, SavedSearchFilter};
use pake_domain::{Page, PageRequest, SavedSearchId, TenantId};
use time::OffsetDateTime;

use crate::RepoError;

/// Saved searches.
#[async_trait]
pub trait SavedSearchRepository: Send + Sync {
    /// Stores a new saved search.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`); [`RepoError::NotFound`] when the owner does not exist in
    /// the tenant.
    async fn create(&self, search: &SavedSearch) -> Result<(), RepoError>;

    /// The saved search, if any.
    async fn find(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
    ) -> Result<Option<SavedSearch>, RepoError>;

    /// Saved searches matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: SavedSearchFilter,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, RepoError>;

    /// Replaces the stored saved search (matched by tenant and id).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn update(&self, search: &SavedSearch) -> Result<(), RepoError>;

    /// Deletes it.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete(&self, tenant: TenantId, id: SavedSearchId) -> Result<(), RepoError>;

    /// Counts a run at `at`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn record_run(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
        at: OffsetDateTime,
    ) -> Result<(), RepoError>;
}
