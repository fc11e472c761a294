//! Search history and its aggregates.

use async_trait::async_trait;
use pake_domain::search::{HistoryFilter, PopularQuery, SearchRecord, SearchStats};
use pake_domain::{Page, PageRequest, TenantId};

use crate::RepoError;

/// Search history and its aggregates.
#[async_trait]
pub trait SearchHistoryRepository: Send + Sync {
    /// Records an executed search.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`) for a duplicate id.
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError>;

    /// Records several searches (of any tenants) in one transaction: all or none.
    ///
    /// # Errors
    /// As [`SearchHistoryRepository::append`] for any of them; then none is recorded.
    async fn append_many(&self, records: &[SearchRecord]) -> Result<(), RepoError>;

    /// The tenant's searches matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, RepoError>;

    /// Aggregates over the tenant's searches matching `filter`.
    async fn stats(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
    ) -> Result<SearchStats, RepoError>;

    /// The most searched queries (grouped case-insensitively) matching `filter`, most first.
    async fn popular(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, RepoError>;
}
