//! Collections and their items.

use async_trait::async_trait;
use pake_domain::collection::{Collection, CollectionFilter, CollectionItem, CollectionRef};
use pake_domain::{CollectionId, CollectionItemId, Page, PageRequest, TenantId};

use crate::RepoError;

/// Collections (shared reading lists) and the papers they hold.
#[async_trait]
pub trait CollectionRepository: Send + Sync {
    /// Stores a new collection.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`); [`RepoError::NotFound`] when the owner does not exist in
    /// the tenant.
    async fn create(&self, collection: &Collection) -> Result<(), RepoError>;

    /// The collection, with its item count.
    async fn find(
        &self,
        tenant: TenantId,
        id: CollectionId,
    ) -> Result<Option<Collection>, RepoError>;

    /// Collections matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: CollectionFilter,
        page: PageRequest,
    ) -> Result<Page<Collection>, RepoError>;

    /// Replaces its name, description, visibility and `updated_at`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn update(&self, collection: &Collection) -> Result<(), RepoError>;

    /// Deletes it with its items.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete(&self, tenant: TenantId, id: CollectionId) -> Result<(), RepoError>;

    /// Adds a paper, unless the collection holds it already under any of `item.keys`. Returns
    /// the id of the item holding it: `item.id` when added, the existing item's otherwise (also
    /// when another add of the same paper wins a race).
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the collection is not the tenant's.
    async fn add_item(&self, item: &CollectionItem) -> Result<CollectionItemId, RepoError>;

    /// One item of the collection.
    async fn item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<Option<CollectionItem>, RepoError>;

    /// The collection's items, first added first, with the total.
    async fn items(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        page: PageRequest,
    ) -> Result<Page<CollectionItem>, RepoError>;

    /// Replaces an item's tags, note and `updated_at`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn update_item(&self, item: &CollectionItem) -> Result<(), RepoError>;

    /// Removes an item.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete_item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<(), RepoError>;

    /// For each of `keys` that an item of a collection matching `filter` holds: the key and that
    /// collection (one query, whatever the number of keys).
    async fn holding(
        &self,
        tenant: TenantId,
        keys: &[String],
        filter: CollectionFilter,
    ) -> Result<Vec<(String, CollectionRef)>, RepoError>;

    /// The record of an item of any of the tenant's collections holding a paper under one of
    /// `keys` (how a paper added by its id is resolved to what a search returned).
    async fn record_by_keys(
        &self,
        tenant: TenantId,
        keys: &[String],
    ) -> Result<Option<serde_json::Value>, RepoError>;
}
