//! Sessions and their refresh tokens.

use async_trait::async_trait;
use pake_domain::session::{RefreshOutcome, RefreshTokenHash, Session};
use pake_domain::{SessionId, TenantId, UserId};
use time::OffsetDateTime;

use crate::RepoError;

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
