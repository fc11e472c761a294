//! What the services need from the outside, in groups: each service takes only its repositories
//! and the groups it uses ([`Services::new`](crate::Services::new) hands them out), so no service
//! can reach a port it has no business with.

use std::sync::Arc;

use pake_domain::{
    Password, PasswordHash, Permission, PlanCatalog, SessionId, TenantId, User, UserId,
};
use pake_ports::{
    Cache, Clock, ConcurrencyLimiter, HashError, IdentityEvent, IdentityEvents, PasswordCheck,
    PasswordHasher, Probe, QuotaCounter, RateLimiter, Repositories, SecretGenerator,
    SessionRepository, TokenIssuer, TokenVerifier,
};
use time::{Duration, OffsetDateTime};

use crate::{Caller, CoreError, FairGate, LimitPolicy, RevocationList, TenantDirectory};

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

/// Time and randomness.
#[derive(Clone)]
pub struct Environment {
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub secrets: Arc<dyn SecretGenerator>,
}

/// Who is in: the tenants (status, plan), ended sessions, recently read users, and the events
/// that tell the other replicas about changes.
#[derive(Clone)]
pub struct Identity {
    /// Tenants by id and slug, with status and plan.
    pub directory: Arc<TenantDirectory>,
    /// Ended sessions.
    pub revocations: Arc<RevocationList>,
    /// Recently read users (profile reads on the hot path); every user write invalidates.
    pub users_cache: moka::sync::Cache<(TenantId, UserId), Arc<User>>,
    /// Tells the other replicas about ended sessions and changed tenants.
    pub events: Arc<dyn IdentityEvents>,
}

impl Identity {
    /// A user cache sized for `capacity` users, entries living 30 s (an upper bound on how stale a
    /// profile another replica changed can be; security-relevant changes revoke sessions instead).
    pub fn user_cache(capacity: u64) -> moka::sync::Cache<(TenantId, UserId), Arc<User>> {
        moka::sync::Cache::builder()
            .max_capacity(capacity)
            .time_to_live(std::time::Duration::from_secs(30))
            .build()
    }

    /// Broadcasts `event` to the other replicas, best effort: if the bus is down they catch up at
    /// their next sync with the store.
    pub(crate) async fn publish(&self, event: IdentityEvent) {
        if let Err(e) = self.events.publish(&event).await {
            tracing::warn!(error = %e, "identity event not broadcast; other replicas catch up at their next sync");
        }
    }

    /// Records ended sessions in this replica's revocation list and tells the other replicas.
    pub(crate) async fn revoked(&self, sessions: Vec<SessionId>, now: OffsetDateTime) {
        self.revocations.revoke(sessions.iter().copied(), now);
        self.publish(IdentityEvent::SessionsRevoked(sessions)).await;
    }

    /// Ends every session of a tenant (suspension), here and on the other replicas.
    pub(crate) async fn end_tenant_sessions(
        &self,
        sessions: &dyn SessionRepository,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<usize, CoreError> {
        let ended = sessions.revoke_all_for_tenant(tenant, now).await?;
        let count = ended.len();
        if count > 0 {
            self.revoked(ended, now).await;
        }
        Ok(count)
    }
}

/// The permission check: the acting tenant's plan (from the directory) and the plans in force.
#[derive(Clone)]
pub struct Access {
    /// Tenants by id and slug, with status and plan.
    pub directory: Arc<TenantDirectory>,
    /// The plans in force.
    pub plans: Arc<PlanCatalog>,
}

impl Access {
    /// The one path deciding whether `caller` may do what `permission` allows: their role's
    /// permissions, and the plan feature the permission needs (the super admin needs none).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`], [`CoreError::FeatureNotInPlan`], [`CoreError::Unauthorized`]
    /// when the acting tenant is unknown.
    pub fn authorize(&self, caller: &Caller, permission: Permission) -> Result<(), CoreError> {
        caller.require(permission, &self.directory, &self.plans)
    }
}

/// Proof of who one is: password hashing behind fair permits, tokens, and their rules.
#[derive(Clone)]
pub struct Credentials {
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// The hashing permits, shared fairly between tenants (as many as the hasher runs at once).
    pub hash_gate: Arc<FairGate>,
    /// Signs access tokens.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Verifies access tokens.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Authentication rules.
    pub policy: AuthPolicy,
}

impl Credentials {
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
}

/// What counts tenants' use: rates, daily quotas, concurrency slots (shared through Redis when
/// configured), and their settings.
#[derive(Clone)]
pub struct Counters {
    /// Rate limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// Daily quotas.
    pub quotas: Arc<dyn QuotaCounter>,
    /// Concurrency slots.
    pub slots: Arc<dyn ConcurrencyLimiter>,
    /// Rate-limit settings.
    pub policy: LimitPolicy,
}

/// Everything the services need, as the composition root builds it;
/// [`Services::new`](crate::Services::new) gives each service its part.
#[derive(Clone)]
pub struct Deps {
    /// The store.
    pub repos: Repositories,
    /// Time and randomness.
    pub env: Environment,
    /// The plans in force.
    pub plans: Arc<PlanCatalog>,
    /// Tenants, revocations, users cache, events.
    pub identity: Identity,
    /// Hashing and tokens.
    pub credentials: Credentials,
    /// Rates, quotas, slots.
    pub counters: Counters,
    /// The shared cache (in-process, or tiered over Redis).
    pub cache: Arc<dyn Cache>,
    /// Dependencies the server can do without (the cache's and the limiter's Redis): readiness
    /// shows each as ok or degraded, never as unready.
    pub optional_probes: Vec<(&'static str, Arc<dyn Probe>)>,
    /// The search sources, their pacing and breakers.
    pub search: Arc<crate::search::SearchSetup>,
}

impl Deps {
    /// The permission check over this directory and these plans.
    pub(crate) fn access(&self) -> Access {
        Access {
            directory: Arc::clone(&self.identity.directory),
            plans: Arc::clone(&self.plans),
        }
    }
}
