use async_trait::async_trait;
use pake_domain::collection::{
    Collection, CollectionFilter, CollectionItem, CollectionRef, Visibility,
};
use pake_domain::{CollectionId, CollectionItemId, Page, PageRequest, TenantId};
use pake_ports::{CollectionRepository, Conflict, RepoError};

use super::{MemoryStore, State, found, page_of};

impl State {
    fn readable(c: &Collection, filter: CollectionFilter) -> bool {
        filter
            .reader
            .is_none_or(|u| c.owner_id == u || c.visibility == Visibility::Tenant)
    }

    fn counted(&self, c: &Collection) -> Collection {
        let n = self
            .items
            .iter()
            .filter(|i| i.tenant_id == c.tenant_id && i.collection_id == c.id)
            .count();
        Collection {
            item_count: u32::try_from(n).unwrap_or(u32::MAX),
            ..c.clone()
        }
    }
}

#[async_trait]
impl CollectionRepository for MemoryStore {
    async fn create(&self, collection: &Collection) -> Result<(), RepoError> {
        let mut s = self.state();
        if !s
            .users
            .contains_key(&(collection.tenant_id, collection.owner_id))
        {
            return Err(RepoError::NotFound);
        }
        let key = (collection.tenant_id, collection.id);
        if s.collections.contains_key(&key) {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        s.collections.insert(key, collection.clone());
        Ok(())
    }

    async fn find(
        &self,
        tenant: TenantId,
        id: CollectionId,
    ) -> Result<Option<Collection>, RepoError> {
        let s = self.state();
        Ok(s.collections.get(&(tenant, id)).map(|c| s.counted(c)))
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: CollectionFilter,
        page: PageRequest,
    ) -> Result<Page<Collection>, RepoError> {
        let s = self.state();
        let mut items: Vec<Collection> = s
            .collections
            .values()
            .filter(|c| c.tenant_id == tenant && State::readable(c, filter))
            .map(|c| s.counted(c))
            .collect();
        items.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        let refs: Vec<&Collection> = items.iter().collect();
        Ok(page_of(&refs, page))
    }

    async fn update(&self, collection: &Collection) -> Result<(), RepoError> {
        let mut s = self.state();
        let Some(c) = s
            .collections
            .get_mut(&(collection.tenant_id, collection.id))
        else {
            return Err(RepoError::NotFound);
        };
        c.name = collection.name.clone();
        c.description.clone_from(&collection.description);
        c.visibility = collection.visibility;
        c.updated_at = collection.updated_at;
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, id: CollectionId) -> Result<(), RepoError> {
        let mut s = self.state();
        s.items
            .retain(|i| !(i.tenant_id == tenant && i.collection_id == id));
        found(s.collections.remove(&(tenant, id)).is_some())
    }

    async fn add_item(&self, item: &CollectionItem) -> Result<CollectionItemId, RepoError> {
        let mut s = self.state();
        if !s
            .collections
            .contains_key(&(item.tenant_id, item.collection_id))
        {
            return Err(RepoError::NotFound);
        }
        if let Some(existing) = s.items.iter().find(|i| {
            i.tenant_id == item.tenant_id
                && i.collection_id == item.collection_id
                && i.keys.iter().any(|k| item.keys.contains(k))
        }) {
            return Ok(existing.id);
        }
        let mut stored = item.clone();
        stored.keys.sort();
        stored.keys.dedup();
        s.items.push(stored);
        Ok(item.id)
    }

    async fn item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<Option<CollectionItem>, RepoError> {
        Ok(self
            .state()
            .items
            .iter()
            .find(|i| i.tenant_id == tenant && i.collection_id == collection && i.id == id)
            .cloned())
    }

    async fn items(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        page: PageRequest,
    ) -> Result<Page<CollectionItem>, RepoError> {
        let s = self.state();
        let mut items: Vec<&CollectionItem> = s
            .items
            .iter()
            .filter(|i| i.tenant_id == tenant && i.collection_id == collection)
            .collect();
        items.sort_by_key(|i| (i.added_at, i.id));
        Ok(page_of(&items, page))
    }

    async fn update_item(&self, item: &CollectionItem) -> Result<(), RepoError> {
        let mut s = self.state();
        let Some(it) = s.items.iter_mut().find(|i| {
            i.tenant_id == item.tenant_id
                && i.collection_id == item.collection_id
                && i.id == item.id
        }) else {
            return Err(RepoError::NotFound);
        };
        it.tags.clone_from(&item.tags);
        it.note.clone_from(&item.note);
        it.updated_at = item.updated_at;
        Ok(())
    }

    async fn delete_item(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: CollectionItemId,
    ) -> Result<(), RepoError> {
        let mut s = self.state();
        let before = s.items.len();
        s.items
            .retain(|i| !(i.tenant_id == tenant && i.collection_id == collection && i.id == id));
        found(s.items.len() < before)
    }

    async fn holding(
        &self,
        tenant: TenantId,
        keys: &[String],
        filter: CollectionFilter,
    ) -> Result<Vec<(String, CollectionRef)>, RepoError> {
        let s = self.state();
        let mut out = Vec::new();
        for i in s.items.iter().filter(|i| i.tenant_id == tenant) {
            let Some(c) = s.collections.get(&(tenant, i.collection_id)) else {
                continue;
            };
            if !State::readable(c, filter) {
                continue;
            }
            for k in i.keys.iter().filter(|k| keys.contains(k)) {
                out.push((
                    k.clone(),
                    CollectionRef {
                        id: c.id,
                        name: c.name.as_str().to_owned(),
                    },
                ));
            }
        }
        Ok(out)
    }

    async fn record_by_keys(
        &self,
        tenant: TenantId,
        keys: &[String],
    ) -> Result<Option<serde_json::Value>, RepoError> {
        Ok(self
            .state()
            .items
            .iter()
            .rev()
            .find(|i| i.tenant_id == tenant && i.keys.iter().any(|k| keys.contains(k)))
            .map(|i| i.record.clone()))
    }
}
