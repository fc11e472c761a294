//! Users of a tenant, their credentials and the lockout counters.

use async_trait::async_trait;
use pake_domain::{
    LockoutRule, LoginAdmission, LoginSettlement, Page, PageRequest, TenantId, User, UserId,
};
use time::OffsetDateTime;

use crate::RepoError;

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

    /// Replaces the stored user with `user` (matched by tenant and id), except the lockout
    /// counters (failures, lock, checks in flight): only the lockout methods below change them,
    /// so a user read before a password check cannot write stale counters back.
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
    /// same account on any replica ([`LoginCounters::admit`](pake_domain::LoginCounters::admit)): refused while the account is locked
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

    /// Settles an admitted check ([`LoginCounters::settle`](pake_domain::LoginCounters::settle)); a success also sets
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

    /// Clears the lockout counters: no failures, no lock, no checks in flight (an unlock, a
    /// password reset).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn clear_lockout(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError>;
}
