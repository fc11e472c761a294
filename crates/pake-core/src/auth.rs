//! Authentication: login, access and refresh tokens, sessions, password changes, and turning a
//! bearer token into a [`Caller`] on the hot path without a database round trip.

use std::sync::Arc;

use pake_domain::audit::AuditKind;
use pake_domain::session::{RefreshOutcome as Rotation, RefreshToken, RefreshTokenHash, Session};
use pake_domain::{
    LoginAdmission, LoginSettlement, Password, Role, SessionId, TenantId, User, UserId, UserStatus,
};
use pake_ports::{AccessClaims, IdentityEvent, PasswordCheck, RepoError};
use time::OffsetDateTime;

use crate::audit::{AuditService, Entry};
use crate::caller::{Caller, RequestMeta};
use crate::directory::TenantEntry;
use crate::{CoreError, Deps};

/// What a login presents.
#[derive(Debug, Clone)]
pub struct LoginInput {
    /// The tenant (id or slug), from the body or `X-Tenant-ID`.
    pub tenant: Option<String>,
    /// Username or e-mail address.
    pub login: String,
    /// The password.
    pub password: String,
    /// A 30-day session instead of a one-day one.
    pub remember_me: bool,
}

/// A fresh access token and refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The access token (JWT).
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The opaque refresh token.
    pub refresh_token: String,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The tokens.
    pub tokens: TokenPair,
    /// The user (what they may do is `user.role.permissions()`).
    pub user: User,
}

/// A successful refresh.
#[derive(Debug, Clone)]
pub struct RefreshOutcome {
    /// The new tokens; the presented refresh token is now used.
    pub tokens: TokenPair,
    /// The user.
    pub user: User,
}

/// A session as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The session.
    pub session: Session,
    /// Whether the calling token belongs to it.
    pub current: bool,
}

/// Authentication use cases.
#[derive(Clone)]
pub struct AuthService {
    deps: Deps,
    audit: AuditService,
}

impl AuthService {
    pub(crate) fn new(deps: Deps, audit: AuditService) -> Self {
        Self { deps, audit }
    }

    /// The public keys that verify access tokens, as a JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        self.deps.issuer.jwks()
    }

    pub(crate) async fn sync(&self) -> Result<(), CoreError> {
        self.deps
            .directory
            .reload(self.deps.repos.tenants.as_ref())
            .await?;
        self.deps
            .revocations
            .sync(self.deps.repos.sessions.as_ref(), self.deps.clock.now())
            .await?;
        Ok(())
    }

    /// Turns a bearer token (and an optional `X-Tenant-ID`) into a caller: signature and claims
    /// (cached per token), session not revoked, tenant usable — all in memory.
    ///
    /// # Errors
    /// [`CoreError::Unauthorized`] for any bad, expired or revoked token or an unusable tenant;
    /// [`CoreError::Forbidden`] when a tenant user names another tenant; [`CoreError::NotFound`]
    /// when a super admin names a tenant that does not exist.
    pub async fn authenticate(
        &self,
        token: &str,
        x_tenant: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Caller, CoreError> {
        let claims = self.deps.verifier.verify(token)?;
        if self.deps.revocations.is_revoked(claims.session_id)
            || !self.deps.directory.is_usable(claims.tenant_id)
        {
            return Err(CoreError::Unauthorized);
        }
        let mut caller = Caller {
            user_id: claims.user_id,
            home_tenant: claims.tenant_id,
            tenant_id: claims.tenant_id,
            role: claims.role,
            session_id: claims.session_id,
            password_change_required: claims.password_change_required,
        };
        if let Some(named) = x_tenant.map(str::trim).filter(|t| !t.is_empty()) {
            let target = self.deps.directory.resolve(named);
            if caller.role == Role::SuperAdmin {
                let target = target.ok_or(CoreError::NotFound)?;
                caller.tenant_id = target.id;
                if caller.is_impersonating() {
                    let entry =
                        Entry::new(target.id, AuditKind::TenantImpersonated, meta).by(&caller);
                    self.audit.record(entry).await;
                }
            } else if target.map(|t| t.id) != Some(caller.home_tenant) {
                let entry = Entry::new(caller.home_tenant, AuditKind::CrossTenantDenied, meta)
                    .by(&caller)
                    .with(serde_json::json!({ "named_tenant": named }));
                self.audit.record(entry).await;
                return Err(CoreError::Forbidden(
                    "a token of one tenant cannot act on another",
                ));
            }
        }
        Ok(caller)
    }

    /// Logs a user in. Every failure is the same [`CoreError::InvalidCredentials`] and costs the
    /// same password check, so neither the answer nor its timing tells what was wrong.
    ///
    /// # Errors
    /// [`CoreError::InvalidCredentials`]; store errors.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        input: LoginInput,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, CoreError> {
        let now = self.deps.clock.now();
        let tenant = input
            .tenant
            .as_deref()
            .and_then(|t| self.deps.directory.resolve(t));
        let user = match &tenant {
            Some(t) => {
                self.deps
                    .repos
                    .users
                    .find_by_login(t.id, &input.login)
                    .await?
            }
            None => None,
        };
        let Some((tenant, user)) = tenant.clone().zip(user) else {
            return Err(self.unknown_login(tenant.as_ref(), &input, meta, now).await);
        };
        let fail = |reason: &'static str| {
            Entry::new(tenant.id, AuditKind::LoginFailed, meta)
                .on(user.id)
                .with(serde_json::json!({ "reason": reason }))
        };
        let refused = if !tenant.status.is_usable() {
            Some("tenant_not_active")
        } else if user.status == UserStatus::Disabled {
            Some("user_disabled")
        } else {
            None
        };
        let rule = self.deps.policy.lockout();
        let admitted = refused.is_none()
            && self
                .deps
                .repos
                .users
                .begin_login_attempt(tenant.id, user.id, now, rule)
                .await?
                == LoginAdmission::Admitted;
        if !admitted {
            // Locked (or enough guesses in flight to lock it): the password is not evaluated,
            // but the answer costs the same.
            self.deps
                .verify_password(Some(tenant.id), &input.password, None)
                .await?;
            self.audit
                .record(fail(refused.unwrap_or("account_locked")))
                .await;
            return Err(CoreError::InvalidCredentials);
        }
        let check = self
            .deps
            .verify_password(Some(tenant.id), &input.password, Some(&user.password_hash))
            .await;
        let matched = matches!(check, Ok(PasswordCheck::Match { .. }));
        let settled = self.settle_attempt(tenant.id, &user, matched, meta).await?;
        let PasswordCheck::Match { needs_rehash } = check? else {
            return Err(CoreError::InvalidCredentials);
        };
        if settled != LoginSettlement::Succeeded {
            self.audit.record(fail("account_locked")).await;
            return Err(CoreError::InvalidCredentials);
        }
        let mut user = user;
        user.failed_login_attempts = 0;
        user.locked_until = None;
        user.last_login_at = Some(now);
        if needs_rehash && let Ok(password) = Password::parse(&input.password, None) {
            user.password_hash = self.deps.hash_password(tenant.id, &password).await?;
            user.updated_at = now;
            self.deps.repos.users.update(&user).await?;
        }
        self.invalidate_user(tenant.id, user.id);

        let (session, refresh) = self
            .open_session(tenant.id, user.id, input.remember_me, meta, now)
            .await?;
        let tokens = self.tokens(&user, session.id, &refresh, now)?;
        let entry = Entry::new(tenant.id, AuditKind::LoginSucceeded, meta)
            .on(user.id)
            .with(serde_json::json!({"session_id": session.id.to_string()}));
        self.audit.record(entry).await;
        Ok(LoginOutcome { tokens, user })
    }

    /// A login to an unknown tenant or user: the same work as a wrong password, so the timing
    /// does not tell them apart — the lockout bookkeeping (on an account that does not exist,
    /// so it changes nothing) around a password check against a dummy hash. Always an error.
    async fn unknown_login(
        &self,
        tenant: Option<&TenantEntry>,
        input: &LoginInput,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> CoreError {
        let work = async {
            let ghost = tenant.map(|t| (t.id, UserId::new()));
            let (users, rule) = (&self.deps.repos.users, self.deps.policy.lockout());
            if let Some((t, u)) = ghost {
                absent(users.begin_login_attempt(t, u, now, rule).await)?;
            }
            self.deps
                .verify_password(tenant.map(|t| t.id), &input.password, None)
                .await?;
            if let Some((t, u)) = ghost {
                absent(users.finish_login_attempt(t, u, now, rule, false).await)?;
            }
            if let Some(t) = tenant {
                let entry = Entry::new(t.id, AuditKind::LoginFailed, meta)
                    .on(&input.login)
                    .with(serde_json::json!({"reason": "unknown_user"}));
                self.audit.record(entry).await;
            }
            Ok::<_, CoreError>(())
        };
        work.await.err().unwrap_or(CoreError::InvalidCredentials)
    }

    /// Settles an admitted password check (a failure counts towards the lockout, locking at the
    /// threshold) and audits a wrong password and a lock it set.
    async fn settle_attempt(
        &self,
        tenant: TenantId,
        user: &User,
        matched: bool,
        meta: &RequestMeta,
    ) -> Result<LoginSettlement, CoreError> {
        let settled = self
            .deps
            .repos
            .users
            .finish_login_attempt(
                tenant,
                user.id,
                self.deps.clock.now(),
                self.deps.policy.lockout(),
                matched,
            )
            .await?;
        self.invalidate_user(tenant, user.id);
        if let LoginSettlement::Failed {
            attempts,
            locked_until,
            locked_now,
        } = settled
        {
            let entry = Entry::new(tenant, AuditKind::LoginFailed, meta)
                .on(user.id)
                .with(serde_json::json!({"reason": "wrong_password", "attempts": attempts}));
            self.audit.record(entry).await;
            if locked_now {
                let locked = Entry::new(tenant, AuditKind::AccountLocked, meta)
                    .on(user.id)
                    .with(serde_json::json!({"locked_until": locked_until.map(|t| t.to_string())}));
                self.audit.record(locked).await;
            }
        }
        Ok(settled)
    }

    /// Opens a session with its first refresh token.
    async fn open_session(
        &self,
        tenant: TenantId,
        user: UserId,
        remember_me: bool,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> Result<(Session, RefreshToken), CoreError> {
        let ttl = if remember_me {
            self.deps.policy.session_ttl
        } else {
            self.deps.policy.short_session_ttl
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
        let refresh = RefreshToken::new(tenant, self.deps.secrets.token_bytes());
        self.deps
            .repos
            .sessions
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
        let now = self.deps.clock.now();
        let token = RefreshToken::parse(presented).ok_or(CoreError::Unauthorized)?;
        let tenant = token.tenant_id();
        if !self.deps.directory.is_usable(tenant) {
            return Err(CoreError::Unauthorized);
        }
        let next = RefreshToken::new(tenant, self.deps.secrets.token_bytes());
        let rotation = self
            .deps
            .repos
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
        let user = self.deps.repos.users.find(tenant, session.user_id).await?;
        let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
            self.deps
                .repos
                .sessions
                .revoke(tenant, session.id, now)
                .await?;
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
        let now = self.deps.clock.now();
        let sessions = &self.deps.repos.sessions;
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

    /// The caller's user record.
    ///
    /// # Errors
    /// [`CoreError::Unauthorized`] when the user no longer exists.
    pub async fn me(&self, caller: &Caller) -> Result<Arc<User>, CoreError> {
        self.user(caller.home_tenant, caller.user_id)
            .await?
            .ok_or(CoreError::Unauthorized)
    }

    /// A user, through the short-lived cache.
    pub(crate) async fn user(
        &self,
        tenant: TenantId,
        id: UserId,
    ) -> Result<Option<Arc<User>>, CoreError> {
        if let Some(user) = self.deps.users_cache.get(&(tenant, id)) {
            return Ok(Some(user));
        }
        let found = self.deps.repos.users.find(tenant, id).await?.map(Arc::new);
        if let Some(user) = &found {
            self.deps.users_cache.insert((tenant, id), Arc::clone(user));
        }
        Ok(found)
    }

    fn invalidate_user(&self, tenant: TenantId, id: UserId) {
        self.deps.users_cache.invalidate(&(tenant, id));
    }

    /// Changes the caller's own password. A wrong current password counts towards the account's
    /// lockout like a failed login (and once locked, the current password is not evaluated).
    /// Every session of the user ends, this one included, and a new session starts: the answer
    /// is its token pair, and the caller's old access token stops working at once.
    ///
    /// # Errors
    /// [`CoreError::Validation`] when the current password is wrong (or the account is locked)
    /// or the new one breaks the policy.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> Result<TokenPair, CoreError> {
        let now = self.deps.clock.now();
        let tenant = caller.home_tenant;
        let mut user = self
            .deps
            .repos
            .users
            .find(tenant, caller.user_id)
            .await?
            .ok_or(CoreError::Unauthorized)?;
        let password =
            Password::parse(new, Some(&user.username)).map_err(|e| e.for_field("new_password"))?;
        if new == current {
            return Err(pake_domain::ValidationError::new(
                "new_password",
                pake_domain::Reason::Reserved,
            )
            .into());
        }
        let wrong_current = || -> CoreError {
            pake_domain::ValidationError::new(
                "current_password",
                pake_domain::Reason::InvalidFormat,
            )
            .into()
        };
        let admission = self
            .deps
            .repos
            .users
            .begin_login_attempt(tenant, user.id, now, self.deps.policy.lockout())
            .await?;
        if admission == LoginAdmission::Refused {
            self.deps
                .verify_password(Some(tenant), current, None)
                .await?;
            return Err(wrong_current());
        }
        let check = self
            .deps
            .verify_password(Some(tenant), current, Some(&user.password_hash))
            .await;
        let matched = matches!(check, Ok(PasswordCheck::Match { .. }));
        let settled = self.settle_attempt(tenant, &user, matched, meta).await?;
        check?;
        if settled != LoginSettlement::Succeeded {
            return Err(wrong_current());
        }
        user.password_hash = self.deps.hash_password(tenant, &password).await?;
        user.must_change_password = false;
        user.failed_login_attempts = 0;
        user.locked_until = None;
        user.updated_at = now;
        self.deps.repos.users.update(&user).await?;
        self.invalidate_user(tenant, user.id);
        let current_session = self
            .deps
            .repos
            .sessions
            .find(tenant, caller.session_id)
            .await?;
        self.end_sessions(tenant, user.id, None).await?;
        // The same session policy continues: a remembered session stays remembered.
        let remember_me = current_session
            .is_some_and(|s| s.expires_at - s.created_at > self.deps.policy.short_session_ttl);
        let (session, refresh) = self
            .open_session(tenant, user.id, remember_me, meta, now)
            .await?;
        let entry = Entry::new(tenant, AuditKind::PasswordChanged, meta)
            .by(caller)
            .on(user.id)
            .with(serde_json::json!({"session_id": session.id.to_string()}));
        self.audit.record(entry).await;
        self.tokens(&user, session.id, &refresh, now)
    }

    /// The caller's active sessions.
    ///
    /// # Errors
    /// Store errors.
    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<SessionView>, CoreError> {
        let now = self.deps.clock.now();
        let list = self
            .deps
            .repos
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
        let now = self.deps.clock.now();
        let session = self
            .deps
            .repos
            .sessions
            .find(caller.home_tenant, id)
            .await?;
        if session.is_none_or(|s| s.user_id != caller.user_id) {
            return Err(CoreError::NotFound);
        }
        self.deps
            .repos
            .sessions
            .revoke(caller.home_tenant, id, now)
            .await?;
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
        let now = self.deps.clock.now();
        let ended = self
            .deps
            .repos
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
    async fn revoked(&self, sessions: Vec<SessionId>, now: OffsetDateTime) {
        revoked(&self.deps, sessions, now).await;
    }

    /// Applies an event another replica published: ended sessions stop here too; a changed
    /// tenant is re-read from the store.
    ///
    /// # Errors
    /// Store errors while re-reading a tenant.
    pub async fn apply_event(&self, event: IdentityEvent) -> Result<(), CoreError> {
        match event {
            IdentityEvent::SessionsRevoked(ids) => {
                self.deps.revocations.revoke(ids, self.deps.clock.now());
            }
            IdentityEvent::TenantChanged(id) => match self.deps.repos.tenants.find(id).await? {
                Some(t) => self.deps.directory.upsert(&t),
                None => self.deps.directory.remove(id),
            },
        }
        Ok(())
    }

    fn digest(&self, token: &RefreshToken) -> RefreshTokenHash {
        RefreshTokenHash(self.deps.secrets.digest(token.as_bytes()))
    }

    fn claims(&self, user: &User, session: SessionId, now: OffsetDateTime) -> AccessClaims {
        let jti = crate::util::hex(&self.deps.secrets.token_bytes()[..12]);
        AccessClaims {
            user_id: user.id,
            tenant_id: user.tenant_id,
            role: user.role,
            session_id: session,
            token_id: jti,
            issued_at: now,
            expires_at: now + self.deps.policy.access_ttl,
            password_change_required: user.must_change_password,
        }
    }

    fn tokens(
        &self,
        user: &User,
        session: SessionId,
        refresh: &RefreshToken,
        now: OffsetDateTime,
    ) -> Result<TokenPair, CoreError> {
        let issued = self.deps.issuer.issue(self.claims(user, session, now))?;
        Ok(TokenPair {
            access_token: issued.token,
            expires_in: self.deps.policy.access_ttl.whole_seconds(),
            refresh_token: refresh.encode(),
        })
    }
}

/// Ends every session of a tenant (suspension), here and on the other replicas.
pub(crate) async fn end_tenant_sessions(deps: &Deps, tenant: TenantId) -> Result<usize, CoreError> {
    let now = deps.clock.now();
    let ended = deps
        .repos
        .sessions
        .revoke_all_for_tenant(tenant, now)
        .await?;
    let count = ended.len();
    if count > 0 {
        revoked(deps, ended, now).await;
    }
    Ok(count)
}

/// Records ended sessions in this replica's revocation list and tells the other replicas.
async fn revoked(deps: &Deps, sessions: Vec<SessionId>, now: OffsetDateTime) {
    deps.revocations.revoke(sessions.iter().copied(), now);
    publish(deps, IdentityEvent::SessionsRevoked(sessions)).await;
}

/// Broadcasts `event` to the other replicas, best effort: if the bus is down they catch up at
/// their next sync with the store.
pub(crate) async fn publish(deps: &Deps, event: IdentityEvent) {
    if let Err(e) = deps.events.publish(&event).await {
        tracing::warn!(error = %e, "identity event not broadcast; other replicas catch up at their next sync");
    }
}

/// A write whose object may be gone already (lockout bookkeeping on an account that does not
/// exist, revoking a session removed meanwhile): `NotFound` is no error.
fn absent<T>(result: Result<T, RepoError>) -> Result<(), CoreError> {
    match result {
        Ok(_) | Err(RepoError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
