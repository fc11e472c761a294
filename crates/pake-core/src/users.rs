//! Users of a tenant: create, list, read, update, disable, delete, unlock, reset password.

use std::sync::Arc;

use pake_domain::audit::AuditKind;
use pake_domain::{
    DisplayName, Email, Page, PageRequest, Password, Permission, Role, User, UserId, UserStatus,
    Username,
};
use pake_ports::{Repositories, TenantRepository, UserRepository};

use crate::audit::{AuditService, Entry};
use crate::auth::AuthService;
use crate::caller::{Caller, RequestMeta};
use crate::{Access, CoreError, Credentials, Environment, Identity};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Full name.
    pub full_name: Option<String>,
    /// Role (default `user`).
    pub role: Option<Role>,
    /// A chosen password; without one a one-time password is generated.
    pub password: Option<String>,
}

/// A created user, with its generated one-time password when one was generated.
#[derive(Debug)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The one-time password, shown once.
    pub generated_password: Option<Password>,
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New e-mail.
    pub email: Option<String>,
    /// New full name (`Some(None)` clears it).
    pub full_name: Option<Option<String>>,
    /// New role (user managers only).
    pub role: Option<Role>,
    /// New status (user managers only).
    pub status: Option<UserStatus>,
}

/// User use cases, inside the caller's acting tenant.
#[derive(Clone)]
pub struct UserService {
    users: Arc<dyn UserRepository>,
    tenants: Arc<dyn TenantRepository>,
    env: Environment,
    access: Access,
    identity: Identity,
    credentials: Credentials,
    audit: AuditService,
    auth: AuthService,
}

/// The services a user service calls.
pub(crate) struct UserCollaborators {
    pub(crate) audit: AuditService,
    pub(crate) auth: AuthService,
}

impl UserService {
    pub(crate) fn new(
        repos: &Repositories,
        env: Environment,
        access: Access,
        identity: Identity,
        credentials: Credentials,
        with: UserCollaborators,
    ) -> Self {
        Self {
            users: Arc::clone(&repos.users),
            tenants: Arc::clone(&repos.tenants),
            env,
            access,
            identity,
            credentials,
            audit: with.audit,
            auth: with.auth,
        }
    }

    /// Whether `caller` may manage `target`: nobody manages a user above their own role.
    fn require_manage(&self, caller: &Caller, target: &User) -> Result<(), CoreError> {
        self.access.authorize(caller, Permission::ManageUsers)?;
        if target.role > caller.role {
            return Err(CoreError::Forbidden(
                "you cannot manage a user above your own role",
            ));
        }
        Ok(())
    }

    fn forget(&self, user: &User) {
        self.identity
            .users_cache
            .invalidate(&(user.tenant_id, user.id));
    }

    async fn load(&self, caller: &Caller, id: UserId) -> Result<User, CoreError> {
        self.users
            .find(caller.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// Creates a user. The plan's `max_users` is enforced atomically with the insert.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] (permission or a role above the caller's),
    /// [`CoreError::Validation`], [`CoreError::Conflict`], [`CoreError::PlanLimitReached`].
    #[tracing::instrument(skip_all, fields(tenant_id = %caller.tenant_id))]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewUser,
        meta: &RequestMeta,
    ) -> Result<CreatedUser, CoreError> {
        self.access.authorize(caller, Permission::ManageUsers)?;
        let tenant = self
            .identity
            .directory
            .get(caller.tenant_id)
            .ok_or(CoreError::NotFound)?;
        let role = input.role.unwrap_or(Role::User);
        if !caller.role.can_assign(role) {
            return Err(CoreError::Forbidden("nobody grants a role above their own"));
        }
        if !role.is_tenant_role() && !tenant.slug.is_platform() {
            return Err(CoreError::Forbidden(
                "super_admin exists only in the platform tenant",
            ));
        }
        let username = Username::parse(&input.username)?;
        let email = Email::parse(&input.email)?;
        let full_name = input
            .full_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| e.for_field("full_name"))?;
        let chosen = input
            .password
            .as_deref()
            .map(|p| Password::parse(p, Some(&username)))
            .transpose()?;
        let generated = chosen.is_none();
        let password = chosen.unwrap_or_else(|| self.env.secrets.one_time_password());
        let now = self.env.clock.now();
        let hash = self
            .credentials
            .hash_password(caller.tenant_id, &password)
            .await?;
        let user = User {
            full_name,
            must_change_password: generated,
            ..User::new(caller.tenant_id, username, email, role, hash, now)
        };
        let max = self
            .access
            .plans
            .effective(tenant.plan, &tenant.limits)
            .limits
            .max_users;
        match self.users.create(&user, Some(max)).await {
            Err(pake_ports::RepoError::LimitReached) => {
                return Err(CoreError::PlanLimitReached(
                    "the plan's max_users is reached",
                ));
            }
            other => other?,
        }
        let entry = Entry::new(caller.tenant_id, AuditKind::UserCreated, meta)
            .by(caller)
            .on(user.id)
            .with(serde_json::json!({"role": role.as_str(), "username": user.username.as_str()}));
        self.audit.record(entry).await;
        Ok(CreatedUser {
            user,
            generated_password: generated.then_some(password),
        })
    }

    /// Lists users: everyone for managers and up; only themself for users and viewers.
    ///
    /// # Errors
    /// Store errors.
    pub async fn list(&self, caller: &Caller, page: PageRequest) -> Result<Page<User>, CoreError> {
        if caller.can(Permission::ListUsers) {
            return Ok(self.users.list(caller.tenant_id, page).await?);
        }
        let me = self.load(caller, caller.user_id).await?;
        let items = if page.offset() == 0 {
            vec![me]
        } else {
            Vec::new()
        };
        Ok(Page { items, total: 1 })
    }

    /// Reads a user: any for managers and up, only themself otherwise.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] (also for users the caller may not see).
    pub async fn get(&self, caller: &Caller, id: UserId) -> Result<User, CoreError> {
        if id != caller.user_id && !caller.can(Permission::ListUsers) {
            return Err(CoreError::NotFound);
        }
        self.load(caller, id).await
    }

    /// Updates a user. Anyone may change their own e-mail and name; role and status need user
    /// management, only up to the caller's own role, never on oneself. A role change or disabling
    /// ends the user's sessions at once.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`], [`CoreError::NotFound`], [`CoreError::Validation`],
    /// [`CoreError::Conflict`].
    #[tracing::instrument(skip_all, fields(tenant_id = %caller.tenant_id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: UserId,
        patch: UserPatch,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        let is_self = id == caller.user_id;
        if !is_self && !caller.can(Permission::ListUsers) {
            return Err(CoreError::NotFound);
        }
        let mut user = self.load(caller, id).await?;
        let privileged = patch.role.is_some() || patch.status.is_some();
        if privileged && is_self {
            return Err(CoreError::Forbidden(
                "you cannot change your own role or status",
            ));
        }
        if privileged || !is_self {
            self.require_manage(caller, &user)?;
        }
        let old_role = user.role;
        if let Some(email) = &patch.email {
            user.email = Email::parse(email)?;
        }
        if let Some(name) = &patch.full_name {
            user.full_name = name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()
                .map_err(|e| e.for_field("full_name"))?;
        }
        if let Some(role) = patch.role {
            if !caller.role.can_assign(role) {
                return Err(CoreError::Forbidden("nobody grants a role above their own"));
            }
            let tenant = self
                .identity
                .directory
                .get(caller.tenant_id)
                .ok_or(CoreError::NotFound)?;
            if !role.is_tenant_role() && !tenant.slug.is_platform() {
                return Err(CoreError::Forbidden(
                    "super_admin exists only in the platform tenant",
                ));
            }
            user.role = role;
        }
        let disabled =
            patch.status == Some(UserStatus::Disabled) && user.status == UserStatus::Active;
        if let Some(status) = patch.status {
            user.status = status;
        }
        user.updated_at = self.env.clock.now();
        self.users.update(&user).await?;
        self.forget(&user);
        if user.role != old_role || disabled {
            self.auth
                .end_sessions(user.tenant_id, user.id, None)
                .await?;
        }
        if user.role != old_role {
            let entry = Entry::new(caller.tenant_id, AuditKind::RoleChanged, meta)
                .by(caller)
                .on(user.id)
                .with(serde_json::json!({"from": old_role.as_str(), "to": user.role.as_str()}));
            self.audit.record(entry).await;
        }
        let kind = if disabled {
            AuditKind::UserDisabled
        } else {
            AuditKind::UserUpdated
        };
        self.audit
            .record(
                Entry::new(caller.tenant_id, kind, meta)
                    .by(caller)
                    .on(user.id),
            )
            .await;
        Ok(user)
    }

    /// Deletes a user and ends their sessions.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] (permission, a role above the caller's, or oneself),
    /// [`CoreError::NotFound`].
    pub async fn delete(
        &self,
        caller: &Caller,
        id: UserId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        self.access.authorize(caller, Permission::ManageUsers)?;
        let user = self.load(caller, id).await?;
        if id == caller.user_id {
            return Err(CoreError::Forbidden("you cannot delete yourself"));
        }
        self.require_manage(caller, &user)?;
        self.auth
            .end_sessions(user.tenant_id, user.id, None)
            .await?;
        self.users.delete(user.tenant_id, user.id).await?;
        self.forget(&user);
        let entry = Entry::new(caller.tenant_id, AuditKind::UserDeleted, meta)
            .by(caller)
            .on(user.id)
            .with(serde_json::json!({"username": user.username.as_str()}));
        self.audit.record(entry).await;
        Ok(())
    }

    /// Clears a lockout.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`], [`CoreError::NotFound`].
    pub async fn unlock(
        &self,
        caller: &Caller,
        id: UserId,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        self.access.authorize(caller, Permission::ManageUsers)?;
        let mut user = self.load(caller, id).await?;
        self.require_manage(caller, &user)?;
        self.clear_lock(&mut user).await?;
        self.audit
            .record(
                Entry::new(caller.tenant_id, AuditKind::AccountUnlocked, meta)
                    .by(caller)
                    .on(user.id),
            )
            .await;
        Ok(user)
    }

    /// Clears the user's failure count and lock and stores the rest of `user` (`updated_at` now),
    /// in the store and the cache.
    async fn clear_lock(&self, user: &mut User) -> Result<(), CoreError> {
        let users = &self.users;
        users.clear_lockout(user.tenant_id, user.id).await?;
        user.failed_login_attempts = 0;
        user.locked_until = None;
        user.updated_at = self.env.clock.now();
        users.update(user).await?;
        self.forget(user);
        Ok(())
    }

    /// Sets a new password on another user's account: the given one, or a generated one-time
    /// password (returned once). Ends the user's sessions. One's own password changes only with
    /// the current one ([`AuthService::change_password`]).
    ///
    /// # Errors
    /// [`CoreError::Forbidden`], [`CoreError::NotFound`], [`CoreError::Validation`].
    pub async fn reset_password(
        &self,
        caller: &Caller,
        id: UserId,
        chosen: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(User, Option<Password>), CoreError> {
        self.access.authorize(caller, Permission::ManageUsers)?;
        if id == caller.user_id {
            return Err(CoreError::Forbidden(
                "change your own password with /auth/password, which proves the current one",
            ));
        }
        let mut user = self.load(caller, id).await?;
        self.require_manage(caller, &user)?;
        let chosen = chosen
            .map(|p| Password::parse(p, Some(&user.username)))
            .transpose()?;
        let generated = chosen.is_none();
        let password = chosen.unwrap_or_else(|| self.env.secrets.one_time_password());
        user.password_hash = self
            .credentials
            .hash_password(user.tenant_id, &password)
            .await?;
        user.must_change_password = generated;
        // stored with the lock cleared: the new password is the way back in
        self.clear_lock(&mut user).await?;
        self.auth
            .end_sessions(user.tenant_id, user.id, None)
            .await?;
        self.audit
            .record(
                Entry::new(caller.tenant_id, AuditKind::PasswordReset, meta)
                    .by(caller)
                    .on(user.id),
            )
            .await;
        Ok((user, generated.then_some(password)))
    }

    /// Clears a lockout on the operator's command (`pake admin unlock`), with no caller: the way
    /// back in for an account nobody else can unlock, such as the only super admin. Audited.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] when the tenant or the user does not exist.
    pub async fn operator_unlock(&self, tenant: &str, login: &str) -> Result<User, CoreError> {
        let slug = pake_domain::TenantSlug::parse_any(tenant).map_err(|_| CoreError::NotFound)?;
        let tenant = self
            .tenants
            .find_by_slug(&slug)
            .await?
            .ok_or(CoreError::NotFound)?;
        let mut user = self
            .users
            .find_by_login(tenant.id, login)
            .await?
            .ok_or(CoreError::NotFound)?;
        self.clear_lock(&mut user).await?;
        let meta = RequestMeta::default();
        let entry = Entry::new(tenant.id, AuditKind::AccountUnlocked, &meta)
            .on(user.id)
            .with(serde_json::json!({"by": "operator command"}));
        self.audit.record(entry).await;
        Ok(user)
    }
}
