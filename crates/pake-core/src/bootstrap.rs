//! First start: the reserved `platform` tenant and its super admin.

use std::sync::Arc;

use pake_domain::audit::{AuditEvent, AuditKind};
use pake_domain::tenant::Provisioning;
use pake_domain::{
    AuditEventId, DisplayName, Email, LimitsOverride, Password, PlanId, Role, Tenant, TenantId,
    TenantSlug, TenantStatus, User, Username,
};
use pake_ports::{AuditRepository, Repositories, TenantRepository, UserRepository};

use crate::{CoreError, Credentials, Environment};

/// What the operator may choose for the bootstrap.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// The super admin's username (default `admin`).
    pub admin_username: String,
    /// The super admin's e-mail address.
    pub admin_email: String,
    /// A password chosen by the operator (`PAKE_BOOTSTRAP_ADMIN_PASSWORD`); without it a one-time
    /// password is generated and must be changed at first login.
    pub admin_password: Option<String>,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            admin_username: "admin".into(),
            admin_email: "admin@pake.localhost".into(),
            admin_password: None,
        }
    }
}

/// What the bootstrap did.
#[derive(Debug, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// Everything existed already: nothing was created and no password is known.
    AlreadyDone,
    /// The super admin was created now.
    Created {
        /// The platform tenant.
        tenant_id: TenantId,
        /// The generated one-time password, to show exactly once; `None` when the operator chose
        /// the password.
        generated_password: Option<Password>,
    },
}

/// Creates the platform tenant and its super admin on an empty store.
#[derive(Clone)]
pub struct BootstrapService {
    tenants: Arc<dyn TenantRepository>,
    users: Arc<dyn UserRepository>,
    audit: Arc<dyn AuditRepository>,
    env: Environment,
    credentials: Credentials,
}

impl BootstrapService {
    pub(crate) fn new(repos: &Repositories, env: Environment, credentials: Credentials) -> Self {
        Self {
            tenants: Arc::clone(&repos.tenants),
            users: Arc::clone(&repos.users),
            audit: Arc::clone(&repos.audit),
            env,
            credentials,
        }
    }

    /// Makes sure the platform tenant and its super admin exist. Safe to call at every start and
    /// resumable: a start that crashed after creating the tenant creates the admin next time.
    ///
    /// # Errors
    /// [`CoreError::Validation`] when the chosen username, e-mail or password break the rules;
    /// store errors otherwise.
    #[tracing::instrument(skip_all)]
    pub async fn ensure_platform(
        &self,
        options: &BootstrapOptions,
    ) -> Result<BootstrapOutcome, CoreError> {
        let now = self.env.clock.now();
        let username = Username::parse(&options.admin_username)?;
        let email = Email::parse(&options.admin_email)?;
        let chosen = options
            .admin_password
            .as_deref()
            .map(|p| Password::parse(p, Some(&username)))
            .transpose()?;

        let existing = self.tenants.find_by_slug(&TenantSlug::platform()).await?;
        let tenant = if let Some(t) = existing {
            t
        } else {
            let tenant = Tenant {
                id: TenantId::new(),
                slug: TenantSlug::platform(),
                display_name: DisplayName::parse("PAKE platform")?,
                domain: None,
                plan: PlanId::Enterprise,
                status: TenantStatus::Active,
                limits_override: LimitsOverride::default(),
                settings: serde_json::Map::new(),
                provisioning: Provisioning {
                    completed_steps: vec!["bootstrap".into()],
                    attempts: 1,
                    last_error: None,
                    finished_at: Some(now),
                },
                created_at: now,
                updated_at: now,
            };
            self.tenants.create(&tenant).await?;
            tenant
        };
        if self
            .users
            .find_by_login(tenant.id, username.as_str())
            .await?
            .is_some()
        {
            return Ok(BootstrapOutcome::AlreadyDone);
        }

        let generated = chosen.is_none();
        let password = chosen.unwrap_or_else(|| self.env.secrets.one_time_password());
        let hash = self.credentials.hash_password(tenant.id, &password).await?;
        let admin = User {
            full_name: Some(DisplayName::parse("Platform administrator")?),
            must_change_password: generated,
            ..User::new(tenant.id, username, email, Role::SuperAdmin, hash, now)
        };
        self.users.create(&admin, None).await?;
        self.audit
            .append(&AuditEvent {
                tenant_id: tenant.id,
                id: AuditEventId::new(),
                at: now,
                kind: AuditKind::PlatformBootstrapped,
                actor_id: None,
                actor_tenant_id: None,
                target: Some(admin.id.to_string()),
                ip: None,
                user_agent: None,
                request_id: None,
                details: serde_json::json!({ "password_generated": generated }),
            })
            .await?;
        tracing::info!(tenant_id = %tenant.id, user_id = %admin.id, "platform super admin created");
        Ok(BootstrapOutcome::Created {
            tenant_id: tenant.id,
            generated_password: generated.then_some(password),
        })
    }
}
