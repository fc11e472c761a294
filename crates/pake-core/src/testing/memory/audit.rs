use async_trait::async_trait;
use pake_domain::audit::{AuditEvent, AuditFilter};
use pake_domain::{Page, PageRequest, TenantId};
use pake_ports::{AuditRepository, Conflict, RepoError};

use super::{MemoryStore, page_of};

#[async_trait]
impl AuditRepository for MemoryStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), RepoError> {
        let mut s = self.state();
        if !s.tenants.contains_key(&event.tenant_id) {
            return Err(RepoError::NotFound);
        }
        if s.audit
            .iter()
            .any(|e| e.tenant_id == event.tenant_id && e.id == event.id)
        {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        s.audit.push(event.clone());
        Ok(())
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, RepoError> {
        let s = self.state();
        let mut items: Vec<&AuditEvent> = s
            .audit
            .iter()
            .filter(|e| e.tenant_id == tenant)
            .filter(|e| filter.kind.is_none_or(|k| e.kind == k))
            .filter(|e| filter.actor_id.is_none_or(|a| e.actor_id == Some(a)))
            .filter(|e| filter.since.is_none_or(|at| e.at >= at))
            .collect();
        items.sort_by_key(|x| std::cmp::Reverse((x.at, x.id)));
        Ok(page_of(&items, page))
    }
}
