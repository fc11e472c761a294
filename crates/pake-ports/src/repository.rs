//! Repository ports: how the core reads and writes what must survive.
//!
//! Every method on tenant data takes the tenant first and never returns or changes another tenant's
//! rows: an object of another tenant is [`RepoError::NotFound`], exactly like a missing one. Methods
//! marked *platform-wide* are the explicit, audited paths for the super admin and background jobs.
//! Every method may also return [`RepoError::Unavailable`] when the store cannot be reached and
//! [`RepoError::Internal`] for anything unexpected; the docs below list only the other errors.

use std::sync::Arc;

use async_trait::async_trait;
use pake_domain::audit::{AuditEvent, AuditFilter};
use pake_domain::search::{
    HistoryFilter, PopularQuery, SavedSearch, SavedSearchFilter, SearchRecord, SearchStats,
};
use pake_domain::session::{RefreshOutcome, RefreshTokenHash, Session};
use pake_domain::usage::UsageMetric;
use pake_domain::{
    LockoutRule, LoginAdmission, LoginSettlement, Page, PageRequest, PlanId, SavedSearchId,
    SessionId, Tenant, TenantId, TenantSlug, TenantStatus, User, UserId,
};
use time::{Date, OffsetDateTime};

use crate::RepoError;

/// Which tenants to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantFilter {
    /// Only this status.
    pub status: Option<TenantStatus>,
    /// Only this plan.
    pub plan: Option<PlanId>,
}

/// Tenants.
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// Stores a new tenant.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] with `Conflict::TenantSlug` when the slug is taken, `Conflict::Id`
    /// when the id is.
    async fn create(&self, tenant: &Tenant) -> Result<(), RepoError>;

    /// Stores a new tenant together with its first admin, atomically: both or neither.
    ///
    /// # Errors
    /// As [`TenantRepository::create`], plus [`RepoError::Conflict`] (`Username`, `Email`) from the
    /// admin.
    async fn create_with_admin(&self, tenant: &Tenant, admin: &User) -> Result<(), RepoError>;

    /// The tenant with this id, if any.
    async fn find(&self, id: TenantId) -> Result<Option<Tenant>, RepoError>;

    /// The tenant with this slug, if any (*platform-wide*: used to resolve a login's tenant).
    async fn find_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RepoError>;

    /// Tenants matching `filter`, newest first, with the total (*platform-wide*).
    async fn list(
        &self,
        filter: TenantFilter,
        page: PageRequest,
    ) -> Result<Page<Tenant>, RepoError>;

    /// Replaces the stored tenant with `tenant` (matched by id).
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when no such tenant exists.
    async fn update(&self, tenant: &Tenant) -> Result<(), RepoError>;

    /// Deletes the tenant and every row it owns, in every table, in one transaction
    /// (*platform-wide*). Afterwards nothing of it is readable and its slug is free.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when no such tenant exists.
    async fn purge(&self, id: TenantId) -> Result<(), RepoError>;
}

/// Users of a tenant.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user. With `max_users`, the insert happens only while the tenant has fewer
    /// users than that, atomically with the count (so concurrent creations cannot overshoot).
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Username`, `Email` or `Id`); [`RepoError::LimitReached`] when the
    /// tenant already has `max_users` users.
    async fn create(&self, user: &User, max_users: Option<u32>) -> Result<(), RepoError>;

    /// The user with this id in the tenant, if any.
    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, RepoError>;

    /// The user whose username or e-mail is `login` (case-insensitive), if any.
    async fn find_by_login(&self, tenant: TenantId, login: &str)
    -> Result<Option<User>, RepoError>;

    /// The tenant's users, oldest first, with the total.
    async fn list(&self, tenant: TenantId, page: PageRequest) -> Result<Page<User>, RepoError>;

    /// How many users the tenant has.
    async fn count(&self, tenant: TenantId) -> Result<u64, RepoError>;

    /// How many of the tenant's users logged in at or after `since`.
    async fn count_active_since(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<u64, RepoError>;

    /// Replaces the stored user with `user` (matched by tenant and id).
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Conflict`] when the new username or e-mail is taken.
    async fn update(&self, user: &User) -> Result<(), RepoError>;

    /// Deletes the user. Its sessions stay (revoked by the caller beforehand) until they expire:
    /// they carry the revocation that keeps the user's access tokens dead after a restart.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError>;

    /// Admits one password check of the user at `now`, atomically with every other check of the
    /// same account on any replica ([`LoginCounters::admit`]): refused while the account is locked
    /// or enough checks are in flight to lock it.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn begin_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
    ) -> Result<LoginAdmission, RepoError>;

    /// Settles an admitted check ([`LoginCounters::settle`]); a success also sets
    /// `last_login_at = now`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn finish_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
        password_matched: bool,
    ) -> Result<LoginSettlement, RepoError>;
}

/// Login sessions and their refresh-token families.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session with its first refresh token.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the user does not exist in the tenant; [`RepoError::Conflict`]
    /// (`Id`) for a duplicate session id or token.
    async fn create(
        &self,
        session: &Session,
        first_token: RefreshTokenHash,
    ) -> Result<(), RepoError>;

    /// The session, if any (active or not).
    async fn find(&self, tenant: TenantId, id: SessionId) -> Result<Option<Session>, RepoError>;

    /// The user's active sessions at `now`, newest first.
    async fn list_active(
        &self,
        tenant: TenantId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, RepoError>;

    /// Presents a refresh token, atomically:
    /// - current token of an active session → it becomes used, `next` becomes current,
    ///   `last_used_at = now` → [`RefreshOutcome::Rotated`];
    /// - already used token of an active session → the session is revoked →
    ///   [`RefreshOutcome::ReuseDetected`];
    /// - unknown token, or a revoked or expired session → [`RefreshOutcome::Invalid`].
    async fn rotate(
        &self,
        tenant: TenantId,
        presented: RefreshTokenHash,
        next: RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, RepoError>;

    /// Ends a session. Returns whether it was active.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the session does not exist in the tenant.
    async fn revoke(
        &self,
        tenant: TenantId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, RepoError>;

    /// Ends every active session of a user except `keep`; returns the ended ids.
    async fn revoke_all_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError>;

    /// Ends every active session of every user of the tenant (suspension); returns the ended ids.
    async fn revoke_all_for_tenant(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError>;

    /// Sessions revoked at or after `since`, in every tenant (*platform-wide*: warms the revocation
    /// cache at start-up).
    async fn list_revoked_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(TenantId, SessionId)>, RepoError>;
}

/// The audit trail.
#[async_trait]
pub trait AuditRepository: Send + Sync {
    /// Appends an event.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`) for a duplicate id.
    async fn append(&self, event: &AuditEvent) -> Result<(), RepoError>;

    /// The tenant's events matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, RepoError>;
}

/// Search history and its aggregates.
#[async_trait]
pub trait SearchHistoryRepository: Send + Sync {
    /// Records an executed search.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`) for a duplicate id.
    async fn append(&self, record: &SearchRecord) -> Result<(), RepoError>;

    /// The tenant's searches matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<SearchRecord>, RepoError>;

    /// Aggregates over the tenant's searches matching `filter`.
    async fn stats(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
    ) -> Result<SearchStats, RepoError>;

    /// The most searched queries (grouped case-insensitively) matching `filter`, most first.
    async fn popular(
        &self,
        tenant: TenantId,
        filter: &HistoryFilter,
        limit: u32,
    ) -> Result<Vec<PopularQuery>, RepoError>;
}

/// Saved searches.
#[async_trait]
pub trait SavedSearchRepository: Send + Sync {
    /// Stores a new saved search.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] (`Id`); [`RepoError::NotFound`] when the owner does not exist in
    /// the tenant.
    async fn create(&self, search: &SavedSearch) -> Result<(), RepoError>;

    /// The saved search, if any.
    async fn find(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
    ) -> Result<Option<SavedSearch>, RepoError>;

    /// Saved searches matching `filter`, newest first, with the total.
    async fn list(
        &self,
        tenant: TenantId,
        filter: SavedSearchFilter,
        page: PageRequest,
    ) -> Result<Page<SavedSearch>, RepoError>;

    /// Replaces the stored saved search (matched by tenant and id).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn update(&self, search: &SavedSearch) -> Result<(), RepoError>;

    /// Deletes it.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete(&self, tenant: TenantId, id: SavedSearchId) -> Result<(), RepoError>;

    /// Counts a run at `at`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn record_run(
        &self,
        tenant: TenantId,
        id: SavedSearchId,
        at: OffsetDateTime,
    ) -> Result<(), RepoError>;
}

/// Usage counters (per tenant, UTC day and metric).
#[async_trait]
pub trait UsageRepository: Send + Sync {
    /// Adds `by` to the counter and returns its new value, atomically.
    async fn increment(
        &self,
        tenant: TenantId,
        day: Date,
        metric: UsageMetric,
        by: u64,
    ) -> Result<u64, RepoError>;

    /// The counter's value (0 when never incremented).
    async fn get(&self, tenant: TenantId, day: Date, metric: UsageMetric)
    -> Result<u64, RepoError>;

    /// Non-zero counters for days in `from..=to`, oldest first.
    async fn series(
        &self,
        tenant: TenantId,
        from: Date,
        to: Date,
        metric: UsageMetric,
    ) -> Result<Vec<(Date, u64)>, RepoError>;
}

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
    /// Usage counters.
    pub usage: Arc<dyn UsageRepository>,
    /// Store health.
    pub health: Arc<dyn StoreHealth>,
}
