//! The audit trail: recording and reading.

use pake_domain::audit::{AuditEvent, AuditFilter, AuditKind};
use pake_domain::{AuditEventId, Page, PageRequest, Permission, TenantId, UserId};

use crate::caller::{Caller, RequestMeta};
use crate::{CoreError, Deps};

/// What an audit entry says, besides who and where.
pub struct Entry<'a> {
    /// The tenant the event belongs to.
    pub tenant: TenantId,
    /// What happened.
    pub kind: AuditKind,
    /// Who did it.
    pub actor: Option<UserId>,
    /// The actor's tenant when it differs from `tenant`.
    pub actor_tenant: Option<TenantId>,
    /// What it was done to.
    pub target: Option<String>,
    /// Further facts (never secrets).
    pub details: serde_json::Value,
    /// The request.
    pub meta: &'a RequestMeta,
}

impl<'a> Entry<'a> {
    /// An entry of `kind` in `tenant` for `meta`'s request.
    pub fn new(tenant: TenantId, kind: AuditKind, meta: &'a RequestMeta) -> Self {
        Self {
            tenant,
            kind,
            actor: None,
            actor_tenant: None,
            target: None,
            details: serde_json::json!({}),
            meta,
        }
    }

    /// Done by `caller` (on its acting tenant).
    #[must_use]
    pub fn by(mut self, caller: &Caller) -> Self {
        self.actor = Some(caller.user_id);
        self.actor_tenant = (caller.home_tenant != self.tenant).then_some(caller.home_tenant);
        self
    }

    /// Done to `target`.
    #[must_use]
    #[allow(clippy::needless_pass_by_value)] // ids are Copy, texts are given away: either reads well
    pub fn on(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// With `details`.
    #[must_use]
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Records and lists audit events.
#[derive(Clone)]
pub struct AuditService {
    deps: Deps,
}

impl AuditService {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Appends an event. A failure to write is logged, never turned into a failure of the action
    /// being audited.
    pub async fn record(&self, entry: Entry<'_>) {
        let event = AuditEvent {
            tenant_id: entry.tenant,
            id: AuditEventId::new(),
            at: self.deps.clock.now(),
            kind: entry.kind,
            actor_id: entry.actor,
            actor_tenant_id: entry.actor_tenant,
            target: entry.target,
            ip: entry.meta.ip.clone(),
            user_agent: entry.meta.user_agent.clone(),
            request_id: entry.meta.request_id.clone(),
            details: entry.details,
        };
        if let Err(e) = self.deps.repos.audit.append(&event).await {
            tracing::error!(error = %e, kind = event.kind.as_str(), tenant_id = %event.tenant_id, "audit event lost");
        }
    }

    /// The acting tenant's audit trail, newest first.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] without the permission; [`CoreError::FeatureNotInPlan`] without the
    /// plan's `audit_logs`.
    #[tracing::instrument(skip_all, fields(tenant_id = %caller.tenant_id))]
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, CoreError> {
        caller.require(
            Permission::ReadAuditLog,
            &self.deps.directory,
            &self.deps.plans,
        )?;
        Ok(self
            .deps
            .repos
            .audit
            .list(caller.tenant_id, filter, page)
            .await?)
    }
}
