//! An in-memory index of every tenant's identity, status and plan, so authenticating a request,
//! resolving `X-Tenant-ID` and checking plan features cost no database round trip.
//!
//! Services update it on every tenant change they make; [`TenantDirectory::reload`] re-reads the
//! store so changes made by other replicas arrive within the sync interval.

use std::collections::HashMap;
use std::sync::RwLock;

use pake_domain::{
    LimitsOverride, PageRequest, PlanId, Tenant, TenantId, TenantSlug, TenantStatus,
};
use pake_ports::{RepoError, TenantFilter, TenantRepository};

/// What the directory knows of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantEntry {
    /// Id.
    pub id: TenantId,
    /// Slug.
    pub slug: TenantSlug,
    /// Status.
    pub status: TenantStatus,
    /// Plan.
    pub plan: PlanId,
    /// Limit overrides.
    pub limits: LimitsOverride,
}

impl From<&Tenant> for TenantEntry {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug.clone(),
            status: t.status,
            plan: t.plan,
            limits: t.limits_override,
        }
    }
}

#[derive(Default)]
struct Index {
    by_id: HashMap<TenantId, TenantEntry>,
    by_slug: HashMap<String, TenantId>,
}

/// The directory.
#[derive(Default)]
pub struct TenantDirectory {
    index: RwLock<Index>,
}

impl TenantDirectory {
    /// Re-reads every tenant from the store.
    ///
    /// # Errors
    /// Store errors.
    pub async fn reload(&self, tenants: &dyn TenantRepository) -> Result<(), RepoError> {
        let mut fresh = Index::default();
        let mut offset = 0;
        loop {
            let page = PageRequest::new(Some(PageRequest::MAX_LIMIT), Some(offset))
                .map_err(RepoError::internal)?;
            let batch = tenants.list(TenantFilter::default(), page).await?;
            let n = batch.items.len() as u64;
            for t in &batch.items {
                fresh.by_slug.insert(t.slug.as_str().to_owned(), t.id);
                fresh.by_id.insert(t.id, TenantEntry::from(t));
            }
            offset += n;
            if n == 0 || offset >= batch.total {
                break;
            }
        }
        *self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }

    /// Records a created or changed tenant.
    pub fn upsert(&self, tenant: &Tenant) {
        let mut index = self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = index
            .by_id
            .get(&tenant.id)
            .map(|e| e.slug.as_str().to_owned())
        {
            index.by_slug.remove(&old);
        }
        index
            .by_slug
            .insert(tenant.slug.as_str().to_owned(), tenant.id);
        index.by_id.insert(tenant.id, TenantEntry::from(tenant));
    }

    /// Forgets a purged tenant.
    pub fn remove(&self, id: TenantId) {
        let mut index = self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = index.by_id.remove(&id) {
            index.by_slug.remove(entry.slug.as_str());
        }
    }

    /// How many tenants the directory holds.
    pub fn len(&self) -> usize {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_id
            .len()
    }

    /// Every tenant it holds (a copy: background jobs walk it without holding the index).
    pub fn entries(&self) -> Vec<TenantEntry> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_id
            .values()
            .cloned()
            .collect()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tenant with this id.
    pub fn get(&self, id: TenantId) -> Option<TenantEntry> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_id
            .get(&id)
            .cloned()
    }

    /// The tenant named by `text`: its id or its slug.
    pub fn resolve(&self, text: &str) -> Option<TenantEntry> {
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = match TenantId::parse(text) {
            Ok(id) => id,
            Err(_) => *index
                .by_slug
                .get(text.trim().to_ascii_lowercase().as_str())?,
        };
        index.by_id.get(&id).cloned()
    }

    /// Whether the tenant exists and may be used (status active).
    pub fn is_usable(&self, id: TenantId) -> bool {
        self.get(id).is_some_and(|e| e.status.is_usable())
    }
}
