//! Search history and its aggregates.

use async_trait::async_trait;
use pake_domain::search::{HistoryFilter, PopularQuery, SearchRecord, SearchStats, SnapshotPage};
use pake_domain::{Page, PageRequest, SavedSearchId, SearchId, TenantId};
use time::OffsetDateTime;

use crate::RepoError;

/// Search history and its aggregates.
#[async_trait]
pub trait SearchHistoryRepository: Send + Sync {
    /// Records an executed search, and its `snapshot` (when given) as its first kept page.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`) for a duplicate id.
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError>;

    /// Records several searches (of any tenants) in one transaction: all or none.
    ///
    /// # Errors
    /// As [`SearchHistoryRepository::append`] for any of them; then none is recorded.
    async fn append_many(&self, records: &[SearchRecord]) -> Result<(), RepoError>;

    /// One search of the tenant.
    async fn get(&self, tenant: TenantId, id: SearchId) -> Result<Option<SearchRecord>, RepoError>;

    /// Records one more page of a search that has fetched `pages` so far: `pages + 1`, the new
    /// `paging` state, `added` more results, and `snapshot` kept as page `pages + 1`, in one
    /// transaction. Returns whether it did: `false` when the search is not the tenant's or
    /// another page was recorded first.
    async fn add_page(
        &self,
        tenant: TenantId,
        id: SearchId,
        pages: u32,
        paging: &serde_json::Value,
        added: u32,
        snapshot: &SnapshotPage,
    ) -> Result<bool, RepoError>;

    /// The kept pages of a search's snapshot, first page first (none when it was never kept or
    /// has expired).
    async fn snapshot(
        &self,
        tenant: TenantId,
        id: SearchId,
    ) -> Result<Vec<SnapshotPage>, RepoError>;

    /// The latest search run from the saved search `saved`, if any.
    async fn latest_of_saved(
        &self,
        tenant: TenantId,
        saved: SavedSearchId,
    ) -> Result<Option<SearchRecord>, RepoError>;

    /// Deletes the tenant's snapshot pages fetched before `before` (the history entries stay).
    /// Returns how many pages it deleted.
    async fn purge_snapshots(
        &self,
        tenant: TenantId,
        before: OffsetDateTime,
    ) -> Result<u64, RepoError>;

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
