use async_trait::async_trait;
use pake_domain::{Page, PageRequest, Tenant, TenantId, TenantSlug, User};
use pake_ports::{Conflict, RepoError, TenantFilter, TenantRepository};

use super::{MemoryStore, State, StoredUser, found, page_of};

impl State {
    fn insert_tenant(&mut self, tenant: &Tenant) -> Result<(), RepoError> {
        if self.tenants.contains_key(&tenant.id) {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        if self.tenants.values().any(|t| t.slug == tenant.slug) {
            return Err(RepoError::Conflict(Conflict::TenantSlug));
        }
        self.tenants.insert(tenant.id, tenant.clone());
        Ok(())
    }
}

#[async_trait]
impl TenantRepository for MemoryStore {
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError> {
        self.state().insert_tenant(tenant)
    }

    async fn create_with_admin(&self, tenant: &Tenant, admin: &User) -> Result<(), RepoError> {
        let mut s = self.state();
        s.insert_tenant(tenant)?;
        if let Err(e) = s.insert_user(admin, None) {
            s.tenants.remove(&tenant.id);
            return Err(e);
        }
        Ok(())
    }

    async fn find(&self, id: TenantId) -> Result<Option<Tenant>, RepoError> {
        Ok(self.state().tenants.get(&id).cloned())
    }

    async fn find_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RepoError> {
        Ok(self
            .state()
            .tenants
            .values()
            .find(|t| &t.slug == slug)
            .cloned())
    }

    async fn list(
        &self,
        filter: TenantFilter,
        page: PageRequest,
    ) -> Result<Page<Tenant>, RepoError> {
        let s = self.state();
        let mut items: Vec<&Tenant> = s
            .tenants
            .values()
            .filter(|t| filter.status.is_none_or(|st| t.status == st))
            .filter(|t| filter.plan.is_none_or(|p| t.plan == p))
            .collect();
        items.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
        Ok(page_of(&items, page))
    }

    async fn update(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let mut s = self.state();
        if s.tenants
            .values()
            .any(|t| t.slug == tenant.slug && t.id != tenant.id)
        {
            return Err(RepoError::Conflict(Conflict::TenantSlug));
        }
        let stored = s.tenants.get_mut(&tenant.id);
        found(stored.is_some())?;
        if let Some(t) = stored {
            *t = tenant.clone();
        }
        Ok(())
    }

    async fn purge(&self, id: TenantId) -> Result<(), RepoError> {
        let mut s = self.state();
        s.refresh_tokens.retain(|(t, _), _| *t != id);
        s.sessions.retain(|(t, _), _| *t != id);
        s.history.retain(|r| r.tenant_id != id);
        s.snapshots.retain(|(t, _), _| *t != id);
        s.collections.retain(|(t, _), _| *t != id);
        s.items.retain(|i| i.tenant_id != id);
        s.saved.retain(|(t, _), _| *t != id);
        s.usage.retain(|(t, _), _| *t != id);
        s.audit.retain(|e| e.tenant_id != id);
        s.users.retain(|(t, _), _: &mut StoredUser| *t != id);
        found(s.tenants.remove(&id).is_some())
    }
}
