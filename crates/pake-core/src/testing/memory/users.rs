use async_trait::async_trait;
use pake_domain::{
    LockoutRule, LoginAdmission, LoginCounters, LoginSettlement, Page, PageRequest, TenantId, User,
    UserId,
};
use pake_ports::{Conflict, RepoError, UserRepository};
use time::OffsetDateTime;

use super::{MemoryStore, State, StoredUser, found, page_of};

impl State {
    /// Whether another user of `user`'s tenant has its username or e-mail address.
    fn clash(&self, user: &User) -> Result<(), RepoError> {
        let others = self
            .users
            .values()
            .map(|s| &s.user)
            .filter(|u| u.tenant_id == user.tenant_id && u.id != user.id);
        for other in others {
            if other.username == user.username {
                return Err(RepoError::Conflict(Conflict::Username));
            }
            if other.email == user.email {
                return Err(RepoError::Conflict(Conflict::Email));
            }
        }
        Ok(())
    }

    pub(super) fn insert_user(&mut self, user: &User, max: Option<u32>) -> Result<(), RepoError> {
        if !self.tenants.contains_key(&user.tenant_id) {
            return Err(RepoError::NotFound);
        }
        if let Some(max) = max {
            let n = self
                .users
                .keys()
                .filter(|(t, _)| *t == user.tenant_id)
                .count();
            if n >= usize::try_from(max).unwrap_or(usize::MAX) {
                return Err(RepoError::LimitReached);
            }
        }
        if self.users.contains_key(&(user.tenant_id, user.id)) {
            return Err(RepoError::Conflict(Conflict::Id));
        }
        self.clash(user)?;
        self.users.insert(
            (user.tenant_id, user.id),
            StoredUser {
                user: user.clone(),
                pending: 0,
                pending_until: None,
            },
        );
        Ok(())
    }

    fn counters(&mut self, tenant: TenantId, id: UserId) -> Result<&mut StoredUser, RepoError> {
        self.users.get_mut(&(tenant, id)).ok_or(RepoError::NotFound)
    }
}

impl StoredUser {
    fn lockout(&self) -> LoginCounters {
        LoginCounters {
            failed: self.user.failed_login_attempts,
            locked_until: self.user.locked_until,
            pending: self.pending,
            pending_until: self.pending_until,
        }
    }

    fn set_lockout(&mut self, c: LoginCounters) {
        self.user.failed_login_attempts = c.failed;
        self.user.locked_until = c.locked_until;
        self.pending = c.pending;
        self.pending_until = c.pending_until;
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn create(&self, user: &User, max_users: Option<u32>) -> Result<(), RepoError> {
        self.state().insert_user(user, max_users)
    }

    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self
            .state()
            .users
            .get(&(tenant, id))
            .map(|s| s.user.clone()))
    }

    async fn find_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<User>, RepoError> {
        let login = login.trim().to_lowercase();
        Ok(self
            .state()
            .users
            .values()
            .map(|s| &s.user)
            .find(|u| {
                u.tenant_id == tenant && (u.username.as_str() == login || u.email.as_str() == login)
            })
            .cloned())
    }

    async fn list(&self, tenant: TenantId, page: PageRequest) -> Result<Page<User>, RepoError> {
        let s = self.state();
        let mut items: Vec<&User> = s
            .users
            .values()
            .map(|s| &s.user)
            .filter(|u| u.tenant_id == tenant)
            .collect();
        items.sort_by_key(|u| (u.created_at, u.id));
        Ok(page_of(&items, page))
    }

    async fn count(&self, tenant: TenantId) -> Result<u64, RepoError> {
        let n = self
            .state()
            .users
            .keys()
            .filter(|(t, _)| *t == tenant)
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    async fn count_active_since(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<u64, RepoError> {
        let n = self
            .state()
            .users
            .values()
            .filter(|s| {
                s.user.tenant_id == tenant && s.user.last_login_at.is_some_and(|at| at >= since)
            })
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// Writes every field but the lockout counters (which only the login attempts change).
    async fn update(&self, user: &User) -> Result<(), RepoError> {
        let mut s = self.state();
        found(s.users.contains_key(&(user.tenant_id, user.id)))?;
        s.clash(user)?;
        let stored = s.counters(user.tenant_id, user.id)?;
        let lockout = stored.lockout();
        stored.user = user.clone();
        stored.set_lockout(lockout);
        Ok(())
    }

    /// Deletes the user with its history and saved searches; its sessions stay (they carry its
    /// revocation).
    async fn delete(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError> {
        let mut s = self.state();
        found(s.users.remove(&(tenant, id)).is_some())?;
        s.history
            .retain(|r| !(r.tenant_id == tenant && r.user_id == id));
        s.saved
            .retain(|(t, _), v| !(*t == tenant && v.owner_id == id));
        Ok(())
    }

    async fn begin_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
    ) -> Result<LoginAdmission, RepoError> {
        let mut s = self.state();
        let stored = s.counters(tenant, id)?;
        let (next, admission) = stored.lockout().admit(now, rule);
        stored.set_lockout(next);
        Ok(admission)
    }

    async fn finish_login_attempt(
        &self,
        tenant: TenantId,
        id: UserId,
        now: OffsetDateTime,
        rule: LockoutRule,
        password_matched: bool,
    ) -> Result<LoginSettlement, RepoError> {
        let mut s = self.state();
        let stored = s.counters(tenant, id)?;
        let (next, settled) = stored.lockout().settle(now, rule, password_matched);
        stored.set_lockout(next);
        if settled == LoginSettlement::Succeeded {
            stored.user.last_login_at = Some(now);
        }
        Ok(settled)
    }

    async fn clear_lockout(&self, tenant: TenantId, id: UserId) -> Result<(), RepoError> {
        let mut s = self.state();
        s.counters(tenant, id)?
            .set_lockout(LoginCounters::default());
        Ok(())
    }
}
