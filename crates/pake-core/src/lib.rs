//! PAKE's use cases, written against the ports only.
//!
//! Another Rust service can embed these with its own adapters: build a [`Deps`] from your
//! repositories, hasher, token service, secrets and clock, then [`Services::new`]. The HTTP crate is
//! one client of these services; it holds no business rules of its own.

pub mod audit;
mod auth;
mod bootstrap;
pub mod caller;
pub mod directory;
mod error;
pub mod fair;
mod health;
pub mod limits;
mod provisioning;
pub mod revocation;
pub mod search;
mod tenants;
mod users;
mod util;

use std::sync::Arc;

use pake_domain::{Password, PasswordHash, Permission, PlanCatalog, TenantId, User, UserId};
use pake_ports::{
    Cache, Clock, ConcurrencyLimiter, HashError, IdentityEvents, PasswordCheck, PasswordHasher,
    Probe, QuotaCounter, RateLimiter, Repositories, SecretGenerator, TokenIssuer, TokenVerifier,
};
use time::Duration;

pub use audit::AuditService;
pub use auth::{AuthService, LoginInput, LoginOutcome, RefreshOutcome, SessionView, TokenPair};
pub use bootstrap::{BootstrapOptions, BootstrapOutcome, BootstrapService};
pub use caller::{Caller, RequestMeta};
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

/// Lifetimes and lockout rules of authentication.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Absolute session (refresh-token family) lifetime with `remember_me`.
    pub session_ttl: Duration,
    /// Absolute session lifetime without `remember_me`.
    pub short_session_ttl: Duration,
    /// Consecutive failed logins that lock an account.
    pub lockout_threshold: u32,
    /// How long a lock lasts.
    pub lockout_duration: Duration,
    /// Clock skew accepted on tokens.
    pub leeway: Duration,
}

impl AuthPolicy {
    /// The lockout rule: a password check counts as in flight for at most a minute.
    pub fn lockout(&self) -> pake_domain::LockoutRule {
        pake_domain::LockoutRule {
            threshold: self.lockout_threshold,
            lock_for: self.lockout_duration,
            hold: Duration::minutes(1),
        }
    }
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            access_ttl: Duration::minutes(15),
            session_ttl: Duration::days(30),
            short_session_ttl: Duration::days(1),
            lockout_threshold: 5,
            lockout_duration: Duration::minutes(15),
            leeway: Duration::seconds(30),
        }
    }
}

/// Everything the services need from the outside.
#[derive(Clone)]
pub struct Deps {
    /// The store.
    pub repos: Repositories,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// The hashing permits, shared fairly between tenants (as many as the hasher runs at once).
    pub hash_gate: Arc<FairGate>,
    /// Signs access tokens.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Verifies access tokens.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The plans in force.
    pub plans: Arc<PlanCatalog>,
    /// Authentication rules.
    pub policy: AuthPolicy,
    /// Tenants by id and slug, with status and plan.
    pub directory: Arc<TenantDirectory>,
    /// Ended sessions.
    pub revocations: Arc<RevocationList>,
    /// Recently read users (profile reads on the hot path); every user write invalidates.
    pub users_cache: moka::sync::Cache<(TenantId, UserId), Arc<User>>,
    /// Tells the other replicas about ended sessions and changed tenants.
    pub events: Arc<dyn IdentityEvents>,
    /// The shared cache (in-process, or tiered over Redis).
    pub cache: Arc<dyn Cache>,
    /// Dependencies the server can do without (the cache's and the limiter's Redis): readiness
    /// shows each as ok or degraded, never as unready.
    pub optional_probes: Vec<(&'static str, Arc<dyn Probe>)>,
    /// Rate limits (shared through Redis when configured).
    pub limiter: Arc<dyn RateLimiter>,
    /// Daily quotas (shared through Redis when configured).
    pub quotas: Arc<dyn QuotaCounter>,
    /// Concurrency slots (shared through Redis when configured).
    pub slots: Arc<dyn ConcurrencyLimiter>,
    /// Rate-limit settings.
    pub limit_policy: LimitPolicy,
    /// The search sources, their pacing and breakers.
    pub search: Arc<search::SearchSetup>,
}

impl Deps {
    /// Hashes a password of `tenant` once that tenant's turn at the hashing permits comes.
    pub(crate) async fn hash_password(
        &self,
        tenant: TenantId,
        password: &Password,
    ) -> Result<PasswordHash, HashError> {
        let _permit = self.hash_gate.acquire(Some(tenant)).await;
        self.hasher.hash(password).await
    }

    /// Checks a password (against a dummy hash of the same cost when `hash` is `None`) once the
    /// tenant's turn at the hashing permits comes.
    pub(crate) async fn verify_password(
        &self,
        tenant: Option<TenantId>,
        candidate: &str,
        hash: Option<&PasswordHash>,
    ) -> Result<PasswordCheck, HashError> {
        let _permit = self.hash_gate.acquire(tenant).await;
        self.hasher.verify(candidate, hash).await
    }

    /// The one path deciding whether `caller` may do what `permission` allows: their role's
    /// permissions, and the plan feature the permission needs (the super admin needs none).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`], [`CoreError::FeatureNotInPlan`], [`CoreError::Unauthorized`]
    /// when the acting tenant is unknown.
    pub fn authorize(&self, caller: &Caller, permission: Permission) -> Result<(), CoreError> {
        caller.require(permission, &self.directory, &self.plans)
    }

    /// A user cache sized for `capacity` users, entries living 30 s (an upper bound on how stale a
    /// profile another replica changed can be; security-relevant changes revoke sessions instead).
    pub fn user_cache(capacity: u64) -> moka::sync::Cache<(TenantId, UserId), Arc<User>> {
        moka::sync::Cache::builder()
            .max_capacity(capacity)
            .time_to_live(std::time::Duration::from_secs(30))
            .build()
    }
}

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
}

impl Services {
    /// Builds every service from `deps`.
    pub fn new(deps: &Deps) -> Self {
        let audit = AuditService::new(deps.clone());
        let provisioning = ProvisioningService::new(deps.clone());
        let limits = LimitService::new(deps.clone());
        let search = SearchService::new(deps.clone(), limits.clone());
        Self {
            bootstrap: BootstrapService::new(deps.clone()),
            health: HealthService::new(deps.clone()),
            auth: AuthService::new(deps.clone(), audit.clone()),
            tenants: TenantService::new(
                deps.clone(),
                audit.clone(),
                provisioning.clone(),
                limits.clone(),
            ),
            users: UserService::new(deps.clone(), audit.clone()),
            audit,
            provisioning,
            saved_searches: SavedSearchService::new(deps.clone(), search.clone()),
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
