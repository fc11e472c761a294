//! Repository ports: how the core reads and writes what must survive.
//!
//! Every method on tenant data takes the tenant first and never returns or changes another tenant's
//! rows: an object of another tenant is [`RepoError::NotFound`], exactly like a missing one. Methods
//! marked *platform-wide* are the explicit, audited paths for the super admin and background jobs.
//! Every method may also return [`RepoError::Unavailable`] when the store cannot be reached and
//! [`RepoError::Internal`] for anything unexpected; the docs below list only the other errors.

mod audit;
mod collections;
mod history;
mod saved_searches;
mod sessions;
mod tenants;
mod usage;
mod users;

use std::sync::Arc;

use async_trait::async_trait;

use crate::RepoError;

pub use audit::AuditRepository;
pub use collections::CollectionRepository;
pub use history::SearchHistoryRepository;
pub use saved_searches::SavedSearchRepository;
pub use sessions::SessionRepository;
pub use tenants::{TenantFilter, TenantRepository};
pub use usage::UsageRepository;
pub use users::UserRepository;

/// The store's own health.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// A cheap round trip to the store.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the store does not answer.
    async fn ping(&self) -> Result<(), RepoError>;

    /// The connection pool now: `(connections, idle)`, when the store has a pool.
    fn pool(&self) -> Option<(u32, u32)> {
        None
    }
}

/// Every repository of one store, as the composition root hands them to the services.
#[derive(Clone)]
pub struct Repositories {
    /// Tenants.
    pub tenants: Arc<dyn TenantRepository>,
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Audit trail.
    pub audit: Arc<dyn AuditRepository>,
    /// Search history.
    pub history: Arc<dyn SearchHistoryRepository>,
    /// Saved searches.
    pub saved_searches: Arc<dyn SavedSearchRepository>,
    /// Collections.
    pub collections: Arc<dyn CollectionRepository>,
    /// Usage counters.
    pub usage: Arc<dyn UsageRepository>,
    /// Store health.
    pub health: Arc<dyn StoreHealth>,
}
