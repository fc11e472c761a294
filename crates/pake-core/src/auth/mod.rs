//! Authentication: login, access and refresh tokens, sessions, password changes, and turning a
//! bearer token into a [`Caller`] on the hot path without a database round trip.

mod credentials;
mod sessions;

use std::sync::Arc;

use pake_domain::audit::AuditKind;
use pake_domain::session::{RefreshToken, RefreshTokenHash, Session};
use pake_domain::{Role, SessionId, TenantId, User, UserId};
use pake_ports::{
    AccessClaims, IdentityEvent, RepoError, Repositories, SessionRepository, TenantRepository,
    UserRepository,
};
use time::OffsetDateTime;

use crate::audit::{AuditService, Entry};
use crate::caller::{Caller, RequestMeta};
use crate::{CoreError, Credentials, Environment, Identity};

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
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    tenants: Arc<dyn TenantRepository>,
    env: Environment,
    identity: Identity,
    credentials: Credentials,
    audit: AuditService,
}

impl AuthService {
    pub(crate) fn new(
        repos: &Repositories,
        env: Environment,
        identity: Identity,
        credentials: Credentials,
        audit: AuditService,
    ) -> Self {
        Self {
            users: Arc::clone(&repos.users),
            sessions: Arc::clone(&repos.sessions),
            tenants: Arc::clone(&repos.tenants),
            env,
            identity,
            credentials,
            audit,
        }
    }

    /// The public keys that verify access tokens, as a JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        self.credentials.issuer.jwks()
    }

    pub(crate) async fn sync(&self) -> Result<(), CoreError> {
        self.identity
            .directory
            .reload(self.tenants.as_ref())
            .await?;
        self.identity
            .revocations
            .sync(self.sessions.as_ref(), self.env.clock.now())
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
        let claims = self.credentials.verifier.verify(token)?;
        if self.identity.revocations.is_revoked(claims.session_id)
            || !self.identity.directory.is_usable(claims.tenant_id)
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
            let target = self.identity.directory.resolve(named);
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
        if let Some(user) = self.identity.users_cache.get(&(tenant, id)) {
            return Ok(Some(user));
        }
        let found = self.users.find(tenant, id).await?.map(Arc::new);
        if let Some(user) = &found {
            self.identity
                .users_cache
                .insert((tenant, id), Arc::clone(user));
        }
        Ok(found)
    }

    fn invalidate_user(&self, tenant: TenantId, id: UserId) {
        self.identity.users_cache.invalidate(&(tenant, id));
    }

    /// Applies an event another replica published: ended sessions stop here too; a changed
    /// tenant is re-read from the store.
    ///
    /// # Errors
    /// Store errors while re-reading a tenant.
    pub async fn apply_event(&self, event: IdentityEvent) -> Result<(), CoreError> {
        match event {
            IdentityEvent::SessionsRevoked(ids) => {
                self.identity.revocations.revoke(ids, self.env.clock.now());
            }
            IdentityEvent::TenantChanged(id) => match self.tenants.find(id).await? {
                Some(t) => self.identity.directory.upsert(&t),
                None => self.identity.directory.remove(id),
            },
        }
        Ok(())
    }

    fn digest(&self, token: &RefreshToken) -> RefreshTokenHash {
        RefreshTokenHash(self.env.secrets.digest(token.as_bytes()))
    }

    fn claims(&self, user: &User, session: SessionId, now: OffsetDateTime) -> AccessClaims {
        let jti = crate::util::hex(&self.env.secrets.token_bytes()[..12]);
        AccessClaims {
            user_id: user.id,
            tenant_id: user.tenant_id,
            role: user.role,
            session_id: session,
            token_id: jti,
            issued_at: now,
            expires_at: now + self.credentials.policy.access_ttl,
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
        let issued = self
            .credentials
            .issuer
            .issue(self.claims(user, session, now))?;
        Ok(TokenPair {
            access_token: issued.token,
            expires_in: self.credentials.policy.access_ttl.whole_seconds(),
            refresh_token: refresh.encode(),
        })
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
