use async_trait::async_trait;
use pake_domain::search::{SavedSearch, SavedSearchFilter};
use pake_domain::{Page, PageRequest, SavedSearchId, TenantId};
use pake_ports::{Conflict, RepoError, SavedSearchRepository};
use time::OffsetDateTime;

use super::{MemoryStore, found, page_of};

#[async_trait]
impl SavedSearchRepository for MemoryStore {
    async fn create(&self, search: &SavedSearch) -> Result<(), RepoError> {
        let mut s = self.state();
        if !s.users.contains_key(&(search.tenant_id, search.owner_id)) {
            return Err(RepoError::NotFound);
        }
        let key = (search.tenant_id, search.id);
        if s.saved.contains_key(&key) {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        s.saved.insert(key, search.clone());
        Ok(())
    }

    async fn find(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
    ) -> Result<Option<SavedSearch>, RepoError> {
        Ok(self.state().saved.get(&(tenant, id)).cloned())
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: SavedSearchFilter,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, RepoError> {
        let s = self.state();
        let mut items: Vec<&SavedSearch> = s
            .saved
            .values()
            .filter(|x| x.tenant_id == tenant)
            .filter(|x| match filter.owner_id {
                Some(owner) => x.owner_id == owner || (filter.include_public && x.is_public),
                None => !filter.include_public || x.is_public,
            })
            .collect();
        items.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
        Ok(page_of(&items, page))
    }

    async fn update(&self, search: &SavedSearch) -> Result<(), RepoError> {
        let mut s = self.state();
        let stored = s.saved.get_mut(&(search.tenant_id, search.id));
        found(stored.is_some())?;
        if let Some(x) = stored {
            *x = search.clone();
        }
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, id: SavedSearchId) -> Result<(), RepoError> {
        found(self.state().saved.remove(&(tenant, id)).is_some())
    }

    async fn record_run(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
        at: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let mut s = self.state();
        let x = s.saved.get_mut(&(tenant, id)).ok_or(RepoError::NotFound)?;
        x.run_count += 1;
        x.last_run_at = Some(at);
        Ok(())
    }
}
