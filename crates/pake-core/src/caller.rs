//! Who is calling, on which tenant, and what they may do.

use pake_domain::{Feature, Permission, PlanCatalog, Role, SessionId, TenantId, UserId};

use crate::CoreError;
use crate::directory::TenantDirectory;

/// Facts about the HTTP request, for the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
}

/// An authenticated caller. The acting tenant comes from the verified token; only a super admin
/// may act on another tenant (by naming it), and that is audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub user_id: UserId,
    /// The user's own tenant.
    pub home_tenant: TenantId,
    /// The tenant this request acts on (the home tenant unless a super admin named another).
    pub tenant_id: TenantId,
    /// The user's role.
    pub role: Role,
    /// The session of the token.
    pub session_id: SessionId,
    /// Set while a one-time password must be changed.
    pub password_change_required: bool,
}

impl Caller {
    /// Whether the caller holds `permission` (role only).
    pub fn can(&self, permission: Permission) -> bool {
        self.role.can(permission)
    }

    /// Succeeds when the caller holds `permission` and, unless a super admin, the acting tenant's
    /// plan includes the feature it needs.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`] or [`CoreError::FeatureNotInPlan`].
    pub(crate) fn require(
        &self,
        permission: Permission,
        directory: &TenantDirectory,
        plans: &PlanCatalog,
    ) -> Result<(), CoreError> {
        if !self.can(permission) {
            return Err(CoreError::Forbidden("your role does not allow this"));
        }
        if self.role == Role::SuperAdmin {
            return Ok(());
        }
        if let Some(feature) = permission.required_feature() {
            self.require_feature(feature, directory, plans)?;
        }
        Ok(())
    }

    /// Succeeds when the acting tenant's plan includes `feature`.
    ///
    /// # Errors
    /// [`CoreError::FeatureNotInPlan`].
    pub(crate) fn require_feature(
        &self,
        feature: Feature,
        directory: &TenantDirectory,
        plans: &PlanCatalog,
    ) -> Result<(), CoreError> {
        let entry = directory
            .get(self.tenant_id)
            .ok_or(CoreError::Unauthorized)?;
        if plans.effective(entry.plan, &entry.limits).has(feature) {
            Ok(())
        } else {
            Err(CoreError::FeatureNotInPlan(feature))
        }
    }

    /// Whether this request acts on a tenant other than the caller's own.
    pub fn is_impersonating(&self) -> bool {
        self.tenant_id != self.home_tenant
    }
}
