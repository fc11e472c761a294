//! Sessions: opening one with its first refresh token, rotating refresh tokens, logging out,
//! listing and ending sessions.

use pake_domain::audit::AuditKind;
use pake_domain::session::{RefreshOutcome as Rotation, RefreshToken, Session};
use pake_domain::{SessionId, TenantId, UserId, UserStatus};
use time::OffsetDateTime;

use crate::CoreError;
use crate::audit::Entry;
use crate::caller::{Caller, RequestMeta};

use super::{AuthService, RefreshOutcome, SessionView, absent};

impl AuthService {
    /// Opens a session with its first refresh token.
    pub(super) async fn open_session(
        &self,
        tenant: TenantId,
        user: UserId,
        remember_me: bool,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> Result<(Session, RefreshToken), CoreError> {
        let ttl = if remember_me {
            self.credentials.policy.session_ttl
        } else {
            self.credentials.policy.short_session_ttl
        };
        let session = Session {
            tenant_id: tenant,
            id: SessionId::new(),
            user_id: user,
            created_at: now,
            last_used_at: now,
            expires_at: now + ttl,
            revoked_at: None,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
        };
        let refresh = RefreshToken::new(tenant, self.env.secrets.token_bytes());
        self.sessions
            .create(&session, self.digest(&refresh))
            .await?;
        Ok((session, refresh))
    }

    /// Rotates a refresh token. Presenting one that was already used revokes its whole session.
    ///
    /// # Errors
    /// [`CoreError::Unauthorized`] for unknown, used, expired or revoked tokens.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        presented: &str,
        meta: &RequestMeta,
    ) -> Result<RefreshOutcome, CoreError> {
        let now = self.env.clock.now();
        let token = RefreshToken::parse(presented).ok_or(CoreError::Unauthorized)?;
        let tenant = token.tenant_id();
        if !self.identity.directory.is_usable(tenant) {
            return Err(CoreError::Unauthorized);
        }
        let next = RefreshToken::new(tenant, self.env.secrets.token_bytes());
        let rotation = self
            .sessions
            .rotate(tenant, self.digest(&token), self.digest(&next), now)
            .await?;
        let session = match rotation {
            Rotation::Rotated(session) => session,
            Rotation::ReuseDetected(session) => {
                self.revoked(vec![session.id], now).await;
                let entry = Entry::new(tenant, AuditKind::RefreshReuseDetected, meta)
                    .on(session.user_id)
                    .with(serde_json::json!({"session_id": session.id.to_string()}));
                self.audit.record(entry).await;
                return Err(CoreError::Unauthorized);
            }
            Rotation::Invalid => return Err(CoreError::Unauthorized),
        };
        let user = self.users.find(tenant, session.user_id).await?;
        let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
            self.sessions.revoke(tenant, session.id, now).await?;
            self.revoked(vec![session.id], now).await;
            return Err(CoreError::Unauthorized);
        };
        let tokens = self.tokens(&user, session.id, &next, now)?;
        Ok(RefreshOutcome { tokens, user })
    }

    /// Ends the caller's session.
    ///
    /// # Errors
    /// Store errors.
    pub async fn logout(&self, caller: &Caller, meta: &RequestMeta) -> Result<(), CoreError> {
        let now = self.env.clock.now();
        let sessions = &self.sessions;
        absent(
            sessions
                .revoke(caller.home_tenant, caller.session_id, now)
                .await,
        )?;
        self.revoked(vec![caller.session_id], now).await;
        let entry = Entry::new(caller.home_tenant, AuditKind::Logout, meta)
            .by(caller)
            .on(caller.session_id);
        self.audit.record(entry).await;
        Ok(())
    }

    /// Ends every session of the caller, this one included.
    ///
    /// # Errors
    /// Store errors.
    pub async fn logout_all(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
    ) -> Result<usize, CoreError> {
        let ended = self
            .end_sessions(caller.home_tenant, caller.user_id, None)
            .await?;
        let entry = Entry::new(caller.home_tenant, AuditKind::SessionRevoked, meta)
            .by(caller)
            .on(caller.user_id)
            .with(serde_json::json!({"all": true, "count": ended}));
        self.audit.record(entry).await;
        Ok(ended)
    }

    /// The caller's active sessions.
    ///
    /// # Errors
    /// Store errors.
    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<SessionView>, CoreError> {
        let now = self.env.clock.now();
        let list = self
            .sessions
            .list_active(caller.home_tenant, caller.user_id, now)
            .await?;
        Ok(list
            .into_iter()
            .map(|session| SessionView {
                current: session.id == caller.session_id,
                session,
            })
            .collect())
    }

    /// Ends one of the caller's sessions.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] when it is not one of the caller's.
    pub async fn revoke_session(
        &self,
        caller: &Caller,
        id: SessionId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let now = self.env.clock.now();
        let session = self.sessions.find(caller.home_tenant, id).await?;
        if session.is_none_or(|s| s.user_id != caller.user_id) {
            return Err(CoreError::NotFound);
        }
        self.sessions.revoke(caller.home_tenant, id, now).await?;
        self.revoked(vec![id], now).await;
        let entry = Entry::new(caller.home_tenant, AuditKind::SessionRevoked, meta)
            .by(caller)
            .on(id);
        self.audit.record(entry).await;
        Ok(())
    }

    /// Ends a user's sessions (all, or all but `keep`); returns how many ended.
    pub(crate) async fn end_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<usize, CoreError> {
        let now = self.env.clock.now();
        let ended = self
            .sessions
            .revoke_all_for_user(tenant, user, keep, now)
            .await?;
        let count = ended.len();
        if count > 0 {
            self.revoked(ended, now).await;
        }
        Ok(count)
    }

    /// Records ended sessions here and tells the other replicas.
    pub(super) async fn revoked(&self, sessions: Vec<SessionId>, now: OffsetDateTime) {
        self.identity.revoked(sessions, now).await;
    }
}
