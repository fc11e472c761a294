//! Every repository port in memory: one store behind one lock, so each call is one atomic unit
//! of work, as a transaction is in the real stores. It keeps the stores' rules that the core
//! relies on — tenant first in every key, uniqueness, parents that must exist, what a user's
//! deletion takes with it, the purge order — and passes the same repository contract suites
//! (`crates/pake-core/tests/memory_contract.rs`).

mod audit;
mod collections;
mod history;
mod saved_searches;
mod sessions;
mod tenants;
mod usage;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use pake_domain::audit::AuditEvent;
use pake_domain::collection::{Collection, CollectionItem};
use pake_domain::search::{SavedSearch, SearchRecord, SnapshotPage};
use pake_domain::session::Session;
use pake_domain::usage::UsageMetric;
use pake_domain::{
    CollectionId, Page, PageRequest, SavedSearchId, SearchId, SessionId, Tenant, TenantId, User,
    UserId,
};
use pake_ports::{RepoError, Repositories, StoreHealth};
use time::{Date, OffsetDateTime};

/// A user as stored, with the checks in flight that the lockout counts.
#[derive(Clone)]
struct StoredUser {
    user: User,
    pending: u32,
    pending_until: Option<OffsetDateTime>,
}

/// A refresh token's session, and when it was used.
#[derive(Clone, Copy)]
struct StoredToken {
    session: SessionId,
    used_at: Option<OffsetDateTime>,
}

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, Tenant>,
    users: HashMap<(TenantId, UserId), StoredUser>,
    sessions: HashMap<(TenantId, SessionId), Session>,
    refresh_tokens: HashMap<(TenantId, [u8; 32]), StoredToken>,
    audit: Vec<AuditEvent>,
    history: Vec<SearchRecord>,
    saved: HashMap<(TenantId, SavedSearchId), SavedSearch>,
    snapshots: BTreeMap<(TenantId, SearchId), Vec<SnapshotPage>>,
    collections: BTreeMap<(TenantId, CollectionId), Collection>,
    items: Vec<CollectionItem>,
    usage: BTreeMap<(TenantId, Date), HashMap<UsageMetric, u64>>,
}

/// The in-memory store.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every repository of this store.
    pub fn repositories(&self) -> Repositories {
        let me = Arc::new(self.clone());
        Repositories {
            tenants: me.clone(),
            users: me.clone(),
            sessions: me.clone(),
            audit: me.clone(),
            history: me.clone(),
            saved_searches: me.clone(),
            collections: me.clone(),
            usage: me.clone(),
            health: me,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        crate::util::lock(&self.state)
    }
}

#[async_trait]
impl StoreHealth for MemoryStore {
    async fn ping(&self) -> Result<(), RepoError> {
        Ok(())
    }
}

/// `Ok` when a write found its object, as the stores' `found`.
fn found(hit: bool) -> Result<(), RepoError> {
    if hit {
        Ok(())
    } else {
        Err(RepoError::NotFound)
    }
}

/// Page `page` of `items`, already filtered and in order.
fn page_of<T: Clone>(items: &[&T], page: PageRequest) -> Page<T> {
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
    Page {
        items: items
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| (*t).clone())
            .collect(),
        total: u64::try_from(items.len()).unwrap_or(u64::MAX),
    }
}
