use async_trait::async_trait;
use pake_domain::session::{RefreshOutcome, RefreshTokenHash, Session};
use pake_domain::{SessionId, TenantId, UserId};
use pake_ports::{Conflict, RepoError, SessionRepository};
use time::OffsetDateTime;

use super::{MemoryStore, StoredToken};

/// Whether `s` can be used at `now` (not revoked, not expired).
fn active(s: &Session, now: OffsetDateTime) -> bool {
    s.revoked_at.is_none() && s.expires_at > now
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn create(
        &self,
        session: &Session,
        first_token: RefreshTokenHash,
    ) -> Result<(), RepoError> {
        let mut s = self.state();
        let (tenant, id) = (session.tenant_id, session.id);
        if !s.users.contains_key(&(tenant, session.user_id)) {
            return Err(RepoError::NotFound);
        }
        if s.sessions.contains_key(&(tenant, id))
            || s.refresh_tokens.contains_key(&(tenant, first_token.0))
        {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        s.sessions.insert((tenant, id), session.clone());
        s.refresh_tokens.insert(
            (tenant, first_token.0),
            StoredToken {
                session: id,
                used_at: None,
            },
        );
        Ok(())
    }

    async fn find(&self, tenant: TenantId, id: SessionId) -> Result<Option<Session>, RepoError> {
        Ok(self.state().sessions.get(&(tenant, id)).cloned())
    }

    async fn list_active(
        &self,
        tenant: TenantId,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, RepoError> {
        let s = self.state();
        let mut found: Vec<Session> = s
            .sessions
            .values()
            .filter(|x| x.tenant_id == tenant && x.user_id == user && active(x, now))
            .cloned()
            .collect();
        found.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
        Ok(found)
    }

    async fn rotate(
        &self,
        tenant: TenantId,
        presented: RefreshTokenHash,
        next: RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, RepoError> {
        let mut s = self.state();
        let Some(token) = s.refresh_tokens.get(&(tenant, presented.0)).copied() else {
            return Ok(RefreshOutcome::Invalid);
        };
        let Some(session) = s.sessions.get_mut(&(tenant, token.session)) else {
            return Ok(RefreshOutcome::Invalid);
        };
        if !active(session, now) {
            return Ok(RefreshOutcome::Invalid);
        }
        if token.used_at.is_some() {
            session.revoked_at = Some(now);
            return Ok(RefreshOutcome::ReuseDetected(session.clone()));
        }
        session.last_used_at = now;
        let rotated = session.clone();
        s.refresh_tokens.insert(
            (tenant, presented.0),
            StoredToken {
                used_at: Some(now),
                ..token
            },
        );
        s.refresh_tokens.insert(
            (tenant, next.0),
            StoredToken {
                session: token.session,
                used_at: None,
            },
        );
        Ok(RefreshOutcome::Rotated(rotated))
    }

    async fn revoke(
        &self,
        tenant: TenantId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, RepoError> {
        let mut s = self.state();
        let session = s
            .sessions
            .get_mut(&(tenant, id))
            .ok_or(RepoError::NotFound)?;
        if session.revoked_at.is_some() {
            return Ok(false);
        }
        session.revoked_at = Some(now);
        Ok(session.expires_at > now)
    }

    async fn revoke_all_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError> {
        let mut s = self.state();
        let mut ended = Vec::new();
        for x in s.sessions.values_mut() {
            if x.tenant_id == tenant && x.user_id == user && active(x, now) && Some(x.id) != keep {
                x.revoked_at = Some(now);
                ended.push(x.id);
            }
        }
        Ok(ended)
    }

    async fn revoke_all_for_tenant(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, RepoError> {
        let mut s = self.state();
        let mut ended = Vec::new();
        for x in s.sessions.values_mut() {
            if x.tenant_id == tenant && active(x, now) {
                x.revoked_at = Some(now);
                ended.push(x.id);
            }
        }
        Ok(ended)
    }

    async fn list_revoked_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(TenantId, SessionId)>, RepoError> {
        Ok(self
            .state()
            .sessions
            .values()
            .filter(|x| x.revoked_at.is_some_and(|at| at >= since))
            .map(|x| (x.tenant_id, x.id))
            .collect())
    }
}
