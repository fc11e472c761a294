//! PAKE's use cases, written against the ports only.
//!
//! Another Rust service can embed these with its own adapters: build a [`Deps`] from your
//! repositories, hasher, token service, secrets and clock, then [`Services::new`]. The HTTP crate is
//! one client of these services; it holds no business rules of its own.

pub mod audit;
mod auth;
mod bootstrap;
pub mod caller;
pub mod collections;
mod deps;
pub mod directory;
mod error;
pub mod export;
pub mod fair;
mod health;
pub mod limits;
mod provisioning;
pub mod revocation;
pub mod search;
mod tenants;
#[cfg(feature = "test-support")]
pub mod testing;
mod users;
mod util;

use std::sync::Arc;

pub use audit::AuditService;
pub use auth::{AuthService, LoginInput, LoginOutcome, RefreshOutcome, SessionView, TokenPair};
pub use bootstrap::{BootstrapOptions, BootstrapOutcome, BootstrapService};
pub use caller::{Caller, RequestMeta};
pub use deps::{Access, AuthPolicy, Counters, Credentials, Deps, Environment, Identity};
pub use directory::TenantDirectory;
pub use error::CoreError;
pub use fair::FairGate;
pub use health::{ComponentHealth, HealthService, Readiness, SystemStatus};
pub use limits::{DailyUsage, LimitKind, LimitPolicy, LimitService, Refusals, SearchSlot};
pub use provisioning::ProvisioningService;
pub use revocation::RevocationList;
pub use search::{SavedSearchService, SearchService, SearchSetup};
pub use tenants::{CreatedTenant, NewTenant, TenantAnalytics, TenantPatch, TenantService};
pub use users::{CreatedUser, NewUser, UserPatch, UserService};

/// Every service, built once by the composition root.
#[derive(Clone)]
pub struct Services {
    /// First-start bootstrap of the platform tenant and its super admin.
    pub bootstrap: BootstrapService,
    /// Liveness and readiness.
    pub health: HealthService,
    /// Login, tokens, sessions.
    pub auth: AuthService,
    /// Tenants.
    pub tenants: TenantService,
    /// Users of a tenant.
    pub users: UserService,
    /// The audit trail.
    pub audit: AuditService,
    /// Background provisioning of new tenants.
    pub provisioning: ProvisioningService,
    /// Rate limits.
    pub limits: LimitService,
    /// Federated search, history and analytics.
    pub search: SearchService,
    /// Saved searches.
    pub saved_searches: SavedSearchService,
    /// Collections.
    pub collections: collections::CollectionService,
    /// Exports of kept results.
    pub exports: export::ExportService,
}

impl Services {
    /// Builds every service from `deps`, giving each only its repositories and port groups.
    pub fn new(deps: &Deps) -> Self {
        let repos = &deps.repos;
        let env = &deps.env;
        let access = deps.access();
        let audit = AuditService::new(Arc::clone(&repos.audit), env.clone(), access.clone());
        let provisioning = ProvisioningService::new(repos, env.clone(), deps.identity.clone());
        let limits = LimitService::new(
            Arc::clone(&repos.usage),
            env.clone(),
            access.clone(),
            deps.counters.clone(),
        );
        let search = SearchService::new(
            repos,
            env.clone(),
            access.clone(),
            Arc::clone(&deps.search),
            Arc::clone(&deps.cache),
            limits.clone(),
        );
        let collections = collections::CollectionService::new(
            Arc::clone(&repos.collections),
            env.clone(),
            access.clone(),
            search.clone(),
            audit.clone(),
        );
        let exports = export::ExportService::new(
            Arc::clone(&repos.usage),
            env.clone(),
            access.clone(),
            search.clone(),
            collections.clone(),
            audit.clone(),
        );
        let auth = AuthService::new(
            repos,
            env.clone(),
            deps.identity.clone(),
            deps.credentials.clone(),
            audit.clone(),
        );
        Self {
            bootstrap: BootstrapService::new(repos, env.clone(), deps.credentials.clone()),
            health: HealthService::new(
                Arc::clone(&repos.health),
                Arc::clone(&deps.cache),
                deps.optional_probes.clone(),
                access.clone(),
                Arc::clone(&deps.search),
            ),
            tenants: TenantService::new(
                repos,
                env.clone(),
                access.clone(),
                deps.identity.clone(),
                deps.credentials.clone(),
                tenants::TenantCollaborators {
                    audit: audit.clone(),
                    provisioning: provisioning.clone(),
                    limits: limits.clone(),
                },
            ),
            users: UserService::new(
                repos,
                env.clone(),
                access.clone(),
                deps.identity.clone(),
                deps.credentials.clone(),
                users::UserCollaborators {
                    audit: audit.clone(),
                    auth: auth.clone(),
                },
            ),
            saved_searches: SavedSearchService::new(
                Arc::clone(&repos.saved_searches),
                env.clone(),
                access,
                search.clone(),
            ),
            collections,
            exports,
            auth,
            audit,
            provisioning,
            search,
            limits,
        }
    }

    /// Re-reads the tenant directory and the recent revocations from the store (at start-up, and
    /// periodically so changes made by other replicas arrive).
    ///
    /// # Errors
    /// Store errors.
    pub async fn sync_identity(&self) -> Result<(), CoreError> {
        self.auth.sync().await
    }
}
