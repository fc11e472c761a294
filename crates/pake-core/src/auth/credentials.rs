//! Password checks: logging in (the lockout admitted and settled around each check, the same
//! work for an unknown user) and changing one's own password.

use pake_domain::audit::AuditKind;
use pake_domain::{LoginAdmission, LoginSettlement, Password, TenantId, User, UserId, UserStatus};
use pake_ports::PasswordCheck;
use time::OffsetDateTime;

use crate::CoreError;
use crate::audit::Entry;
use crate::caller::{Caller, RequestMeta};
use crate::directory::TenantEntry;

use super::{AuthService, LoginInput, LoginOutcome, TokenPair, absent};

impl AuthService {
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
        let now = self.env.clock.now();
        let tenant = input
            .tenant
            .as_deref()
            .and_then(|t| self.identity.directory.resolve(t));
        let user = match &tenant {
            Some(t) => self.users.find_by_login(t.id, &input.login).await?,
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
        let rule = self.credentials.policy.lockout();
        let admitted = refused.is_none()
            && self
                .users
                .begin_login_attempt(tenant.id, user.id, now, rule)
                .await?
                == LoginAdmission::Admitted;
        if !admitted {
            // Disabled, inactive tenant, locked (or enough guesses in flight to lock it): the
            // password is not evaluated, but the answer costs the same.
            let begun = refused.is_none();
            self.decoy_check(tenant.id, Some(tenant.id), &input.password, now, begun)
                .await?;
            self.audit
                .record(fail(refused.unwrap_or("account_locked")))
                .await;
            return Err(CoreError::InvalidCredentials);
        }
        let check = self
            .credentials
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
            user.password_hash = self.credentials.hash_password(tenant.id, &password).await?;
            user.updated_at = now;
            self.users.update(&user).await?;
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

    /// The work of a wrong password without evaluating one, so the timing does not tell a refusal
    /// apart: the lockout round trips to the store on a made-up account of `tenant` (the store
    /// finds nothing, so they change nothing; `begun`: the admission was made already, on the
    /// real account) around a check against a dummy hash in `gate_tenant`'s turn.
    async fn decoy_check(
        &self,
        tenant: TenantId,
        gate_tenant: Option<TenantId>,
        password: &str,
        now: OffsetDateTime,
        begun: bool,
    ) -> Result<(), CoreError> {
        let (users, rule, ghost) = (
            &self.users,
            self.credentials.policy.lockout(),
            UserId::new(),
        );
        if !begun {
            absent(users.begin_login_attempt(tenant, ghost, now, rule).await)?;
        }
        self.credentials
            .verify_password(gate_tenant, password, None)
            .await?;
        absent(
            users
                .finish_login_attempt(tenant, ghost, now, rule, false)
                .await,
        )
    }

    /// A login to an unknown tenant or user: the same work as a wrong password
    /// ([`AuthService::decoy_check`]) and an audit entry. Always an error.
    pub(super) async fn unknown_login(
        &self,
        tenant: Option<&TenantEntry>,
        input: &LoginInput,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> CoreError {
        let work = async {
            // an unknown tenant gets a made-up one: the store finds nothing either way
            let store_tenant = tenant.map_or_else(TenantId::new, |t| t.id);
            self.decoy_check(
                store_tenant,
                tenant.map(|t| t.id),
                &input.password,
                now,
                false,
            )
            .await?;
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
    pub(super) async fn settle_attempt(
        &self,
        tenant: TenantId,
        user: &User,
        matched: bool,
        meta: &RequestMeta,
    ) -> Result<LoginSettlement, CoreError> {
        let settled = self
            .users
            .finish_login_attempt(
                tenant,
                user.id,
                self.env.clock.now(),
                self.credentials.policy.lockout(),
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
        let now = self.env.clock.now();
        let tenant = caller.home_tenant;
        let mut user = self
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
            .users
            .begin_login_attempt(tenant, user.id, now, self.credentials.policy.lockout())
            .await?;
        if admission == LoginAdmission::Refused {
            self.credentials
                .verify_password(Some(tenant), current, None)
                .await?;
            return Err(wrong_current());
        }
        let check = self
            .credentials
            .verify_password(Some(tenant), current, Some(&user.password_hash))
            .await;
        let matched = matches!(check, Ok(PasswordCheck::Match { .. }));
        let settled = self.settle_attempt(tenant, &user, matched, meta).await?;
        check?;
        if settled != LoginSettlement::Succeeded {
            return Err(wrong_current());
        }
        user.password_hash = self.credentials.hash_password(tenant, &password).await?;
        user.must_change_password = false;
        user.updated_at = now;
        self.users.update(&user).await?;
        self.invalidate_user(tenant, user.id);
        let current_session = self.sessions.find(tenant, caller.session_id).await?;
        self.end_sessions(tenant, user.id, None).await?;
        // The same session policy continues: a remembered session stays remembered.
        let remember_me = current_session.is_some_and(|s| {
            s.expires_at - s.created_at > self.credentials.policy.short_session_ttl
        });
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
}
